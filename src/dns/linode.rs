//! DNSCHOICE `linode`: Linode's DNS through `linode-cli domains`, with the legacy command lines
//! (TTL 120); the domain's id is looked up by its exact name (legacy grepped, so `example.com`
//! also matched `myexample.com`); records read as JSON and matched exactly.

use super::{CliDns, CliRecord, Provider, Record};
use crate::cloud::{json, Id};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::net::IpAddr;

pub struct Linode(pub CliDns);

/// A domain in `linode-cli --json domains list` (a list).
#[derive(Deserialize)]
struct LinodeDomain {
    #[serde(default)]
    id: Id,
    domain: Option<String>,
}

impl Linode {
    fn domain_id(&mut self) -> Result<String> {
        let v: Option<Vec<LinodeDomain>> = json(
            &self
                .0
                .cli
                .query("linode-cli", &["--json", "domains", "list", "--all-rows"])?,
            "linode-cli domains list",
        )?;
        v.into_iter()
            .flatten()
            .find(|d| d.domain.as_deref() == Some(self.0.domain.as_str()))
            .map(|d| d.id.to_string())
            .ok_or_else(|| Error::Config(format!("Linode has no domain {}", self.0.domain)))
    }
}

impl Provider for Linode {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let id = self.domain_id()?;
        self.0.a_records(
            name,
            "linode-cli",
            &["--json", "domains", "records-list", &id, "--all-rows"],
            |v: Option<Vec<CliRecord>>| v,
            |r| r.target,
        )
    }

    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        let (sub, ip) = (self.0.sub(name), ip.to_string());
        let id = self.domain_id()?;
        self.0
            .cli
            .change(
                "linode-cli",
                &[
                    "domains",
                    "records-create",
                    "--no-defaults",
                    &id,
                    "--type",
                    "A",
                    "--name",
                    &sub,
                    "--target",
                    &ip,
                    "--ttl_sec",
                    "120",
                ],
            )
            .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let id = self.domain_id()?;
        self.0
            .cli
            .change(
                "linode-cli",
                &["domains", "records-delete", &id, &record.id],
            )
            .map(|_| ())
    }
}
