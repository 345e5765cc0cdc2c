//! Exoscale's security group (`exo compute security-group`): rules added and removed one by
//! one (no ICMP rule, as legacy).

use super::{diff, net_of, Members, NativeReport, NativeRule, Proto, Target};
use crate::cloud::{json, Cli};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeSet;

pub(super) fn reconcile<'a>(
    cli: &mut Cli,
    target: &'a Target,
    want: &BTreeSet<NativeRule>,
    zone: &'a str,
) -> Result<NativeReport> {
    let name = target.name;
    let sg: ExoSecurityGroup = match cli.query(
        "exo",
        &["-O", "json", "compute", "security-group", "show", name],
    ) {
        Ok(t) => json(&t, "exo compute security-group show")?,
        Err(Error::Remote(_)) => {
            cli.change("exo", &["compute", "security-group", "create", name])?;
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
                    name,
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
                name,
                &ids[r],
            ],
        )?;
    }
    // The fleet's machines join their group when they are created; the build machine is put
    // in its own here (legacy 2025 AttachBuildMachineToNativeFirewall).
    // Without a zone (REGION), exo's default zone.
    let with_zone = |args: &[&'a str]| -> Vec<&'a str> {
        let mut v = args.to_vec();
        if !zone.is_empty() {
            v.extend(["-z", zone]);
        }
        v
    };
    if let Members::Ids(ids) = &target.members {
        for id in ids.iter() {
            let shown: ExoInstanceGroups = json(
                &cli.query(
                    "exo",
                    &with_zone(&["-O", "json", "compute", "instance", "show", id]),
                )?,
                "exo compute instance show",
            )?;
            if !shown.security_groups.iter().flatten().any(|g| g == name) {
                cli.change(
                    "exo",
                    &with_zone(&["compute", "instance", "security-group", "add", id, name]),
                )?;
            }
        }
    }
    Ok(NativeReport {
        added: add.len(),
        removed: del.len(),
    })
}

/// The security groups (names) in `exo -O json compute instance show ID`.
#[derive(Deserialize)]
struct ExoInstanceGroups {
    security_groups: Option<Vec<String>>,
}

// The CLI's JSON, as far as it is read (missing and null fields read as None).

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
