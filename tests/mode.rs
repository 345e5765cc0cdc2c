//! `adt mode` on installed machines: a development fleet (one webserver, one database, no
//! autoscaler) and its promotion to production, through the legacy StoreConfigValue.

mod common;
use common::*;

fn mode(h: &Host) -> String {
    let o = h
        .cmd(adt_bin())
        .arg(format!("--adt-machine={}", h.machine))
        .arg("mode")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

fn store(h: &Host, k: &str, v: &str) {
    let o = h.exec(&format!("{U}StoreConfigValue.sh"), &[k, v]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_development_fleet_and_its_promotion() {
    let port = free_port();
    let ws = Host::new("webserver", port);
    let db = Host::new("database", port);
    for h in [&ws, &db] {
        h.install();
        store(h, "PRODUCTION", "0");
        store(h, "DEVELOPMENT", "1");
        store(h, "BUILDARCHIVECHOICE", "virgin");
        store(h, "BUILDIDENTIFIER", "acme1");
        store(h, "DATABASEINSTALLATIONTYPE", "Maria");
    }
    let w = mode(&ws);
    assert!(w.starts_with("webserver (2022): development\n"), "{w}");
    assert!(w.contains("to SSHPORT, 443, 80: no (PRODUCTION:1)"), "{w}");
    assert!(
        w.contains("webroot: none (BUILDARCHIVECHOICE:virgin"),
        "{w}"
    );
    assert!(w.contains("certificates: staging ACME"), "{w}");
    assert!(!w.contains("BackupFromCron"), "{w}");
    let d = mode(&db);
    assert!(d.contains("database dumps: none"), "{d}");

    // Promotion: production from a temporal backup; the webserver's hourly copies switched off.
    for h in [&ws, &db] {
        store(h, "PRODUCTION", "1");
        store(h, "DEVELOPMENT", "0");
        store(h, "BUILDARCHIVECHOICE", "hourly");
        store(h, "DISABLEHOURLY", "1");
    }
    let w = mode(&ws);
    assert!(w.starts_with("webserver (2022): production\n"), "{w}");
    assert!(w.contains("to SSHPORT, 443, 80: yes"), "{w}");
    assert!(w.contains("BackupFromCron.sh 'HOURLY' acme1"), "{w}");
    assert!(w.contains("hourly skipped (DISABLEHOURLY:1)"), "{w}");
    assert!(w.contains("certificates: live ACME"), "{w}");
    assert!(!w.contains("warning"), "{w}");
    // The crontab InitialiseCron writes agrees with what `adt mode` says.
    let tab = ws.path("crontab");
    let o = ws
        .cmd(adt_bin())
        .args(["--adt-machine=webserver", "InitialiseCron", "--file"])
        .arg(&tab)
        .arg("--no-install")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&tab).unwrap();
    for l in w.lines().filter(|l| l.contains("BackupFromCron")) {
        assert!(written.contains(l.trim()), "{l} not in {written}");
    }

    // With hourly copies and no datastore copies, the report says both as they are.
    store(&db, "DISABLEHOURLY", "0");
    let d = mode(&db);
    assert!(
        d.contains(
            "database dumps: hourly, daily, weekly, monthly, bimonthly to git; datastore copies: no"
        ),
        "{d}"
    );

    // A DBaaS deployment keeps the database machine for the dumps, unless BYPASSDBLAYER:1.
    store(&db, "DATABASEINSTALLATIONTYPE", "DBaaS");
    let d = mode(&db);
    assert!(
        d.contains("this machine runs for the dumps, taken from the managed database"),
        "{d}"
    );
    assert!(d.contains("BackupFromCron.sh 'DAILY' acme1"), "{d}");
    store(&db, "BYPASSDBLAYER", "1");
    let d = mode(&db);
    assert!(d.contains("database dumps: none (BYPASSDBLAYER:1)"), "{d}");
    assert!(!d.contains("BackupFromCron"), "{d}");
}
