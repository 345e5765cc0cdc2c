//! A mixed fleet: machines still on the legacy scripts use Debian's s3cmd, migrated machines use
//! our launchers, all on one bucket of a real S3 server. Same keys, same bytes, both ways.

mod common;
use common::*;

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn s3cmd_ok(h: &Host, args: &[&str]) -> String {
    let o = h.s3cmd(args);
    assert!(o.status.success(), "s3cmd {args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn legacy_writes_we_read() {
    let server = S3Server::start();
    let ws = Host::new("webserver", server.port);
    ws.install();
    s3cmd_ok(&ws, &["mb", &format!("s3://{BUCKET}")]);
    let bin = bytes(1 << 20, 7);
    let src = ws.dir.path().join("payload.bin");
    std::fs::write(&src, &bin).unwrap();
    s3cmd_ok(
        &ws,
        &[
            "put",
            src.to_str().unwrap(),
            &format!("s3://{BUCKET}/blobs/payload.bin"),
        ],
    );
    let creds = ws.dir.path().join("shit");
    std::fs::write(&creds, "db1\npässwörd\nu1\n").unwrap();
    s3cmd_ok(
        &ws,
        &[
            "put",
            creds.to_str().unwrap(),
            &format!("s3://{BUCKET}/credentials/shit"),
        ],
    );
    let marker = ws.dir.path().join("10.0.0.7");
    std::fs::write(&marker, "").unwrap();
    s3cmd_ok(
        &ws,
        &[
            "put",
            marker.to_str().unwrap(),
            &format!("s3://{BUCKET}/webserverips/"),
        ],
    );
    s3cmd_ok(
        &ws,
        &[
            "put",
            marker.to_str().unwrap(),
            &format!("s3://{BUCKET}/webserverips/10.0.0.70"),
        ],
    );

    let dest = ws.dir.path().join("copy.bin");
    let g = ws.exec(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["blobs/payload.bin", dest.to_str().unwrap()],
    );
    assert!(g.status.success(), "{}", stderr(&g));
    assert_eq!(std::fs::read(&dest).unwrap(), bin);
    assert_eq!(std::fs::read(ws.tmp.join("payload.bin")).unwrap(), bin);

    let l = ws.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(stdout(&l), "10.0.0.7\n10.0.0.70\n");
    // The names s3cmd itself lists, post-processed as the legacy List did.
    let raw = s3cmd_ok(&ws, &["ls", &format!("s3://{BUCKET}/webserverips/")]);
    let legacy: String = raw
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .filter(|s| !s.is_empty())
        .map(|s| format!("{s}\n"))
        .collect();
    assert_eq!(stdout(&l), legacy);

    let pw = ws.exec(
        &format!("{W}GetDBCredential.sh"),
        &["credentials/shit", "2"],
    );
    assert_eq!(stdout(&pw), "pässwörd\n");
    let c = ws.exec(
        &format!("{W}CheckConfigDatastore.sh"),
        &["webserverips/10.0.0.7"],
    );
    assert_eq!(stdout(&c), "1\n");

    s3cmd_ok(
        &ws,
        &["del", &format!("s3://{BUCKET}/webserverips/10.0.0.7")],
    );
    s3cmd_ok(
        &ws,
        &["del", &format!("s3://{BUCKET}/webserverips/10.0.0.70")],
    );
    let c = ws.exec(&format!("{W}CheckConfigDatastore.sh"), &["webserverips/"]);
    assert_eq!(stdout(&c), "0\n");
}

#[test]
fn we_write_legacy_reads() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let db = Host::new("database", server.port);
    db.install();
    let bin = bytes(3 << 20, 3);
    let src = db.dir.path().join("dump.bin");
    std::fs::write(&src, &bin).unwrap();
    let p = db.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &[src.to_str().unwrap(), "backups/"],
    );
    assert!(p.status.success(), "{}", stderr(&p));
    assert!(stdout(&p).starts_with(&format!(
        "upload: '{}' -> 's3://{BUCKET}/backups/dump.bin' (3145728 bytes in ",
        src.display()
    )));
    let m = db.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &["databaseip/10.0.0.9", "databaseip/10.0.0.9"],
    );
    assert!(m.status.success());
    // A directory, recursively.
    let tree = db.dir.path().join("accounts");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    std::fs::write(tree.join("a/b/key.json"), "{\"k\":1}").unwrap();
    std::fs::write(tree.join("top.txt"), "top").unwrap();
    let r = db.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &[tree.to_str().unwrap(), "ssl/", "recursive"],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    // StoreDatabaseCredentials on a database machine uploads credentials/shit.
    let s = db.exec(
        &format!("{U}StoreDatabaseCredentials.sh"),
        &["appdb", "pw-123", "appuser"],
    );
    assert!(s.status.success(), "{}", stderr(&s));

    let listing = s3cmd_ok(&db, &["ls", "-r", &format!("s3://{BUCKET}/")]);
    let mut keys: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit("  ").next().unwrap())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "s3://wwwexacom-config/backups/dump.bin",
            "s3://wwwexacom-config/credentials/shit",
            "s3://wwwexacom-config/databaseip/10.0.0.9",
            "s3://wwwexacom-config/ssl/accounts/a/b/key.json",
            "s3://wwwexacom-config/ssl/accounts/top.txt",
        ]
    );
    let back = db.dir.path().join("back.bin");
    s3cmd_ok(
        &db,
        &[
            "--force",
            "get",
            &format!("s3://{BUCKET}/backups/dump.bin"),
            back.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&back).unwrap(), bin);
    let c = db.dir.path().join("creds");
    s3cmd_ok(
        &db,
        &[
            "--force",
            "get",
            &format!("s3://{BUCKET}/credentials/shit"),
            c.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&c).unwrap(),
        "appdb\npw-123\nappuser\n"
    );
    let k = db.dir.path().join("k.json");
    s3cmd_ok(
        &db,
        &[
            "--force",
            "get",
            &format!("s3://{BUCKET}/ssl/accounts/a/b/key.json"),
            k.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&k).unwrap(), "{\"k\":1}");
    let marker = s3cmd_ok(&db, &["ls", &format!("s3://{BUCKET}/databaseip/10.0.0.9")]);
    assert!(
        marker.contains("           0  s3://wwwexacom-config/databaseip/10.0.0.9"),
        "{marker}"
    );

    // The secrets the database keeps locally are 0600.
    use std::os::unix::fs::PermissionsExt;
    for f in ["credentials/shit", ".ssh/shit"] {
        let m = std::fs::metadata(db.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600, "{f}");
    }
    // Recursive Get brings the tree back (rsync-like naming, as s3cmd does).
    let dest = db.dir.path().join("lego");
    std::fs::create_dir_all(&dest).unwrap();
    let g = db.exec(
        &format!("{W}GetFromConfigDatastore.sh"),
        &["ssl/accounts", dest.to_str().unwrap(), "recursive"],
    );
    assert!(g.status.success(), "{}", stderr(&g));
    assert_eq!(
        std::fs::read_to_string(dest.join("accounts/a/b/key.json")).unwrap(),
        "{\"k\":1}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("accounts/top.txt")).unwrap(),
        "top"
    );

    // Delete with a glob removes exactly the matches.
    let d = db.exec(
        &format!("{W}DeleteFromConfigDatastore.sh"),
        &["ssl/accounts/*"],
    );
    assert!(d.status.success(), "{}", stderr(&d));
    assert_eq!(
        stdout(&d),
        format!("delete: 's3://{BUCKET}/ssl/accounts/top.txt'\n")
    );
    let d = db.exec(
        &format!("{W}DeleteFromConfigDatastore.sh"),
        &["ssl/*/key.json"],
    );
    assert_eq!(
        stdout(&d),
        format!("delete: 's3://{BUCKET}/ssl/accounts/a/b/key.json'\n")
    );
    let after = s3cmd_ok(&db, &["ls", "-r", &format!("s3://{BUCKET}/ssl/")]);
    assert_eq!(after, "");
}

#[test]
fn build_machine_put_takes_the_url_first() {
    let server = S3Server::start();
    let bm = Host::new("build", server.port);
    server.make_bucket("shomycouk-config");
    let out = bm
        .cmd(adt_bin())
        .args([
            "--adt-machine=build",
            "PutToConfigDatastore",
            "shop.my-site.co.uk",
            "INSTALLEDSUCCESSFULLY",
            "INSTALLEDSUCCESSFULLY",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let ls = s3cmd_ok(&bm, &["ls", "s3://shomycouk-config/"]);
    assert!(
        ls.ends_with("           0  s3://shomycouk-config/INSTALLEDSUCCESSFULLY\n"),
        "{ls}"
    );
}
