//! The DNS round robin's scripts on the autoscaler (`autoscaler/GetDNSIPs.sh`,
//! `AddIPToDNS.sh IP`, `RemoveIPFromDNS.sh IP`) and the provider scripts of
//! `providerscripts/dns/` with their legacy positional contracts (see `crate::dns`).

use super::{arg, finish, Ctx, Outcome};
use crate::config;
use crate::dns::{self, provider, Record};
use crate::ips::parse_ip;
use std::net::IpAddr;

/// GetDNSIPs.sh: one line, the round robin's IPs joined by single spaces.
pub fn get_dns_ips(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(match dns::current_ips(ctx) {
        Ok(Some(ips)) => {
            let line: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
            Outcome::ok(format!("{}\n", line.join(" ")))
        }
        Ok(None) => Outcome::ok(""),
        Err(e) => Outcome::from_result(ctx, Err::<String, _>(e)),
    })
}

/// AddIPToDNS.sh IP
pub fn add_ip_to_dns(ctx: &Ctx, args: &[String]) -> i32 {
    let r = parse_ip(arg(args, 0)).and_then(|ip| dns::add_ip(ctx, ip));
    finish(Outcome::from_result(ctx, r.map(|()| "")))
}

/// RemoveIPFromDNS.sh IP: the A records of exactly this IP, and the server's
/// `bootedwebserverips/<private>` marker when the cloud knows its private IP. Not reproduced:
/// the `shuttingdownwebserverips/<private>` marker legacy wrote and never removed.
pub fn remove_ip_from_dns(ctx: &Ctx, args: &[String]) -> i32 {
    let r = parse_ip(arg(args, 0)).and_then(|ip| {
        dns::remove_records(ctx, ip, || {
            crate::cloud::Cloud::open(ctx)
                .and_then(|c| c.servers())
                .ok()
                .and_then(|v| v.into_iter().find(|s| s.public == Some(ip)))
                .and_then(|s| s.private)
        })
    });
    finish(Outcome::from_result(ctx, r.map(|()| "")))
}

// ---------- the provider scripts (providerscripts/dns/*.sh) ----------
//
// Positional contracts as legacy (note their different argument orders). The key arrives on
// argv because legacy callers pass it there; it goes no further (curl reads it on stdin).
// Like the legacy scripts they exit 0 when the provider cannot be asked (reason on stderr).
// AddRecord and DeleteRecord print nothing (legacy printed the provider's raw answer, which no
// caller reads). Fixed: IPs match exactly (legacy grepped substrings) and Cloudflare lists
// every page (legacy: the first 20 records).

fn lines_of(v: impl Iterator<Item = String>) -> String {
    v.map(|l| l + "\n").collect()
}

/// GetZoneID ZONENAME USER KEY DNSCHOICE: Cloudflare's zone id (nothing for other providers).
fn zone_id_script(ctx: &Ctx, zone: &str, user: &str, key: &str, choice: &str) -> Outcome {
    Outcome::from_legacy_result(
        ctx,
        (|| {
            let mut p = provider(ctx, choice, &format!("www.{zone}"), user, key, None)?;
            Ok(lines_of(p.zone()?.into_iter()))
        })(),
    )
}

/// GetRecordID ZONEID URL IP USER KEY DNSCHOICE: the ids of the A records of URL with this IP.
fn record_id_script(ctx: &Ctx, a: &[&str; 6]) -> Outcome {
    let [zone_id, url, ip, user, key, choice] = *a;
    Outcome::from_legacy_result(
        ctx,
        (|| {
            let ip = parse_ip(ip)?;
            let mut p = provider(ctx, choice, url, user, key, Some(zone_id))?;
            Ok(lines_of(
                p.list(url)?
                    .into_iter()
                    .filter(|r| r.ip == ip)
                    .map(|r| r.id),
            ))
        })(),
    )
}

/// GetIPAddresses ZONEID URL USER KEY DNSCHOICE: the A records' IPs, one per line.
fn ip_addresses_script(ctx: &Ctx, a: &[&str; 5]) -> Outcome {
    let [zone_id, url, user, key, choice] = *a;
    Outcome::from_legacy_result(
        ctx,
        (|| {
            let mut p = provider(ctx, choice, url, user, key, Some(zone_id))?;
            Ok(lines_of(p.list(url)?.into_iter().map(|r| r.ip.to_string())))
        })(),
    )
}

/// AddRecord ZONEID USER KEY URL IP DNSCHOICE: one A record, TTL 120 (Cloudflare: proxied).
fn add_record_script(ctx: &Ctx, a: &[&str; 6]) -> Outcome {
    let [zone_id, user, key, url, ip, choice] = *a;
    Outcome::from_legacy_result(
        ctx,
        (|| {
            let ip = parse_ip(ip)?;
            let mut p = provider(ctx, choice, url, user, key, Some(zone_id))?;
            p.add(url, ip)?;
            Ok(String::new())
        })(),
    )
}

/// DeleteRecord ZONEID RECORDID USER KEY DNSCHOICE: the domain comes from this machine's
/// WEBSITEURL (as legacy).
fn delete_record_script(ctx: &Ctx, a: &[&str; 5]) -> Outcome {
    let [zone_id, record_id, user, key, choice] = *a;
    Outcome::from_legacy_result(
        ctx,
        (|| {
            if record_id.trim().is_empty() {
                return Ok(String::new());
            }
            let url = config::value(&ctx.settings()?, "WEBSITEURL").unwrap_or_default();
            let mut p = provider(ctx, choice, &url, user, key, Some(zone_id))?;
            // A multi-line id (legacy callers pass GetRecordID's whole output): each one.
            for id in record_id.split_whitespace() {
                let rec = Record {
                    id: id.to_string(),
                    ip: id
                        .parse()
                        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                };
                p.delete(&url, &rec)?;
            }
            Ok(String::new())
        })(),
    )
}

/// providerscripts/dns/GetZoneID.sh ZONENAME USER KEY DNSCHOICE
pub fn get_zone_id(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(zone_id_script(ctx, a(0), a(1), a(2), a(3)))
}

/// providerscripts/dns/GetRecordID.sh ZONEID URL IP USER KEY DNSCHOICE
pub fn get_record_id(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(record_id_script(ctx, &[a(0), a(1), a(2), a(3), a(4), a(5)]))
}

/// providerscripts/dns/GetIPAddresses.sh ZONEID URL USER KEY DNSCHOICE
pub fn get_ip_addresses(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(ip_addresses_script(ctx, &[a(0), a(1), a(2), a(3), a(4)]))
}

/// providerscripts/dns/AddRecord.sh ZONEID USER KEY URL IP DNSCHOICE
pub fn add_record(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(add_record_script(
        ctx,
        &[a(0), a(1), a(2), a(3), a(4), a(5)],
    ))
}

/// providerscripts/dns/DeleteRecord.sh ZONEID RECORDID USER KEY DNSCHOICE
pub fn delete_record(ctx: &Ctx, args: &[String]) -> i32 {
    let a = |i| arg(args, i);
    finish(delete_record_script(ctx, &[a(0), a(1), a(2), a(3), a(4)]))
}
