//! DNSCHOICE `exoscale`: Exoscale's DNS through `exo dns`, with the legacy command lines (TTL
//! 120); records read as JSON and matched exactly.

use super::{CliDns, CliRecord, Provider, Record};
use crate::error::Result;
use std::net::IpAddr;

pub struct Exoscale(pub CliDns);

impl Provider for Exoscale {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let d = self.0.domain.clone();
        self.0.a_records(
            name,
            "exo",
            &["-O", "json", "dns", "show", &d],
            |v: Option<Vec<CliRecord>>| v,
            |r| r.content,
        )
    }

    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        let (sub, d, ip) = (self.0.sub(name), self.0.domain.clone(), ip.to_string());
        self.0
            .cli
            .change(
                "exo",
                &["dns", "add", "A", &d, "-a", &ip, "-n", &sub, "-t", "120"],
            )
            .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let d = self.0.domain.clone();
        self.0
            .cli
            .change("exo", &["dns", "remove", &d, &record.id, "-Q", "-f"])
            .map(|_| ())
    }
}
