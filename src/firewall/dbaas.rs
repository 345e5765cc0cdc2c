//! The managed database's allow-list (TightenDBaaSFirewall.sh): it admits exactly the
//! fleet's public IPv4 addresses. DigitalOcean's is diffed with `doctl databases firewalls`;
//! Exoscale's is set whole with `exo dbaas update --pg-/--mysql-ip-filter`. AWS's
//! ([`tighten_aws`]) is the RDS database's security group: DBaaSDBSECURITYGROUP (the group
//! legacy AllowDBAccess/DenyDBAccess edited), else the database's own VPC group found with `aws
//! rds describe-db-instances`, admitting exactly the fleet's public IPs on DBPORT, by
//! difference (legacy TightenDBaaSFirewall had no AWS branch). Not implemented: Linode's (its
//! API takes the token in a header; legacy put it on curl's argv).

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

/// TightenDBaaSFirewall on AWS: the RDS database's security group admits exactly the fleet's
/// public IPs on `port`. `group` is DBaaSDBSECURITYGROUP; when empty, the group is the one of
/// the database named in `installation` (`… DBAAS engine region size name IDENTIFIER …`) that is
/// not a toolkit group. A database only in the toolkit groups needs nothing here: the native
/// firewall admits the fleet on DBPORT there. Returns None when there was nothing to do.
pub fn tighten_aws(
    cli: &mut Cli,
    group: &str,
    installation: &str,
    port: u16,
    public_ips: &[Net],
) -> Result<Option<NativeReport>> {
    let group = if group.is_empty() {
        let fields: Vec<&str> = installation.split_whitespace().collect();
        let id = fields
            .iter()
            .position(|f| *f == "DBAAS")
            .and_then(|p| fields.get(p + 5))
            .ok_or_else(|| {
                Error::Config(
                    "DBaaSDBSECURITYGROUP is not set and DATABASEDBaaSINSTALLATIONTYPE names no database identifier".into(),
                )
            })?;
        let v: RdsInstances = json(
            &cli.query(
                "aws",
                &[
                    "rds",
                    "describe-db-instances",
                    "--db-instance-identifier",
                    id,
                    "--output",
                    "json",
                ],
            )?,
            "aws rds describe-db-instances",
        )?;
        let groups: Vec<String> = v
            .db_instances
            .into_iter()
            .flatten()
            .flat_map(|d| d.vpc_security_groups.into_iter().flatten())
            .filter_map(|g| g.vpc_security_group_id)
            .collect();
        let toolkit: Vec<String> = crate::cloud::servers::aws_groups(cli, "")?
            .into_iter()
            .filter_map(|g| g.group_id)
            .collect();
        match groups.into_iter().find(|g| !toolkit.contains(g)) {
            Some(g) => g,
            None => return Ok(None),
        }
    } else {
        group.to_string()
    };
    super::native::db_allow_list(cli, &group, port, public_ips).map(Some)
}

// The CLI's JSON, as far as it is read (missing and null fields read as None).

/// `aws rds describe-db-instances --output json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RdsInstances {
    #[serde(rename = "DBInstances")]
    db_instances: Option<Vec<RdsInstance>>,
}

/// A database in `aws rds describe-db-instances --output json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RdsInstance {
    vpc_security_groups: Option<Vec<RdsGroup>>,
}

/// One of a database's `VpcSecurityGroups`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RdsGroup {
    vpc_security_group_id: Option<String>,
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
