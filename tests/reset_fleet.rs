//! The config bucket reset on the local cloud fleet (issue 13): a build machine, an autoscaler,
//! a webserver and a database, each a network namespace on the hub (the webserver and the
//! database real local-cloud servers with sshd and HTTPS), the datastore a real s3s-fs. The build
//! machine resets the bucket with PurgeDatastore.sh (sourced, as AgileDeploymentToolkit.sh
//! does); then every machine runs one cron cycle, the crontab its InitialiseCron installs with
//! each entry due run as cron runs it, and the bucket holds exactly what §4.1's table says the
//! machines republish every minute (each machine's UpdateIP), and nothing else. Keys §4.1 gives
//! to the build (INSTALLEDSUCCESSFULLY, APPLICATION_INSTALLED) are not back; the autoscaler does
//! nothing until the build marks the fleet installed, and in the next cycle after that writes
//! the scaling profile from NUMBERWS and builds nothing. Entries of legacy scripts adt does not
//! replace (the webserver's application, SSL and sync-tunnel scripts, the database's
//! PrimeCredentials.sh, which republishes `credentials/shit` through the s3fs-mounted
//! `${HOME}/config`) are not on these test machines: cron runs them and they are not found, so
//! their keys are not shown here; every entry whose script adt places must succeed.
//! Run as `flock /work/netns.lock cargo test --test reset_fleet`.

mod common;
use common::fleet::*;
use common::*;
use std::process::{Command, Output};

const PURGE: &str = "providerscripts/datastore/PurgeDatastore.sh";
const BM_NS: &str = "adtrf-bm";
const AS_NS: &str = "adtrf-as";

/// The bucket's keys, listed over S3 from the build machine.
fn keys(w: &World, bm: &Host) -> Vec<String> {
    let o = bm
        .cmd("ip")
        .args(["netns", "exec", BM_NS, "s3cmd", "-c"])
        .arg(bm.path(".s3cfg"))
        .args(["ls", "-r", &format!("s3://{BUCKET}/")])
        .output()
        .unwrap();
    assert!(o.status.success(), "s3cmd ls: {}", stderr(&o));
    let _ = w;
    let mut k: Vec<String> = stdout(&o)
        .lines()
        .filter_map(|l| {
            l.split_once(&format!("s3://{BUCKET}/"))
                .map(|(_, k)| k.to_string())
        })
        .collect();
    k.sort();
    k
}

/// What an earlier build left in the bucket: every kind of key §4.1 names.
const EARLIER: &[&str] = &[
    "webserverips/10.78.0.99",
    "webserverpublicips/10.78.0.99",
    "bootedwebserverips/10.78.0.99",
    "databaseip/10.78.0.98",
    "databasepublicip/10.78.0.98",
    "autoscalerip/10.78.0.97",
    "autoscalerpublicip/10.78.0.97",
    "buildclientip/10.78.0.96",
    "credentials/shit",
    "INSTALLEDSUCCESSFULLY",
    "ENABLESYNCTUNNEL",
    "APPLICATION_INSTALLED",
    "scalingprofile/profile.cnf",
    "wordpress_config.php",
    "DBPREFIX:wp_",
    "ssl/fullchain.pem",
    "SSLUPDATED",
    "webrootsynctunnel/a.jpg",
    "backuplock.file",
    "SWITCHOFFSCALING",
];

/// One cron cycle at `minute` on every machine at once; every entry whose script our layout
/// placed succeeds. Returns the entries run per machine.
fn cycle(w: &World, machines: &[(&Host, String)], minute: u32) -> Vec<Vec<String>> {
    let runs: Vec<Vec<(String, Output)>> = std::thread::scope(|s| {
        let hs: Vec<_> = machines
            .iter()
            .map(|(h, ns)| s.spawn(move || w.cron_cycle(h, ns, minute)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ran = Vec::new();
    for ((h, _), entries) in machines.iter().zip(runs) {
        let mut mine = Vec::new();
        for (cmd, o) in entries {
            // The script the entry runs: ours when the layout placed a launcher there; legacy
            // scripts adt does not replace are not on this test machine (cron would report
            // them missing, as here).
            let script = cmd
                .split(|c: char| c.is_whitespace() || c == ';')
                .find(|w| w.starts_with(h.home.to_str().unwrap()) && w.ends_with(".sh"));
            let ours = script.is_some_and(|p| {
                std::fs::read_to_string(p).is_ok_and(|t| t.contains("# adt-rs launcher"))
            });
            if ours {
                assert!(
                    o.status.success(),
                    "{} cron entry {cmd:?} failed: {}",
                    h.machine,
                    stderr(&o)
                );
            }
            mine.push(cmd);
        }
        ran.push(mine);
    }
    ran
}

/// Every log file under the machine's `logs/`, for failure messages.
fn logs(h: &Host) -> String {
    let mut out = String::new();
    let mut dirs = vec![h.path("logs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                out.push_str(&format!(
                    "== {}\n{}",
                    e.path().display(),
                    std::fs::read_to_string(e.path()).unwrap_or_default()
                ));
            }
        }
    }
    out
}

#[test]
fn crontab_lines_due_at_a_minute() {
    assert_eq!(
        due_at("*/1 * * * * export HOME=/h && x", 2),
        Some("export HOME=/h && x")
    );
    assert_eq!(due_at("*/2 * * * * y", 2), Some("y"));
    assert_eq!(due_at("*/3 * * * * y", 2), None);
    assert_eq!(due_at("2 * * * * b 'HOURLY'", 2), Some("b 'HOURLY'"));
    assert_eq!(due_at("1,2 * * * * c", 2), Some("c"));
    assert_eq!(due_at("30 2 * * * z", 30), None);
    assert_eq!(due_at("@reboot r", 2), None);
    assert_eq!(due_at("MAILTO=''", 2), None);
}

#[test]
fn after_a_reset_the_fleet_republishes_within_one_cron_cycle() {
    let Some(mut w) = World::start("adtrf") else {
        return;
    };
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("fleet");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap()
        .success());
    // The machines: the webserver and the database are local-cloud servers (sshd, HTTPS).
    let mut cloud = w.cloud();
    cloud.authorized_key = keydir.path().join("fleet.pub");
    // Two webservers: the legacy minimum in production (NUMBERWS below 2 counts as 2).
    let ws_ip = cloud.create("webserver-ab12-example-e2e").unwrap();
    let ws2_ip = cloud.create("webserver-cd34-example-e2e").unwrap();
    let db_ip = cloud.create("database-example-e2e").unwrap();
    let ns_of =
        |ip: std::net::IpAddr| format!("adtlc{}", ip.to_string().rsplit('.').next().unwrap());
    w.attach(BM_NS, 5);
    w.attach(AS_NS, 10);
    let common = "CLOUDHOST:local\nDNSCHOICE:local\nBUILDIDENTIFIER:e2e\nALGORITHM:ed25519\n\
                  BUILDCLIENTIP:10.78.0.5\nSERVERTIMEZONECONTINENT:Europe\nSERVERTIMEZONECITY:London\n\
                  WEBSERVERCHOICE:NGINX\n";
    let ws = fleet_home(
        "webserver",
        &format!("{common}MYIP:{ws_ip}\nMYPUBLICIP:{ws_ip}\n"),
        Some(&key),
    );
    let ws2 = fleet_home(
        "webserver",
        &format!("{common}MYIP:{ws2_ip}\nMYPUBLICIP:{ws2_ip}\n"),
        Some(&key),
    );
    let db = fleet_home(
        "database",
        &format!("{common}MYIP:{db_ip}\nMYPUBLICIP:{db_ip}\n"),
        Some(&key),
    );
    let asc = fleet_home(
        "autoscaler",
        &format!("{common}NUMBERWS:2\nMYIP:10.78.0.10\nMYPUBLICIP:10.78.0.10\n"),
        Some(&key),
    );
    let bm = fleet_home("build", "", None);
    assert!(bm.path(PURGE).is_file(), "the installer places {PURGE}");

    // An earlier build's keys.
    let dir = w.store_root.path().join(BUCKET);
    for k in EARLIER {
        let p = dir.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while keys(&w, &bm).len() != EARLIER.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "the store did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // The reset, from the build machine, as the build scripts source it.
    let o = bm
        .cmd("ip")
        .args(["netns", "exec", BM_NS, "/bin/sh", "-c"])
        .arg(format!(
            "WEBSITE_URL=www.example.com; DATASTORE_CHOICE=linode; . {}; echo caller alive",
            bm.path(PURGE).display()
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("Purging bucket wwwexacom-config. Please wait....\n"),
        "{out}"
    );
    assert!(out.ends_with("caller alive\n"), "{out}");
    // Which keys survive: none.
    assert_eq!(keys(&w, &bm), Vec::<String>::new());

    // One cron cycle (minute 1: the every-minute entries) on every machine.
    let machines = [
        (&ws, ns_of(ws_ip)),
        (&ws2, ns_of(ws2_ip)),
        (&db, ns_of(db_ip)),
        (&asc, AS_NS.to_string()),
    ];
    // ConfigureDBAccessByApplication is ours after legacy's step (the kept `.adt-legacy`, which
    // writes the application's config from the database's settings): that step is not on this
    // test machine, so a no-op stands in for it and our part must still succeed.
    for (h, _) in &machines {
        let launcher =
            h.path("providerscripts/application/configuration/ConfigureDBAccessByApplication.sh");
        if launcher.exists() {
            let mut kept = launcher.into_os_string();
            kept.push(".adt-legacy");
            std::fs::write(
                &kept,
                "#!/bin/sh\n# legacy's step, not on this test machine\nexit 0\n",
            )
            .unwrap();
        }
    }
    let ran = cycle(&w, &machines, 1);
    for (m, r) in ["webserver", "webserver", "database", "autoscaler"]
        .iter()
        .zip(&ran)
    {
        assert!(
            r.iter()
                .any(|c| c.contains("providerscripts/utilities/UpdateIP.sh")),
            "{m}'s cycle runs UpdateIP: {r:?}"
        );
    }
    // §4.1's every-minute rows, for the machines of this fleet (each machine's UpdateIP;
    // the build client's address from the machines' BUILDCLIENTIP), and nothing else.
    let mut want = vec![
        "autoscalerip/10.78.0.10".to_string(),
        "autoscalerpublicip/10.78.0.10".into(),
        format!("bootedwebserverips/{ws_ip}"),
        format!("bootedwebserverips/{ws2_ip}"),
        format!("webserverips/{ws2_ip}"),
        format!("webserverpublicips/{ws2_ip}"),
        "buildclientip/10.78.0.5".into(),
        format!("databaseip/{db_ip}"),
        format!("databasepublicip/{db_ip}"),
        format!("webserverips/{ws_ip}"),
        format!("webserverpublicips/{ws_ip}"),
    ];
    want.sort();
    assert_eq!(keys(&w, &bm), want, "ran: {ran:#?}");
    let servers = w.servers();
    assert_eq!(servers.len(), 3, "{servers:?}");

    // The build marks the fleet installed (FinaliseBuildProcessing); the next cycle at an even
    // minute runs the autoscaler, which writes the scaling profile from NUMBERWS and, with its
    // webservers up, builds nothing.
    std::fs::write(dir.join("INSTALLEDSUCCESSFULLY"), "").unwrap();
    let ran = cycle(&w, &machines, 2);
    assert!(
        ran[3]
            .iter()
            .any(|c| c.contains("cron/AutoscaleFromCron.sh")),
        "{:?}",
        ran[3]
    );
    want.extend([
        "INSTALLEDSUCCESSFULLY".into(),
        "scalingprofile/profile.cnf".into(),
    ]);
    want.sort();
    assert_eq!(keys(&w, &bm), want, "autoscaler logs: {}", logs(&asc));
    assert_eq!(
        w.servers(),
        servers,
        "the autoscaler built or removed a server"
    );
}
