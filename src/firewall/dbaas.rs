//! The managed database's allow-list (TightenDBaaSFirewall.sh): it admits exactly the
//! fleet's public IPv4 addresses. DigitalOcean's is diffed with `doctl databases firewalls`;
//! Exoscale's is set whole with `exo dbaas update --pg-/--mysql-ip-filter`. Not implemented:
//! Linode's (its API takes the token in a header; legacy put it on curl's argv) and AWS.

use super::native::NativeReport;
use crate::cloud::{json, Cli, Provider};
use crate::error::{Error, Result};
use crate::firewall::net::Net;
use serde::Deserialize;
use std::collections::BTreeSet;

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

// The CLI's JSON, as far as it is read (missing and null fields read as None).

/// A rule in `doctl databases firewalls list CLUSTER -o json` (a list).
#[derive(Deserialize)]
struct DoDatabaseFirewallRule {
    uuid: Option<String>,
    /// `ip_addr`, `droplet`, `tag`…
    #[serde(rename = "type")]
    r#type: Option<String>,
    value: Option<String>,
}
