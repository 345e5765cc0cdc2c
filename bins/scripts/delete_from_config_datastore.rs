//! DeleteFromConfigDatastore.sh KEY (a `*` glob deletes every match)
use super::arg;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    super::with_store(ctx, 1, |s| {
        adt::datastore::commands::delete(ctx, s, arg(args, 0))
    })
}
