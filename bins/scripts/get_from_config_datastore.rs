//! GetFromConfigDatastore.sh KEY [DEST] [recursive]
use super::arg;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let recursive = arg(args, 2) == "recursive";
    super::with_store(ctx, i32::from(recursive), |s| {
        adt::datastore::commands::get(ctx, s, arg(args, 0), arg(args, 1), recursive)
    })
}
