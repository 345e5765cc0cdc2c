//! The autoscaler end to end on the local cloud: servers are network namespaces running a real
//! sshd and HTTPS server; the datastore is a real s3s-fs in a namespace on the same hub; DNS is a
//! real dnsmasq queried with dig. Two autoscalers (two HOMEs, two namespaces) share them.

mod common;
use common::*;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct World {
    cloud_dir: tempfile::TempDir,
    dns_dir: tempfile::TempDir,
    web_home: tempfile::TempDir,
    children: Vec<Child>,
    dns: Option<Dnsmasq>,
    namespaces: Vec<String>,
    dns_port: u16,
}

impl World {
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
    /// The server shut itself down (MARKEDFORSHUTDOWN handshake) before it was destroyed.
    fn assert_shut_down_then_destroyed(&self, name: &str) {
        let ev = self.cloud().events();
        let pos = |what: &str| ev.iter().position(|l| *l == format!("{name} {what}"));
        let (Some(s), Some(d)) = (pos("shutdown"), pos("destroyed")) else {
            panic!("{name}: events {ev:?}");
        };
        assert!(s < d, "{name}: events {ev:?}");
    }
    fn dig(&self) -> Vec<String> {
        dig(self.dns_port)
    }
    /// DNS answers exactly the IPs of the servers the cloud has.
    fn assert_dns_matches_cloud(&self, n: usize) {
        let mut want: Vec<String> = self
            .servers()
            .iter()
            .map(|(_, ip)| ip.to_string())
            .collect();
        want.sort();
        assert_eq!(want.len(), n, "servers: {:?}", self.servers());
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.dig() != want {
            assert!(
                Instant::now() < deadline,
                "dig {:?} != cloud {want:?}",
                self.dig()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.cloud().teardown();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", adt::cloud::local::HUB])
            .status();
    }
}

fn autoscaler_home(n: u8, w: &World, key: &Path) -> Host {
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
    std::fs::write(&s, format!("{t}CLOUDHOST:local\nDNSCHOICE:local\nBUILDIDENTIFIER:e2e\nALGORITHM:ed25519\nNUMBERWS:2\nMYIP:10.78.0.{}\n", 9 + n)).unwrap();
    for ext in ["", ".pub"] {
        let dst = h.path(&format!(".ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY{ext}"));
        std::fs::copy(format!("{}{ext}", key.display()), &dst).unwrap();
    }
    let _ = w;
    h.install();
    h
}

fn run_in(h: &Host, ns: &str, w: &World, script: &str, args: &[&str]) -> Output {
    start_in(h, ns, w, script, args).wait_with_output().unwrap()
}

fn start_in(h: &Host, ns: &str, w: &World, script: &str, args: &[&str]) -> Child {
    h.cmd("ip")
        .args(["netns", "exec", ns, "/bin/sh"])
        .arg(h.path(script))
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("ADT_LOCAL_CLOUD", w.cloud_dir.path())
        .env("ADT_LOCAL_DNS_DIR", w.dns_dir.path())
        .env("ADT_WEBSERVER_HOME", w.web_home.path())
        .env("ADT_DNS_DRAIN_SECS", "0")
        .env("ADT_SHUTDOWN_WAIT", "30")
        .env("ADT_HEALTH_TIMEOUT", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn scale_heal_and_shrink_on_the_local_cloud() {
    if !Command::new("ip")
        .args(["netns", "add", "adte2eprobe"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        skip("cannot create network namespaces here");
        return;
    }
    let _ = Command::new("ip")
        .args(["netns", "del", "adte2eprobe"])
        .status();
    // Leftovers of an interrupted run.
    let _ = Command::new("sh").arg("-c").arg("for n in $(ip netns list | awk '{print $1}' | grep '^adtlc'); do ip netns pids $n | xargs -r kill -9; ip netns del $n; done").status();
    let mut w = World {
        cloud_dir: tempfile::tempdir().unwrap(),
        dns_dir: tempfile::tempdir().unwrap(),
        web_home: tempfile::tempdir().unwrap(),
        children: vec![],
        dns: None,
        namespaces: vec![],
        dns_port: free_port(),
    };
    // The datastore: s3s-fs in its own namespace on the hub (10.78.0.2).
    let store_root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(store_root.path().join(BUCKET)).unwrap();
    adt::cloud::local::LocalCloud::attach("adte2e-store", 2).unwrap();
    w.namespaces.push("adte2e-store".into());
    let s3s = std::env::var("S3S_FS")
        .unwrap_or_else(|_| format!("{}/.cargo/bin/s3s-fs", std::env::var("HOME").unwrap()));
    let s3s = if Path::new(&s3s).exists() {
        s3s
    } else {
        "s3s-fs".into()
    };
    w.children.push(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                "adte2e-store",
                &s3s,
                "--host",
                "10.78.0.2",
                "--port",
                "9000",
                "--access-key",
                ACCESS,
                "--secret-key",
                SECRET,
            ])
            .arg(store_root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // DNS: a real dnsmasq serving the local provider's hosts file.
    w.dns = Some(Dnsmasq::start(w.dns_dir.path(), w.dns_port));
    // Two autoscalers, one fleet key.
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("fleet");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    let as1 = autoscaler_home(1, &w, &key);
    let as2 = autoscaler_home(2, &w, &key);
    for (n, ns) in [(10u8, "adte2e-as1"), (11, "adte2e-as2")] {
        adt::cloud::local::LocalCloud::attach(ns, n).unwrap();
        w.namespaces.push(ns.into());
    }
    let put = run_in(
        &as1,
        "adte2e-as1",
        &w,
        &format!("{W}PutToConfigDatastore.sh"),
        &["INSTALLEDSUCCESSFULLY"],
    );
    assert!(put.status.success(), "{}", stderr(&put));
    let ms = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "providerscripts/utilities/ManuallyScale.sh",
        &["3"],
    );
    assert_eq!(
        stdout(&ms),
        "Number of webservers is now successfully set to 3\n",
        "{}",
        stderr(&ms)
    );

    let dry = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "autoscaler/PerformScaling.sh",
        &["--dry-run"],
    );
    assert_eq!(
        stdout(&dry),
        "wanted 3 have 0\nbuild 3\n",
        "{}",
        stderr(&dry)
    );

    // Two autoscalers at once: the lock object lets one build; no double build.
    let a = start_in(&as1, "adte2e-as1", &w, "cron/AutoscaleFromCron.sh", &[]);
    let b = start_in(&as2, "adte2e-as2", &w, "cron/AutoscaleFromCron.sh", &[]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let logs = || {
        [&as1, &as2]
            .iter()
            .map(|h| {
                // logs/scaling-events-<date>/ScalingEventsLog.log, as legacy.
                std::fs::read_dir(h.path("logs"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .starts_with("scaling-events-")
                    })
                    .map(|e| {
                        std::fs::read_to_string(e.path().join("ScalingEventsLog.log"))
                            .unwrap_or_default()
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(
        a.status.success() && b.status.success(),
        "{} / {}\n{}",
        stderr(&a),
        stderr(&b),
        logs()
    );
    w.assert_dns_matches_cloud(3);
    // A second run changes nothing.
    let again = run_in(
        &as2,
        "adte2e-as2",
        &w,
        "autoscaler/PerformScaling.sh",
        &["--dry-run"],
    );
    assert_eq!(stdout(&again), "wanted 3 have 3\n");

    // Which autoscaler built them keeps their bookkeeping.
    let builder = if as1
        .path("runtime/protectedfromtermination")
        .read_dir()
        .map(|d| d.count())
        .unwrap_or(0)
        == 3
    {
        &as1
    } else {
        &as2
    };
    let builder_ns = if std::ptr::eq(builder, &as1) {
        "adte2e-as1"
    } else {
        "adte2e-as2"
    };
    assert_eq!(
        builder
            .path("runtime/protectedfromtermination")
            .read_dir()
            .unwrap()
            .count(),
        3
    );

    // A webserver's web service stops: strikes after the grace period, then it is taken out.
    let (victim, victim_ip) = w.servers()[1].clone();
    w.cloud().stop_web(&victim).unwrap();
    let prot = builder.path(&format!("runtime/protectedfromtermination/{victim_ip}"));
    assert!(Command::new("touch")
        .args(["-d", "40 minutes ago"])
        .arg(&prot)
        .status()
        .unwrap()
        .success());
    for round in 1..=3 {
        let o = run_in(builder, builder_ns, &w, "cron/DeadOrAliveFromCron.sh", &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let downs = stdout(&run_in(
            builder,
            builder_ns,
            &w,
            "autoscaler/GetDNSIPs.sh",
            &[],
        ));
        assert_eq!(
            downs.contains(&victim_ip.to_string()),
            round < 3,
            "round {round}: {downs}"
        );
    }
    assert!(!w.servers().iter().any(|(n, _)| *n == victim), "destroyed");
    w.assert_shut_down_then_destroyed(&victim);
    w.assert_dns_matches_cloud(2);
    // The next scaling run replaces it.
    let o = run_in(&as1, "adte2e-as1", &w, "cron/AutoscaleFromCron.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.assert_dns_matches_cloud(3);

    // Scale down to 2: one out of DNS and destroyed.
    let ms = run_in(
        &as2,
        "adte2e-as2",
        &w,
        "providerscripts/utilities/ManuallyScale.sh",
        &["2"],
    );
    assert!(ms.status.success());
    let dry = run_in(
        &as2,
        "adte2e-as2",
        &w,
        "autoscaler/PerformScaling.sh",
        &["--dry-run"],
    );
    assert!(
        stdout(&dry).starts_with("wanted 2 have 3\ndestroy webserver-"),
        "{}",
        stdout(&dry)
    );
    let before = w.servers();
    let o = run_in(&as2, "adte2e-as2", &w, "autoscaler/PerformScaling.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.assert_dns_matches_cloud(2);
    let after = w.servers();
    let gone: Vec<_> = before.iter().filter(|s| !after.contains(s)).collect();
    assert_eq!(gone.len(), 1, "{before:?} -> {after:?}");
    w.assert_shut_down_then_destroyed(&gone[0].0);
    // A record for a machine that is not one of our webservers is purged; ours stay.
    let add = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "autoscaler/AddIPToDNS.sh",
        &["10.78.0.240"],
    );
    assert!(add.status.success(), "{}", stderr(&add));
    assert_eq!(w.dig().len(), 3);
    let p = run_in(
        &as1,
        "adte2e-as1",
        &w,
        "autoscaler/PurgeDetachedIPs.sh",
        &[],
    );
    assert_eq!(
        stdout(&p),
        "removed detached 10.78.0.240 from DNS\n",
        "{}",
        stderr(&p)
    );
    w.assert_dns_matches_cloud(2);
    // The datastore's webserver markers follow the fleet.
    let l = run_in(
        &as1,
        "adte2e-as1",
        &w,
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    let mut listed: Vec<String> = stdout(&l).lines().map(str::to_string).collect();
    listed.sort();
    let mut ips: Vec<String> = w.servers().iter().map(|(_, ip)| ip.to_string()).collect();
    ips.sort();
    assert_eq!(listed, ips);
}
