//! The database engine (`src/database`) against real servers: a consistent dump, framed and
//! scrubbed as legacy does it, archived and split, then restored the way the legacy restore reads
//! it (join the parts, untar, placeholders back, import into a fresh database), table checksums
//! compared. (The faults are in `database_faults.rs`.)

mod common;
use adt::database::{self, archive, dump, scrub::Scrubber, Connection, Engine};
use common::db::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const IPMASK: &str = "127.0.%.%";

fn conn(s: &DbServer, db: &str) -> Connection {
    Connection {
        engine: match s.kind {
            DbKind::Maria => Engine::MySql,
            DbKind::Postgres => Engine::Postgres,
        },
        host: "127.0.0.1".into(),
        port: s.port.to_string(),
        user: APP_USER.into(),
        password: APP_PASSWORD.into(),
        name: db.into(),
    }
}

/// A table whose row carries what the scrub rewrites: a link, the user, the IP mask.
fn add_options(s: &DbServer) {
    let sql = match s.kind {
        DbKind::Maria => format!(
            "CREATE TABLE wp_options (id INT PRIMARY KEY, v TEXT);\n\
             INSERT INTO wp_options VALUES (1, 'http://old.example.com/ {APP_USER} {IPMASK}');\n"
        ),
        DbKind::Postgres => format!(
            "SET ROLE {APP_USER};\nCREATE TABLE wp_options (id INT PRIMARY KEY, v TEXT);\n\
             INSERT INTO wp_options VALUES (1, 'http://old.example.com/ {APP_USER} {IPMASK}');\n"
        ),
    };
    s.sql(APP_DB, &sql);
}

fn private_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// The legacy restore of a database backup: join `<p>/<name>-db-??`, untar, tokens back, import
/// into `db` (a fresh database).
fn restore(s: &DbServer, parts: &[PathBuf], work: &Path, db: &str) {
    let joined = work.join("joined.tar.gz");
    archive::join(parts, &joined).unwrap();
    let out = work.join("installDB");
    archive::untar(&joined, &out).unwrap();
    let sql = out.join(archive::MEMBER);
    let branded = out.join("exampleDB.sql");
    Scrubber::for_restore(APP_USER, IPMASK, s.kind == DbKind::Maria)
        .file(&sql, &branded)
        .unwrap();
    s.create_app_database(db);
    database::import::import(&conn(s, db), work, &branded).unwrap();
}

fn backup_and_restore(kind: DbKind) {
    let s = DbServer::start(kind);
    s.fill(APP_DB, 5, 1200);
    add_options(&s);
    let c = conn(&s, APP_DB);
    let work = private_dir();
    assert_eq!(database::count_tables(&c, work.path()).unwrap(), 6);

    let sql = work.path().join(archive::MEMBER);
    let scrub = Scrubber::for_backup(APP_USER, IPMASK, kind == DbKind::Maria);
    let d = dump::dump(&c, work.path(), &sql, scrub).unwrap();
    assert!(d.raw_bytes > 100_000, "{d:?}");
    let text = std::fs::read_to_string(&sql).unwrap();
    let mode = std::fs::metadata(&sql).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Legacy framing.
    match kind {
        DbKind::Maria => {
            assert!(text.starts_with(dump::MYSQL_HEADER), "{}", &text[..200]);
            assert!(text.ends_with(dump::MYSQL_SENTINEL));
        }
        DbKind::Postgres => assert!(text.ends_with(dump::POSTGRES_SENTINEL)),
    }
    // The scrub: no user, no mask, no plain links; tokens in their place.
    assert!(!text.contains(APP_USER));
    assert!(!text.contains(IPMASK));
    assert!(!text.contains("http://"));
    assert!(text.contains("https://old.example.com/ XXXXXXXXXX YYYYYYYYYY"));
    // No secret file left behind.
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from(archive::MEMBER)]);

    let tarball = work.path().join("example-DB-backup.tar.gz");
    archive::tar_gz(&sql, &tarball).unwrap();
    archive::verify(&tarball).unwrap();
    // Small parts, so the join has work to do.
    let parts = archive::split(
        &tarball,
        &work.path().join("daily"),
        "example-db-",
        64 * 1024,
    )
    .unwrap();
    assert!(parts.len() >= 2, "{parts:?}");

    restore(&s, &parts, work.path(), "nrestoredn");
    let mut before = s.table_checksums(APP_DB);
    let mut after = s.table_checksums("nrestoredn");
    assert!(
        after.remove("zzzz").is_some(),
        "the sentinel table is restored"
    );
    let opts = s.sql("nrestoredn", "SELECT v FROM wp_options;");
    assert_eq!(
        opts.trim(),
        format!("https://old.example.com/ {APP_USER} {IPMASK}")
    );
    before.remove("wp_options");
    after.remove("wp_options");
    assert_eq!(before.len(), 5);
    assert_eq!(before, after);
}

#[test]
fn mariadb_backup_restores_table_for_table() {
    backup_and_restore(DbKind::Maria);
}

#[test]
fn postgres_backup_restores_table_for_table() {
    backup_and_restore(DbKind::Postgres);
}
