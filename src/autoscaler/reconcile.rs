//! Reconciliation from the cloud's own list: every scaling run starts from the servers the
//! cloud reports for this build identifier, not from the datastore's markers, and brings the
//! markers and DNS in line with them.
//!
//! - A build marker (`runtime/beingbuiltips/<private>`, `runtime/beingbuiltpublicips/<public>`)
//!   names its build in `runtime/adt-builds/<public>` (`<machine>/<pid>/<boot> <private>`); the
//!   markers of a build whose process is provably dead expire at once (markers without an owner,
//!   the legacy bootstrap's, stay MonitorForSlowBuilds' business).
//! - A healthy server the datastore does not know (no `webserverips/` nor
//!   `webserverpublicips/` marker, or only one of them) is adopted: its markers are written and
//!   it goes into DNS.
//! - A server that is not healthy and that the datastore does not know, or that a dead run left
//!   half built, is destroyed once it is older than the build timeout (`ADT_BUILD_WAIT` plus
//!   `ADT_BUILD_MARGIN_SECS`, default 60 s), by the creation time the cloud reports.
//! - Markers that name no server are removed (where the cloud reports private IPs), and so are
//!   DNS records that name none of this build's servers (as PurgeDetachedIPs).
//!
//! Destroying a server never depends on the datastore: see [`discard`].

use super::health::{self, Verdict};
use super::lock::Owner;
use crate::cloud::servers::Server;
use crate::cloud::Cloud;
use crate::datastore::Backend;
use crate::error::{Context, Result};
use crate::site::Site;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The longest a build may take before its server counts as abandoned.
pub fn build_timeout(cloud: &Cloud) -> Duration {
    let wait = crate::knobs::env_u64(
        "ADT_BUILD_WAIT",
        if matches!(cloud, Cloud::Local(_)) {
            90
        } else {
            1500
        },
    );
    Duration::from_secs(wait + crate::knobs::env_u64("ADT_BUILD_MARGIN_SECS", 60))
}

/// Mark a build as running: its owner first, then the legacy markers (so no legacy marker of
/// ours is ever without an owner, even if the run is killed between the two).
pub fn mark_build(runtime: &Path, public: IpAddr, private: IpAddr) {
    let _ = std::fs::create_dir_all(runtime.join("adt-builds"));
    let _ = std::fs::write(
        runtime.join("adt-builds").join(public.to_string()),
        format!("{} {private}\n", Owner::me().holder()),
    );
    for (dir, ip) in [("beingbuiltips", private), ("beingbuiltpublicips", public)] {
        let _ = std::fs::create_dir_all(runtime.join(dir));
        let _ = std::fs::write(runtime.join(dir).join(ip.to_string()), "");
    }
}

/// The build is over (done or failed): its markers go, the owner last.
pub fn unmark_build(runtime: &Path, public: IpAddr, private: IpAddr) {
    let _ = std::fs::remove_file(runtime.join("beingbuiltips").join(private.to_string()));
    let _ = std::fs::remove_file(runtime.join("beingbuiltpublicips").join(public.to_string()));
    let _ = std::fs::remove_file(runtime.join("adt-builds").join(public.to_string()));
}

/// Public IPs being built by a live process (on this machine), per the build markers.
pub fn live_builds(runtime: &Path) -> Vec<IpAddr> {
    std::fs::read_dir(runtime.join("adt-builds"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let ip: IpAddr = e.file_name().to_string_lossy().parse().ok()?;
            let text = std::fs::read_to_string(e.path()).ok()?;
            let dead = Owner::of_lock(&text).is_some_and(|o| o.provably_dead());
            (!dead).then_some(ip)
        })
        .collect()
}

/// Remove the markers of builds whose process is provably dead. Markers without an owner
/// (the legacy bootstrap's) are left to MonitorForSlowBuilds, as legacy. Returns the public IPs
/// whose markers went.
pub fn expire_dead_builds(runtime: &Path) -> Vec<IpAddr> {
    let mut gone = Vec::new();
    for e in std::fs::read_dir(runtime.join("adt-builds"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(public) = e.file_name().to_string_lossy().parse::<IpAddr>() else {
            continue;
        };
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        if Owner::of_lock(&text).is_some_and(|o| o.provably_dead()) {
            let private = text
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(public);
            unmark_build(runtime, public, private);
            gone.push(public);
        }
    }
    gone
}

/// What reconciliation found, and the sweep it is based on.
#[derive(Debug, Default)]
pub struct Reconciliation {
    /// This build's servers (with a public IP) as the cloud lists them, and their verdicts.
    pub servers: Vec<Server>,
    pub verdicts: Vec<Verdict>,
    /// The round robin's IPs.
    pub in_dns: Vec<IpAddr>,
    /// Healthy servers the datastore does not know, or knows by one marker of the two.
    pub adopt: Vec<Server>,
    /// Servers to destroy, and why.
    pub discard: Vec<(Server, String)>,
    /// Servers that are not healthy and that the datastore does not know (or a dead run left
    /// half built), still within their build timeout: counted, destroyed if they stay so. (A
    /// server whose age is unknown, when the cloud reports no creation time and this
    /// autoscaler did not build it, is neither pending nor destroyed.)
    pub pending: Vec<Server>,
    /// Datastore markers that name no server.
    pub stale_markers: Vec<String>,
    /// DNS records that name none of this build's servers.
    pub detached: Vec<IpAddr>,
}

impl Reconciliation {
    pub fn alive(&self, ip: IpAddr) -> bool {
        self.verdicts.iter().any(|v| v.ip == ip && v.alive())
    }

    /// The servers that stay (all but those to discard).
    pub fn kept(&self) -> Vec<&Server> {
        self.servers
            .iter()
            .filter(|s| !self.discard.iter().any(|(d, _)| d.name == s.name))
            .collect()
    }
}

/// Look, change nothing: list, sweep, compare with the markers and DNS.
pub fn analyse(
    ctx: &Site,
    store: &dyn Backend,
    cloud: &Cloud,
    build_id: &str,
    now: SystemTime,
) -> Result<Reconciliation> {
    let rt = ctx.home.join("runtime");
    let servers = cloud.our_webservers(build_id)?;
    let ips: Vec<IpAddr> = servers.iter().filter_map(|s| s.public).collect();
    let cfg = health::config_from(
        ctx,
        Duration::from_secs_f64(crate::knobs::env_secs_f64("ADT_HEALTH_TIMEOUT", 5.0)),
    )?;
    let verdicts = health::sweep(&ips, &cfg);
    let private_marks = crate::ips::list_ips(store, "webserverips/")?;
    let public_marks = crate::ips::list_ips(store, "webserverpublicips/")?;
    let (dns_name, mut dns) = crate::dns::open(ctx)?;
    let in_dns: Vec<IpAddr> = dns.list(&dns_name)?.iter().map(|r| r.ip).collect();
    let live = live_builds(&rt);
    let timeout = build_timeout(cloud);
    let mut r = Reconciliation {
        in_dns,
        ..Default::default()
    };
    for (s, v) in servers.iter().zip(&verdicts) {
        let Some(public) = s.public else { continue };
        // A server being built, or one this sweep had no time for: nothing to say of it yet.
        if live.contains(&public) || !v.checked() {
            continue;
        }
        let private = s.private.unwrap_or(public);
        let known = private_marks.contains(&private) || public_marks.contains(&public);
        let half_built = !live.contains(&public)
            && (rt.join("adt-builds").join(public.to_string()).exists()
                || rt.join("beingbuiltips").join(private.to_string()).exists());
        let age = health::age(&rt, public, s.created, now);
        if v.alive() {
            // Unknown, or half published (a run killed between its two markers).
            if !(private_marks.contains(&private) && public_marks.contains(&public)) {
                r.adopt.push(s.clone());
            }
        } else if (!known || half_built) && age.is_some_and(|a| a > timeout) {
            let why = if known {
                "left half built by a run that died"
            } else {
                "unknown to the datastore and not healthy"
            };
            r.discard
                .push((s.clone(), format!("{why} after {}s", timeout.as_secs())));
        } else if (!known || half_built) && age.is_some() {
            // (Of unknown age: nothing can be said; left alone.)
            r.pending.push(s.clone());
        }
    }
    // Markers that name no server, where the cloud reports every server's private IP (on a
    // cloud that does not, a webserver's own marker could name an address it does not list).
    if servers.iter().all(|s| s.private.is_some()) {
        let names = |ip: &IpAddr| {
            servers
                .iter()
                .any(|s| s.private == Some(*ip) || s.public == Some(*ip))
        };
        for ip in private_marks.iter().filter(|ip| !names(ip)) {
            r.stale_markers.push(format!("webserverips/{ip}"));
        }
        for ip in public_marks.iter().filter(|ip| !names(ip)) {
            r.stale_markers.push(format!("webserverpublicips/{ip}"));
        }
    }
    if !ips.is_empty() {
        r.detached = r
            .in_dns
            .iter()
            .filter(|ip| !ips.contains(ip))
            .copied()
            .collect();
    }
    r.servers = servers;
    r.verdicts = verdicts;
    Ok(r)
}

/// Destroy a server without depending on the datastore: out of DNS if that can be done (a
/// server that is not healthy serves nothing there anyway), destroyed in the cloud, then its
/// markers removed where the datastore answers (reconciliation removes what is left).
pub fn discard(ctx: &Site, store: &dyn Backend, cloud: &Cloud, s: &Server) -> Result<()> {
    let rt = ctx.home.join("runtime");
    let Some(public) = s.public else {
        return cloud
            .destroy_server(s)
            .with_context(|| format!("destroying server {}", s.name));
    };
    let private = s.private.unwrap_or(public);
    if let Err(e) = crate::dns::remove_records(ctx, public, || None) {
        ctx.scaling_log(&format!(
            "Could not take {public} out of DNS ({e}); destroying {} anyway",
            s.name
        ));
    }
    cloud
        .destroy_server(s)
        .with_context(|| format!("destroying server {} ({public})", s.name))?;
    ctx.scaling_log(&format!("Destroyed server {} ({public})", s.name));
    unmark_build(&rt, public, private);
    let _ = std::fs::remove_file(rt.join("protectedfromtermination").join(public.to_string()));
    let _ = std::fs::remove_file(rt.join(format!("IPREMOVED:{public}")));
    for k in [
        format!("webserverips/{private}"),
        format!("webserverpublicips/{public}"),
        format!("bootedwebserverips/{private}"),
        format!("shuttingdownwebserverips/{public}"),
        format!("{}{public}", health::STRIKES_PREFIX),
    ] {
        let _ = store.delete(&k);
    }
    Ok(())
}

/// Carry out a reconciliation. Returns the lines worth reporting (what was adopted or
/// destroyed); DNS additions that fail are only logged (DeadOrAlive adds them later).
pub fn apply(
    ctx: &Site,
    store: &dyn Backend,
    cloud: &Cloud,
    r: &Reconciliation,
) -> Result<Vec<String>> {
    let mut said = Vec::new();
    for (s, why) in &r.discard {
        discard(ctx, store, cloud, s)?;
        let line = format!(
            "discarded {} {} ({why})",
            s.name,
            s.public.map(|i| i.to_string()).unwrap_or_default()
        );
        ctx.scaling_log(&line);
        said.push(line);
    }
    for s in &r.adopt {
        let Some(public) = s.public else { continue };
        let private = s.private.unwrap_or(public);
        store
            .put_bytes(&format!("webserverips/{private}"), b"")
            .and_then(|()| store.put_bytes(&format!("webserverpublicips/{public}"), b""))
            .with_context(|| format!("adopting webserver {}", s.name))?;
        let line = format!("adopted {} {public}", s.name);
        ctx.scaling_log(&line);
        said.push(line);
    }
    for k in &r.stale_markers {
        store
            .delete(k)
            .with_context(|| "removing a marker that names no server".to_string())?;
        ctx.scaling_log(&format!("Removed {k}: no such server"));
    }
    for ip in &r.detached {
        match crate::dns::remove_records(ctx, *ip, || None) {
            Ok(()) => ctx.scaling_log(&format!("Removed detached {ip} from DNS")),
            Err(e) => ctx.scaling_log(&format!("Could not remove detached {ip} from DNS: {e}")),
        }
    }
    let discarded = |ip: &IpAddr| r.discard.iter().any(|(s, _)| s.public == Some(*ip));
    for v in r
        .verdicts
        .iter()
        .filter(|v| v.alive() && !r.in_dns.contains(&v.ip) && !discarded(&v.ip))
    {
        match crate::dns::add_ip(ctx, v.ip) {
            Ok(()) => ctx.scaling_log(&format!("Added {} to DNS", v.ip)),
            Err(e) => ctx.scaling_log(&format!("Could not add {} to DNS: {e}", v.ip)),
        }
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markers_of_a_dead_build_expire_and_a_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let rt = dir.path();
        let (public, private): (IpAddr, IpAddr) =
            ("203.0.113.5".parse().unwrap(), "10.0.0.5".parse().unwrap());
        mark_build(rt, public, private);
        assert_eq!(live_builds(rt), vec![public]);
        assert!(expire_dead_builds(rt).is_empty(), "this process is alive");
        // The same build, by a process that has exited.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = Owner {
            pid: i32::try_from(child.id()).unwrap(),
            ..Owner::me()
        };
        child.wait().unwrap();
        std::fs::write(
            rt.join("adt-builds").join(public.to_string()),
            format!("{} {private}\n", dead.holder()),
        )
        .unwrap();
        assert!(live_builds(rt).is_empty());
        // A legacy marker without an owner is left to MonitorForSlowBuilds.
        std::fs::write(rt.join("beingbuiltips/10.0.0.9"), "").unwrap();
        assert_eq!(expire_dead_builds(rt), vec![public]);
        assert!(!rt.join("beingbuiltips/10.0.0.5").exists());
        assert!(!rt.join("beingbuiltpublicips/203.0.113.5").exists());
        assert!(rt.join("beingbuiltips/10.0.0.9").exists());
    }
}
