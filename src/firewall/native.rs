//! The cloud host's native firewall, as a reconciler like the machine firewall: the desired
//! inbound rules come from the same validated datastore lists; the provider's current rules are
//! read with its CLI (JSON); only the difference is applied.
//!
//! Desired rules (legacy UpdateNativeFirewall.sh, per provider):
//! - every fleet IP (all published lists, public and private) and the build machine:
//!   TCP SSHPORT, DBPORT and 22;
//! - web traffic: TCP 443 (Linode also 80) from Cloudflare's IPv4 ranges and the autoscalers
//!   when DNSCHOICE is cloudflare, else from anywhere (DigitalOcean: on the webservers'
//!   firewall `adt-webserver-machines` only);
//! - ICMP from anywhere (not on Exoscale, as before).
//!
//! Differences: DigitalOcean's `adt` firewall is edited in place (legacy deleted and recreated
//! it every 15 minutes, leaving the fleet without it meanwhile); Vultr rules are not duplicated
//! every run; missing firewalls are created. Fleet IPs come from the datastore lists rather than
//! the provider's server listings.

use crate::cloud::servers::{Droplet, Linode, VultrInstances};
use crate::cloud::{json, Cli, Id, Provider};
use crate::error::{Error, Result};
use crate::firewall::model::Inputs;
use crate::firewall::net::Net;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp(u16),
    Icmp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NativeRule {
    pub proto: Proto,
    pub source: Net,
}

pub fn anywhere() -> Net {
    Net {
        addr: Ipv4Addr::UNSPECIFIED.into(),
        len: 0,
    }
}

/// (fleet rules, web rules): web rules go on the webservers' firewall where a provider has one.
pub fn desired(provider: Provider, inp: &Inputs) -> (BTreeSet<NativeRule>, BTreeSet<NativeRule>) {
    let mut fleet_ips: BTreeSet<Net> = inp
        .lists
        .values()
        .flatten()
        .copied()
        .filter(Net::is_v4)
        .collect();
    fleet_ips.extend(inp.build_client.iter().copied().filter(Net::is_v4));
    let mut fleet = BTreeSet::new();
    for n in &fleet_ips {
        for p in [Some(inp.ssh_port), inp.db_port, Some(22)]
            .into_iter()
            .flatten()
        {
            fleet.insert(NativeRule {
                proto: Proto::Tcp(p),
                source: *n,
            });
        }
    }
    let web_sources: Vec<Net> = if inp.dns_choice == "cloudflare" {
        let mut v: Vec<Net> = inp.cloudflare.iter().copied().filter(Net::is_v4).collect();
        for l in ["autoscalerip", "autoscalerpublicip"] {
            v.extend(
                inp.lists
                    .get(l)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(Net::is_v4),
            );
        }
        v
    } else {
        vec![anywhere()]
    };
    let web_ports: &[u16] = if provider == Provider::Linode {
        &[443, 80]
    } else {
        &[443]
    };
    let mut web = BTreeSet::new();
    for n in &web_sources {
        for p in web_ports {
            web.insert(NativeRule {
                proto: Proto::Tcp(*p),
                source: *n,
            });
        }
    }
    let icmp = NativeRule {
        proto: Proto::Icmp,
        source: anywhere(),
    };
    match provider {
        Provider::DigitalOcean => {
            fleet.insert(icmp);
            web.insert(icmp);
            (fleet, web)
        }
        Provider::Exoscale => (fleet.union(&web).copied().collect(), BTreeSet::new()),
        Provider::Linode | Provider::Vultr | Provider::Aws => {
            let mut all: BTreeSet<NativeRule> = fleet.union(&web).copied().collect();
            all.insert(icmp);
            (all, BTreeSet::new())
        }
    }
}

fn net_of(s: &str) -> Option<Net> {
    if s == "0.0.0.0/0" || s == "0.0.0.0" {
        return Some(anywhere());
    }
    Net::parse(s, 0, 0).ok()
}

/// What a reconcile of the native firewall did.
#[derive(Debug, Default)]
pub struct NativeReport {
    pub added: usize,
    pub removed: usize,
}

pub fn reconcile(cli: &mut Cli, provider: Provider, inp: &Inputs) -> Result<NativeReport> {
    let (fleet, web) = desired(provider, inp);
    match provider {
        Provider::DigitalOcean => {
            // One listing of the firewalls and one of the droplets serve both firewalls.
            let firewalls: Option<Vec<DoFirewall>> = json(
                &cli.query("doctl", &["compute", "firewall", "list", "-o", "json"])?,
                "doctl compute firewall list",
            )?;
            let droplets: Option<Vec<Droplet>> = json(
                &cli.query("doctl", &["compute", "droplet", "list", "-o", "json"])?,
                "doctl compute droplet list",
            )?;
            let seen = (
                firewalls.as_deref().unwrap_or_default(),
                droplets.as_deref().unwrap_or_default(),
            );
            let mut r = digitalocean(
                cli,
                seen,
                "adt",
                &fleet,
                &["autoscaler", "webserver", "database"],
            )?;
            let w = digitalocean(cli, seen, "adt-webserver-machines", &web, &["webserver"])?;
            r.added += w.added;
            r.removed += w.removed;
            Ok(r)
        }
        Provider::Linode => linode(cli, &fleet),
        Provider::Exoscale => exoscale(cli, &fleet),
        Provider::Vultr => vultr(cli, &fleet),
        Provider::Aws => Err(Error::Config(
            "the AWS native firewall (security groups) is not implemented by adt".into(),
        )),
    }
}

fn diff(
    current: &BTreeSet<NativeRule>,
    want: &BTreeSet<NativeRule>,
) -> (Vec<NativeRule>, Vec<NativeRule>) {
    (
        want.difference(current).copied().collect(),
        current.difference(want).copied().collect(),
    )
}

// ---------- DigitalOcean (doctl) ----------

fn do_spec(r: &NativeRule) -> String {
    match r.proto {
        Proto::Tcp(p) => format!("protocol:tcp,ports:{p},address:{}", r.source),
        Proto::Icmp => format!("protocol:icmp,address:{}", r.source),
    }
}

const DO_OUTBOUND: &str = "protocol:tcp,ports:all,address:0.0.0.0/0 protocol:udp,ports:all,address:0.0.0.0/0 protocol:icmp,address:0.0.0.0/0";

/// One DigitalOcean firewall, given the account's firewalls and droplets as listed.
fn digitalocean(
    cli: &mut Cli,
    (list, droplets): (&[DoFirewall], &[Droplet]),
    name: &str,
    want: &BTreeSet<NativeRule>,
    roles: &[&str],
) -> Result<NativeReport> {
    let fw = list.iter().find(|f| f.name.as_deref() == Some(name));
    let mut report = NativeReport::default();
    let (id, attached): (String, BTreeSet<String>) = match fw {
        None => {
            let all: Vec<String> = want.iter().map(do_spec).collect();
            let out = cli.change(
                "doctl",
                &[
                    "compute",
                    "firewall",
                    "create",
                    "--name",
                    name,
                    "--outbound-rules",
                    DO_OUTBOUND,
                    "--inbound-rules",
                    &all.join(" "),
                    "-o",
                    "json",
                ],
            )?;
            report.added = want.len();
            let id = if cli.dry_run {
                "<new>".to_string()
            } else {
                json::<Option<OneOrMany<DoFirewall>>>(&out, "doctl compute firewall create")?
                    .and_then(OneOrMany::first)
                    .and_then(|f| f.id)
                    .unwrap_or_default()
            };
            (id, BTreeSet::new())
        }
        Some(fw) => {
            let mut current = BTreeSet::new();
            for r in fw.inbound_rules.iter().flatten() {
                let proto = match r.protocol.as_deref() {
                    Some("icmp") => Some(Proto::Icmp),
                    Some("tcp") => r
                        .ports
                        .as_deref()
                        .and_then(|p| p.parse().ok())
                        .map(Proto::Tcp),
                    _ => None,
                };
                let addresses = r.sources.as_ref().and_then(|s| s.addresses.as_ref());
                for a in addresses.into_iter().flatten() {
                    if let (Some(proto), Some(src)) = (proto, net_of(a)) {
                        current.insert(NativeRule { proto, source: src });
                    }
                }
            }
            let id = fw.id.clone().unwrap_or_default();
            let (add, del) = diff(&current, want);
            if !add.is_empty() {
                let specs: Vec<String> = add.iter().map(do_spec).collect();
                cli.change(
                    "doctl",
                    &[
                        "compute",
                        "firewall",
                        "add-rules",
                        &id,
                        "--inbound-rules",
                        &specs.join(" "),
                    ],
                )?;
            }
            if !del.is_empty() {
                let specs: Vec<String> = del.iter().map(do_spec).collect();
                cli.change(
                    "doctl",
                    &[
                        "compute",
                        "firewall",
                        "remove-rules",
                        &id,
                        "--inbound-rules",
                        &specs.join(" "),
                    ],
                )?;
            }
            report.added = add.len();
            report.removed = del.len();
            let attached = fw.droplet_ids.iter().flatten().map(Id::to_string).collect();
            (id, attached)
        }
    };
    let missing: Vec<String> = droplets
        .iter()
        .filter(|d| {
            roles
                .iter()
                .any(|r| d.name.as_deref().unwrap_or("").contains(r))
        })
        .map(|d| d.id.to_string())
        .filter(|id| !attached.contains(id))
        .collect();
    if !missing.is_empty() {
        cli.change(
            "doctl",
            &[
                "compute",
                "firewall",
                "add-droplets",
                &id,
                "--droplet-ids",
                &missing.join(","),
            ],
        )?;
    }
    Ok(report)
}

// ---------- Linode (linode-cli) ----------

fn linode_rules(want: &BTreeSet<NativeRule>) -> Vec<LinodeRule> {
    // One rule per protocol and port set, as the legacy script grouped them.
    let mut groups: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    let mut by_source: std::collections::BTreeMap<Net, Vec<u16>> = Default::default();
    for r in want {
        match r.proto {
            Proto::Tcp(p) => by_source.entry(r.source).or_default().push(p),
            Proto::Icmp => groups
                .entry(("ICMP".into(), String::new()))
                .or_default()
                .push(r.source.to_string()),
        }
    }
    for (src, mut ports) in by_source {
        ports.sort_unstable();
        let key = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        groups
            .entry(("TCP".into(), key))
            .or_default()
            .push(src.to_string());
    }
    groups
        .into_iter()
        .map(|((proto, ports), addrs)| LinodeRule {
            action: Some("ACCEPT".into()),
            addresses: Some(LinodeAddresses { ipv4: Some(addrs) }),
            ports: (!ports.is_empty()).then_some(ports),
            protocol: Some(proto),
        })
        .collect()
}

fn linode_current(rules: &[LinodeRule]) -> BTreeSet<NativeRule> {
    let mut set = BTreeSet::new();
    for r in rules {
        if r.action.as_deref() != Some("ACCEPT") {
            continue;
        }
        let addrs: Vec<Net> = r
            .addresses
            .as_ref()
            .and_then(|a| a.ipv4.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|a| net_of(a))
            .collect();
        match r.protocol.as_deref() {
            Some("ICMP") => set.extend(addrs.iter().map(|a| NativeRule {
                proto: Proto::Icmp,
                source: *a,
            })),
            Some("TCP") => {
                for p in r
                    .ports
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .filter_map(|p| p.trim().parse().ok())
                {
                    set.extend(addrs.iter().map(|a| NativeRule {
                        proto: Proto::Tcp(p),
                        source: *a,
                    }));
                }
            }
            _ => {}
        }
    }
    set
}

fn linode(cli: &mut Cli, want: &BTreeSet<NativeRule>) -> Result<NativeReport> {
    let list: Option<Vec<LinodeFirewall>> = json(
        &cli.query("linode-cli", &["--json", "firewalls", "list"])?,
        "linode-cli firewalls list",
    )?;
    let fw = list
        .into_iter()
        .flatten()
        .find(|f| f.label.as_deref() == Some("adt"));
    let inbound =
        serde_json::to_string(&linode_rules(want)).expect("strings and lists always serialize");
    let mut report = NativeReport::default();
    let id = match fw {
        None => {
            let out = cli.change(
                "linode-cli",
                &[
                    "--json",
                    "firewalls",
                    "create",
                    "--label",
                    "adt",
                    "--rules.inbound_policy",
                    "DROP",
                    "--rules.outbound_policy",
                    "ACCEPT",
                    "--rules.inbound",
                    &inbound,
                ],
            )?;
            report.added = want.len();
            if cli.dry_run {
                "<new>".to_string()
            } else {
                json::<Option<OneOrMany<LinodeFirewall>>>(&out, "linode-cli firewalls create")?
                    .and_then(OneOrMany::first)
                    .map(|f| f.id)
                    .unwrap_or_default()
                    .to_string()
            }
        }
        Some(fw) => {
            let id = fw.id.to_string();
            let inbound_now = fw.rules.and_then(|r| r.inbound).unwrap_or_default();
            let current = linode_current(&inbound_now);
            let (add, del) = diff(&current, want);
            if !add.is_empty() || !del.is_empty() {
                // Linode replaces the inbound rules as a whole, atomically.
                cli.change(
                    "linode-cli",
                    &["firewalls", "rules-update", "--inbound", &inbound, &id],
                )?;
            }
            report.added = add.len();
            report.removed = del.len();
            id
        }
    };
    let devices: Option<Vec<LinodeFirewallDevice>> = if id == "<new>" {
        None
    } else {
        json(
            &cli.query("linode-cli", &["--json", "firewalls", "devices-list", &id])?,
            "linode-cli firewalls devices-list",
        )?
    };
    let attached: BTreeSet<String> = devices
        .into_iter()
        .flatten()
        .map(|d| d.entity.map(|e| e.id).unwrap_or_default().to_string())
        .collect();
    let linodes: Option<Vec<Linode>> = json(
        &cli.query("linode-cli", &["--json", "linodes", "list"])?,
        "linode-cli linodes list",
    )?;
    for l in linodes.into_iter().flatten() {
        let label = l.label.as_deref().unwrap_or("");
        let lid = l.id.to_string();
        if ["autoscaler", "webserver", "database"]
            .iter()
            .any(|r| label.contains(r))
            && !attached.contains(&lid)
        {
            cli.change(
                "linode-cli",
                &[
                    "firewalls",
                    "device-create",
                    "--id",
                    &lid,
                    "--type",
                    "linode",
                    &id,
                ],
            )?;
        }
    }
    Ok(report)
}

// ---------- Exoscale (exo) ----------

fn exoscale(cli: &mut Cli, want: &BTreeSet<NativeRule>) -> Result<NativeReport> {
    let sg: ExoSecurityGroup = match cli.query(
        "exo",
        &["-O", "json", "compute", "security-group", "show", "adt"],
    ) {
        Ok(t) => json(&t, "exo compute security-group show")?,
        Err(Error::Remote(_)) => {
            cli.change("exo", &["compute", "security-group", "create", "adt"])?;
            ExoSecurityGroup::default()
        }
        Err(e) => return Err(e),
    };
    let mut current = BTreeSet::new();
    let mut ids = std::collections::BTreeMap::new();
    for r in sg.ingress_rules.into_iter().flatten() {
        let src = match r.network.as_deref().and_then(net_of) {
            Some(n) => n,
            None => continue,
        };
        let proto = match (r.protocol.as_deref(), r.start_port, r.end_port) {
            (Some("tcp"), Some(a), Some(b)) if a == b => Proto::Tcp(a as u16),
            _ => continue,
        };
        let rule = NativeRule { proto, source: src };
        current.insert(rule);
        ids.insert(rule, r.id.unwrap_or_default());
    }
    let (add, del) = diff(&current, want);
    for r in &add {
        if let Proto::Tcp(p) = r.proto {
            cli.change(
                "exo",
                &[
                    "compute",
                    "security-group",
                    "rule",
                    "add",
                    "adt",
                    "--network",
                    &r.source.to_string(),
                    "--port",
                    &p.to_string(),
                    "--protocol",
                    "tcp",
                ],
            )?;
        }
    }
    for r in &del {
        cli.change(
            "exo",
            &[
                "compute",
                "security-group",
                "rule",
                "delete",
                "-f",
                "adt",
                &ids[r],
            ],
        )?;
    }
    Ok(NativeReport {
        added: add.len(),
        removed: del.len(),
    })
}

// ---------- Vultr (vultr-cli) ----------

fn vultr(cli: &mut Cli, want: &BTreeSet<NativeRule>) -> Result<NativeReport> {
    let groups: VultrFirewallGroups = json(
        &cli.query("vultr", &["firewall", "group", "list", "-o", "json"])?,
        "vultr firewall group list",
    )?;
    let group = groups
        .firewall_groups
        .into_iter()
        .flatten()
        .find(|g| g.description.as_deref() == Some("adt"));
    let gid = match group {
        Some(g) => g.id.unwrap_or_default(),
        None => {
            let out = cli.change(
                "vultr",
                &[
                    "firewall",
                    "group",
                    "create",
                    "--description",
                    "adt",
                    "-o",
                    "json",
                ],
            )?;
            if cli.dry_run {
                "<new>".to_string()
            } else {
                json::<VultrFirewallGroupCreated>(&out, "vultr firewall group create")?
                    .firewall_group
                    .and_then(|g| g.id)
                    .unwrap_or_default()
            }
        }
    };
    let mut current = BTreeSet::new();
    let mut ids = std::collections::BTreeMap::new();
    if gid != "<new>" {
        let rules: VultrFirewallRules = json(
            &cli.query("vultr", &["firewall", "rule", "list", &gid, "-o", "json"])?,
            "vultr firewall rule list",
        )?;
        for r in rules.firewall_rules.into_iter().flatten() {
            if r.ip_type.as_deref() != Some("v4") {
                continue;
            }
            let size = r.subnet_size.unwrap_or(32);
            let src = match net_of(&format!("{}/{}", r.subnet.as_deref().unwrap_or(""), size)) {
                Some(n) => n,
                None => continue,
            };
            let proto = match r.protocol.as_deref() {
                Some("icmp") => Proto::Icmp,
                Some("tcp") => match r.port.as_deref().and_then(|p| p.parse().ok()) {
                    Some(p) => Proto::Tcp(p),
                    None => continue,
                },
                _ => continue,
            };
            let rule = NativeRule { proto, source: src };
            current.insert(rule);
            ids.insert(rule, r.id.to_string());
        }
    }
    let (add, del) = diff(&current, want);
    for r in &add {
        let (subnet, size) = (r.source.addr.to_string(), r.source.len.to_string());
        let port;
        let mut args = vec!["firewall", "rule", "create", "--id", &gid];
        match r.proto {
            Proto::Tcp(p) => {
                port = p.to_string();
                args.extend(["--port", &port, "--protocol", "tcp"]);
            }
            Proto::Icmp => args.extend(["--protocol", "icmp"]),
        }
        args.extend(["--size", &size, "--type", "v4", "-s", &subnet]);
        cli.change("vultr", &args)?;
    }
    for r in &del {
        cli.change("vultr", &["firewall", "rule", "delete", &gid, &ids[r]])?;
    }
    let instances: VultrInstances = json(
        &cli.query("vultr", &["instance", "list", "-o", "json"])?,
        "vultr instance list",
    )?;
    for i in instances.instances.into_iter().flatten() {
        let label = i.label.as_deref().unwrap_or("");
        if ["autoscaler", "webserver", "database"]
            .iter()
            .any(|r| label.contains(r))
            && i.firewall_group_id.as_deref() != Some(gid.as_str())
        {
            let iid = i.id.unwrap_or_default();
            cli.change(
                "vultr",
                &["instance", "update-firewall-group", "-f", &gid, "-i", &iid],
            )?;
        }
    }
    Ok(NativeReport {
        added: add.len(),
        removed: del.len(),
    })
}

// ---------- DBaaS allow-lists ----------

/// TightenDBaaSFirewall: the managed database admits exactly the fleet's public IPs.
/// `installation` is the DATABASEDBaaSINSTALLATIONTYPE value's fields (space-separated).
pub fn tighten_dbaas(
    cli: &mut Cli,
    provider: Provider,
    installation: &str,
    public_ips: &[Net],
) -> Result<NativeReport> {
    let fields: Vec<&str> = installation.split_whitespace().collect();
    let want: BTreeSet<String> = public_ips
        .iter()
        .filter(|n| n.is_v4())
        .map(|n| n.addr.to_string())
        .collect();
    match provider {
        Provider::DigitalOcean => {
            let cluster = fields
                .last()
                .ok_or_else(|| Error::Config("DATABASEDBaaSINSTALLATIONTYPE is empty".into()))?;
            let rules: Option<Vec<DoDatabaseFirewallRule>> = json(
                &cli.query(
                    "doctl",
                    &["databases", "firewalls", "list", cluster, "-o", "json"],
                )?,
                "doctl databases firewalls list",
            )?;
            let mut have = BTreeSet::new();
            let mut rep = NativeReport::default();
            for r in rules.into_iter().flatten() {
                if r.r#type.as_deref() != Some("ip_addr") {
                    continue;
                }
                let v = r.value.unwrap_or_default();
                if want.contains(&v) {
                    have.insert(v);
                } else {
                    let uuid = r.uuid.unwrap_or_default();
                    cli.change(
                        "doctl",
                        &["databases", "firewalls", "remove", cluster, "--uuid", &uuid],
                    )?;
                    rep.removed += 1;
                }
            }
            for ip in want.difference(&have) {
                cli.change(
                    "doctl",
                    &[
                        "databases",
                        "firewalls",
                        "append",
                        cluster,
                        "--rule",
                        &format!("ip_addr:{ip}"),
                    ],
                )?;
                rep.added += 1;
            }
            Ok(rep)
        }
        Provider::Exoscale => {
            let (zone, name) = match (fields.get(3), fields.get(5)) {
                (Some(z), Some(n)) => (*z, *n),
                _ => {
                    return Err(Error::Config(
                        "DATABASEDBaaSINSTALLATIONTYPE lacks zone and name".into(),
                    ))
                }
            };
            let engine = if fields.contains(&"pg") {
                "pg"
            } else if fields.contains(&"mysql") {
                "mysql"
            } else {
                return Err(Error::Config(
                    "DATABASEDBaaSINSTALLATIONTYPE names neither pg nor mysql".into(),
                ));
            };
            if want.is_empty() {
                return Err(Error::Config(
                    "no fleet IPs: refusing to empty the database's allow-list".into(),
                ));
            }
            let list: Vec<&str> = want.iter().map(String::as_str).collect();
            cli.change(
                "exo",
                &[
                    "dbaas",
                    "update",
                    "-z",
                    zone,
                    name,
                    &format!("--{engine}-ip-filter={}", list.join(",")),
                ],
            )?;
            Ok(NativeReport {
                added: want.len(),
                removed: 0,
            })
        }
        other => Err(Error::Config(format!(
            "the DBaaS allow-list of {other:?} is not implemented by adt"
        ))),
    }
}

// ---------- the CLIs' JSON, as far as it is read ----------
//
// Missing and null fields read as None (lists as empty), as the untyped reading did.

/// A list, or a lone item where a CLI prints one object instead.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    /// The first item of a list, or the lone item.
    fn first(self) -> Option<T> {
        match self {
            OneOrMany::Many(v) => v.into_iter().next(),
            OneOrMany::One(t) => Some(t),
        }
    }
}

/// A firewall in `doctl compute firewall list -o json` (a list) and `doctl compute firewall
/// create -o json` (a list of one).
#[derive(Deserialize)]
struct DoFirewall {
    id: Option<String>,
    name: Option<String>,
    inbound_rules: Option<Vec<DoInboundRule>>,
    droplet_ids: Option<Vec<Id>>,
}

/// One of a firewall's `inbound_rules` in `doctl compute firewall list -o json`.
#[derive(Deserialize)]
struct DoInboundRule {
    protocol: Option<String>,
    /// A port, a range or `all` (a string, also for ICMP).
    ports: Option<String>,
    sources: Option<DoSources>,
}

/// An inbound rule's `sources` in `doctl compute firewall list -o json`.
#[derive(Deserialize)]
struct DoSources {
    addresses: Option<Vec<String>>,
}

/// A firewall in `linode-cli --json firewalls list` (a list) and `linode-cli --json firewalls
/// create` (a list of one).
#[derive(Deserialize)]
struct LinodeFirewall {
    #[serde(default)]
    id: Id,
    label: Option<String>,
    rules: Option<LinodeFirewallRules>,
}

/// A firewall's `rules` in `linode-cli --json firewalls list`.
#[derive(Deserialize)]
struct LinodeFirewallRules {
    inbound: Option<Vec<LinodeRule>>,
}

/// One of a Linode firewall's inbound rules: read from `linode-cli --json firewalls list`, and
/// written (a list of them) as the JSON of `--rules.inbound` (`firewalls create`) and
/// `--inbound` (`firewalls rules-update`). Fields in alphabetical order, the order the command
/// lines have always had them in; `ports` is left out for ICMP.
#[derive(Deserialize, Serialize)]
struct LinodeRule {
    /// `ACCEPT` or `DROP`.
    action: Option<String>,
    addresses: Option<LinodeAddresses>,
    /// Comma-separated ports and ranges (TCP and UDP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    ports: Option<String>,
    /// `TCP`, `UDP`, `ICMP`…
    protocol: Option<String>,
}

/// A Linode firewall rule's `addresses`.
#[derive(Deserialize, Serialize)]
struct LinodeAddresses {
    ipv4: Option<Vec<String>>,
}

/// A device in `linode-cli --json firewalls devices-list ID` (a list).
#[derive(Deserialize)]
struct LinodeFirewallDevice {
    entity: Option<LinodeEntity>,
}

/// A firewall device's `entity` (the linode) in `linode-cli --json firewalls devices-list ID`.
#[derive(Deserialize)]
struct LinodeEntity {
    #[serde(default)]
    id: Id,
}

/// `exo -O json compute security-group show NAME`.
#[derive(Default, Deserialize)]
struct ExoSecurityGroup {
    ingress_rules: Option<Vec<ExoSecurityGroupRule>>,
}

/// One of a security group's `ingress_rules` in `exo -O json compute security-group show NAME`.
#[derive(Deserialize)]
struct ExoSecurityGroupRule {
    id: Option<String>,
    /// A CIDR (rules naming a security group instead have none).
    network: Option<String>,
    protocol: Option<String>,
    start_port: Option<u64>,
    end_port: Option<u64>,
}

/// `vultr firewall group list -o json`.
#[derive(Deserialize)]
struct VultrFirewallGroups {
    firewall_groups: Option<Vec<VultrFirewallGroup>>,
}

/// `vultr firewall group create -o json`.
#[derive(Deserialize)]
struct VultrFirewallGroupCreated {
    firewall_group: Option<VultrFirewallGroup>,
}

/// A firewall group in `vultr firewall group list -o json` and `vultr firewall group create -o
/// json`.
#[derive(Deserialize)]
struct VultrFirewallGroup {
    id: Option<String>,
    description: Option<String>,
}

/// `vultr firewall rule list GROUP -o json`.
#[derive(Deserialize)]
struct VultrFirewallRules {
    firewall_rules: Option<Vec<VultrFirewallRule>>,
}

/// A rule in `vultr firewall rule list GROUP -o json`.
#[derive(Deserialize)]
struct VultrFirewallRule {
    #[serde(default)]
    id: Id,
    /// `v4` or `v6`.
    ip_type: Option<String>,
    protocol: Option<String>,
    /// A port or a range, as a string.
    port: Option<String>,
    subnet: Option<String>,
    subnet_size: Option<u64>,
}

/// A rule in `doctl databases firewalls list CLUSTER -o json` (a list).
#[derive(Deserialize)]
struct DoDatabaseFirewallRule {
    uuid: Option<String>,
    /// `ip_addr`, `droplet`, `tag`…
    #[serde(rename = "type")]
    r#type: Option<String>,
    value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_firewall_is_a_list_of_one_or_a_lone_object() {
        for (text, want) in [
            (r#"[{"id": "fw-1"}, {"id": "fw-2"}]"#, Some("fw-1")),
            (r#"{"id": "fw-3"}"#, Some("fw-3")),
            ("[]", None),
            ("null", None),
        ] {
            let v: Option<OneOrMany<DoFirewall>> = json(text, "doctl").unwrap();
            let id = v.and_then(OneOrMany::first).and_then(|f| f.id);
            assert_eq!(id.as_deref(), want, "{text}");
        }
    }
}
