//! Webserver health, as the 2022 DeadOrAlive.sh defined it, checked for every server at once.
//!
//! A webserver is alive when, in this order (short-circuit, as legacy):
//! 1. it has not been taken out by scale-down (no local `runtime/IPREMOVED:<ip>`);
//! 2. SSH with the fleet key finds `<H>/runtime/WEBSERVER_READY` on it;
//! 3. `https://<ip>:443/<probe>` answers 200 or 301 (probe `index.php` for PHP applications).
//!
//! Strikes (DeadOrAlive): each sweep adds one verdict per server to a sliding window kept in
//! the datastore at `adt-health/<ip>`, where every autoscaler adds to it; a server is down when
//! 3 of its last 5 sweeps found it down ([`Strikes`]; `ADT_STRIKES`, `ADT_STRIKE_WINDOW`). Down
//! verdicts within the grace (30 minutes, `ADT_BUILD_GRACE_SECS`) count for nothing; the grace
//! runs from the server's creation as the cloud reports it (or this autoscaler's
//! `runtime/protectedfromtermination/<ip>`, whichever is earlier), so it holds for servers the
//! other autoscaler built. The window is forgotten only once the server is gone: a removal that
//! fails (DNS, the cloud) keeps the strikes. The legacy `runtime/POTENTIALLY_DOWN.log` mirrors
//! the strikes (one `POTENTIALLY DOWN <ip>` line each). `adt health-sweep --record` keeps the
//! legacy local log ([`record`]).
//!
//! Differences from legacy: servers are checked concurrently with hard timeouts (a sweep takes
//! about one timeout, not a sum over dead servers); the ping phase (up to 30 × `ping -c 10`) is
//! dropped, an HTTPS answer proves reachability; IPs match exactly (legacy grep made `10.0.0.1`
//! clear `10.0.0.10`'s strikes); strikes add up as above (legacy: one healthy sweep cleared
//! them all, a server was struck only by the autoscaler that built it, and a failed removal
//! lost them).

use crate::error::{Error, Result};
use crate::fsutil;
use crate::process::{self, Run, SshTarget};
use crate::site::Site;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug)]
pub struct Config {
    pub home: PathBuf,
    /// The fleet's SSH user, port and key; its timeout is each check's.
    pub ssh: SshTarget,
    /// Path of the readiness file on the webserver.
    pub ready_file: String,
    pub probe: String,
    pub https_port: u16,
    /// Each check's timeout.
    pub timeout: Duration,
    /// HTTPS tries (legacy 4, 5 s apart).
    pub http_tries: u32,
    /// Servers checked at once.
    pub parallel: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    Removed,
    NotReady,
    Http(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub ip: IpAddr,
    /// None: alive.
    pub failure: Option<Why>,
}

impl Verdict {
    pub fn alive(&self) -> bool {
        self.failure.is_none()
    }
}

fn ssh_ready(ip: IpAddr, c: &Config) -> bool {
    let (ok, out) = process::ssh(
        ip,
        &c.ssh,
        &format!("/bin/ls {}", c.ready_file),
        None,
        Duration::ZERO,
    );
    ok && !out.trim().is_empty()
}

fn https_status(ip: IpAddr, c: &Config) -> std::result::Result<(), String> {
    let host = match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    let url = format!("https://{host}:{}/{}", c.https_port, c.probe);
    let mut last = String::new();
    for attempt in 0..c.http_tries.max(1) {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        let code = Run::new("curl")
            .args(["-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-m"])
            .arg(format!("{:.1}", c.timeout.as_secs_f64()))
            .arg(&url)
            .deadline(c.timeout + Duration::from_secs(1))
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default();
        match code.trim() {
            "200" | "301" => return Ok(()),
            "" | "000" => last = "no HTTPS answer".into(),
            other => last = format!("HTTP {other}"),
        }
    }
    Err(last)
}

pub fn check(ip: IpAddr, c: &Config) -> Verdict {
    let failure = if c
        .home
        .join("runtime")
        .join(format!("IPREMOVED:{ip}"))
        .exists()
    {
        Some(Why::Removed)
    } else if !ssh_ready(ip, c) {
        Some(Why::NotReady)
    } else {
        https_status(ip, c).err().map(Why::Http)
    };
    Verdict { ip, failure }
}

/// Check every server concurrently with a pool of `parallel` workers (a dead server holds only
/// its own worker for one timeout); results in input order.
pub fn sweep(ips: &[IpAddr], c: &Config) -> Vec<Verdict> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Verdict>>> = Mutex::new(vec![None; ips.len()]);
    std::thread::scope(|s| {
        for _ in 0..c.parallel.clamp(1, ips.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(ip) = ips.get(i) else { break };
                let v = check(*ip, c);
                out.lock().expect("results")[i] = Some(v);
            });
        }
    });
    out.into_inner()
        .expect("results")
        .into_iter()
        .map(|v| v.expect("every server checked"))
        .collect()
}

pub const GRACE: Duration = Duration::from_secs(30 * 60);

/// Record a sweep's verdicts in `runtime/POTENTIALLY_DOWN.log`; returns the servers that are
/// now down (more than 2 strikes), whose lines are removed.
pub fn record(runtime: &Path, verdicts: &[Verdict], now: SystemTime) -> Result<Vec<IpAddr>> {
    std::fs::create_dir_all(runtime).map_err(|e| Error::io(runtime.display(), e))?;
    let log = runtime.join("POTENTIALLY_DOWN.log");
    let _lock = fsutil::Lock::exclusive(&runtime.join("POTENTIALLY_DOWN.adt-lock"))?;
    let mut lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let line_of = |ip: &IpAddr| format!("POTENTIALLY DOWN {ip}");
    let mut down = Vec::new();
    for v in verdicts {
        let mine = line_of(&v.ip);
        if v.alive() {
            lines.retain(|l| *l != mine);
            continue;
        }
        let built = runtime
            .join("protectedfromtermination")
            .join(v.ip.to_string());
        let past_grace = std::fs::metadata(&built)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() > GRACE)
            .unwrap_or(false);
        if past_grace {
            lines.push(mine.clone());
        }
        if lines.iter().filter(|l| **l == mine).count() > 2 {
            lines.retain(|l| *l != mine);
            down.push(v.ip);
        }
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    fsutil::write_atomic(&log, text.as_bytes(), None)?;
    Ok(down)
}

/// Where every autoscaler keeps a server's recent verdicts: `adt-health/<public ip>`, one
/// letter per sweep, oldest first (`d` down past its grace, `u` up).
pub const STRIKES_PREFIX: &str = "adt-health/";

/// Strike rules: down when `k` of the last `n` sweeps found it down (`ADT_STRIKES`, default 3;
/// `ADT_STRIKE_WINDOW`, default 5), counting only sweeps after the server's grace
/// (`ADT_BUILD_GRACE_SECS`, default 1800) measured from its creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strikes {
    pub k: usize,
    pub n: usize,
    pub grace: Duration,
}

impl Strikes {
    pub fn from_env() -> Strikes {
        let n = crate::knobs::env_u64("ADT_STRIKE_WINDOW", 5).clamp(1, 50) as usize;
        let k = (crate::knobs::env_u64("ADT_STRIKES", 3) as usize).clamp(1, n);
        Strikes {
            k,
            n,
            grace: Duration::from_secs(crate::knobs::env_u64(
                "ADT_BUILD_GRACE_SECS",
                GRACE.as_secs(),
            )),
        }
    }

    /// The window after one more sweep: `alive`, or down and `past_grace`; a down verdict
    /// within the grace adds nothing.
    pub fn push(&self, window: &str, alive: bool, past_grace: bool) -> String {
        let mut w: Vec<char> = window.chars().filter(|c| matches!(c, 'd' | 'u')).collect();
        if alive {
            w.push('u');
        } else if past_grace {
            w.push('d');
        } else {
            return w.into_iter().collect();
        }
        let cut = w.len().saturating_sub(self.n);
        w[cut..].iter().collect()
    }

    pub fn is_down(&self, window: &str) -> bool {
        window.chars().filter(|c| *c == 'd').count() >= self.k
    }
}

/// A server's age from the earliest record of it: the creation time the cloud reports and this
/// autoscaler's `runtime/protectedfromtermination/<ip>`; None when neither is known.
pub fn age(runtime: &Path, ip: IpAddr, created: Option<u64>, now: SystemTime) -> Option<Duration> {
    let from_cloud = created.map(|c| SystemTime::UNIX_EPOCH + Duration::from_secs(c));
    let from_file = std::fs::metadata(
        runtime
            .join("protectedfromtermination")
            .join(ip.to_string()),
    )
    .and_then(|m| m.modified())
    .ok();
    let born = [from_cloud, from_file].into_iter().flatten().min()?;
    Some(now.duration_since(born).unwrap_or_default())
}

/// Record a sweep in every server's shared window in the datastore (`ages`: each verdict's
/// server age; unknown counts as past the grace). Returns the servers that are now down. The
/// windows are left as they are: the caller forgets a window with [`forget_strikes`] once the
/// server is gone, so a failed removal keeps its strikes. Also mirrors the strikes into the
/// legacy `runtime/POTENTIALLY_DOWN.log` (one `POTENTIALLY DOWN <ip>` line per strike).
pub fn record_shared(
    store: &dyn crate::datastore::Backend,
    runtime: &Path,
    verdicts: &[Verdict],
    ages: &[Option<Duration>],
    rules: &Strikes,
) -> Result<Vec<IpAddr>> {
    let mut down = Vec::new();
    let mut mirror = String::new();
    for (v, age) in verdicts.iter().zip(ages) {
        let key = format!("{STRIKES_PREFIX}{}", v.ip);
        let old = match store.get_bytes(&key) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(Error::NotFound(_)) => String::new(),
            Err(e) => return Err(e),
        };
        let past_grace = age.is_none_or(|a| a > rules.grace);
        let new = rules.push(&old, v.alive(), past_grace);
        if new != old {
            store.put_bytes(&key, new.as_bytes())?;
        }
        for _ in new.chars().filter(|c| *c == 'd') {
            mirror.push_str(&format!("POTENTIALLY DOWN {}\n", v.ip));
        }
        if rules.is_down(&new) {
            down.push(v.ip);
        }
    }
    std::fs::create_dir_all(runtime).map_err(|e| Error::io(runtime.display(), e))?;
    let _lock = fsutil::Lock::exclusive(&runtime.join("POTENTIALLY_DOWN.adt-lock"))?;
    fsutil::write_atomic(
        &runtime.join("POTENTIALLY_DOWN.log"),
        mirror.as_bytes(),
        None,
    )?;
    Ok(down)
}

/// Forget a server's strikes (it is gone), and those of servers no longer listed.
pub fn forget_strikes(store: &dyn crate::datastore::Backend, ip: IpAddr) -> Result<()> {
    store.delete(&format!("{STRIKES_PREFIX}{ip}"))
}

/// The sweep configuration from the autoscaler's settings (as DeadOrAlive derived it).
pub fn config_from(site: &Site, timeout: Duration) -> Result<Config> {
    let text = site.settings()?;
    let check = |p: &str| crate::config::check_value(&text, p) == "1\n";
    let probe = if check("APPLICATIONLANGUAGE:PHP") {
        "index.php"
    } else if check("APPLICATION:wordpress") {
        "wp-login.php"
    } else {
        ""
    };
    Ok(Config {
        home: site.home.clone(),
        ssh: crate::cloud::fleet_ssh(site, timeout)?,
        ready_file: crate::cloud::webserver_home(site)
            .join("runtime")
            .join("WEBSERVER_READY")
            .to_string_lossy()
            .into_owned(),
        probe: probe.into(),
        https_port: 443,
        timeout,
        http_tries: 2,
        parallel: 32,
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn strikes_add_up_in_a_sliding_window() {
        let r = Strikes {
            k: 3,
            n: 5,
            grace: GRACE,
        };
        let mut w = String::new();
        // Down, down, up, down: flapping is still three strikes of the last five.
        for (alive, down_after) in [(false, false), (false, false), (true, false), (false, true)] {
            w = r.push(&w, alive, true);
            assert_eq!(r.is_down(&w), down_after, "{w}");
        }
        assert_eq!(w, "ddud");
        // Old strikes slide out.
        let mut w = "ddu".to_string();
        for _ in 0..3 {
            w = r.push(&w, true, true);
        }
        assert_eq!(w, "duuuu");
        assert!(!r.is_down(&r.push(&w, false, true)));
        // Within the grace a down sweep adds nothing; an up one counts.
        assert_eq!(r.push("d", false, false), "d");
        assert_eq!(r.push("d", true, false), "du");
    }

    #[test]
    fn age_is_from_the_earliest_record() {
        let dir = tempfile::tempdir().unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(age(dir.path(), ip, None, now), None);
        assert_eq!(
            age(dir.path(), ip, Some(9_000), now),
            Some(Duration::from_secs(1_000))
        );
    }

    #[test]
    fn strikes_grace_and_exact_matching() {
        let dir = tempfile::tempdir().unwrap();
        let rt = dir.path();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.10".parse().unwrap();
        let young: IpAddr = "10.0.0.2".parse().unwrap();
        std::fs::create_dir_all(rt.join("protectedfromtermination")).unwrap();
        for ip in [a, b, young] {
            std::fs::write(rt.join("protectedfromtermination").join(ip.to_string()), "").unwrap();
        }
        let later = SystemTime::now() + Duration::from_secs(31 * 60);
        let dead = |ip| Verdict {
            ip,
            failure: Some(Why::NotReady),
        };
        let ok = |ip| Verdict { ip, failure: None };
        // Two strikes each for a and b.
        assert!(record(rt, &[dead(a), dead(b)], later).unwrap().is_empty());
        assert!(record(rt, &[dead(a), dead(b)], later).unwrap().is_empty());
        // a recovers: only a's lines go (10.0.0.10 is not 10.0.0.1).
        assert!(record(rt, &[ok(a)], later).unwrap().is_empty());
        let log = std::fs::read_to_string(rt.join("POTENTIALLY_DOWN.log")).unwrap();
        assert_eq!(
            log,
            "POTENTIALLY DOWN 10.0.0.10\nPOTENTIALLY DOWN 10.0.0.10\n"
        );
        // b's third strike: down, lines cleared.
        assert_eq!(record(rt, &[dead(b)], later).unwrap(), vec![b]);
        assert_eq!(
            std::fs::read_to_string(rt.join("POTENTIALLY_DOWN.log")).unwrap(),
            ""
        );
        // Within the grace period (built less than 30 minutes ago): never a strike.
        for _ in 0..5 {
            assert!(record(rt, &[dead(young)], SystemTime::now())
                .unwrap()
                .is_empty());
        }
        // Never built by this autoscaler (no protection file): never a strike.
        let stranger: IpAddr = "10.0.0.3".parse().unwrap();
        for _ in 0..5 {
            assert!(record(rt, &[dead(stranger)], later).unwrap().is_empty());
        }
    }
}
