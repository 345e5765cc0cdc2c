//! DNSCHOICE `exoscale`: Exoscale's DNS through `exo dns`, with the legacy command lines (TTL
//! 120); records read as JSON and matched exactly.

use super::{a_records, CliDns, Provider, Record};
use crate::cloud::{json, Id};
use crate::error::Result;
use serde::Deserialize;
use std::net::IpAddr;

pub struct Exoscale(pub CliDns);

/// A record in `exo -O json dns show DOMAIN` (a list); an A record's address is `content`.
#[derive(Deserialize)]
struct ExoRecord {
    #[serde(default)]
    id: Id,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    content: Option<String>,
}

impl Provider for Exoscale {
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let (sub, d) = (self.0.sub(name), self.0.domain.clone());
        let rows: Option<Vec<ExoRecord>> = json(
            &self
                .0
                .cli
                .query("exo", &["-O", "json", "dns", "show", &d])?,
            "exo",
        )?;
        Ok(a_records(
            rows.into_iter()
                .flatten()
                .map(|r| (r.kind, r.name, r.content, r.id)),
            &sub,
        ))
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
