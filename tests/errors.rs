//! Every failure gives one clear line on stderr, the stdout and exit status a legacy caller
//! reads as "absent"/"failed", and loses nothing: a broken download never replaces a good file.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn one_line(o: &std::process::Output, needle: &str) {
    let e = stderr(o);
    assert_eq!(e.lines().count(), 1, "want one stderr line, got:\n{e}");
    assert!(e.contains(needle), "stderr {e:?} lacks {needle:?}");
}

fn ws_with_bucket() -> (S3Server, Host) {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("webserver", server.port);
    h.install();
    (server, h)
}

#[test]
fn missing_settings_file() {
    let (_s, h) = ws_with_bucket();
    std::fs::remove_file(h.path(".ssh/webserver_configuration_settings.dat")).unwrap();
    let v = h.exec(&format!("{U}ExtractConfigValue.sh"), &["SSHPORT"]);
    assert_eq!((stdout(&v).as_str(), v.status.code()), ("", Some(0)));
    one_line(&v, "webserver_configuration_settings.dat");
    let c = h.exec(
        &format!("{W}CheckConfigDatastore.sh"),
        &["INSTALLEDSUCCESSFULLY"],
    );
    assert_eq!((stdout(&c).as_str(), c.status.code()), ("0\n", Some(0)));
    one_line(&c, "cannot read settings file");
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!((stdout(&l).as_str(), l.status.code()), ("", Some(0)));
    let cv = h.exec(&format!("{U}CheckConfigValue.sh"), &["PRODUCTION:1"]);
    assert_eq!(stdout(&cv), "0\n");
}

#[test]
fn missing_website_url_key() {
    let (_s, h) = ws_with_bucket();
    std::fs::write(
        h.path(".ssh/webserver_configuration_settings.dat"),
        "SSHPORT:1035\n",
    )
    .unwrap();
    let c = h.exec(&format!("{W}CheckConfigDatastore.sh"), &["x"]);
    assert_eq!(stdout(&c), "0\n");
    one_line(&c, "WEBSITEURL is not set");
}

#[test]
fn missing_unreadable_or_malformed_s3cfg() {
    let (_s, h) = ws_with_bucket();
    std::fs::remove_file(h.path(".s3cfg")).unwrap();
    let c = h.exec(&format!("{W}CheckConfigDatastore.sh"), &["x"]);
    assert_eq!(stdout(&c), "0\n");
    one_line(&c, "cannot read s3cmd configuration");
    // Unreadable (a directory where the file should be: root reads any file, not this).
    std::fs::create_dir(h.path(".s3cfg")).unwrap();
    let l = h.exec(&format!("{W}ListFromConfigDatastore.sh"), &["x"]);
    assert_eq!((stdout(&l).as_str(), l.status.code()), ("", Some(0)));
    one_line(&l, "cannot read s3cmd configuration");
    std::fs::remove_dir(h.path(".s3cfg")).unwrap();
    std::fs::write(h.path(".s3cfg"), "[default]\naccess_key = A\n").unwrap();
    let p = h.exec(
        &format!("{W}GetDBCredential.sh"),
        &["credentials/shit", "1"],
    );
    assert_eq!(stdout(&p), "");
    assert!(
        stderr(&p).contains("access_key or secret_key is missing"),
        "{}",
        stderr(&p)
    );
    // The secret never appears in what we print.
    std::fs::write(h.path(".s3cfg"), "[default]\naccess_key = A\nsecret_key = TOPSECRET-XYZ\nhost_base = 127.0.0.1:1\nhost_bucket = 127.0.0.1:1\nuse_https = False\n").unwrap();
    let c = h
        .cmd(h.path(&format!("{W}CheckConfigDatastore.sh")))
        .arg("x")
        .env("RUST_LOG", "debug")
        .env("ADT_S3_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert!(!stderr(&c).contains("TOPSECRET"), "{}", stderr(&c));
}

#[test]
fn unreachable_endpoint_fails_fast_and_clearly() {
    let h = Host::new("database", free_port()); // nothing listens there
    h.install();
    let t = Instant::now();
    let c = h.exec(
        &format!("{W}CheckConfigDatastore.sh"),
        &["INSTALLEDSUCCESSFULLY"],
    );
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!((stdout(&c).as_str(), c.status.code()), ("0\n", Some(0)));
    one_line(&c, "datastore error");
    // The database's Put reports failure in its status; the webserver's never did.
    let p = h.exec(&format!("{W}PutToConfigDatastore.sh"), &["MARKER"]);
    assert_eq!((stdout(&p).as_str(), p.status.code()), ("", Some(1)));
    one_line(&p, "datastore error");
}

#[test]
fn missing_bucket() {
    let server = S3Server::start(); // no bucket made
    let h = Host::new("webserver", server.port);
    h.install();
    let c = h.exec(&format!("{W}CheckConfigDatastore.sh"), &["x"]);
    assert_eq!(stdout(&c), "0\n");
    one_line(&c, "bucket does not exist: s3://wwwexacom-config");
    let g = h.exec(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["scalingprofile/profile.cnf"],
    );
    assert_eq!(g.status.code(), Some(0));
    one_line(&g, "bucket does not exist");
}

#[test]
fn object_vanished_between_list_and_get() {
    let (_s, h) = ws_with_bucket();
    std::fs::write(
        h.tmp.join("profile.cnf"),
        "SCALING_MODE=static\nNO_WEBSERVERS=4\n",
    )
    .unwrap();
    let p = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &["profile.cnf", "scalingprofile/profile.cnf"],
    );
    assert!(p.status.success());
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["scalingprofile/*"],
    );
    assert_eq!(stdout(&l), "profile.cnf\n");
    let o = h.s3cmd(&["del", &format!("s3://{BUCKET}/scalingprofile/profile.cnf")]);
    assert!(o.status.success());
    let g = h.exec(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["scalingprofile/profile.cnf"],
    );
    assert_eq!((stdout(&g).as_str(), g.status.code()), ("", Some(0)));
    one_line(
        &g,
        "not found in datastore: s3://wwwexacom-config/scalingprofile/profile.cnf",
    );
    // The copy a caller already had is untouched.
    assert_eq!(
        std::fs::read_to_string(h.tmp.join("profile.cnf")).unwrap(),
        "SCALING_MODE=static\nNO_WEBSERVERS=4\n"
    );
}

#[test]
fn unsafe_keys_are_refused_and_nothing_is_written() {
    let (s, h) = ws_with_bucket();
    for (script, args) in [
        ("PutToConfigDatastore.sh", vec!["x", "a/../../escape"]),
        ("PutToConfigDatastore.sh", vec!["x", "with space"]),
        ("GetFromConfigDatastore.sh", vec!["../etc/passwd"]),
        ("DeleteFromConfigDatastore.sh", vec!["a/../b"]),
    ] {
        let o = h.exec(&format!("{W}{script}"), &args);
        one_line(&o, "usage error");
    }
    // Nothing reached the server: the bucket is empty and no other bucket appeared.
    let store = adt::datastore::open(
        &adt::datastore::Selection::S3 {
            s3cfg: h.path(".s3cfg"),
        },
        BUCKET,
    )
    .unwrap();
    assert_eq!(store.list("", false).unwrap(), Default::default());
    let buckets = h.s3cmd(&["ls"]);
    assert!(buckets.status.success(), "{}", stderr(&buckets));
    assert_eq!(stdout(&buckets).lines().count(), 1, "{}", stdout(&buckets));
    // Where the storage is a directory (s3s-fs), nothing was written inside or outside it.
    if s.kind == S3Impl::S3sFs {
        let entries: Vec<_> = std::fs::read_dir(s.root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from(BUCKET)]);
        assert_eq!(
            std::fs::read_dir(s.root.path().join(BUCKET))
                .unwrap()
                .count(),
            0
        );
    }
}

fn big_object(h: &Host) -> Vec<u8> {
    let data: Vec<u8> = (0..6_000_000u32).map(|i| (i % 251) as u8).collect();
    let f = h.dir.path().join("big.bin");
    std::fs::write(&f, &data).unwrap();
    let p = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &[f.to_str().unwrap(), "blobs/big.bin"],
    );
    assert!(p.status.success(), "{}", stderr(&p));
    data
}

#[test]
fn server_stopped_in_the_middle_of_a_get_keeps_the_old_file() {
    let (s, h) = ws_with_bucket();
    big_object(&h);
    let dest = h.dir.path().join("big.bin.copy");
    std::fs::write(&dest, b"the good old copy").unwrap();
    std::fs::write(h.tmp.join("big.bin"), b"old tmp copy").unwrap();
    // From now on the client reaches the server through a proxy that dies 1 MB into a transfer.
    let proxy = FaultProxy::start(s.port, 1_000_000, 1, true);
    h.write_s3cfg(proxy.port);
    let g = h.exec(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["blobs/big.bin", dest.to_str().unwrap()],
    );
    assert_eq!(g.status.code(), Some(0), "legacy Get exits 0");
    one_line(&g, "datastore error");
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(std::fs::read(&dest).unwrap(), b"the good old copy");
    assert_eq!(
        std::fs::read(h.tmp.join("big.bin")).unwrap(),
        b"old tmp copy"
    );
    // No half-written temporary file is left behind.
    for dir in [h.tmp.as_path(), h.dir.path()] {
        for e in std::fs::read_dir(dir).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!n.contains("adt-tmp"), "leftover {n}");
        }
    }
}

#[test]
fn a_transfer_broken_once_is_retried() {
    let (s, h) = ws_with_bucket();
    let data = big_object(&h);
    let proxy = FaultProxy::start(s.port, 500_000, 1, false);
    h.write_s3cfg(proxy.port);
    let dest = h.dir.path().join("copy.bin");
    let g = h.exec(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["blobs/big.bin", dest.to_str().unwrap()],
    );
    assert_eq!(g.status.code(), Some(0), "{}", stderr(&g));
    assert_eq!(stderr(&g), "");
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(std::fs::read(h.tmp.join("big.bin")).unwrap(), data);
}

#[test]
fn db_credential_is_private_and_survives_an_outage() {
    let (s, h) = ws_with_bucket();
    std::fs::write(h.path("shit"), "n\np\nu\n").unwrap();
    let p = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &[h.path("shit").to_str().unwrap(), "credentials/shit"],
    );
    assert!(p.status.success());
    let one = h.exec(
        &format!("{W}GetDBCredential.sh"),
        &["credentials/shit", "3"],
    );
    assert_eq!(stdout(&one), "u\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(h.tmp.join("shit"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    drop(s); // the store goes away
    let again = h.exec(
        &format!("{W}GetDBCredential.sh"),
        &["credentials/shit", "2"],
    );
    assert_eq!(
        stdout(&again),
        "p\n",
        "the last good copy is read, as the legacy did"
    );
    one_line(&again, "datastore error");
}
