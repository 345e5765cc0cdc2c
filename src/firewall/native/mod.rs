//! The cloud host's native firewall, as a reconciler like the machine firewall: the desired
//! inbound rules come from the same validated datastore lists; the provider's current rules are
//! read with its CLI (JSON); only the difference is applied.
//!
//! Desired rules (legacy UpdateNativeFirewall.sh, per provider):
//! - every fleet IP (all published lists, public and private) and the build machine:
//!   TCP SSHPORT, DBPORT and 22;
//! - web traffic: TCP 443 (Linode also 80) from Cloudflare's IPv4 ranges and the autoscalers
//!   when DNSCHOICE is cloudflare, else from anywhere (DigitalOcean: on the webservers'
//!   firewall `adt-webserver-machines` only);
//! - ICMP from anywhere (not on Exoscale, as before).
//!
//! AWS: the legacy script opened SSH and the database port between its two security groups
//! (group pairs) rather than per IP; here the toolkit group holds the same IP-based set as the
//! other providers (the group pairs are left alone).
//!
//! Differences: DigitalOcean's `adt` firewall is edited in place (legacy deleted and recreated
//! it every 15 minutes, leaving the fleet without it meanwhile); Vultr rules are not duplicated
//! every run; missing firewalls are created. Fleet IPs come from the datastore lists rather than
//! the provider's server listings. Firewalls, their rules and devices, and the servers to attach
//! are read from every page (linode-cli `--all-rows`, vultr-cli's cursor), so a fleet past the
//! first page of a listing is neither missed nor attached twice.

mod aws;
mod digitalocean;
mod exoscale;
mod linode;
mod vultr;

use crate::cloud::servers::Droplet;
use crate::cloud::{json, Cli, Provider};
use crate::error::Result;
use crate::firewall::model::Inputs;
use crate::firewall::net::Net;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp(u16),
    Icmp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NativeRule {
    pub proto: Proto,
    pub source: Net,
}

pub use aws::db_allow_list;

pub fn anywhere() -> Net {
    Net {
        addr: Ipv4Addr::UNSPECIFIED.into(),
        len: 0,
    }
}

/// (fleet rules, web rules): web rules go on the webservers' firewall where a provider has one.
pub fn desired(provider: Provider, inp: &Inputs) -> (BTreeSet<NativeRule>, BTreeSet<NativeRule>) {
    let mut fleet_ips: BTreeSet<Net> = inp
        .lists
        .values()
        .flatten()
        .copied()
        .filter(Net::is_v4)
        .collect();
    fleet_ips.extend(inp.build_client.iter().copied().filter(Net::is_v4));
    let mut fleet = BTreeSet::new();
    for n in &fleet_ips {
        for p in [Some(inp.ssh_port), inp.db_port, Some(22)]
            .into_iter()
            .flatten()
        {
            fleet.insert(NativeRule {
                proto: Proto::Tcp(p),
                source: *n,
            });
        }
    }
    let web_sources: Vec<Net> = if inp.dns_choice == "cloudflare" {
        let mut v: Vec<Net> = inp.cloudflare.iter().copied().filter(Net::is_v4).collect();
        for l in ["autoscalerip", "autoscalerpublicip"] {
            v.extend(
                inp.lists
                    .get(l)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(Net::is_v4),
            );
        }
        v
    } else {
        vec![anywhere()]
    };
    let web_ports: &[u16] = if provider == Provider::Linode {
        &[443, 80]
    } else {
        &[443]
    };
    let mut web = BTreeSet::new();
    for n in &web_sources {
        for p in web_ports {
            web.insert(NativeRule {
                proto: Proto::Tcp(*p),
                source: *n,
            });
        }
    }
    let icmp = NativeRule {
        proto: Proto::Icmp,
        source: anywhere(),
    };
    match provider {
        Provider::DigitalOcean => {
            fleet.insert(icmp);
            web.insert(icmp);
            (fleet, web)
        }
        Provider::Exoscale => (fleet.union(&web).copied().collect(), BTreeSet::new()),
        Provider::Linode | Provider::Vultr | Provider::Aws => {
            let mut all: BTreeSet<NativeRule> = fleet.union(&web).copied().collect();
            all.insert(icmp);
            (all, BTreeSet::new())
        }
    }
}

fn net_of(s: &str) -> Option<Net> {
    if s == "0.0.0.0/0" || s == "0.0.0.0" {
        return Some(anywhere());
    }
    Net::parse(s, 0, 0).ok()
}

/// What a reconcile of the native firewall did.
#[derive(Debug, Default)]
pub struct NativeReport {
    pub added: usize,
    pub removed: usize,
}

pub fn reconcile(cli: &mut Cli, provider: Provider, inp: &Inputs) -> Result<NativeReport> {
    let (fleet, web) = desired(provider, inp);
    match provider {
        Provider::DigitalOcean => {
            // One listing of the firewalls and one of the droplets serve both firewalls.
            let firewalls: Option<Vec<digitalocean::DoFirewall>> = json(
                &cli.query("doctl", &["compute", "firewall", "list", "-o", "json"])?,
                "doctl compute firewall list",
            )?;
            let droplets: Option<Vec<Droplet>> = json(
                &cli.query("doctl", &["compute", "droplet", "list", "-o", "json"])?,
                "doctl compute droplet list",
            )?;
            let seen = (
                firewalls.as_deref().unwrap_or_default(),
                droplets.as_deref().unwrap_or_default(),
            );
            let mut r = digitalocean::reconcile(
                cli,
                seen,
                "adt",
                &fleet,
                &["autoscaler", "webserver", "database"],
            )?;
            let w =
                digitalocean::reconcile(cli, seen, "adt-webserver-machines", &web, &["webserver"])?;
            r.added += w.added;
            r.removed += w.removed;
            Ok(r)
        }
        Provider::Linode => linode::reconcile(cli, &fleet),
        Provider::Exoscale => exoscale::reconcile(cli, &fleet),
        Provider::Vultr => vultr::reconcile(cli, &fleet),
        Provider::Aws => aws::reconcile(cli, &fleet),
    }
}

fn diff(
    current: &BTreeSet<NativeRule>,
    want: &BTreeSet<NativeRule>,
) -> (Vec<NativeRule>, Vec<NativeRule>) {
    (
        want.difference(current).copied().collect(),
        current.difference(want).copied().collect(),
    )
}

/// A list, or a lone item where a CLI prints one object instead.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    /// The first item of a list, or the lone item.
    fn first(self) -> Option<T> {
        match self {
            OneOrMany::Many(v) => v.into_iter().next(),
            OneOrMany::One(t) => Some(t),
        }
    }
}
