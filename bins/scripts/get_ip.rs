//! GetIP.sh / GetPublicIP.sh: print the machine's private / public IP (MYIP / MYPUBLICIP).
use adt::cli::Ctx;

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
        let s = std::process::Command::new("/bin/sh").arg(&legacy).status();
        return Some(s.ok().and_then(|s| s.code()).unwrap_or(1));
    }
    eprintln!("GetIP.sh: provider network setup (Exoscale dhclient / Vultr private network) is not implemented by adt and no legacy GetIP.sh is kept; printing MYIP only");
    None
}

pub fn private(ctx: &Ctx, _args: &[String]) -> i32 {
    if let Some(status) = legacy_priming(ctx) {
        return status;
    }
    print(ctx, adt::ips::get_ip(ctx))
}

pub fn public(ctx: &Ctx, _args: &[String]) -> i32 {
    print(ctx, adt::ips::get_public_ip(ctx))
}

fn print(ctx: &Ctx, r: adt::Result<String>) -> i32 {
    match r {
        Ok(ip) => {
            adt::cli::out(format!("{}\n", ip.trim()).as_bytes());
            0
        }
        Err(e) => {
            ctx.report(&e);
            adt::cli::out(b"\n");
            0
        }
    }
}
