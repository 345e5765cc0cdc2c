//! Dump faults against real servers: a dump cut short, the dump tool killed, the server killed
//! midway, the server gone: the last good dump is never replaced and no secret file is left.
//! Also: the password never reaches the dump tool's argv or environment. (Its own test binary:
//! these tests put stand-ins on PATH.)

mod common;
use adt::database::{archive, dump, scrub::Scrubber, Connection, Engine};
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

fn private_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// A directory with a stand-in for the dump tool that logs its argv and environment, then runs
/// the real tool through `body` (a shell snippet; `"$REAL" "$@"` is the real dump).
fn wrapped_dump_tool(dir: &Path, tool: &str, body: &str) -> PathBuf {
    let real = ["/usr/bin/", "/usr/local/bin/"]
        .iter()
        .map(|d| PathBuf::from(format!("{d}{tool}")))
        .find(|p| p.is_file())
        .unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("argv.log");
    let script = format!(
        "#!/bin/sh\nREAL={}\necho \"$@\" >> {}\nenv >> {}\n{body}\n",
        real.display(),
        log.display(),
        log.display()
    );
    let p = bin.join(tool);
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn with_path<T>(bin: &Path, f: impl FnOnce() -> T) -> T {
    // The tests of this file run in threads of one process: PATH is changed only under this
    // lock, and no test here runs a dump outside it.
    static PATH_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = PATH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut new = std::ffi::OsString::from(bin);
    new.push(":");
    new.push(&old);
    std::env::set_var("PATH", &new);
    let r = f();
    std::env::set_var("PATH", old);
    r
}

fn dump_tool(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Maria => "mariadb-dump",
        DbKind::Postgres => "pg_dump",
    }
}

fn faults(kind: DbKind) {
    let mut s = DbServer::start(kind);
    s.fill(APP_DB, 5, 3000);
    let c = conn(&s, APP_DB);
    let work = private_dir();
    let sql = work.path().join(archive::MEMBER);
    let scrub = || Scrubber::for_backup(APP_USER, IPMASK, kind == DbKind::Maria);

    // A good dump first, through a stand-in that records its argv: the password is not there.
    let plain_tools = tempfile::tempdir().unwrap();
    let plain = wrapped_dump_tool(plain_tools.path(), dump_tool(kind), "exec \"$REAL\" \"$@\"");
    with_path(&plain, || dump::dump(&c, work.path(), &sql, scrub())).unwrap();
    let log = std::fs::read_to_string(plain_tools.path().join("argv.log")).unwrap();
    assert!(
        !log.contains(APP_PASSWORD),
        "the password reached argv or env: {log}"
    );
    assert!(log.contains("--single-transaction") || kind == DbKind::Postgres);
    let good = std::fs::read(&sql).unwrap();

    // A dump whose output is cut short but which exits 0: the end marker is missing.
    let tools = tempfile::tempdir().unwrap();
    let bin = wrapped_dump_tool(
        tools.path(),
        dump_tool(kind),
        "\"$REAL\" \"$@\" | head -c 30000\nexit 0",
    );
    let e = with_path(&bin, || dump::dump(&c, work.path(), &sql, scrub())).unwrap_err();
    assert!(e.to_string().contains("end marker"), "{e}");
    assert_eq!(
        std::fs::read(&sql).unwrap(),
        good,
        "the last good dump was touched"
    );

    // The dump tool killed midway.
    let tools = tempfile::tempdir().unwrap();
    let bin = wrapped_dump_tool(
        tools.path(),
        dump_tool(kind),
        "\"$REAL\" \"$@\" | head -c 30000\nkill -9 $$",
    );
    let e = with_path(&bin, || dump::dump(&c, work.path(), &sql, scrub())).unwrap_err();
    assert!(e.to_string().contains("killed"), "{e}");
    assert_eq!(std::fs::read(&sql).unwrap(), good);
    // The same straight into an archive: the last good archive stays, no gzip left running.
    let tarball = work.path().join("example-DB-backup.tar.gz");
    with_path(&plain, || {
        dump::dump_archive(&c, work.path(), &tarball, scrub())
    })
    .unwrap();
    archive::verify(&tarball).unwrap();
    let good_archive = std::fs::read(&tarball).unwrap();
    let e = with_path(&bin, || {
        dump::dump_archive(&c, work.path(), &tarball, scrub())
    })
    .unwrap_err();
    assert!(e.to_string().contains("killed"), "{e}");
    assert_eq!(std::fs::read(&tarball).unwrap(), good_archive);
    std::fs::remove_file(&tarball).unwrap();

    // The server dies midway: the tool's failure is ours. PostgreSQL's backend serving the dump
    // is a child of the postmaster and outlives it (it could finish the dump when the machine
    // was slow to notice), so the server's children die with it.
    let tools = tempfile::tempdir().unwrap();
    let pid = s.pid();
    let bin = wrapped_dump_tool(
        tools.path(),
        dump_tool(kind),
        &format!(
            "\"$REAL\" \"$@\" | (head -c 20000; kill -9 {pid} $(pgrep -P {pid}); cat)\nexit 0"
        ),
    );
    let e = with_path(&bin, || dump::dump(&c, work.path(), &sql, scrub())).unwrap_err();
    assert!(e.to_string().contains("end marker"), "{e}");
    assert_eq!(std::fs::read(&sql).unwrap(), good);
    s.kill();

    // Server gone: the dump fails at once, file untouched, no temporary files left.
    let e = with_path(&plain, || dump::dump(&c, work.path(), &sql, scrub())).unwrap_err();
    assert!(e.to_string().contains("failed"), "{e}");
    assert_eq!(std::fs::read(&sql).unwrap(), good);
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from(archive::MEMBER)]);
}

#[test]
fn mariadb_dump_faults_never_replace_the_last_good_dump() {
    faults(DbKind::Maria);
}

#[test]
fn postgres_dump_faults_never_replace_the_last_good_dump() {
    faults(DbKind::Postgres);
}
