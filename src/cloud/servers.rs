//! The cloud hosts' server operations through their CLIs (JSON output, exact matching): list
//! this build's webservers with their public and private IPs, and destroy one. Creating a
//! webserver on a real cloud (the legacy BuildWebserver's provisioning over SSH, or cloud-init)
//! is not implemented yet.

use super::{json, Cli};
use crate::error::{Error, Result};
use serde_json::Value;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    DigitalOcean,
    Exoscale,
    Linode,
    Vultr,
}

/// A server as a cloud lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub public: Option<IpAddr>,
    pub private: Option<IpAddr>,
}

pub struct CliCloud {
    pub host: Host,
    pub cli: Cli,
    /// Exoscale's zone (REGION).
    pub zone: String,
}

fn ip(v: &Value) -> Option<IpAddr> {
    v.as_str().and_then(|s| s.parse().ok())
}

fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private(),
        IpAddr::V6(_) => false,
    }
}

impl CliCloud {
    pub fn list(&mut self) -> Result<Vec<Server>> {
        let mut out = Vec::new();
        match self.host {
            Host::DigitalOcean => {
                let v = json(
                    &self
                        .cli
                        .query("doctl", &["compute", "droplet", "list", "-o", "json"])?,
                    "doctl compute droplet list",
                )?;
                for d in v.as_array().into_iter().flatten() {
                    let nets = d["networks"]["v4"].as_array().cloned().unwrap_or_default();
                    let by = |t: &str| {
                        nets.iter()
                            .find(|n| n["type"] == t)
                            .and_then(|n| ip(&n["ip_address"]))
                    };
                    out.push(Server {
                        id: d["id"].to_string(),
                        name: d["name"].as_str().unwrap_or("").into(),
                        public: by("public"),
                        private: by("private"),
                    });
                }
            }
            Host::Exoscale => {
                let v = json(
                    &self.cli.query(
                        "exo",
                        &[
                            "-O", "json", "compute", "instance", "list", "-z", &self.zone,
                        ],
                    )?,
                    "exo compute instance list",
                )?;
                for i in v.as_array().into_iter().flatten() {
                    out.push(Server {
                        id: i["id"].as_str().unwrap_or("").into(),
                        name: i["name"].as_str().unwrap_or("").into(),
                        public: ip(&i["ip_address"]),
                        private: None,
                    });
                }
            }
            Host::Linode => {
                let v = json(
                    &self
                        .cli
                        .query("linode-cli", &["--json", "linodes", "list"])?,
                    "linode-cli linodes list",
                )?;
                for l in v.as_array().into_iter().flatten() {
                    let ips: Vec<IpAddr> = l["ipv4"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(ip)
                        .collect();
                    out.push(Server {
                        id: l["id"].to_string(),
                        name: l["label"].as_str().unwrap_or("").into(),
                        public: ips.iter().find(|a| !is_private(a)).copied(),
                        private: ips.iter().find(|a| is_private(a)).copied(),
                    });
                }
            }
            Host::Vultr => {
                let v = json(
                    &self
                        .cli
                        .query("vultr", &["instance", "list", "-o", "json"])?,
                    "vultr instance list",
                )?;
                for i in v["instances"].as_array().into_iter().flatten() {
                    out.push(Server {
                        id: i["id"].as_str().unwrap_or("").into(),
                        name: i["label"].as_str().unwrap_or("").into(),
                        public: ip(&i["main_ip"]),
                        private: ip(&i["internal_ip"]),
                    });
                }
            }
        }
        Ok(out)
    }

    pub fn destroy(&mut self, s: &Server) -> Result<()> {
        match self.host {
            Host::DigitalOcean => self
                .cli
                .change("doctl", &["compute", "droplet", "delete", &s.id, "--force"])
                .map(|_| ()),
            Host::Exoscale => self
                .cli
                .change(
                    "exo",
                    &[
                        "compute", "instance", "delete", "-f", "-z", &self.zone, &s.id,
                    ],
                )
                .map(|_| ()),
            Host::Linode => {
                self.cli
                    .change("linode-cli", &["linodes", "shutdown", &s.id])?;
                self.cli
                    .change("linode-cli", &["linodes", "delete", &s.id])
                    .map(|_| ())
            }
            Host::Vultr => self
                .cli
                .change("vultr", &["instance", "delete", &s.id])
                .map(|_| ()),
        }
    }

    pub fn create(&mut self, name: &str) -> Result<IpAddr> {
        Err(Error::Config(format!(
            "building webserver {name} on {:?} is not implemented by adt yet (only CLOUDHOST:local)",
            self.host
        )))
    }
}

/// Whether a server name is one of this build's webservers:
/// `webserver-<4 chars>-<site>-<build id>`, cut to 32 characters.
pub fn is_our_webserver(name: &str, site: &str, build_id: &str) -> bool {
    let Some(rest) = name.strip_prefix("webserver-") else {
        return false;
    };
    let tail: String = rest.chars().skip(5).collect();
    let full = format!("{site}-{build_id}");
    !tail.is_empty()
        && full.starts_with(tail.trim_end_matches('-'))
        && (rest.chars().nth(4) == Some('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_our_webserver(
            "webserver-ab12-example-prod1",
            "example",
            "prod1"
        ));
        assert!(!is_our_webserver(
            "webserver-ab12-example-prod2",
            "example",
            "prod1"
        ));
        assert!(!is_our_webserver(
            "NO-1-autoscaler-exam-prod1",
            "example",
            "prod1"
        ));
        // Cut to 32 characters: the build identifier is truncated, still ours.
        let long = "webserver-ab12-averylongsitename";
        assert!(is_our_webserver(long, "averylongsitename", "build42"));
        assert!(!is_our_webserver(
            "webserver-ab12-other-prod1",
            "example",
            "prod1"
        ));
    }
}
