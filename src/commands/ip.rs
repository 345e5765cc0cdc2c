//! The address scripts of `providerscripts/utilities/`: GetIP.sh, GetPublicIP.sh, UpdateIP.sh
//! and SetupInfrastructureIPs.sh (see `crate::ips` for what they publish and read).
//!
//! Differences from legacy: GetIP's provider network priming (Exoscale `dhclient`, Vultr's
//! private network set-up) is not reimplemented; where those markers exist the legacy script
//! kept beside the launcher runs instead, or stderr says it cannot.

use super::{finish, out, Ctx, Outcome};
use crate::ips;
use crate::process::Run;

/// Provider network priming that GetIP did on Exoscale (dhclient) and Vultr (private network
/// setup, once) is not reimplemented: there the legacy script kept beside the launcher runs.
fn legacy_priming(ctx: &Ctx) -> Option<i32> {
    let exo = ctx.home.join("EXOSCALE").exists();
    let vultr = ctx.home.join("VULTR").exists() && !ctx.home.join("runtime/NETCONFIGURED").exists();
    if !exo && !vultr {
        return None;
    }
    let legacy = ctx
        .home
        .join("providerscripts/utilities/GetIP.sh.adt-legacy");
    if legacy.is_file() {
        return Some(
            Run::new("/bin/sh")
                .arg(&legacy)
                .status()
                .ok()
                .flatten()
                .unwrap_or(1),
        );
    }
    eprintln!("GetIP.sh: provider network setup (Exoscale dhclient / Vultr private network) is not implemented by adt and no legacy GetIP.sh is kept; printing MYIP only");
    None
}

/// An IP on one line; on failure the reason on stderr, an empty line, and status 0 (legacy).
fn print(ctx: &Ctx, r: crate::Result<String>) -> i32 {
    match r {
        Ok(ip) => {
            out(format!("{}\n", ip.trim()).as_bytes());
            0
        }
        Err(e) => {
            ctx.report(&e);
            out(b"\n");
            0
        }
    }
}

/// GetIP.sh: this machine's private IP (MYIP).
pub fn get_ip(ctx: &Ctx, _args: &[String]) -> i32 {
    if let Some(status) = legacy_priming(ctx) {
        return status;
    }
    print(ctx, ips::get_ip(ctx))
}

/// GetPublicIP.sh: this machine's public IP (MYPUBLICIP).
pub fn get_public_ip(ctx: &Ctx, _args: &[String]) -> i32 {
    print(ctx, ips::get_public_ip(ctx))
}

/// UpdateIP.sh: publish this machine's IP markers. Prints nothing (as the legacy); problems go
/// to stderr and the exit status.
pub fn update_ip(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(Outcome::from_result(ctx, ips::update_ip(ctx).map(|()| "")))
}

/// SetupInfrastructureIPs.sh (sourced): `export NAME='value'` lines for the launcher to eval.
pub fn setup_infrastructure_ips(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(Outcome::from_result(ctx, ips::infrastructure_exports(ctx)))
}
