//! The DNS round robin: one A record per healthy webserver's public IP, on the full WEBSITEURL.
//!
//! Providers (by DNSCHOICE): `cloudflare` (HTTP API through curl; the key travels in curl's
//! configuration on stdin, never on argv, where the legacy put it), and `local`: a hosts file
//! served by a real DNS server (dnsmasq, reloaded with SIGHUP), for the local cloud and the
//! demo; and the cloud hosts' DNS through their CLIs (doctl, exo, linode-cli, vultr).
//!
//! Differences from the legacy glue: adding is idempotent on every provider (legacy checked only
//! on DigitalOcean); addresses match exactly (legacy used substrings); listings are complete on
//! every provider: Cloudflare's pages are followed (legacy saw at most 20 records), linode-cli
//! is run with `--all-rows` and vultr-cli's cursor pages are followed (legacy read the first
//! 100); records are created without the operator's linode-cli defaults (`--no-defaults`).

use crate::cloud::{json, Cli, Id};
use crate::config;
use crate::error::{Error, Result};
use crate::site::Site;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::PathBuf;

mod cloudflare;
mod digitalocean;
mod exoscale;
mod linode;
mod local;
mod vultr;

pub use cloudflare::Cloudflare;
pub use local::Local;

/// A record: provider id and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub ip: IpAddr,
}

pub trait Provider {
    /// The provider's id of the zone (Cloudflare's; the others have none).
    fn zone(&mut self) -> Result<Option<String>> {
        Ok(None)
    }
    fn list(&mut self, name: &str) -> Result<Vec<Record>>;
    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()>;
    fn delete(&mut self, name: &str, record: &Record) -> Result<()>;
}

/// A cloud host's DNS (DigitalOcean, Exoscale, Linode, Vultr), through its CLI: the domain
/// (WEBSITEURL minus its first label) and the CLI runner.
pub struct CliDns {
    pub domain: String,
    pub cli: Cli,
}

impl CliDns {
    fn new(domain: String) -> CliDns {
        CliDns {
            domain,
            cli: Cli::default(),
        }
    }

    /// `name` within the domain (`www.example.com` in `example.com` → `www`).
    fn sub(&self, name: &str) -> String {
        name.strip_suffix(&format!(".{}", self.domain))
            .unwrap_or(name)
            .to_string()
    }
}

/// A record in a cloud host CLI's DNS listing: `doctl compute domain records list DOMAIN -o
/// json`, `exo -O json dns show DOMAIN`, `linode-cli --json domains records-list ID` (lists)
/// and `vultr dns record list DOMAIN -o json` (under `records`). An A record's address is
/// `data` (DigitalOcean, Vultr), `content` (Exoscale) or `target` (Linode).
#[derive(Deserialize)]
struct CliRecord {
    #[serde(default)]
    id: Id,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The record's name within the domain (`www`).
    name: Option<String>,
    data: Option<String>,
    content: Option<String>,
    target: Option<String>,
}

impl CliDns {
    /// The A records named `name`, matched exactly (the legacy scripts grepped table output
    /// for substrings), from every page of the listing `prog args` prints as `T`: `records`
    /// finds the records in a page, `addr` a record's address field.
    fn a_records<T: DeserializeOwned>(
        &mut self,
        name: &str,
        prog: &str,
        args: &[&str],
        records: impl Fn(T) -> Option<Vec<CliRecord>>,
        addr: fn(CliRecord) -> Option<String>,
    ) -> Result<Vec<Record>> {
        let sub = self.sub(name);
        let mut all = Vec::new();
        for page in self.cli.query_all(prog, args)? {
            let doc: T = json(&page, prog)?;
            all.extend(records(doc).into_iter().flatten());
        }
        Ok(all
            .into_iter()
            .filter(|r| r.kind.as_deref() == Some("A") && r.name.as_deref() == Some(sub.as_str()))
            .filter_map(|r| {
                let id = r.id.to_string();
                Some(Record {
                    id,
                    ip: addr(r)?.parse().ok()?,
                })
            })
            .collect())
    }
}

// ---------- the glue scripts ----------

/// The record name (WEBSITEURL) and the provider chosen by DNSCHOICE.
pub fn open(site: &Site) -> Result<(String, Box<dyn Provider>)> {
    let text = site.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let url = v("WEBSITEURL");
    if url.is_empty() {
        return Err(Error::Config("WEBSITEURL is not set".into()));
    }
    // DNSSECURITYKEY, fields joined by ':' (a `key:secret` value survives).
    let key = config::extract_values(&text, "DNSSECURITYKEY", true)
        .lines()
        .next()
        .unwrap_or("")
        .replace(' ', ":");
    let p = provider(site, &v("DNSCHOICE"), &url, &v("DNSUSERNAME"), &key, None)?;
    Ok((url, p))
}

/// The DNS provider `choice` for the zone of `url` (the URL minus its first label), with the
/// Cloudflare account `user`/`key` and, if known, the zone's id.
pub fn provider(
    site: &Site,
    choice: &str,
    url: &str,
    user: &str,
    key: &str,
    zone_id: Option<&str>,
) -> Result<Box<dyn Provider>> {
    let zone = url
        .split_once('.')
        .map(|(_, z)| z.to_string())
        .unwrap_or_default();
    Ok(match choice {
        "cloudflare" => {
            let api = std::env::var("ADT_CLOUDFLARE_API")
                .unwrap_or_else(|_| "https://api.cloudflare.com/client/v4".into());
            let mut c = Cloudflare::new(&api, user, key, &zone);
            c.zone_id = zone_id.filter(|z| !z.is_empty()).map(str::to_string);
            Box::new(c)
        }
        "local" => Box::new(Local {
            dir: std::env::var_os("ADT_LOCAL_DNS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| site.home.join(".adt-rs").join("dns")),
        }),
        "digitalocean" => Box::new(digitalocean::DigitalOcean(CliDns::new(zone))),
        "exoscale" => Box::new(exoscale::Exoscale(CliDns::new(zone))),
        "linode" => Box::new(linode::Linode(CliDns::new(zone))),
        "vultr" => Box::new(vultr::Vultr(CliDns::new(zone))),
        other => {
            return Err(Error::Config(format!(
                "DNS provider {other:?} is not implemented by adt (cloudflare, digitalocean, exoscale, linode, vultr and local are)"
            )))
        }
    })
}

/// Whether the toolkit is installed (`INSTALLEDSUCCESSFULLY` in the datastore): before that
/// the DNS scripts do nothing, as legacy.
pub fn installed(site: &Site) -> Result<bool> {
    site.store()?.any_with_prefix("INSTALLEDSUCCESSFULLY")
}

/// GetDNSIPs: the round robin's IPs (`None` before the toolkit is installed), logged to
/// `DNSRetrievalLog.log` as legacy.
pub fn current_ips(site: &Site) -> Result<Option<Vec<IpAddr>>> {
    if !installed(site)? {
        return Ok(None);
    }
    let (name, mut p) = open(site)?;
    let ips: Vec<IpAddr> = p.list(&name)?.iter().map(|r| r.ip).collect();
    let line: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
    site.log(
        "DNSRetrievalLog.log",
        &format!("Currently dns ip addresses are: {}", line.join(" ")),
    );
    Ok(Some(ips))
}

/// AddIPToDNS: add the A record unless it is there, the server is still being built, or it
/// was taken out by scale-down.
pub fn add_ip(site: &Site, ip: IpAddr) -> Result<()> {
    if !installed(site)? {
        return Ok(());
    }
    let rt = site.home.join("runtime");
    if rt.join("beingbuiltpublicips").join(ip.to_string()).exists()
        || rt.join(format!("IPREMOVED:{ip}")).exists()
    {
        return Ok(());
    }
    let (name, mut p) = open(site)?;
    if p.list(&name)?.iter().any(|r| r.ip == ip) {
        return Ok(());
    }
    p.add(&name, ip)?;
    site.log("DNSRegistrationLog.log", &format!("Added IP {ip} to DNS"));
    Ok(())
}

/// RemoveIPFromDNS: delete every A record with exactly this address, and (as legacy) the
/// server's `bootedwebserverips/<private>` marker when `private` names it; `private` is asked
/// only once the datastore says the toolkit is installed.
pub fn remove_records(
    site: &Site,
    ip: IpAddr,
    private: impl FnOnce() -> Option<IpAddr>,
) -> Result<()> {
    if !installed(site)? {
        return Ok(());
    }
    if let Some(p) = private() {
        site.store()?.delete(&format!("bootedwebserverips/{p}"))?;
    }
    let (name, mut p) = open(site)?;
    for rec in p.list(&name)?.into_iter().filter(|r| r.ip == ip) {
        p.delete(&name, &rec)?;
        site.log(
            "RemovedDNSRecordsLog.log",
            &format!("Removed IP {ip} ({}) from DNS", rec.id),
        );
    }
    Ok(())
}
