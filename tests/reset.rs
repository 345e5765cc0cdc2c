//! The config bucket reset on a real S3 server: the build machine's PurgeDatastore.sh (sourced
//! and executed), `adt datastore reset` and its refusals, and the fleet republishing its
//! markers in the next cron cycle.

mod common;
use common::*;
use std::process::Command;

const PURGE: &str = "providerscripts/datastore/PurgeDatastore.sh";

fn store(h: &Host, bucket: &str) -> Box<dyn adt::datastore::Backend> {
    adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: h.path(".s3cfg"),
        },
        bucket,
    )
    .unwrap()
}

fn keys(h: &Host, bucket: &str) -> Vec<String> {
    let mut k: Vec<String> = store(h, bucket)
        .list("", false)
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect();
    k.sort();
    k
}

/// What an earlier build left: every kind of key §4.1 names, a stale backup lock, and
/// thousands of tunnel files (more than two DeleteObjects batches).
fn seed(h: &Host, n: usize) {
    let s = store(h, BUCKET);
    for k in [
        "webserverips/10.0.0.5",
        "webserverpublicips/203.0.113.5",
        "bootedwebserverips/10.0.0.5",
        "databaseip/10.0.0.7",
        "databasepublicip/203.0.113.7",
        "autoscalerip/10.0.0.9",
        "autoscalerpublicip/203.0.113.9",
        "credentials/shit",
        "INSTALLEDSUCCESSFULLY",
        "backuplock.file",
        "SWITCHOFFSCALING",
        "scalingprofile/profile.cnf",
    ] {
        s.put_bytes(k, b"x").unwrap();
    }
    // A key with a space (an uploaded file's name): our writers refuse such keys, s3cmd does not.
    let f = h.dir.path().join("upload");
    std::fs::write(&f, "x").unwrap();
    let o = h.s3cmd(&[
        "put",
        f.to_str().unwrap(),
        &format!("s3://{BUCKET}/webrootsynctunnel/My File.jpg"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for i in 0..n {
        s.put_bytes(&format!("webrootsynctunnel/wp-content/f{i:05}"), b"")
            .unwrap();
    }
}

fn build_host(server: &S3Server) -> Host {
    let h = Host::new("build", server.port);
    h.install();
    h
}

#[test]
fn purge_sourced_empties_the_bucket_keeps_the_caller_and_the_fleet_republishes() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    server.make_bucket("www-example-com-daily");
    server.make_bucket("wwwexacom-assets");
    let bm = build_host(&server);
    assert!(
        bm.path(PURGE).is_file(),
        "the installer places PurgeDatastore.sh"
    );
    seed(&bm, 2100);
    store(&bm, "www-example-com-daily")
        .put_bytes("backup.tar.gz", b"b")
        .unwrap();
    store(&bm, "wwwexacom-assets")
        .put_bytes("images/a.png", b"a")
        .unwrap();

    // Sourced, as AgileDeploymentToolkit.sh does: shell variables (not exported), and the
    // caller goes on afterwards.
    let o = bm.shell(&format!(
        "WEBSITE_URL=www.example.com; DATASTORE_CHOICE=linode; . {}; echo \"caller alive $WEBSITE_URL\"",
        bm.path(PURGE).display()
    ));
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Purging bucket wwwexacom-config. Please wait....");
    assert_eq!(lines.len(), 1 + 13 + 2100 + 1, "{}", stderr(&o));
    assert!(lines.contains(&"delete: 's3://wwwexacom-config/backuplock.file'"));
    assert!(lines.contains(&"delete: 's3://wwwexacom-config/webrootsynctunnel/My File.jpg'"));
    assert_eq!(lines.last(), Some(&"caller alive www.example.com"));
    // Which keys survive: none. The bucket is kept; the others are untouched.
    assert_eq!(keys(&bm, BUCKET), Vec::<String>::new());
    assert!(store(&bm, BUCKET).bucket_exists().unwrap());
    assert_eq!(keys(&bm, "www-example-com-daily"), ["backup.tar.gz"]);
    assert_eq!(keys(&bm, "wwwexacom-assets"), ["images/a.png"]);

    // The status line also goes to file descriptor 3, as the build scripts' `status` tee'd it.
    seed(&bm, 1);
    let fd3 = bm.dir.path().join("fd3");
    let o = bm.shell(&format!(
        "exec 3>{}; WEBSITE_URL=www.example.com; DATASTORE_CHOICE=linode; . {} >/dev/null; echo done",
        fd3.display(),
        bm.path(PURGE).display()
    ));
    assert_eq!(stdout(&o), "done\n", "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&fd3).unwrap(),
        "Purging bucket wwwexacom-config. Please wait....\n"
    );

    // An empty bucket: no status line, nothing to do.
    let o = bm.shell(&format!(
        "WEBSITE_URL=www.example.com DATASTORE_CHOICE=linode; . {}; echo ok",
        bm.path(PURGE).display()
    ));
    assert_eq!(stdout(&o), "ok\n", "{}", stderr(&o));

    // One cron cycle later the machines of the fleet have republished their markers
    // (UpdateIP runs every minute on each of them).
    let mut fleet = Vec::new();
    for (m, ip, public) in [
        ("webserver", "10.0.1.5", "198.51.100.5"),
        ("database", "10.0.1.7", "198.51.100.7"),
        ("autoscaler", "10.0.1.9", "198.51.100.9"),
    ] {
        let h = Host::new(m, server.port);
        h.install();
        h.add_settings(&format!(
            "MYIP:{ip}\nMYPUBLICIP:{public}\nBUILDCLIENTIP:192.0.2.10\n"
        ));
        fleet.push(h);
    }
    for h in &fleet {
        let o = h.exec("providerscripts/utilities/UpdateIP.sh", &[]);
        assert!(o.status.success(), "{}: {}", h.machine, stderr(&o));
    }
    // The autoscaler's private IP is the host's own (GetIP), not MYIP.
    let as_ip = stdout(&fleet[2].exec("providerscripts/utilities/GetIP.sh", &[]));
    assert_eq!(
        keys(&bm, BUCKET),
        [
            format!("autoscalerip/{}", as_ip.trim()).as_str(),
            "autoscalerpublicip/198.51.100.9",
            "bootedwebserverips/10.0.1.5",
            "buildclientip/192.0.2.10",
            "databaseip/10.0.1.7",
            "databasepublicip/198.51.100.7",
            "webserverips/10.0.1.5",
            "webserverpublicips/198.51.100.5",
        ]
    );
}

#[test]
fn purge_executed_creates_a_missing_bucket_and_ignores_other_datastores() {
    let server = S3Server::start();
    let bm = build_host(&server);
    // Executed (not sourced), with the variables in the environment.
    let o = bm
        .cmd("/bin/sh")
        .arg(bm.path(PURGE))
        .env("WEBSITE_URL", "www.example.com")
        .env("DATASTORE_CHOICE", "digitalocean")
        .output()
        .unwrap();
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (Some(0), format!("Bucket 's3://{BUCKET}/' created\n")),
        "{}",
        stderr(&o)
    );
    assert!(store(&bm, BUCKET).bucket_exists().unwrap());

    // Not an S3 datastore: legacy did nothing, and so do we.
    seed(&bm, 0);
    let o = bm.shell(&format!(
        "DATASTORE_CHOICE=none; WEBSITE_URL=www.example.com; . {}; echo ok",
        bm.path(PURGE).display()
    ));
    assert_eq!(stdout(&o), "ok\n");
    assert_eq!(keys(&bm, BUCKET).len(), 13);

    // An empty URL is refused (legacy purged `-config`), and the caller lives on.
    let o = bm.shell(&format!(
        "DATASTORE_CHOICE=linode; WEBSITE_URL=; . {}; echo \"status $?\"",
        bm.path(PURGE).display()
    ));
    assert_eq!(stdout(&o), "status 1\n");
    assert!(
        stderr(&o).contains("website URL \"\" is empty"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert_eq!(keys(&bm, BUCKET).len(), 13);
}

fn reset(bm: &Host, args: &[&str]) -> std::process::Output {
    bm.cmd(adt_bin())
        .args(["--adt-machine=build", "datastore", "reset"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn operator_reset_refuses_other_buckets_and_dry_runs() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    server.make_bucket("www-example-com-daily");
    let bm = build_host(&server);
    seed(&bm, 3);
    store(&bm, "www-example-com-daily")
        .put_bytes("backup.tar.gz", b"b")
        .unwrap();

    for (bucket, url, says) in [
        (
            "www-example-com-daily",
            "www.example.com",
            "a backup bucket",
        ),
        ("wwwexacom-assets", "www.example.com", "an asset bucket"),
        (
            BUCKET,
            "www.exmaple.com",
            "this build's config bucket (from WEBSITEURL www.exmaple.com) is wwwexmcom-config",
        ),
        (BUCKET, "www.example..com", "empty label"),
    ] {
        let o = reset(&bm, &["--url", url, "--bucket", bucket]);
        assert_eq!(o.status.code(), Some(1), "{bucket} {url}");
        let e = stderr(&o);
        assert!(e.contains(says), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    assert_eq!(keys(&bm, BUCKET).len(), 16);
    assert_eq!(keys(&bm, "www-example-com-daily"), ["backup.tar.gz"]);

    let o = reset(&bm, &["--url", WEBSITE, "--bucket", BUCKET, "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("would delete: 's3://wwwexacom-config/credentials/shit'"),
        "{out}"
    );
    assert!(
        out.ends_with("16 object(s) would go from s3://wwwexacom-config\n"),
        "{out}"
    );
    assert_eq!(keys(&bm, BUCKET).len(), 16, "a dry run changes nothing");

    let o = reset(&bm, &["--url", WEBSITE, "--bucket", BUCKET]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Purging bucket wwwexacom-config. Please wait....\n"));
    assert!(keys(&bm, BUCKET).is_empty());
    let o = reset(&bm, &["--url", WEBSITE, "--bucket", BUCKET]);
    assert_eq!(stdout(&o), "s3://wwwexacom-config is already empty\n");
}

#[test]
fn the_2025_build_machine_resets_its_unique_bucket() {
    let server = S3Server::start();
    let bucket = "www-example-com-config-x9fk";
    server.make_bucket(bucket);
    server.make_bucket("www-example-com-config-old1");
    let bm = Host::new("build", server.port);
    // The 2025 build machine's own files: buildhome.dat, the active build, its environment.
    let rt = bm.home.join("runtimedata");
    std::fs::create_dir_all(rt.join("linode/acme1")).unwrap();
    std::fs::write(rt.join("ACTIVE_CLOUDHOST"), "linode\n").unwrap();
    std::fs::write(rt.join("ACTIVE_BUILD_IDENTIFIER"), "acme1\n").unwrap();
    std::fs::write(
        rt.join("linode/acme1/build_environment"),
        "WEBSITE_URL=\"www.example.com\"\nSERVER_USER=\"X9fKqwer\"\n",
    )
    .unwrap();
    let buildhome = bm.dir.path().join("buildhome.dat");
    std::fs::write(&buildhome, format!("{}\n", bm.home.display())).unwrap();
    let o = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            "build",
            "--home",
        ])
        .arg(&bm.home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    store(&bm, bucket)
        .put_bytes("webserverips/10.0.0.5", b"")
        .unwrap();
    store(&bm, "www-example-com-config-old1")
        .put_bytes("webserverips/10.0.0.1", b"")
        .unwrap();
    server.make_bucket("www-example-com-firewall-auth-laptop-ips");
    store(&bm, "www-example-com-firewall-auth-laptop-ips")
        .put_bytes(
            "firewall-laptop-ips/ipaddresses.dat.10.0.0.3",
            b"198.51.100.7\n",
        )
        .unwrap();
    // As the build scripts run it: descriptor 3 the operator's terminal, 4 the build log.
    let (fd3, fd4) = (bm.dir.path().join("fd3"), bm.dir.path().join("fd4"));
    let o = bm
        .cmd("/bin/sh")
        .arg("-c")
        .arg(format!(
            "exec 3>{} 4>{}; {}",
            fd3.display(),
            fd4.display(),
            bm.path("initscripts/InitialiseUniqueConfigDatastore.sh")
                .display()
        ))
        .env("ADT_BUILDHOME_FILE", &buildhome)
        .env("S3CMD_CONFIG", bm.path(".s3cfg"))
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&fd4).unwrap(),
        "InitialiseUniqueConfigDatastore.sh: Creating a new configuration bucket for build (acme1)\n\
         InitialiseUniqueConfigDatastore.sh: New configuration bucket is located at: (s3://www-example-com-config-x9fk) for you\n"
    );
    assert_eq!(std::fs::read_to_string(&fd3).unwrap(), stdout(&o));
    assert_eq!(
        stdout(&o),
        "Creating a new configuration bucket for build (acme1)\n\
         New configuration bucket is located at: (s3://www-example-com-config-x9fk) for you\n",
        "{}",
        stderr(&o)
    );
    assert!(keys(&bm, bucket).is_empty());
    assert!(
        stderr(&o).contains("www-example-com-config-old1"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        keys(&bm, "www-example-com-config-old1"),
        ["webserverips/10.0.0.1"]
    );
}

/// A store without batch deletes (501 NotImplemented, `tests/support/badstore.py store501`):
/// the purge falls back to one request per key and still empties the bucket.
#[test]
fn a_store_without_batch_deletes_is_emptied_key_by_key() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events");
    let mut child = Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/badstore.py"))
        .args(["store501", "--log"])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let bm = Host::new("build", port);
    bm.install();
    let s = store(&bm, BUCKET);
    for i in 0..5 {
        s.put_bytes(&format!("webserverips/10.0.0.{i}"), b"")
            .unwrap();
    }
    let o = bm.shell(&format!(
        "WEBSITE_URL=www.example.com; DATASTORE_CHOICE=linode; . {}; echo ok",
        bm.path(PURGE).display()
    ));
    let left = s.list("", false).map(|l| l.objects.len());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(left.unwrap(), 0, "keys survived");
    assert!(stdout(&o).ends_with("ok\n"), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Purging bucket wwwexacom-config. Please wait....\n"));
    let events = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        events.lines().filter(|l| l.starts_with("req POST")).count(),
        1,
        "{events}"
    );
    assert_eq!(
        events
            .lines()
            .filter(|l| l.starts_with("req DELETE"))
            .count(),
        5,
        "{events}"
    );
}
