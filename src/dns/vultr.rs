//! DNSCHOICE `vultr`: Vultr's DNS through `vultr dns record`, with the legacy command lines
//! (TTL 120, priority 10); records read as JSON and matched exactly.

use super::{CliDns, CliRecord, Provider, Record};
use crate::error::Result;
use serde::Deserialize;
use std::net::IpAddr;

pub struct Vultr(pub CliDns);

/// `vultr dns record list DOMAIN -o json`.
#[derive(Deserialize)]
struct VultrRecords {
    records: Option<Vec<CliRecord>>,
}

impl Provider for Vultr {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let d = self.0.domain.clone();
        self.0.a_records(
            name,
            "vultr",
            &["dns", "record", "list", &d, "-o", "json"],
            |v: VultrRecords| v.records,
            |r| r.data,
        )
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
