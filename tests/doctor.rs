//! `adt doctor` against a real s3s-fs: a machine set up right (exit 0, every line ok), a
//! settings file whose WEBSITEURL names another bucket, a store that is stopped, a missing
//! homedir.dat and a launcher whose binary is gone (exit 1, each FAIL line with its fix), and
//! `--json`.

mod common;

use common::*;

fn doctor(h: &Host, extra: &[&str]) -> std::process::Output {
    h.cmd(adt_bin())
        .arg("doctor")
        .args(extra)
        .env("ADT_CRONTAB_FILE", h.dir.path().join("crontab"))
        .env("ADT_S3_DEADLINE", "5")
        .output()
        .unwrap()
}

fn line<'a>(text: &'a str, check: &str) -> &'a str {
    text.lines()
        .find(|l| {
            l.get(5..)
                .is_some_and(|r| r.starts_with(&format!("{check} ")))
        })
        .unwrap_or_else(|| panic!("no {check} line in:\n{text}"))
}

/// The line after the finding's (its fix).
fn fix<'a>(text: &'a str, check: &str) -> &'a str {
    let l = line(text, check);
    let mut it = text.lines().skip_while(|x| *x != l);
    it.next();
    it.next().unwrap_or("").trim()
}

#[test]
fn a_machine_set_up_right_is_all_ok() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    h.install();
    h.add_settings("MYIP:10.0.0.5\nMYPUBLICIP:203.0.113.5\n");
    std::fs::write(
        h.dir.path().join("crontab"),
        format!(
            "*/1 * * * * {}/{U}UpdateIP.sh\n@reboot /bin/true\n",
            h.home.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        h.home.join(".s3cfg"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let o = doctor(&h, &[]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    for check in [
        "home",
        "machine",
        "settings",
        "s3cfg",
        "bucket",
        "clock",
        "conditional-writes",
        "launchers",
        "cron",
        "firewall",
    ] {
        assert!(line(&text, check).starts_with("ok "), "{check}: {text}");
    }
    assert!(
        line(&text, "machine").contains("webserver, generation 2022"),
        "{text}"
    );
    assert!(line(&text, "bucket").contains(BUCKET), "{text}");
    assert!(
        line(&text, "conditional-writes").contains("enforces"),
        "{text}"
    );
    assert!(
        line(&text, "launchers").contains("every launcher runs"),
        "{text}"
    );
    assert!(line(&text, "cron").contains("UpdateIP (1)"), "{text}");
    assert_eq!(
        text.lines().count(),
        10,
        "one screen, one line per check:\n{text}"
    );

    let o = doctor(&h, &["--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["findings"].as_array().unwrap().len(), 10);
    assert_eq!(v["findings"][4]["check"], "bucket");
    assert_eq!(v["findings"][4]["status"], "ok");
}

#[test]
fn a_settings_file_naming_another_bucket_fails_with_the_rule_and_the_fix() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    h.install();
    let f = h.home.join(".ssh/webserver_configuration_settings.dat");
    let t = std::fs::read_to_string(&f)
        .unwrap()
        .replace("www.example.com", "shop.example.org");
    std::fs::write(&f, t).unwrap();
    let o = doctor(&h, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let l = line(&text, "bucket");
    assert!(l.starts_with("FAIL"), "{text}");
    assert!(l.contains("shoexaorg-config"), "{text}");
    assert!(l.contains("first three characters of each label"), "{text}");
    assert!(
        fix(&text, "bucket").starts_with("fix: check WEBSITEURL"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_slice(&doctor(&h, &["--json"]).stdout).unwrap();
    assert_eq!(v["ok"], false);
}

#[test]
fn a_stopped_store_fails_within_the_deadline() {
    let mut server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    h.install();
    server.stop();
    let start = std::time::Instant::now();
    let o = doctor(&h, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(line(&text, "bucket").starts_with("FAIL"), "{text}");
    assert!(fix(&text, "bucket").contains("start the store"), "{text}");
    // The checks after the store's still run.
    assert!(line(&text, "launchers").starts_with("ok "), "{text}");
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn no_homedir_file_and_a_launcher_whose_binary_is_gone_fail_with_their_fixes() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    // Launchers that run a binary that is not there.
    let gone = h.dir.path().join("old-adt");
    std::fs::copy(adt_bin(), &gone).unwrap();
    let o = std::process::Command::new(&gone)
        .args(["layout", "install", "--home"])
        .arg(&h.home)
        .args(["--machine", "webserver", "GetIP"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&gone).unwrap();
    let o = doctor(&h, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let l = line(&text, "launchers");
    assert!(
        l.starts_with("FAIL") && l.contains("GetIP") && l.contains("is missing"),
        "{text}"
    );
    assert!(l.contains("1 of"), "{text}");

    std::fs::remove_file(&h.homedir_file).unwrap();
    let o = h
        .cmd(adt_bin())
        .args(["doctor"])
        .env("HOME", h.dir.path())
        .output()
        .unwrap();
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        line(&text, "home").starts_with("FAIL") && line(&text, "home").contains("is missing"),
        "{text}"
    );
    assert!(fix(&text, "home").contains("first line of"), "{text}");
    // With --home, the same machine is examined.
    let o = doctor(&h, &["--home", &h.home.to_string_lossy()]);
    assert!(
        line(&stdout(&o), "machine").contains("webserver"),
        "{}",
        stdout(&o)
    );
}
