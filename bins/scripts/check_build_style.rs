//! CheckBuildStyle.sh PREFIX → 1 or 0
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::config::commands::check_build_style(ctx, arg(args, 0)))
}
