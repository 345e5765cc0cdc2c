//! The cloud hosts' server operations through their CLIs (JSON output, exact matching): list
//! servers with their public and private IPs, create one with the legacy CreateServer command
//! lines (from a snapshot, from an OS image with cloud-init user data, or bare for the legacy
//! SSH bootstrap), and destroy one.
//!
//! Exoscale: the 2022 scripts drove compute through CloudStack's `cs`, an API Exoscale has
//! retired; this uses `exo compute` (as the newer generation does).
//!
//! AWS: the `aws` CLI with the legacy command lines (`ec2 describe-instances`, `ec2
//! run-instances` with the `descriptiveName` tag, the subnet and the two toolkit security
//! groups, `ec2 stop-instances` then `ec2 terminate-instances`), `--output json` added so the
//! operator's configured output format does not matter. Credentials and region stay where the
//! CLI reads them (its config files or environment), never on the command line. Differences:
//! the subnet's VPC is asked for by id (legacy listed every subnet and grepped), the security
//! groups are looked up by name within that VPC (legacy grepped every group of every VPC), and
//! the listing holds pending and running instances (legacy: running only, so a server being
//! built was invisible to the count and could be built twice).
//! Cloud-init user data (newer generation) goes as `--user-data file://PATH`.

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
    Aws,
}

/// The security group every toolkit machine on AWS is in (the native firewall's rules).
pub const AWS_GROUP: &str = "AgileDeploymentToolkitSecurityGroup";
/// The security group the toolkit's AWS webservers are in as well.
pub const AWS_WEB_GROUP: &str = "AgileDeploymentToolkitWebserversSecurityGroup";

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
                // Without a zone (a build machine that has no REGION), every zone's.
                let mut args = vec!["-O", "json", "compute", "instance", "list"];
                if !self.zone.is_empty() {
                    args.extend(["-z", self.zone.as_str()]);
                }
                let v: Option<Vec<ExoInstance>> =
                    json(&self.cli.query("exo", &args)?, "exo compute instance list")?;
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
            Host::Aws => {
                for i in aws_instances(&mut self.cli)? {
                    out.push(Server {
                        name: i.name().to_string(),
                        id: i.instance_id.unwrap_or_default(),
                        public: ip(i.public_ip_address.as_deref()),
                        private: ip(i.private_ip_address.as_deref()),
                        created: time(i.launch_time.as_deref()),
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
            Host::Aws => {
                // As legacy: stopped, then terminated (its shutdown behaviour is `terminate`, so
                // it may be on its way already and refuse the stop: only the terminate counts).
                let _ = self.cli.change(
                    "aws",
                    &[
                        "ec2",
                        "stop-instances",
                        "--instance-ids",
                        &s.id,
                        "--output",
                        "json",
                    ],
                );
                self.cli
                    .change(
                        "aws",
                        &[
                            "ec2",
                            "terminate-instances",
                            "--instance-ids",
                            &s.id,
                            "--output",
                            "json",
                        ],
                    )
                    .map(|_| ())
            }
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
            Host::Aws => self.create_aws(spec),
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

    /// AWS: the VPC of SUBNETID, the two toolkit security groups in it (created when missing,
    /// as legacy), then `ec2 run-instances` as legacy CreateServer ran it.
    fn create_aws(&mut self, spec: &ServerSpec) -> Result<String> {
        spec.check(Host::Aws)?;
        let vpc = aws_subnet_vpc(&mut self.cli, &spec.subnet)?;
        let groups = aws_groups(&mut self.cli, &vpc)?;
        let sg = aws_ensure_group(
            &mut self.cli,
            &groups,
            AWS_GROUP,
            &vpc,
            "This is the security group for your agile deployment toolkit",
        )?;
        let sg1 = aws_ensure_group(
            &mut self.cli,
            &groups,
            AWS_WEB_GROUP,
            &vpc,
            "This is the security group for your agile deployment toolkit autoscaled webservers",
        )?;
        let tags = format!(
            "ResourceType=instance,Tags=[{{Key=descriptiveName,Value={}}}]",
            spec.name
        );
        let mut args = vec![
            "ec2",
            "run-instances",
            "--image-id",
            &spec.image,
            "--count",
            "1",
            "--instance-type",
            &spec.size,
            "--key-name",
            &spec.key_id,
            "--tag-specifications",
            &tags,
            "--subnet-id",
            &spec.subnet,
            "--security-group-ids",
            &sg,
            &sg1,
            "--instance-initiated-shutdown-behavior",
            "terminate",
        ];
        // Cloud-init user data by its file's name (the CLI reads the file): never its text.
        let ud;
        if let Some(f) = &spec.user_data {
            ud = format!("file://{}", f.display());
            args.extend(["--user-data", &ud]);
        }
        args.extend(["--output", "json"]);
        self.cli.change("aws", &args)
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
    /// AWS: the subnet new servers go in (SUBNETID).
    pub subnet: String,
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
        // AWS wants an AMI id: the OSTYPE setting (see `from_settings_unchecked`).
        Host::Aws => String::new(),
    }
}

impl ServerSpec {
    /// The specification from the settings, checked complete.
    pub fn from_settings(ctx: &crate::site::Site, host: Host, name: &str) -> Result<ServerSpec> {
        let spec = Self::from_settings_unchecked(ctx, host, name)?;
        spec.check(host)?;
        Ok(spec)
    }

    /// SIZE, REGION (not on AWS, whose CLI has its own region) and KEYID (not on Linode) are
    /// needed, and on AWS SUBNETID and the image (OSTYPE or SNAPSHOTID).
    pub fn check(&self, host: Host) -> Result<()> {
        let aws = host == Host::Aws;
        for (what, val) in [
            ("SIZE", &self.size),
            ("REGION", &self.region),
            ("KEYID", &self.key_id),
            ("SUBNETID", &self.subnet),
            ("OSTYPE", &self.image),
        ] {
            let needed = match what {
                "REGION" => !aws,
                "KEYID" => host != Host::Linode,
                "SUBNETID" | "OSTYPE" => aws,
                _ => true,
            };
            if val.is_empty() && needed {
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
            } else if host == Host::Aws {
                // Legacy GetOperatingSystemVersion on AWS: the AMI the operator chose.
                v("OSTYPE")
            } else {
                os_image(host, &v("BUILDOS"), &v("BUILDOSVERSION"))
            },
            snapshot,
            key_id: v("KEYID"),
            // Linode wants upper, lower, digit and symbol in a root password.
            root_password: format!("{}#A9", super::random_alnum(28)),
            public_key,
            user_data: (!snapshot && user_data.is_file()).then_some(user_data),
            subnet: v("SUBNETID"),
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

/// Every pending or running instance (`aws ec2 describe-instances`, which the CLI pages
/// through itself).
pub(crate) fn aws_instances(cli: &mut Cli) -> Result<Vec<AwsInstance>> {
    let v: AwsReservations = json(
        &cli.query(
            "aws",
            &[
                "ec2",
                "describe-instances",
                "--filters",
                "Name=instance-state-name,Values=pending,running",
                "--output",
                "json",
            ],
        )?,
        "aws ec2 describe-instances",
    )?;
    Ok(v.reservations
        .into_iter()
        .flatten()
        .flat_map(|r| r.instances.into_iter().flatten())
        .collect())
}

/// The VPC a subnet is in.
fn aws_subnet_vpc(cli: &mut Cli, subnet: &str) -> Result<String> {
    let v: AwsSubnets = json(
        &cli.query(
            "aws",
            &[
                "ec2",
                "describe-subnets",
                "--subnet-ids",
                subnet,
                "--output",
                "json",
            ],
        )?,
        "aws ec2 describe-subnets",
    )?;
    v.subnets
        .into_iter()
        .flatten()
        .find_map(|s| s.vpc_id)
        .ok_or_else(|| Error::Config(format!("AWS lists no subnet {subnet}")))
}

/// The toolkit security groups by name (in `vpc`, when given): (name, id).
pub(crate) fn aws_groups(cli: &mut Cli, vpc: &str) -> Result<Vec<AwsSecurityGroup>> {
    aws_groups_named(cli, vpc, &[AWS_GROUP, AWS_WEB_GROUP])
}

/// The security groups named `names` (in `vpc` when given).
pub(crate) fn aws_groups_named(
    cli: &mut Cli,
    vpc: &str,
    names: &[&str],
) -> Result<Vec<AwsSecurityGroup>> {
    let names = format!("Name=group-name,Values={}", names.join(","));
    let vpc_filter = format!("Name=vpc-id,Values={vpc}");
    let mut args = vec!["ec2", "describe-security-groups", "--filters", &names];
    if !vpc.is_empty() {
        args.push(&vpc_filter);
    }
    args.extend(["--output", "json"]);
    let v: AwsSecurityGroups = json(
        &cli.query("aws", &args)?,
        "aws ec2 describe-security-groups",
    )?;
    Ok(v.security_groups.into_iter().flatten().collect())
}

/// The id of the toolkit security group `name` among `groups` (as [`aws_groups`] listed them
/// for `vpc`), created in `vpc` (with `description`) when missing.
pub(crate) fn aws_ensure_group(
    cli: &mut Cli,
    groups: &[AwsSecurityGroup],
    name: &str,
    vpc: &str,
    description: &str,
) -> Result<String> {
    if let Some(g) = groups
        .iter()
        .find(|g| g.group_name.as_deref() == Some(name))
    {
        return Ok(g.group_id.clone().unwrap_or_default());
    }
    let vpc_arg = format!("--vpc-id={vpc}");
    let mut args = vec![
        "ec2",
        "create-security-group",
        "--description",
        description,
        "--group-name",
        name,
    ];
    if !vpc.is_empty() {
        args.push(&vpc_arg);
    }
    args.extend(["--output", "json"]);
    let out = cli.change("aws", &args)?;
    if cli.dry_run {
        return Ok(format!("<{name}>"));
    }
    json::<AwsGroupCreated>(&out, "aws ec2 create-security-group")?
        .group_id
        .ok_or_else(|| Error::Remote("aws ec2 create-security-group: no GroupId".into()))
}

/// `aws ec2 describe-instances --output json`.
#[derive(Deserialize)]
struct AwsReservations {
    #[serde(rename = "Reservations")]
    reservations: Option<Vec<AwsReservation>>,
}

/// A reservation in `aws ec2 describe-instances --output json`.
#[derive(Deserialize)]
struct AwsReservation {
    #[serde(rename = "Instances")]
    instances: Option<Vec<AwsInstance>>,
}

/// An instance in `aws ec2 describe-instances --output json` (also read by the native firewall).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AwsInstance {
    pub instance_id: Option<String>,
    pub public_ip_address: Option<String>,
    pub private_ip_address: Option<String>,
    pub launch_time: Option<String>,
    pub vpc_id: Option<String>,
    pub tags: Option<Vec<AwsTag>>,
    pub security_groups: Option<Vec<AwsGroupRef>>,
}

impl AwsInstance {
    /// Its toolkit name: the `descriptiveName` tag legacy CreateServer gave it.
    pub fn name(&self) -> &str {
        self.tags
            .iter()
            .flatten()
            .find(|t| t.key.as_deref() == Some("descriptiveName"))
            .and_then(|t| t.value.as_deref())
            .unwrap_or("")
    }
}

/// A tag in the AWS CLI's JSON.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AwsTag {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// An instance's security group in `aws ec2 describe-instances --output json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AwsGroupRef {
    pub group_id: Option<String>,
}

/// `aws ec2 describe-subnets --output json`.
#[derive(Deserialize)]
struct AwsSubnets {
    #[serde(rename = "Subnets")]
    subnets: Option<Vec<AwsSubnet>>,
}

/// A subnet in `aws ec2 describe-subnets --output json`.
#[derive(Deserialize)]
struct AwsSubnet {
    #[serde(rename = "VpcId")]
    vpc_id: Option<String>,
}

/// `aws ec2 describe-security-groups --output json`.
#[derive(Deserialize)]
pub(crate) struct AwsSecurityGroups {
    #[serde(rename = "SecurityGroups")]
    pub security_groups: Option<Vec<AwsSecurityGroup>>,
}

/// A group in `aws ec2 describe-security-groups --output json` (its inbound rules are read by
/// the native firewall).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AwsSecurityGroup {
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub ip_permissions: Option<Vec<AwsIpPermission>>,
}

/// An inbound rule of a security group in `aws ec2 describe-security-groups --output json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AwsIpPermission {
    /// `tcp`, `icmp`, `-1` (all)…
    pub ip_protocol: Option<String>,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub ip_ranges: Option<Vec<AwsIpRange>>,
}

/// One IPv4 source of an inbound rule.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AwsIpRange {
    pub cidr_ip: Option<String>,
}

/// `aws ec2 create-security-group --output json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsGroupCreated {
    group_id: Option<String>,
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
    fn aws_needs_a_subnet_and_an_image_but_no_region() {
        let spec = ServerSpec {
            size: "t3.micro".into(),
            key_id: "k".into(),
            image: "ami-1".into(),
            subnet: "subnet-1".into(),
            ..Default::default()
        };
        assert!(spec.check(Host::Aws).is_ok());
        assert!(spec
            .check(Host::Vultr)
            .unwrap_err()
            .to_string()
            .contains("REGION is not set"));
        for (field, name) in [("subnet", "SUBNETID"), ("image", "OSTYPE")] {
            let mut s = spec.clone();
            match field {
                "subnet" => s.subnet.clear(),
                _ => s.image.clear(),
            }
            let e = s.check(Host::Aws).unwrap_err().to_string();
            assert!(e.contains(&format!("{name} is not set")), "{e}");
        }
        let v: AwsReservations = json(
            r#"{"Reservations": [{"Instances": [{"InstanceId": "i-1", "Tags": [{"Key": "Name", "Value": "x"}, {"Key": "descriptiveName", "Value": "webserver-ab12-example-prod1"}], "LaunchTime": "2020-07-21T18:37:44.000Z"}]}, {"Instances": null}]}"#,
            "aws",
        )
        .unwrap();
        let rs = v.reservations.unwrap();
        let i = &rs[0].instances.as_ref().unwrap()[0];
        assert_eq!(i.name(), "webserver-ab12-example-prod1");
        assert_eq!(time(i.launch_time.as_deref()), Some(1_595_356_664));
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
