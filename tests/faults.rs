//! Fault injection: our launchers against endpoints that misbehave (`tests/support/badstore.py`
//! on 127.0.0.1: a closed port, a store that accepts and never answers, one that trickles, one
//! that cuts a body in the middle, one that answers 503 and then recovers) and against a real
//! s3s-fs with hostile inputs (files, keys and settings a call must not trust).
//!
//! Every command runs under a watchdog, so a regression fails the test instead of hanging it.
//! Timings are only checked against generous bounds (3× the configured deadline).

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `tests/support/badstore.py MODE ARGS…`, stopped when dropped.
struct BadStore {
    port: u16,
    log: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl BadStore {
    fn start(mode: &str, args: &[&str]) -> BadStore {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/badstore.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(mode)
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("badstore prints its port");
        BadStore {
            port,
            log,
            child,
            _dir: dir,
        }
    }

    fn events(&self, kind: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split(' ').next() == Some(kind))
            .count()
    }

    /// Connections accepted so far.
    fn conns(&self) -> usize {
        self.events("conn")
    }

    /// Requests read so far.
    fn requests(&self) -> usize {
        self.events("req")
    }
}

impl Drop for BadStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a command did under the watchdog.
struct Ran {
    out: Output,
    took: Duration,
    killed: bool,
}

impl Ran {
    fn stdout(&self) -> String {
        stdout(&self.out)
    }
    fn stderr(&self) -> String {
        stderr(&self.out)
    }
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
}

/// Run `cmd`, killing it if it is still running after `limit`.
fn bounded(mut cmd: Command, limit: Duration) -> Ran {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut killed = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            killed = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        took: started.elapsed(),
        killed,
        out: Output {
            status,
            stdout: o.join().unwrap(),
            stderr: e.join().unwrap(),
        },
    }
}

/// A machine with our launchers, its .s3cfg pointing at `port`.
fn machine(kind: &'static str, port: u16) -> Host {
    let h = Host::new(kind, port);
    h.install();
    h
}

fn one_line(r: &Ran, needle: &str) {
    let e = r.stderr();
    assert_eq!(e.lines().count(), 1, "want one stderr line, got:\n{e}");
    assert!(e.contains(needle), "stderr {e:?} lacks {needle:?}");
}

/// Our temporary files in `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains(".adt-tmp."))
                .collect()
        })
        .unwrap_or_default()
}

// ---- One deadline per call ----

fn deadline_cmd(h: &Host, script: &str, args: &[&str], deadline: &str) -> Command {
    let mut c = h.cmd(h.path(&format!("{W}{script}")));
    c.args(args).env("ADT_S3_DEADLINE", deadline);
    c
}

/// Run the four wrappers at once against `port` with a 2 s deadline; each must give up within
/// 3× that, with the legacy stdout and status and one line saying it gave up.
fn all_give_up(port: u16) {
    let db = machine("database", port);
    std::fs::write(db.tmp.join("profile.cnf"), "keep me\n").unwrap();
    let runs: Vec<(&str, Vec<&str>, &str, i32)> = vec![
        (
            "GetFromConfigDatastore.sh",
            vec!["scalingprofile/profile.cnf"],
            "",
            0,
        ),
        ("ListFromConfigDatastore.sh", vec!["webserverips/*"], "", 0),
        (
            "CheckConfigDatastore.sh",
            vec!["INSTALLEDSUCCESSFULLY"],
            "0\n",
            0,
        ),
        ("PutToConfigDatastore.sh", vec!["MARKER"], "", 1),
    ];
    let handles: Vec<_> = runs
        .into_iter()
        .map(|(script, args, want_out, want_code)| {
            let c = deadline_cmd(&db, script, &args, "2");
            std::thread::spawn(move || {
                (
                    script,
                    bounded(c, Duration::from_secs(6)),
                    want_out,
                    want_code,
                )
            })
        })
        .collect();
    for h in handles {
        let (script, r, want_out, want_code) = h.join().unwrap();
        assert!(!r.killed, "{script} still running after {:?}", r.took);
        assert_eq!(
            (r.stdout().as_str(), r.code()),
            (want_out, Some(want_code)),
            "{script}"
        );
        one_line(&r, "gave up after 2");
    }
    assert_eq!(
        std::fs::read_to_string(db.tmp.join("profile.cnf")).unwrap(),
        "keep me\n"
    );
}

#[test]
fn a_store_that_never_answers_is_given_up_on_within_the_deadline() {
    let bad = BadStore::start("blackhole", &[]);
    all_give_up(bad.port);
}

#[test]
fn a_store_that_trickles_is_given_up_on_within_the_deadline() {
    // A byte every second: no read timeout ever fires.
    let bad = BadStore::start(
        "trickle",
        &["--size", "1000", "--chunk", "1", "--interval", "1"],
    );
    let db = machine("database", bad.port);
    std::fs::write(db.tmp.join("profile.cnf"), "keep me\n").unwrap();
    for (script, args) in [
        (
            "GetFromConfigDatastore.sh",
            vec!["scalingprofile/profile.cnf"],
        ),
        ("ListFromConfigDatastore.sh", vec!["webserverips/*"]),
    ] {
        let r = bounded(
            deadline_cmd(&db, script, &args, "2"),
            Duration::from_secs(6),
        );
        assert!(!r.killed, "{script} still running after {:?}", r.took);
        assert_eq!((r.stdout().as_str(), r.code()), ("", Some(0)), "{script}");
        one_line(&r, "gave up after 2");
    }
    assert_eq!(
        std::fs::read_to_string(db.tmp.join("profile.cnf")).unwrap(),
        "keep me\n"
    );
    assert_eq!(temp_files(&db.tmp), Vec::<PathBuf>::new());
}

/// The calls of one wrapper command share one deadline: a Get with DEST whose first download
/// (to /tmp) used most of it has only the rest for the second (to DEST), where a deadline per
/// call would have let both finish.
#[test]
fn the_calls_of_one_command_share_one_deadline() {
    // 4 bytes, one every 0.6 s: each download takes about 2 s.
    let bad = BadStore::start(
        "trickle",
        &["--size", "4", "--chunk", "1", "--interval", "0.6"],
    );
    let db = machine("database", bad.port);
    let dest = db.dir.path().join("dest.cnf");
    let r = bounded(
        deadline_cmd(
            &db,
            "GetFromConfigDatastore.sh",
            &["scalingprofile/profile.cnf", dest.to_str().unwrap()],
            "3",
        ),
        Duration::from_secs(12),
    );
    assert!(!r.killed, "still running after {:?}", r.took);
    assert_eq!(
        (r.stdout().contains("download:"), r.code()),
        (true, Some(0))
    );
    assert!(
        std::fs::read(db.tmp.join("profile.cnf")).unwrap().len() == 4,
        "the first download completes"
    );
    assert!(!dest.exists(), "the second download had only what was left");
    one_line(&r, "gave up after");
}

#[test]
fn the_deadline_grows_with_the_size_of_a_large_transfer() {
    // 4 MB in 1 MB pieces every 0.5 s: about 2 s, twice the 1 s deadline, well inside
    // 1 s + 1 s per MB.
    let bad = BadStore::start(
        "trickle",
        &[
            "--size",
            "4000000",
            "--chunk",
            "1000000",
            "--interval",
            "0.5",
        ],
    );
    let h = machine("webserver", bad.port);
    let r = bounded(
        deadline_cmd(&h, "GetFromConfigDatastore.sh", &["blobs/big.bin"], "1"),
        Duration::from_secs(20),
    );
    assert_eq!((r.code(), r.stderr().as_str()), (Some(0), ""));
    let want: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    assert!(std::fs::read(h.tmp.join("big.bin")).unwrap() == want);
}

// ---- Honest retries ----

#[test]
fn a_store_that_is_down_gets_exactly_the_configured_attempts() {
    let bad = BadStore::start("reset", &[]);
    let h = machine("webserver", bad.port);
    for (script, arg, n) in [
        ("GetFromConfigDatastore.sh", "scalingprofile/profile.cnf", 3),
        ("ListFromConfigDatastore.sh", "webserverips/*", 2),
    ] {
        let before = bad.conns();
        let mut c = h.cmd(h.path(&format!("{W}{script}")));
        c.arg(arg).env("ADT_S3_ATTEMPTS", n.to_string());
        let r = bounded(c, Duration::from_secs(30));
        assert_eq!(r.code(), Some(0));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(bad.conns() - before, n, "{script}: connections");
        one_line(&r, &format!("after {n} attempts"));
    }
}

#[test]
fn a_body_cut_mid_transfer_is_retried_within_the_same_budget() {
    let bad = BadStore::start("cut", &["--size", "200000"]);
    let h = machine("webserver", bad.port);
    std::fs::write(h.tmp.join("big.bin"), "good old copy").unwrap();
    let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
    c.arg("blobs/big.bin").env("ADT_S3_ATTEMPTS", "3");
    let r = bounded(c, Duration::from_secs(30));
    assert_eq!(r.code(), Some(0));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(bad.requests(), 3, "requests");
    one_line(&r, "after 3 attempts");
    assert_eq!(
        std::fs::read_to_string(h.tmp.join("big.bin")).unwrap(),
        "good old copy"
    );
    assert_eq!(temp_files(&h.tmp), Vec::<PathBuf>::new());
}

#[test]
fn a_store_that_answers_503_then_recovers_is_used() {
    let bad = BadStore::start("flaky", &["--fail", "2", "--size", "5000"]);
    let h = machine("webserver", bad.port);
    let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
    c.arg("blobs/b.bin").env("ADT_S3_ATTEMPTS", "4");
    let r = bounded(c, Duration::from_secs(30));
    assert_eq!((r.code(), r.stderr().as_str()), (Some(0), ""));
    assert_eq!(bad.requests(), 3);
    let want: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(std::fs::read(h.tmp.join("b.bin")).unwrap(), want);
    let l = h.exec(
        &format!("{W}ListFromConfigDatastore.sh"),
        &["webserverips/*"],
    );
    assert_eq!(
        (stdout(&l).as_str(), stderr(&l).as_str()),
        ("10.0.0.1\n", "")
    );
}

// ---- Secrets are private from the first byte, and a killed Get leaves nothing readable ----

fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn put_file(h: &Host, path: &Path, key: &str) {
    let p = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &[path.to_str().unwrap(), key],
    );
    assert!(p.status.success(), "{}", stderr(&p));
}

#[test]
fn a_secret_is_never_readable_by_others_while_it_downloads() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = machine("webserver", server.port);
    let big: Vec<u8> = (0..30_000_000u32).map(|i| (i % 253) as u8).collect();
    let src = h.dir.path().join("bigsecret");
    std::fs::write(&src, &big).unwrap();
    put_file(&h, &src, "credentials/bigsecret");
    std::fs::remove_file(&src).unwrap();
    // A destination that exists with the usual 0644 (the old code copied its mode).
    let dest_dir = h.dir.path().join("dest");
    std::fs::create_dir(&dest_dir).unwrap();
    let dest = dest_dir.join("bigsecret");
    std::fs::write(&dest, b"old").unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(h.tmp.join("bigsecret"), b"old").unwrap();
    std::fs::set_permissions(
        h.tmp.join("bigsecret"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, seen) = (stop.clone(), seen.clone());
        let dirs = [h.tmp.clone(), dest_dir.clone()];
        std::thread::spawn(move || {
            let mut bad = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                for d in &dirs {
                    for t in temp_files(d) {
                        if let Ok(m) = std::fs::metadata(&t) {
                            seen.fetch_add(1, Ordering::SeqCst);
                            if m.permissions().mode() & 0o077 != 0 && bad.len() < 5 {
                                bad.push(format!("{} {:o}", t.display(), m.permissions().mode()));
                            }
                        }
                    }
                }
            }
            bad
        })
    };
    let g = bounded(
        {
            let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
            c.args(["credentials/bigsecret", dest.to_str().unwrap()]);
            c
        },
        Duration::from_secs(120),
    );
    stop.store(true, Ordering::SeqCst);
    let bad = watcher.join().unwrap();
    assert_eq!(g.code(), Some(0), "{}", g.stderr());
    assert_eq!(g.stderr(), "");
    assert!(
        seen.load(Ordering::SeqCst) > 0,
        "the watcher never saw a temporary file"
    );
    assert!(
        bad.is_empty(),
        "readable by others while downloading: {bad:?}"
    );
    for f in [&dest, &h.tmp.join("bigsecret")] {
        assert_eq!(mode_of(f), 0o600, "{}", f.display());
        assert_eq!(std::fs::metadata(f).unwrap().len(), big.len() as u64);
    }
}

#[test]
fn private_keys_count_as_secrets() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = machine("webserver", server.port);
    let f = h.dir.path().join("k");
    std::fs::write(&f, "-----BEGIN OPENSSH PRIVATE KEY-----\n").unwrap();
    let secret = [
        "keys/id_rsa",
        "keys/deploy",
        "ssh/id_ecdsa",
        "ssh/id_ed25519",
        "build/X1234X_AGILE_DEPLOYMENT_BUILD_KEY",
        "ssl/server.key",
        "ssl/privkey.pem",
        "credentials/shit",
    ];
    let public = [
        "keys/id_rsa.pub",
        "build/X1234X_AGILE_DEPLOYMENT_BUILD_KEY.pub",
        "webserverips/notes.txt",
    ];
    for k in secret.iter().chain(public.iter()) {
        put_file(&h, &f, k);
        let g = h.exec(&format!("{W}GetFromConfigDatastore.sh"), &[k]);
        assert_eq!(stderr(&g), "", "{k}");
        let got = h.tmp.join(k.rsplit('/').next().unwrap());
        let want = if secret.contains(k) { 0o600 } else { 0o644 };
        assert_eq!(mode_of(&got), want, "{k}");
    }
}

#[test]
fn a_killed_get_leaves_nothing_readable_and_the_next_get_sweeps_it() {
    // 100 kB trickled at 2 kB every 0.1 s: the Get is mid-body for ~5 s.
    let bad = BadStore::start(
        "trickle",
        &["--size", "100000", "--chunk", "2000", "--interval", "0.1"],
    );
    let h = machine("webserver", bad.port);
    let mut child = h
        .cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")))
        .arg("credentials/shit")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let leftover = loop {
        let temps = temp_files(&h.tmp);
        if let Some(p) = temps.into_iter().next() {
            if std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false) {
                break p;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(leftover.exists(), "a SIGKILLed process cannot clean up");
    for p in temp_files(&h.tmp) {
        assert_eq!(
            mode_of(&p) & 0o077,
            0,
            "{} is readable by others",
            p.display()
        );
    }
    assert!(
        !h.tmp.join("shit").exists(),
        "no partial file under the real name"
    );
    // The next Get into that directory removes what the dead process left, whatever its own
    // outcome (here the store is gone).
    h.write_s3cfg(free_port());
    let g = bounded(
        {
            let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
            c.arg("credentials/shit").env("ADT_S3_ATTEMPTS", "1");
            c
        },
        Duration::from_secs(30),
    );
    assert_eq!(g.code(), Some(0));
    assert_eq!(
        temp_files(&h.tmp),
        Vec::<PathBuf>::new(),
        "the leftover was not removed"
    );
}

// ---- A read-only destination that is not ours is not replaced ----

/// `setpriv` to run a command as `nobody`, if this machine has it and we are root.
fn as_nobody() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let p = PathBuf::from("/usr/bin/setpriv");
    (root && p.is_file()).then_some(p)
}

/// `cmd`'s program and arguments, run as nobody (uid/gid 65534) through setpriv.
fn nobody_cmd(h: &Host, setpriv: &Path, script: &str) -> Command {
    let mut c = h.cmd(setpriv);
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(h.path(script));
    c
}

/// Let `nobody` reach the host's directories (the test's temporary directory is 0700).
fn open_up(h: &Host) {
    use std::os::unix::fs::PermissionsExt;
    for d in [h.dir.path(), &h.tmp] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o1777)).unwrap();
    }
}

fn ro_dest(h: &Host, owner: Option<u32>) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = h.dir.path().join("ro");
    let _ = std::fs::create_dir(&d);
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let dest = d.join("dest.txt");
    let _ = std::fs::remove_file(&dest);
    std::fs::write(&dest, "theirs\n").unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o444)).unwrap();
    if let Some(uid) = owner {
        std::os::unix::fs::chown(&dest, Some(uid), Some(uid)).unwrap();
    }
    dest
}

#[test]
fn a_read_only_destination_that_is_not_ours_is_left_alone() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = machine("webserver", server.port);
    let f = h.dir.path().join("new.txt");
    std::fs::write(&f, "new\n").unwrap();
    put_file(&h, &f, "cfg/dest.txt");
    let get = |c: &mut Command, dest: &Path| {
        c.args(["cfg/dest.txt", dest.to_str().unwrap()]);
    };
    if let Some(setpriv) = as_nobody() {
        // As an ordinary user: a root-owned 0444 file in a world-writable directory.
        open_up(&h);
        let dest = ro_dest(&h, None);
        let mut c = nobody_cmd(&h, &setpriv, &format!("{W}GetFromConfigDatastore.sh"));
        get(&mut c, &dest);
        let r = bounded(c, Duration::from_secs(30));
        assert_eq!(r.code(), Some(0));
        one_line(&r, dest.to_str().unwrap());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "theirs\n");
        assert_eq!(
            std::fs::read_to_string(h.tmp.join("dest.txt")).unwrap(),
            "new\n"
        );
        // As root: a file of another user without its owner's write bit.
        let dest = ro_dest(&h, Some(65534));
        let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
        get(&mut c, &dest);
        let r = bounded(c, Duration::from_secs(30));
        assert_eq!(r.code(), Some(0));
        one_line(&r, dest.to_str().unwrap());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "theirs\n");
        // Root's own read-only file is replaced, as s3cmd run by root would.
        let dest = ro_dest(&h, Some(0));
        let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
        get(&mut c, &dest);
        let r = bounded(c, Duration::from_secs(30));
        assert_eq!((r.code(), r.stderr().as_str()), (Some(0), ""));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
    } else {
        skip("needs root and setpriv to own files as another user");
    }
}

// ---- Errors that say what is wrong ----

#[test]
fn a_bad_host_base_names_the_s3cfg_setting() {
    let h = machine("webserver", 1);
    for port in ["99999", "abc", ""] {
        let text = std::fs::read_to_string(h.path(".s3cfg"))
            .unwrap()
            .replace("127.0.0.1:1\n", &format!("127.0.0.1:{port}\n"));
        std::fs::write(h.path(".s3cfg"), text).unwrap();
        let r = bounded(
            {
                let mut c = h.cmd(h.path(&format!("{W}CheckConfigDatastore.sh")));
                c.arg("x");
                c
            },
            Duration::from_secs(10),
        );
        assert_eq!(r.stdout(), "0\n");
        one_line(&r, "host_base");
        assert!(r.stderr().contains(".s3cfg"), "{}", r.stderr());
        assert!(!r.stderr().contains("URI"), "{}", r.stderr());
        h.write_s3cfg(1);
    }
}

#[test]
fn the_firewall_says_datastore_error_once() {
    let h = machine("database", free_port());
    let mut c = h.cmd(h.path("security/SetupFirewall.sh"));
    c.args(["--dry-run", "--tool", "iptables"])
        .env("ADT_S3_ATTEMPTS", "1");
    let r = bounded(c, Duration::from_secs(30));
    assert_eq!(r.code(), Some(1));
    assert!(r.stderr().contains("datastore error"), "{}", r.stderr());
    assert!(
        !r.stderr().contains("datastore error: datastore error"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_missing_homedir_dat_is_named_when_the_settings_are_then_missing() {
    let h = machine("webserver", 1);
    let elsewhere = h.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let empty = h.dir.path().join("empty.dat");
    std::fs::write(&empty, "").unwrap();
    for (file, why) in [
        (h.dir.path().join("no-such-homedir.dat"), "missing"),
        (empty, "empty"),
    ] {
        let mut c = h.cmd(h.path(&format!("{U}ExtractConfigValue.sh")));
        c.arg("SSHPORT")
            .env("ADT_HOMEDIR_FILE", &file)
            .env("HOME", &elsewhere);
        let r = bounded(c, Duration::from_secs(10));
        assert_eq!((r.stdout().as_str(), r.code()), ("", Some(0)));
        one_line(&r, file.file_name().unwrap().to_str().unwrap());
        assert!(
            r.stderr().contains("$HOME") && r.stderr().contains(why),
            "{}",
            r.stderr()
        );
    }
    // With homedir.dat in place nothing changes.
    let r = h.exec(&format!("{U}ExtractConfigValue.sh"), &["SSHPORT"]);
    assert_eq!((stdout(&r).as_str(), stderr(&r).as_str()), ("1035\n", ""));
}

#[test]
fn empty_directory_and_dot_keys_are_refused_before_anything_is_sent() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = machine("database", server.port);
    std::fs::create_dir(h.dir.path().join("dir")).unwrap();
    let x = h.dir.path().join("x");
    std::fs::write(&x, "x\n").unwrap();
    let xs = x.to_str().unwrap();
    for (script, args, code) in [
        ("PutToConfigDatastore.sh", vec!["dir/"], 1),
        ("PutToConfigDatastore.sh", vec![xs, "a/./b"], 1),
        ("PutToConfigDatastore.sh", vec![xs, "./b"], 1),
        ("GetFromConfigDatastore.sh", vec!["a/./b"], 0),
        ("GetFromConfigDatastore.sh", vec!["webserverips/"], 0),
        ("GetDBCredential.sh", vec!["", "1"], 0),
        ("DeleteFromConfigDatastore.sh", vec!["a/./b"], 1),
    ] {
        let mut c = h.cmd(h.path(&format!("{W}{script}")));
        c.current_dir(h.dir.path()).args(&args);
        let r = bounded(c, Duration::from_secs(30));
        assert_eq!(
            (r.stdout().as_str(), r.code()),
            ("", Some(code)),
            "{script} {args:?}"
        );
        one_line(&r, "usage error");
        assert!(!r.stderr().contains("Construction"), "{}", r.stderr());
    }
    assert_eq!(
        std::fs::read_dir(server.root.path().join(BUCKET))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn long_keys_are_cut_in_messages_and_refused_over_1024_bytes() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = machine("webserver", server.port);
    let huge = "k".repeat(2000);
    let r = bounded(
        {
            let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
            c.arg(&huge);
            c
        },
        Duration::from_secs(30),
    );
    one_line(&r, "1024");
    assert!(r.stderr().len() < 300, "{}", r.stderr());
    // A legal but long key that is not there: the message names its start.
    let long = "seg/".repeat(60) + "end";
    let r = bounded(
        {
            let mut c = h.cmd(h.path(&format!("{W}GetFromConfigDatastore.sh")));
            c.arg(&long);
            c
        },
        Duration::from_secs(30),
    );
    one_line(&r, "not found in datastore: s3://wwwexacom-config/seg/seg/");
    assert!(r.stderr().contains('…'), "{}", r.stderr());
    assert!(!r.stderr().contains("end"), "{}", r.stderr());
}

#[test]
fn an_unreadable_source_file_is_named_as_such() {
    use std::os::unix::fs::PermissionsExt;
    let Some(setpriv) = as_nobody() else {
        return skip("needs root and setpriv to run a command as nobody");
    };
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = machine("database", server.port);
    open_up(&h);
    let f = h.dir.path().join("private.txt");
    std::fs::write(&f, "root only\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = nobody_cmd(&h, &setpriv, &format!("{W}PutToConfigDatastore.sh"));
    c.args([f.to_str().unwrap(), "x/private.txt"]);
    let r = bounded(c, Duration::from_secs(30));
    assert_eq!(r.code(), Some(1));
    one_line(&r, "private.txt");
    assert!(r.stderr().contains("ermission denied"), "{}", r.stderr());
    assert!(!r.stderr().contains("cannot reach"), "{}", r.stderr());
}

// ---- A missing source file never replaces data ----

#[test]
fn a_missing_source_file_never_replaces_an_object_with_data() {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let object = server.root.path().join(BUCKET).join("keep/existing.txt");
    for (kind, code) in [("database", 1), ("autoscaler", 1), ("webserver", 0)] {
        let h = machine(kind, server.port);
        let f = h.dir.path().join("existing.txt");
        std::fs::write(&f, "precious\n").unwrap();
        put_file(&h, &f, "keep/existing.txt");
        let r = bounded(
            {
                let mut c = h.cmd(h.path(&format!("{W}PutToConfigDatastore.sh")));
                c.args(["/no/such/file", "keep/existing.txt"]);
                c
            },
            Duration::from_secs(30),
        );
        assert_eq!((r.stdout().as_str(), r.code()), ("", Some(code)), "{kind}");
        one_line(&r, "keep/existing.txt");
        assert!(r.stderr().contains("/no/such/file"), "{}", r.stderr());
        assert_eq!(
            std::fs::read_to_string(&object).unwrap(),
            "precious\n",
            "{kind}"
        );
    }
    // Markers: created when absent, rewritten when already empty, silently, status 0.
    let h = machine("autoscaler", server.port);
    for _ in 0..2 {
        let r = h.exec(
            &format!("{W}PutToConfigDatastore.sh"),
            &["INSTALLEDSUCCESSFULLY"],
        );
        assert_eq!((r.status.code(), stderr(&r).as_str()), (Some(0), ""));
        assert!(stdout(&r).starts_with("upload: "), "{}", stdout(&r));
    }
    let marker = server
        .root
        .path()
        .join(BUCKET)
        .join("INSTALLEDSUCCESSFULLY");
    assert_eq!(std::fs::metadata(marker).unwrap().len(), 0);
    let r = h.exec(
        &format!("{W}PutToConfigDatastore.sh"),
        &["webserverips/10.0.0.9"],
    );
    assert_eq!((r.status.code(), stderr(&r).as_str()), (Some(0), ""));
}

// ---- A store that refuses conditional writes ----

/// The scaling profile on a store that answers 501 to `If-Match`/`If-None-Match`: the write
/// still happens, through the lock-object fallback; the bucket is named once on stderr, and the
/// next write says nothing (the verdict is remembered). On a store that enforces them, no word.
#[test]
fn a_store_that_refuses_conditional_writes_gets_the_lock_object_fallback() {
    for (mode, warned) in [("store501", true), ("store", false)] {
        let bad = BadStore::start(mode, &[]);
        let h = machine("autoscaler", bad.port);
        let profile = |args: &[&str]| {
            let mut c = h.cmd(adt_bin());
            c.args(["--adt-machine=autoscaler", "scaling-profile"])
                .args(args);
            bounded(c, Duration::from_secs(30))
        };
        let r = profile(&["set", "W1", "1"]);
        assert_eq!(r.code(), Some(0), "{mode}: {}", r.stderr());
        let said = r
            .stderr()
            .lines()
            .filter(|l| l.contains("does not enforce conditional writes"))
            .count();
        assert_eq!(said, usize::from(warned), "{mode}: {}", r.stderr());
        let r = profile(&["set", "W2", "2"]);
        assert_eq!((r.code(), r.stderr().as_str()), (Some(0), ""), "{mode}");
        let r = profile(&["show"]);
        assert_eq!(r.stdout(), "SCALING_MODE=static\nW1=1\nW2=2\n", "{mode}");
        // Nothing left behind: no probe key, no lock object.
        let mut c = h.cmd(h.path(&format!("{W}ListFromConfigDatastore.sh")));
        c.arg("adt-locks/");
        let r = bounded(c, Duration::from_secs(30));
        assert_eq!(r.stdout(), "", "{mode}");
    }
}
