//! DNSCHOICE `digitalocean`: DigitalOcean's DNS through `doctl compute domain records`, with
//! the legacy command lines (TTL 120); records read as JSON and matched exactly.

use super::{a_records, CliDns, Provider, Record};
use crate::cloud::{json, Id};
use crate::error::Result;
use serde::Deserialize;
use std::net::IpAddr;

pub struct DigitalOcean(pub CliDns);

/// A record in `doctl compute domain records list DOMAIN -o json` (a list); an A record's
/// address is `data`.
#[derive(Deserialize)]
struct DoRecord {
    #[serde(default)]
    id: Id,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    data: Option<String>,
}

impl Provider for DigitalOcean {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let (sub, d) = (self.0.sub(name), self.0.domain.clone());
        let rows: Option<Vec<DoRecord>> = json(
            &self.0.cli.query(
                "doctl",
                &["compute", "domain", "records", "list", &d, "-o", "json"],
            )?,
            "doctl",
        )?;
        Ok(a_records(
            rows.into_iter()
                .flatten()
                .map(|r| (r.kind, r.name, r.data, r.id)),
            &sub,
        ))
    }

    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        let (sub, d, ip) = (self.0.sub(name), self.0.domain.clone(), ip.to_string());
        self.0
            .cli
            .change(
                "doctl",
                &[
                    "compute",
                    "domain",
                    "records",
                    "create",
                    "--record-type",
                    "A",
                    "--record-name",
                    &sub,
                    "--record-data",
                    &ip,
                    "--record-ttl",
                    "120",
                    &d,
                ],
            )
            .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let d = self.0.domain.clone();
        self.0
            .cli
            .change(
                "doctl",
                &[
                    "compute", "domain", "records", "delete", "--force", &d, &record.id,
                ],
            )
            .map(|_| ())
    }
}
