//! CheckConfigDatastore.sh KEY → 1 or 0
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let key = arg(args, 0);
    // An empty key answers 0 without touching settings or the store.
    let store = if key.is_empty() {
        Err(adt::Error::Usage(String::new()))
    } else {
        ctx.store()
    };
    finish(adt::datastore::commands::check(ctx, store, key))
}
