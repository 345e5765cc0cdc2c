//! DNSCHOICE `vultr`: Vultr's DNS through `vultr dns record`, with the legacy command lines
//! (TTL 120, priority 10); records read as JSON and matched exactly.

use super::{a_records, CliDns, Provider, Record};
use crate::cloud::{json, Id};
use crate::error::Result;
use serde::Deserialize;
use std::net::IpAddr;

pub struct Vultr(pub CliDns);

/// `vultr dns record list DOMAIN -o json`.
#[derive(Deserialize)]
struct VultrRecords {
    records: Option<Vec<VultrRecord>>,
}

/// A record under `records`; an A record's address is `data`.
#[derive(Deserialize)]
struct VultrRecord {
    #[serde(default)]
    id: Id,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    data: Option<String>,
}

impl Provider for Vultr {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let (sub, d) = (self.0.sub(name), self.0.domain.clone());
        let rows: VultrRecords = json(
            &self
                .0
                .cli
                .query("vultr", &["dns", "record", "list", &d, "-o", "json"])?,
            "vultr",
        )?;
        Ok(a_records(
            rows.records
                .into_iter()
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
                "vultr",
                &[
                    "dns",
                    "record",
                    "create",
                    "-m",
                    &d,
                    "-n",
                    &sub,
                    "-t",
                    "A",
                    "-d",
                    &ip,
                    "--priority=10",
                    "--ttl=120",
                ],
            )
            .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let d = self.0.domain.clone();
        self.0
            .cli
            .change("vultr", &["dns", "record", "delete", &d, &record.id])
            .map(|_| ())
    }
}
