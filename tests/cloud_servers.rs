//! The cloud hosts' server listing and destroying behind PerformScaling, against stand-in CLIs
//! answering from JSON fixtures: 3 webservers of this build (and one of another build, which is
//! never counted or touched), profile 2, so one is taken out of DNS and destroyed. The IPs are
//! documentation addresses that nothing here connects to.

mod common;
use common::*;
use std::path::Path;

fn scale_down(
    cloudhost: &str,
    marker: &str,
    prog: &str,
    pattern: &str,
    fixture: &str,
    private: &str,
    want_destroy: &[&str],
) {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("autoscaler", server.port);
    h.install();
    std::fs::write(h.path(marker), "").unwrap();
    h.add_settings(&format!("CLOUDHOST:{cloudhost}\nDNSCHOICE:local\nBUILDIDENTIFIER:prod1\nREGION:ch-gva-2\nNUMBERWS:2\n"));
    for k in [
        "INSTALLEDSUCCESSFULLY",
        &format!("webserverips/{private}"),
        "webserverpublicips/192.0.2.13",
    ] {
        assert!(h
            .exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k])
            .status
            .success());
    }
    assert!(h
        .exec("providerscripts/utilities/ManuallyScale.sh", &["2"])
        .status
        .success());
    // In DNS: .11 and .12; .13 is not (so it is the one to go).
    let dns = h.path(".adt-rs/dns");
    std::fs::create_dir_all(&dns).unwrap();
    std::fs::write(
        dns.join("hosts"),
        "192.0.2.11 www.example.com\n192.0.2.12 www.example.com\n",
    )
    .unwrap();
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = h.dir.path().join("calls.log");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/servers");
    stand_in(&bin, prog, &log, &fixtures, &[(pattern, fixture)]);
    // The fleet's addresses are documentation addresses: the health checks and the shutdown
    // handshake meet stand-ins that fail at once instead of connecting anywhere.
    for (name, script) in [
        ("ssh", "#!/bin/sh\nexit 255\n"),
        ("curl", "#!/bin/sh\nprintf 000\nexit 7\n"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(bin.join(name), script).unwrap();
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run = |args: &[&str]| {
        h.cmd_with(&bin, "autoscaler/PerformScaling.sh")
            .args(args)
            .env("ADT_DNS_DRAIN_SECS", "0")
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert_eq!(
        stdout(&dry),
        "wanted 2 have 3\ndestroy webserver-ef56-example-prod1 192.0.2.13\n",
        "{cloudhost}: {}",
        stderr(&dry)
    );
    let o = run(&[]);
    assert!(o.status.success(), "{cloudhost}: {}", stderr(&o));
    let calls = std::fs::read_to_string(&log).unwrap();
    let changes: Vec<String> = calls
        .lines()
        .filter(|l| !l.contains("[list]"))
        .map(|l| l.replace(['[', ']'], ""))
        .collect();
    assert_eq!(changes, want_destroy, "{cloudhost}:\n{calls}");
    assert!(
        !calls.contains("zz99") && !calls.contains("599") && !calls.contains("-9"),
        "another build's server touched"
    );
    assert_eq!(
        std::fs::read_to_string(dns.join("hosts")).unwrap(),
        "192.0.2.11 www.example.com\n192.0.2.12 www.example.com\n"
    );
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "", "its markers are gone");
    // Building needs SIZE (and the rest of the server's specification): a clear error and
    // nothing created when it is missing (cloud_create.rs covers the builds).
    assert!(h
        .exec("providerscripts/utilities/ManuallyScale.sh", &["4"])
        .status
        .success());
    let before = std::fs::read_to_string(&log).unwrap();
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("SIZE is not set in the autoscaler's settings"),
        "{}",
        stderr(&o)
    );
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(
        after[before.len()..].lines().all(|l| l.contains("[list]")),
        "only listed: {after}"
    );
}

#[test]
fn digitalocean_lists_and_destroys() {
    scale_down(
        "digitalocean",
        "DROPLET",
        "doctl",
        "'compute droplet list -o json'",
        "do.json",
        "10.0.0.13",
        &["doctl compute droplet delete 503 --force"],
    );
}

#[test]
fn exoscale_lists_and_destroys() {
    scale_down(
        "exoscale",
        "EXOSCALE",
        "exo",
        "'-O json compute instance list -z ch-gva-2'",
        "exo.json",
        "192.0.2.13",
        &["exo compute instance delete -f -z ch-gva-2 i-3"],
    );
}

#[test]
fn linode_lists_and_destroys() {
    scale_down(
        "linode",
        "LINODE",
        "linode-cli",
        "'--json linodes list --all-rows'",
        "linode.json",
        "192.168.1.13",
        &[
            "linode-cli linodes shutdown 73",
            "linode-cli linodes delete 73",
        ],
    );
}

#[test]
fn vultr_lists_and_destroys() {
    scale_down(
        "vultr",
        "VULTR",
        "vultr",
        "'instance list -o json'",
        "vultr.json",
        "10.1.96.13",
        &["vultr instance delete u-3"],
    );
}
