//! The 2025 SetupFirewall with real packets: a 2025 machine namespace (our launchers installed
//! at the 2025 paths) runs `security/SetupFirewall.sh` with real iptables or ufw; peers on a
//! bridge in a hub namespace (10.81.0.0/24, inside the namespaces only) play a machine in the
//! VPC (VPCIPRANGE 10.81.0.32/28), the build machine outside it, an operator's laptop named in
//! `runtime/firewallports.dat`, and an outsider. TCP connections prove that the ports the 2025
//! contract opens are open to exactly the sources it names, that a malformed or empty ports
//! line opens nothing and removes no working rule, and that ACTIVEFIREWALLS and the build
//! style's FIREWALL: tool are obeyed, and that sshd_config gets its `AllowUsers` lines (a file
//! of the test's, `ADT_SSHD_CONFIG`). Everything is removed on drop, also when a test fails.
//! Run as `flock /work/netns.lock cargo test --test firewall2025_netns`.

mod common;
mod netlab;
use common::*;
use netlab::*;
use std::path::PathBuf;
use std::process::{Command, Output};

const NET: &str = "10.81.0";
const SSH: u16 = 1035;
const DB: u16 = 2035;
const M: &str = "10.81.0.10";

/// A 2025 machine's home, our launchers installed, and its namespace.
struct Home2025 {
    _dir: tempfile::TempDir,
    home: PathBuf,
    homedir: PathBuf,
    machine: &'static str,
    ns: String,
    hostname: &'static str,
    /// Stands in for /etc/ssh/sshd_config.
    sshd: PathBuf,
    /// What the stand-in `utilities/processing/RunServiceCommand.sh` was asked.
    services: PathBuf,
}

impl Home2025 {
    fn new(machine: &'static str, ns: String, hostname: &'static str) -> Home2025 {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home/X9fKqwer");
        std::fs::create_dir_all(home.join("runtime")).unwrap();
        let homedir = dir.path().join("homedir.dat");
        std::fs::write(&homedir, format!("{}\n", home.display())).unwrap();
        let sshd = dir.path().join("sshd_config");
        std::fs::write(&sshd, "PermitRootLogin no\n").unwrap();
        let services = dir.path().join("services.log");
        let svc = home.join("utilities/processing/RunServiceCommand.sh");
        std::fs::create_dir_all(svc.parent().unwrap()).unwrap();
        std::fs::write(
            &svc,
            format!("#!/bin/sh\necho \"$*\" >> '{}'\n", services.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&svc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let h = Home2025 {
            _dir: dir,
            home,
            homedir,
            machine,
            ns,
            hostname,
            sshd,
            services,
        };
        h.settings("");
        let o = Command::new(adt_bin())
            .args(["layout", "install", "--generation", "2025", "--machine"])
            .arg(machine)
            .arg("--home")
            .arg(&h.home)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        h
    }

    /// The settings: the common ones, then `extra` (later lines do not override earlier ones,
    /// so `extra` only adds).
    fn settings(&self, extra: &str) {
        std::fs::write(
            self.home
                .join(format!("runtime/{}_configuration_settings.dat", self.machine)),
            format!(
                "{extra}WEBSITEURL:www.example.com\nSERVERUSER:X9fKqwer\nSSHPORT:{SSH}\nDBPORT:{DB}\n\
                 BUILDMACHINEIP:{NET}.5\nBUILDMACHINEVPC:0\n"
            ),
        )
        .unwrap();
    }

    fn styles(&self, text: &str) {
        std::fs::write(self.home.join("runtime/buildstyles.dat"), text).unwrap();
    }

    fn ports(&self, text: Option<&str>) {
        let f = self.home.join("runtime/firewallports.dat");
        match text {
            Some(t) => std::fs::write(f, t).unwrap(),
            None => {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    fn setup_firewall(&self) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns, "/bin/sh"])
            .arg(self.home.join("security/SetupFirewall.sh"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("ADT_HOMEDIR_FILE", &self.homedir)
            .env("ADT_HOSTNAME", self.hostname)
            .env("ADT_SSHD_CONFIG", &self.sshd)
            .output()
            .unwrap()
    }

    fn sh(&self, snippet: &str) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.ns, "/bin/sh", "-c", snippet])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap();
        stdout(&o)
    }
}

/// Who reaches which port of the machine, as `name:port` for each connection that succeeds.
fn reach(lab: &Lab, peers: &[(&str, &str)], ports: &[u16]) -> Vec<String> {
    let mut v = Vec::new();
    for (name, ns) in peers {
        for p in ports {
            if lab.can_connect(ns, M, *p) {
                v.push(format!("{name}:{p}"));
            }
        }
    }
    v
}

fn listen(lab: &mut Lab, ns: &str, ports: &[u16]) {
    let mut l = Command::new("ip");
    l.args(["netns", "exec", ns, "python3", "-c", LISTENER]);
    for p in ports {
        l.arg(p.to_string());
    }
    lab.spawn(&mut l);
    let start = std::time::Instant::now();
    while !lab.can_connect(ns, "127.0.0.1", ports[0]) {
        assert!(start.elapsed().as_secs() < 20, "the listener did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: status {:?}, stdout {}, stderr {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// A webserver (`ws-…`) with iptables, the tool its build style names (ufw is installed too).
#[test]
fn a_2025_webserver_opens_exactly_what_its_contract_names() {
    let Some(mut lab) = Lab::new("g25w", NET) else {
        return;
    };
    let mns = lab.host("m", 10);
    let vpc = lab.host("vpc", 40);
    let bm = lab.host("bm", 5);
    let laptop = lab.host("lap", 60);
    let out = lab.host("out", 70);
    let peers = [
        ("vpc", vpc.as_str()),
        ("bm", bm.as_str()),
        ("laptop", laptop.as_str()),
        ("out", out.as_str()),
    ];
    let ports = [SSH, 443, 8080, DB];
    listen(&mut lab, &mns, &ports);
    let m = Home2025::new("webserver", mns.clone(), "ws-lon1-prod1-1");
    m.styles("FIREWALL:iptables\nDATASTORETOOL:s3cmd\n");
    m.ports(Some(&format!(
        "AUTHENTICATORPORTS:\nREVERSEPROXYPORTS:9000|ipv4|0.0.0.0/0\nAUTOSCALERPORTS:\n\
         WEBSERVERPORTS:8080|ipv4|{NET}.60/32 443|ipv4|0.0.0.0/0 \nDATABASEPORTS:{DB}|ipv4|0.0.0.0/0\n"
    )));
    let everyone: Vec<String> = peers
        .iter()
        .flat_map(|(n, _)| ports.iter().map(move |p| format!("{n}:{p}")))
        .collect();

    // ACTIVEFIREWALLS:2 (the cloud's native firewall only): the machine's is not touched.
    m.settings("ACTIVEFIREWALLS:2\nVPCIPRANGE:10.81.0.32/28\n");
    ok(&m.setup_firewall(), "ACTIVEFIREWALLS:2");
    assert_eq!(reach(&lab, &peers, &ports), everyone);
    assert!(!m.sh("iptables -S").contains("ADT-FIREWALL"));

    // The machine's own firewall: SSH from the VPC and the build machine (outside the VPC),
    // 443 from the VPC, the build machine and (the ports line) anywhere, 8080 from the laptop
    // only; other machine types' lines and the database port: nobody.
    m.settings("ACTIVEFIREWALLS:1\nVPCIPRANGE:10.81.0.32/28\n");
    ok(&m.setup_firewall(), "first reconcile");
    let want = [
        "vpc:1035",
        "vpc:443",
        "bm:1035",
        "bm:443",
        "laptop:443",
        "laptop:8080",
        "out:443",
    ];
    assert_eq!(reach(&lab, &peers, &ports), want, "{}", m.sh("iptables -S"));
    assert!(
        m.sh("iptables -S").contains("ADT-FIREWALL"),
        "iptables (the build style's tool) holds the rules"
    );
    // sshd admits the server user from the VPC; ssh restarted once.
    let sshd = "PermitRootLogin no\nAllowUsers X9fKqwer@10.81.0.32/28\n";
    assert_eq!(std::fs::read_to_string(&m.sshd).unwrap(), sshd);
    assert_eq!(
        std::fs::read_to_string(&m.services).unwrap(),
        "ssh restart\n"
    );
    // A second reconcile changes nothing.
    let before = m.sh("iptables -S");
    ok(&m.setup_firewall(), "second reconcile");
    assert_eq!(m.sh("iptables -S"), before);
    assert_eq!(std::fs::read_to_string(&m.sshd).unwrap(), sshd);
    assert_eq!(
        std::fs::read_to_string(&m.services).unwrap(),
        "ssh restart\n"
    );

    // A malformed token: one line naming it, status 1, every working rule kept.
    m.ports(Some(&format!(
        "WEBSERVERPORTS:8080|ipv4|{NET}.60/33 443|ipv4|0.0.0.0/0\n"
    )));
    let o = m.setup_firewall();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("WEBSERVERPORTS") && err.contains("10.81.0.60/33"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(m.sh("iptables -S"), before);
    assert_eq!(reach(&lab, &peers, &ports), want);

    // An empty line, then no file at all: nothing opened, nothing removed.
    for text in [Some("WEBSERVERPORTS:\n"), Some(""), None] {
        m.ports(text);
        ok(&m.setup_firewall(), "empty ports line");
        assert_eq!(reach(&lab, &peers, &ports), want, "{text:?}");
    }

    // DELETE closes the laptop's 8080; 443 narrowed to the laptop: the outsider loses it, the
    // VPC and the build machine keep theirs.
    m.ports(Some(&format!(
        "WEBSERVERPORTS:8080|ipv4|{NET}.60/32|DELETE 443|ipv4|{NET}.60/32\n"
    )));
    ok(&m.setup_firewall(), "narrowed");
    assert_eq!(
        reach(&lab, &peers, &ports),
        ["vpc:1035", "vpc:443", "bm:1035", "bm:443", "laptop:443"]
    );

    // VPCIPRANGE gone from the settings: refused, nothing changed (the fleet keeps SSH).
    let now = m.sh("iptables -S");
    m.settings("ACTIVEFIREWALLS:1\n");
    let o = m.setup_firewall();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("VPCIPRANGE"), "{}", stderr(&o));
    assert_eq!(m.sh("iptables -S"), now);
}

/// A database with ufw: SSH and the database port from the VPC, SSH from the build machine,
/// and what DATABASEPORTS names; a DBaaS installation opens no database port.
#[test]
fn a_2025_database_with_ufw() {
    if Command::new("ufw").arg("--version").output().is_err() {
        skip("ufw is not installed");
        return;
    }
    let Some(mut lab) = Lab::new("g25d", NET) else {
        return;
    };
    let mns = lab.host("m", 10);
    lab.private_ufw(&mns);
    let vpc = lab.host("vpc", 40);
    let bm = lab.host("bm", 5);
    let out = lab.host("out", 70);
    let peers = [
        ("vpc", vpc.as_str()),
        ("bm", bm.as_str()),
        ("out", out.as_str()),
    ];
    let ports = [SSH, DB, 443];
    listen(&mut lab, &mns, &ports);
    let m = Home2025::new("database", mns.clone(), "db-lon1-prod1-1");
    m.styles("FIREWALL:ufw\n");
    m.settings("ACTIVEFIREWALLS:3\nVPCIPRANGE:10.81.0.32/28\n");
    m.ports(Some("WEBSERVERPORTS:443|ipv4|0.0.0.0/0\nDATABASEPORTS:\n"));
    let status = || m.sh("ufw status verbose");
    ok(&m.setup_firewall(), "first reconcile");
    assert_eq!(
        reach(&lab, &peers, &ports),
        ["vpc:1035", "vpc:2035", "bm:1035"],
        "{}",
        status()
    );
    assert!(status().contains("Status: active"), "{}", status());
    // The database's sshd admits the server user from the VPC and from the build machine.
    assert_eq!(
        std::fs::read_to_string(&m.sshd).unwrap(),
        format!(
            "PermitRootLogin no\nAllowUsers X9fKqwer@10.81.0.32/28\nAllowUsers X9fKqwer@{NET}.5\n"
        )
    );
    assert_eq!(
        std::fs::read_to_string(&m.services).unwrap(),
        "ssh restart\n"
    );

    // DATABASEPORTS names the outsider for the database port only.
    m.ports(Some(&format!("DATABASEPORTS:{DB}|ipv4|{NET}.70/32\n")));
    ok(&m.setup_firewall(), "ports line");
    assert_eq!(
        reach(&lab, &peers, &ports),
        ["vpc:1035", "vpc:2035", "bm:1035", "out:2035"]
    );

    // Malformed: refused, unchanged.
    let before = status();
    m.ports(Some("DATABASEPORTS:2035|ipv4|everyone\n"));
    let o = m.setup_firewall();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("everyone"), "{}", stderr(&o));
    assert_eq!(status(), before);

    // A DBaaS installation: no database runs here, so the VPC's database-port rule goes.
    m.ports(Some(&format!("DATABASEPORTS:{DB}|ipv4|{NET}.70/32\n")));
    m.settings("DATABASEINSTALLATIONTYPE:DBaaS\nACTIVEFIREWALLS:3\nVPCIPRANGE:10.81.0.32/28\n");
    ok(&m.setup_firewall(), "DBaaS");
    assert_eq!(
        reach(&lab, &peers, &ports),
        ["vpc:1035", "bm:1035", "out:2035"]
    );

    // The line names another port instead: the old port's rule goes, the new one opens.
    m.ports(Some(&format!("DATABASEPORTS:443|ipv4|{NET}.70/32\n")));
    ok(&m.setup_firewall(), "another port");
    assert_eq!(
        reach(&lab, &peers, &ports),
        ["vpc:1035", "bm:1035", "out:443"],
        "{}",
        status()
    );
}
