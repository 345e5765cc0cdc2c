//! PerformScaling and DeadOrAlive's actions, on a cloud behind [`Cloud`]: the `local` cloud, or
//! a cloud host's CLI (see `crate::cloud::servers` for how a webserver is built there).
//!
//! PerformScaling: gates as legacy (SWITCHOFFSCALING, syncpurge, switchoffscalingpriortosyncpurge,
//! INSTALLEDSUCCESSFULLY); one autoscaler at a time through a lock object in the datastore
//! (`adt-locks/autoscaling`, 30-minute expiry, taken with a conditional create and verified);
//! the profile (created from NUMBERWS when missing, minimum 2); then build or destroy the
//! difference between the webservers the cloud reports for this build and NO_WEBSERVERS.
//! Differences from legacy: all missing webservers are built at once, with bounded waits, and no
//! autoscaler reboot; the cloud listing is filtered by build identifier; scale-down victims are
//! servers missing from DNS first, then by name; a server leaving is taken out of DNS, drained
//! (`ADT_DNS_DRAIN_SECS`, default 120), asked to shut down (MARKEDFORSHUTDOWN, bounded wait)
//! and destroyed.

use super::health;
use crate::cli::{Ctx, Outcome};
use crate::cloud::lock;
use crate::cloud::servers::Server;
pub use crate::cloud::Cloud;
use crate::config;
use crate::datastore::{Backend, Precondition};
use crate::error::{Error, Result};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const LOCK_KEY: &str = "adt-locks/autoscaling";
const LOCK_TTL: u64 = 30 * 60;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The autoscalers' lock object. Ok(Some(token)) when this process holds it.
pub fn acquire_lock(store: &dyn Backend, holder: &str) -> Result<Option<String>> {
    let token = format!("{holder} {}", now() + LOCK_TTL);
    let taken = match store.put_conditional(LOCK_KEY, token.as_bytes(), &Precondition::IfAbsent) {
        Ok(true) => true,
        Ok(false) => {
            // No conditional writes: best effort (write, then verify below).
            if store.any_with_prefix(LOCK_KEY)? {
                false
            } else {
                store.put_bytes(LOCK_KEY, token.as_bytes())?;
                true
            }
        }
        Err(Error::Conflict(_)) => {
            // Held: take it over only if it expired (conditionally, against that version).
            match store.get_versioned(LOCK_KEY)? {
                Some((b, v)) => {
                    let exp: u64 = String::from_utf8_lossy(&b)
                        .split_whitespace()
                        .nth(1)
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0);
                    exp < now()
                        && matches!(
                            store.put_conditional(
                                LOCK_KEY,
                                token.as_bytes(),
                                &Precondition::IfMatch(v)
                            ),
                            Ok(true)
                        )
                }
                None => false,
            }
        }
        Err(e) => return Err(e),
    };
    if !taken {
        return Ok(None);
    }
    // Verify after the other writers' requests have landed: on stores whose conditional create
    // is not atomic, both may have "succeeded"; only the one whose token is there holds it.
    std::thread::sleep(Duration::from_millis(300));
    let now_there = store.get_bytes(LOCK_KEY).unwrap_or_default();
    Ok((now_there == token.as_bytes()).then_some(token))
}

/// Extend a held lock by another TTL, conditionally against the version that holds our token.
/// Returns the new token, or None when the lock is no longer ours (it expired and was taken).
pub fn renew_lock(store: &dyn Backend, token: &str) -> Result<Option<String>> {
    let holder = token.rsplit_once(' ').map(|(h, _)| h).unwrap_or(token);
    match store.get_versioned(LOCK_KEY)? {
        Some((b, v)) if b == token.as_bytes() => {
            let new = format!("{holder} {}", now() + LOCK_TTL);
            match store.put_conditional(LOCK_KEY, new.as_bytes(), &Precondition::IfMatch(v)) {
                Ok(true) => Ok(Some(new)),
                Ok(false) => {
                    store.put_bytes(LOCK_KEY, new.as_bytes())?;
                    Ok(Some(new))
                }
                Err(Error::Conflict(_)) => Ok(None),
                Err(e) => Err(e),
            }
        }
        _ => Ok(None),
    }
}

/// Keep renewing the lock (every `ADT_LOCK_RENEW_SECS`, default 300) while `work` runs, so a
/// long build on a real cloud never outlives it; then release it.
fn holding_lock<T>(store: &dyn Backend, token: String, work: impl FnOnce() -> T) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let every = Duration::from_secs(crate::cli::env_u64("ADT_LOCK_RENEW_SECS", 300).max(1));
    let current = std::sync::Mutex::new(Some(token));
    let done = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = std::time::Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                if last.elapsed() < every {
                    continue;
                }
                last = std::time::Instant::now();
                let mut t = lock(&current);
                if let Some(tok) = t.clone() {
                    if let Ok(renewed) = renew_lock(store, &tok) {
                        *t = renewed;
                    }
                }
            }
        });
        let out = work();
        done.store(true, Ordering::SeqCst);
        out
    });
    if let Some(t) = lock(&current).take() {
        release_lock(store, &t);
    }
    out
}

pub fn release_lock(store: &dyn Backend, token: &str) {
    if store
        .get_bytes(LOCK_KEY)
        .map(|b| b == token.as_bytes())
        .unwrap_or(false)
    {
        let _ = store.delete(LOCK_KEY);
    }
}

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

fn scaling_log(ctx: &Ctx, text: &str) {
    crate::scaling::commands::append_scaling_log(ctx, text);
}

fn touch(p: PathBuf) {
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::write(p, "");
}

/// Build one webserver: create it, publish and protect it, wait (bounded: `ADT_BUILD_WAIT`
/// seconds, default 90 on the local cloud and 1500 on a cloud host) until it is healthy, then put
/// it in DNS. On failure it is destroyed again. Legacy bookkeeping: `runtime/beingbuiltips/<private>`,
/// `runtime/beingbuiltpublicips/<public>`, `runtime/protectedfromtermination/<public>`, and the
/// datastore markers `webserverips/<private>`, `webserverpublicips/<public>`.
pub fn build_webserver(
    ctx: &Ctx,
    store: &dyn Backend,
    cloud: &Cloud,
    url: &str,
    build_id: &str,
) -> Result<IpAddr> {
    let name = webserver_name(url, build_id);
    let spec = cloud.spec(ctx, &name)?;
    if let Some(s) = &spec {
        if !s.snapshot && s.user_data.is_none() {
            return legacy_build(ctx, cloud, build_id);
        }
    }
    scaling_log(ctx, &format!("Building webserver {name}"));
    let server = cloud.create(&name, spec.as_ref())?;
    let (Some(ip), Some(private)) = (server.public, server.private.or(server.public)) else {
        let _ = cloud.destroy(&name);
        return Err(Error::Remote(format!(
            "webserver {name} came up without an IP"
        )));
    };
    scaling_log(
        ctx,
        &format!("Webserver {name} has IP {ip} (private {private})"),
    );
    let rt = ctx.home.join("runtime");
    touch(rt.join("beingbuiltips").join(private.to_string()));
    touch(rt.join("beingbuiltpublicips").join(ip.to_string()));
    touch(rt.join("protectedfromtermination").join(ip.to_string()));
    let unmark = || {
        let _ = std::fs::remove_file(rt.join("beingbuiltips").join(private.to_string()));
        let _ = std::fs::remove_file(rt.join("beingbuiltpublicips").join(ip.to_string()));
    };
    let published = store
        .put_bytes(&format!("webserverips/{private}"), b"")
        .and_then(|()| store.put_bytes(&format!("webserverpublicips/{ip}"), b""));
    let provisioned = published.and_then(|()| match &spec {
        Some(s) if s.snapshot => crate::cloud::provision::push_settings(ctx, ip, private),
        _ => Ok(()),
    });
    let failed = |why: &str| {
        super::notify(
            ctx,
            "A WEBSERVER HAS FAILED TO COME ONLINE",
            &format!("Webserver {name} ({ip}) {why}; it has been destroyed"),
        );
    };
    if let Err(e) = provisioned {
        unmark();
        scaling_log(
            ctx,
            &format!("Webserver {name} ({ip}) failed: {e}; destroying it"),
        );
        let _ = retire(ctx, store, cloud, &name, ip, false);
        failed(&format!("could not be provisioned ({e})"));
        return Err(e);
    }
    let cfg = health::config_from(ctx, Duration::from_secs(3))?;
    let wait = crate::cli::env_u64(
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
    unmark();
    if !healthy {
        scaling_log(
            ctx,
            &format!("Server {name} ({ip}) did not come online: destroying it"),
        );
        retire(ctx, store, cloud, &name, ip, false)?;
        failed("was not healthy in time");
        return Err(Error::Remote(format!(
            "webserver {name} did not come online"
        )));
    }
    let o = crate::dns::add_ip(ctx, &ip.to_string());
    if o.status != 0 {
        return Err(Error::Remote(format!("could not add {ip} to DNS")));
    }
    scaling_log(ctx, &format!("Added the new IP ({ip}) to the DNS system"));
    super::notify(
        ctx,
        "A WEBSERVER HAS BEEN DEPLOYED",
        &format!("Webserver {name} ({ip}) is built, healthy and in DNS"),
    );
    Ok(ip)
}

/// The legacy shutdown handshake: touch `<H>/runtime/MARKEDFORSHUTDOWN` on the webserver over
/// SSH (through `sudo -S` with SERVERUSERPASSWORD on stdin when not root), whose per-minute
/// MarkedForShutdown job removes its own datastore keys and halts; then wait, at most `wait`
/// (legacy waited without bound), until SSH no longer shows the file. Returns whether the
/// server went away in time; an unreachable server (a dead one) is not waited for.
pub fn shut_down(ctx: &Ctx, ip: IpAddr, wait: Duration) -> Result<bool> {
    let cfg = health::config_from(ctx, Duration::from_secs(5))?;
    let text = ctx.settings()?;
    let password = config::value(&text, "SERVERUSERPASSWORD").unwrap_or_default();
    let file = health::webserver_home(ctx)
        .join("runtime")
        .join("MARKEDFORSHUTDOWN");
    let file = crate::cloud::shell_word(&file.to_string_lossy());
    let touch = health::as_root(&format!("touch {file}"));
    let (asked, _) = health::ssh(
        ip,
        &cfg,
        &touch,
        Some(format!("{password}\n").as_bytes()),
        Duration::from_secs(5),
    );
    if !asked {
        return Ok(false);
    }
    let deadline = std::time::Instant::now() + wait;
    loop {
        let (ok, out) = health::ssh(ip, &cfg, &format!("/bin/ls {file}"), None, Duration::ZERO);
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
fn legacy_build(ctx: &Ctx, cloud: &Cloud, build_id: &str) -> Result<IpAddr> {
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
    scaling_log(
        ctx,
        &format!("Building a webserver with {}", script.display()),
    );
    let wait = Duration::from_secs(crate::cli::env_u64("ADT_BUILD_WAIT", 1500));
    let (ok, _) = health::run_bounded(
        std::process::Command::new("/bin/sh")
            .arg(&script)
            .env("HOME", &ctx.home)
            .current_dir(&ctx.home),
        None,
        wait,
    );
    let new: Vec<_> = cloud
        .webservers(build_id)?
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    match (ok, new.first()) {
        (true, Some((name, ip))) => {
            scaling_log(
                ctx,
                &format!("{} built webserver {name} ({ip})", script.display()),
            );
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
    ctx: &Ctx,
    store: &dyn Backend,
    cloud: &Cloud,
    name: &str,
    ip: IpAddr,
    drain: bool,
) -> Result<()> {
    let rt = ctx.home.join("runtime");
    store.put_bytes(&format!("shuttingdownwebserverips/{ip}"), b"")?;
    // Its bootedwebserverips/<private> marker goes with the others once it is destroyed.
    let o = Outcome::from_result(
        ctx,
        crate::dns::remove_records(ctx, ip, || None).map(|()| ""),
    );
    if o.status != 0 {
        return Err(Error::Remote(format!(
            "could not remove {ip} from DNS; not destroying it"
        )));
    }
    touch(rt.join(format!("IPREMOVED:{ip}")));
    if drain {
        std::thread::sleep(Duration::from_secs(crate::cli::env_u64(
            "ADT_DNS_DRAIN_SECS",
            120,
        )));
    }
    if shut_down(
        ctx,
        ip,
        Duration::from_secs(crate::cli::env_u64("ADT_SHUTDOWN_WAIT", 300)),
    )? {
        scaling_log(
            ctx,
            &format!("Webserver {name} ({ip}) has shut itself down"),
        );
    } else {
        scaling_log(
            ctx,
            &format!("Webserver {name} ({ip}) did not shut itself down: destroying it anyway"),
        );
    }
    // One listing: the server to destroy, and its private IP (the keys of webserverips/ and
    // bootedwebserverips/).
    let server = cloud
        .servers()?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Remote(format!("the cloud lists no server {name}")))?;
    let private = server.private.unwrap_or(ip);
    cloud.destroy_server(&server)?;
    for k in [
        format!("webserverips/{private}"),
        format!("webserverpublicips/{ip}"),
        format!("bootedwebserverips/{private}"),
        format!("shuttingdownwebserverips/{ip}"),
    ] {
        store.delete(&k)?;
    }
    for f in [
        format!("IPREMOVED:{ip}"),
        format!("protectedfromtermination/{ip}"),
        format!("beingbuiltips/{private}"),
        format!("beingbuiltpublicips/{ip}"),
    ] {
        let _ = std::fs::remove_file(rt.join(f));
    }
    scaling_log(ctx, &format!("Destroyed webserver {name} ({ip})"));
    Ok(())
}

/// What PerformScaling will do.
#[derive(Debug, Default)]
pub struct Plan {
    pub wanted: usize,
    pub have: Vec<(String, IpAddr)>,
    pub build: usize,
    pub destroy: Vec<(String, IpAddr)>,
}

pub fn plan(ctx: &Ctx, store: &dyn Backend, cloud: &Cloud) -> Result<Option<Plan>> {
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
    let text = ctx.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let numberws = v("NUMBERWS");
    let fallback = if numberws.is_empty() { "2" } else { &numberws };
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
        scaling_log(ctx, &what);
        super::notify(ctx, "NO SCALING CONFIG FOUND", &what);
    }
    if crate::scaling::read_setting(&profile, "SCALING_MODE") != "static" {
        return Ok(None);
    }
    let count = crate::scaling::read_setting(&profile, "NO_WEBSERVERS");
    let wanted = match count.parse::<usize>() {
        Ok(n) => n.max(2),
        Err(_) => {
            scaling_log(
                ctx,
                &format!("NO_WEBSERVERS {count:?} is not a number: not scaling"),
            );
            return Ok(None);
        }
    };
    if numberws != wanted.to_string() {
        config::store_value(
            &ctx.settings_path(),
            "NUMBERWS",
            Some(&wanted.to_string()),
            false,
        )?;
    }
    let have = cloud.webservers(&v("BUILDIDENTIFIER"))?;
    let mut p = Plan {
        wanted,
        have: have.clone(),
        ..Default::default()
    };
    if have.len() < wanted {
        p.build = wanted - have.len();
    } else if have.len() > wanted {
        let (name, mut dns) = crate::dns::open(ctx)?;
        let in_dns: Vec<IpAddr> = dns.list(&name)?.iter().map(|r| r.ip).collect();
        let mut victims = have.clone();
        // Not in DNS first, then by name (a stable, if arbitrary, order).
        victims.sort_by_key(|(n, ip)| (in_dns.contains(ip), std::cmp::Reverse(n.clone())));
        p.destroy = victims.into_iter().take(have.len() - wanted).collect();
    }
    Ok(Some(p))
}

/// PerformScaling [--dry-run].
pub fn perform_scaling(ctx: &Ctx, dry_run: bool) -> Result<String> {
    let store = ctx.store()?;
    let cloud = Cloud::open(ctx)?;
    let holder = format!("{}-{}", ctx.home.display(), std::process::id());
    let token = if dry_run {
        None
    } else {
        match acquire_lock(store.as_ref(), &holder)? {
            Some(t) => Some(t),
            None => {
                scaling_log(ctx, "Another autoscaler is scaling: not this time");
                return Ok(String::new());
            }
        }
    };
    let run = || -> Result<String> {
        let Some(p) = plan(ctx, store.as_ref(), &cloud)? else {
            return Ok(String::new());
        };
        let mut out = String::new();
        if dry_run {
            out.push_str(&format!("wanted {} have {}\n", p.wanted, p.have.len()));
            if p.build > 0 {
                out.push_str(&format!("build {}\n", p.build));
            }
            for (n, ip) in &p.destroy {
                out.push_str(&format!("destroy {n} {ip}\n"));
            }
            return Ok(out);
        }
        let text = ctx.settings()?;
        let url = config::value(&text, "WEBSITEURL").unwrap_or_default();
        let build_id = config::value(&text, "BUILDIDENTIFIER").unwrap_or_default();
        scaling_log(
            ctx,
            &format!("{} webservers are wanted, {} exist", p.wanted, p.have.len()),
        );
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
            retire(ctx, store.as_ref(), &cloud, n, *ip, true)?;
            super::notify(
                ctx,
                "A WEBSERVER HAS BEEN DESTROYED",
                &format!("Webserver {n} ({ip}) was surplus: shut down and destroyed"),
            );
        }
        if !p.destroy.is_empty() {
            super::notify(
                ctx,
                "UPDATE IN NUMBER OF ACTIVE WEBSERVERS",
                &format!("There is now {} webservers running", p.wanted),
            );
        }
        Ok(out)
    };
    match token {
        Some(t) => holding_lock(store.as_ref(), t, run),
        None => run(),
    }
}

/// DeadOrAlive: sweep this build's webservers; healthy ones missing from DNS are added; strikes
/// are recorded; servers down after three strikes are taken out and destroyed (PerformScaling
/// replaces them).
pub fn dead_or_alive(ctx: &Ctx, timeout: Duration) -> Result<String> {
    let store = ctx.store()?;
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(String::new());
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
    let mut out = String::new();
    for v in verdicts
        .iter()
        .filter(|v| v.alive() && !in_dns.contains(&v.ip))
    {
        if !rt
            .join("beingbuiltpublicips")
            .join(v.ip.to_string())
            .exists()
            && crate::dns::add_ip(ctx, &v.ip.to_string()).status == 0
        {
            out.push_str(&format!("IP ADDRESS {} added to DNS\n", v.ip));
        }
    }
    for ip in health::record(&rt, &verdicts, SystemTime::now())? {
        out.push_str(&format!("IP ADDRESS {ip} is DOWN\n"));
        crate::scaling::commands::append_log(
            ctx,
            "UnresponsiveWebservers.log",
            &format!("{ip} is being destroyed because it was unresponsive"),
        );
        super::notify(
            ctx,
            "UNRESPONSIVE WEBSERVER",
            &format!("Webserver {ip} stopped answering; it is taken out of DNS and destroyed"),
        );
        if let Some((n, _)) = servers.iter().find(|(_, s)| *s == ip) {
            retire(ctx, store.as_ref(), &cloud, n, ip, false)?;
        }
    }
    Ok(out)
}

/// PurgeDetachedIPs: DNS records for IPs that are not this build's webservers are removed.
/// Fixed: an empty cloud listing removes nothing (legacy wiped the whole round robin when the
/// cloud CLI failed or answered nothing).
pub fn purge_detached_ips(ctx: &Ctx) -> Result<String> {
    let store = ctx.store()?;
    if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
        return Ok(String::new());
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
    let mut out = String::new();
    for r in dns.list(&name)? {
        let private = || {
            all.iter()
                .find(|s| s.public == Some(r.ip))
                .and_then(|s| s.private)
        };
        if !live.contains(&r.ip)
            && Outcome::from_result(
                ctx,
                crate::dns::remove_records(ctx, r.ip, private).map(|()| ""),
            )
            .status
                == 0
        {
            out.push_str(&format!("removed detached {} from DNS\n", r.ip));
        }
    }
    Ok(out)
}

/// MonitorForSlowBuilds: a webserver still being built 30 minutes after it started is taken
/// out of DNS and destroyed.
pub fn monitor_for_slow_builds(ctx: &Ctx, now: SystemTime) -> Result<String> {
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
        crate::scaling::commands::append_log(
            ctx,
            "SlowBuildsLog.log",
            &format!("WEBSERVER {ip} IS A SLOW BUILD: destroying it"),
        );
        out.push_str(&format!("WEBSERVER {ip} IS A SLOW BUILD\n"));
        super::notify(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;

    fn expiry(store: &dyn Backend) -> u64 {
        String::from_utf8(store.get_bytes(LOCK_KEY).unwrap())
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn the_lock_is_renewed_only_by_its_holder_and_released() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let store = LocalStore::new(dir.path(), "b");
        let token = acquire_lock(&store, "as1")
            .unwrap()
            .expect("free lock taken");
        assert!(acquire_lock(&store, "as2").unwrap().is_none(), "held");
        // Wind the expiry back, as if the holder had been building for a while.
        let old = format!("as1 {}", now() + 5);
        store.put_bytes(LOCK_KEY, old.as_bytes()).unwrap();
        assert!(renew_lock(&store, &token).unwrap().is_none(), "stale token");
        let new = renew_lock(&store, &old).unwrap().expect("renewed");
        assert!(new.starts_with("as1 "));
        assert!(expiry(&store) >= now() + LOCK_TTL - 1);
        // The renewer hands the latest token to the release.
        std::env::set_var("ADT_LOCK_RENEW_SECS", "1");
        let seen = holding_lock(&store, new.clone(), || {
            std::thread::sleep(Duration::from_millis(1500));
            String::from_utf8(store.get_bytes(LOCK_KEY).unwrap()).unwrap()
        });
        assert!(
            seen.starts_with("as1 ") && seen != new,
            "renewed while held: {seen}"
        );
        assert!(!store.any_with_prefix(LOCK_KEY).unwrap(), "released");
    }
}
