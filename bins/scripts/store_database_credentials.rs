//! StoreDatabaseCredentials.sh NAME PASSWORD USER
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let (name, password, user) = (arg(args, 0), arg(args, 1), arg(args, 2));
    finish(adt::config::commands::store_database_credentials(
        ctx, name, password, user,
    ))
}
