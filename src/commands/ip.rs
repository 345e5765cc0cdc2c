//! The address scripts of `providerscripts/utilities/`: GetIP.sh, GetPublicIP.sh, UpdateIP.sh
//! and SetupInfrastructureIPs.sh (see `crate::ips` for what they publish and read).
//!
//! GetIP primes the provider's private network first where the legacy script did
//! ([`ips::prime_network`]: Exoscale's `dhclient`, Vultr's one-off private interface set-up);
//! a failure there goes to stderr and the IP is printed all the same. Difference: the IP is
//! printed after the Vultr set-up rather than before it.

use super::{finish, out, Ctx, Outcome};
use crate::ips;

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
    if let Err(e) = ips::prime_network(ctx) {
        ctx.report(&e);
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
