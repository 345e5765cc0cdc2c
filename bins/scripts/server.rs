//! providerscripts/server/*.sh: CreateServer, DestroyServer and the getters.
use super::{arg, finish};
use adt::cli::Ctx;
use adt::cloud::commands as c;

pub fn create(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::create_server(ctx, args))
}

pub fn destroy(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::destroy_server(
        ctx,
        arg(args, 0),
        arg(args, 1),
        arg(args, 2),
    ))
}

pub fn public_ips(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::ip_addresses(ctx, arg(args, 0), arg(args, 1), false))
}

pub fn private_ips(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::ip_addresses(ctx, arg(args, 0), arg(args, 1), true))
}

pub fn public_by_private(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::ip_by_ip(ctx, arg(args, 0), arg(args, 1), true))
}

pub fn private_by_public(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::ip_by_ip(ctx, arg(args, 0), arg(args, 1), false))
}

pub fn name(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::server_name(ctx, arg(args, 0), arg(args, 1)))
}

pub fn ids(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::server_ids(ctx, arg(args, 0), arg(args, 1)))
}

pub fn count(ctx: &Ctx, args: &[String]) -> i32 {
    finish(c::number_of_servers(ctx, arg(args, 0), arg(args, 1)))
}
