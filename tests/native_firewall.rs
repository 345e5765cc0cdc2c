//! The cloud hosts' native firewalls through their CLIs, against stand-in executables on PATH:
//! each stand-in logs its arguments and answers from a JSON fixture of the provider's current
//! state; the command lines we run are compared with tests/fixtures/native/<case>.expected.
//! (ADT_UPDATE_FIXTURES=1 rewrites the expected files; review the diff before committing.)

mod common;
use common::*;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native")
}

fn stand_in(bin: &Path, prog: &str, log: &Path, answers: &[(&str, &str)]) {
    common::stand_in(bin, prog, log, &fixtures(), answers)
}

struct Case {
    _server: S3Server,
    host: Host,
    bin: std::path::PathBuf,
    log: std::path::PathBuf,
}

fn case(marker: &str, dns: &str) -> Case {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let host = Host::new("autoscaler", server.port);
    host.install();
    std::fs::write(host.path(marker), "").unwrap();
    host.add_settings(&format!("BUILDCLIENTIP:192.0.2.10\nDNSCHOICE:{dns}\n"));
    for k in [
        "INSTALLEDSUCCESSFULLY",
        "webserverips/10.0.0.5",
        "webserverpublicips/203.0.113.5",
        "autoscalerip/10.0.0.9",
        "autoscalerpublicip/203.0.113.9",
        "databaseip/10.0.0.7",
    ] {
        let o = host.exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k]);
        assert!(o.status.success());
    }
    let bin = host.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = host.dir.path().join("calls.log");
    Case {
        _server: server,
        host,
        bin,
        log,
    }
}

fn run(c: &Case, script: &str, args: &[&str]) -> std::process::Output {
    c.host.cmd_with(&c.bin, script).args(args).output().unwrap()
}

fn check(c: &Case, name: &str) {
    check_log(&c.log, name)
}

fn check_log(log: &Path, name: &str) {
    let got = std::fs::read_to_string(log).unwrap_or_default();
    let file = fixtures().join(format!("{name}.expected"));
    if std::env::var_os("ADT_UPDATE_FIXTURES").is_some() {
        std::fs::write(&file, &got).unwrap();
    }
    let want = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(got, want, "command lines differ from {}", file.display());
    assert!(!want.is_empty());
}

const UNF: &str = "providerscripts/security/firewall/UpdateNativeFirewall.sh";

#[test]
fn digitalocean_edits_firewalls_in_place() {
    let c = case("DROPLET", "cloudflare");
    stand_in(
        &c.bin,
        "doctl",
        &c.log,
        &[
            ("'compute firewall list -o json'", "do-firewalls.json"),
            ("'compute droplet list -o json'", "do-droplets.json"),
            ("'compute firewall create'*", "do-created.json"),
        ],
    );
    let o = run(&c, UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    check(&c, "digitalocean");
    let log = std::fs::read_to_string(&c.log).unwrap();
    assert!(
        !log.contains("[delete]"),
        "the adt firewall is never deleted"
    );
    assert!(log.contains(
        "[remove-rules] [fw-adt] [--inbound-rules] [protocol:tcp,ports:1035,address:10.0.0.99/32"
    ));
}

#[test]
fn linode_replaces_rules_only_when_they_differ() {
    let c = case("LINODE", "linode");
    stand_in(
        &c.bin,
        "linode-cli",
        &c.log,
        &[
            (
                "'--json firewalls list --all-rows'",
                "linode-firewalls.json",
            ),
            (
                "'--json firewalls devices-list 77 --all-rows'",
                "linode-devices.json",
            ),
            ("'--json linodes list --all-rows'", "linode-linodes.json"),
        ],
    );
    let o = run(&c, UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    check(&c, "linode");
}

#[test]
fn exoscale_adds_and_deletes_single_rules() {
    let c = case("EXOSCALE", "exoscale");
    stand_in(
        &c.bin,
        "exo",
        &c.log,
        &[("'-O json compute security-group show adt'", "exo-sg.json")],
    );
    let o = run(&c, UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    check(&c, "exoscale");
}

#[test]
fn vultr_creates_the_group_and_attaches_instances() {
    let c = case("VULTR", "vultr");
    stand_in(
        &c.bin,
        "vultr",
        &c.log,
        &[
            ("'firewall group list -o json'", "vultr-groups-empty.json"),
            ("'firewall group create'*", "vultr-group-created.json"),
            ("'firewall rule list'*", "vultr-rules-empty.json"),
            ("'instance list -o json'", "vultr-instances.json"),
        ],
    );
    let o = run(&c, UNF, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    check(&c, "vultr");
}

#[test]
fn dry_run_prints_without_changing_and_failures_change_nothing() {
    let c = case("DROPLET", "digitalocean");
    stand_in(
        &c.bin,
        "doctl",
        &c.log,
        &[
            ("'compute firewall list -o json'", "do-firewalls.json"),
            ("'compute droplet list -o json'", "do-droplets.json"),
        ],
    );
    let o = run(&c, UNF, &["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("doctl compute firewall add-rules fw-adt --inbound-rules"),
        "{}",
        stdout(&o)
    );
    let log = std::fs::read_to_string(&c.log).unwrap();
    assert!(
        log.lines().all(|l| l.contains("[list]")),
        "only queries ran:\n{log}"
    );
    // The provider CLI fails: non-zero, one clear line, nothing else attempted.
    std::fs::write(
        c.bin.join("doctl"),
        "#!/bin/sh\necho 'Error: unable to authenticate you' >&2\nexit 1\n",
    )
    .unwrap();
    let o = run(&c, UNF, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the native firewall was left as it is"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dbaas_allow_lists() {
    let c = case("DROPLET", "cloudflare");
    c.host.add_settings("DATABASEDBaaSINSTALLATIONTYPE:DBaaS:mysql:lon1:1:db-s-1vcpu-1gb:adtcluster:0f3a-cluster-id\n");
    stand_in(
        &c.bin,
        "doctl",
        &c.log,
        &[(
            "'databases firewalls list 0f3a-cluster-id -o json'",
            "do-db-firewall.json",
        )],
    );
    // Sourced by BuildWebserver, as the legacy script was.
    let o = c
        .host
        .cmd("/bin/sh")
        .arg("-c")
        .arg(format!(
            ". {}",
            c.host
                .path("providerscripts/security/firewall/TightenDBaaSFirewall.sh")
                .display()
        ))
        .env("PATH", format!("{}:/usr/bin:/bin", c.bin.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    check(&c, "digitalocean-dbaas");
}

#[test]
fn exoscale_dbaas_allow_list_is_set_whole() {
    let c = case("EXOSCALE", "cloudflare");
    c.host
        .add_settings("DATABASEDBaaSINSTALLATIONTYPE:DBaaS:pg:hobbyist-2:ch-gva-2:15:adt-db\n");
    stand_in(&c.bin, "exo", &c.log, &[]);
    let o = c
        .host
        .cmd("/bin/sh")
        .arg("-c")
        .arg(format!(
            ". {}",
            c.host
                .path("providerscripts/security/firewall/TightenDBaaSFirewall.sh")
                .display()
        ))
        .env("PATH", format!("{}:/usr/bin:/bin", c.bin.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    check(&c, "exoscale-dbaas");
}

/// The build machine's own firewall `adt-build-machine` (legacy AdjustBuildMachineNativeFirewall.sh,
/// sourced) on the providers without a registry CLI: one listed address removed and one added,
/// a bad line opening nothing, and only the build machine (found by its address) put in it.
#[test]
fn the_build_machines_firewall_on_digitalocean_exoscale_and_vultr() {
    const ADJ: &str = "providerscripts/security/firewall/AdjustBuildMachineNativeFirewall.sh";
    let server = S3Server::start();
    let h = Host::new("build", server.port);
    h.install();
    for (cloudhost, prog, answers, expected) in [
        (
            "digitalocean",
            "doctl",
            &[
                ("'compute firewall list -o json'", "bm-do-firewalls.json"),
                ("'compute droplet list -o json'", "bm-do-droplets.json"),
            ][..],
            "bm-digitalocean",
        ),
        (
            "exoscale",
            "exo",
            &[
                (
                    "'-O json compute instance list -z ch-gva-2'",
                    "bm-exo-instances.json",
                ),
                (
                    "'-O json compute security-group show adt-build-machine'",
                    "exo-sg.json",
                ),
                (
                    "'-O json compute instance show i-bm -z ch-gva-2'",
                    "bm-exo-show.json",
                ),
            ][..],
            "bm-exoscale",
        ),
        (
            "vultr",
            "vultr",
            &[
                ("'firewall group list -o json'", "bm-vultr-groups.json"),
                ("'firewall rule list vg-bm -o json'", "bm-vultr-rules.json"),
                ("'instance list -o json'", "bm-vultr-instances.json"),
            ][..],
            "bm-vultr",
        ),
    ] {
        let bin = h.dir.path().join(format!("bin-{cloudhost}"));
        std::fs::create_dir_all(&bin).unwrap();
        let log = h.dir.path().join(format!("{cloudhost}.log"));
        stand_in(&bin, prog, &log, answers);
        let o = h
            .cmd("/bin/sh")
            .arg("-c")
            .arg(format!(
                "CLOUDHOST={cloudhost}; REGION=ch-gva-2; SSH_PORT=1035; BUILD_CLIENT_IP=192.0.2.50; ips='198.51.100.8 198.51.100.9 0.0.0.0/0'; . {}; echo alive",
                h.path(ADJ).display()
            ))
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        assert_eq!(stdout(&o), "alive\n", "{cloudhost}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("\"0.0.0.0/0\" is a network, not one address; it opens nothing"),
            "{cloudhost}: {}",
            stderr(&o)
        );
        assert!(
            !stderr(&o).contains("left as it is"),
            "{cloudhost}: {}",
            stderr(&o)
        );
        check_log(&log, expected);
    }
}
