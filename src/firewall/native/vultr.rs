//! Vultr's firewall group (`vultr firewall`): rules added and removed one by one (legacy
//! added every rule again on every run), and the fleet's instances attached.

use super::{diff, net_of, NativeReport, NativeRule, Proto, Target};
use crate::cloud::servers::VultrInstances;
use crate::cloud::{json, Cli, Id};
use crate::error::Result;
use serde::Deserialize;
use std::collections::BTreeSet;

pub(super) fn reconcile(
    cli: &mut Cli,
    target: &Target,
    want: &BTreeSet<NativeRule>,
) -> Result<NativeReport> {
    let mut groups = Vec::new();
    for page in cli.query_all("vultr", &["firewall", "group", "list", "-o", "json"])? {
        let v: VultrFirewallGroups = json(&page, "vultr firewall group list")?;
        groups.extend(v.firewall_groups.into_iter().flatten());
    }
    let group = groups
        .into_iter()
        .find(|g| g.description.as_deref() == Some(target.name));
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
                    target.name,
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
        let mut rules = Vec::new();
        for page in cli.query_all("vultr", &["firewall", "rule", "list", &gid, "-o", "json"])? {
            let v: VultrFirewallRules = json(&page, "vultr firewall rule list")?;
            rules.extend(v.firewall_rules.into_iter().flatten());
        }
        for r in rules {
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
    let mut instances = Vec::new();
    for page in cli.query_all("vultr", &["instance", "list", "-o", "json"])? {
        let v: VultrInstances = json(&page, "vultr instance list")?;
        instances.extend(v.instances.into_iter().flatten());
    }
    for i in instances {
        let label = i.label.as_deref().unwrap_or("");
        if target.members.takes(label, i.id.as_deref().unwrap_or(""))
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

// The CLI's JSON, as far as it is read (missing and null fields read as None).

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
