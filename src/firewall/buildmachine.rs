//! The build machine's access list: the addresses allowed to reach it, kept by operators with
//! `helperscripts/AllowLaptopIP.sh` in bucket `authip-<BUILD_IDENTIFIER>` (2022; 2025:
//! `authip-adt-allowed-<build machine IP, dots → dashes>`), objects `authorised-ips.dat` (one
//! address a line) and `FIREWALL-EVENT` (empty: "the list changed"), and applied by
//! `providerscripts/security/firewall/TightenBuildMachineFirewall.sh` (every minute) on the
//! firewall reconciler.
//!
//! Differences from legacy: the list is reconciled, so a removed address loses access (legacy
//! only ever ran `ufw allow from <ip>`); the rules admit the SSH port (as 2025 does; 2022's
//! `ufw allow from <ip>` opened every port); a line that is not one host address opens nothing
//! and is named; AllowLaptopIP refuses a malformed address and removes by exact match (legacy's
//! `sed /<ip>/d` also removed `11.2.3.45` with `1.2.3.4`); `FIREWALL-EVENT` is deleted only
//! once the firewall is in place, so a failed run is retried the next minute.

use super::model::{Inputs, ACCESS_LIST};
use super::net::Net;
use super::reconcile::{reconcile_with, Options, Report};
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::site::Site;
use std::path::PathBuf;

pub const LIST_OBJECT: &str = "authorised-ips.dat";
pub const EVENT_OBJECT: &str = "FIREWALL-EVENT";

/// 2022: `authip-<BUILD_IDENTIFIER>`.
pub fn bucket_2022(build_identifier: &str) -> String {
    format!("authip-{build_identifier}")
}

/// 2025: `authip-adt-allowed-<ip with dashes>`.
pub fn bucket_2025(build_machine_ip: &str) -> String {
    format!("authip-adt-allowed-{}", build_machine_ip.replace('.', "-"))
}

/// One address of the list: a single IPv4 or IPv6 host, nothing broader.
pub fn parse_address(s: &str) -> std::result::Result<Net, String> {
    let s = s.trim();
    if s.contains('/') {
        return Err(format!("{s:?} is a network, not one address"));
    }
    Net::parse(s, 32, 128)
}

/// The list's addresses, and one message per line refused.
pub fn parse_list(text: &str) -> (Vec<Net>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_address(l) {
            Ok(n) if !ok.contains(&n) => ok.push(n),
            Ok(_) => {}
            Err(e) => bad.push(format!("{LIST_OBJECT}: {e}; it opens nothing")),
        }
    }
    ok.sort();
    (ok, bad)
}

/// The list with `ip` added or removed (exact match), sorted and unique as legacy's
/// `sort | uniq` left it. Lines that are not addresses are kept as they were (an operator's
/// file is not rewritten behind their back); they open nothing.
pub fn edit(text: &str, ip: &str, add: bool) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && l != ip)
        .collect();
    if add {
        lines.push(ip.to_string());
    }
    lines.sort();
    lines.dedup();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// What TightenBuildMachineFirewall needs besides the machine.
pub struct Tighten {
    pub ssh_port: u16,
    /// LAPTOP_IP (or the `runtimedata/LAPTOPIP:<ip>` marker): the address the build was run
    /// from, added to the list and never removed; `BYPASS` or empty: none.
    pub laptop_ip: String,
    /// Local trigger files (`/tmp/PRIME_FIREWALL`; 2025 also the build's own
    /// `FIREWALL-EVENT` and `PRIME_FIREWALL`): apply the list without waiting for the bucket's
    /// event; removed once applied.
    pub prime_files: Vec<PathBuf>,
    pub opts: Options,
    /// The cloud whose native firewall `adt-build-machine` follows the list too (2022
    /// TightenBuildMachineFirewall sourced AdjustBuildMachineNativeFirewall.sh), and the build
    /// machine's own addresses (how the cloud's listing names it); `None`: no native firewall.
    pub native: Option<Native>,
    /// Where the applied list is copied (2022 `BUILD_HOME/authorised-ips.dat`, 2025
    /// `runtimedata/<cloudhost>/<id>/ips/authorised-ips.dat`).
    pub list_copy: PathBuf,
}

/// The native firewall's part of [`Tighten`].
pub struct Native {
    pub host: crate::cloud::servers::Host,
    /// The cloud's zone (Exoscale's REGION).
    pub zone: String,
    pub own: Vec<std::net::IpAddr>,
}

impl Native {
    /// Keep the cloud's `adt-build-machine` firewall as the list `nets` says; the lines that
    /// say what changed.
    pub fn apply(&self, nets: &[Net], ssh_port: u16, dry_run: bool) -> Result<Vec<String>> {
        let mut cloud = crate::cloud::servers::CliCloud {
            host: self.host,
            cli: crate::cloud::Cli {
                dry_run,
                ran: Vec::new(),
            },
            zone: self.zone.clone(),
        };
        let r = crate::firewall::native::reconcile_build_machine(
            &mut cloud, nets, ssh_port, &self.own,
        )?;
        let mut lines = vec![format!(
            "native firewall {}: {} added, {} removed",
            crate::firewall::native::BUILD_MACHINE,
            r.added,
            r.removed
        )];
        if dry_run {
            lines.extend(cloud.cli.ran);
        }
        Ok(lines)
    }
}

/// Apply the access list when `FIREWALL-EVENT` is in the bucket or the prime file exists;
/// `Ok(None)` when there is nothing to do. Any failure to read the list leaves the firewall
/// and the event as they are.
pub fn tighten(
    site: &Site,
    store: &dyn Backend,
    t: &Tighten,
    warnings: &mut Vec<String>,
) -> Result<Option<Report>> {
    let event = match store.any_with_prefix(EVENT_OBJECT) {
        Ok(b) => b,
        Err(Error::NoBucket(_)) => false,
        Err(e) => return Err(e),
    };
    let primed = t.prime_files.iter().any(|p| p.exists());
    if !event && !primed {
        return Ok(None);
    }
    let mut text = match store.get_bytes(LIST_OBJECT) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(Error::NotFound(_)) | Err(Error::NoBucket(_)) => String::new(),
        Err(e) => return Err(e),
    };
    let mut laptop = None;
    let ip = t.laptop_ip.trim();
    if !ip.is_empty() && ip != "BYPASS" {
        match parse_address(ip) {
            Ok(n) => {
                laptop = Some(n);
                let new = edit(&text, ip, true);
                if new != text && !t.opts.dry_run {
                    if !store.bucket_exists()? {
                        store.create_bucket()?;
                    }
                    store.put_bytes(LIST_OBJECT, new.as_bytes())?;
                }
                text = new;
            }
            Err(e) => warnings.push(format!("LAPTOP_IP: {e}; it opens nothing")),
        }
    }
    let (nets, bad) = parse_list(&text);
    warnings.extend(bad);
    let inp = Inputs {
        ssh_port: t.ssh_port,
        build_client: laptop.into_iter().collect(),
        lists: [(ACCESS_LIST.to_string(), nets)].into(),
        ..Default::default()
    };
    let mut rep = reconcile_with(site, &t.opts, &inp, warnings)?;
    if let Some(n) = &t.native {
        let nets = &inp.lists[ACCESS_LIST];
        rep.lines.extend(n.apply(nets, t.ssh_port, t.opts.dry_run)?);
    }
    if !t.opts.dry_run {
        if event {
            store.delete(EVENT_OBJECT)?;
        }
        for p in &t.prime_files {
            let _ = std::fs::remove_file(p);
        }
        // Legacy kept a copy of the list (2022: in BUILD_HOME).
        if let Some(dir) = t.list_copy.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        crate::fsutil::write_atomic(&t.list_copy, text.as_bytes(), Some(0o644))?;
    }
    Ok(Some(rep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(bucket_2022("acme1"), "authip-acme1");
        assert_eq!(bucket_2025("203.0.113.4"), "authip-adt-allowed-203-0-113-4");
    }

    #[test]
    fn a_bad_line_opens_nothing() {
        let (ok, bad) = parse_list(
            "198.51.100.7\n0.0.0.0/0\n10.0.0.0/8\nnot-an-ip\n0.0.0.0\n2001:db8::1\n198.51.100.7\n",
        );
        assert_eq!(ok.len(), 2);
        assert_eq!(bad.len(), 4, "{bad:?}");
    }

    #[test]
    fn edits_are_exact() {
        let t = edit("11.2.3.45\n1.2.3.4\n", "1.2.3.4", false);
        assert_eq!(t, "11.2.3.45\n");
        assert_eq!(edit(&t, "1.2.3.4", true), "1.2.3.4\n11.2.3.45\n");
        assert_eq!(edit("1.2.3.4\n", "1.2.3.4", true), "1.2.3.4\n");
    }
}
