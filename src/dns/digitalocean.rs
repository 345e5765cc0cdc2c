//! DNSCHOICE `digitalocean`: DigitalOcean's DNS through `doctl compute domain records`, with
//! the legacy command lines (TTL 120); records read as JSON and matched exactly.

use super::{CliDns, CliRecord, Provider, Record};
use crate::error::Result;
use std::net::IpAddr;

pub struct DigitalOcean(pub CliDns);

impl Provider for DigitalOcean {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let d = self.0.domain.clone();
        self.0.a_records(
            name,
            "doctl",
            &["compute", "domain", "records", "list", &d, "-o", "json"],
            |v: Option<Vec<CliRecord>>| v,
            |r| r.data,
        )
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
