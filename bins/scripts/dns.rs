//! autoscaler/GetDNSIPs.sh, AddIPToDNS.sh IP, RemoveIPFromDNS.sh IP: the DNS round robin.
use super::{arg, finish};
use adt::cli::Ctx;

pub fn get(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(adt::dns::get_dns_ips(ctx))
}

pub fn add(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::dns::add_ip(ctx, arg(args, 0)))
}

pub fn remove(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::dns::remove_ip(ctx, arg(args, 0)))
}
