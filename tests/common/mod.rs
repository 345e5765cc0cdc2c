//! Shared test harness: a real S3 server on 127.0.0.1 (s3s-fs, or moto's server with
//! `ADT_TEST_S3=moto`), machine HOMEs laid out like a 2022 fleet with our launchers installed,
//! and helpers to run launchers the way legacy shell code does.
#![allow(dead_code)]

pub mod build2025;
pub mod db;
pub mod fleet;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS: &str = "AKADTTEST";
pub const SECRET: &str = "SKadtTestSecret0123456789";

pub fn adt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_adt"))
}

/// `prog` from the environment variable `var`, else PATH, else the extra candidates.
fn find_program(var: &str, prog: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(p.into());
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(prog)).collect())
        .unwrap_or_default();
    candidates.extend(extra.iter().cloned());
    candidates.into_iter().find(|p| p.is_file())
}

fn find_s3s_fs() -> PathBuf {
    let mut extra = Vec::new();
    if let Some(h) = std::env::var_os("CARGO_HOME") {
        extra.push(PathBuf::from(h).join("bin/s3s-fs"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        extra.push(PathBuf::from(h).join(".cargo/bin/s3s-fs"));
    }
    find_program("S3S_FS", "s3s-fs", &extra).unwrap_or_else(|| {
        panic!(
            "s3s-fs not found: these tests need a real S3 server. Install it with \
             `cargo install --locked --features binary s3s-fs@0.14.1` (.ci/run does) or set S3S_FS."
        )
    })
}

fn find_moto_server() -> PathBuf {
    find_program("MOTO_SERVER", "moto_server", &[]).unwrap_or_else(|| {
        panic!(
            "ADT_TEST_S3=moto but moto_server is not found. Install it with \
             `python3 -m pip install 'moto[server]==5.2.1'` (.ci/run does) or set MOTO_SERVER."
        )
    })
}

/// Which S3 implementation the tests run against: `ADT_TEST_S3=moto` for moto's server,
/// otherwise (unset, or `s3s-fs`) s3s-fs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S3Impl {
    S3sFs,
    Moto,
}

impl S3Impl {
    pub fn from_env() -> S3Impl {
        match std::env::var("ADT_TEST_S3").as_deref() {
            Ok("moto") => S3Impl::Moto,
            Ok("") | Ok("s3s-fs") | Err(_) => S3Impl::S3sFs,
            Ok(other) => panic!("ADT_TEST_S3={other:?}: use s3s-fs or moto"),
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A real S3-compatible server on loopback, stopped when dropped: s3s-fs serving `root`, or
/// moto's server (in memory; `root` then stays empty). Which one: [`S3Impl::from_env`].
pub struct S3Server {
    pub port: u16,
    pub root: tempfile::TempDir,
    pub kind: S3Impl,
    child: Option<Child>,
}

impl S3Server {
    pub fn start() -> S3Server {
        S3Server::start_kind(S3Impl::from_env())
    }

    /// A server of this kind whatever `ADT_TEST_S3` says (s3cmd's recursive get and delete need
    /// the ETags that only moto lists).
    pub fn start_kind(kind: S3Impl) -> S3Server {
        // A free port can be taken by another test's server between our probe and the
        // server's bind (the server then exits at start-up): try again on another port.
        let mut last = String::new();
        for _ in 0..3 {
            let root = tempfile::tempdir().unwrap();
            let port = free_port();
            let mut cmd = match kind {
                S3Impl::S3sFs => {
                    let mut c = Command::new(find_s3s_fs());
                    c.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                        .args(["--access-key", ACCESS, "--secret-key", SECRET])
                        .arg(root.path());
                    c
                }
                S3Impl::Moto => {
                    let mut c = Command::new(find_moto_server());
                    c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                    c
                }
            };
            let child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {kind:?}: {e}"));
            let mut server = S3Server {
                port,
                root,
                kind,
                child: Some(child),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(e) => last = e,
            }
        }
        panic!("{last}");
    }

    /// Wait until the server answers HTTP (moto's Python start-up takes a second or two).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http(self.port, "GET", "/").is_some() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    return Err(format!("{:?} exited at start-up: {st}", self.kind));
                }
            }
            assert!(
                Instant::now() < deadline,
                "{:?} on port {} did not start",
                self.kind,
                self.port
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Create a bucket: a directory for s3s-fs, a CreateBucket request for moto (which checks
    /// no signatures).
    pub fn make_bucket(&self, name: &str) {
        match self.kind {
            S3Impl::S3sFs => std::fs::create_dir_all(self.root.path().join(name)).unwrap(),
            S3Impl::Moto => {
                let status = http(self.port, "PUT", &format!("/{name}"));
                assert_eq!(status, Some(200), "moto: create bucket {name}");
            }
        }
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port` without a body; the response status.
fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A machine of the fleet: its toolkit HOME, the homedir.dat that points at it, its /tmp.
pub struct Host {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub homedir_file: PathBuf,
    pub tmp: PathBuf,
    pub machine: &'static str,
}

pub const WEBSITE: &str = "www.example.com";
pub const BUCKET: &str = "wwwexacom-config";

impl Host {
    /// A HOME laid out like a 2022 machine of `machine` type talking to `port`.
    pub fn new(machine: &'static str, port: u16) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home").join("X1234X");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::create_dir_all(home.join("runtime")).unwrap();
        std::fs::create_dir_all(&tmp).unwrap();
        let homedir_file = dir.path().join("homedir.dat");
        std::fs::write(&homedir_file, format!("{}\n", home.display())).unwrap();
        let settings = format!(
            "WEBSITEURL:{WEBSITE}\nSSHPORT:1035\nDBPORT:2035\nPRODUCTION:1\nDEVELOPMENT:0\n\
             SNAPAUTOSCALE:0\nBUILDOS:ubuntu:20.04\nSERVERUSER:X1234X\n"
        );
        let file = format!("{machine}_configuration_settings.dat");
        if machine != "build" {
            std::fs::write(home.join(".ssh").join(file), settings).unwrap();
        }
        std::fs::write(
            home.join(".ssh/buildstyles.dat"),
            "NGINX:source:modsecurity\nPHP:7.4:fpm\n",
        )
        .unwrap();
        let h = Host {
            dir,
            home,
            homedir_file,
            tmp,
            machine,
        };
        h.write_s3cfg(port);
        h
    }

    pub fn write_s3cfg(&self, port: u16) {
        let text = format!(
            "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nhost_base = 127.0.0.1:{port}\n\
             host_bucket = 127.0.0.1:{port}\nuse_https = False\nbucket_location = us-east-1\nsignature_v2 = False\n"
        );
        std::fs::write(self.home.join(".s3cfg"), text).unwrap();
    }

    /// Install our launchers at the legacy paths (the real installer, as an operator would).
    pub fn install(&self) {
        let out = Command::new(adt_bin())
            .args(["layout", "install", "--home"])
            .arg(&self.home)
            .args(["--machine", self.machine])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Append lines to this machine's settings file (`KEY:value\n`…).
    pub fn add_settings(&self, lines: &str) {
        let f = self
            .home
            .join(".ssh")
            .join(format!("{}_configuration_settings.dat", self.machine));
        let mut t = std::fs::read_to_string(&f).unwrap_or_default();
        t.push_str(lines);
        std::fs::write(&f, t).unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    /// The environment a legacy call site has: only the homedir override and /tmp override are
    /// ours (tests cannot write /home/homedir.dat); PATH is cron's bare one.
    pub fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("ADT_HOMEDIR_FILE", &self.homedir_file)
            .env("ADT_TMP", &self.tmp)
            .env("ADT_S3_BACKOFF_MS", "20")
            // No SSH connections kept after a command (they would outlive the test);
            // tests/health.rs turns them on.
            .env("ADT_SSH_PERSIST_SECS", "0")
            .current_dir(self.dir.path());
        c
    }

    /// A legacy script path (relative to HOME) to run with the stand-in executables in `bin`
    /// first on PATH.
    pub fn cmd_with(&self, bin: &Path, script: &str) -> Command {
        let mut c = self.cmd(self.path(script));
        c.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        c
    }

    /// Mark the fleet installed, as the build machine does (the INSTALLEDSUCCESSFULLY marker
    /// the autoscaler's scripts wait for).
    pub fn mark_installed(&self) {
        let o = self.exec(
            &format!("{W}PutToConfigDatastore.sh"),
            &["INSTALLEDSUCCESSFULLY"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// Run a legacy script path (relative to HOME) with `/bin/sh`, as legacy code sometimes does.
    pub fn sh(&self, script: &str, args: &[&str]) -> Output {
        self.cmd("/bin/sh")
            .arg(self.path(script))
            .args(args)
            .output()
            .unwrap()
    }

    /// Execute a legacy script path directly.
    pub fn exec(&self, script: &str, args: &[&str]) -> Output {
        self.cmd(self.path(script)).args(args).output().unwrap()
    }

    /// Run a shell snippet with HOME set, as legacy scripts call the wrappers.
    pub fn shell(&self, snippet: &str) -> Output {
        self.cmd("/bin/sh").arg("-c").arg(snippet).output().unwrap()
    }

    pub fn s3cmd(&self, args: &[&str]) -> Output {
        self.cmd("s3cmd")
            .arg("-c")
            .arg(self.home.join(".s3cfg"))
            .args(args)
            .output()
            .unwrap()
    }
}

/// An S3 server with the config bucket, and an installed autoscaler (launchers in place,
/// `settings` appended, INSTALLEDSUCCESSFULLY in the datastore) talking to it.
pub fn installed_autoscaler(settings: &str) -> (S3Server, Host) {
    let server = S3Server::start();
    server.make_bucket(BUCKET);
    let h = Host::new("autoscaler", server.port);
    h.install();
    h.add_settings(settings);
    h.mark_installed();
    (server, h)
}

pub const W: &str = "providerscripts/datastore/configwrapper/";
pub const U: &str = "providerscripts/utilities/";

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command succeeded (its output shown when not).
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// The command failed with status 1 and one line on stderr: that line.
pub fn failed_with_one_line(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
    eprintln!("as expected: {err}");
    err
}

/// A file's bytes, or None.
pub fn read(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

/// A TCP proxy in front of the S3 server that can break a transfer: the first `cut_conns`
/// connections whose responses exceed `cut_after` bytes are cut there; with `die_on_cut`, every
/// later connection is reset too (the server "stopped" in the middle of a transfer).
pub struct FaultProxy {
    pub port: u16,
    pub cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultProxy {
    pub fn start(
        upstream: u16,
        cut_after: usize,
        cut_conns: usize,
        die_on_cut: bool,
    ) -> FaultProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let dead = Arc::new(AtomicBool::new(false));
        let c2 = cuts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                if dead.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (cuts, dead) = (c2.clone(), dead.clone());
                std::thread::spawn(move || {
                    let mut c_in = client.try_clone().unwrap();
                    let mut s_out = server.try_clone().unwrap();
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c_in, &mut s_out);
                    });
                    let mut sent = 0usize;
                    let mut buf = [0u8; 16384];
                    loop {
                        let n = match server.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if sent + n > cut_after && cuts.load(Ordering::SeqCst) < cut_conns {
                            let _ = client.write_all(&buf[..cut_after.saturating_sub(sent)]);
                            cuts.fetch_add(1, Ordering::SeqCst);
                            if die_on_cut {
                                dead.store(true, Ordering::SeqCst);
                            }
                            break;
                        }
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n;
                    }
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FaultProxy { port, cuts }
    }
}

/// A TCP proxy in front of the S3 server that cuts any connection whose request stream (client
/// to server) passes `cut_after` bytes: an upload cut midway.
pub struct UploadCut {
    pub port: u16,
}

impl UploadCut {
    pub fn start(upstream: u16, cut_after: usize) -> UploadCut {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut c_out = client.try_clone().unwrap();
                let mut s_in = server.try_clone().unwrap();
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut sent = 0usize;
                    let mut buf = [0u8; 8192];
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if sent + n > cut_after {
                            let _ = server.write_all(&buf[..cut_after - sent]);
                            break;
                        }
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n;
                    }
                    let _ = server.shutdown(Shutdown::Both);
                    let _ = client.shutdown(Shutdown::Both);
                });
            }
        });
        UploadCut { port }
    }
}

/// Skip a test that needs what this machine lacks, with a clear message; under CI (`CI` set)
/// that is a failure instead, so CI can never pass by skipping.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("cannot run here under CI: {why}");
    }
    eprintln!("SKIP: {why}");
}

/// A stand-in executable for `prog` (a provider CLI): logs `prog [arg] [arg]…` and prints the first fixture whose pattern
/// (a shell `case` glob over "$*") matches.
pub fn stand_in(bin: &Path, prog: &str, log: &Path, fixtures: &Path, answers: &[(&str, &str)]) {
    let mut s = format!(
        "#!/bin/sh\n{{ printf '%s' {prog}; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; }} >> '{}'\ncase \"$*\" in\n",
        log.display()
    );
    for (pat, file) in answers {
        s.push_str(&format!(
            "  {pat}) cat '{}' ;;\n",
            fixtures.join(file).display()
        ));
    }
    s.push_str("  *) : ;;\nesac\n");
    let p = bin.join(prog);
    std::fs::write(&p, s).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A real DNS server (dnsmasq) on 127.0.0.1:`port` serving the local DNS provider's hosts file
/// in `dir` (reloaded on SIGHUP through `dir/dnsmasq.pid`); stopped when dropped.
pub struct Dnsmasq(Child);

impl Dnsmasq {
    pub fn start(dir: &Path, port: u16) -> Dnsmasq {
        let hosts = dir.join("hosts");
        if !hosts.exists() {
            std::fs::write(&hosts, "").unwrap();
        }
        let child = Command::new("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
            ])
            .args(["--user=root", "--pid-file="])
            .arg(format!("--port={port}"))
            .arg(format!("--addn-hosts={}", hosts.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (apt-get install dnsmasq-base)");
        std::fs::write(dir.join("dnsmasq.pid"), child.id().to_string()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        Dnsmasq(child)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The A records of www.example.com as the DNS server on 127.0.0.1:`port` answers them, sorted.
pub fn dig(port: u16) -> Vec<String> {
    let o = Command::new("dig")
        .args([
            "+short",
            "+time=1",
            "+tries=1",
            "-p",
            &port.to_string(),
            "@127.0.0.1",
            "www.example.com",
            "A",
        ])
        .output()
        .unwrap();
    let mut v: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    v.sort();
    v
}
