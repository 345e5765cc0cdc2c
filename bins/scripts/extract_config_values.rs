//! ExtractConfigValues.sh KEY [stripped]
use super::{arg, finish};
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let stripped = arg(args, 1) == "stripped";
    let file = ctx.settings_path();
    finish(adt::config::commands::extract_config_values(
        ctx,
        &file,
        arg(args, 0),
        stripped,
    ))
}
