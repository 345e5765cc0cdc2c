//! The 2025 authentication server with real packets: a reverse proxy namespace running our
//! firewall reconcile with real iptables and ipset, an authenticator namespace running
//! `adt authenticator`, a claimant and an outsider, all on a bridge in a hub namespace
//! (10.79.0.0/24, inside the namespaces only) where a real s3s-fs is the datastore. Before a
//! claim 443 is closed to both; after the claimant opens its one-time link it reaches 443 and
//! the outsider does not; after the claim expires 443 is closed again. Everything is removed on
//! drop, also when the test fails. Run as `flock /work/netns.lock cargo test --test auth_netns`.

mod common;
mod netlab;
use common::*;
use netlab::*;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const NET: &str = "10.79.0";

const AUTH_BUCKET: &str = "www-example-com-firewall-auth-laptop-ips";

#[test]
fn only_a_claimant_reaches_443_and_only_until_its_claim_expires() {
    if Command::new("ipset").arg("--version").output().is_err() {
        panic!("ipset is not installed (apt package ipset; .ci/run installs it)");
    }
    claim_cycle("iptables", "mdau");
}

/// With ufw (no sets), each authorised client is a rule of its own; the packets say the same.
#[test]
fn with_ufw_too() {
    claim_cycle("ufw", "mdaw");
}

fn claim_cycle(tool: &str, prefix: &str) {
    let Some(mut lab) = Lab::new(prefix, NET) else {
        return;
    };
    let hub = format!("{}hub", lab.tag);
    let proxy = lab.host("rp", 10);
    if tool == "ufw" {
        lab.private_ufw(&proxy);
    }
    let claimant = lab.host("cl", 20);
    let outsider = lab.host("out", 30);
    let authns = lab.host("auth", 40);

    // The datastore, in the hub: the proxy's config bucket exists; the authenticator makes its own.
    let s3_root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(s3_root.path().join("www-example-com-config-x9fk")).unwrap();
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        &hub,
        &s3s_fs(),
        "--host",
        &format!("{NET}.1"),
        "--port",
        "9000",
    ])
    .args(["--access-key", ACCESS, "--secret-key", SECRET])
    .arg(s3_root.path());
    lab.spawn(&mut c);

    // The reverse proxy: a 2025 webserver home with the authentication server's firewall type.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home/X9fKqwer");
    std::fs::create_dir_all(home.join("runtime")).unwrap();
    let settings = |active: u8| {
        std::fs::write(
            home.join("runtime/webserver_configuration_settings.dat"),
            format!(
                "WEBSITEURL:www.example.com\nSSHPORT:1035\nSERVERUSER:X9fKqwer\nDNSCHOICE:linode\n\
                 AUTHENTICATORTYPE:firewall\nBUILDCLIENTIP:{NET}.5\nACTIVEFIREWALLS:{active}\n\
                 VPCIPRANGE:10.200.0.0/16\n"
            ),
        )
        .unwrap()
    };
    // Only the cloud's native firewall at first (ACTIVEFIREWALLS:2).
    settings(2);
    // The firewall tool, as the build style names it.
    std::fs::write(
        home.join("runtime/buildstyles.dat"),
        format!("FIREWALL:{tool}\n"),
    )
    .unwrap();
    let homedir = dir.path().join("homedir.dat");
    std::fs::write(&homedir, format!("{}\n", home.display())).unwrap();
    let cfg = dir.path().join("s3cfg");
    s3cfg(&cfg, NET);
    let o = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            "webserver",
            "--home",
        ])
        .arg(&home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // This machine's SetupFirewall.sh stays the legacy script (AllowAuthenticatorIPAddress then
    // reconciles the authorised clients only).
    std::fs::write(
        home.join("security/SetupFirewall.sh"),
        "#!/bin/sh\n# the legacy script\n",
    )
    .unwrap();
    let mut l = Command::new("ip");
    l.args(["netns", "exec", &proxy, "python3", "-c", LISTENER, "443"]);
    lab.spawn(&mut l);

    let reconcile = || -> Output {
        let o = Command::new("ip")
            .args(["netns", "exec", &proxy])
            .arg(home.join("security/AllowAuthenticatorIPAddress.sh"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("ADT_HOMEDIR_FILE", &homedir)
            .env("S3CMD_CONFIG", &cfg)
            .env("ADT_S3_ATTEMPTS", "2")
            .output()
            .unwrap();
        assert!(o.status.success(), "reconcile: {}", stderr(&o));
        o
    };
    // s3s-fs may take a moment to listen.
    let start = Instant::now();
    while !lab.can_connect(&proxy, &format!("{NET}.1"), 9000) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "s3s-fs did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // With only the native firewall active, the machine's firewall is left alone (as legacy).
    reconcile();
    assert!(
        lab.can_connect(&outsider, &format!("{NET}.10"), 443),
        "ACTIVEFIREWALLS:2, and the machine's firewall was changed"
    );
    settings(1);

    // The machine's own firewall (legacy 2025 SetupFirewall keeps 443 closed with an
    // authentication server; here our SetupFirewall with AUTHENTICATORTYPE:firewall stands in).
    // AllowAuthenticatorIPAddress then reconciles the authorised clients only: this machine's
    // SetupFirewall.sh is not one of our launchers.
    let setup = || {
        let o = Command::new("ip")
            .args(["netns", "exec", &proxy])
            .arg(adt_bin())
            .args([
                "--adt-generation=2025",
                "--adt-machine=webserver",
                "SetupFirewall",
            ])
            .args(["--tool", tool])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("ADT_HOMEDIR_FILE", &homedir)
            .env("S3CMD_CONFIG", &cfg)
            .env("ADT_SSHD_CONFIG", dir.path().join("sshd_config"))
            // A reverse proxy: the host in front of the authentication server.
            .env("ADT_HOSTNAME", "rp-lon1-prod1-rp-1")
            .output()
            .unwrap();
        assert!(o.status.success(), "setup: {}", stderr(&o));
    };
    setup();

    // Before any claim: 443 closed to everyone (the proxy itself still listens).
    reconcile();
    let target = format!("{NET}.10");
    assert!(
        lab.can_connect(&proxy, "127.0.0.1", 443),
        "the proxy listens"
    );
    assert!(
        !lab.can_connect(&claimant, &target, 443),
        "443 open before a claim"
    );
    assert!(
        !lab.can_connect(&outsider, &target, 443),
        "443 open to the outsider"
    );

    // The authenticator.
    let adir = tempfile::tempdir().unwrap();
    let ahome = adir.path().join("home");
    std::fs::create_dir_all(&ahome).unwrap();
    let ahomedir = adir.path().join("homedir.dat");
    std::fs::write(&ahomedir, format!("{}\n", ahome.display())).unwrap();
    let acfg = adir.path().join("s3cfg");
    s3cfg(&acfg, NET);
    let outbox = adir.path().join("outbox");
    let base = format!("http://{NET}.40:8080");
    let mut a = Command::new("ip");
    a.args(["netns", "exec", &authns])
        .arg(adt_bin())
        .args(["authenticator", "--listen", &format!("{NET}.40:8080")])
        .args(["--url", "www.example.com", "--email-domain", "example.com"])
        .args([
            "--own-ip",
            &format!("{NET}.40"),
            "--claim-ttl",
            // Long enough for the checks between the claim and the second reconcile on a
            // loaded machine (4 s expired a claim before SetupFirewall ran, now and then).
            "15",
            "--sweep",
            "1",
        ])
        .args(["--link-base", &base, "--outbox"])
        .arg(&outbox)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &ahome)
        .env("ADT_HOMEDIR_FILE", &ahomedir)
        .env("ADT_DATASTORE", format!("s3:{}", acfg.display()));
    lab.spawn(&mut a);
    let start = Instant::now();
    while !lab.can_connect(&claimant, &format!("{NET}.40"), 8080) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the authenticator did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The e-mail domain is checked by the server.
    let (code, _) = lab.http(
        &claimant,
        "POST",
        &format!("{base}/request"),
        Some("email=eve%40evil.com"),
    );
    assert_eq!(code, 403);
    let (code, body) = lab.http(
        &claimant,
        "POST",
        &format!("{base}/request"),
        Some("email=ann%40example.com"),
    );
    assert_eq!(code, 200, "{body}");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let link = std::fs::read_to_string(&mail)
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&base))
        .unwrap()
        .to_string();
    // The claimant opens the link: its own address is authorised, once.
    let (code, body) = lab.http(&claimant, "GET", &link, None);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(&format!("access granted to {NET}.20")),
        "{body}"
    );
    assert_eq!(
        lab.http(&outsider, "GET", &link, None).0,
        404,
        "a link works once"
    );

    // Another authenticator's file with malformed lines: they open nothing.
    let other = s3_root.path().join(AUTH_BUCKET).join("firewall-laptop-ips");
    std::fs::write(
        other.join(format!("ipaddresses.dat.{NET}.41")),
        format!("0.0.0.0\n{NET}.0/24\n{NET}.30 x\n255.255.255.255\n"),
    )
    .unwrap();

    let o = reconcile();
    assert!(stderr(&o).contains("opens nothing"), "{}", stderr(&o));
    if tool == "iptables" {
        let set = Command::new("ip")
            .args([
                "netns",
                "exec",
                &proxy,
                "ipset",
                "save",
                "allowed-laptop-ips",
            ])
            .output()
            .unwrap();
        let members: Vec<String> = stdout(&set)
            .lines()
            .filter(|l| l.starts_with("add "))
            .map(str::to_string)
            .collect();
        assert_eq!(members, [format!("add allowed-laptop-ips {NET}.20")]);
    }
    assert!(
        lab.can_connect(&claimant, &target, 443),
        "the claimant reaches 443"
    );
    assert!(
        !lab.can_connect(&outsider, &target, 443),
        "nobody else does"
    );
    assert!(!lab.can_connect(&outsider, &target, 1035), "nor SSH");

    // The machine's whole reconcile agrees: the claimant keeps 443, the outsider has none.
    setup();
    assert!(
        lab.can_connect(&claimant, &target, 443),
        "SetupFirewall dropped the claimant"
    );
    assert!(!lab.can_connect(&outsider, &target, 443));

    // The claim expires: the authenticator withdraws the address, the next reconcile closes 443.
    let published = s3_root
        .path()
        .join(AUTH_BUCKET)
        .join(format!("firewall-laptop-ips/ipaddresses.dat.{NET}.40"));
    let start = Instant::now();
    while std::fs::read_to_string(&published)
        .unwrap_or_default()
        .contains(&format!("{NET}.20"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the claim was never withdrawn"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    reconcile();
    assert!(
        !lab.can_connect(&claimant, &target, 443),
        "443 still open after expiry"
    );
    assert!(!lab.can_connect(&outsider, &target, 443));
    let _: PathBuf = published;
}
