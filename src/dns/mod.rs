//! The DNS round robin: one A record per healthy webserver's public IP, on the full WEBSITEURL.
//!
//! Providers (by DNSCHOICE): `cloudflare` (HTTP API through curl; the key travels in curl's
//! configuration on stdin, never on argv, where the legacy put it), and `local`: a hosts file
//! served by a real DNS server (dnsmasq, reloaded with SIGHUP), for the local cloud and the
//! demo; and the cloud hosts' DNS through their CLIs (doctl, exo, linode-cli, vultr).
//!
//! Differences from the legacy glue: adding is idempotent on every provider (legacy checked only
//! on DigitalOcean); addresses match exactly (legacy used substrings); Cloudflare listings follow
//! every page (legacy saw at most 20 records).

use crate::cloud::Id;
use crate::config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::site::Site;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

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

// ---------- local: hosts file + dnsmasq ----------

pub struct Local {
    pub dir: PathBuf,
}

impl Local {
    fn hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    fn lines(&self) -> Result<Vec<(IpAddr, String)>> {
        let text = match std::fs::read_to_string(self.hosts()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(self.hosts().display(), e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.parse().ok()?, w.next()?.to_string()))
            })
            .collect())
    }

    /// Read, change and write the hosts file under a lock: concurrent builds (threads or
    /// autoscalers) adding records must not lose each other's.
    fn edit(&self, f: impl FnOnce(&mut Vec<(IpAddr, String)>)) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(self.dir.display(), e))?;
        let _lock = fsutil::Lock::exclusive(&self.dir.join("hosts.lock"))?;
        let mut l = self.lines()?;
        f(&mut l);
        self.write(&l)
    }

    fn write(&self, lines: &[(IpAddr, String)]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(self.dir.display(), e))?;
        let text: String = lines.iter().map(|(ip, n)| format!("{ip} {n}\n")).collect();
        fsutil::write_atomic(&self.hosts(), text.as_bytes(), None)?;
        // Tell the DNS server (if one serves this zone) to re-read it.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("dnsmasq.pid")) {
            // A process id, never a group or "every process" (-1).
            if let Ok(pid) = pid.trim().parse::<i32>() {
                crate::process::signal(pid, nix::sys::signal::Signal::SIGHUP);
            }
        }
        Ok(())
    }
}

impl Provider for Local {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        Ok(self
            .lines()?
            .into_iter()
            .filter(|(_, n)| n == name)
            .map(|(ip, _)| Record {
                id: ip.to_string(),
                ip,
            })
            .collect())
    }
    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        self.edit(|l| {
            if !l.iter().any(|(i, n)| *i == ip && n == name) {
                l.push((ip, name.to_string()));
            }
        })
    }
    fn delete(&mut self, name: &str, record: &Record) -> Result<()> {
        self.edit(|l| l.retain(|(ip, n)| !(n == name && *ip == record.ip)))
    }
}

// ---------- Cloudflare ----------

pub struct Cloudflare {
    pub api: String,
    pub email: String,
    pub key: String,
    pub zone: String,
    zone_id: Option<String>,
    pub proxied: bool,
}

fn curl_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Cloudflare {
    pub fn new(api: &str, email: &str, key: &str, zone: &str) -> Cloudflare {
        Cloudflare {
            api: api.trim_end_matches('/').to_string(),
            email: email.into(),
            key: key.into(),
            zone: zone.into(),
            zone_id: None,
            proxied: true,
        }
    }

    /// One API call, its answer read as `T` once it says it succeeded. Credentials and body go
    /// in curl's config on stdin.
    fn call<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&str>) -> Result<T> {
        let mut config = String::new();
        if self.email.is_empty() {
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("Authorization: Bearer {}", self.key))
            ));
        } else {
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("X-Auth-Email: {}", self.email))
            ));
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("X-Auth-Key: {}", self.key))
            ));
        }
        config.push_str("header = \"Content-Type: application/json\"\n");
        if let Some(b) = body {
            config.push_str(&format!("data = {}\n", curl_quote(b)));
        }
        let url = format!("{}{path}", self.api);
        let out = crate::process::Run::new("curl")
            .args(["-sS", "--max-time", "20", "-K", "-", "-X", method, &url])
            .stdin(config)
            .output()?;
        if !out.success() {
            return Err(Error::Remote(format!(
                "Cloudflare {method} {path}: {}",
                out.stderr.trim()
            )));
        }
        let unexpected = |e: serde_json::Error| {
            Error::Remote(format!(
                "Cloudflare {method} {path}: unexpected answer: {e}"
            ))
        };
        // First only whether it worked, so that a failure's answer need not have the result's
        // shape.
        let status: Option<CfStatus> = serde_json::from_str(&out.stdout).map_err(unexpected)?;
        let status = status.unwrap_or_default();
        if status.success != Some(true) {
            return Err(Error::Remote(format!(
                "Cloudflare {method} {path}: {}",
                status.errors
            )));
        }
        serde_json::from_str(&out.stdout).map_err(unexpected)
    }

    fn zone_id(&mut self) -> Result<String> {
        if let Some(z) = &self.zone_id {
            return Ok(z.clone());
        }
        let v: CfAnswer<Vec<CfZone>> =
            self.call("GET", &format!("/zones?name={}", self.zone), None)?;
        let id = v
            .result
            .into_iter()
            .flatten()
            .next()
            .and_then(|z| z.id)
            .ok_or_else(|| Error::Config(format!("Cloudflare has no zone {}", self.zone)))?;
        self.zone_id = Some(id.clone());
        Ok(id)
    }
}

impl Provider for Cloudflare {
    fn zone(&mut self) -> Result<Option<String>> {
        self.zone_id().map(Some)
    }
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let z = self.zone_id()?;
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let v: CfAnswer<Vec<CfDnsRecord>> = self.call(
                "GET",
                &format!("/zones/{z}/dns_records?type=A&name={name}&per_page=100&page={page}"),
                None,
            )?;
            for r in v.result.into_iter().flatten() {
                if let (Some(id), Some(ip)) = (r.id, r.content.and_then(|c| c.parse().ok())) {
                    out.push(Record { id, ip });
                }
            }
            let pages = v.result_info.and_then(|i| i.total_pages).unwrap_or(1);
            if page >= pages {
                return Ok(out);
            }
            page += 1;
        }
    }

    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        let z = self.zone_id()?;
        let body = CfNewRecord {
            content: ip.to_string(),
            name,
            proxied: self.proxied,
            ttl: 120,
            r#type: "A",
        };
        let body = serde_json::to_string(&body).expect("strings and numbers always serialize");
        self.call::<IgnoredAny>("POST", &format!("/zones/{z}/dns_records"), Some(&body))
            .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let z = self.zone_id()?;
        self.call::<IgnoredAny>(
            "DELETE",
            &format!("/zones/{z}/dns_records/{}", record.id),
            None,
        )
        .map(|_| ())
    }
}

/// Whether a Cloudflare API answer says it succeeded and, if not, why.
#[derive(Default, Deserialize)]
struct CfStatus {
    success: Option<bool>,
    /// Shown as they came (`[{"code":…,"message":…}]`): any JSON.
    #[serde(default)]
    errors: serde_json::Value,
}

/// A successful Cloudflare API answer: its `result` and, for lists, the paging.
#[derive(Deserialize)]
struct CfAnswer<T> {
    result: Option<T>,
    result_info: Option<CfResultInfo>,
}

/// `result_info` of a Cloudflare list.
#[derive(Deserialize)]
struct CfResultInfo {
    total_pages: Option<u64>,
}

/// A zone in the result of Cloudflare's `GET /zones?name=ZONE`.
#[derive(Deserialize)]
struct CfZone {
    id: Option<String>,
}

/// A record in the result of Cloudflare's `GET /zones/ZONE/dns_records`.
#[derive(Deserialize)]
struct CfDnsRecord {
    id: Option<String>,
    /// The address of an A record.
    content: Option<String>,
}

/// The body of Cloudflare's `POST /zones/ZONE/dns_records`. Fields in alphabetical order, the
/// order the body has always had them in.
#[derive(Serialize)]
struct CfNewRecord<'a> {
    content: String,
    name: &'a str,
    proxied: bool,
    ttl: u32,
    #[serde(rename = "type")]
    r#type: &'a str,
}

// ---------- the cloud hosts' DNS, through their CLIs ----------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudDns {
    DigitalOcean,
    Exoscale,
    Linode,
    Vultr,
}

/// A cloud host's DNS: records read as JSON and matched exactly (the legacy scripts grepped
/// table output for substrings), added and deleted with the legacy command lines.
pub struct CliDns {
    pub kind: CloudDns,
    pub domain: String,
    pub cli: crate::cloud::Cli,
}

impl CliDns {
    fn sub(&self, name: &str) -> String {
        name.strip_suffix(&format!(".{}", self.domain))
            .unwrap_or(name)
            .to_string()
    }

    fn linode_domain_id(&mut self) -> Result<String> {
        let v: Option<Vec<LinodeDomain>> = crate::cloud::json(
            &self
                .cli
                .query("linode-cli", &["--json", "domains", "list"])?,
            "linode-cli domains list",
        )?;
        v.into_iter()
            .flatten()
            .find(|d| d.domain.as_deref() == Some(self.domain.as_str()))
            .map(|d| d.id.to_string())
            .ok_or_else(|| Error::Config(format!("Linode has no domain {}", self.domain)))
    }
}

impl Provider for CliDns {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let sub = self.sub(name);
        let d = self.domain.clone();
        let json = crate::cloud::json::<Option<Vec<CliDnsRecord>>>;
        let rows = match self.kind {
            CloudDns::DigitalOcean => json(
                &self.cli.query(
                    "doctl",
                    &["compute", "domain", "records", "list", &d, "-o", "json"],
                )?,
                "doctl",
            )?,
            CloudDns::Exoscale => json(
                &self.cli.query("exo", &["-O", "json", "dns", "show", &d])?,
                "exo",
            )?,
            CloudDns::Linode => {
                let id = self.linode_domain_id()?;
                json(
                    &self
                        .cli
                        .query("linode-cli", &["--json", "domains", "records-list", &id])?,
                    "linode-cli",
                )?
            }
            CloudDns::Vultr => {
                crate::cloud::json::<VultrDnsRecords>(
                    &self
                        .cli
                        .query("vultr", &["dns", "record", "list", &d, "-o", "json"])?,
                    "vultr",
                )?
                .records
            }
        };
        let kind = self.kind;
        Ok(rows
            .into_iter()
            .flatten()
            .filter(|r| r.r#type.as_deref() == Some("A") && r.name.as_deref() == Some(sub.as_str()))
            .filter_map(|r| {
                let ip = match kind {
                    CloudDns::DigitalOcean | CloudDns::Vultr => r.data,
                    CloudDns::Exoscale => r.content,
                    CloudDns::Linode => r.target,
                }?
                .parse()
                .ok()?;
                Some(Record {
                    id: r.id.to_string(),
                    ip,
                })
            })
            .collect())
    }

    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        let (sub, d, ip) = (self.sub(name), self.domain.clone(), ip.to_string());
        match self.kind {
            CloudDns::DigitalOcean => self.cli.change(
                "doctl",
                &[
                    "compute",
                    "domain",
                    "records",
                    "create",
                    "--record-type",
                    "A",
                    "--record-name",
                    &sub,
                    "--record-data",
                    &ip,
                    "--record-ttl",
                    "120",
                    &d,
                ],
            ),
            CloudDns::Exoscale => self.cli.change(
                "exo",
                &["dns", "add", "A", &d, "-a", &ip, "-n", &sub, "-t", "120"],
            ),
            CloudDns::Linode => {
                let id = self.linode_domain_id()?;
                self.cli.change(
                    "linode-cli",
                    &[
                        "domains",
                        "records-create",
                        &id,
                        "--type",
                        "A",
                        "--name",
                        &sub,
                        "--target",
                        &ip,
                        "--ttl_sec",
                        "120",
                    ],
                )
            }
            CloudDns::Vultr => self.cli.change(
                "vultr",
                &[
                    "dns",
                    "record",
                    "create",
                    "-m",
                    &d,
                    "-n",
                    &sub,
                    "-t",
                    "A",
                    "-d",
                    &ip,
                    "--priority=10",
                    "--ttl=120",
                ],
            ),
        }
        .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let d = self.domain.clone();
        match self.kind {
            CloudDns::DigitalOcean => self.cli.change(
                "doctl",
                &[
                    "compute", "domain", "records", "delete", "--force", &d, &record.id,
                ],
            ),
            CloudDns::Exoscale => self
                .cli
                .change("exo", &["dns", "remove", &d, &record.id, "-Q", "-f"]),
            CloudDns::Linode => {
                let id = self.linode_domain_id()?;
                self.cli.change(
                    "linode-cli",
                    &["domains", "records-delete", &id, &record.id],
                )
            }
            CloudDns::Vultr => self
                .cli
                .change("vultr", &["dns", "record", "delete", &d, &record.id]),
        }
        .map(|_| ())
    }
}

/// A domain in `linode-cli --json domains list` (a list).
#[derive(Deserialize)]
struct LinodeDomain {
    #[serde(default)]
    id: Id,
    domain: Option<String>,
}

/// A DNS record in `doctl compute domain records list DOMAIN -o json`, `exo -O json dns show
/// DOMAIN`, `linode-cli --json domains records-list ID` (lists) and `vultr dns record list
/// DOMAIN -o json` (under `records`). The address of an A record is `data` (DigitalOcean,
/// Vultr), `content` (Exoscale) or `target` (Linode).
#[derive(Deserialize)]
struct CliDnsRecord {
    #[serde(default)]
    id: Id,
    #[serde(rename = "type")]
    r#type: Option<String>,
    /// The record's name within the domain (`www`).
    name: Option<String>,
    data: Option<String>,
    content: Option<String>,
    target: Option<String>,
}

/// `vultr dns record list DOMAIN -o json`.
#[derive(Deserialize)]
struct VultrDnsRecords {
    records: Option<Vec<CliDnsRecord>>,
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
        choice @ ("digitalocean" | "exoscale" | "linode" | "vultr") => Box::new(CliDns {
            kind: match choice {
                "digitalocean" => CloudDns::DigitalOcean,
                "exoscale" => CloudDns::Exoscale,
                "linode" => CloudDns::Linode,
                _ => CloudDns::Vultr,
            },
            domain: zone,
            cli: crate::cloud::Cli::default(),
        }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_local_adds_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for i in 0..16u8 {
                let d = dir.path().to_path_buf();
                s.spawn(move || {
                    let mut p = Local { dir: d };
                    let ip: IpAddr = format!("10.9.0.{i}").parse().unwrap();
                    p.add("www.example.com", ip).unwrap();
                    p.add("www.example.com", ip).unwrap();
                });
            }
        });
        let mut p = Local {
            dir: dir.path().to_path_buf(),
        };
        let got = p.list("www.example.com").unwrap();
        assert_eq!(got.len(), 16, "{got:?}");
    }

    #[test]
    fn cloudflare_failures_show_their_errors_as_they_came() {
        let s: Option<CfStatus> = serde_json::from_str("null").unwrap();
        assert_eq!(s.unwrap_or_default().errors.to_string(), "null");
        let s: CfStatus = serde_json::from_str(
            r#"{"success": false, "errors": [{"code": 9109, "message": "Invalid"}], "result": 5}"#,
        )
        .unwrap();
        assert_eq!(s.success, Some(false));
        assert_eq!(
            s.errors.to_string(),
            r#"[{"code":9109,"message":"Invalid"}]"#
        );
    }
}
