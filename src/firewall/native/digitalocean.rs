//! DigitalOcean's cloud firewalls (`doctl compute firewall`): the fleet's `adt` firewall
//! and the webservers' `adt-webserver-machines`, edited in place (legacy deleted and recreated
//! `adt` every 15 minutes, leaving the fleet unprotected meanwhile).

use super::OneOrMany;
use super::{diff, net_of, NativeReport, NativeRule, Proto, Target};
use crate::cloud::servers::Droplet;
use crate::cloud::{json, Cli, Id};
use crate::error::Result;
use serde::Deserialize;
use std::collections::BTreeSet;

fn do_spec(r: &NativeRule) -> String {
    match r.proto {
        Proto::Tcp(p) => format!("protocol:tcp,ports:{p},address:{}", r.source),
        Proto::Icmp => format!("protocol:icmp,address:{}", r.source),
    }
}

const DO_OUTBOUND: &str = "protocol:tcp,ports:all,address:0.0.0.0/0 protocol:udp,ports:all,address:0.0.0.0/0 protocol:icmp,address:0.0.0.0/0";

/// One DigitalOcean firewall, given the account's firewalls and droplets as listed.
pub(super) fn reconcile(
    cli: &mut Cli,
    (list, droplets): (&[DoFirewall], &[Droplet]),
    target: &Target,
    want: &BTreeSet<NativeRule>,
) -> Result<NativeReport> {
    let name = target.name;
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
            target
                .members
                .takes(d.name.as_deref().unwrap_or(""), &d.id.to_string())
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

// The CLI's JSON, as far as it is read (missing and null fields read as None).

/// A firewall in `doctl compute firewall list -o json` (a list) and `doctl compute firewall
/// create -o json` (a list of one).
#[derive(Deserialize)]
pub(super) struct DoFirewall {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::native::OneOrMany;

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
