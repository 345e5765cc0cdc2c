//! The cloud hosts' DNS (doctl, exo, linode-cli, vultr) behind the DNS glue scripts, against
//! stand-in executables answering from JSON fixtures; the command lines are compared with
//! tests/fixtures/dns/<provider>.expected (ADT_UPDATE_FIXTURES=1 rewrites them).

mod common;
use common::*;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dns")
}

fn provider(choice: &str, prog: &str, answers: &[(&str, &str)]) {
    let (_server, h) = installed_autoscaler(&format!("DNSCHOICE:{choice}\n"));
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = h.dir.path().join("calls.log");
    stand_in(&bin, prog, &log, &fixtures(), answers);
    let run = |script: &str, args: &[&str]| h.cmd_with(&bin, script).args(args).output().unwrap();
    let o = run("autoscaler/GetDNSIPs.sh", &[]);
    assert_eq!(
        stdout(&o),
        "10.0.0.1 10.0.0.10\n",
        "{choice}: {}",
        stderr(&o)
    );
    for (script, ip) in [
        ("AddIPToDNS", "10.0.0.10"),
        ("AddIPToDNS", "203.0.113.5"),
        ("RemoveIPFromDNS", "10.0.0.1"),
    ] {
        let o = run(&format!("autoscaler/{script}.sh"), &[ip]);
        assert!(o.status.success(), "{choice} {script} {ip}: {}", stderr(&o));
    }
    let got = std::fs::read_to_string(&log).unwrap();
    let file = fixtures().join(format!("{choice}.expected"));
    if std::env::var_os("ADT_UPDATE_FIXTURES").is_some() {
        std::fs::write(&file, &got).unwrap();
    }
    assert_eq!(
        got,
        std::fs::read_to_string(&file).unwrap_or_default(),
        "{}",
        file.display()
    );
    // Exactly one record created and one deleted: 10.0.0.10 existed; 10.0.0.1's www record goes,
    // neither 10.0.0.10's nor mail's.
    let changes: Vec<&str> = got
        .lines()
        .filter(|l| !l.contains("[list]") && !l.contains("[show]") && !l.contains("[records-list]"))
        .collect();
    assert_eq!(changes.len(), 2, "{got}");
}

#[test]
fn digitalocean_dns() {
    provider(
        "digitalocean",
        "doctl",
        &[(
            "'compute domain records list example.com -o json'",
            "do-records.json",
        )],
    );
}

#[test]
fn exoscale_dns() {
    provider(
        "exoscale",
        "exo",
        &[("'-O json dns show example.com'", "exo-records.json")],
    );
}

#[test]
fn linode_dns() {
    provider(
        "linode",
        "linode-cli",
        &[
            ("'--json domains list --all-rows'", "linode-domains.json"),
            (
                "'--json domains records-list 901 --all-rows'",
                "linode-records.json",
            ),
        ],
    );
}

#[test]
fn vultr_dns() {
    provider(
        "vultr",
        "vultr",
        &[(
            "'dns record list example.com -o json'",
            "vultr-records.json",
        )],
    );
}
