//! Running other programs: the one place adt starts a child process.
//!
//! - [`Run`]: a command line (duct underneath), with bytes fed to its stdin (secrets go there,
//!   never on argv), stdout and stderr captured, and an optional deadline. A command with a
//!   deadline runs in its own process group and the whole group is killed when the deadline
//!   passes (with nix's `killpg`), so a legacy script's `ssh` children die with it.
//! - [`find_program`]: PATH first (tests put stand-ins there), then the directories cron's
//!   bare PATH lacks (which).
//! - [`signal`]: a signal to one process id, only ever a positive one (nix).
//! - [`ssh`]: a command on a fleet machine over SSH with the fleet key, bounded; [`as_root`].
//!
//! Differences from legacy: legacy scripts ran their tools unbounded and sent signals with
//! `/bin/kill`; procps-ng's `kill` reads `-KILL -<pgid>` as a signal to -1 (every process), a
//! trap adt no longer has any way to fall into.

use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a finished command gave back.
#[derive(Debug, Default)]
pub struct Output {
    /// Its exit code; `None` when a signal (or our deadline) ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The deadline passed and the process group was killed.
    pub timed_out: bool,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The first line of stderr, for one-line error messages.
    pub fn first_error_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }
}

/// A command line to run.
#[derive(Clone, Debug)]
pub struct Run {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    stdin_file: Option<PathBuf>,
    deadline: Option<Duration>,
    inherit_stdout: bool,
}

impl Run {
    pub fn new(program: impl AsRef<OsStr>) -> Run {
        Run {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            dir: None,
            stdin: None,
            stdin_file: None,
            deadline: None,
            inherit_stdout: false,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Run {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Run {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Run {
        self.env
            .push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        self
    }

    pub fn dir(mut self, d: impl AsRef<Path>) -> Run {
        self.dir = Some(d.as_ref().to_path_buf());
        self
    }

    /// Bytes for its stdin (without: /dev/null).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(bytes.into());
        self
    }

    /// A file streamed to its stdin (a database import: never read into memory).
    pub fn stdin_file(mut self, path: impl AsRef<Path>) -> Run {
        self.stdin_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Kill the command, and every process of its group, once this much time has passed.
    pub fn deadline(mut self, limit: Duration) -> Run {
        self.deadline = Some(limit);
        self
    }

    /// Let its stdout through to ours (a legacy script run in our place prints for our caller).
    pub fn inherit_stdout(mut self) -> Run {
        self.inherit_stdout = true;
        self
    }

    /// The program's name, for messages.
    pub fn name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// The command line with its environment, directory and stdin bytes (if any).
    fn base(&self) -> duct::Expression {
        let mut e = duct::cmd(&self.program, &self.args).unchecked();
        for (k, v) in &self.env {
            e = e.env(k, v);
        }
        if let Some(d) = &self.dir {
            e = e.dir(d);
        }
        if let Some(b) = &self.stdin {
            e = e.stdin_bytes(b.clone());
        }
        if let Some(p) = &self.stdin_file {
            e = e.stdin_path(p);
        }
        e
    }

    fn expression(&self) -> duct::Expression {
        let mut e = self.base();
        if self.stdin.is_none() && self.stdin_file.is_none() {
            e = e.stdin_null();
        }
        if !self.inherit_stdout {
            e = e.stdout_capture();
        }
        e = e.stderr_capture();
        if self.deadline.is_some() {
            // Its own process group, so the deadline takes its children too.
            e = e.before_spawn(|c| {
                c.process_group(0);
                Ok(())
            });
        }
        e
    }

    /// Run it to completion (or to its deadline). `Err` only when it could not be started.
    pub fn output(&self) -> Result<Output> {
        log::debug!("run {}", self.name());
        let handle = self
            .expression()
            .start()
            .map_err(|e| Error::io(format!("cannot run {}", self.name()), e))?;
        let done = match self.deadline {
            None => handle.wait().map(Some),
            Some(limit) => handle.wait_deadline(Instant::now() + limit),
        }
        .map_err(|e| Error::io(format!("running {}", self.name()), e))?;
        match done {
            Some(o) => Ok(Output {
                code: o.status.code(),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                timed_out: false,
            }),
            None => {
                for pid in handle.pids() {
                    kill_group(pid);
                }
                let _ = handle.kill();
                // Reap it; a grandchild that left the group and kept our pipes open cannot
                // hold us: its output is abandoned after a moment.
                let _ = handle.wait_deadline(Instant::now() + Duration::from_secs(1));
                log::debug!("{} passed its deadline: killed", self.name());
                Ok(Output {
                    timed_out: true,
                    ..Output::default()
                })
            }
        }
    }

    /// Run it; `Ok(stdout)` when it exits 0, else an error naming the program and the first
    /// line it wrote to stderr (`kind` builds the error: a cloud CLI's failure is
    /// `Error::Remote`, a system tool's `Error::Io`).
    pub fn stdout_or(&self, kind: fn(String) -> Error) -> Result<String> {
        let o = self.output()?;
        if o.success() {
            return Ok(o.stdout);
        }
        Err(kind(if o.timed_out {
            format!("{} did not finish in time", self.name())
        } else {
            format!("{} failed: {}", self.name(), o.first_error_line())
        }))
    }

    /// Run it with its stdout handed to `sink` chunk by chunk as it comes (never held whole: a
    /// database dump), stderr captured. A sink error kills the command (and its group, when it
    /// has a deadline) and is returned; otherwise the [`Output`] (its `stdout` empty) tells how
    /// it ended. The deadline, if any, is checked between chunks.
    pub fn stream_stdout(&self, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<Output> {
        use std::io::Read;
        log::debug!("run {} (streamed)", self.name());
        let mut e = self.base();
        if self.stdin.is_none() && self.stdin_file.is_none() {
            e = e.stdin_null();
        }
        e = e.stderr_capture();
        if self.deadline.is_some() {
            e = e.before_spawn(|c| {
                c.process_group(0);
                Ok(())
            });
        }
        let mut reader = e
            .reader()
            .map_err(|err| Error::io(format!("cannot run {}", self.name()), err))?;
        let started = Instant::now();
        let mut buf = vec![0u8; 256 * 1024];
        let stop = |reader: &duct::ReaderHandle| {
            for pid in reader.pids() {
                if self.deadline.is_some() {
                    kill_group(pid);
                }
            }
            let _ = reader.kill();
        };
        loop {
            let n = match reader.read(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    stop(&reader);
                    return Err(Error::io(format!("reading from {}", self.name()), err));
                }
            };
            if n == 0 {
                break;
            }
            if let Err(err) = sink(&buf[..n]) {
                stop(&reader);
                return Err(err);
            }
            if self.deadline.is_some_and(|d| started.elapsed() > d) {
                stop(&reader);
                log::debug!("{} passed its deadline: killed", self.name());
                return Ok(Output {
                    timed_out: true,
                    ..Output::default()
                });
            }
        }
        let done = reader
            .try_wait()
            .map_err(|err| Error::io(format!("running {}", self.name()), err))?;
        let o = match done {
            Some(o) => o,
            None => {
                return Err(Error::Io(format!(
                    "{} closed its output but did not exit",
                    self.name()
                )))
            }
        };
        Ok(Output {
            code: o.status.code(),
            stdout: String::new(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            timed_out: false,
        })
    }

    /// Run it to completion with our stdin, stdout and stderr (its deadline, if any, is not
    /// applied); its exit code.
    pub fn status(&self) -> Result<Option<i32>> {
        self.base()
            .run()
            .map(|o| o.status.code())
            .map_err(|err| Error::io(format!("cannot run {}", self.name()), err))
    }

    /// Start it and leave it running (a server of the local cloud), stdio on /dev/null; its
    /// process id.
    pub fn spawn_detached(&self) -> Result<u32> {
        let mut c = std::process::Command::new(&self.program);
        c.args(&self.args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(d) = &self.dir {
            c.current_dir(d);
        }
        c.spawn()
            .map(|child| child.id())
            .map_err(|e| Error::io(format!("cannot start {}", self.name()), e))
    }
}

/// SIGKILL to the process group `pgid` (positive: never "every process").
fn kill_group(pgid: u32) {
    use nix::sys::signal::{killpg, Signal};
    if let Ok(p) = i32::try_from(pgid) {
        if p > 1 {
            let _ = killpg(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
        }
    }
}

/// Send `sig` to process `pid`; only a positive id other than 1 (a bad pid file can never
/// signal every process). Returns whether it was delivered.
pub fn signal(pid: i32, sig: nix::sys::signal::Signal) -> bool {
    pid > 1 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok()
}

/// Whether a process id names a live process (signal 0; a process we may not signal, EPERM,
/// is alive too).
pub fn is_alive(pid: i32) -> bool {
    pid > 1
        && match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
            Ok(()) => true,
            Err(e) => e == nix::errno::Errno::EPERM,
        }
}

/// A program on PATH (where tests put stand-ins), else in `fallback` directories that cron's
/// bare PATH lacks.
pub fn find_program(prog: &str, fallback: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(fallback.iter().map(PathBuf::from));
    let paths = std::env::join_paths(dirs).ok()?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in(prog, Some(paths), cwd).ok()
}

/// How to reach a fleet machine over SSH: the fleet key, user and port, and each connection's
/// timeout.
#[derive(Clone, Debug)]
pub struct SshTarget {
    pub user: String,
    pub port: u16,
    pub key: PathBuf,
    pub timeout: Duration,
    /// Keep one connection per machine open and reuse it (None: a new connection, with its key
    /// exchange, for every command).
    pub mux: Option<Mux>,
    /// Key exchange algorithms tried before ssh's own list (OpenSSH's `^` prefix), e.g.
    /// `curve25519-sha256`; None: ssh's own order.
    pub kex_first: Option<String>,
    /// The host keys to hold the machine to (`StrictHostKeyChecking=yes` against this file);
    /// None: not checked (`UserKnownHostsFile=/dev/null`), as the 2022 helpers did.
    pub known_hosts: Option<PathBuf>,
}

/// Connection reuse: OpenSSH's control master, its socket `<dir>/<host>-<port>`, kept open
/// `persist` after its last use, probed every 2 s so a dead machine's connection goes soon.
#[derive(Clone, Debug)]
pub struct Mux {
    pub dir: PathBuf,
    pub persist: Duration,
}

impl Mux {
    /// The control socket for `host` (it exists while a connection is open).
    pub fn socket(&self, host: std::net::IpAddr, port: u16) -> PathBuf {
        self.dir.join(format!("{host}-{port}"))
    }
}

/// Run `remote` on `host` over SSH (batch mode, only the fleet key, no host-key prompts),
/// within the target's timeout plus `extra`; `input` goes to its stdin (never argv). Returns
/// whether it exited 0, and its stdout.
pub fn ssh(
    host: std::net::IpAddr,
    t: &SshTarget,
    remote: &str,
    input: Option<&[u8]>,
    extra: Duration,
) -> (bool, String) {
    match ssh_output(host, t, remote, input, extra) {
        Ok(o) => (o.success(), o.stdout),
        Err(_) => (false, String::new()),
    }
}

/// [`ssh`], with the whole [`Output`] (whether it timed out, its exit status: 255 is ssh's own
/// failure to connect or authenticate).
pub fn ssh_output(
    host: std::net::IpAddr,
    t: &SshTarget,
    remote: &str,
    input: Option<&[u8]>,
    extra: Duration,
) -> Result<Output> {
    let mut run = Run::new("ssh")
        .args(ssh_options(host, t, "no"))
        .arg(format!("{}@{host}", t.user))
        .arg(remote)
        .deadline(t.timeout + Duration::from_millis(500) + extra);
    if let Some(b) = input {
        run = run.stdin(b);
    }
    run.output()
}

/// `scp` of `remote` (a path or glob on the machine) into `local`, with [`ssh`]'s options for
/// `t` (its host key check among them).
pub fn scp_from(
    host: std::net::IpAddr,
    t: &SshTarget,
    remote: &str,
    local: &Path,
    deadline: Duration,
) -> Result<Output> {
    let mut o = ssh_options(host, t, "no");
    o[0] = "-P".into();
    Run::new("scp")
        .args(o)
        .arg(format!("{}@{host}:{remote}", t.user))
        .arg(local)
        .deadline(deadline)
        .output()
}

/// ssh's options for `t` (`master`: its ControlMaster when `t` keeps connections). A command
/// uses a kept connection but never becomes its master (`no`): a master that `auto` forks into
/// the background would hold the command's output pipes, and the caller would wait for them
/// as long as the master lives; masters are opened only by [`ssh_open`], with no pipes.
fn ssh_options(host: std::net::IpAddr, t: &SshTarget, master: &str) -> Vec<String> {
    let secs = t.timeout.as_secs().max(1);
    let mut o: Vec<String> = vec!["-p".into(), t.port.to_string(), "-i".into()];
    o.push(t.key.to_string_lossy().into_owned());
    let (known, strict) = match &t.known_hosts {
        Some(f) => (f.to_string_lossy().into_owned(), "yes"),
        None => ("/dev/null".to_string(), "no"),
    };
    for opt in [
        format!("ConnectTimeout={secs}"),
        "ConnectionAttempts=1".into(),
        "BatchMode=yes".into(),
        format!("UserKnownHostsFile={known}"),
        format!("StrictHostKeyChecking={strict}"),
        "LogLevel=ERROR".into(),
        // Only the fleet key counts; no Kerberos or DNS round trips before it is tried.
        "GSSAPIAuthentication=no".into(),
        "PreferredAuthentications=publickey".into(),
    ] {
        o.extend(["-o".into(), opt]);
    }
    if let Some(k) = &t.kex_first {
        o.extend(["-o".into(), format!("KexAlgorithms=^{k}")]);
    }
    if let Some(m) = &t.mux {
        for opt in [
            format!("ControlMaster={master}"),
            format!("ControlPath={}", m.socket(host, t.port).display()),
            format!("ControlPersist={}", m.persist.as_secs().max(1)),
            "ServerAliveInterval=2".into(),
            "ServerAliveCountMax=2".into(),
        ] {
            o.extend(["-o".into(), opt]);
        }
    }
    o
}

/// A kept connection being opened by [`ssh_open`].
pub struct Opening {
    handle: duct::Handle,
    marker: PathBuf,
}

/// How an [`Opening`] went.
pub enum Opened {
    /// Logged in: the connection is kept in the background.
    Up,
    /// ssh gave up (its exit code: 255 for its own failure).
    Failed(Option<i32>),
    /// Still logging in.
    Pending(Box<Opening>),
}

impl Opening {
    /// Wait for the login until `until`.
    pub fn wait_until(self, until: Instant) -> Opened {
        match self.handle.wait_deadline(until) {
            Ok(Some(o)) => {
                let _ = std::fs::remove_file(&self.marker);
                if o.status.success() {
                    Opened::Up
                } else {
                    Opened::Failed(o.status.code())
                }
            }
            Ok(None) => Opened::Pending(Box::new(self)),
            Err(_) => {
                let _ = std::fs::remove_file(&self.marker);
                Opened::Failed(None)
            }
        }
    }

    /// Let it go on without us: it keeps the connection for later if it logs in (a thread
    /// reaps it, while this process lives).
    pub fn detach(self) {
        std::thread::spawn(move || {
            let _ = self.handle.wait();
            let _ = std::fs::remove_file(&self.marker);
        });
    }

    /// Give up on it.
    pub fn kill(self) {
        let _ = self.handle.kill();
        let _ = std::fs::remove_file(&self.marker);
    }
}

/// How long an opening's marker holds off another one (one left by a process that has gone).
const OPENING_STALE: Duration = Duration::from_secs(30);

/// Start opening the kept connection to `host` (`t` must keep connections): `ssh -f -N` as the
/// control master, which goes to the background once logged in. None when `t` keeps no
/// connections, or another opening of the same connection is under way (its marker
/// `<socket>.opening`, younger than 30 s): two masters must not race for one socket, the
/// loser would stay connected outside it.
pub fn ssh_open(host: std::net::IpAddr, t: &SshTarget) -> Result<Option<Opening>> {
    let Some(m) = &t.mux else { return Ok(None) };
    let mut marker = m.socket(host, t.port).into_os_string();
    marker.push(".opening");
    let marker = PathBuf::from(marker);
    let fresh = std::fs::metadata(&marker)
        .and_then(|md| md.modified())
        .is_ok_and(|at| at.elapsed().unwrap_or_default() < OPENING_STALE);
    if fresh {
        return Ok(None);
    }
    let _ = std::fs::remove_file(&marker);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(Error::io(marker.display(), e)),
    }
    log::debug!("run ssh (opening a kept connection to {host})");
    let mut args = vec!["-f".to_string(), "-N".to_string()];
    args.extend(ssh_options(host, t, "yes"));
    args.push(format!("{}@{host}", t.user));
    // No pipes: the master that stays in the background must not hold any of ours.
    match duct::cmd("ssh", &args)
        .stdin_null()
        .stdout_null()
        .stderr_null()
        .unchecked()
        .start()
    {
        Ok(handle) => Ok(Some(Opening { handle, marker })),
        Err(e) => {
            let _ = std::fs::remove_file(&marker);
            Err(Error::io("cannot run ssh", e))
        }
    }
}

/// A remote shell command that runs `cmd` as root: directly when SSH logged in as root, else
/// through `sudo -S`, which reads the password from stdin (never argv).
pub fn as_root(cmd: &str) -> String {
    format!("if [ \"$(id -u)\" = 0 ]; then {cmd}; else sudo -S -p '' {cmd}; fi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_kills_the_command_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let start = Instant::now();
        let o = Run::new("sh")
            .arg("-c")
            .arg(format!("sleep 30 & echo $! > {}; wait", pidfile.display()))
            .deadline(Duration::from_millis(500))
            .output()
            .unwrap();
        assert!(!o.success());
        assert!(o.timed_out);
        assert!(start.elapsed() < Duration::from_secs(5));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let alive = std::path::Path::new(&format!("/proc/{}", pid.trim())).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .unwrap_or_default()
                .contains(") Z ");
        assert!(!alive, "the script's child outlived the deadline");
    }

    #[test]
    fn input_reaches_stdin_and_output_comes_back() {
        let o = Run::new("cat")
            .stdin(&b"secret\n"[..])
            .deadline(Duration::from_secs(5))
            .output()
            .unwrap();
        assert!(o.success());
        assert_eq!(o.stdout, "secret\n");
    }

    #[test]
    fn failures_name_the_program_and_its_first_error_line() {
        let e = Run::new("sh")
            .args(["-c", "echo first >&2; echo second >&2; exit 3"])
            .stdout_or(Error::Remote)
            .unwrap_err();
        assert_eq!(e.to_string(), "cloud error: sh failed: first");
        let e = Run::new("/no/such/program").output().unwrap_err();
        assert!(e.to_string().contains("cannot run /no/such/program"), "{e}");
    }

    #[test]
    fn signals_never_go_to_every_process() {
        use nix::sys::signal::Signal;
        assert!(!signal(-1, Signal::SIGTERM));
        assert!(!signal(0, Signal::SIGTERM));
        assert!(!signal(1, Signal::SIGTERM));
        assert!(is_alive(std::process::id() as i32));
    }

    #[test]
    fn programs_are_found_on_path_then_in_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("adt-test-tool");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let fallback = dir.path().to_string_lossy().into_owned();
        assert_eq!(find_program("adt-test-tool", &[&fallback]), Some(p));
        assert_eq!(find_program("adt-test-tool", &[]), None);
    }
}
