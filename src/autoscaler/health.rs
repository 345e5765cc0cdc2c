//! Webserver health, as the 2022 DeadOrAlive.sh defined it, checked for every server at once.
//!
//! A webserver is alive when, in this order (short-circuit, as legacy):
//! 1. it has not been taken out by scale-down (no local `runtime/IPREMOVED:<ip>`);
//! 2. SSH with the fleet key finds `<H>/runtime/WEBSERVER_READY` on it;
//! 3. `https://<ip>:443/<probe>` answers 200 or 301 (probe `index.php` for PHP applications).
//!
//! Strikes: a server that is not alive and was built more than 30 minutes ago
//! (`runtime/protectedfromtermination/<ip>` mtime) gets a `POTENTIALLY DOWN <ip>` line in
//! `runtime/POTENTIALLY_DOWN.log`; more than 2 lines mean down; an alive server's lines are
//! removed. Differences from legacy: servers are checked concurrently with hard timeouts (a sweep
//! takes about one timeout, not a sum over dead servers); the ping phase (up to 30 × `ping -c
//! 10`) is dropped, an HTTPS answer proves reachability; IPs match exactly (legacy grep made
//! `10.0.0.1` clear `10.0.0.10`'s strikes).

use crate::error::{Error, Result};
use crate::fsutil;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

#[derive(Clone, Debug)]
pub struct Config {
    pub home: PathBuf,
    pub ssh_user: String,
    pub ssh_port: u16,
    pub ssh_key: PathBuf,
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

/// Run a command with a hard deadline, feeding it `input` on stdin; returns (success, stdout).
pub fn run_bounded(cmd: &mut Command, input: Option<&[u8]>, limit: Duration) -> (bool, String) {
    use std::os::unix::process::CommandExt;
    // Its own process group, so a timeout takes its children (a script's ssh calls) too.
    let Ok(mut child) = cmd
        .process_group(0)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return (false, String::new());
    };
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        let _ = stdin.write_all(bytes);
    }
    // Read stdout on a thread, so a chatty command cannot block on a full pipe.
    let reader = child.stdout.take().map(|mut o| {
        std::thread::spawn(move || {
            let mut out = String::new();
            use std::io::Read;
            let _ = o.read_to_string(&mut out);
            out
        })
    });
    let start = Instant::now();
    let ok = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                // `--` matters: procps-ng's kill reads `-KILL -<pgid>` as a signal to -1,
                // i.e. to every process.
                if child.id() > 1 {
                    let _ = Command::new("kill")
                        .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                        .stderr(Stdio::null())
                        .status();
                }
                let _ = child.kill();
                let _ = child.wait();
                return (false, String::new());
            }
        }
    };
    let out = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    (ok, out)
}

/// Run `remote` on a webserver over SSH with the fleet key (as SERVERUSER, on SSHPORT), within
/// one timeout of the sweep configuration plus `extra`; `input` goes to its stdin (never argv).
pub fn ssh(
    ip: IpAddr,
    c: &Config,
    remote: &str,
    input: Option<&[u8]>,
    extra: Duration,
) -> (bool, String) {
    let secs = c.timeout.as_secs().max(1).to_string();
    run_bounded(
        Command::new("ssh")
            .args(["-p", &c.ssh_port.to_string(), "-i"])
            .arg(&c.ssh_key)
            .args([
                "-o",
                &format!("ConnectTimeout={secs}"),
                "-o",
                "ConnectionAttempts=1",
                "-o",
                "BatchMode=yes",
            ])
            .args([
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "LogLevel=ERROR",
            ])
            // Only the fleet key counts; no Kerberos or DNS round trips before it is tried.
            .args([
                "-o",
                "GSSAPIAuthentication=no",
                "-o",
                "PreferredAuthentications=publickey",
            ])
            .arg(format!("{}@{ip}", c.ssh_user))
            .arg(remote),
        input,
        c.timeout + Duration::from_secs(1) + extra,
    )
}

/// A remote shell command that runs `cmd` as root: directly when SSH logged in as root, else
/// through `sudo -S`, which reads SERVERUSERPASSWORD from stdin (never argv).
pub fn as_root(cmd: &str) -> String {
    format!("if [ \"$(id -u)\" = 0 ]; then {cmd}; else sudo -S -p '' {cmd}; fi")
}

fn ssh_ready(ip: IpAddr, c: &Config) -> bool {
    let (ok, out) = ssh(
        ip,
        c,
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
        let (_, code) = run_bounded(
            Command::new("curl")
                .args(["-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-m"])
                .arg(format!("{:.1}", c.timeout.as_secs_f64()))
                .arg(&url),
            None,
            c.timeout + Duration::from_secs(1),
        );
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
    let lock = crate::fsutil::open_lock_file(&runtime.join("POTENTIALLY_DOWN.adt-lock"))?;
    lock.lock().map_err(|e| Error::io(log.display(), e))?;
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

/// The toolkit home on the webservers: the same path as the autoscaler's on a real fleet (legacy
/// expanded `${HOME}` on the autoscaler); `ADT_WEBSERVER_HOME` names another (tests with two
/// autoscalers on one host).
pub fn webserver_home(ctx: &crate::cli::Ctx) -> PathBuf {
    std::env::var_os("ADT_WEBSERVER_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.home.clone())
}

/// The sweep configuration from the autoscaler's settings (as DeadOrAlive derived it).
pub fn config_from(ctx: &crate::cli::Ctx, timeout: Duration) -> Result<Config> {
    let text = ctx.settings()?;
    let v = |k: &str| crate::config::value(&text, k).unwrap_or_default();
    let check = |p: &str| crate::config::check_value(&text, p) == "1\n";
    let probe = if check("APPLICATIONLANGUAGE:PHP") {
        "index.php"
    } else if check("APPLICATION:wordpress") {
        "wp-login.php"
    } else {
        ""
    };
    Ok(Config {
        home: ctx.home.clone(),
        ssh_user: v("SERVERUSER"),
        ssh_port: v("SSHPORT")
            .parse()
            .map_err(|_| Error::Config("SSHPORT is not a port".into()))?,
        ssh_key: ctx
            .home
            .join(".ssh")
            .join(format!("id_{}_AGILE_DEPLOYMENT_BUILD_KEY", v("ALGORITHM"))),
        ready_file: webserver_home(ctx)
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

/// `adt health-sweep [--timeout SECS] [--parallel N] [--record] [IP…]` (no IPs: `webserverpublicips/*`):
/// one line per server, `<ip> alive` or `<ip> not alive: <why>`; with `--record`, strikes are
/// written and `<ip> DOWN` printed for servers past 2 strikes. Nothing is destroyed or removed
/// from DNS (that is DeadOrAlive's job).
pub fn health_sweep(ctx: &crate::cli::Ctx, args: &[String]) -> crate::cli::Outcome {
    let r = (|| -> Result<String> {
        let mut timeout = Duration::from_secs(5);
        let mut record_strikes = false;
        let mut parallel = 32;
        let mut ips = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--timeout" => {
                    let s = it
                        .next()
                        .and_then(|s| s.parse::<f64>().ok())
                        .filter(|s| *s > 0.0);
                    timeout = Duration::from_secs_f64(
                        s.ok_or_else(|| Error::Usage("--timeout takes seconds".into()))?,
                    );
                }
                "--record" => record_strikes = true,
                "--parallel" => {
                    parallel = it
                        .next()
                        .and_then(|s| s.parse().ok())
                        .filter(|n| *n > 0)
                        .ok_or_else(|| Error::Usage("--parallel takes a count".into()))?;
                }
                ip => ips.push(crate::ips::parse_ip(ip)?),
            }
        }
        if ips.is_empty() {
            ips = crate::ips::list_ips(ctx.store()?.as_ref(), "webserverpublicips/")?;
        }
        let mut cfg = config_from(ctx, timeout)?;
        cfg.parallel = parallel;
        let verdicts = sweep(&ips, &cfg);
        let mut out = String::new();
        for v in &verdicts {
            match &v.failure {
                None => out.push_str(&format!("{} alive\n", v.ip)),
                Some(Why::Removed) => {
                    out.push_str(&format!("{} not alive: removed (IPREMOVED)\n", v.ip))
                }
                Some(Why::NotReady) => out.push_str(&format!(
                    "{} not alive: no WEBSERVER_READY over SSH\n",
                    v.ip
                )),
                Some(Why::Http(h)) => out.push_str(&format!("{} not alive: {h}\n", v.ip)),
            }
        }
        if record_strikes {
            for ip in record(&ctx.home.join("runtime"), &verdicts, SystemTime::now())? {
                out.push_str(&format!("{ip} DOWN\n"));
            }
        }
        Ok(out)
    })();
    match r {
        Ok(s) => crate::cli::Outcome::ok(s),
        Err(e) => {
            ctx.report(&e);
            crate::cli::Outcome {
                stdout: String::new(),
                status: 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_timeout_kills_the_command_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let start = Instant::now();
        let (ok, _) = run_bounded(
            Command::new("sh")
                .arg("-c")
                .arg(format!("sleep 30 & echo $! > {}; wait", pidfile.display())),
            None,
            Duration::from_millis(500),
        );
        assert!(!ok);
        assert!(start.elapsed() < Duration::from_secs(5));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let alive = std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "the script's child outlived the timeout");
    }

    #[test]
    fn input_reaches_stdin_and_output_comes_back() {
        let (ok, out) = run_bounded(
            &mut Command::new("cat"),
            Some(b"secret\n"),
            Duration::from_secs(5),
        );
        assert!(ok);
        assert_eq!(out, "secret\n");
    }

    use super::*;

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
