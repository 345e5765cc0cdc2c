//! autoscaler/GetDNSIPs.sh, AddIPToDNS.sh IP, RemoveIPFromDNS.sh IP: the DNS round robin; and
//! the provider scripts under providerscripts/dns/.
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

/// providerscripts/dns/GetZoneID.sh ZONENAME USER KEY DNSCHOICE
pub fn zone_id(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(adt::dns::zone_id_script(ctx, a(0), a(1), a(2), a(3)))
}

/// providerscripts/dns/GetRecordID.sh ZONEID URL IP USER KEY DNSCHOICE
pub fn record_id(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(adt::dns::record_id_script(
        ctx,
        &[a(0), a(1), a(2), a(3), a(4), a(5)],
    ))
}

/// providerscripts/dns/GetIPAddresses.sh ZONEID URL USER KEY DNSCHOICE
pub fn ip_addresses(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(adt::dns::ip_addresses_script(
        ctx,
        &[a(0), a(1), a(2), a(3), a(4)],
    ))
}

/// providerscripts/dns/AddRecord.sh ZONEID USER KEY URL IP DNSCHOICE
pub fn add_record(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(adt::dns::add_record_script(
        ctx,
        &[a(0), a(1), a(2), a(3), a(4), a(5)],
    ))
}

/// providerscripts/dns/DeleteRecord.sh ZONEID RECORDID USER KEY DNSCHOICE
pub fn delete_record(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(adt::dns::delete_record_script(
        ctx,
        &[a(0), a(1), a(2), a(3), a(4)],
    ))
}
