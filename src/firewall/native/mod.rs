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
//!
//! The build machine's own firewall (legacy 2022 `AdjustBuildMachineNativeFirewall.sh`, sourced
//! by TightenBuildMachineFirewall): [`reconcile_build_machine`] keeps the firewall
//! `adt-build-machine` (AWS: the security group of that name) admitting the SSH port from each
//! address of the access list, and ICMP, and puts the build machine in it; the build machine is
//! the server the cloud lists with one of its own addresses. Differences from legacy: the rules
//! are edited by difference (legacy deleted and recreated the firewall on every change, leaving
//! the build machine open or shut meanwhile), so a removed address loses access; no TCP 22 from
//! anywhere (legacy DigitalOcean's) and no database port (legacy DigitalOcean opened DB_PORT on
//! the build machine, which runs no database); an empty list changes nothing (legacy failed on
//! `/32`), and `NOIP` opens nothing (legacy opened the SSH port to everyone); Exoscale's ICMP rule
//! is not kept (its rules are TCP only here, as for the fleet); Vultr and AWS are covered too
//! (legacy 2022 had neither).

mod aws;
mod digitalocean;
mod exoscale;
mod linode;
mod vultr;

use crate::cloud::servers::{CliCloud, Droplet, Host};
use crate::cloud::{json, Cli, Provider};
use crate::error::{Error, Result};
use crate::firewall::model::Inputs;
use crate::firewall::net::Net;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

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

/// The machines a native firewall is for: the fleet's roles (a server whose name holds one),
/// or given server ids (the build machine).
pub enum Members<'a> {
    Roles(&'a [&'a str]),
    Ids(&'a [String]),
}

impl Members<'_> {
    pub fn takes(&self, name: &str, id: &str) -> bool {
        match self {
            Members::Roles(r) => r.iter().any(|r| name.contains(r)),
            Members::Ids(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// A native firewall: its name (DigitalOcean's and Linode's label, Vultr's description, the
/// Exoscale and AWS group name) and the machines it is for.
pub struct Target<'a> {
    pub name: &'a str,
    pub members: Members<'a>,
}

/// The fleet's firewall.
pub const FLEET: Target<'static> = Target {
    name: "adt",
    members: Members::Roles(&["autoscaler", "webserver", "database"]),
};

/// The build machine's firewall.
pub const BUILD_MACHINE: &str = "adt-build-machine";

/// The build machine's rules: its SSH port from each IPv4 address of the access list, and ICMP
/// from anywhere (not on Exoscale, whose rules here are TCP only).
pub fn build_machine_rules(provider: Provider, ips: &[Net], ssh_port: u16) -> BTreeSet<NativeRule> {
    let mut want: BTreeSet<NativeRule> = ips
        .iter()
        .filter(|n| n.is_v4())
        .map(|n| NativeRule {
            proto: Proto::Tcp(ssh_port),
            source: *n,
        })
        .collect();
    if provider != Provider::Exoscale {
        want.insert(NativeRule {
            proto: Proto::Icmp,
            source: anywhere(),
        });
    }
    want
}

/// Keep the build machine's native firewall as the access list `ips` says, and the build
/// machine (the server listed with one of `own` as its public or private address) in it.
/// An empty list (no IPv4 address) changes nothing: the build machine is not shut off.
pub fn reconcile_build_machine(
    cloud: &mut CliCloud,
    ips: &[Net],
    ssh_port: u16,
    own: &[IpAddr],
) -> Result<NativeReport> {
    let provider = match cloud.host {
        Host::DigitalOcean => Provider::DigitalOcean,
        Host::Exoscale => Provider::Exoscale,
        Host::Linode => Provider::Linode,
        Host::Vultr => Provider::Vultr,
        Host::Aws => Provider::Aws,
    };
    if !ips.iter().any(Net::is_v4) {
        return Err(Error::Config(
            "the access list holds no IPv4 address: the build machine's native firewall was left as it is".into(),
        ));
    }
    let ids: Vec<String> = cloud
        .list()?
        .into_iter()
        .filter(|s| {
            [s.public, s.private]
                .iter()
                .flatten()
                .any(|a| own.contains(a))
        })
        .map(|s| s.id)
        .collect();
    if ids.is_empty() {
        let own: Vec<String> = own.iter().map(IpAddr::to_string).collect();
        return Err(Error::Config(format!(
            "the cloud lists no server with this build machine's addresses ({}): its native firewall was left as it is",
            own.join(" ")
        )));
    }
    let want = build_machine_rules(provider, ips, ssh_port);
    let target = Target {
        name: BUILD_MACHINE,
        members: Members::Ids(&ids),
    };
    let zone = cloud.zone.clone();
    reconcile_one(&mut cloud.cli, provider, &target, &want, &zone)
}

fn reconcile_one(
    cli: &mut Cli,
    provider: Provider,
    target: &Target,
    want: &BTreeSet<NativeRule>,
    zone: &str,
) -> Result<NativeReport> {
    match provider {
        Provider::DigitalOcean => {
            let (firewalls, droplets) = do_listings(cli)?;
            digitalocean::reconcile(
                cli,
                (
                    firewalls.as_deref().unwrap_or_default(),
                    droplets.as_deref().unwrap_or_default(),
                ),
                target,
                want,
            )
        }
        Provider::Linode => linode::reconcile(cli, target, want),
        Provider::Exoscale => exoscale::reconcile(cli, target, want, zone),
        Provider::Vultr => vultr::reconcile(cli, target, want),
        Provider::Aws => aws::reconcile(cli, target, want),
    }
}

type DoListings = (Option<Vec<digitalocean::DoFirewall>>, Option<Vec<Droplet>>);

fn do_listings(cli: &mut Cli) -> Result<DoListings> {
    Ok((
        json(
            &cli.query("doctl", &["compute", "firewall", "list", "-o", "json"])?,
            "doctl compute firewall list",
        )?,
        json(
            &cli.query("doctl", &["compute", "droplet", "list", "-o", "json"])?,
            "doctl compute droplet list",
        )?,
    ))
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
            let (firewalls, droplets) = do_listings(cli)?;
            let seen = (
                firewalls.as_deref().unwrap_or_default(),
                droplets.as_deref().unwrap_or_default(),
            );
            let mut r = digitalocean::reconcile(cli, seen, &FLEET, &fleet)?;
            let webservers = Target {
                name: "adt-webserver-machines",
                members: Members::Roles(&["webserver"]),
            };
            let w = digitalocean::reconcile(cli, seen, &webservers, &web)?;
            r.added += w.added;
            r.removed += w.removed;
            Ok(r)
        }
        p => reconcile_one(cli, p, &FLEET, &fleet, ""),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Net {
        Net::parse(s, 32, 128).unwrap()
    }

    #[test]
    fn build_machine_rules_are_the_ssh_port_per_ipv4_address_and_icmp() {
        let ips = [net("198.51.100.7"), net("2001:db8::1"), net("198.51.100.8")];
        let got: Vec<String> = build_machine_rules(Provider::Linode, &ips, 1035)
            .iter()
            .map(|r| format!("{:?} {}", r.proto, r.source))
            .collect();
        assert_eq!(
            got,
            [
                "Tcp(1035) 198.51.100.7/32",
                "Tcp(1035) 198.51.100.8/32",
                "Icmp 0.0.0.0/0"
            ]
        );
        // Exoscale's rules here are TCP only.
        assert_eq!(build_machine_rules(Provider::Exoscale, &ips, 1035).len(), 2);
    }

    #[test]
    fn members_by_role_or_by_id() {
        assert!(FLEET.members.takes("webserver-ab12-example-prod1", "7"));
        assert!(!FLEET.members.takes("my-build-machine", "7"));
        let ids = ["900".to_string()];
        let bm = Members::Ids(&ids);
        assert!(bm.takes("anything", "900"));
        assert!(!bm.takes("webserver-ab12-example-prod1", "7"));
    }
}
