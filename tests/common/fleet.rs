//! The local cloud fleet for namespace tests (tests/autoscaler_e2e.rs, tests/reset_fleet.rs):
//! the hub, a real s3s-fs in its own namespace at 10.78.0.2:9000, a real dnsmasq, machine HOMEs
//! talking to them, commands run inside a machine's namespace, and a cron cycle run the way cron
//! runs a crontab. Run those tests under `flock /work/netns.lock`.

use super::*;
use std::net::IpAddr;

pub struct World {
    pub cloud_dir: tempfile::TempDir,
    pub dns_dir: tempfile::TempDir,
    pub web_home: tempfile::TempDir,
    pub store_root: tempfile::TempDir,
    pub children: Vec<Child>,
    pub dns: Option<Dnsmasq>,
    pub namespaces: Vec<String>,
    pub dns_port: u16,
}

impl World {
    /// The hub, the datastore (namespace `<prefix>-store`, bucket BUCKET) and DNS; None (the
    /// test skipped) where network namespaces cannot be made.
    pub fn start(prefix: &str) -> Option<World> {
        let probe = format!("{prefix}probe");
        if !Command::new("ip")
            .args(["netns", "add", &probe])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
        {
            skip("cannot create network namespaces here");
            return None;
        }
        let _ = Command::new("ip").args(["netns", "del", &probe]).status();
        // Leftovers of an interrupted run.
        let _ = Command::new("sh").arg("-c").arg(format!("for n in $(ip netns list | awk '{{print $1}}' | grep -e '^adtlc' -e '^{prefix}-'); do ip netns pids $n | xargs -r kill -9; ip netns del $n; done")).status();
        let mut w = World {
            cloud_dir: tempfile::tempdir().unwrap(),
            dns_dir: tempfile::tempdir().unwrap(),
            web_home: tempfile::tempdir().unwrap(),
            store_root: tempfile::tempdir().unwrap(),
            children: vec![],
            dns: None,
            namespaces: vec![],
            dns_port: free_port(),
        };
        std::fs::create_dir_all(w.store_root.path().join(BUCKET)).unwrap();
        let store_ns = format!("{prefix}-store");
        w.attach(&store_ns, 2);
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
                    &store_ns,
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
                .arg(w.store_root.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        w.dns = Some(Dnsmasq::start(w.dns_dir.path(), w.dns_port));
        Some(w)
    }

    /// Namespace `ns` on the hub as 10.78.0.<n>, removed when the world is dropped.
    pub fn attach(&mut self, ns: &str, n: u8) {
        adt::cloud::local::LocalCloud::attach(ns, n).unwrap();
        self.namespaces.push(ns.into());
    }

    pub fn cloud(&self) -> adt::cloud::local::LocalCloud {
        adt::cloud::local::LocalCloud {
            state: self.cloud_dir.path().to_path_buf(),
            server_home: self.web_home.path().to_path_buf(),
            ssh_port: 2222,
            authorized_key: PathBuf::new(),
        }
    }

    pub fn servers(&self) -> Vec<(String, IpAddr)> {
        self.cloud().list().unwrap()
    }

    /// The server shut itself down (MARKEDFORSHUTDOWN handshake) before it was destroyed.
    pub fn assert_shut_down_then_destroyed(&self, name: &str) {
        let ev = self.cloud().events();
        let pos = |what: &str| ev.iter().position(|l| *l == format!("{name} {what}"));
        let (Some(s), Some(d)) = (pos("shutdown"), pos("destroyed")) else {
            panic!("{name}: events {ev:?}");
        };
        assert!(s < d, "{name}: events {ev:?}");
    }

    pub fn dig(&self) -> Vec<String> {
        dig(self.dns_port)
    }

    /// DNS answers exactly the IPs of the servers the cloud has.
    pub fn assert_dns_matches_cloud(&self, n: usize) {
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

    /// `script` (relative to the machine's HOME) run in namespace `ns` with the local cloud's
    /// knobs.
    pub fn run_in(&self, h: &Host, ns: &str, script: &str, args: &[&str]) -> Output {
        self.start_in(h, ns, script, args)
            .wait_with_output()
            .unwrap()
    }

    pub fn start_in(&self, h: &Host, ns: &str, script: &str, args: &[&str]) -> Child {
        self.in_ns(h, ns)
            .arg("/bin/sh")
            .arg(h.path(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `ip netns exec NS` with the machine's environment and the local cloud's knobs.
    fn in_ns(&self, h: &Host, ns: &str) -> Command {
        let mut c = h.cmd("ip");
        c.args(["netns", "exec", ns])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("ADT_LOCAL_CLOUD", self.cloud_dir.path())
            .env("ADT_LOCAL_DNS_DIR", self.dns_dir.path())
            .env("ADT_WEBSERVER_HOME", self.web_home.path())
            .env("ADT_DNS_DRAIN_SECS", "0")
            .env("ADT_SHUTDOWN_WAIT", "30")
            .env("ADT_HEALTH_TIMEOUT", "3");
        c
    }

    /// One cron cycle of the machine in namespace `ns`: the crontab its InitialiseCron installs
    /// (sourced, as the legacy build did), and every entry due at minute `minute` (of an hour
    /// whose other fields are all `*`) run at once as cron runs them, `/bin/sh -c LINE` with
    /// cron's PATH. Returns each entry run with its outcome.
    pub fn cron_cycle(&self, h: &Host, ns: &str, minute: u32) -> Vec<(String, Output)> {
        let tab = h.dir.path().join("crontab");
        let o = h
            .cmd("/bin/sh")
            .arg("-c")
            .arg(format!(
                ". {}",
                h.path("providerscripts/utilities/InitialiseCron.sh")
                    .display()
            ))
            .env("ADT_CRONTAB_FILE", &tab)
            .output()
            .unwrap();
        assert!(o.status.success(), "InitialiseCron: {}", stderr(&o));
        let text = std::fs::read_to_string(&tab).unwrap();
        let due: Vec<String> = text
            .lines()
            .filter_map(|l| due_at(l, minute))
            .map(str::to_string)
            .collect();
        let children: Vec<(String, Child)> = due
            .into_iter()
            .map(|cmd| {
                let mut c = self.in_ns(h, ns);
                c.env("PATH", "/usr/bin:/bin")
                    .env("SHELL", "/bin/sh")
                    .env("ADT_FIREWALL", "iptables")
                    .args(["timeout", "150", "/bin/sh", "-c", &cmd])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                (cmd, c.spawn().unwrap())
            })
            .collect();
        children
            .into_iter()
            .map(|(cmd, c)| (cmd, c.wait_with_output().unwrap()))
            .collect()
    }
}

/// The command of crontab line `line` when it is due at minute `minute` of an hour whose other
/// fields are `*` (entries for a given hour, day or month, `@reboot` and `@daily` are not).
pub fn due_at(line: &str, minute: u32) -> Option<&str> {
    let line = line.trim_start();
    if line.starts_with('#') || line.starts_with('@') {
        return None;
    }
    let mut rest = line;
    let mut fields = Vec::new();
    for _ in 0..5 {
        let (f, r) = rest.trim_start().split_once(char::is_whitespace)?;
        fields.push(f);
        rest = r;
    }
    if fields[1..].iter().any(|f| *f != "*") {
        return None;
    }
    let hit = fields[0].split(',').any(|f| match f {
        "*" => true,
        f => match f.strip_prefix("*/") {
            Some(n) => n
                .parse::<u32>()
                .is_ok_and(|n| n > 0 && minute.is_multiple_of(n)),
            None => f.parse::<u32>() == Ok(minute),
        },
    });
    hit.then(|| rest.trim())
}

impl Drop for World {
    fn drop(&mut self) {
        self.cloud().teardown();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.namespaces {
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!("ip netns pids {n} | xargs -r kill -9"))
                .status();
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", adt::cloud::local::HUB])
            .status();
    }
}

/// A HOME for a `machine` of the local fleet: its s3cfg at the hub's datastore, SSH on the
/// local cloud's port, `settings` appended, launchers installed.
pub fn fleet_home(machine: &'static str, settings: &str, key: Option<&Path>) -> Host {
    let h = Host::new(machine, 9000);
    let text = format!(
        "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nhost_base = 10.78.0.2:9000\nhost_bucket = 10.78.0.2:9000\nuse_https = False\nbucket_location = us-east-1\n"
    );
    std::fs::write(h.path(".s3cfg"), text).unwrap();
    let s = h.path(&format!(".ssh/{machine}_configuration_settings.dat"));
    let t = std::fs::read_to_string(&s)
        .unwrap_or_default()
        .replace("SSHPORT:1035", "SSHPORT:2222")
        .replace("SERVERUSER:X1234X", "SERVERUSER:root");
    if machine != "build" {
        std::fs::write(&s, format!("{t}{settings}")).unwrap();
    }
    if let Some(key) = key {
        for ext in ["", ".pub"] {
            let dst = h.path(&format!(".ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY{ext}"));
            std::fs::copy(format!("{}{ext}", key.display()), &dst).unwrap();
        }
    }
    h.install();
    h
}
