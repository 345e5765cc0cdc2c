//! Real packets: a machine namespace running our reconciler with real iptables or ufw, peer
//! namespaces playing build machine, webservers, autoscaler and an outsider, all on a bridge
//! in a hub namespace (10.77.0.0/24, inside the namespaces only). TCP connections prove what is
//! allowed and what is dropped. The datastore is a real s3s-fs running inside the machine
//! namespace. Everything is removed on drop, also when a test fails.

mod common;
mod netlab;
use common::*;
use netlab::{Lab, CONNECT};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A lab of its own per test (they run at once): hosts on 10.77.0.0/24.
fn new_lab() -> Option<Lab> {
    Lab::new(
        &format!("af{}", SEQ.fetch_add(1, Ordering::SeqCst)),
        "10.77.0",
    )
}

/// The machine under test: its namespace, a real s3s-fs inside it, a HOME with launchers.
struct Machine {
    ns: String,
    host: Host,
    s3_port: u16,
    s3_root: tempfile::TempDir,
    s3: Option<Child>,
}

impl Machine {
    fn new(lab: &mut Lab, kind: &'static str, settings: &str) -> Machine {
        let ns = lab.host("m", 10);
        let s3_root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(s3_root.path().join(BUCKET)).unwrap();
        let s3_port = 9000;
        let host = Host::new(kind, s3_port);
        host.add_settings(settings);
        host.install();
        let mut m = Machine {
            ns,
            host,
            s3_port,
            s3_root,
            s3: None,
        };
        m.start_store();
        m
    }

    fn start_store(&mut self) {
        let bin = std::env::var("S3S_FS")
            .ok()
            .or_else(|| {
                let p = format!(
                    "{}/.cargo/bin/s3s-fs",
                    std::env::var("HOME").unwrap_or_default()
                );
                std::path::Path::new(&p).exists().then_some(p)
            })
            .unwrap_or_else(|| "s3s-fs".into());
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                &bin,
                "--host",
                "127.0.0.1",
                "--port",
                &self.s3_port.to_string(),
            ])
            .args(["--access-key", ACCESS, "--secret-key", SECRET])
            .arg(self.s3_root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.s3 = Some(child);
        for _ in 0..100 {
            if self
                .run(
                    "providerscripts/datastore/configwrapper/CheckConfigDatastore.sh",
                    &["x"],
                )
                .status
                .success()
                && self
                    .run_sh(&format!(
                        "python3 -c \"{}\" 127.0.0.1 {}",
                        CONNECT.replace('"', "\\\""),
                        self.s3_port
                    ))
                    .status
                    .success()
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("s3s-fs did not start in the machine namespace");
    }

    fn stop_store(&mut self) {
        if let Some(mut c) = self.s3.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Run a legacy script path inside the machine namespace.
    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.host
            .cmd("ip")
            .args(["netns", "exec", &self.ns, "/bin/sh"])
            .arg(self.host.path(script))
            .args(args)
            .env("PATH", "/usr/bin:/bin")
            .env("ADT_S3_ATTEMPTS", "2")
            .output()
            .unwrap()
    }

    fn run_sh(&self, snippet: &str) -> Output {
        self.host
            .cmd("ip")
            .args(["netns", "exec", &self.ns, "/bin/sh", "-c", snippet])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
    }

    fn publish(&self, key: &str) {
        let o = self.run(
            "providerscripts/datastore/configwrapper/PutToConfigDatastore.sh",
            &[key, key],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }

    fn unpublish(&self, key: &str) {
        let o = self.run(
            "providerscripts/datastore/configwrapper/DeleteFromConfigDatastore.sh",
            &[key],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }

    fn firewall(&self, extra: &[&str]) -> Output {
        self.run("security/SetupFirewall.sh", extra)
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.stop_store();
    }
}

const SSH: u16 = 1035;
const DB: u16 = 2035;

fn rules_text(m: &Machine) -> String {
    let t = stdout(&m.run_sh("iptables -S ADT-FIREWALL && iptables -S INPUT"));
    assert!(t.contains("-N ADT-FIREWALL"), "no chain: {t}");
    t
}

#[test]
fn database_machine_with_iptables() {
    let Some(mut lab) = new_lab() else { return };
    let mut m = Machine::new(
        &mut lab,
        "database",
        "BUILDCLIENTIP:10.77.0.2\nDNSCHOICE:cloudflare\n",
    );
    let build = lab.host("b", 2);
    let ws1 = lab.host("w1", 21);
    let ws2 = lab.host("w2", 22);
    let asc = lab.host("as", 30);
    let out = lab.host("o", 99);
    let mns = m.ns.clone();
    lab.listen(&mns, &[SSH, DB, 443]);
    let target = "10.77.0.10";
    assert!(lab.can_connect(&out, target, DB), "no firewall yet: open");
    for k in [
        "webserverips/10.77.0.21",
        "webserverips/10.77.0.22",
        "autoscalerip/10.77.0.30",
    ] {
        m.publish(k);
    }
    let o = m.firewall(&["--tool", "iptables"]);
    assert!(o.status.success(), "{}", stderr(&o));

    assert!(lab.can_connect(&build, target, SSH), "build machine SSH");
    assert!(
        !lab.can_connect(&build, target, DB),
        "build machine has no DB access"
    );
    for peer in [&ws1, &ws2, &asc] {
        assert!(
            lab.can_connect(peer, target, DB),
            "fleet reaches the DB port"
        );
        assert!(lab.can_connect(peer, target, SSH), "fleet reaches SSH");
    }
    for port in [SSH, DB, 443] {
        assert!(
            !lab.can_connect(&out, target, port),
            "outsider dropped on {port}"
        );
    }
    let log =
        std::fs::read_to_string(m.host.path("logs/firewall/FIREWALL_CONFIGURATION.log")).unwrap();
    assert!(log.contains("allow tcp/2035 from 10.77.0.21/32"), "{log}");

    // Nothing to change: the dry run has no commands, the real run changes nothing.
    let before = rules_text(&m);
    let dry = m.firewall(&["--tool", "iptables", "--dry-run"]);
    assert_eq!(
        (dry.status.code(), stdout(&dry)),
        (Some(0), String::new()),
        "{}",
        stderr(&dry)
    );
    assert!(m.firewall(&["--tool", "iptables"]).status.success());
    assert_eq!(rules_text(&m), before);

    // A webserver leaves the fleet: the next reconcile cuts it off, and only it.
    m.unpublish("webserverips/10.77.0.22");
    let dry = m.firewall(&["--tool", "iptables", "--dry-run"]);
    assert!(
        stdout(&dry)
            .contains("-D ADT-FIREWALL -s 10.77.0.22/32 -p tcp -m tcp --dport 2035 -j ACCEPT"),
        "{}",
        stdout(&dry)
    );
    assert!(m.firewall(&["--tool", "iptables"]).status.success());
    assert!(
        !lab.can_connect(&ws2, target, DB),
        "departed webserver cut off"
    );
    assert!(
        lab.can_connect(&ws1, target, DB),
        "remaining webserver kept"
    );

    // Bad entries in the datastore never open anything.
    for k in [
        "webserverips/0.0.0.0",
        "webserverips/1.2.3",
        "webserverips/example.com",
        "webserverips/::",
        "webserverips/*",
        "databasepublicip/0.0.0.0/0",
        "webserverpublicips/::/0",
        "databaseip/*",
        "autoscalerip/10.77.0.0/8",
    ] {
        m.publish(k);
    }
    // An empty name cannot even be published: the Put is refused.
    let empty = m.run(
        "providerscripts/datastore/configwrapper/PutToConfigDatastore.sh",
        &["", "webserverips/"],
    );
    assert_ne!(empty.status.code(), Some(0), "empty marker refused");
    let o = m.firewall(&["--tool", "iptables"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rules = rules_text(&m);
    assert!(
        !rules.contains("0.0.0.0/0") && !rules.contains("1.2.3") && !rules.contains("::/0"),
        "{rules}"
    );
    assert!(
        rules
            .lines()
            .filter(|l| l.contains("--dport"))
            .all(|l| l.contains(" -s ")),
        "{rules}"
    );
    for port in [SSH, DB] {
        assert!(
            !lab.can_connect(&out, target, port),
            "outsider still dropped on {port}"
        );
    }
    assert!(rules.contains("-P INPUT DROP"), "default deny: {rules}");

    // The datastore fails: exit non-zero, rules untouched, traffic as before.
    m.stop_store();
    let o = m.firewall(&["--tool", "iptables"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the firewall was left as it is"),
        "{}",
        stderr(&o)
    );
    assert_eq!(rules_text(&m), rules);
    assert!(lab.can_connect(&ws1, target, DB));
    assert!(!lab.can_connect(&out, target, DB));
}

#[test]
fn build_machine_ssh_is_never_removed_and_empty_lists_do_not_flush() {
    let Some(mut lab) = new_lab() else { return };
    let m = Machine::new(&mut lab, "database", "BUILDCLIENTIP:10.77.0.2\n");
    let build = lab.host("b", 2);
    let ws1 = lab.host("w1", 21);
    let mns = m.ns.clone();
    lab.listen(&mns, &[SSH, DB]);
    m.publish("webserverips/10.77.0.21");
    assert!(m.firewall(&["--tool", "iptables"]).status.success());
    assert!(lab.can_connect(&ws1, "10.77.0.10", DB));
    // The whole prefix is wiped (legacy CleanupAtReboot on a rebooting webserver): rules stay.
    m.unpublish("webserverips/*");
    for _ in 0..3 {
        let o = m.firewall(&["--tool", "iptables"]);
        assert!(o.status.success());
        assert!(
            stderr(&o).contains("webserverips/ came back empty"),
            "{}",
            stderr(&o)
        );
        assert!(
            lab.can_connect(&ws1, "10.77.0.10", DB),
            "not flushed by an empty list"
        );
    }
    // Empty for longer than that: it is believed.
    assert!(m.firewall(&["--tool", "iptables"]).status.success());
    assert!(!lab.can_connect(&ws1, "10.77.0.10", DB));
    // BUILDCLIENTIP changes: the old build machine keeps SSH (never removed), the new one gets it.
    let s = m.host.path(".ssh/database_configuration_settings.dat");
    let t = std::fs::read_to_string(&s)
        .unwrap()
        .replace("BUILDCLIENTIP:10.77.0.2", "BUILDCLIENTIP:10.77.0.3");
    std::fs::write(&s, t).unwrap();
    let o = m.firewall(&["--tool", "iptables", "--dry-run"]);
    assert!(
        !stdout(&o).contains("-D ADT-FIREWALL -s 10.77.0.2/32"),
        "{}",
        stdout(&o)
    );
    assert!(lab.can_connect(&build, "10.77.0.10", SSH));
}

#[test]
fn webserver_with_ufw() {
    if Command::new("ufw").arg("--version").output().is_err() {
        skip("ufw is not installed");
        return;
    }
    let Some(mut lab) = new_lab() else { return };
    let mut m = Machine::new(
        &mut lab,
        "webserver",
        "BUILDCLIENTIP:10.77.0.2\nDNSCHOICE:linode\n",
    );
    lab.private_ufw(&m.ns.clone());
    m.stop_store();
    m.start_store(); // restart inside the namespace now that its /etc is private
    let build = lab.host("b", 2);
    let asc = lab.host("as", 30);
    let out = lab.host("o", 99);
    let mns = m.ns.clone();
    lab.listen(&mns, &[SSH, 443, 80]);
    m.publish("autoscalerip/10.77.0.30");
    let o = m.firewall(&["--tool", "ufw"]);
    let status = || stdout(&m.run_sh("ufw status verbose"));
    assert!(
        o.status.success(),
        "stdout {} stderr {} status {}",
        stdout(&o),
        stderr(&o),
        status()
    );
    assert!(lab.can_connect(&build, "10.77.0.10", SSH), "{}", status());
    assert!(
        lab.can_connect(&asc, "10.77.0.10", SSH),
        "production: autoscaler reaches SSH"
    );
    assert!(
        lab.can_connect(&out, "10.77.0.10", 443),
        "non-Cloudflare DNS: 443 open to all"
    );
    assert!(lab.can_connect(&out, "10.77.0.10", 80));
    assert!(
        !lab.can_connect(&out, "10.77.0.10", SSH),
        "outsider has no SSH"
    );
    // A second reconcile runs ufw zero times (state is read from ufw's files).
    let dry = m.firewall(&["--tool", "ufw", "--dry-run"]);
    assert_eq!(stdout(&dry), "", "{}", stderr(&dry));
    // Switch DNS to Cloudflare: 443 from anywhere goes, the outsider is cut off.
    let s = m.host.path(".ssh/webserver_configuration_settings.dat");
    let t = std::fs::read_to_string(&s)
        .unwrap()
        .replace("DNSCHOICE:linode", "DNSCHOICE:cloudflare");
    std::fs::write(&s, t).unwrap();
    let o = m.firewall(&["--tool", "ufw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!lab.can_connect(&out, "10.77.0.10", 443), "Cloudflare only");
    assert!(
        lab.can_connect(&asc, "10.77.0.10", 443),
        "the autoscaler still health-checks"
    );
    let status = stdout(&m.run_sh("ufw status"));
    assert!(status.contains("173.245.48.0/20"), "{status}");
}

/// ufw's state as a test compares it: `ufw status verbose`, its rule files, and the chains
/// the kernel was given.
fn ufw_state(m: &Machine) -> Vec<String> {
    let etc = format!("/etc/netns/{}/ufw", m.ns);
    vec![
        stdout(&m.run_sh("ufw status verbose")),
        std::fs::read_to_string(format!("{etc}/user.rules")).unwrap(),
        std::fs::read_to_string(format!("{etc}/user6.rules")).unwrap(),
        stdout(&m.run_sh("iptables -S ufw-user-input")),
        stdout(&m.run_sh("ip6tables -S ufw6-user-input")),
    ]
}

fn invocations(m: &Machine) -> usize {
    let log =
        std::fs::read_to_string(m.host.path("logs/firewall/FIREWALL_CONFIGURATION.log")).unwrap();
    log.lines()
        .find_map(|l| l.strip_prefix("firewall tool invocations: "))
        .unwrap()
        .parse()
        .unwrap()
}

/// The ufw transaction (rule files written in ufw's format, loaded once) leaves ufw exactly as
/// one `ufw` command per rule does: the same `ufw status`, the same rule files, the same
/// kernel chains; with at most 3 ufw runs instead of one per rule (pristine files: ufw writes
/// each family's file once, with its first rule), and foreign rules kept in place.
#[test]
fn ufw_transaction_matches_ufw_commands() {
    if Command::new("ufw").arg("--version").output().is_err() {
        skip("ufw is not installed");
        return;
    }
    let Some(mut lab) = new_lab() else { return };
    let mut m = Machine::new(
        &mut lab,
        "database",
        "BUILDCLIENTIP:10.77.0.2\nDNSCHOICE:linode\n",
    );
    let ns = m.ns.clone();
    lab.private_ufw(&ns);
    m.stop_store();
    m.start_store();
    for k in [
        "webserverips/10.77.0.21",
        "webserverips/10.77.0.22",
        "webserverips/fd00::22",
        "autoscalerip/10.77.0.30",
    ] {
        m.publish(k);
    }
    let reset = |m: &Machine| {
        let o = m.run_sh("ufw --force disable");
        assert!(o.status.success(), "{}", stderr(&o));
        let etc = std::path::PathBuf::from(format!("/etc/netns/{}", m.ns));
        std::fs::remove_dir_all(etc.join("ufw")).unwrap();
        std::fs::remove_dir_all(etc.join("default")).unwrap();
    };
    // One ufw command per rule.
    let o = m
        .host
        .cmd("ip")
        .args(["netns", "exec", &ns, "/bin/sh"])
        .arg(m.host.path("security/SetupFirewall.sh"))
        .args(["--tool", "ufw"])
        .env("PATH", "/usr/bin:/bin")
        .env("ADT_UFW_APPLY", "commands")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let by_commands = ufw_state(&m);
    let commands_calls = invocations(&m);
    assert!(by_commands[0].contains("10.77.0.21"), "{}", by_commands[0]);
    assert!(by_commands[2].contains("fd00::22"), "{}", by_commands[2]);
    // The same plan from pristine files, as one transaction.
    reset(&m);
    lab.private_ufw(&ns);
    std::fs::remove_file(m.host.path("runtime/adt-firewall-lists")).ok();
    let o = m.firewall(&["--tool", "ufw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let by_files = ufw_state(&m);
    for (a, b) in by_commands.iter().zip(&by_files) {
        assert_eq!(a, b, "commands vs transaction");
    }
    let files_calls = invocations(&m);
    assert!(
        files_calls <= 3 && commands_calls > 6,
        "ufw runs: {files_calls} as one transaction, {commands_calls} one per rule"
    );
    // A change on a firewall ufw has written: a foreign rule stays where it is, one ufw run.
    let o = m.run_sh("ufw allow 8080/tcp");
    assert!(o.status.success(), "{}", stderr(&o));
    m.unpublish("webserverips/10.77.0.21");
    m.publish("webserverips/10.77.0.23");
    let o = m.firewall(&["--tool", "ufw"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(invocations(&m), 1);
    let after = ufw_state(&m);
    assert!(
        after[0].contains("10.77.0.23") && !after[0].contains("10.77.0.21 "),
        "{}",
        after[0]
    );
    assert!(after[0].contains("8080/tcp"), "{}", after[0]);
    assert!(after[3].contains("-s 10.77.0.23/32"), "{}", after[3]);
    assert!(!after[3].contains("-s 10.77.0.21/32"), "{}", after[3]);
    // The kernel has what `ufw status` shows: the new webserver reaches the database port.
    lab.listen(&ns, &[DB]);
    let ws = lab.host("w", 23);
    assert!(lab.can_connect(&ws, "10.77.0.10", DB), "{}", after[0]);
    let gone = lab.host("g", 21);
    assert!(!lab.can_connect(&gone, "10.77.0.10", DB), "{}", after[0]);
}
