//! Building webservers on the cloud hosts, and the `providerscripts/server/*.sh` drop-ins,
//! against a stand-in CLI (tests/support/fakecloud.py, installed as doctl/exo/linode-cli/vultr)
//! that records every command line and keeps its servers in a state file. Its servers get
//! 198.51.100.5x addresses (TEST-NET-2; loopback addresses are never fleet members), where
//! nothing listens outside the lab, so a snapshot build's SSH step fails and the build is undone;
//! the command lines and the clean-up are what is asserted.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Fake {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fakecloud.py");
        for p in ["doctl", "exo", "linode-cli", "vultr"] {
            std::os::unix::fs::symlink(&script, bin.join(p)).unwrap();
        }
        Fake { dir, bin }
    }
    /// Command lines that change something (lists and shows left out), random parts normalised.
    fn changes(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default();
        let name = regex_lite::Regex::new(r"webserver-[A-Za-z0-9]{4}-").unwrap();
        let pass = regex_lite::Regex::new(r"\[--root_pass\] \[[^\]]*\]").unwrap();
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| !l.contains(" [list]") && !l.contains("[show]"))
            .map(|l| {
                let l = name.replace_all(l, "webserver-NAME-");
                pass.replace_all(&l, "[--root_pass] [PW]").into_owned()
            })
            .collect();
        v.sort();
        v
    }
    fn servers(&self) -> Vec<serde_json::Value> {
        let t = std::fs::read_to_string(self.dir.path().join("state.json"))
            .unwrap_or_else(|_| "{\"servers\":[]}".into());
        serde_json::from_str::<serde_json::Value>(&t).unwrap()["servers"]
            .as_array()
            .unwrap()
            .clone()
    }
    fn run(&self, h: &Host, script: &str, args: &[&str]) -> Output {
        h.cmd_with(&self.bin, script)
            .args(args)
            .env("FAKECLOUD_DIR", self.dir.path())
            .env("ADT_BUILD_WAIT", "1")
            .env("ADT_IP_POLL_SECS", "0")
            .env("ADT_SHUTDOWN_WAIT", "0")
            .env("ADT_DNS_DRAIN_SECS", "0")
            .output()
            .unwrap()
    }
}

/// Two webservers made through the CreateServer drop-in with BuildWebserver's arguments
/// (os region size name key cloudhost user); their outputs.
fn create_two(
    fake: &Fake,
    h: &Host,
    os: &str,
    region: &str,
    size: &str,
    cloud: &str,
) -> Vec<String> {
    [
        "webserver-ab12-example-prod1",
        "webserver-cd34-example-prod1",
    ]
    .iter()
    .map(|n| {
        let o = fake.run(
            h,
            "providerscripts/server/CreateServer.sh",
            &[os, region, size, n, "key-1", cloud, "root"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o) + &stderr(&o)
    })
    .collect()
}

/// A stand-in for the legacy e-mail script: each call appends `SUBJECT|BODY` to the returned file.
fn mail_catcher(h: &Host) -> PathBuf {
    let sent = h.dir.path().join("mail.log");
    let script = h.path("providerscripts/email/SendEmail.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >> '{}'\n",
            sent.display()
        ),
    )
    .unwrap();
    sent
}

/// The subjects of the e-mails sent, in order.
fn subjects(sent: &Path) -> Vec<String> {
    std::fs::read_to_string(sent)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('|').next().unwrap().to_string())
        .collect()
}

/// The legacy scaling log, `logs/scaling-events-<date fields 1,2,3,last>/ScalingEventsLog.log`.
fn scaling_log(h: &Host) -> String {
    let d = String::from_utf8(std::process::Command::new("date").output().unwrap().stdout).unwrap();
    let f: Vec<&str> = d.split_whitespace().collect();
    let dir = format!("{}{}{}{}", f[0], f[1], f[2], f[f.len() - 1]);
    std::fs::read_to_string(h.path(&format!("logs/scaling-events-{dir}/ScalingEventsLog.log")))
        .unwrap_or_default()
}

/// An S3 server, an autoscaler on the cloud of `marker` with `settings`, a stand-in cloud.
fn setup(marker: &str, settings: &str) -> (S3Server, Host, Fake) {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = autoscaler(&server, marker, settings);
    (server, h, Fake::new())
}

fn autoscaler(server: &S3Server, marker: &str, settings: &str) -> Host {
    let h = Host::new("autoscaler", server.port);
    h.install();
    std::fs::write(h.path(marker), "").unwrap();
    let s = h.path(".ssh/autoscaler_configuration_settings.dat");
    let t = std::fs::read_to_string(&s)
        .unwrap()
        .replace("SNAPAUTOSCALE:0\n", "");
    std::fs::write(&s, t).unwrap();
    h.add_settings(&format!(
        "DNSCHOICE:local\nBUILDIDENTIFIER:prod1\nALGORITHM:ed25519\nNUMBERWS:2\nMYIP:10.0.0.2\nMYPUBLICIP:192.0.2.2\n{settings}"
    ));
    std::fs::write(
        h.path(".ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY.pub"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests adt\n",
    )
    .unwrap();
    std::fs::write(
        h.path(".ssh/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nMYIP:\n",
    )
    .unwrap();
    h.mark_installed();
    h
}

/// A snapshot build: two webservers wanted, none exist. Each is created with the cloud's legacy
/// command line; SSH never answers, so each is destroyed again and nothing is left behind.
fn snapshot_build(cloudhost: &str, marker: &str, settings: &str, want: &[&str]) {
    let (_server, h, fake) = setup(
        marker,
        &format!("CLOUDHOST:{cloudhost}\nSNAPAUTOSCALE:1\nSNAPSHOTID:snap-1\n{settings}"),
    );
    let sent = mail_catcher(&h);
    let o = fake.run(&h, "autoscaler/PerformScaling.sh", &[]);
    assert_eq!(o.status.code(), Some(1), "{cloudhost}: {}", stderr(&o));
    assert_eq!(
        subjects(&sent),
        [
            "NO SCALING CONFIG FOUND",
            "A WEBSERVER HAS FAILED TO COME ONLINE",
            "A WEBSERVER HAS FAILED TO COME ONLINE"
        ],
        "{cloudhost}"
    );
    let log = scaling_log(&h);
    assert!(
        log.contains("NO SCALING CONFIG FOUND USING DEFAULT SCALING VALUE OF 2")
            && log.matches("does not answer on SSH; destroying it").count() == 2,
        "{cloudhost}: {log}"
    );
    assert!(
        stderr(&o).contains("does not answer on SSH"),
        "{cloudhost}: {}",
        stderr(&o)
    );
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(fake.changes(), want, "{cloudhost}");
    assert!(fake.servers().is_empty(), "{cloudhost}: servers left");
    for k in ["webserverips/*", "webserverpublicips/*"] {
        let l = h.exec(&format!("{W}ListFromConfigDatastore.sh"), &[k]);
        assert_eq!(stdout(&l), "", "{cloudhost}: {k} left");
    }
    for d in [
        "beingbuiltips",
        "beingbuiltpublicips",
        "protectedfromtermination",
    ] {
        let left = std::fs::read_dir(h.path("runtime").join(d))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(left, 0, "{cloudhost}: runtime/{d} left");
    }
}

#[test]
fn digitalocean_snapshot_build() {
    let create = "doctl [compute] [droplet] [create] [webserver-NAME-example-prod1] [--size] [s-1vcpu-1gb] [--image] [snap-1] [--region] [lon1] [--ssh-keys] [key-1] [--enable-private-networking] [-o] [json]";
    snapshot_build(
        "digitalocean",
        "DROPLET",
        "REGION:lon1\nSIZE:s-1vcpu-1gb\nKEYID:key-1\n",
        &[
            create,
            create,
            "doctl [compute] [droplet] [delete] [1001] [--force]",
            "doctl [compute] [droplet] [delete] [1002] [--force]",
        ],
    );
}

#[test]
fn exoscale_snapshot_build() {
    let create = "exo [-O] [json] [compute] [instance] [create] [webserver-NAME-example-prod1] [-z] [ch-gva-2] [--instance-type] [standard.medium] [--template] [snap-1] [--template-visibility] [private] [--ssh-key] [key-1] [--security-group] [adt] [--private-network] [adt]";
    snapshot_build(
        "exoscale",
        "EXOSCALE",
        "REGION:ch-gva-2\nSIZE:standard.medium\nKEYID:key-1\n",
        &[
            "exo [compute] [private-network] [create] [adt] [-z] [ch-gva-2] [--start-ip] [10.0.0.10] [--end-ip] [10.0.0.40] [--netmask] [255.255.255.0]",
            create,
            create,
            "exo [compute] [instance] [delete] [-f] [-z] [ch-gva-2] [1001]",
            "exo [compute] [instance] [delete] [-f] [-z] [ch-gva-2] [1002]",
        ],
    );
}

#[test]
fn linode_snapshot_build() {
    let create = "linode-cli [--json] [linodes] [create] [--no-defaults] [--root_pass] [PW] [--region] [eu-west] [--image] [private/snap-1] [--type] [g6-standard-1] [--group] [Agile Deployment Toolkit] [--label] [webserver-NAME-example-prod1] [--authorized_keys] [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests adt]";
    snapshot_build(
        "linode",
        "LINODE",
        "REGION:eu-west\nSIZE:g6-standard-1\n",
        &[
            create,
            create,
            "linode-cli [linodes] [ip-add] [1001] [--type] [ipv4] [--public] [false]",
            "linode-cli [linodes] [ip-add] [1002] [--type] [ipv4] [--public] [false]",
            "linode-cli [linodes] [shutdown] [1001]",
            "linode-cli [linodes] [shutdown] [1002]",
            "linode-cli [linodes] [delete] [1001]",
            "linode-cli [linodes] [delete] [1002]",
        ],
    );
}

#[test]
fn vultr_snapshot_build() {
    let create = "vultr [instance] [create] [--label=webserver-NAME-example-prod1] [--region=ams] [--plan=vc2-1c-1gb] [--snapshot=snap-1] [--private-network=true] [--ipv6=false] [-s] [key-1] [-o] [json]";
    snapshot_build(
        "vultr",
        "VULTR",
        "REGION:ams\nSIZE:vc2-1c-1gb\nKEYID:key-1\n",
        &[
            create,
            create,
            "vultr [instance] [delete] [1001]",
            "vultr [instance] [delete] [1002]",
        ],
    );
}

/// The provider scripts, called with the legacy arguments, answer in the legacy shapes.
#[test]
fn server_scripts_answer_like_legacy() {
    let (_server, h, fake) = setup(
        "DROPLET",
        "CLOUDHOST:digitalocean\nREGION:lon1\nSIZE:s-1vcpu-1gb\nKEYID:key-1\n",
    );
    let s = "providerscripts/server/";
    // BuildWebserver's call: os region size name key cloudhost user [password].
    for out in create_two(
        &fake,
        &h,
        "ubuntu-20-04-x64",
        "lon1",
        "s-1vcpu-1gb",
        "digitalocean",
    ) {
        assert!(out.ends_with("]\nSTANDARD\n"), "{out}");
    }
    assert!(fake.changes().contains(&"doctl [compute] [droplet] [create] [webserver-NAME-example-prod1] [--size] [s-1vcpu-1gb] [--image] [ubuntu-20-04-x64] [--region] [lon1] [--ssh-keys] [key-1] [--enable-private-networking] [-o] [json]".to_string()));
    let ask = |script: &str, args: &[&str]| stdout(&fake.run(&h, &format!("{s}{script}.sh"), args));
    // The cloudhost argument left empty (as several legacy callers do): the marker decides.
    for ch in ["digitalocean", ""] {
        assert_eq!(
            ask("GetServerIPAddresses", &["webserver", ch]),
            "198.51.100.51\n198.51.100.52\n"
        );
        assert_eq!(
            ask("GetServerPrivateIPAddresses", &["webserver*", ch]),
            "10.0.0.51\n10.0.0.52\n"
        );
    }
    assert_eq!(ask("GetServerIPAddresses", &["autoscaler", ""]), "");
    assert_eq!(
        ask("GetServerPrivateIPAddressByIP", &["198.51.100.52", ""]),
        "10.0.0.52\n"
    );
    assert_eq!(
        ask("GetServerIPAddressByPrivateIP", &["10.0.0.51", ""]),
        "198.51.100.51\n"
    );
    // Exact IPs: 198.51.100.5 is a prefix of both, and matches neither.
    assert_eq!(
        ask("GetServerIPAddressByPrivateIP", &["10.0.0.5", ""]),
        "\n"
    );
    assert_eq!(
        ask("GetServerName", &["198.51.100.51", ""]),
        "webserver-ab12-example-prod1\n"
    );
    assert_eq!(ask("GetServerName", &["not-an-ip", ""]), "");
    assert_eq!(ask("ListServerIDs", &["webserver", ""]), "1001 1002\n");
    assert_eq!(ask("NumberOfServers", &["webserver*", ""]), "2\n");
    assert_eq!(ask("NumberOfServers", &["database", ""]), "0\n");

    // DestroyServer: the cloud's delete, the server's datastore markers gone, nothing printed.
    for k in [
        "webserverips/10.0.0.51",
        "webserverpublicips/198.51.100.51",
        "bootedwebserverips/10.0.0.51",
        "webserverips/10.0.0.52",
        "bootedwebserverips/10.0.0.52",
    ] {
        assert!(h
            .exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k])
            .status
            .success());
    }
    // RemoveIPFromDNS drops the server's bootedwebserverips/<private> marker, as legacy.
    let o = fake.run(&h, "autoscaler/RemoveIPFromDNS.sh", &["198.51.100.52"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fake.run(
        &h,
        &format!("{s}DestroyServer.sh"),
        &["198.51.100.51", "digitalocean"],
    );
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    assert!(fake
        .changes()
        .contains(&"doctl [compute] [droplet] [delete] [1001] [--force]".to_string()));
    assert_eq!(fake.servers().len(), 1);
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "10.0.0.52\n");
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["bootedwebserverips/*"],
    );
    assert_eq!(stdout(&l), "");
    assert!(h.path("runtime/FIREWALL-REFRESH").exists());
    // A cloud that cannot be asked: nothing on stdout, the reason on stderr, exit 0 (legacy).
    let o = h
        .cmd(h.path(&format!("{s}GetServerIPAddresses.sh")))
        .args(["webserver", "digitalocean"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("doctl is not installed"),
        "{}",
        stderr(&o)
    );
}

/// Exoscale's legacy scripts printed lists on one line and CreateServer's token first.
#[test]
fn exoscale_script_shapes() {
    let (_server, h, fake) = setup(
        "EXOSCALE",
        // SIZE and KEYID come from the arguments only.
        "CLOUDHOST:exoscale\nREGION:ch-gva-2\n",
    );
    let s = "providerscripts/server/";
    for out in create_two(
        &fake,
        &h,
        "Linux Ubuntu 22.04 LTS 64-bit",
        "ch-gva-2",
        "standard.small",
        "exoscale",
    ) {
        assert!(out.starts_with("STANDARD\n{"), "{out}");
    }
    let o = fake.run(
        &h,
        &format!("{s}GetServerIPAddresses.sh"),
        &["webserver", "exoscale"],
    );
    assert_eq!(stdout(&o), "198.51.100.51 198.51.100.52\n");
    let o = fake.run(
        &h,
        &format!("{s}GetServerIPAddresses.sh"),
        &["database", "exoscale"],
    );
    assert_eq!(stdout(&o), "\n");
}

/// A regular build (no snapshot, no cloud-init user data) runs the machine's own legacy
/// autoscaler/BuildWebserver.sh, which calls our drop-ins with the legacy arguments.
#[test]
fn regular_build_runs_the_legacy_bootstrap_on_our_drop_ins() {
    let (_server, h, fake) = setup(
        "DROPLET",
        "CLOUDHOST:digitalocean\nREGION:lon1\nSIZE:s-1vcpu-1gb\nKEYID:key-1\n",
    );
    // Without the legacy bootstrap on the machine: a clear error, nothing created.
    let o = fake.run(&h, "autoscaler/PerformScaling.sh", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("legacy SSH bootstrap"),
        "{}",
        stderr(&o)
    );
    assert!(fake.servers().is_empty());
    // The shape of the legacy script's cloud calls (its SSH provisioning is left out here).
    std::fs::write(
        h.path("autoscaler/BuildWebserver.sh"),
        r#"#!/bin/sh
name="webserver-$(head -c 64 /dev/urandom | tr -dc 'a-zA-Z0-9' | cut -c1-4)-example-prod1"
${HOME}/providerscripts/server/CreateServer.sh "ubuntu-20-04-x64" "lon1" "s-1vcpu-1gb" "${name}" "key-1" digitalocean "root" > /dev/null
ip="$(${HOME}/providerscripts/server/GetServerIPAddresses.sh ${name} digitalocean)"
private_ip="$(${HOME}/providerscripts/server/GetServerPrivateIPAddresses.sh ${name} digitalocean)"
${HOME}/providerscripts/datastore/configwrapper/PutToConfigDatastore.sh ${ip} webserverpublicips/${ip}
${HOME}/providerscripts/datastore/configwrapper/PutToConfigDatastore.sh ${private_ip} webserverips/${private_ip}
${HOME}/autoscaler/AddIPToDNS.sh ${ip}
"#,
    )
    .unwrap();
    let o = fake.run(&h, "autoscaler/PerformScaling.sh", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fake.servers().len(), 2);
    let hosts = std::fs::read_to_string(h.path(".adt-rs/dns/hosts")).unwrap();
    assert_eq!(
        hosts,
        "198.51.100.51 www.example.com\n198.51.100.52 www.example.com\n"
    );
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "10.0.0.51\n10.0.0.52\n");
    // Enough webservers now: nothing more is built.
    let dry = fake.run(&h, "autoscaler/PerformScaling.sh", &["--dry-run"]);
    assert_eq!(stdout(&dry), "wanted 2 have 2\n");
}

/// MonitorForSlowBuilds: a webserver still being built 30 minutes on (its private IP under
/// runtime/beingbuiltips) is destroyed; a younger one is left alone.
#[test]
fn slow_builds_are_destroyed() {
    let (_server, h, fake) = setup(
        "DROPLET",
        "CLOUDHOST:digitalocean\nREGION:lon1\nSIZE:s-1vcpu-1gb\nKEYID:key-1\n",
    );
    create_two(
        &fake,
        &h,
        "ubuntu-20-04-x64",
        "lon1",
        "s-1vcpu-1gb",
        "digitalocean",
    );
    let built = h.path("runtime/beingbuiltips");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::write(built.join("10.0.0.51"), "").unwrap();
    std::fs::write(built.join("10.0.0.52"), "").unwrap();
    assert!(std::process::Command::new("touch")
        .args(["-d", "40 minutes ago"])
        .arg(built.join("10.0.0.51"))
        .status()
        .unwrap()
        .success());
    let sent = mail_catcher(&h);
    let o = fake.run(&h, "autoscaler/MonitorForSlowBuilds.sh", &[]);
    assert_eq!(subjects(&sent), ["WEBSERVER 10.0.0.51 IS A SLOW BUILD"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "WEBSERVER 10.0.0.51 IS A SLOW BUILD\n");
    let left: Vec<String> = fake
        .servers()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["webserver-cd34-example-prod1"]);
    assert!(!built.join("10.0.0.51").exists());
    assert!(built.join("10.0.0.52").exists());
    let log = std::fs::read_to_string(h.path("logs/SlowBuildsLog.log")).unwrap();
    assert!(log.contains("10.0.0.51"), "{log}");
}

/// A snapshot build that succeeds: the stand-in cloud's servers are answered by real sshd and
/// HTTPS servers (tests/support/sweeplab.py: every 127.0.0.0/8 and 198.51.100.0/24 address in a network
/// namespace),
/// so the new webservers get their settings over SSH, pass the health check and go into DNS.
#[test]
fn snapshot_build_provisions_over_ssh_and_goes_into_dns() {
    let ns = format!("adtcc{}", std::process::id());
    if !std::process::Command::new("ip")
        .args(["netns", "add", &format!("{ns}probe")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        skip("cannot create network namespaces here");
        return;
    }
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", &format!("{ns}probe")])
        .status();
    let lab_dir = tempfile::tempdir().unwrap();
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sweeplab.py");
    struct Down(PathBuf, String, PathBuf);
    impl Drop for Down {
        fn drop(&mut self) {
            let _ = std::process::Command::new("python3")
                .arg(&self.0)
                .args(["down", &self.1])
                .arg(&self.2)
                .status();
        }
    }
    assert!(std::process::Command::new("python3")
        .arg(&lab)
        .args(["up", &ns])
        .arg(lab_dir.path())
        .status()
        .unwrap()
        .success());
    let _down = Down(lab.clone(), ns.clone(), lab_dir.path().to_path_buf());

    // The datastore is the embedded local backend (the namespace has no route to an S3 server).
    let h = Host::new("autoscaler", free_port());
    std::fs::create_dir_all(h.path(".adt-rs")).unwrap();
    std::fs::write(h.path(".adt-rs/datastore"), "backend = local\n").unwrap();
    std::fs::create_dir_all(h.path(&format!(".adt-rs/datastore.d/{BUCKET}"))).unwrap();
    h.install();
    std::fs::write(h.path("DROPLET"), "").unwrap();
    let s = h.path(".ssh/autoscaler_configuration_settings.dat");
    let t = std::fs::read_to_string(&s)
        .unwrap()
        .replace("SSHPORT:1035", "SSHPORT:2222")
        .replace("SERVERUSER:X1234X", "SERVERUSER:root")
        .replace("SNAPAUTOSCALE:0\n", "");
    std::fs::write(&s, t).unwrap();
    h.add_settings("CLOUDHOST:digitalocean\nDNSCHOICE:local\nBUILDIDENTIFIER:prod1\nALGORITHM:ed25519\nNUMBERWS:2\nMYIP:10.0.0.2\nMYPUBLICIP:192.0.2.2\nREGION:lon1\nSIZE:s-1vcpu-1gb\nKEYID:key-1\nSNAPAUTOSCALE:1\nSNAPSHOTID:snap-1\n");
    let key = h.path(".ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY");
    std::fs::copy(lab_dir.path().join("key"), &key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        h.path(".ssh/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nMYIP:\nAUTOSCALED:0\n",
    )
    .unwrap();
    // The webservers' home (shared by the lab's servers): ready, with a settings directory.
    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(web.path().join("runtime")).unwrap();
    std::fs::create_dir_all(web.path().join(".ssh")).unwrap();
    std::fs::write(web.path().join("runtime/WEBSERVER_READY"), "").unwrap();
    h.mark_installed();
    let fake = Fake::new();
    let sent = mail_catcher(&h);
    let o = h
        .cmd("ip")
        .args(["netns", "exec", &ns, "/bin/sh"])
        .arg(h.path("autoscaler/PerformScaling.sh"))
        .env(
            "PATH",
            format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", fake.bin.display()),
        )
        .env("FAKECLOUD_DIR", fake.dir.path())
        .env("ADT_WEBSERVER_HOME", web.path())
        .env("ADT_BUILD_WAIT", "20")
        .env("ADT_IP_POLL_SECS", "0")
        .env("ADT_SHUTDOWN_WAIT", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fake.servers().len(), 2);
    assert_eq!(
        subjects(&sent),
        [
            "NO SCALING CONFIG FOUND",
            "A WEBSERVER HAS BEEN DEPLOYED",
            "A WEBSERVER HAS BEEN DEPLOYED"
        ]
    );
    let hosts = std::fs::read_to_string(h.path(".adt-rs/dns/hosts")).unwrap();
    let mut lines: Vec<&str> = hosts.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "198.51.100.51 www.example.com",
            "198.51.100.52 www.example.com"
        ]
    );
    // The settings a new webserver got (both wrote the same shared file here).
    let f = web.path().join(".ssh/webserver_configuration_settings.dat");
    let text = std::fs::read_to_string(&f).unwrap();
    let n = if text.contains("MYPUBLICIP:198.51.100.51") {
        51
    } else {
        52
    };
    assert_eq!(
        text,
        format!("WEBSITEURL:www.example.com\nAUTOSCALED:1\nMYPUBLICIP:198.51.100.{n}\nMYIP:10.0.0.{n}\nASIP:10.0.0.2\nASPUBLICIP:192.0.2.2\n")
    );
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "10.0.0.51\n10.0.0.52\n");
    assert!(h
        .path("runtime/protectedfromtermination/198.51.100.51")
        .exists());
    assert!(!h.path("runtime/beingbuiltips/10.0.0.51").exists());
}
