//! PerformScaling and DeadOrAlive's actions, on a cloud behind [`Cloud`]: the `local` cloud, or
//! a cloud host's CLI (see `crate::cloud::servers` for how a webserver is built there).
//!
//! PerformScaling: gates as legacy (SWITCHOFFSCALING, syncpurge, switchoffscalingpriortosyncpurge,
//! INSTALLEDSUCCESSFULLY); one autoscaler at a time through a lock object in the datastore
//! (`adt-locks/autoscaling`, see [`super::lock`]); the profile (created from NUMBERWS when
//! missing, minimum 2, at most MAXWEBSERVERS, default 20); reconciliation from the cloud's own
//! list ([`super::reconcile`]); then build or destroy the difference between the webservers
//! the cloud reports for this build and NO_WEBSERVERS.
//!
//! Differences from legacy: all missing webservers are built at once, with bounded waits, and no
//! autoscaler reboot; the cloud listing is filtered by build identifier and is the truth
//! (orphans are adopted or destroyed, markers and DNS follow it); a build that fails destroys
//! its server without needing the datastore; scale-down victims are unhealthy servers first,
//! then those missing from DNS, then the newest (so a scale-down never removes a healthy server
//! while an unhealthy one stays); a server leaving is taken out of DNS, drained
//! (`ADT_DNS_DRAIN_SECS`, default 120), asked to shut down (MARKEDFORSHUTDOWN, bounded wait)
//! and destroyed. `--dry-run` reads only: it writes no setting, profile, lock, log or marker.

use super::health;
use super::lock::{acquire_owned_lock, holding_lock_checked, Owner};
use super::notify;
use super::reconcile::{self, Reconciliation};
use crate::cloud::{lock, Cloud};
use crate::config;
use crate::datastore::Backend;
use crate::error::{Context, Error, Result};
use crate::process::{self, Run};
use crate::site::Site;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `webserver-<4 random>-<second label of WEBSITEURL>-<BUILDIDENTIFIER>`, cut to 32.
pub fn webserver_name(url: &str, build_id: &str) -> String {
    let site = url.split('.').nth(1).unwrap_or("site");
    let mut n: String = format!(
        "webserver-{}-{site}-{build_id}",
        crate::cloud::random_alnum(4)
    )
    .chars()
    .take(32)
    .collect();
    if n.ends_with('-') {
        n.pop();
    }
    n
}

fn touch(p: PathBuf) {
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::write(p, "");
}

/// The most webservers a profile may ask for (MAXWEBSERVERS, default 20).
pub const MAX_WEBSERVERS: usize = 20;

/// Build one webserver: create it, publish and protect it, wait (bounded: `ADT_BUILD_WAIT`
/// seconds, default 90 on the local cloud and 1500 on a cloud host) until it is healthy, then put
/// it in DNS. On failure it is destroyed again. Legacy bookkeeping: `runtime/beingbuiltips/<private>`,
/// `runtime/beingbuiltpublicips/<public>`, `runtime/protectedfromtermination/<public>`, and the
/// datastore markers `webserverips/<private>`, `webserverpublicips/<public>`.
pub fn build_webserver(
    ctx: &Site,
    store: &dyn Backend,
    cloud: &Cloud,
    url: &str,
    build_id: &str,
) -> Result<IpAddr> {
    let name = webserver_name(url, build_id);
    let spec = cloud
        .spec(ctx, &name)
        .with_context(|| format!("the specification of webserver {name}"))?;
    if let Some(s) = &spec {
        if !s.snapshot && s.user_data.is_none() {
            return legacy_build(ctx, cloud, build_id);
        }
    }
    ctx.scaling_log(&format!("Building webserver {name}"));
    let server = cloud
        .create(&name, spec.as_ref())
        .with_context(|| format!("creating webserver {name}"))?;
    let (Some(ip), Some(private)) = (server.public, server.private.or(server.public)) else {
        let _ = cloud.destroy(&name);
        return Err(Error::Remote(format!(
            "webserver {name} came up without an IP"
        )));
    };
    ctx.scaling_log(&format!("Webserver {name} has IP {ip} (private {private})"));
    let rt = ctx.home.join("runtime");
    reconcile::mark_build(&rt, ip, private);
    touch(rt.join("protectedfromtermination").join(ip.to_string()));
    let unmark = || reconcile::unmark_build(&rt, ip, private);
    let published = store
        .put_bytes(&format!("webserverips/{private}"), b"")
        .and_then(|()| store.put_bytes(&format!("webserverpublicips/{ip}"), b""));
    if published.is_ok() {
        // Its way to the managed database, before it needs it (legacy AllowDBAccess).
        database_access(ctx);
    }
    let provisioned = published.and_then(|()| match &spec {
        Some(s) if s.snapshot => crate::cloud::provision::push_settings(ctx, ip, private),
        _ => Ok(()),
    });
    let failed = |why: &str| {
        notify(
            ctx,
            "A WEBSERVER HAS FAILED TO COME ONLINE",
            &format!("Webserver {name} ({ip}) {why}; it has been destroyed"),
        );
    };
    if let Err(e) = provisioned {
        ctx.scaling_log(&format!(
            "Webserver {name} ({ip}) failed: {e}; destroying it"
        ));
        // Without the datastore: it may be what failed.
        let gone = reconcile::discard(ctx, store, cloud, &server);
        unmark();
        if let Err(d) = gone {
            ctx.scaling_log(&format!("Could not destroy webserver {name} ({ip}): {d}"));
        } else {
            database_access(ctx);
        }
        failed(&format!("could not be provisioned ({e})"));
        return Err(e);
    }
    let cfg = health::config_from(ctx, Duration::from_secs(3))?;
    let wait = crate::knobs::env_u64(
        "ADT_BUILD_WAIT",
        if matches!(cloud, Cloud::Local(_)) {
            90
        } else {
            1500
        },
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(wait);
    let healthy = loop {
        if health::check(ip, &cfg).alive() {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(if matches!(cloud, Cloud::Local(_)) {
            500
        } else {
            10_000
        }));
    };
    if !healthy {
        ctx.scaling_log(&format!(
            "Server {name} ({ip}) did not come online: destroying it"
        ));
        let gone = reconcile::discard(ctx, store, cloud, &server);
        unmark();
        gone?;
        database_access(ctx);
        failed("was not healthy in time");
        return Err(Error::Remote(format!(
            "webserver {name} did not come online"
        )));
    }
    // Where adt was rolled out to the webservers (`adt fleet install`), the new one gets the
    // same binary and scripts before it takes traffic.
    if let Err(e) = give_adt(ctx, store, ip) {
        ctx.scaling_log(&format!(
            "Webserver {name} ({ip}) could not be given adt: {e}; destroying it"
        ));
        let gone = reconcile::discard(ctx, store, cloud, &server);
        unmark();
        gone?;
        failed(&format!("could not be given adt ({e})"));
        return Err(e);
    }
    unmark();
    crate::dns::add_ip(ctx, ip)
        .map_err(|e| Error::Remote(format!("could not add {ip} to DNS: {e}")))?;
    ctx.scaling_log(&format!("Added the new IP ({ip}) to the DNS system"));
    notify(
        ctx,
        "A WEBSERVER HAS BEEN DEPLOYED",
        &format!("Webserver {name} ({ip}) is built, healthy and in DNS"),
    );
    Ok(ip)
}

/// Install adt on a new webserver as the fleet's rollout record says (nothing without one).
fn give_adt(ctx: &Site, store: &dyn Backend, ip: IpAddr) -> Result<()> {
    if crate::fleet::recorded(store, crate::home::Machine::Webserver)?.is_none() {
        return Ok(());
    }
    let ssh = crate::cloud::fleet_ssh(ctx, Duration::from_secs(10))?;
    let password = config::value(&ctx.settings()?, "SERVERUSERPASSWORD").unwrap_or_default();
    let me = std::env::current_exe().map_err(|e| Error::io("this binary", e))?;
    if let Some(done) = crate::fleet::install_as_recorded(store, &ssh, &password, ip, &me)? {
        ctx.scaling_log(&format!("Webserver {ip} runs adt: {done}"));
    }
    Ok(())
}

/// The legacy shutdown handshake: touch `<H>/runtime/MARKEDFORSHUTDOWN` on the webserver over
/// SSH (through `sudo -S` with SERVERUSERPASSWORD on stdin when not root), whose per-minute
/// MarkedForShutdown job removes its own datastore keys and halts; then wait, at most `wait`
/// (legacy waited without bound), until SSH no longer shows the file. Returns whether the
/// server went away in time; an unreachable server (a dead one) is not waited for.
pub fn shut_down(ctx: &Site, ip: IpAddr, wait: Duration) -> Result<bool> {
    let cfg = health::config_from(ctx, Duration::from_secs(5))?;
    let text = ctx.settings()?;
    let password = config::value(&text, "SERVERUSERPASSWORD").unwrap_or_default();
    let file = crate::cloud::webserver_home(ctx)
        .join("runtime")
        .join("MARKEDFORSHUTDOWN");
    let file = crate::cloud::shell_word(&file.to_string_lossy());
    let touch = process::as_root(&format!("touch {file}"));
    let (asked, _) = process::ssh(
        ip,
        &cfg.ssh,
        &touch,
        Some(format!("{password}\n").as_bytes()),
        Duration::from_secs(5),
    );
    if !asked {
        return Ok(false);
    }
    let deadline = std::time::Instant::now() + wait;
    loop {
        let (ok, out) = process::ssh(
            ip,
            &cfg.ssh,
            &format!("/bin/ls {file}"),
            None,
            Duration::ZERO,
        );
        if !ok || out.trim().is_empty() {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// A regular build on a cloud host (no snapshot, no cloud-init user data) is the legacy SSH
/// bootstrap: run the machine's own `autoscaler/BuildWebserver.sh` (which calls our
/// CreateServer, GetServerIPAddresses, AddIPToDNS… drop-ins), one at a time, bounded by
/// `ADT_BUILD_WAIT` (default 1500 s), and find the server it made by comparing the cloud's
/// listings before and after.
fn legacy_build(ctx: &Site, cloud: &Cloud, build_id: &str) -> Result<IpAddr> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = lock(&ONE_AT_A_TIME);
    let script = ctx.home.join("autoscaler/BuildWebserver.sh");
    if !script.is_file() {
        return Err(Error::Config(format!(
            "a regular (non-snapshot) build needs the legacy SSH bootstrap {}, which is not on this machine; set SNAPAUTOSCALE:1 with SNAPSHOTID, or provide runtime/cloud-init/webserver.yaml",
            script.display()
        )));
    }
    let before = cloud.webservers(build_id)?;
    ctx.scaling_log(&format!("Building a webserver with {}", script.display()));
    let wait = Duration::from_secs(crate::knobs::env_u64("ADT_BUILD_WAIT", 1500));
    let ok = Run::new("/bin/sh")
        .arg(&script)
        .env("HOME", &ctx.home)
        .dir(&ctx.home)
        .deadline(wait)
        .output()
        .is_ok_and(|o| o.success());
    let new: Vec<_> = cloud
        .webservers(build_id)?
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    match (ok, new.first()) {
        (true, Some((name, ip))) => {
            ctx.scaling_log(&format!(
                "{} built webserver {name} ({ip})",
                script.display()
            ));
            Ok(*ip)
        }
        _ => Err(Error::Remote(format!(
            "{} did not build a webserver (see its logs under {}/logs)",
            script.display(),
            ctx.home.display()
        ))),
    }
}

/// Take a webserver out: out of DNS, drained, asked to shut down (the MARKEDFORSHUTDOWN
/// handshake), destroyed, its keys and markers removed.
pub fn retire(
    ctx: &Site,
    store: &dyn Backend,
    cloud: &Cloud,
    name: &str,
    ip: IpAddr,
    drain: bool,
) -> Result<()> {
    let rt = ctx.home.join("runtime");
    store.put_bytes(&format!("shuttingdownwebserverips/{ip}"), b"")?;
    // Its bootedwebserverips/<private> marker goes with the others once it is destroyed.
    crate::dns::remove_records(ctx, ip, || None).map_err(|e| {
        Error::Remote(format!(
            "could not remove {ip} from DNS ({e}); not destroying it"
        ))
    })?;
    touch(rt.join(format!("IPREMOVED:{ip}")));
    if drain {
        std::thread::sleep(Duration::from_secs(crate::knobs::env_u64(
            "ADT_DNS_DRAIN_SECS",
            120,
        )));
    }
    if shut_down(
        ctx,
        ip,
        Duration::from_secs(crate::knobs::env_u64("ADT_SHUTDOWN_WAIT", 300)),
    )? {
        ctx.scaling_log(&format!("Webserver {name} ({ip}) has shut itself down"));
    } else {
        ctx.scaling_log(&format!(
            "Webserver {name} ({ip}) did not shut itself down: destroying it anyway"
        ));
    }
    // One listing: the server to destroy, and its private IP (the keys of webserverips/ and
    // bootedwebserverips/).
    let server = cloud
        .servers()?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Remote(format!("the cloud lists no server {name}")))?;
    let private = server.private.unwrap_or(ip);
    cloud
        .destroy_server(&server)
        .with_context(|| format!("destroying webserver {name} ({ip})"))?;
    for k in [
        format!("webserverips/{private}"),
        format!("webserverpublicips/{ip}"),
        format!("bootedwebserverips/{private}"),
        format!("shuttingdownwebserverips/{ip}"),
    ] {
        store
            .delete(&k)
            .with_context(|| format!("forgetting webserver {name}"))?;
    }
    for f in [
        format!("IPREMOVED:{ip}"),
        format!("protectedfromtermination/{ip}"),
        format!("beingbuiltips/{private}"),
        format!("beingbuiltpublicips/{ip}"),
    ] {
        let _ = std::fs::remove_file(rt.join(f));
    }
    ctx.scaling_log(&format!("Destroyed webserver {name} ({ip})"));
    // Its way to the managed database closed (legacy DenyDBAccess).
    database_access(ctx);
    Ok(())
}

/// The managed database's allow-list brought to the fleet as the datastore lists it, when
/// there is a managed database (`crate::firewall::dbaas::tighten_for_site`); a failure is
/// logged and does not stop the build or removal (legacy ignored it too).
fn database_access(ctx: &Site) {
    match crate::firewall::dbaas::tighten_for_site(ctx) {
        Ok(Some(r)) if r.added + r.removed > 0 => ctx.scaling_log(&format!(
            "The managed database's allow-list: {} added, {} removed",
            r.added, r.removed
        )),
        Ok(_) => {}
        Err(e) => ctx.scaling_log(&format!(
            "Could not update the managed database's allow-list: {e}"
        )),
    }
}

/// What PerformScaling will do.
#[derive(Debug, Default)]
pub struct Plan {
    pub wanted: usize,
    /// The servers that stay after reconciliation (counted toward the profile).
    pub have: Vec<(String, IpAddr)>,
    pub build: usize,
    pub destroy: Vec<(String, IpAddr)>,
    /// What reconciliation found (orphans to adopt or destroy, stale markers and records).
    pub reconciliation: Reconciliation,
}

/// The profile as it stands, read only (`None`: there is none).
fn read_profile(store: &dyn Backend) -> Result<Option<String>> {
    match store.get_bytes(crate::scaling::PROFILE_KEY) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Scale-down victims, best first: unhealthy servers, then those missing from DNS, then the
/// newest (by the creation time the cloud reports), then by name.
fn victims(r: &Reconciliation, surplus: usize) -> Vec<(String, IpAddr)> {
    let mut kept: Vec<_> = r
        .kept()
        .into_iter()
        .filter_map(|s| Some((s, s.public?)))
        .collect();
    kept.sort_by_key(|(s, ip)| {
        (
            r.alive(*ip),
            r.in_dns.contains(ip),
            std::cmp::Reverse(s.created.unwrap_or(0)),
            s.name.clone(),
        )
    });
    kept.into_iter()
        .take(surplus)
        .map(|(s, ip)| (s.name.clone(), ip))
        .collect()
}

/// The plan. With `dry_run` nothing is written anywhere (no profile is created, NUMBERWS is
/// not updated, nothing is logged or sent).
pub fn plan(ctx: &Site, store: &dyn Backend, cloud: &Cloud, dry_run: bool) -> Result<Option<Plan>> {
    for k in [
        "syncpurge",
        "switchoffscalingpriortosyncpurge",
        crate::scaling::SWITCH_KEY,
    ] {
        if store.any_with_prefix(k)? {
            return Ok(None);
        }
    }
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(None);
    }
    let log = |what: &str| {
        if !dry_run {
            ctx.scaling_log(what);
        }
    };
    let text = ctx.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let numberws = v("NUMBERWS");
    let fallback = if numberws.is_empty() { "2" } else { &numberws };
    let profile = if dry_run {
        match read_profile(store)? {
            Some(t) if !t.trim().is_empty() => t,
            _ => crate::scaling::default_profile(fallback),
        }
    } else {
        let created = std::cell::Cell::new(false);
        let profile = crate::scaling::update_profile(store, &ctx.home, |cur| {
            Ok(match cur {
                Some(t) if !t.trim().is_empty() => t.to_string(),
                _ => {
                    created.set(true);
                    crate::scaling::default_profile(fallback)
                }
            })
        })?;
        if created.get() {
            let what = format!("NO SCALING CONFIG FOUND USING DEFAULT SCALING VALUE OF {fallback}");
            ctx.scaling_log(&what);
            notify(ctx, "NO SCALING CONFIG FOUND", &what);
        }
        profile
    };
    if crate::scaling::read_setting(&profile, "SCALING_MODE") != "static" {
        return Ok(None);
    }
    let count = crate::scaling::read_setting(&profile, "NO_WEBSERVERS");
    let wanted = match count.parse::<usize>() {
        Ok(n) => n.max(2),
        Err(_) => {
            log(&format!(
                "NO_WEBSERVERS {count:?} is not a number: not scaling"
            ));
            return Ok(None);
        }
    };
    let max = match v("MAXWEBSERVERS") {
        m if m.is_empty() => MAX_WEBSERVERS,
        m => m.parse::<usize>().map_err(|_| {
            Error::Config(format!(
                "MAXWEBSERVERS {m:?} in {} is not a number",
                ctx.settings_path().display()
            ))
        })?,
    };
    if wanted > max {
        let what = format!(
            "the scaling profile asks for {wanted} webservers, more than MAXWEBSERVERS ({max}): not scaling"
        );
        log(&what);
        return Err(Error::Config(what));
    }
    if !dry_run && numberws != wanted.to_string() {
        config::store_value(
            &ctx.settings_path(),
            "NUMBERWS",
            Some(&wanted.to_string()),
            false,
        )?;
    }
    let r = reconcile::analyse(
        ctx,
        store,
        cloud,
        &v("BUILDIDENTIFIER"),
        std::time::SystemTime::now(),
    )?;
    let have: Vec<(String, IpAddr)> = r
        .kept()
        .into_iter()
        .filter_map(|s| Some((s.name.clone(), s.public?)))
        .collect();
    let mut p = Plan {
        wanted,
        have: have.clone(),
        ..Default::default()
    };
    if have.len() < wanted {
        p.build = wanted - have.len();
    } else if have.len() > wanted {
        p.destroy = victims(&r, have.len() - wanted);
    }
    p.reconciliation = r;
    Ok(Some(p))
}

/// PerformScaling [--dry-run].
pub fn perform_scaling(ctx: &Site, dry_run: bool) -> Result<String> {
    let store = ctx.store()?;
    let cloud = Cloud::open(ctx)?;
    let token = if dry_run {
        None
    } else {
        match acquire_owned_lock(store.as_ref(), &ctx.home, &Owner::me())? {
            Some(t) => Some(t),
            None => {
                ctx.scaling_log("Another autoscaler is scaling: not this time");
                return Ok(String::new());
            }
        }
    };
    let run = |held: &dyn Fn() -> bool| -> Result<String> {
        let Some(p) = plan(ctx, store.as_ref(), &cloud, dry_run)? else {
            return Ok(String::new());
        };
        let mut out = String::new();
        if dry_run {
            let r = &p.reconciliation;
            out.push_str(&format!("wanted {} have {}\n", p.wanted, p.have.len()));
            let ip = |s: &crate::cloud::servers::Server| {
                s.public.map(|i| i.to_string()).unwrap_or_default()
            };
            for s in &r.adopt {
                out.push_str(&format!("adopt {} {}\n", s.name, ip(s)));
            }
            for (s, why) in &r.discard {
                out.push_str(&format!("discard {} {} ({why})\n", s.name, ip(s)));
            }
            for s in &r.pending {
                out.push_str(&format!(
                    "pending {} {} (not healthy yet, within its build timeout)\n",
                    s.name,
                    ip(s)
                ));
            }
            if p.build > 0 {
                out.push_str(&format!("build {}\n", p.build));
            }
            for (n, ip) in &p.destroy {
                out.push_str(&format!("destroy {n} {ip}\n"));
            }
            return Ok(out);
        }
        let expired = reconcile::expire_dead_builds(&ctx.home.join("runtime"));
        for ip in expired {
            ctx.scaling_log(&format!(
                "The build of {ip} was abandoned (its run is gone): its markers are removed"
            ));
        }
        if !held() {
            return Err(Error::Conflict(
                "the autoscaling lock was lost (taken over, or not renewed in time)".into(),
            ));
        }
        reconcile::apply(ctx, store.as_ref(), &cloud, &p.reconciliation)?;
        let text = ctx.settings()?;
        let url = config::value(&text, "WEBSITEURL").unwrap_or_default();
        let build_id = config::value(&text, "BUILDIDENTIFIER").unwrap_or_default();
        ctx.scaling_log(&format!(
            "{} webservers are wanted, {} exist",
            p.wanted,
            p.have.len()
        ));
        // All missing webservers are built at once (legacy built one per autoscaler boot).
        let built: Vec<Result<IpAddr>> = std::thread::scope(|s| {
            let jobs: Vec<_> = (0..p.build)
                .map(|_| s.spawn(|| build_webserver(ctx, store.as_ref(), &cloud, &url, &build_id)))
                .collect();
            jobs.into_iter()
                .map(|j| {
                    j.join()
                        .unwrap_or_else(|_| Err(Error::Remote("a build thread panicked".into())))
                })
                .collect()
        });
        if let Some(e) = built.into_iter().find_map(|r| r.err()) {
            return Err(e);
        }
        for (n, ip) in &p.destroy {
            if !held() {
                return Err(Error::Conflict(
                    "the autoscaling lock was lost (taken over, or not renewed in time): not destroying".into(),
                ));
            }
            retire(ctx, store.as_ref(), &cloud, n, *ip, true)?;
            notify(
                ctx,
                "A WEBSERVER HAS BEEN DESTROYED",
                &format!("Webserver {n} ({ip}) was surplus: shut down and destroyed"),
            );
        }
        if !p.destroy.is_empty() {
            notify(
                ctx,
                "UPDATE IN NUMBER OF ACTIVE WEBSERVERS",
                &format!("There is now {} webservers running", p.wanted),
            );
        }
        Ok(out)
    };
    match token {
        Some(t) => holding_lock_checked(store.as_ref(), &ctx.home, t, run),
        None => run(&|| true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::servers::Server;
    use health::Verdict;

    #[test]
    fn scale_down_takes_the_unhealthy_then_those_out_of_dns_then_the_newest() {
        let server = |name: &str, n: u8, created: u64| Server {
            id: name.into(),
            name: name.into(),
            public: Some(IpAddr::from([10, 0, 0, n])),
            private: None,
            created: Some(created),
        };
        let servers = vec![
            server("a-old", 1, 100),
            server("b-dead", 2, 50),
            server("c-out-of-dns", 3, 60),
            server("d-new", 4, 300),
            server("e-mid", 5, 200),
        ];
        let verdicts = servers
            .iter()
            .map(|s| Verdict {
                ip: s.public.unwrap(),
                failure: (s.name == "b-dead").then_some(health::Why::NotReady),
            })
            .collect();
        let r = Reconciliation {
            in_dns: [1, 2, 4, 5].map(|n| IpAddr::from([10, 0, 0, n])).to_vec(),
            servers,
            verdicts,
            ..Default::default()
        };
        let names = |k| -> Vec<String> { victims(&r, k).into_iter().map(|(n, _)| n).collect() };
        assert_eq!(names(1), ["b-dead"]);
        assert_eq!(names(4), ["b-dead", "c-out-of-dns", "d-new", "e-mid"]);
    }
}
