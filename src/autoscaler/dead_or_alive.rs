//! DeadOrAlive and its companions on the autoscaler: DeadOrAlive (sweep this build's
//! webservers, put healthy ones into DNS, strike and retire the dead), PurgeDetachedIPs (DNS
//! records that name no webserver of this build) and MonitorForSlowBuilds (builds still
//! running after 30 minutes).
//!
//! Differences from legacy: see `health` for the sweep; strikes are a sliding window (3 down of
//! the last 5 sweeps) kept in the datastore (`adt-health/<ip>`) where every autoscaler adds to
//! them, with the grace measured from the server's creation as the cloud reports it, and they
//! are kept until the server is gone; the markers of builds whose run died expire instead of
//! keeping a healthy server out of DNS or making it a slow build; PurgeDetachedIPs never touches
//! DNS when the cloud lists no webservers (legacy wiped the round robin); IPs match exactly.

use super::health;
use super::notify;
use super::perform_scaling::retire;
use super::reconcile;
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

/// DeadOrAlive: sweep this build's webservers; healthy ones missing from DNS are added (unless a
/// live run is still building them: the markers of dead runs expire first); each verdict goes
/// into the server's shared window of strikes; servers down (k of the last n sweeps, after
/// their grace) are taken out and destroyed (PerformScaling replaces them). A removal that
/// fails (DNS, the cloud) keeps the strikes, so the next sweep tries again.
pub fn dead_or_alive(ctx: &Site, timeout: Duration) -> Result<Report> {
    let store = ctx.store()?;
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(Report::default());
    }
    let cloud = Cloud::open(ctx)?;
    let build_id = config::value(&ctx.settings()?, "BUILDIDENTIFIER").unwrap_or_default();
    let servers = cloud.our_webservers(&build_id)?;
    let ips: Vec<IpAddr> = servers.iter().filter_map(|s| s.public).collect();
    let cfg = health::config_from(ctx, timeout)?;
    let verdicts = health::sweep(&ips, &cfg);
    let (name, mut dns) = crate::dns::open(ctx)?;
    let in_dns: Vec<IpAddr> = dns.list(&name)?.iter().map(|r| r.ip).collect();
    let rt = ctx.home.join("runtime");
    let now = SystemTime::now();
    reconcile::expire_dead_builds(&rt);
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
    let ages: Vec<Option<Duration>> = verdicts
        .iter()
        .map(|v| {
            let created = servers
                .iter()
                .find(|s| s.public == Some(v.ip))
                .and_then(|s| s.created);
            health::age(&rt, v.ip, created, now)
        })
        .collect();
    let rules = health::Strikes::from_env();
    let down = health::record_shared(store.as_ref(), &rt, &verdicts, &ages, &rules)?;
    for ip in down {
        rep.stdout.push_str(&format!("IP ADDRESS {ip} is DOWN\n"));
        ctx.log(
            "UnresponsiveWebservers.log",
            &format!("{ip} is being destroyed because it was unresponsive"),
        );
        let Some(s) = servers.iter().find(|s| s.public == Some(ip)) else {
            continue;
        };
        match retire(ctx, store.as_ref(), &cloud, &s.name, ip, false) {
            Ok(()) => {
                notify(
                    ctx,
                    "UNRESPONSIVE WEBSERVER",
                    &format!(
                        "Webserver {ip} stopped answering; it is taken out of DNS and destroyed"
                    ),
                );
                if let Err(e) = health::forget_strikes(store.as_ref(), ip) {
                    rep.problems.push(e);
                }
            }
            // Its strikes stay: the next sweep tries again.
            Err(e) => rep.problems.push(e),
        }
    }
    // Strikes of servers that are gone.
    if let Ok(listed) = store.list(health::STRIKES_PREFIX, false) {
        for o in listed.objects {
            let gone = o
                .key
                .strip_prefix(health::STRIKES_PREFIX)
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .is_some_and(|ip| !ips.contains(&ip));
            if gone {
                let _ = store.delete(&o.key);
            }
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
    // A build whose run died is not slow: its markers expire, and PerformScaling adopts or
    // destroys its server.
    reconcile::expire_dead_builds(&rt);
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
