//! DeadOrAlive and its companions on the autoscaler: DeadOrAlive (sweep this build's
//! webservers, put healthy ones into DNS, strike and retire the dead), PurgeDetachedIPs (DNS
//! records that name no webserver of this build) and MonitorForSlowBuilds (builds still
//! running after 30 minutes).
//!
//! Differences from legacy: see `health` for the sweep; PurgeDetachedIPs never touches DNS when
//! the cloud lists no webservers (legacy wiped the round robin); IPs match exactly.

use super::health;
use super::notify;
use super::perform_scaling::retire;
use crate::cloud::servers::Server;
use crate::cloud::Cloud;
use crate::config;
use crate::error::{Error, Result};
use crate::site::Site;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// What a run did (its legacy stdout), and what failed without stopping it (one server's DNS
/// change, say), for the command to report.
#[derive(Debug, Default)]
pub struct Report {
    pub stdout: String,
    pub problems: Vec<Error>,
}

/// DeadOrAlive: sweep this build's webservers; healthy ones missing from DNS are added; strikes
/// are recorded; servers down after three strikes are taken out and destroyed (PerformScaling
/// replaces them).
pub fn dead_or_alive(ctx: &Site, timeout: Duration) -> Result<Report> {
    let store = ctx.store()?;
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(Report::default());
    }
    let cloud = Cloud::open(ctx)?;
    let build_id = config::value(&ctx.settings()?, "BUILDIDENTIFIER").unwrap_or_default();
    let servers = cloud.webservers(&build_id)?;
    let ips: Vec<IpAddr> = servers.iter().map(|(_, ip)| *ip).collect();
    let cfg = health::config_from(ctx, timeout)?;
    let verdicts = health::sweep(&ips, &cfg);
    let (name, mut dns) = crate::dns::open(ctx)?;
    let in_dns: Vec<IpAddr> = dns.list(&name)?.iter().map(|r| r.ip).collect();
    let rt = ctx.home.join("runtime");
    let mut rep = Report::default();
    for v in verdicts
        .iter()
        .filter(|v| v.alive() && !in_dns.contains(&v.ip))
    {
        if rt
            .join("beingbuiltpublicips")
            .join(v.ip.to_string())
            .exists()
        {
            continue;
        }
        match crate::dns::add_ip(ctx, v.ip) {
            Ok(()) => rep
                .stdout
                .push_str(&format!("IP ADDRESS {} added to DNS\n", v.ip)),
            Err(e) => rep.problems.push(e),
        }
    }
    for ip in health::record(&rt, &verdicts, SystemTime::now())? {
        rep.stdout.push_str(&format!("IP ADDRESS {ip} is DOWN\n"));
        ctx.log(
            "UnresponsiveWebservers.log",
            &format!("{ip} is being destroyed because it was unresponsive"),
        );
        notify(
            ctx,
            "UNRESPONSIVE WEBSERVER",
            &format!("Webserver {ip} stopped answering; it is taken out of DNS and destroyed"),
        );
        if let Some((n, _)) = servers.iter().find(|(_, s)| *s == ip) {
            retire(ctx, store.as_ref(), &cloud, n, ip, false)?;
        }
    }
    Ok(rep)
}

/// PurgeDetachedIPs: DNS records for IPs that are not this build's webservers are removed.
/// Fixed: an empty cloud listing removes nothing (legacy wiped the whole round robin when the
/// cloud CLI failed or answered nothing).
pub fn purge_detached_ips(ctx: &Site) -> Result<Report> {
    let store = ctx.store()?;
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(Report::default());
    }
    let cloud = Cloud::open(ctx)?;
    let build_id = config::value(&ctx.settings()?, "BUILDIDENTIFIER").unwrap_or_default();
    // One listing serves both: which IPs are ours, and a detached IP's server (if any).
    let all = cloud.servers()?;
    let live: Vec<IpAddr> = all
        .iter()
        .filter(|s| cloud.is_our_webserver(s, &build_id))
        .filter_map(|s| s.public)
        .collect();
    if live.is_empty() {
        return Err(Error::Remote(
            "the cloud lists no webservers: not touching DNS".into(),
        ));
    }
    let (name, mut dns) = crate::dns::open(ctx)?;
    let mut rep = Report::default();
    for r in dns.list(&name)? {
        if live.contains(&r.ip) {
            continue;
        }
        let private = || {
            all.iter()
                .find(|s| s.public == Some(r.ip))
                .and_then(|s| s.private)
        };
        match crate::dns::remove_records(ctx, r.ip, private) {
            Ok(()) => rep
                .stdout
                .push_str(&format!("removed detached {} from DNS\n", r.ip)),
            Err(e) => rep.problems.push(e),
        }
    }
    Ok(rep)
}

/// MonitorForSlowBuilds: a webserver still being built 30 minutes after it started is taken
/// out of DNS and destroyed.
pub fn monitor_for_slow_builds(ctx: &Site, now: SystemTime) -> Result<String> {
    let store = ctx.store()?;
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(String::new());
    }
    let rt = ctx.home.join("runtime");
    let cloud = Cloud::open(ctx)?;
    let build_id = config::value(&ctx.settings()?, "BUILDIDENTIFIER").unwrap_or_default();
    let servers = cloud.our_webservers(&build_id)?;
    let mut out = String::new();
    for e in std::fs::read_dir(rt.join("beingbuiltips"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(ip) = e.file_name().to_string_lossy().parse::<IpAddr>() else {
            continue;
        };
        let age = e
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default())
            .unwrap_or_default();
        if age <= Duration::from_secs(30 * 60) {
            continue;
        }
        ctx.log(
            "SlowBuildsLog.log",
            &format!("WEBSERVER {ip} IS A SLOW BUILD: destroying it"),
        );
        out.push_str(&format!("WEBSERVER {ip} IS A SLOW BUILD\n"));
        notify(
            ctx,
            &format!("WEBSERVER {ip} IS A SLOW BUILD"),
            "Still being built after 30 minutes: taken out of DNS and destroyed",
        );
        // The marker is named by the private IP (legacy); the server goes by its public one.
        match servers
            .iter()
            .find(|s| s.private == Some(ip) || s.public == Some(ip))
        {
            Some(Server {
                name,
                public: Some(public),
                ..
            }) => retire(ctx, store.as_ref(), &cloud, name, *public, false)?,
            _ => {
                let _ = std::fs::remove_file(e.path());
                let _ = std::fs::remove_file(rt.join("beingbuiltpublicips").join(ip.to_string()));
            }
        }
    }
    Ok(out)
}
