//! The desired rule set of a machine: a pure function of its type, settings and the IP lists
//! published in the datastore. The tables (2022 SetupFirewall.sh / SetupDNSFirewall.sh, with
//! the legacy defects fixed) are:
//!
//! | machine    | source                                              | ports                    | when |
//! |------------|-----------------------------------------------------|--------------------------|------|
//! | all        | BUILDCLIENTIP (and `buildclientip/*`)               | SSHPORT                  | always (never removed) |
//! | webserver  | `autoscalerip/*`, `autoscalerpublicip/*`            | SSHPORT, 443, 80         | PRODUCTION:1 |
//! | webserver  | `webserverips/*`, `webserverpublicips/*`, `databaseip/*`, `databasepublicip/*` | SSHPORT | always |
//! | webserver  | Cloudflare's ranges (IPv4 and IPv6)                 | 443, 80                  | DNSCHOICE:cloudflare |
//! | webserver  | anywhere                                            | 443, 80                  | DNSCHOICE digitalocean, exoscale, linode or vultr |
//! | webserver  | the ipset `allowed-laptop-ips` (authorised clients) | 443 (and no public 443)  | AUTHENTICATORTYPE:firewall |
//! | autoscaler | `autoscalerip/*`, `autoscalerpublicip/*`            | all ports                | always |
//! | autoscaler | `webserverips/*`, `webserverpublicips/*`, `databaseip/*`, `databasepublicip/*` | SSHPORT | always |
//! | build      | `authorised-ips.dat` of `authip-<id>` (operators' laptops), LAPTOP_IP (never removed) | SSHPORT | always |
//! | database   | `webserverips/*`, `webserverpublicips/*`, `autoscalerip/*`, `autoscalerpublicip/*`, `databaseip/*`, `databasepublicip/*` | SSHPORT, DBPORT | always |
//!
//! The 2025 generation's table is data (`crate::layout::FIREWALL_2025`, read by
//! [`super::ports2025`]): VPCIPRANGE and the build machine (when outside the VPC) reach the
//! ports the table names, and the machine's line of `runtime/firewallports.dat` adds its
//! tokens; those arrive here as [`Inputs::fixed`], with no datastore list and no DNSCHOICE rule.
//! A ports line's `0.0.0.0/0` is a rule from anywhere: the file is the operator's build
//! configuration, not a datastore entry.
//!
//! Everything else is denied (default incoming policy deny). Rules are TCP only (legacy ufw
//! rules had no protocol and opened UDP too), except the autoscalers' all-port rule.

use super::net::Net;
use super::Rule;
use crate::home::Machine;
use std::collections::{BTreeMap, BTreeSet};

/// Port 0 in a rule: every port and protocol.
pub const ALL_PORTS: u16 = 0;

pub const LISTS: [&str; 7] = [
    "autoscalerip",
    "autoscalerpublicip",
    "webserverips",
    "webserverpublicips",
    "databaseip",
    "databasepublicip",
    "buildclientip",
];

/// Everything the model needs, already validated.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub ssh_port: u16,
    pub db_port: Option<u16>,
    pub production: bool,
    pub dns_choice: String,
    pub build_client: Vec<Net>,
    /// Datastore list name (`webserverips`) → the IPs in it.
    pub lists: BTreeMap<String, Vec<Net>>,
    pub cloudflare: Vec<Net>,
    /// AUTHENTICATORTYPE:firewall (2025 authentication server): a webserver or reverse proxy
    /// admits 443 only from the authorised client addresses ([`super::auth::SET`]), never from
    /// anywhere or from Cloudflare's ranges.
    pub auth_firewall: bool,
    /// The authorised client addresses, validated and unexpired.
    pub auth_ips: Vec<Net>,
    /// Rules of the generation's fixed sources (2025: VPCIPRANGE, the build machine outside
    /// the VPC, the machine's line of `runtime/firewallports.dat`).
    pub fixed: Vec<Rule>,
    /// Rules never removed this run (2025: those the last non-empty ports line opened, while
    /// the line is empty or missing).
    pub keep: Vec<Rule>,
    /// More ports whose rules are ours (ufw: which rules a reconcile may remove).
    pub extra_ports: BTreeSet<u16>,
}

/// The ports each list grants on a machine (used to freeze deletions when a list vanishes).
pub fn grants(machine: Machine, list: &str, inp: &Inputs) -> Vec<u16> {
    let ssh = inp.ssh_port;
    match (machine, list) {
        (_, "buildclientip") => vec![ssh],
        (Machine::Webserver, "autoscalerip" | "autoscalerpublicip") => {
            if inp.production {
                vec![ssh, 443, 80]
            } else {
                vec![]
            }
        }
        (Machine::Webserver, _) => vec![ssh],
        (Machine::Autoscaler, "autoscalerip" | "autoscalerpublicip") => vec![ALL_PORTS],
        (Machine::Autoscaler, _) => vec![ssh],
        (Machine::Database, _) => {
            let mut v = vec![ssh];
            v.extend(inp.db_port);
            v
        }
        (Machine::Build, ACCESS_LIST) => vec![ssh],
        (Machine::Build, _) => vec![],
    }
}

/// The build machine's list of authorised addresses (`authorised-ips.dat`), as a list name.
pub const ACCESS_LIST: &str = "authorised-ips";

/// The complete desired rule set.
pub fn desired(machine: Machine, inp: &Inputs) -> BTreeSet<Rule> {
    let mut set = BTreeSet::new();
    for n in &inp.build_client {
        set.insert(Rule::from(*n, inp.ssh_port));
    }
    for (list, ips) in &inp.lists {
        for port in grants(machine, list, inp) {
            for n in ips {
                set.insert(Rule::from(*n, port));
            }
        }
    }
    set.extend(inp.fixed.iter().copied());
    if machine == Machine::Webserver {
        match inp.dns_choice.as_str() {
            "cloudflare" => {
                for n in &inp.cloudflare {
                    if !inp.auth_firewall {
                        set.insert(Rule::from(*n, 443));
                    }
                    set.insert(Rule::from(*n, 80));
                }
            }
            "digitalocean" | "exoscale" | "linode" | "vultr" => {
                if !inp.auth_firewall {
                    set.insert(Rule::anywhere(443));
                }
                set.insert(Rule::anywhere(80));
            }
            _ => {}
        }
    }
    set
}

/// Rules a reconcile never deletes: the build machine's SSH access.
pub fn protected(inp: &Inputs) -> BTreeSet<Rule> {
    inp.build_client
        .iter()
        .map(|n| Rule::from(*n, inp.ssh_port))
        .chain(inp.keep.iter().copied())
        .collect()
}

/// The ports a machine's rules can use (ufw: which legacy-shaped rules are ours).
pub fn managed_ports(machine: Machine, inp: &Inputs) -> BTreeSet<u16> {
    let mut p: BTreeSet<u16> = [inp.ssh_port].into();
    match machine {
        Machine::Webserver => {
            p.extend([443, 80]);
        }
        Machine::Database => p.extend(inp.db_port),
        Machine::Autoscaler => {
            p.insert(ALL_PORTS);
        }
        Machine::Build => {}
    }
    p.extend(inp.fixed.iter().chain(&inp.keep).map(|r| r.port));
    p.extend(inp.extra_ports.iter().copied());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Net {
        Net::parse(s, 0, 0).unwrap()
    }

    fn inputs() -> Inputs {
        let mut lists = BTreeMap::new();
        lists.insert("webserverips".to_string(), vec![n("10.0.0.5")]);
        lists.insert("autoscalerip".to_string(), vec![n("10.0.0.9")]);
        lists.insert("databaseip".to_string(), vec![n("10.0.0.7")]);
        Inputs {
            ssh_port: 1035,
            db_port: Some(2035),
            production: true,
            dns_choice: "cloudflare".into(),
            build_client: vec![n("192.0.2.10")],
            lists,
            cloudflare: vec![n("173.245.48.0/20"), n("2400:cb00::/32")],
            auth_firewall: false,
            auth_ips: vec![],
            ..Default::default()
        }
    }

    #[test]
    fn webserver_table() {
        let d = desired(Machine::Webserver, &inputs());
        assert!(d.contains(&Rule::from(n("192.0.2.10"), 1035)));
        assert!(d.contains(&Rule::from(n("10.0.0.9"), 443)));
        assert!(d.contains(&Rule::from(n("10.0.0.5"), 1035)));
        assert!(!d.contains(&Rule::from(n("10.0.0.5"), 443)));
        assert!(d.contains(&Rule::from(n("2400:cb00::/32"), 80)));
        assert!(
            d.iter().all(|r| r.source.is_some()),
            "cloudflare: nothing from anywhere"
        );
        let mut dev = inputs();
        dev.production = false;
        dev.dns_choice = "linode".into();
        let d = desired(Machine::Webserver, &dev);
        assert!(!d.iter().any(|r| r.source == Some(n("10.0.0.9"))));
        assert!(d.contains(&Rule::anywhere(443)) && d.contains(&Rule::anywhere(80)));
    }

    #[test]
    fn the_authentication_server_closes_public_443() {
        for dns in ["cloudflare", "linode"] {
            let mut a = inputs();
            a.dns_choice = dns.into();
            a.auth_firewall = true;
            let d = desired(Machine::Webserver, &a);
            assert!(
                !d.iter().any(|r| r.port == 443
                    && r.source
                        .is_none_or(|s| s.len < 32 && s.is_v4() || s.len < 128 && !s.is_v4())),
                "{dns}: no public 443: {d:?}"
            );
            assert!(
                d.contains(&Rule::from(n("10.0.0.9"), 443)),
                "the autoscalers keep 443"
            );
        }
    }

    #[test]
    fn database_and_autoscaler_tables() {
        let d = desired(Machine::Database, &inputs());
        for ip in ["10.0.0.5", "10.0.0.9", "10.0.0.7"] {
            assert!(d.contains(&Rule::from(n(ip), 2035)) && d.contains(&Rule::from(n(ip), 1035)));
        }
        assert!(!d.iter().any(|r| r.port == 443 || r.source.is_none()));
        let a = desired(Machine::Autoscaler, &inputs());
        assert!(a.contains(&Rule::from(n("10.0.0.9"), ALL_PORTS)));
        assert!(a.contains(&Rule::from(n("10.0.0.5"), 1035)));
        assert!(!a.iter().any(|r| r.source.is_none()));
    }
}
