//! CheckConfigValue.sh PATTERN → 1 or 0
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::config::commands::check_config_value(ctx, arg(args, 0)))
}
