//! GetDBCredential.sh KEY N → line N (1 name, 2 password, 3 user) of the credentials object
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::datastore::commands::get_db_credential(
        ctx,
        ctx.store(),
        arg(args, 0),
        arg(args, 1),
    ))
}
