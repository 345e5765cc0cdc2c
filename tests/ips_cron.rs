//! IP publishing (UpdateIP, GetIP, GetPublicIP, SetupInfrastructureIPs) on a real S3 server,
//! and InitialiseCron's crontabs.

mod common;
use common::*;
use std::path::Path;

const UT: &str = "providerscripts/utilities/";

fn keys(h: &Host) -> Vec<String> {
    let o = h.s3cmd(&["ls", "-r", &format!("s3://{BUCKET}/")]);
    let mut k: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            l.rsplit(&format!("s3://{BUCKET}/"))
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    k.sort();
    k
}

fn set(h: &Host, key: &str, value: &str) {
    let o = h.exec(&format!("{UT}StoreConfigValue.sh"), &[key, value]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn store(h: &Host) -> Box<dyn adt::datastore::Backend> {
    adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: h.path(".s3cfg"),
        },
        BUCKET,
    )
    .unwrap()
}

/// Every object's key and modification time, as the S3 server reports them.
fn modified(h: &Host) -> Vec<(String, Option<std::time::SystemTime>)> {
    let l = store(h).list("", false).unwrap();
    l.objects.into_iter().map(|o| (o.key, o.modified)).collect()
}

#[test]
fn webserver_publishes_its_ips_idempotently_and_cleans_up_after_a_change() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    h.install();
    set(&h, "MYIP", "10.0.0.5");
    set(&h, "MYPUBLICIP", "203.0.113.5");
    // Another webserver's marker, which must survive everything below.
    let other = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &["webserverips/10.0.0.99", "webserverips/10.0.0.99"],
    );
    assert!(other.status.success());

    let o = h.exec(&format!("{UT}UpdateIP.sh"), &[]);
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (Some(0), String::new()),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        keys(&h),
        [
            "bootedwebserverips/10.0.0.5",
            "webserverips/10.0.0.5",
            "webserverips/10.0.0.99",
            "webserverpublicips/203.0.113.5"
        ]
    );
    assert!(h.path("runtime/APP_CONFIG_UPDATED").exists());
    // A second run writes nothing: no marker object is touched (moto lists modification times
    // to the second, so the second run comes more than a second later).
    let before = modified(&h);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(h.exec(&format!("{UT}UpdateIP.sh"), &[]).status.success());
    assert_eq!(modified(&h), before);

    // The private IP changes: the old markers of this machine go, nobody else's.
    set(&h, "MYIP", "10.0.0.6");
    assert!(h.exec(&format!("{UT}UpdateIP.sh"), &[]).status.success());
    assert_eq!(
        keys(&h),
        [
            "bootedwebserverips/10.0.0.6",
            "webserverips/10.0.0.6",
            "webserverips/10.0.0.99",
            "webserverpublicips/203.0.113.5"
        ]
    );
    assert_eq!(stdout(&h.exec(&format!("{UT}GetIP.sh"), &[])), "10.0.0.6\n");
    assert_eq!(
        stdout(&h.exec(&format!("{UT}GetPublicIP.sh"), &[])),
        "203.0.113.5\n"
    );
    // Other machines read the fleet through List, as before.
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "10.0.0.6\n10.0.0.99\n");
}

#[test]
fn bad_ips_are_never_published() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("database", server.port);
    h.install();
    set(&h, "MYIP", "10.0.0.7");
    set(&h, "MYPUBLICIP", "1.2.3");
    let o = h.exec(&format!("{UT}UpdateIP.sh"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("databasepublicip/\"1.2.3\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(keys(&h), ["databaseip/10.0.0.7"]);
    // No MYIP at all: nothing, and certainly not the bare prefix.
    let s = h.path(".ssh/database_configuration_settings.dat");
    let t = std::fs::read_to_string(&s)
        .unwrap()
        .replace("MYIP:10.0.0.7\n", "");
    std::fs::write(&s, t).unwrap();
    let o = h.exec(&format!("{UT}UpdateIP.sh"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        keys(&h)
            .iter()
            .all(|k| k != "databaseip/" && k != "databasepublicip/"),
        "{:?}",
        keys(&h)
    );
}

#[test]
fn autoscaler_publishes_build_client_and_list_ips_reads_the_fleet() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("autoscaler", server.port);
    h.install();
    // MYIP is one of this host's addresses (else GetIP would take hostname -I's second one).
    let addrs = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .unwrap();
    let mine = String::from_utf8_lossy(&addrs.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("192.0.2.77")
        .to_string();
    set(&h, "MYIP", &mine);
    set(&h, "MYPUBLICIP", "198.51.100.1");
    set(&h, "BUILDCLIENTIP", "192.0.2.10");
    let o = h.exec(&format!("{UT}UpdateIP.sh"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        keys(&h),
        [
            format!("autoscalerip/{mine}"),
            "autoscalerpublicip/198.51.100.1".into(),
            "buildclientip/192.0.2.10".into()
        ]
    );
    // The library call later issues use: validated IPs only, junk skipped.
    for k in [
        "webserverips/10.0.0.1",
        "webserverips/2001:db8::7",
        "webserverips/not-an-ip",
        "webserverips/0.0.0.0",
    ] {
        assert!(h
            .exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k])
            .status
            .success());
    }
    let store = store(&h);
    let ips = adt::ips::list_ips(store.as_ref(), "webserverips/").unwrap();
    let shown: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
    assert_eq!(shown, ["10.0.0.1", "2001:db8::7"]);
    // A listing that fails is an error, never an empty fleet.
    drop(server);
    let failed = adt::ips::list_ips(store.as_ref(), "webserverips/");
    assert!(failed.is_err());
}

#[test]
fn setup_infrastructure_ips_is_sourced() {
    let h = Host::new("autoscaler", free_port());
    h.install();
    set(&h, "BUILDCLIENTIP", "192.0.2.10");
    set(&h, "DBIP", "10.0.0.30");
    set(&h, "WSIP", "10.0.0.20");
    set(&h, "MYIP", "127.0.0.1");
    let o = h.shell(&format!(
        "set -- caller-arg; . {}; echo \"$BUILD_CLIENT_IP $DATABASE_IP $WEBSERVER_IP $1\"",
        h.path(&format!("{UT}SetupInfrastructureIPs.sh")).display()
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "192.0.2.10 10.0.0.30 10.0.0.20 caller-arg\n");
}

fn cron_host(machine: &'static str, extra: &str) -> (Host, std::path::PathBuf) {
    let h = Host::new(machine, free_port());
    h.install();
    h.add_settings("SERVERTIMEZONECONTINENT:Europe\nSERVERTIMEZONECITY:London\nWEBSERVERCHOICE:NGINX\nBUILDIDENTIFIER:demo1\n");
    h.add_settings(extra);
    let file = h.dir.path().join("crontab");
    (h, file)
}

/// Run InitialiseCron the way the legacy build scripts did: sourced, with the caller's arguments.
fn source_cron(h: &Host, file: &Path) -> std::process::Output {
    h.cmd("/bin/sh")
        .arg("-c")
        .arg(format!(
            "set -- as.sh-args; . {}",
            h.path(&format!("{UT}InitialiseCron.sh")).display()
        ))
        .env("ADT_CRONTAB_FILE", file)
        .output()
        .unwrap()
}

#[test]
fn autoscaler_crontab_is_the_legacy_one_and_idempotent() {
    let (h, file) = cron_host("autoscaler", "");
    std::fs::write(
        &file,
        "# my own job\n15 3 * * * /usr/local/bin/backup-etc\nMAILTO=''\n",
    )
    .unwrap();
    let o = source_cron(&h, &file);
    assert!(o.status.success(), "{}", stderr(&o));
    let home = h.home.display().to_string();
    let x = |sched: &str, cmd: &str| format!("{sched} export HOME={home} && {cmd}");
    let hh = |p: &str| format!("{home}/{p}");
    let expected = [
        "MAILTO=''".to_string(),
        x(
            "*/1 * * * *",
            &format!(
                "/bin/sleep 30 && {}",
                hh("providerscripts/utilities/UpdateIP.sh")
            ),
        ),
        x(
            "*/1 * * * *",
            &format!(
                "/usr/bin/find {} -type f -mmin +15 -delete",
                hh("runtime/UPDATEDSSL")
            ),
        ),
        x(
            "*/1 * * * *",
            &format!(
                "/usr/bin/find {} -name *lock* -type f -mmin +35 -delete",
                hh("runtime")
            ),
        ),
        x(
            "*/1 * * * *",
            &hh("security/MonitorForNewSSLCertificate.sh"),
        ),
        x(
            "*/1 * * * *",
            &hh("providerscripts/utilities/BroadcastSSLAccount.sh"),
        ),
        x(
            "*/1 * * * *",
            &hh("providerscripts/datastore/ObtainBuildClientIP.sh"),
        ),
        x("*/1 * * * *", &hh("cron/SetupFirewallFromCron.sh")),
        x("*/1 * * * *", &hh("autoscaler/PurgeDetachedIPs.sh")),
        x("*/5 * * * *", &hh("security/MonitorFirewall.sh")),
        x("*/5 * * * *", &hh("autoscaler/MonitorForSlowBuilds.sh")),
        x(
            "*/10 * * * *",
            &hh("providerscripts/utilities/EnforcePermissions.sh"),
        ),
        "30 2 * * * /usr/sbin/ufw --force reset".to_string(),
        x(
            "@daily",
            &hh("providerscripts/utilities/PerformSoftwareUpdate.sh"),
        ),
        x(
            "@reboot",
            &hh("providerscripts/cloudhost/ConfigureProvider.sh"),
        ),
        "@reboot export TZ=\":Europe/London\"".to_string(),
        x(
            "@reboot",
            &hh("providerscripts/utilities/CleanupAtReboot.sh"),
        ),
        x("@reboot", &hh("providerscripts/utilities/SetHostname.sh")),
        format!(
            "@reboot /bin/sleep 600 && export HOME={home} && {}",
            hh("security/KnickersUp.sh")
        ),
        x(
            "@reboot",
            &format!(
                "/usr/bin/find {} -name *lock* -type f -delete",
                hh("runtime")
            ),
        ),
        x("@reboot", &hh("providerscripts/utilities/GetIP.sh")),
        x(
            "@reboot",
            &hh("providerscripts/utilities/UpdateInfrastructure.sh"),
        ),
        x("@reboot", &hh("providerscripts/utilities/MonitorCron.sh")),
        x("*/2 * * * *", &hh("cron/AutoscaleFromCron.sh")),
        x("*/3 * * * *", &hh("cron/DeadOrAliveFromCron.sh")),
        x(
            "30 7 * * * ",
            &hh("providerscripts/utilities/DailyScaleup.sh 3"),
        ),
        x(
            "30 17 * * *",
            &hh("providerscripts/utilities/DailyScaledown.sh 2"),
        ),
        "# my own job".to_string(),
        "15 3 * * * /usr/local/bin/backup-etc".to_string(),
    ];
    let got = std::fs::read_to_string(&file).unwrap();
    assert_eq!(got, expected.join("\n") + "\n");
    assert!(got.contains("30 7 * * *  export HOME="), "two spaces kept");
    // The scripts cron runs are our launchers.
    assert!(
        std::fs::read_to_string(h.path("providerscripts/utilities/DailyScaleup.sh"))
            .unwrap()
            .contains("adt-rs launcher")
    );
    // A second run changes nothing at all (the file is not even rewritten).
    let before = mtime(&file);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(source_cron(&h, &file).status.success());
    assert_eq!(mtime(&file), before);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), got);
    let log = std::fs::read_to_string(h.path("logs/MonitoringLog.log")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.ends_with(": Configuring crontab"))
            .count(),
        2
    );

    // Development: the production-only lines go, everything else stays.
    set(&h, "PRODUCTION", "0");
    assert!(source_cron(&h, &file).status.success());
    let dev = std::fs::read_to_string(&file).unwrap();
    for gone in [
        "AutoscaleFromCron",
        "DeadOrAliveFromCron",
        "DailyScaleup",
        "DailyScaledown",
    ] {
        assert!(!dev.contains(gone), "{gone} still in\n{dev}");
    }
    assert!(dev.contains("15 3 * * * /usr/local/bin/backup-etc\n"));
    assert_eq!(dev.lines().count(), expected.len() - 4);
}

#[test]
fn webserver_and_database_crontabs_follow_their_settings() {
    let (ws, f1) = cron_host(
        "webserver",
        "GATEWAYGUARDIAN:1\nPERSISTASSETSTOCLOUD:2\nBUILDARCHIVECHOICE:virgin\n",
    );
    assert!(source_cron(&ws, &f1).status.success());
    let t = std::fs::read_to_string(&f1).unwrap();
    let home = ws.home.display().to_string();
    assert!(!t.contains("MAILTO"));
    assert!(t.starts_with(&format!("*/1 * * * * export HOME={home} && {home}/providerscripts/webserver/CheckWebserverIsUp.sh NGINX\n")));
    assert!(t.contains(&format!(
        "@reboot export HOME={home} && {home}/security/GatewayGuardian.sh\n"
    )));
    assert!(t.contains("SetupPollingAssetsStore.sh\n") && !t.contains("SetupAssetsStore.sh\n"));
    assert!(
        !t.contains("BackupFromCron") && !t.contains("30 5 * * *"),
        "virgin builds take no backups"
    );
    assert!(t.contains(&format!("*/5 * * * * export HOME={home} &&  /bin/sleep 20 && {home}/cron/SyncToWebrootTunnelFromCron.sh")));
    assert!(t.ends_with("@reboot export TZ=\":Europe/London\"\n"));
    // 41 template lines, less SetupAssetsStore (PERSISTASSETSTOCLOUD is 2) and the six backup-gated ones.
    assert_eq!(t.lines().count(), 34);
    let log = std::fs::read_to_string(ws.path("logs/WEBSERVER_BUILD.log")).unwrap();
    assert!(log.trim_end().ends_with(": Installing cron"));

    let (db, f2) = cron_host("database", "BUILDARCHIVECHOICE:hourly\n");
    std::fs::write(db.path("runtime/POSTGRES_FROM_SOURCE"), "").unwrap();
    assert!(source_cron(&db, &f2).status.success());
    let t = std::fs::read_to_string(&f2).unwrap();
    assert!(t.starts_with("MAILTO=''\n"));
    assert!(t.contains(&format!(
        "2 * * * * export HOME={} && {}/cron/BackupFromCron.sh 'HOURLY' demo1\n",
        db.home.display(),
        db.home.display()
    )));
    assert!(t.contains("8 5 1 Jan,Mar,May,Jul,Sep,Nov * export HOME="));
    assert!(t
        .trim_end()
        .ends_with("postgres/InitialiseDatabaseConfig.sh"));
    assert!(!t.contains("GatewayGuardian"));
    // BYPASSDBLAYER:1 (DBaaS): no backups from this layer.
    set(&db, "BYPASSDBLAYER", "1");
    assert!(source_cron(&db, &f2).status.success());
    assert!(!std::fs::read_to_string(&f2)
        .unwrap()
        .contains("BackupFromCron"));
}

/// The cron wrappers run one at a time: with the legacy lock file held by another run,
/// SetupFirewallFromCron says so and AutoscaleFromCron does nothing at all.
#[test]
fn cron_wrappers_run_one_at_a_time() {
    let (_server, h) = installed_autoscaler("");
    let hold = |name: &str| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(h.path(&format!("runtime/{name}")))
            .unwrap();
        f.lock().unwrap();
        f
    };
    // Inside a throwaway namespace with iptables: were the lock ever ignored, the reconcile
    // would touch only that namespace's rules, never this host's.
    let ns = format!("adtcronlock{}", std::process::id());
    if std::process::Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        let held = hold("firewalllock.file");
        let o = h
            .cmd("ip")
            .args(["netns", "exec", &ns, "/bin/sh"])
            .arg(h.path("cron/SetupFirewallFromCron.sh"))
            .env("ADT_FIREWALL", "iptables")
            .output()
            .unwrap();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &ns])
            .status();
        assert_eq!(
            (o.status.code(), stdout(&o)),
            (Some(0), "script already running\n".to_string()),
            "{}",
            stderr(&o)
        );
        drop(held);
    } else {
        skip("cannot create a network namespace for the firewall lock check");
    }
    let held = hold("autoscalelock.file");
    let o = h.exec("cron/AutoscaleFromCron.sh", &[]);
    assert_eq!(
        (o.status.code(), stdout(&o), stderr(&o)),
        (Some(0), String::new(), String::new())
    );
    assert!(!h.path("logs/MonitoringLog.log").exists(), "nothing ran");
    let p = h.s3cmd(&["ls", &format!("s3://{BUCKET}/scalingprofile/")]);
    assert_eq!(stdout(&p), "", "no profile written");
    drop(held);
}

/// Junk published under an IP prefix (by a legacy machine or by hand, with s3cmd, which takes
/// any key) never becomes a firewall source: broadcast, unspecified (also IPv4-mapped),
/// multicast and loopback entries and entries with white space are skipped and named on
/// stderr, and the fleet's real entries still become rules.
#[test]
fn junk_published_as_an_ip_never_becomes_a_firewall_rule() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("database", server.port);
    h.install();
    h.add_settings("BUILDCLIENTIP:192.0.2.10\n");
    let empty = h.dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let junk = [
        "webserverips/255.255.255.255",
        "webserverips/::ffff:0.0.0.0",
        "webserverips/ 10.0.0.40",
        "webserverips/10.0.0.41 ",
        "webserverips/224.0.0.1",
        "webserverips/::1",
        "autoscalerip/127.0.0.1",
    ];
    for k in ["webserverips/10.0.0.21", "autoscalerip/10.0.0.30"]
        .iter()
        .chain(&junk)
    {
        let o = h.s3cmd(&[
            "put",
            empty.to_str().unwrap(),
            &format!("s3://{BUCKET}/{k}"),
        ]);
        assert!(o.status.success(), "{k}: {}", stderr(&o));
    }
    // Stand-ins for the iptables tools: an empty firewall to read; a restore would be logged
    // (a dry run never applies).
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let applied = h.dir.path().join("applied.log");
    let empty_table =
        "*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n";
    for (prog, body) in [
        ("iptables-save", format!("printf '{empty_table}'")),
        ("ip6tables-save", format!("printf '{empty_table}'")),
        (
            "iptables-restore",
            format!("cat >> '{}'", applied.display()),
        ),
        (
            "ip6tables-restore",
            format!("cat >> '{}'", applied.display()),
        ),
    ] {
        let p = bin.join(prog);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = h
        .cmd_with(&bin, "security/SetupFirewall.sh")
        .args(["--dry-run", "--tool", "iptables"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!applied.exists(), "a dry run applies nothing");
    let out = stdout(&o);
    let words: Vec<&str> = out.split_whitespace().collect();
    let mut sources: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0] == "-s")
        .map(|w| w[1])
        .collect();
    sources.sort();
    sources.dedup();
    assert_eq!(
        sources,
        ["10.0.0.21/32", "10.0.0.30/32", "192.0.2.10/32"],
        "{out}"
    );
    let err = stderr(&o);
    for k in junk {
        assert!(
            err.contains(&format!("ignoring {k:?} in the datastore")),
            "{k:?} not named: {err}"
        );
    }
}
