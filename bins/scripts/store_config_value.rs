//! StoreConfigValue.sh KEY [VALUE]
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let file = ctx.settings_path();
    finish(adt::config::commands::store_config_value(
        ctx,
        &file,
        arg(args, 0),
        arg(args, 1),
    ))
}
