//! ListFromConfigDatastore.sh PREFIX[*] → one basename per line
use super::arg;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    super::with_store(ctx, 0, |s| {
        adt::datastore::commands::list(ctx, s, arg(args, 0))
    })
}
