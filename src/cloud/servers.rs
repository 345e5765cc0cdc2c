//! The cloud hosts' server operations through their CLIs (JSON output, exact matching): list
//! servers with their public and private IPs, create one with the legacy CreateServer command
//! lines (from a snapshot, from an OS image with cloud-init user data, or bare for the legacy
//! SSH bootstrap), and destroy one.
//!
//! Exoscale: the 2022 scripts drove compute through CloudStack's `cs`, an API Exoscale has
//! retired; this uses `exo compute` (as the newer generation does).

use super::{json, Cli, Id};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    DigitalOcean,
    Exoscale,
    Linode,
    Vultr,
}

/// A server as a cloud lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub public: Option<IpAddr>,
    pub private: Option<IpAddr>,
    /// When the cloud created it (seconds since the epoch), as the cloud reports it: the age
    /// that grace periods and build timeouts are measured from, whichever autoscaler built it.
    pub created: Option<u64>,
}

/// A creation time as the cloud CLIs print it, in seconds since the epoch: RFC 3339
/// (`2020-07-21T18:37:44Z`, `2020-10-10T01:56:20+00:00`, fractions allowed), Linode's zoneless
/// UTC (`2018-01-01T00:01:01`) and Go's default (`2021-02-01 14:42:13 +0000 UTC`).
pub fn parse_time(s: &str) -> Option<u64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let rest = rest.trim_start();
    let rest = rest.strip_suffix("UTC").unwrap_or(rest).trim();
    let offset: i64 = match rest {
        "" | "Z" | "z" => 0,
        z if z.len() >= 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let v: i64 =
                digits[..2].parse::<i64>().ok()? * 3600 + digits[2..].parse::<i64>().ok()? * 60;
            if z.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian).
    let (yy, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(t).ok()
}

fn time(s: Option<&str>) -> Option<u64> {
    parse_time(s?)
}

pub struct CliCloud {
    pub host: Host,
    pub cli: Cli,
    /// Exoscale's zone (REGION).
    pub zone: String,
}

fn ip(s: Option<&str>) -> Option<IpAddr> {
    s?.parse().ok()
}

fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private(),
        IpAddr::V6(_) => false,
    }
}

impl CliCloud {
    pub fn list(&mut self) -> Result<Vec<Server>> {
        let mut out = Vec::new();
        match self.host {
            Host::DigitalOcean => {
                let v: Option<Vec<Droplet>> = json(
                    &self
                        .cli
                        .query("doctl", &["compute", "droplet", "list", "-o", "json"])?,
                    "doctl compute droplet list",
                )?;
                for d in v.into_iter().flatten() {
                    let nets = d.networks.and_then(|n| n.v4).unwrap_or_default();
                    let by = |t: &str| {
                        nets.iter()
                            .find(|n| n.r#type.as_deref() == Some(t))
                            .and_then(|n| ip(n.ip_address.as_deref()))
                    };
                    out.push(Server {
                        id: d.id.to_string(),
                        name: d.name.unwrap_or_default(),
                        public: by("public"),
                        private: by("private"),
                        created: time(d.created_at.as_deref()),
                    });
                }
            }
            Host::Exoscale => {
                let v: Option<Vec<ExoInstance>> = json(
                    &self.cli.query(
                        "exo",
                        &[
                            "-O", "json", "compute", "instance", "list", "-z", &self.zone,
                        ],
                    )?,
                    "exo compute instance list",
                )?;
                for i in v.into_iter().flatten() {
                    out.push(Server {
                        id: i.id.unwrap_or_default(),
                        name: i.name.unwrap_or_default(),
                        public: ip(i.ip_address.as_deref()),
                        private: None,
                        created: time(i.created_at.as_deref()),
                    });
                }
            }
            Host::Linode => {
                let v: Option<Vec<Linode>> = json(
                    &self
                        .cli
                        .query("linode-cli", &["--json", "linodes", "list", "--all-rows"])?,
                    "linode-cli linodes list",
                )?;
                for l in v.into_iter().flatten() {
                    let ips: Vec<IpAddr> = l
                        .ipv4
                        .iter()
                        .flatten()
                        .filter_map(|a| ip(Some(a)))
                        .collect();
                    out.push(Server {
                        id: l.id.to_string(),
                        name: l.label.unwrap_or_default(),
                        public: ips.iter().find(|a| !is_private(a)).copied(),
                        private: ips.iter().find(|a| is_private(a)).copied(),
                        created: time(l.created.as_deref()),
                    });
                }
            }
            Host::Vultr => {
                let mut all = Vec::new();
                for page in self
                    .cli
                    .query_all("vultr", &["instance", "list", "-o", "json"])?
                {
                    let v: VultrInstances = json(&page, "vultr instance list")?;
                    all.extend(v.instances.into_iter().flatten());
                }
                for i in all {
                    out.push(Server {
                        id: i.id.unwrap_or_default(),
                        name: i.label.unwrap_or_default(),
                        public: ip(i.main_ip.as_deref()),
                        private: ip(i.internal_ip.as_deref()),
                        created: time(i.date_created.as_deref()),
                    });
                }
            }
        }
        Ok(out)
    }

    pub fn destroy(&mut self, s: &Server) -> Result<()> {
        match self.host {
            Host::DigitalOcean => self
                .cli
                .change("doctl", &["compute", "droplet", "delete", &s.id, "--force"])
                .map(|_| ()),
            Host::Exoscale => self
                .cli
                .change(
                    "exo",
                    &[
                        "compute", "instance", "delete", "-f", "-z", &self.zone, &s.id,
                    ],
                )
                .map(|_| ()),
            Host::Linode => {
                self.cli
                    .change("linode-cli", &["linodes", "shutdown", &s.id])?;
                self.cli
                    .change("linode-cli", &["linodes", "delete", &s.id])
                    .map(|_| ())
            }
            Host::Vultr => self
                .cli
                .change("vultr", &["instance", "delete", &s.id])
                .map(|_| ()),
        }
    }

    /// Create a server with the legacy CreateServer command line of this cloud (JSON output
    /// asked for where the CLI has it). Returns the CLI's output; the server's IPs come later
    /// (see [`create_and_wait`]).
    pub fn create(&mut self, spec: &ServerSpec) -> Result<String> {
        let name = spec.name.as_str();
        match self.host {
            Host::DigitalOcean => {
                let mut args = vec![
                    "compute",
                    "droplet",
                    "create",
                    name,
                    "--size",
                    &spec.size,
                    "--image",
                    &spec.image,
                    "--region",
                    &spec.region,
                    "--ssh-keys",
                    &spec.key_id,
                    "--enable-private-networking",
                ];
                let ud;
                if let Some(f) = &spec.user_data {
                    ud = f.to_string_lossy().into_owned();
                    args.extend(["--user-data-file", &ud]);
                }
                args.extend(["-o", "json"]);
                self.cli.change("doctl", &args)
            }
            Host::Exoscale => {
                if !spec.size.contains('.') {
                    return Err(Error::Config(format!(
                        "SIZE {:?} is not an Exoscale instance type (such as standard.medium); the 2022 disk-size offerings belonged to the retired CloudStack API",
                        spec.size
                    )));
                }
                let zone = self.zone.clone();
                // The private network the legacy created on first use ("adt", 10.0.0.10-40).
                if self
                    .cli
                    .query(
                        "exo",
                        &["compute", "private-network", "show", "adt", "-z", &zone],
                    )
                    .is_err()
                {
                    self.cli.change(
                        "exo",
                        &[
                            "compute",
                            "private-network",
                            "create",
                            "adt",
                            "-z",
                            &zone,
                            "--start-ip",
                            "10.0.0.10",
                            "--end-ip",
                            "10.0.0.40",
                            "--netmask",
                            "255.255.255.0",
                        ],
                    )?;
                }
                let visibility = if spec.snapshot { "private" } else { "public" };
                let mut args = vec![
                    "-O",
                    "json",
                    "compute",
                    "instance",
                    "create",
                    name,
                    "-z",
                    &zone,
                    "--instance-type",
                    &spec.size,
                    "--template",
                    &spec.image,
                    "--template-visibility",
                    visibility,
                    "--ssh-key",
                    &spec.key_id,
                    "--security-group",
                    "adt",
                    "--private-network",
                    "adt",
                ];
                let ud;
                if let Some(f) = &spec.user_data {
                    ud = f.to_string_lossy().into_owned();
                    args.extend(["--cloud-init", &ud]);
                }
                self.cli.change("exo", &args)
            }
            Host::Linode => {
                if spec.user_data.is_some() {
                    return Err(Error::Config(
                        "linode-cli takes user data only on its command line, where secrets would show: use a snapshot (SNAPAUTOSCALE:1) on Linode".into(),
                    ));
                }
                let label: String = name.chars().take(32).collect();
                let image = if spec.snapshot {
                    format!("private/{}", spec.image)
                } else {
                    spec.image.clone()
                };
                let mut args = vec![
                    "--json",
                    "linodes",
                    "create",
                    // Only what is given here: none of the operator's linode-cli defaults.
                    "--no-defaults",
                    "--root_pass",
                    &spec.root_password,
                    "--region",
                    &spec.region,
                    "--image",
                    &image,
                    "--type",
                    &spec.size,
                    "--group",
                    "Agile Deployment Toolkit",
                    "--label",
                    &label,
                ];
                if !spec.public_key.is_empty() {
                    args.extend(["--authorized_keys", &spec.public_key]);
                }
                let out = self.cli.change("linode-cli", &args)?;
                let id = if self.cli.dry_run {
                    "<id>".to_string()
                } else {
                    json::<Option<Vec<Linode>>>(&out, "linode-cli linodes create")?
                        .into_iter()
                        .flatten()
                        .next()
                        .map(|l| l.id.to_string())
                        .ok_or_else(|| Error::Remote("linode-cli linodes create: no id".into()))?
                };
                // Its table on stdout is not part of the answer.
                self.cli.change(
                    "linode-cli",
                    &[
                        "linodes", "ip-add", &id, "--type", "ipv4", "--public", "false",
                    ],
                )?;
                Ok(out)
            }
            Host::Vultr => {
                if spec.user_data.is_some() {
                    return Err(Error::Config(
                        "the vultr CLI takes user data only on its command line, where secrets would show: use a snapshot (SNAPAUTOSCALE:1) on Vultr".into(),
                    ));
                }
                let os;
                let image = if spec.snapshot {
                    format!("--snapshot={}", spec.image)
                } else {
                    os = self.vultr_os_id(&spec.image)?;
                    format!("--os={os}")
                };
                self.cli.change(
                    "vultr",
                    &[
                        "instance",
                        "create",
                        &format!("--label={name}"),
                        &format!("--region={}", spec.region),
                        &format!("--plan={}", spec.size),
                        &image,
                        "--private-network=true",
                        "--ipv6=false",
                        "-s",
                        &spec.key_id,
                        "-o",
                        "json",
                    ],
                )
            }
        }
    }

    /// Vultr's id for an OS name such as `Ubuntu 22.04 x64` (legacy: `vultr os list | grep`).
    fn vultr_os_id(&mut self, os: &str) -> Result<String> {
        let mut all = Vec::new();
        for page in self.cli.query_all("vultr", &["os", "list", "-o", "json"])? {
            let v: VultrOsList = json(&page, "vultr os list")?;
            all.extend(v.os.into_iter().flatten());
        }
        let words: Vec<&str> = os.split_whitespace().collect();
        all.into_iter()
            .find(|o| {
                let n = o.name.as_deref().unwrap_or("");
                words.iter().all(|w| n.contains(w))
            })
            .map(|o| o.id.to_string())
            .ok_or_else(|| Error::Config(format!("Vultr has no OS named like {os:?}")))
    }
}

/// What a new server is made from: the legacy CreateServer arguments, from the autoscaler's
/// settings (SIZE, REGION, KEYID, BUILDOS, BUILDOSVERSION, SNAPAUTOSCALE, SNAPSHOTID).
#[derive(Clone, Debug, Default)]
pub struct ServerSpec {
    pub name: String,
    pub region: String,
    pub size: String,
    /// OS image (or, with `snapshot`, the snapshot's id).
    pub image: String,
    pub snapshot: bool,
    pub key_id: String,
    /// Linode's root password (legacy: CLOUDHOSTPASSWORD or a hard-coded default; here a
    /// random one unless given, since SSH uses the fleet key).
    pub root_password: String,
    /// The fleet's public key (Linode's `--authorized_keys`).
    pub public_key: String,
    /// Cloud-init user data (newer generation: `runtime/cloud-init/webserver.yaml`).
    pub user_data: Option<std::path::PathBuf>,
}

/// The OS image name each cloud wants for BUILDOS/BUILDOSVERSION (legacy
/// GetOperatingSystemVersion, and Linode's mapping in CreateServer).
pub fn os_image(host: Host, os: &str, version: &str) -> String {
    let os = os.to_lowercase();
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    match host {
        Host::DigitalOcean => format!("{os}-{}-x64", version.replace('.', "-")),
        Host::Linode => format!("linode/{os}{version}"),
        Host::Vultr => format!("{} {version} x64", cap(&os)),
        Host::Exoscale => format!("Linux {} {version}", cap(&os)),
    }
}

impl ServerSpec {
    /// The specification from the settings, checked complete.
    pub fn from_settings(ctx: &crate::site::Site, host: Host, name: &str) -> Result<ServerSpec> {
        let spec = Self::from_settings_unchecked(ctx, host, name)?;
        spec.check(host)?;
        Ok(spec)
    }

    /// SIZE, REGION and (except on Linode) KEYID are needed.
    pub fn check(&self, host: Host) -> Result<()> {
        for (what, val) in [
            ("SIZE", &self.size),
            ("REGION", &self.region),
            ("KEYID", &self.key_id),
        ] {
            if val.is_empty() && !(what == "KEYID" && host == Host::Linode) {
                return Err(Error::Config(format!(
                    "{what} is not set in the autoscaler's settings"
                )));
            }
        }
        Ok(())
    }

    /// The specification from the settings, as far as they go.
    pub fn from_settings_unchecked(
        ctx: &crate::site::Site,
        host: Host,
        name: &str,
    ) -> Result<ServerSpec> {
        let text = ctx.settings()?;
        let v = |k: &str| crate::config::value(&text, k).unwrap_or_default();
        let snapshot_id = v("SNAPSHOTID");
        let snapshot = !snapshot_id.is_empty()
            && crate::config::check_value(&text, "SNAPAUTOSCALE:1") == "1\n";
        if snapshot_id.is_empty() && v("SNAPAUTOSCALE") != "0" {
            // As legacy CreateServer: no snapshot, so no snapshot autoscaling.
            crate::config::store_value(&ctx.settings_path(), "SNAPAUTOSCALE", Some("0"), false)?;
        }
        let user_data = ctx.home.join("runtime/cloud-init/webserver.yaml");
        let public_key = std::fs::read_to_string(ctx.home.join(".ssh").join(format!(
            "id_{}_AGILE_DEPLOYMENT_BUILD_KEY.pub",
            v("ALGORITHM")
        )))
        .unwrap_or_default()
        .trim()
        .to_string();
        let spec = ServerSpec {
            name: name.into(),
            region: v("REGION"),
            size: v("SIZE"),
            image: if snapshot {
                snapshot_id
            } else {
                os_image(host, &v("BUILDOS"), &v("BUILDOSVERSION"))
            },
            snapshot,
            key_id: v("KEYID"),
            // Linode wants upper, lower, digit and symbol in a root password.
            root_password: format!("{}#A9", super::random_alnum(28)),
            public_key,
            user_data: (!snapshot && user_data.is_file()).then_some(user_data),
        };
        Ok(spec)
    }
}

/// Create a server and wait (bounded: 15 polls 20 s apart, as legacy; `ADT_IP_POLL_SECS`
/// changes the interval) until the cloud lists it with a public IP. A server that never gets
/// one is destroyed (legacy leaked it).
pub fn create_and_wait(cloud: &std::sync::Mutex<CliCloud>, spec: &ServerSpec) -> Result<Server> {
    let lock = || cloud.lock().unwrap_or_else(|e| e.into_inner());
    lock().create(spec)?;
    let every = crate::knobs::env_u64("ADT_IP_POLL_SECS", 20);
    for attempt in 0..15 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_secs(every));
        }
        if let Some(s) = lock().list()?.into_iter().find(|s| s.name == spec.name) {
            if s.public.is_some() {
                return Ok(s);
            }
        }
    }
    let mut c = lock();
    if let Some(s) = c.list()?.into_iter().find(|s| s.name == spec.name) {
        let _ = c.destroy(&s);
    }
    Err(Error::Remote(format!(
        "server {} did not come online with an IP",
        spec.name
    )))
}

/// Whether a server name is one of this build's webservers:
/// `webserver-<4 chars>-<site>-<build id>`, cut to 32 characters.
pub fn is_our_webserver(name: &str, site: &str, build_id: &str) -> bool {
    let Some(rest) = name.strip_prefix("webserver-") else {
        return false;
    };
    let tail: String = rest.chars().skip(5).collect();
    let full = format!("{site}-{build_id}");
    !tail.is_empty()
        && full.starts_with(tail.trim_end_matches('-'))
        && (rest.chars().nth(4) == Some('-'))
}

// ---------- the CLIs' JSON, as far as it is read ----------
//
// Missing and null fields read as None (lists as empty), as the untyped reading did.

/// A droplet in `doctl compute droplet list -o json` (a list; also read by the native firewall).
#[derive(Deserialize)]
pub(crate) struct Droplet {
    #[serde(default)]
    pub id: Id,
    pub name: Option<String>,
    pub networks: Option<DropletNetworks>,
    pub created_at: Option<String>,
}

/// A droplet's `networks` in `doctl compute droplet list -o json`.
#[derive(Deserialize)]
pub(crate) struct DropletNetworks {
    pub v4: Option<Vec<DropletNetwork>>,
}

/// One of a droplet's `networks.v4` in `doctl compute droplet list -o json`.
#[derive(Deserialize)]
pub(crate) struct DropletNetwork {
    pub ip_address: Option<String>,
    /// `public` or `private`.
    #[serde(rename = "type")]
    pub r#type: Option<String>,
}

/// An instance in `exo -O json compute instance list` (a list).
#[derive(Deserialize)]
struct ExoInstance {
    id: Option<String>,
    name: Option<String>,
    ip_address: Option<String>,
    #[serde(rename = "created-at", alias = "created_at")]
    created_at: Option<String>,
}

/// A linode in `linode-cli --json linodes list` and `linode-cli --json linodes create` (lists;
/// also read by the native firewall).
#[derive(Deserialize)]
pub(crate) struct Linode {
    #[serde(default)]
    pub id: Id,
    pub label: Option<String>,
    /// Public and private addresses alike.
    pub ipv4: Option<Vec<String>>,
    pub created: Option<String>,
}

/// `vultr instance list -o json` (also read by the native firewall).
#[derive(Deserialize)]
pub(crate) struct VultrInstances {
    pub instances: Option<Vec<VultrInstance>>,
}

/// An instance in `vultr instance list -o json`.
#[derive(Deserialize)]
pub(crate) struct VultrInstance {
    pub id: Option<String>,
    pub label: Option<String>,
    pub main_ip: Option<String>,
    pub internal_ip: Option<String>,
    /// The firewall group it is in (read by the native firewall).
    pub firewall_group_id: Option<String>,
    pub date_created: Option<String>,
}

/// `vultr os list -o json`.
#[derive(Deserialize)]
struct VultrOsList {
    os: Option<Vec<VultrOs>>,
}

/// An OS in `vultr os list -o json`.
#[derive(Deserialize)]
struct VultrOs {
    #[serde(default)]
    id: Id,
    name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_our_webserver(
            "webserver-ab12-example-prod1",
            "example",
            "prod1"
        ));
        assert!(!is_our_webserver(
            "webserver-ab12-example-prod2",
            "example",
            "prod1"
        ));
        assert!(!is_our_webserver(
            "NO-1-autoscaler-exam-prod1",
            "example",
            "prod1"
        ));
        // Cut to 32 characters: the build identifier is truncated, still ours.
        let long = "webserver-ab12-averylongsitename";
        assert!(is_our_webserver(long, "averylongsitename", "build42"));
        assert!(!is_our_webserver(
            "webserver-ab12-other-prod1",
            "example",
            "prod1"
        ));
    }

    #[test]
    fn listings_tolerate_null_and_missing_fields() {
        let v: Option<Vec<Droplet>> = json("null", "doctl compute droplet list").unwrap();
        assert!(v.is_none());
        let v: Vec<Droplet> = json(
            r#"[{"id": 7, "networks": null}, {"name": "a", "networks": {"v4": null}}]"#,
            "doctl compute droplet list",
        )
        .unwrap();
        assert_eq!(
            (v[0].id.to_string(), v[0].name.as_deref()),
            ("7".into(), None)
        );
        assert_eq!(
            (v[1].id.to_string(), v[1].name.as_deref()),
            ("null".into(), Some("a"))
        );
        let v: VultrInstances = json(r#"{"instances": null, "meta": {}}"#, "vultr").unwrap();
        assert!(v.instances.is_none());
    }

    #[test]
    fn creation_times_as_each_cloud_prints_them() {
        let t = 1_595_356_664; // 2020-07-21T18:37:44Z
        for s in [
            "2020-07-21T18:37:44Z",
            "2020-07-21T18:37:44.123Z",
            "2020-07-21T18:37:44",
            "2020-07-21T20:37:44+02:00",
            "2020-07-21T16:37:44-0200",
            "2020-07-21 18:37:44 +0000 UTC",
        ] {
            assert_eq!(parse_time(s), Some(t), "{s}");
        }
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "",
            "yesterday",
            "2020-13-01T00:00:00Z",
            "2020-07-21T18:37:44 CEST",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        let v: Vec<Droplet> = json(
            r#"[{"id": 1, "name": "a", "created_at": "2020-07-21T18:37:44Z"}]"#,
            "doctl",
        )
        .unwrap();
        assert_eq!(time(v[0].created_at.as_deref()), Some(t));
        let v: Vec<ExoInstance> = json(
            r#"[{"id": "x", "created-at": "2020-07-21T18:37:44Z"}]"#,
            "exo",
        )
        .unwrap();
        assert_eq!(time(v[0].created_at.as_deref()), Some(t));
        let v: Vec<Linode> =
            json(r#"[{"id": 1, "created": "2020-07-21T18:37:44"}]"#, "linode").unwrap();
        assert_eq!(time(v[0].created.as_deref()), Some(t));
        let v: VultrInstances = json(
            r#"{"instances": [{"id": "v", "date_created": "2020-07-21T18:37:44+00:00"}]}"#,
            "vultr",
        )
        .unwrap();
        assert_eq!(
            time(v.instances.unwrap()[0].date_created.as_deref()),
            Some(t)
        );
    }
}
