//! ExtractConfigValue.sh KEY
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::config::commands::extract_config_value(
        ctx,
        arg(args, 0),
    ))
}
