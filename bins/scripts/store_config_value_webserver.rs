//! StoreConfigValueWebserver.sh KEY [VALUE] (autoscaler: the settings handed to new webservers)
use super::{arg, finish};
use adt::cli::Ctx;
use adt::home::Machine;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let file = ctx.settings_path_of(Machine::Webserver);
    finish(adt::config::commands::store_config_value(
        ctx,
        &file,
        arg(args, 0),
        arg(args, 1),
    ))
}
