//! The autoscaler under faults, on the local cloud (servers are network namespaces with a real
//! sshd and HTTPS server; the datastore is s3s-fs in a namespace on the hub; DNS is dnsmasq):
//! each case injects one fault (the datastore down during a build, a run killed mid-build, a
//! stale lock, a scale-down with a dead server, flapping health seen by two autoscalers, a dry
//! run, a profile out of bounds) and shows the fleet back at its profile (count, DNS, markers,
//! no orphan, no process left) within a bounded number of cron rounds.

mod common;
use common::*;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The local cloud is one per host (its hub and namespace names): one case at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Each build waits at most this long, and a half-built server older than it is abandoned.
const BUILD_WAIT: u64 = 12;

struct World {
    cloud_dir: tempfile::TempDir,
    dns_dir: tempfile::TempDir,
    web_home: tempfile::TempDir,
    store_root: tempfile::TempDir,
    store: Option<Child>,
    dns: Option<Dnsmasq>,
    dns_port: u16,
    keydir: tempfile::TempDir,
    grace: u64,
}

const STORE_NS: &str = "adtflt-store";
const AS_NS: [&str; 2] = ["adtflt-as1", "adtflt-as2"];

fn s3s_fs() -> String {
    let s = std::env::var("S3S_FS")
        .unwrap_or_else(|_| format!("{}/.cargo/bin/s3s-fs", std::env::var("HOME").unwrap()));
    if Path::new(&s).exists() {
        s
    } else {
        "s3s-fs".into()
    }
}

/// Processes whose command line names `dir` (every server process names its data directory).
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            pid.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(&needle).then(|| format!("{pid}: {cmd}"))
        })
        .collect()
}

fn server_namespaces() -> Vec<String> {
    let o = Command::new("ip").args(["netns", "list"]).output().unwrap();
    stdout(&o)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| {
            n.strip_prefix("adtlc")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
        .collect()
}

impl World {
    /// None where network namespaces cannot be made.
    fn new(grace: u64) -> Option<World> {
        if !Command::new("ip")
            .args(["netns", "add", "adtfltprobe"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
        {
            skip("cannot create network namespaces here");
            return None;
        }
        let _ = Command::new("ip")
            .args(["netns", "del", "adtfltprobe"])
            .status();
        let w = World {
            cloud_dir: tempfile::tempdir().unwrap(),
            dns_dir: tempfile::tempdir().unwrap(),
            web_home: tempfile::tempdir().unwrap(),
            store_root: tempfile::tempdir().unwrap(),
            store: None,
            dns: None,
            dns_port: free_port(),
            keydir: tempfile::tempdir().unwrap(),
            grace,
        };
        // Leftovers of an interrupted run.
        w.cloud().teardown();
        std::fs::create_dir_all(w.store_root.path().join(BUCKET)).unwrap();
        adt::cloud::local::LocalCloud::attach(STORE_NS, 2).unwrap();
        for (i, ns) in AS_NS.iter().enumerate() {
            adt::cloud::local::LocalCloud::attach(ns, 10 + i as u8).unwrap();
        }
        let mut w = w;
        w.start_store();
        w.dns = Some(Dnsmasq::start(w.dns_dir.path(), w.dns_port));
        assert!(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(w.keydir.path().join("fleet"))
            .status()
            .unwrap()
            .success());
        Some(w)
    }

    fn start_store(&mut self) {
        self.store = Some(
            Command::new("ip")
                .args(["netns", "exec", STORE_NS, &s3s_fs()])
                .args(["--host", "10.78.0.2", "--port", "9000"])
                .args(["--access-key", ACCESS, "--secret-key", SECRET])
                .arg(self.store_root.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Command::new("ip")
            .args([
                "netns",
                "exec",
                AS_NS[0],
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-m",
                "1",
            ])
            .arg("http://10.78.0.2:9000/")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
        {
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
    }

    fn stop_store(&mut self) {
        if let Some(mut c) = self.store.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn cloud(&self) -> adt::cloud::local::LocalCloud {
        adt::cloud::local::LocalCloud {
            state: self.cloud_dir.path().to_path_buf(),
            server_home: self.web_home.path().to_path_buf(),
            ssh_port: 2222,
            authorized_key: PathBuf::new(),
        }
    }

    fn servers(&self) -> Vec<(String, IpAddr)> {
        self.cloud().list().unwrap()
    }

    fn ips(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .servers()
            .iter()
            .map(|(_, ip)| ip.to_string())
            .collect();
        v.sort();
        v
    }

    /// The datastore's keys under `prefix` (read from s3s-fs's directory: works while it is
    /// down too).
    fn keys(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(self.store_root.path().join(BUCKET).join(prefix))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
        v.sort();
        v
    }

    fn strikes(&self, ip: &str) -> String {
        std::fs::read_to_string(
            self.store_root
                .path()
                .join(BUCKET)
                .join("adt-health")
                .join(ip),
        )
        .unwrap_or_default()
    }

    fn autoscaler(&self, n: u8) -> Host {
        let h = Host::new("autoscaler", 9000);
        let text = format!(
            "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nhost_base = 10.78.0.2:9000\nhost_bucket = 10.78.0.2:9000\nuse_https = False\nbucket_location = us-east-1\n"
        );
        std::fs::write(h.path(".s3cfg"), text).unwrap();
        let s = h.path(".ssh/autoscaler_configuration_settings.dat");
        let t = std::fs::read_to_string(&s)
            .unwrap()
            .replace("SSHPORT:1035", "SSHPORT:2222")
            .replace("SERVERUSER:X1234X", "SERVERUSER:root");
        std::fs::write(&s, format!("{t}CLOUDHOST:local\nDNSCHOICE:local\nBUILDIDENTIFIER:flt\nALGORITHM:ed25519\nNUMBERWS:2\nMYIP:10.78.0.{}\n", 9 + n)).unwrap();
        let key = self.keydir.path().join("fleet");
        for ext in ["", ".pub"] {
            let dst = h.path(&format!(".ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY{ext}"));
            std::fs::copy(format!("{}{ext}", key.display()), &dst).unwrap();
        }
        h.install();
        h
    }

    fn start(&self, h: &Host, n: usize, script: &str, args: &[&str]) -> Child {
        h.cmd("ip")
            .args(["netns", "exec", AS_NS[n], "/bin/sh"])
            .arg(h.path(script))
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("ADT_LOCAL_CLOUD", self.cloud_dir.path())
            .env("ADT_LOCAL_DNS_DIR", self.dns_dir.path())
            .env("ADT_WEBSERVER_HOME", self.web_home.path())
            .env("ADT_DNS_DRAIN_SECS", "0")
            .env("ADT_SHUTDOWN_WAIT", "5")
            .env("ADT_HEALTH_TIMEOUT", "2")
            .env("ADT_BUILD_WAIT", BUILD_WAIT.to_string())
            .env("ADT_BUILD_MARGIN_SECS", "0")
            .env("ADT_BUILD_GRACE_SECS", self.grace.to_string())
            .env("ADT_LOCK_RENEW_SECS", "2")
            .env("ADT_S3_ATTEMPTS", "2")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn run(&self, h: &Host, n: usize, script: &str, args: &[&str]) -> Output {
        self.start(h, n, script, args).wait_with_output().unwrap()
    }

    fn ok(&self, h: &Host, n: usize, script: &str, args: &[&str]) -> String {
        let o = self.run(h, n, script, args);
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        stdout(&o)
    }

    /// One round of the autoscaler's cron: scaling, then the health sweep, then the purge.
    fn round(&self, h: &Host, n: usize) -> String {
        let mut all = String::new();
        for s in [
            "cron/AutoscaleFromCron.sh",
            "cron/DeadOrAliveFromCron.sh",
            "autoscaler/PurgeDetachedIPs.sh",
        ] {
            let o = self.run(h, n, s, &[]);
            all.push_str(&format!("{s}: {}{}", stdout(&o), stderr(&o)));
        }
        all
    }

    /// The fleet is at its profile: `n` servers, all healthy, exactly they in DNS and in the
    /// datastore's markers, no build marker left.
    fn converged(&self, n: usize) -> Result<(), String> {
        let ips = self.ips();
        if ips.len() != n {
            return Err(format!("servers {ips:?}, want {n}"));
        }
        let dig = dig(self.dns_port);
        if dig != ips {
            return Err(format!("dig {dig:?} != cloud {ips:?}"));
        }
        for prefix in ["webserverips", "webserverpublicips"] {
            if self.keys(prefix) != ips {
                return Err(format!(
                    "{prefix}/ {:?} != cloud {ips:?}",
                    self.keys(prefix)
                ));
            }
        }
        for ip in &ips {
            if !self.answers(ip) {
                return Err(format!("{ip} does not answer HTTPS"));
            }
        }
        Ok(())
    }

    /// The server answers HTTPS (from an autoscaler's namespace).
    fn answers(&self, ip: &str) -> bool {
        let o = Command::new("ip")
            .args(["netns", "exec", AS_NS[0], "curl", "-sk", "-m", "2"])
            .args(["-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("https://{ip}/"))
            .output()
            .unwrap();
        stdout(&o) == "200"
    }

    /// Cron rounds until the fleet is at its profile; returns how many it took (at most `max`,
    /// `pause` apart).
    fn converge(&self, h: &Host, n: usize, want: usize, max: usize, pause: Duration) -> usize {
        let mut log = String::new();
        for round in 1..=max {
            log.push_str(&format!("--- round {round}\n{}", self.round(h, n)));
            if self.converged(want).is_ok() {
                return round;
            }
            std::thread::sleep(pause);
        }
        panic!(
            "not at the profile of {want} after {max} rounds: {:?}\n{log}",
            self.converged(want)
        );
    }

    fn no_orphan_processes(&self) {
        let cloud_processes = |w: &World| {
            let mut p = processes_naming(w.cloud_dir.path());
            // Servers that the cloud still lists are not orphans.
            let live: Vec<String> = w.servers().into_iter().map(|(n, _)| n).collect();
            p.retain(|l| !live.iter().any(|n| l.contains(&format!("/data/{n}/"))));
            p
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cloud_processes(self).is_empty() {
            assert!(
                Instant::now() < deadline,
                "processes of destroyed servers: {:?}",
                cloud_processes(self)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.cloud().teardown();
        self.stop_store();
        self.dns.take();
        for n in AS_NS.iter().chain([&STORE_NS]) {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn setup(w: &World, n: u32) -> (Host, Host) {
    let as1 = w.autoscaler(1);
    let as2 = w.autoscaler(2);
    w.ok(
        &as1,
        0,
        &format!("{W}PutToConfigDatastore.sh"),
        &["INSTALLEDSUCCESSFULLY"],
    );
    w.ok(&as1, 0, &format!("{U}ManuallyScale.sh"), &[&n.to_string()]);
    (as1, as2)
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILL (the launcher execs adt, so the child is the run itself).
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn scaling_log(h: &Host) -> String {
    std::fs::read_dir(h.path("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("scaling-events-")
        })
        .map(|e| std::fs::read_to_string(e.path().join("ScalingEventsLog.log")).unwrap_or_default())
        .collect()
}

/// Case 1 and 3: the datastore goes down while two webservers are being built. Both are
/// destroyed at once (no orphan, no process left); the lock stays behind (its release failed),
/// but its holder is dead on this machine, so the next run takes it over at once; one round
/// brings the fleet to its profile.
#[test]
fn datastore_down_during_a_build() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut w) = World::new(1800) else {
        return;
    };
    let (as1, _as2) = setup(&w, 2);
    let run = w.start(&as1, 0, "autoscaler/PerformScaling.sh", &[]);
    wait_for("a server", Duration::from_secs(20), || {
        !w.servers().is_empty()
    });
    w.stop_store();
    let o = run.wait_with_output().unwrap();
    assert!(!o.status.success(), "the run failed: {}", stdout(&o));
    assert!(w.servers().is_empty(), "orphans: {:?}", w.servers());
    w.no_orphan_processes();
    assert!(w.keys("webserverips").is_empty());
    assert!(
        w.keys("adt-locks").contains(&"autoscaling".to_string()),
        "the release failed with the datastore down: the lock is left"
    );
    w.start_store();
    let t = Instant::now();
    let rounds = w.converge(&as1, 0, 2, 2, Duration::from_secs(1));
    assert_eq!(rounds, 1, "taken over at once");
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    assert!(!scaling_log(&as1).contains("Another autoscaler is scaling"));
    w.no_orphan_processes();
    eprintln!(
        "datastore down during a build: back at the profile in {rounds} round(s), {:?}",
        t.elapsed()
    );
}

/// Case 2 and 3: a run killed mid-build leaves a half-built server and its lock; the lock is
/// taken over at once, the half-built server destroyed once its build timeout passed (by the
/// creation time the cloud reports), and the fleet rebuilt. A run killed after it marked its
/// server as being built leaves a healthy server: adopted and put into DNS, not destroyed.
#[test]
fn runs_killed_mid_build() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(w) = World::new(1800) else { return };
    let (as1, as2) = setup(&w, 2);
    // Killed as soon as its servers exist in the cloud: half built.
    let mut run = w.start(&as1, 0, "autoscaler/PerformScaling.sh", &[]);
    wait_for("a server", Duration::from_secs(20), || {
        !w.servers().is_empty()
    });
    kill(&mut run);
    let half: Vec<String> = w.servers().into_iter().map(|(n, _)| n).collect();
    assert!(!half.is_empty());
    let dry = w.ok(&as2, 1, "autoscaler/PerformScaling.sh", &["--dry-run"]);
    assert!(dry.starts_with("wanted 2 have "), "{dry}");
    eprintln!("dry run after the kill:\n{dry}");
    let t = Instant::now();
    let rounds = w.converge(&as2, 1, 2, 6, Duration::from_secs(3));
    let now: Vec<String> = w.servers().into_iter().map(|(n, _)| n).collect();
    assert!(
        rounds <= 6 && t.elapsed() < Duration::from_secs(BUILD_WAIT * 4 + 30),
        "{rounds} rounds, {:?}",
        t.elapsed()
    );
    w.no_orphan_processes();
    eprintln!(
        "killed mid-build ({} half built, {:?} after): back at the profile in {rounds} round(s), {:?}",
        half.len(),
        now,
        t.elapsed()
    );
    // Killed after marking its build: the server is healthy, and stays.
    w.ok(&as1, 0, &format!("{U}ManuallyScale.sh"), &["3"]);
    let mut run = w.start(&as1, 0, "autoscaler/PerformScaling.sh", &[]);
    let marked = || -> Vec<String> {
        std::fs::read_dir(as1.path("runtime/beingbuiltpublicips"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    wait_for("a build marker", Duration::from_secs(30), || {
        !marked().is_empty()
    });
    kill(&mut run);
    let marked = marked();
    assert_eq!(marked.len(), 1, "{marked:?}");
    let t = Instant::now();
    let rounds = w.converge(&as1, 0, 3, 2, Duration::from_secs(1));
    assert_eq!(rounds, 1);
    assert!(w.ips().contains(&marked[0]), "the healthy server was kept");
    assert!(!as1
        .path(&format!("runtime/beingbuiltpublicips/{}", marked[0]))
        .exists());
    w.no_orphan_processes();
    eprintln!(
        "killed after marking: adopted in {rounds} round(s), {:?}",
        t.elapsed()
    );
}

/// Case 4: 3 → 2 with one server unhealthy: the unhealthy one goes, both healthy ones stay.
#[test]
fn scale_down_removes_the_unhealthy_first() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(w) = World::new(1800) else { return };
    let (as1, as2) = setup(&w, 3);
    assert_eq!(w.converge(&as1, 0, 3, 1, Duration::ZERO), 1);
    // The first by name: the old order (missing from DNS first, then by name from the end)
    // would have kept it and removed a healthy one.
    let servers = w.servers();
    let (dead, dead_ip) = servers[0].clone();
    w.cloud().stop_web(&dead).unwrap();
    w.ok(&as2, 1, &format!("{U}ManuallyScale.sh"), &["2"]);
    let dry = w.ok(&as2, 1, "autoscaler/PerformScaling.sh", &["--dry-run"]);
    assert_eq!(dry, format!("wanted 2 have 3\ndestroy {dead} {dead_ip}\n"));
    let t = Instant::now();
    let rounds = w.converge(&as2, 1, 2, 1, Duration::ZERO);
    assert!(!w.ips().contains(&dead_ip.to_string()));
    w.no_orphan_processes();
    eprintln!(
        "scale-down with a dead server: {rounds} round(s), {:?}",
        t.elapsed()
    );
}

/// Case 5: strikes add up in a sliding window shared by both autoscalers; the grace holds for a
/// server the other autoscaler built (measured from the cloud's creation time); down, down, up,
/// down is down; a DNS failure while it is taken out keeps its strikes, and the next sweep
/// removes it.
#[test]
fn strikes_add_up_across_autoscalers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let grace = 10;
    let Some(w) = World::new(grace) else { return };
    let (as1, as2) = setup(&w, 2);
    assert_eq!(w.converge(&as1, 0, 2, 1, Duration::ZERO), 1);
    let built = Instant::now();
    let (victim, ip) = w.servers()[0].clone();
    let ip = ip.to_string();
    w.cloud().stop_web(&victim).unwrap();
    // Within its grace, on the autoscaler that did not build it: no strike.
    let o = w.ok(&as2, 1, "autoscaler/DeadOrAlive.sh", &[]);
    assert!(!o.contains("DOWN"), "{o}");
    assert!(!w.strikes(&ip).contains('d'), "{}", w.strikes(&ip));
    while built.elapsed() < Duration::from_secs(grace + 1) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let sweep = |h: &Host, n: usize| w.ok(h, n, "autoscaler/DeadOrAlive.sh", &[]);
    sweep(&as2, 1);
    sweep(&as1, 0);
    w.cloud().start_web(&victim).unwrap();
    wait_for("HTTPS again", Duration::from_secs(10), || w.answers(&ip));
    sweep(&as2, 1);
    assert!(
        w.strikes(&ip).ends_with("ddu"),
        "an up sweep keeps the strikes: {}",
        w.strikes(&ip)
    );
    assert!(dig(w.dns_port).contains(&ip));
    w.cloud().stop_web(&victim).unwrap();
    // Down, but DNS fails as it is taken out (the DNS hosts file cannot be locked for writing):
    // it stays, and so do its strikes.
    let lock = w.dns_dir.path().join("hosts.lock");
    let _ = std::fs::remove_file(&lock);
    std::fs::create_dir(&lock).unwrap();
    let o = sweep(&as1, 0);
    assert_eq!(o, format!("IP ADDRESS {ip} is DOWN\n"));
    assert!(w.ips().contains(&ip), "not destroyed while in DNS");
    assert!(w.strikes(&ip).ends_with("ddud"), "{}", w.strikes(&ip));
    std::fs::remove_dir(&lock).unwrap();
    // The next sweep, by the other autoscaler, removes it.
    let o = sweep(&as2, 1);
    assert_eq!(o, format!("IP ADDRESS {ip} is DOWN\n"));
    assert!(!w.ips().contains(&ip), "destroyed");
    assert_eq!(w.strikes(&ip), "", "forgotten with the server");
    assert!(!dig(w.dns_port).contains(&ip));
    let rounds = w.converge(&as2, 1, 2, 1, Duration::ZERO);
    w.no_orphan_processes();
    eprintln!(
        "flapping server down after 4 sweeps by two autoscalers, removed at the 5th after a DNS failure; replaced in {rounds} round(s)"
    );
}

/// Case 6: a dry run writes nothing anywhere (no profile, no NUMBERWS, no log, no lock); a
/// profile above MAXWEBSERVERS is refused with one line, and nothing is built.
#[test]
fn dry_runs_write_nothing_and_profiles_have_a_ceiling() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(w) = World::new(1800) else { return };
    let as1 = w.autoscaler(1);
    w.ok(
        &as1,
        0,
        &format!("{W}PutToConfigDatastore.sh"),
        &["INSTALLEDSUCCESSFULLY"],
    );
    let settings = as1.path(".ssh/autoscaler_configuration_settings.dat");
    let t = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, t.replace("NUMBERWS:2", "NUMBERWS:5")).unwrap();
    fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    out.push((p.clone(), Vec::new()));
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
                }
            }
        }
        out.sort();
        out
    }
    let before = (tree(&as1.home), tree(w.store_root.path()));
    let dry = w.ok(&as1, 0, "autoscaler/PerformScaling.sh", &["--dry-run"]);
    assert_eq!(
        dry,
        "wanted 5 have 0\nbuild 5\n",
        "{}",
        std::fs::read_to_string(&settings).unwrap()
    );
    assert!(
        before == (tree(&as1.home), tree(w.store_root.path())),
        "the dry run wrote"
    );
    // A profile of 1000.
    std::fs::write(
        as1.path("profile.cnf"),
        "SCALING_MODE=static\nNO_WEBSERVERS=1000\n",
    )
    .unwrap();
    w.ok(
        &as1,
        0,
        &format!("{W}PutToConfigDatastore.sh"),
        &[
            as1.path("profile.cnf").to_str().unwrap(),
            "scalingprofile/profile.cnf",
        ],
    );
    for args in [&["--dry-run"][..], &[]] {
        let o = w.run(&as1, 0, "autoscaler/PerformScaling.sh", args);
        assert!(!o.status.success());
        assert_eq!(stdout(&o), "");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.contains("1000") && e.contains("MAXWEBSERVERS (20)"),
            "{e}"
        );
    }
    assert!(w.servers().is_empty());
}

/// Case 7: teardown finds every server and process, also those a killed run started inside its
/// own mount namespace.
#[test]
fn teardown_leaves_no_process_and_no_namespace() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(w) = World::new(1800) else { return };
    let (as1, _as2) = setup(&w, 2);
    assert_eq!(w.converge(&as1, 0, 2, 1, Duration::ZERO), 1);
    // And a half-built one of a killed run.
    w.ok(&as1, 0, &format!("{U}ManuallyScale.sh"), &["3"]);
    let mut run = w.start(&as1, 0, "autoscaler/PerformScaling.sh", &[]);
    wait_for("a third server", Duration::from_secs(20), || {
        w.servers().len() == 3
    });
    std::thread::sleep(Duration::from_millis(300));
    kill(&mut run);
    assert!(!processes_naming(w.cloud_dir.path()).is_empty());
    let o = Command::new(adt_bin())
        .args(["local-cloud", "teardown"])
        .env("ADT_LOCAL_CLOUD", w.cloud_dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(w.servers().is_empty());
    let left = processes_naming(w.cloud_dir.path());
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(server_namespaces(), Vec::<String>::new());
}
