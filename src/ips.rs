//! The IPs machines publish to the config datastore (empty marker objects whose key carries the
//! IP) and the library call later issues use to read them.
//!
//! 2022 keys: webserver `webserverips/<private>`, `bootedwebserverips/<private>`,
//! `webserverpublicips/<public>`; autoscaler `autoscalerip/<private>`,
//! `autoscalerpublicip/<public>`, `buildclientip/<BUILDCLIENTIP>`; database
//! `databaseip/<private>`, `databasepublicip/<public>`. The IPs are the settings MYIP and
//! MYPUBLICIP (2022 scripts never looked at the network, except the autoscaler's GetIP, which
//! checks MYIP against `hostname -I`).
//!
//! 2025 (`utilities/processing/UpdateIPs.sh`): autoscaler `autoscalerips/`, `autoscalerpublicips/`,
//! `buildmachineip/<BUILDMACHINEIP>`; webserver `webserverips/`, `webserverpublicips/`; database
//! as 2022. The addresses are what the machine's own GetIP.sh and GetPublicIP.sh print (they ask
//! the network). The webserver also keeps `runtime/otherwebserverips/<ip>` for its peers, and
//! with MULTIREGION:1 the webserver and database put `dbaas_ips/<public>` in the multi-region
//! bucket of every account. A 2025 webserver host publishes by its name: `…-rp-…`
//! `reverseproxyips/`, `reverseproxypublicips/`; `ws-…` `webserverips/`, `webserverpublicips/`;
//! `…-auth-…` `authenticatorip/`, `authenticatorpublicip/`. The tables are generation data
//! (`crate::layout::Contract`).
//!
//! Differences from the legacy UpdateIP: only missing markers are written (one listing per
//! prefix instead of a blind re-upload every minute); markers this machine published earlier for
//! an IP it no longer has are deleted (legacy left them until a reboot wiped the whole prefix,
//! other machines' markers included); an empty or malformed IP is never published (legacy
//! uploaded the bare prefix). Readers ([`list_ips`], and through it the firewalls) take only
//! exact addresses a machine can have: ` 1.2.3.4`, `255.255.255.255`, `::ffff:0.0.0.0`,
//! multicast and loopback entries are skipped and named on stderr, so none of them can become
//! a firewall source.

use crate::config;
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::home::Machine;
use crate::layout::IpLookup;
use crate::site::Site;
use std::net::IpAddr;

/// Why `s` is not the address of a fleet machine, if it is not.
fn refuse(s: &str) -> Option<String> {
    let Ok(ip) = s.parse::<IpAddr>() else {
        return Some(format!("{s:?} is not an IP address"));
    };
    // An IPv4-mapped IPv6 address (`::ffff:0.0.0.0`) is judged as the IPv4 address it maps.
    let v4 = match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    };
    let what = if ip.is_unspecified() || v4.is_some_and(|a| a.is_unspecified()) {
        "the unspecified address"
    } else if v4.is_some_and(|a| a.is_broadcast()) {
        "the broadcast address"
    } else if ip.is_multicast() || v4.is_some_and(|a| a.is_multicast()) {
        "a multicast address"
    } else if ip.is_loopback() || v4.is_some_and(|a| a.is_loopback()) {
        "a loopback address"
    } else {
        return None;
    };
    Some(format!("{s:?} is {what}, never a fleet machine's"))
}

/// Parse an IP as published: exactly a plain IPv4/IPv6 address (no white space around it, no
/// network, no host name) that a fleet machine can have: not unspecified, broadcast,
/// multicast or loopback, in IPv4 or IPv4-mapped IPv6 form.
pub fn parse_ip(s: &str) -> Result<IpAddr> {
    match refuse(s) {
        None => s
            .parse()
            .map_err(|_| Error::Usage(format!("{s:?} is not an IP address"))),
        Some(why) => Err(Error::Usage(why)),
    }
}

/// The IPs published under `prefix` (e.g. `webserverips/`). Entries that are not addresses of
/// fleet machines ([`parse_ip`]) are skipped and named on stderr; a failed listing is an error
/// (never an empty list).
pub fn list_ips(store: &dyn Backend, prefix: &str) -> Result<Vec<IpAddr>> {
    let prefix = if prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    };
    let listing = store.list(&prefix, true)?;
    let mut out = Vec::new();
    for o in listing.objects {
        let name = &o.key[prefix.len()..];
        match refuse(name) {
            None => {
                let ip = parse_ip(name)?;
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
            Some(why) => eprintln!("adt: ignoring {:?} in the datastore: {why}", o.key),
        }
    }
    Ok(out)
}

/// The marker keys a 2022 machine publishes for its IPs.
pub fn keys_for(
    machine: Machine,
    private: &str,
    public: &str,
    build_client: &str,
) -> Vec<(String, String)> {
    let settings = format!("BUILDCLIENTIP:{build_client}\n");
    markers_of(&crate::layout::G2022, machine, private, public, &settings)
}

/// The marker keys (prefix, IP) a machine of generation `gen` publishes: the generation's
/// table ([`crate::layout::Contract::ip_markers`]) filled in.
pub fn markers_of(
    gen: &crate::layout::Generation,
    machine: Machine,
    private: &str,
    public: &str,
    settings: &str,
) -> Vec<(String, String)> {
    use crate::layout::IpSource;
    let host = crate::home::hostname();
    gen.contract
        .ip_markers
        .iter()
        .filter(|m| m.machine == machine && m.host.matches(&host))
        .map(|m| {
            let ip = match m.source {
                IpSource::Private => private.to_string(),
                IpSource::Public => public.to_string(),
                IpSource::Setting(k) => config::value(settings, k).unwrap_or_default(),
            };
            (m.prefix.to_string(), ip.trim().to_string())
        })
        .collect()
}

/// The first line a legacy address script prints (2025's GetIP.sh and GetPublicIP.sh, which
/// find the address on the machine and store it in the settings).
fn script_address(ctx: &Site, rel: &str) -> Result<String> {
    let path = ctx.home.join(rel);
    let o = crate::process::Run::new(&path)
        .env("HOME", &ctx.home)
        .deadline(std::time::Duration::from_secs(60))
        .output()?;
    if !o.success() {
        return Err(Error::Io(format!("{} failed", path.display())));
    }
    Ok(o.stdout.lines().next().unwrap_or("").trim().to_string())
}

/// The machine's own addresses as `hostname -I` reports them.
pub fn host_addresses() -> Option<Vec<String>> {
    let o = crate::process::Run::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    o.success()
        .then(|| o.stdout.split_whitespace().map(str::to_string).collect())
}

/// GetIP: the private IP (MYIP). On the autoscaler, a MYIP that is not one of the host's
/// addresses is replaced by the second address `hostname -I` reports and stored in the
/// autoscaler's own settings (legacy stored it in the webserver template by mistake).
pub fn get_ip(ctx: &Site) -> Result<String> {
    let text = ctx.settings()?;
    let ip = config::value(&text, "MYIP").unwrap_or_default();
    if ctx.machine == Machine::Autoscaler {
        if let Some(addrs) = host_addresses() {
            if !addrs.contains(&ip) {
                if let Some(second) = addrs.get(1) {
                    config::store_value(&ctx.settings_path(), "MYIP", Some(second), false)?;
                    return Ok(second.clone());
                }
            }
        }
    }
    Ok(ip)
}

/// This machine's private IP the generation's way: MYIP (2022, [`get_ip`]) or the first line of
/// the generation's own GetIP script (2025).
pub fn private_ip(ctx: &Site) -> Result<String> {
    match ctx.gen.contract.ip_lookup {
        IpLookup::Settings => get_ip(ctx),
        IpLookup::Scripts(private, _) => script_address(ctx, private),
    }
}

pub fn get_public_ip(ctx: &Site) -> Result<String> {
    Ok(config::value(&ctx.settings()?, "MYPUBLICIP").unwrap_or_default())
}

const STATE: &str = "adt-published-ips";

/// UpdateIP: publish this machine's markers; remove the ones it published for IPs it no longer
/// has.
pub fn update_ip(ctx: &Site) -> Result<()> {
    let text = ctx.settings()?;
    let (private, public) = match ctx.gen.contract.ip_lookup {
        IpLookup::Settings => (
            get_ip(ctx)?,
            config::value(&text, "MYPUBLICIP").unwrap_or_default(),
        ),
        IpLookup::Scripts(private, public) => {
            (script_address(ctx, private)?, script_address(ctx, public)?)
        }
    };
    let store = ctx.store()?;
    let mut wanted = Vec::new();
    let mut bad = Vec::new();
    for (prefix, ip) in markers_of(ctx.gen, ctx.machine, &private, &public, &text) {
        match parse_ip(&ip) {
            Ok(a) => wanted.push(format!("{prefix}{a}")),
            Err(_) => bad.push(format!("{prefix}{ip:?}")),
        }
    }
    let state_path = ctx.home.join("runtime").join(STATE);
    let previous: Vec<String> = std::fs::read_to_string(&state_path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    // One listing per prefix: publish only what is missing.
    let mut prefixes: Vec<&str> = wanted.iter().map(|k| &k[..=k.find('/').unwrap()]).collect();
    prefixes.dedup();
    let mut present = Vec::new();
    for p in prefixes {
        present.extend(store.list(p, true)?.objects.into_iter().map(|o| o.key));
    }
    for k in &wanted {
        if !present.contains(k) {
            log::debug!("publishing {k}");
            store.put_bytes(k, b"")?;
        }
    }
    for k in previous.iter().filter(|k| !wanted.contains(k)) {
        log::debug!("removing stale {k}");
        store.delete(k)?;
    }
    std::fs::create_dir_all(ctx.home.join("runtime")).map_err(|e| Error::io("runtime", e))?;
    let mut state = wanted.join("\n");
    state.push('\n');
    fsutil::write_atomic(&state_path, state.as_bytes(), None)?;
    if ctx.machine == Machine::Webserver && ctx.gen.contract.ip_lookup == IpLookup::Settings {
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ctx.home.join("runtime").join("APP_CONFIG_UPDATED"));
    }
    if let Some((m, host, prefix, dir)) = ctx.gen.contract.peer_files {
        if m == ctx.machine && host.matches(&crate::home::hostname()) {
            peer_files(store.as_ref(), prefix, &ctx.home.join(dir), &private)?;
        }
    }
    if ctx.gen.contract.multi_region_ips.contains(&ctx.machine)
        && config::value(&text, "MULTIREGION").as_deref() == Some("1")
        && !(ctx.machine == Machine::Webserver
            && ctx.home.join("runtime/SHUTDOWN-INITIATED").exists())
    {
        if let Ok(ip) = parse_ip(&public) {
            let url = config::value(&text, "WEBSITEURL").unwrap_or_default();
            let bucket = format!("{}-multi-region", url.replace('.', "-"));
            for s in ctx.stores_in_every_account(&bucket)? {
                s.put_bytes(&format!("dbaas_ips/{ip}"), b"")?;
            }
        }
    }
    if !bad.is_empty() {
        return Err(Error::Config(format!(
            "not published (no valid IP in the settings): {}",
            bad.join(", ")
        )));
    }
    Ok(())
}

/// One empty file in `dir` for every address published under `prefix` except `own`; files for
/// addresses no longer published are removed. Legacy removed `own` from the listing as a
/// substring (`10.0.0.5` turned a peer `10.0.0.50` into `0`) and kept a file whose name was a
/// substring of the listing; here names are compared whole.
fn peer_files(store: &dyn Backend, prefix: &str, dir: &std::path::Path, own: &str) -> Result<()> {
    let peers: Vec<String> = list_ips(store, prefix)?
        .into_iter()
        .map(|a| a.to_string())
        .filter(|a| a != own.trim())
        .collect();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    for p in &peers {
        let f = dir.join(p);
        if !f.exists() {
            std::fs::write(&f, b"").map_err(|e| Error::io(f.display(), e))?;
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !peers.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// SetupInfrastructureIPs (sourced by the firewall scripts): the variables it exported, as
/// `export NAME='value'` lines for the launcher to eval.
pub fn infrastructure_exports(ctx: &Site) -> Result<String> {
    let text = ctx.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let mut vars = vec![("BUILD_CLIENT_IP", v("BUILDCLIENTIP"))];
    if ctx.machine == Machine::Autoscaler {
        vars = vec![
            ("DATABASE_IP", v("DBIP")),
            ("BUILD_CLIENT_IP", v("BUILDCLIENTIP")),
            ("WEBSERVER_IP", v("WSIP")),
            ("AUTOSCALER_IP", get_ip(ctx)?),
        ];
    }
    Ok(vars
        .into_iter()
        .map(|(k, val)| format!("export {k}={}\n", sh_quote(&val)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_are_validated() {
        for good in [
            "10.0.0.1",
            "203.0.113.9",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "fd00::2",
        ] {
            assert_eq!(parse_ip(good).unwrap().to_string(), good);
        }
        for bad in [
            "",
            "*",
            "0.0.0.0",
            "0.0.0.0/0",
            "1.2.3",
            "::/0",
            "::",
            "example.com",
            "10.0.0.1/32",
            // White space is not part of an address.
            "10.0.0.1 ",
            " 1.2.3.4",
            "1.2.3.4\n",
            "\t::1",
            // Never a fleet machine: broadcast, unspecified, multicast, loopback, also mapped.
            "255.255.255.255",
            "::ffff:255.255.255.255",
            "::ffff:0.0.0.0",
            "224.0.0.1",
            "239.255.255.250",
            "ff02::1",
            "::ffff:224.0.0.5",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(parse_ip(bad).is_err(), "{bad:?}");
        }
        let e = parse_ip("255.255.255.255").unwrap_err().to_string();
        assert!(e.contains("broadcast"), "{e}");
    }

    #[test]
    fn list_ips_skips_junk_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let store = crate::datastore::local::LocalStore::new(dir.path(), "b");
        // Keys with white space cannot be written through the wrappers; put them in place as
        // another client could have.
        let base = dir.path().join("b/webserverips");
        std::fs::create_dir_all(&base).unwrap();
        for name in [
            "10.0.0.5",
            "255.255.255.255",
            "::ffff:0.0.0.0",
            " 1.2.3.4",
            "1.2.3.4 ",
            "224.0.0.1",
            "127.0.0.1",
            "2001:db8::5",
        ] {
            std::fs::write(base.join(name), b"").unwrap();
        }
        let ips = list_ips(&store, "webserverips").unwrap();
        let shown: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
        assert_eq!(shown, ["10.0.0.5", "2001:db8::5"]);
    }

    #[test]
    fn keys_per_machine() {
        let k = keys_for(Machine::Database, "10.0.0.2", "203.0.113.2", "");
        assert_eq!(
            k,
            vec![
                ("databaseip/".to_string(), "10.0.0.2".to_string()),
                ("databasepublicip/".to_string(), "203.0.113.2".to_string()),
            ]
        );
        assert_eq!(keys_for(Machine::Webserver, "a", "b", "c").len(), 3);
    }
}

// ---------- GetIP's provider network priming ----------

/// What GetIP does to the network before it answers, per the legacy markers in the home:
/// `EXOSCALE` asks for a DHCP lease on the private network (`dhclient`); `VULTR` without
/// `runtime/NETCONFIGURED` configures the private interface statically with MYIP/16, once,
/// as the OS wants it (Debian 10 `ens7` and Debian 11 `enp6s0` stanzas appended to
/// `/etc/network/interfaces` then `ifup --all`; Ubuntu 20.04/22.04 a netplan file for
/// `enp6s0` matched by the last Ethernet MAC, then `netplan apply`), then marks it done.
/// DigitalOcean, Linode and AWS machines had none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Priming {
    /// Run `dhclient` (unless one is running already).
    Dhclient,
    /// Append `stanza` to `/etc/network/interfaces` (unless there already) and `ifup --all`.
    Interfaces { stanza: String },
    /// Write `/etc/netplan/10-enp6s0.yaml` and `netplan apply`.
    Netplan { yaml: String },
    /// Only mark the network configured (an OS the legacy script had no recipe for).
    MarkOnly,
}

/// The priming for these markers and settings (`mac`: the last Ethernet interface's MAC,
/// asked for only on Ubuntu). Exoscale's lease comes before the Vultr set-up, as legacy.
pub fn priming(
    exoscale: bool,
    vultr_unconfigured: bool,
    os: &str,
    version: &str,
    ip: &str,
    mac: impl FnOnce() -> Option<String>,
) -> Vec<Priming> {
    let mut out = Vec::new();
    if exoscale {
        out.push(Priming::Dhclient);
    }
    if !vultr_unconfigured {
        return out;
    }
    let stanza = |iface: &str| {
        format!(
            "auto {iface}\niface {iface} inet static\naddress {ip}\nnetmask 255.255.0.0\n            mtu 1450\n"
        )
    };
    out.push(match (os, version) {
        ("debian", "10") => Priming::Interfaces {
            stanza: stanza("ens7"),
        },
        ("debian", "11") => Priming::Interfaces {
            stanza: stanza("enp6s0"),
        },
        ("ubuntu", "20.04" | "22.04") => Priming::Netplan {
            yaml: format!(
                "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    enp6s0:\n      match:\n        macaddress: {}\n      mtu: 1200\n      dhcp4: no\n      addresses: [{ip}/16]\n",
                mac().unwrap_or_default()
            ),
        },
        _ => Priming::MarkOnly,
    });
    out
}

/// The system root the priming works under: `/`, or `ADT_SYSTEM_ROOT` (tests).
fn system_root() -> std::path::PathBuf {
    std::env::var_os("ADT_SYSTEM_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/".into())
}

/// The MAC of the last Ethernet interface in interface-index order (legacy: the last
/// `link/ether` line of `ip addr`), from `/sys/class/net`.
fn last_ether_mac(root: &std::path::Path) -> Option<String> {
    let dir = root.join("sys/class/net");
    let read = |p: std::path::PathBuf| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let mut found: Vec<(u64, String)> = Vec::new();
    for e in std::fs::read_dir(&dir).ok()?.flatten() {
        let p = e.path();
        // ARPHRD_ETHER is type 1 (loopback is 772).
        if read(p.join("type")).as_deref() != Some("1") {
            continue;
        }
        let (Some(idx), Some(mac)) = (read(p.join("ifindex")), read(p.join("address"))) else {
            continue;
        };
        if let Ok(i) = idx.parse() {
            found.push((i, mac));
        }
    }
    found.sort();
    found.pop().map(|(_, m)| m)
}

/// Whether a `dhclient` process is running (from /proc).
fn dhclient_running() -> bool {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten().any(|e| {
                std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "dhclient")
            })
        })
        .unwrap_or(false)
}

/// GetIP's priming on this machine: the legacy markers read, the steps run. Failures of the
/// system tools are returned; `runtime/NETCONFIGURED` is written only once the set-up ran.
pub fn prime_network(ctx: &Site) -> Result<()> {
    let marker = ctx.home.join("runtime/NETCONFIGURED");
    let exoscale = ctx.home.join("EXOSCALE").exists();
    let vultr = ctx.home.join("VULTR").exists() && !marker.exists();
    if !exoscale && !vultr {
        return Ok(());
    }
    let text = ctx.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let root = system_root();
    let steps = priming(
        exoscale,
        vultr,
        &v("BUILDOS"),
        &v("BUILDOSVERSION"),
        &v("MYIP"),
        || last_ether_mac(&root),
    );
    let run = |prog: &str, args: &[&str]| -> Result<()> {
        let path = crate::process::find_program(prog, &["/usr/sbin", "/sbin", "/usr/bin"])
            .ok_or_else(|| Error::Config(format!("{prog} is not installed")))?;
        crate::process::Run::new(path)
            .args(args)
            .deadline(std::time::Duration::from_secs(60))
            .stdout_or(Error::Io)
            .map(|_| ())
    };
    for step in steps {
        match step {
            Priming::Dhclient => {
                if !dhclient_running() {
                    run("dhclient", &[])?;
                }
            }
            Priming::Interfaces { stanza } => {
                let path = root.join("etc/network/interfaces");
                let have = std::fs::read_to_string(&path).unwrap_or_default();
                if !have.contains(&stanza) {
                    let text = if have.is_empty() || have.ends_with('\n') {
                        format!("{have}{stanza}")
                    } else {
                        format!("{have}\n{stanza}")
                    };
                    fsutil::write_atomic(&path, text.as_bytes(), Some(0o644))?;
                }
                run("ifup", &["--all"])?;
                touch(&marker)?;
            }
            Priming::Netplan { yaml } => {
                let dir = root.join("etc/netplan");
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
                fsutil::write_atomic(&dir.join("10-enp6s0.yaml"), yaml.as_bytes(), Some(0o600))?;
                run("netplan", &["apply"])?;
                touch(&marker)?;
            }
            Priming::MarkOnly => touch(&marker)?,
        }
    }
    Ok(())
}

fn touch(p: &std::path::Path) -> Result<()> {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
    }
    std::fs::write(p, "").map_err(|e| Error::io(p.display(), e))
}

#[cfg(test)]
mod priming_tests {
    use super::*;

    #[test]
    fn each_provider_and_os_gets_the_legacy_set_up() {
        let none = || -> Option<String> { panic!("the MAC is asked for only on Ubuntu") };
        assert_eq!(
            priming(true, false, "ubuntu", "22.04", "10.0.0.5", none),
            [Priming::Dhclient]
        );
        assert!(priming(false, false, "ubuntu", "22.04", "10.0.0.5", none).is_empty());
        assert_eq!(
            priming(false, true, "debian", "10", "10.1.2.3", none),
            [Priming::Interfaces {
                stanza: "auto ens7\niface ens7 inet static\naddress 10.1.2.3\nnetmask 255.255.0.0\n            mtu 1450\n".into()
            }]
        );
        assert!(matches!(
            &priming(false, true, "debian", "11", "10.1.2.3", none)[0],
            Priming::Interfaces { stanza } if stanza.starts_with("auto enp6s0\niface enp6s0 inet static\naddress 10.1.2.3\n")
        ));
        assert_eq!(
            priming(false, true, "ubuntu", "20.04", "10.1.2.3", || Some("5a:01:02:03:04:05".into())),
            [Priming::Netplan {
                yaml: "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    enp6s0:\n      match:\n        macaddress: 5a:01:02:03:04:05\n      mtu: 1200\n      dhcp4: no\n      addresses: [10.1.2.3/16]\n".into()
            }]
        );
        assert_eq!(
            priming(false, true, "ubuntu", "24.04", "10.1.2.3", none),
            [Priming::MarkOnly]
        );
    }
}
