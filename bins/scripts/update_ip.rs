//! UpdateIP.sh: publish this machine's IP markers to the config datastore.
use super::finish;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(adt::ips::update_ip(ctx))
}
