//! Linode's cloud firewall (`linode-cli firewalls`): its inbound rules replaced as a whole
//! when they differ, and the fleet's Linodes attached.

use super::OneOrMany;
use super::{diff, net_of, NativeReport, NativeRule, Proto, Target};
use crate::cloud::servers::Linode;
use crate::cloud::{json, Cli, Id};
use crate::error::Result;
use crate::firewall::net::Net;
use serde::Deserialize;
use serde::Serialize;
use std::collections::BTreeSet;

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

pub(super) fn reconcile(
    cli: &mut Cli,
    target: &Target,
    want: &BTreeSet<NativeRule>,
) -> Result<NativeReport> {
    let list: Option<Vec<LinodeFirewall>> = json(
        &cli.query("linode-cli", &["--json", "firewalls", "list", "--all-rows"])?,
        "linode-cli firewalls list",
    )?;
    let fw = list
        .into_iter()
        .flatten()
        .find(|f| f.label.as_deref() == Some(target.name));
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
                    "--no-defaults",
                    "--label",
                    target.name,
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
            &cli.query(
                "linode-cli",
                &["--json", "firewalls", "devices-list", &id, "--all-rows"],
            )?,
            "linode-cli firewalls devices-list",
        )?
    };
    let attached: BTreeSet<String> = devices
        .into_iter()
        .flatten()
        .map(|d| d.entity.map(|e| e.id).unwrap_or_default().to_string())
        .collect();
    let linodes: Option<Vec<Linode>> = json(
        &cli.query("linode-cli", &["--json", "linodes", "list", "--all-rows"])?,
        "linode-cli linodes list",
    )?;
    for l in linodes.into_iter().flatten() {
        let label = l.label.as_deref().unwrap_or("");
        let lid = l.id.to_string();
        if target.members.takes(label, &lid) && !attached.contains(&lid) {
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

// The CLI's JSON, as far as it is read (missing and null fields read as None).

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
