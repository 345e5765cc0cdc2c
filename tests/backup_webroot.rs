//! The webroot backup end to end, through the launchers a legacy caller uses (`/bin/sh
//! cron/BackupFromCron.sh 'DAILY' acme1`), against a real S3 server (s3s-fs) and real git
//! repositories (the `local` provider: bare repositories over file://); then restored the way
//! the legacy restore path reads backups (§1.10: clone the period's repository, or Get and untar
//! the datastore copy; placeholders put back) into a fresh webroot and compared file by file.
//! And the faults: a push the remote refuses, the store down when the lock is taken, an upload
//! cut midway: the last good backup survives each, byte for byte.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DB_NAME: &str = "appdb";
const DB_PASS: &str = "S3cr&t/p[w\\";
const DB_USER: &str = "appuser";
const DB_HOST: &str = "10.0.0.9";
const REPO: &str = "www-example-webroot-sourcecode-daily-acme1";

struct Fleet {
    server: S3Server,
    host: Host,
    webroot: PathBuf,
    git_root: PathBuf,
    mail_log: PathBuf,
}

fn put(h: &Host, key: &str, content: &str) {
    let f = h.dir.path().join("seed");
    std::fs::write(&f, content).unwrap();
    let o = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &[f.to_str().unwrap(), key],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A webroot of about 3000 files: PHP with the database values in it, binary files holding the
/// port's digits next to NUL bytes, empty files, a top-level dot file, a symlink, a script.
fn make_webroot(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("index.php"),
        "<?php require 'wp-blog-header.php';\n",
    )
    .unwrap();
    std::fs::write(root.join(".htaccess"), "RewriteEngine On\n").unwrap();
    std::fs::write(
        root.join("wp-config.php"),
        format!(
            "<?php define('DB_NAME','{DB_NAME}'); define('DB_USER','{DB_USER}');\n\
             define('DB_PASSWORD','{DB_PASS}'); define('DB_HOST','{DB_HOST}:2035');\n"
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink("index.php", root.join("home.php")).unwrap();
    std::fs::write(root.join("cron.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(root.join("cron.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    for d in 0..30 {
        let dir = root.join(format!("wp-content/plugins/p{d:02}/inc"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            let n = d * 100 + f;
            match n % 3 {
                0 => std::fs::write(
                    dir.join(format!("f{f:03}.php")),
                    format!("<?php // file {n}\n$u = '{DB_USER}'; $port = 2035; $x = {n};\n")
                        .repeat(1 + n % 7),
                )
                .unwrap(),
                1 => {
                    let mut b: Vec<u8> = (0..(64 + n * 13 % 4000))
                        .map(|i| (i * 31 + n) as u8)
                        .collect();
                    b.extend_from_slice(b"\x002035\x00appuser");
                    std::fs::write(dir.join(format!("img{f:03}.png")), b).unwrap()
                }
                _ => std::fs::write(dir.join(format!("e{f:03}.txt")), "").unwrap(),
            }
        }
    }
}

fn fleet() -> Fleet {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let host = Host::new("webserver", server.port);
    host.install();
    let git_root = host.dir.path().join("git");
    let webroot = host.dir.path().join("www/html");
    host.add_settings(&format!(
        "APPLICATIONREPOSITORYPROVIDER:local\nAPPLICATIONREPOSITORYOWNER:{}\n\
         APPLICATIONREPOSITORYUSERNAME:acmeuser\nAPPLICATIONREPOSITORYPASSWORD:gitpass\n\
         SUPERSAFEWEBROOT:1\nBUILDIDENTIFIER:acme1\nDATABASEINSTALLATIONTYPE:MySQL\nAPPLICATION:wordpress\n",
        git_root.display()
    ));
    put(
        &host,
        "credentials/shit",
        &format!("{DB_NAME}\n{DB_PASS}\n{DB_USER}\n"),
    );
    put(&host, &format!("databaseip/{DB_HOST}"), "");
    std::fs::write(host.path("runtime/WEBSERVER_READY"), "").unwrap();
    make_webroot(&webroot);
    // The machine's mailer: legacy's SendEmail.sh, here one line per mail in a file.
    let mail_log = host.dir.path().join("mails");
    std::fs::create_dir_all(host.path("providerscripts/email")).unwrap();
    std::fs::write(
        host.path("providerscripts/email/SendEmail.sh"),
        format!("#!/bin/sh\necho \"$1|$2\" >> '{}'\n", mail_log.display()),
    )
    .unwrap();
    Fleet {
        server,
        host,
        webroot,
        git_root,
        mail_log,
    }
}

impl Fleet {
    fn cmd(&self, script: &str) -> Command {
        let mut c = self.host.cmd("/bin/sh");
        c.arg(self.host.path(script))
            .env("ADT_WEBROOT", &self.webroot)
            .env("ADT_BACKUP_JITTER_SECS", "0")
            .env("ADT_BACKUP_LOCK_SETTLE_MS", "0")
            .env("ADT_S3_ATTEMPTS", "2");
        c
    }

    fn cron(&self, period: &str) -> Output {
        self.cmd("cron/BackupFromCron.sh")
            .args([period, "acme1"])
            .output()
            .unwrap()
    }

    fn remote(&self) -> PathBuf {
        self.git_root.join(format!("{REPO}.git"))
    }

    fn remote_head(&self) -> String {
        let o = Command::new("git")
            .arg("--git-dir")
            .arg(self.remote())
            .args(["rev-parse", "master"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.server.root.path().join(bucket).join(key)).ok()
    }

    fn mails(&self) -> String {
        std::fs::read_to_string(&self.mail_log).unwrap_or_default()
    }
}

/// A tree as (relative path → content, or `-> target` for a symlink, with the executable bit).
fn snapshot(root: &Path) -> BTreeMap<String, (Vec<u8>, bool)> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, bool)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, (format!("-> {}", t.display()).into_bytes(), false));
            } else if md.is_dir() {
                if rel != ".git" {
                    go(root, &p, out);
                }
            } else {
                out.insert(
                    rel,
                    (
                        std::fs::read(&p).unwrap(),
                        md.permissions().mode() & 0o100 != 0,
                    ),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    go(root, root, &mut out);
    out
}

/// Legacy's restore step (PerformPostProcessingByApplication): the placeholders back, literally.
fn put_values_back(root: &Path) {
    let pairs = [
        ("XXXUSERNAMEXXX", DB_USER),
        ("XXXPASSWORDXXX", DB_PASS),
        ("XXXDATABASEXXX", DB_NAME),
        ("XXXDBPORTXXX", "2035"),
        ("XXXDBHOSTXXX", DB_HOST),
    ];
    for (rel, _) in snapshot(root) {
        let p = root.join(&rel);
        if std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink()
        {
            continue;
        }
        let mut s = std::fs::read(&p).unwrap();
        for (t, v) in pairs {
            let text = String::from_utf8_lossy(&s);
            if text.contains(t) {
                s = text.replace(t, v).into_bytes();
            }
        }
        std::fs::write(&p, s).unwrap();
    }
}

/// Restore from the period's repository: clone, remove `.git`, values back.
fn restore_from_git(f: &Fleet, dest: &Path) {
    let o = Command::new("git")
        .args(["clone", "-q", "--branch", "master"])
        .arg(format!("file://{}", f.remote().display()))
        .arg(dest)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(dest.join(".git")).unwrap();
    put_values_back(dest);
}

/// Restore from the datastore copy: the object into a directory, untar (members land under
/// `tmp/backup/`), values back.
fn restore_from_datastore(f: &Fleet, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    // The object as the S3 server stores it (what a Get returns).
    let bytes = f
        .object("www-example-com-daily", "applicationsourcecode.tar.gz")
        .expect("the datastore copy");
    std::fs::write(dir.join("a.tar.gz"), bytes).unwrap();
    let o = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-xzf")
        .arg(dir.join("a.tar.gz"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let root = dir.join("tmp/backup");
    put_values_back(&root);
    root
}

fn assert_same(a: &Path, b: &Path) {
    let (x, y) = (snapshot(a), snapshot(b));
    assert_eq!(x.len(), y.len(), "file counts differ");
    for (k, v) in &x {
        assert_eq!(Some(v), y.get(k), "{k} differs");
    }
}

fn grep_tree(root: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p);
            } else if md.is_file() {
                let b = std::fs::read(&p).unwrap_or_default();
                if b.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}

#[test]
fn a_webroot_backup_restores_through_the_legacy_contract() {
    let f = fleet();
    // 16 MiB of incompressible uploads, so the archive spans several 5 MiB multipart parts.
    let up = f.webroot.join("wp-content/uploads/2025");
    std::fs::create_dir_all(&up).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..16 {
        let b: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(up.join(format!("photo{i:02}.jpg")), b).unwrap();
    }
    // Usage as legacy: one line on stdout.
    let o = f.cmd("providerscripts/git/Backup.sh").output().unwrap();
    assert_eq!(
        stdout(&o),
        "This script needs to be run with the <build periodicity> parameter and the <build identifier> parameter\n"
    );

    let o = f.cron("DAILY");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    // One commit, `Automated Backup`, on master.
    let log = Command::new("git")
        .arg("--git-dir")
        .arg(f.remote())
        .args(["log", "--format=%s", "master"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout), "Automated Backup\n");
    // The lock is gone, the live webroot untouched.
    assert!(f.object(BUCKET, "backuplock.file").is_none());
    assert!(!f.webroot.join("vendor.drupal").exists());

    let scratch = f.host.dir.path().join("restore");
    let from_git = scratch.join("git");
    restore_from_git(&f, &from_git);
    assert_same(&f.webroot, &from_git);
    let from_store = restore_from_datastore(&f, &scratch.join("s3"));
    assert_same(&f.webroot, &from_store);
    // The pushed tree holds no database password; nor does anything we keep on disk.
    let clone2 = scratch.join("raw");
    let o = Command::new("git")
        .args(["clone", "-q"])
        .arg(format!("file://{}", f.remote().display()))
        .arg(&clone2)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(grep_tree(&clone2, DB_PASS.as_bytes()).is_empty());
    assert!(!grep_tree(&clone2, b"XXXPASSWORDXXX").is_empty());
    assert!(grep_tree(&f.host.path(".adt-rs"), DB_PASS.as_bytes()).is_empty());
    assert!(grep_tree(&f.host.path(".adt-rs"), b"gitpass").is_empty());
    let first_archive = f
        .object("www-example-com-daily", "applicationsourcecode.tar.gz")
        .unwrap();

    // A second backup after a small change: changed, removed and new files all arrive.
    std::fs::write(
        f.webroot.join("wp-content/plugins/p03/inc/f000.php"),
        "<?php // changed appdb\n",
    )
    .unwrap();
    std::fs::remove_file(f.webroot.join("wp-content/plugins/p04/inc/img000.png")).unwrap();
    std::fs::write(f.webroot.join("new.txt"), "new").unwrap();
    // The unchanged stretches of the archive (at least S3's 5 MiB, which s3s-fs enforces too)
    // are copied in the store from the previous object, the rest is sent.
    let o = f
        .cmd("cron/BackupFromCron.sh")
        .args(["DAILY", "acme1"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let copied: u64 = err
        .lines()
        .find_map(|l| {
            l.split(" bytes copied in the store")
                .next()
                .filter(|_| l.contains("bytes copied in the store") && l.contains("safecopy:"))
                .and_then(|x| x.rsplit(' ').next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no safecopy line: {err}"));
    let size = f
        .object("www-example-com-daily", "applicationsourcecode.tar.gz")
        .unwrap()
        .len() as u64;
    assert!(
        copied > size / 2,
        "most of the archive copied in the store: {copied} of {size}"
    );
    let again = scratch.join("git2");
    restore_from_git(&f, &again);
    assert_same(&f.webroot, &again);
    assert_same(
        &f.webroot,
        &restore_from_datastore(&f, &scratch.join("s3b")),
    );
    assert_eq!(
        f.object(
            "www-example-com-daily",
            "applicationsourcecode.tar.gz.BACKUP"
        )
        .unwrap(),
        first_archive,
        "the previous archive is kept as .BACKUP"
    );
    assert!(f.mails().is_empty(), "no failure mail: {}", f.mails());

    // MANUAL: an archive with `tmp/backup/…` members, no repository.
    let o = f
        .cmd("providerscripts/git/Backup.sh")
        .args(["MANUAL", "acme1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let manual = f
        .host
        .tmp
        .join("backup_archive/backupwww-example-webroot-sourcecode-manual-acme1.tar.gz");
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(&manual)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().all(|l| l.starts_with("tmp/backup/")), "{list}");
    assert!(
        list.lines().any(|l| l == "tmp/backup/.htaccess"),
        "dot files included"
    );
    assert!(!f
        .git_root
        .join("www-example-webroot-sourcecode-manual-acme1.git")
        .exists());

    // Not ready: refused, nothing replaced.
    let head = f.remote_head();
    std::fs::remove_file(f.host.path("runtime/WEBSERVER_READY")).unwrap();
    std::fs::write(f.webroot.join("new.txt"), "half-synced").unwrap();
    let o = f.cron("DAILY");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("WEBSERVER_READY"), "{err}");
    assert_eq!(f.remote_head(), head);
}

#[test]
fn a_refused_push_keeps_the_last_good_backup_and_mails() {
    let f = fleet();
    let o = f.cron("DAILY");
    assert!(o.status.success(), "{}", stderr(&o));
    let head = f.remote_head();
    let hook = f.remote().join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(f.webroot.join("index.php"), "<?php // changed\n").unwrap();
    let o = f.cron("DAILY");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(REPO) && err.contains("previous backup is kept"),
        "{err}"
    );
    assert_eq!(
        f.remote_head(),
        head,
        "the remote still names the last good commit"
    );
    assert!(
        f.mails()
            .starts_with("POTENTIAL BACKUP INCONSISTENCY|Check "),
        "{}",
        f.mails()
    );
    assert!(
        std::fs::read_to_string(f.host.path("logs/BackupDeltas.log"))
            .unwrap()
            .contains(REPO)
    );
    assert!(
        f.object(BUCKET, "backuplock.file").is_none(),
        "lock released"
    );
}

#[test]
fn the_store_down_at_lock_time_means_no_backup_and_a_clear_error() {
    let mut f = fleet();
    let o = f.cron("DAILY");
    assert!(o.status.success(), "{}", stderr(&o));
    let head = f.remote_head();
    let archive = f.object("www-example-com-daily", "applicationsourcecode.tar.gz");
    std::fs::write(f.webroot.join("index.php"), "<?php // changed\n").unwrap();
    f.server.stop();
    let o = f.cron("DAILY");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("datastore"), "{err}");
    assert_eq!(f.remote_head(), head, "no unlocked run");
    assert_eq!(
        f.object("www-example-com-daily", "applicationsourcecode.tar.gz"),
        archive
    );
}

/// A TCP proxy that cuts any connection once the client has sent more than `limit` bytes on it
/// (an upload cut midway); smaller requests pass.
fn upload_cutting_proxy(upstream: u16, limit: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut client) = c else { continue };
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let mut back_c = client.try_clone().unwrap();
            let mut back_s = server.try_clone().unwrap();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut back_s, &mut back_c);
                let _ = back_c.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 16384];
                loop {
                    let n = match client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if sent + n > limit {
                        break;
                    }
                    if server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_cut_upload_keeps_the_stored_archive_byte_for_byte() {
    let f = fleet();
    let o = f.cron("DAILY");
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(f.webroot.join("index.php"), "<?php // second\n").unwrap();
    let o = f.cron("DAILY");
    assert!(o.status.success(), "{}", stderr(&o));
    let current = f
        .object("www-example-com-daily", "applicationsourcecode.tar.gz")
        .unwrap();
    let previous = f
        .object(
            "www-example-com-daily",
            "applicationsourcecode.tar.gz.BACKUP",
        )
        .unwrap();
    assert!(
        current.len() > 100_000,
        "the archive is large enough to cut"
    );
    let proxy = upload_cutting_proxy(f.server.port, 64 * 1024);
    f.host.write_s3cfg(proxy);
    std::fs::write(f.webroot.join("index.php"), "<?php // third\n").unwrap();
    let o = f.cron("DAILY");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("applicationsourcecode.tar.gz"), "{err}");
    assert_eq!(
        f.object("www-example-com-daily", "applicationsourcecode.tar.gz")
            .unwrap(),
        current
    );
    assert_eq!(
        f.object(
            "www-example-com-daily",
            "applicationsourcecode.tar.gz.BACKUP"
        )
        .unwrap(),
        previous
    );
    let left: Vec<_> = std::fs::read_dir(f.server.root.path().join("www-example-com-daily"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("adt-upload"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(f.mails().contains("POTENTIAL BACKUP INCONSISTENCY"));
}

#[test]
fn shutdown_backup_then_the_legacy_script_shuts_down() {
    let f = fleet();
    // The legacy script `adt layout install` keeps beside the launcher (here a stand-in that
    // records how it was called instead of shutting the machine down).
    let called = f.host.dir.path().join("legacy-called");
    std::fs::write(
        f.host
            .path("providerscripts/utilities/ShutdownThisWebserver.sh.adt-legacy"),
        format!("#!/bin/sh\necho \"args=$#\" > '{}'\n", called.display()),
    )
    .unwrap();
    let o = f
        .cmd("providerscripts/utilities/ShutdownThisWebserver.sh")
        .arg("backup")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&called).unwrap(), "args=0\n");
    let shutdown_repo = f
        .git_root
        .join("www-example-webroot-sourcecode-shutdown-acme1.git");
    let log = Command::new("git")
        .arg("--git-dir")
        .arg(&shutdown_repo)
        .args(["log", "--format=%s", "master"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout), "Automated Backup\n");
    assert!(f
        .object("www-example-com-shutdown", "applicationsourcecode.tar.gz")
        .is_some());
    // Without `backup`: no backup, straight to the legacy script.
    std::fs::remove_file(&called).unwrap();
    let o = f
        .cmd("providerscripts/utilities/ShutdownThisWebserver.sh")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&called).unwrap(), "args=0\n");
}

#[test]
fn a_held_lock_skips_the_same_period_and_makes_another_period_wait() {
    let f = fleet();
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    // Another webserver is making the DAILY backup: this one is not needed.
    put(
        &f.host,
        "backuplock.file",
        &format!("ws2/4242/boot-x {far} DAILY"),
    );
    let o = f.cron("DAILY");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "script already running\n");
    assert!(!f.remote().exists(), "no backup made");
    // The HOURLY run holds it: DAILY waits (here at most 2 s), then gives up with a clear line.
    put(
        &f.host,
        "backuplock.file",
        &format!("ws2/4242/boot-x {far} HOURLY"),
    );
    let t = std::time::Instant::now();
    let o = f
        .cmd("cron/BackupFromCron.sh")
        .args(["DAILY", "acme1"])
        .env("ADT_BACKUP_LOCK_WAIT_SECS", "2")
        .env("ADT_BACKUP_LOCK_POLL_SECS", "1")
        .output()
        .unwrap();
    assert!(
        t.elapsed() >= std::time::Duration::from_secs(1),
        "it waited"
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "script already running\n");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ws2/4242") && err.contains("HOURLY"), "{err}");
    // Released meanwhile: the waiting run takes it and backs up.
    let o = f
        .cmd("cron/BackupFromCron.sh")
        .args(["DAILY", "acme1"])
        .env("ADT_BACKUP_LOCK_WAIT_SECS", "30")
        .env("ADT_BACKUP_LOCK_POLL_SECS", "1")
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let d = f.host.exec(
        &format!("{W}DeleteFromConfigDatastore.sh"),
        &["backuplock.file"],
    );
    assert!(d.status.success());
    let o = o.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(f.remote().exists(), "backed up after the wait");
    assert!(f.object(BUCKET, "backuplock.file").is_none(), "released");
}

/// The 2025 generation (spec §1.11): `cron/BackupFromCron.sh 'DAILY'` (no build identifier)
/// under the `BACKUP_RUNNING` lock; one archive with relative names and the sentinel in the
/// period's bucket `<url->-daily`, no git; restored by Get and untar as 2025's
/// InstallApplication reads it.
#[test]
fn a_2025_webserver_backs_up_to_its_period_bucket() {
    const CONFIG_2025: &str = "www-example-com-config-x123";
    let server = S3Server::start();
    server.make_bucket(CONFIG_2025);
    let host = Host::new("webserver", server.port);
    std::fs::write(
        host.path("runtime/webserver_configuration_settings.dat"),
        "WEBSITEURL:www.example.com\nSERVERUSER:X1234X\nBUILDOS:ubuntu:24.04\nSSHPORT:1035\n\
         S3ACCESSKEY:AKADTTEST\nAPPLICATION:wordpress\nBUILDARCHIVECHOICE:daily\n\
         DIRECTORIESTOMOUNT:wp-content.uploads\n",
    )
    .unwrap();
    std::fs::write(
        host.path("runtime/buildstyles.dat"),
        "DATASTORETOOL:s3cmd\nNGINX:source\n",
    )
    .unwrap();
    let root = host.dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join(".s3cfg-1"),
        format!(
            "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nbucket_location = us-east-1\n\
             host_base = 127.0.0.1:{p}\nhost_bucket = 127.0.0.1:{p}\nuse_https = False\n\
             signature_v2 = False\n",
            p = server.port
        ),
    )
    .unwrap();
    let out = Command::new(adt_bin())
        .args(["layout", "install", "--home"])
        .arg(&host.home)
        .output()
        .unwrap();
    assert!(out.status.success(), "install: {}", stderr(&out));
    std::fs::write(host.path("runtime/WEBSERVER_READY"), "").unwrap();
    std::fs::write(
        host.path("runtime/application.dat"),
        "EXCLUDE_FROM_BACKUP:logs:tmp:cache:\n",
    )
    .unwrap();
    let mail_log = host.dir.path().join("mails");
    std::fs::create_dir_all(host.path("providerscripts/email")).unwrap();
    std::fs::write(
        host.path("providerscripts/email/SendEmail.sh"),
        format!("#!/bin/sh\necho \"$1|$2\" >> '{}'\n", mail_log.display()),
    )
    .unwrap();
    let webroot = host.dir.path().join("www/html");
    make_webroot(&webroot);
    std::fs::create_dir_all(webroot.join("cache/page")).unwrap();
    std::fs::write(webroot.join("cache/page/x.html"), "cached").unwrap();
    std::fs::create_dir_all(webroot.join("wp-content/uploads/2025")).unwrap();
    std::fs::write(webroot.join("wp-content/uploads/2025/a.jpg"), "asset").unwrap();
    let run = |script: &str, args: &[&str]| {
        host.cmd("/bin/sh")
            .arg(host.path(script))
            .args(args)
            .env("ADT_WEBROOT", &webroot)
            .env("ADT_ROOT_DIR", &root)
            .env("ADT_HOSTNAME", "ws-lon1-prod1-1")
            .env("ADT_BACKUP_JITTER_SECS", "0")
            .env("ADT_BACKUP_LOCK_SETTLE_MS", "0")
            .output()
            .unwrap()
    };
    // Legacy's usage and period lines (stdout, status 0).
    let o = run("application/backupscripts/Backup.sh", &[]);
    assert_eq!(
        stdout(&o),
        "This script needs to be run with the <build periodicity> parameter\n"
    );
    let o = run("application/backupscripts/Backup.sh", &["manual"]);
    assert_eq!(stdout(&o), "Invalid periodicity passed to backup script\n");
    assert!(o.status.success());
    // Not installed yet: nothing, silently.
    let o = run("cron/BackupFromCron.sh", &["DAILY"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let object =
        |key: &str| std::fs::read(server.root.path().join("www-example-com-daily").join(key)).ok();
    assert!(object("applicationsourcecode.tar.gz").is_none());
    std::fs::write(
        server
            .root
            .path()
            .join(CONFIG_2025)
            .join("INSTALLED_SUCCESSFULLY"),
        "",
    )
    .unwrap();
    let o = run("cron/BackupFromCron.sh", &["DAILY"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert!(!server
        .root
        .path()
        .join(CONFIG_2025)
        .join("BACKUP_RUNNING")
        .exists());
    let archive = object("applicationsourcecode.tar.gz").expect("the 2025 archive");
    let dir = host.dir.path().join("restore");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.tar.gz"), &archive).unwrap();
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(dir.join("a.tar.gz"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.lines().all(|l| l.starts_with("./")),
        "relative names: {list}"
    );
    for want in ["./XXXXXX-DO_NOT_REMOVE", "./.htaccess", "./index.php"] {
        assert!(list.lines().any(|l| l == want), "{want} in {list}");
    }
    for gone in ["./wp-config.php", "./cache/", "./wp-content/uploads/"] {
        assert!(!list.lines().any(|l| l == gone), "{gone} left out: {list}");
    }
    let x = dir.join("x");
    std::fs::create_dir_all(&x).unwrap();
    let o = Command::new("tar")
        .arg("-C")
        .arg(&x)
        .arg("-xzf")
        .arg(dir.join("a.tar.gz"))
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        std::fs::read(x.join("wp-content/plugins/p03/inc/f000.php")).unwrap(),
        std::fs::read(webroot.join("wp-content/plugins/p03/inc/f000.php")).unwrap(),
        "no placeholders in 2025"
    );
    let mails = std::fs::read_to_string(&mail_log).unwrap_or_default();
    assert!(
        mails.contains("Backup has been made to your datastore|"),
        "{mails}"
    );
    // The next run keeps the first archive as .BACKUP.
    std::fs::write(webroot.join("index.php"), "<?php // second\n").unwrap();
    let o = run("cron/BackupFromCron.sh", &["DAILY"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        object("applicationsourcecode.tar.gz.BACKUP").unwrap(),
        archive
    );
}
