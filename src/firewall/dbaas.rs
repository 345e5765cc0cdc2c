//! The managed database's allow-list (TightenDBaaSFirewall.sh): it admits exactly the
//! fleet's public IPv4 addresses. DigitalOcean's is diffed with `doctl databases firewalls`;
//! Exoscale's is set whole with `exo dbaas update --pg-/--mysql-ip-filter`. AWS's
//! ([`tighten_aws`]) is the RDS database's security group: DBaaSDBSECURITYGROUP (the group
//! legacy AllowDBAccess/DenyDBAccess edited), else the database's own VPC group found with `aws
//! rds describe-db-instances`, admitting exactly the fleet's public IPs on DBPORT, by
//! difference (legacy TightenDBaaSFirewall had no AWS branch). Linode's ([`tighten_linode`]) is
//! set through the API with curl as legacy did, but the token travels in curl's configuration on
//! stdin (legacy put it on curl's argv, where any local user could read it); the database is the
//! one whose label holds BUILDIDENTIFIER, found in the API's complete listing (legacy: the
//! linode-cli listing's first page); the list is put only when it differs.

use super::native::NativeReport;
use crate::cloud::{json, Cli, Provider};
use crate::error::{Error, Result};
use crate::firewall::net::Net;
use serde::Deserialize;
use std::collections::BTreeSet;

/// TightenDBaaSFirewall on this machine: when DATABASEDBaaSINSTALLATIONTYPE (or, on AWS,
/// DBaaSDBSECURITYGROUP) is set, the managed database of the cloud host admits exactly the fleet's public IPs (the datastore's
/// `autoscalerpublicip/`, `webserverpublicips/`, `databasepublicip/`). None: no managed database,
/// or nothing to do. The autoscaler runs it after each build and each removal (legacy: the
/// build sourced TightenDBaaSFirewall and AllowDBAccess, a removal DenyDBAccess).
pub fn tighten_for_site(site: &crate::site::Site) -> Result<Option<NativeReport>> {
    let text = site.settings()?;
    let v = |k: &str| crate::config::value(&text, k).unwrap_or_default();
    let install = crate::config::extract_values(&text, "DATABASEDBaaSINSTALLATIONTYPE", true);
    let install = install.lines().next().unwrap_or("").to_string();
    let group = v("DBaaSDBSECURITYGROUP");
    if install.is_empty() && group.is_empty() {
        return Ok(None);
    }
    let provider = Provider::detect(&site.home, Some(v("CLOUDHOST").as_str()))
        .ok_or_else(|| Error::Config("no cloud host marker in HOME".into()))?;
    let store = site.store()?;
    let mut public = Vec::new();
    for l in [
        "autoscalerpublicip/",
        "webserverpublicips/",
        "databasepublicip/",
    ] {
        public.extend(
            crate::ips::list_ips(store.as_ref(), l)?
                .into_iter()
                .map(Net::host),
        );
    }
    let mut cli = Cli::default();
    match provider {
        Provider::Aws => {
            let port = v("DBPORT");
            let port: u16 = port.parse().map_err(|_| {
                Error::Config(format!("DBPORT {port:?} is not a port in the settings"))
            })?;
            tighten_aws(&mut cli, &group, &install, port, &public)
        }
        _ if install.is_empty() => Ok(None),
        Provider::Linode => {
            let api = LinodeApi::configured(&site.home)?;
            tighten_linode(&api, &v("BUILDIDENTIFIER"), &install, &public).map(Some)
        }
        p => tighten_dbaas(&mut cli, p, &install, &public).map(Some),
    }
}

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

/// Linode's API as linode-cli is configured for it: the token (LINODE_CLI_TOKEN, else the
/// `token` of linode-cli's config file, as legacy grepped it) and the API's address
/// (`LINODE_CLI_API_SCHEME://LINODE_CLI_API_HOST`, else `https://api.linode.com`).
pub struct LinodeApi {
    pub base: String,
    pub token: String,
}

impl LinodeApi {
    /// From the environment and linode-cli's config file (`$XDG_CONFIG_HOME/linode-cli`, else
    /// `HOME/.config/linode-cli`).
    pub fn configured(home: &std::path::Path) -> Result<LinodeApi> {
        let scheme = std::env::var("LINODE_CLI_API_SCHEME").unwrap_or_else(|_| "https".into());
        let host = std::env::var("LINODE_CLI_API_HOST").unwrap_or_else(|_| "api.linode.com".into());
        let token = match std::env::var("LINODE_CLI_TOKEN") {
            Ok(t) if !t.is_empty() => t,
            _ => {
                let file = std::env::var_os("XDG_CONFIG_HOME")
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| home.join(".config"))
                    .join("linode-cli");
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .find(|(k, _)| k.trim() == "token")
                    .map(|(_, v)| v.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "no Linode API token (set LINODE_CLI_TOKEN or `linode-cli configure`, which writes {})",
                            file.display()
                        ))
                    })?
            }
        };
        Ok(LinodeApi {
            base: format!("{scheme}://{host}"),
            token,
        })
    }

    /// One call: the token in a header and the body, both in curl's configuration on stdin.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<T> {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut config = format!(
            "header = {}\nheader = \"Content-Type: application/json\"\n",
            q(&format!("Authorization: Bearer {}", self.token))
        );
        if let Some(b) = body {
            config.push_str(&format!("data = {}\n", q(b)));
        }
        let url = format!("{}{path}", self.base);
        let out = crate::process::Run::new("curl")
            .args(["-sS", "--max-time", "20", "-K", "-", "-X", method, &url])
            .stdin(config)
            .output()?;
        let what = format!("Linode API {method} {path}");
        if !out.success() {
            return Err(Error::Remote(format!(
                "{what}: {}",
                out.stderr.trim().replace(&self.token, "<redacted>")
            )));
        }
        let v: serde_json::Value = json(&out.stdout, &what)?;
        if let Some(errs) = v.get("errors").and_then(|e| e.as_array()) {
            let reasons: Vec<String> = errs
                .iter()
                .filter_map(|e| {
                    let r = e.get("reason")?.as_str()?;
                    Some(match e.get("field").and_then(|f| f.as_str()) {
                        Some(f) => format!("{f}: {r}"),
                        None => r.to_string(),
                    })
                })
                .collect();
            return Err(Error::Remote(format!("{what}: {}", reasons.join("; "))));
        }
        serde_json::from_value(v)
            .map_err(|e| Error::Remote(format!("{what}: unexpected answer: {e}")))
    }
}

/// TightenDBaaSFirewall on Linode: the managed database labelled with `label` (the build
/// identifier) admits exactly the fleet's public IPs (`ip/32`). The engine is PostgreSQL when
/// `installation` names it, else MySQL (the only one legacy knew).
pub fn tighten_linode(
    api: &LinodeApi,
    label: &str,
    installation: &str,
    public_ips: &[Net],
) -> Result<NativeReport> {
    let engine = if installation
        .split_whitespace()
        .any(|f| matches!(f.to_lowercase().as_str(), "pg" | "postgres" | "postgresql"))
    {
        "postgresql"
    } else {
        "mysql"
    };
    if label.is_empty() {
        return Err(Error::Config("BUILDIDENTIFIER is not set".into()));
    }
    let path = format!("/v4beta/databases/{engine}/instances");
    let mut dbs = Vec::new();
    for page in 1.. {
        let p: LinodePage<LinodeDatabase> =
            api.call("GET", &format!("{path}?page={page}&page_size=500"), None)?;
        dbs.extend(p.data.into_iter().flatten());
        if page >= p.pages.unwrap_or(1) {
            break;
        }
    }
    let db = dbs
        .into_iter()
        .find(|d| d.label.as_deref().is_some_and(|l| l.contains(label)))
        .ok_or_else(|| {
            Error::Config(format!(
                "Linode lists no {engine} database whose label holds {label:?}"
            ))
        })?;
    let want: BTreeSet<String> = public_ips
        .iter()
        .filter(|n| n.is_v4())
        .map(|n| format!("{}/32", n.addr))
        .collect();
    if want.is_empty() {
        return Err(Error::Config(
            "no fleet IPs: refusing to empty the database's allow-list".into(),
        ));
    }
    let have: BTreeSet<String> = db.allow_list.into_iter().flatten().collect();
    if have == want {
        return Ok(NativeReport::default());
    }
    let body = serde_json::json!({ "allow_list": want.iter().collect::<Vec<_>>() }).to_string();
    let _: serde::de::IgnoredAny = api.call("PUT", &format!("{path}/{}", db.id), Some(&body))?;
    Ok(NativeReport {
        added: want.difference(&have).count(),
        removed: have.difference(&want).count(),
    })
}

// The CLI's JSON, as far as it is read (missing and null fields read as None).

/// A page of a Linode API listing.
#[derive(Deserialize)]
struct LinodePage<T> {
    data: Option<Vec<T>>,
    pages: Option<u64>,
}

/// A managed database in the Linode API's `databases/{engine}/instances` listing.
#[derive(Deserialize)]
struct LinodeDatabase {
    #[serde(default)]
    id: crate::cloud::Id,
    label: Option<String>,
    allow_list: Option<Vec<String>>,
}

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
