//! Webserver health, as the 2022 DeadOrAlive.sh defined it, checked for every server at once.
//!
//! A webserver is alive when, in this order (short-circuit, as legacy):
//! 1. it has not been taken out by scale-down (no local `runtime/IPREMOVED:<ip>`);
//! 2. SSH with the fleet key finds `<H>/runtime/WEBSERVER_READY` on it;
//! 3. `https://<ip>:443/<probe>` answers 200 or 301 (probe `index.php` for PHP applications).
//!
//! Strikes (DeadOrAlive): each sweep adds one verdict per server to a sliding window kept in
//! the datastore at `adt-health/<ip>`, where every autoscaler adds to it; a server is down when
//! 3 of its last 5 sweeps found it down ([`Strikes`]; `ADT_STRIKES`, `ADT_STRIKE_WINDOW`). Down
//! verdicts within the grace (30 minutes, `ADT_BUILD_GRACE_SECS`) count for nothing; the grace
//! runs from the server's creation as the cloud reports it (or this autoscaler's
//! `runtime/protectedfromtermination/<ip>`, whichever is earlier), so it holds for servers the
//! other autoscaler built. The window is forgotten only once the server is gone: a removal that
//! fails (DNS, the cloud) keeps the strikes. The legacy `runtime/POTENTIALLY_DOWN.log` mirrors
//! the strikes (one `POTENTIALLY DOWN <ip>` line each). `adt health-sweep --record` keeps the
//! legacy local log ([`record`]).
//!
//! Differences from legacy: servers are checked concurrently with hard timeouts (a sweep takes
//! about one timeout, not a sum over dead servers); the ping phase (up to 30 × `ping -c 10`) is
//! dropped, an HTTPS answer proves reachability; IPs match exactly (legacy grep made `10.0.0.1`
//! clear `10.0.0.10`'s strikes); strikes add up as above (legacy: one healthy sweep cleared
//! them all, a server was struck only by the autoscaler that built it, and a failed removal
//! lost them).

use crate::error::{Error, Result};
use crate::fsutil;
use crate::process::{self, Mux, SshTarget};
use crate::site::Site;
use crate::sshmux;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

#[derive(Clone, Debug)]
pub struct Config {
    pub home: PathBuf,
    /// The fleet's SSH user, port and key; its timeout is each check's.
    pub ssh: SshTarget,
    /// Path of the readiness file on the webserver.
    pub ready_file: String,
    pub probe: String,
    pub https_port: u16,
    /// Each check's timeout.
    pub timeout: Duration,
    /// HTTPS tries (legacy 4, 5 s apart).
    pub http_tries: u32,
    /// Servers checked at once at the most (0: all of them).
    pub parallel: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    Removed,
    NotReady,
    Http(String),
    /// No verdict: the sweep's time ran out before this server could be checked (its first
    /// SSH connection still to be opened), or it did not answer in time while this machine
    /// was saturated. Neither up nor down: no strike, not added to DNS.
    Unchecked,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub ip: IpAddr,
    /// None: alive.
    pub failure: Option<Why>,
}

impl Verdict {
    pub fn alive(&self) -> bool {
        self.failure.is_none()
    }

    /// Whether this sweep said anything of the server (see [`Why::Unchecked`]).
    pub fn checked(&self) -> bool {
        self.failure != Some(Why::Unchecked)
    }
}

/// What SSH said of a server's readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SshSaid {
    Ready,
    /// It answered: no readiness file, or the login was refused.
    NotReady,
    /// Its SSH port did not accept a connection within the timeout (the kernel answers that
    /// without any process of the server running: load on either side does not cause it).
    Unreachable,
    /// It accepted the connection but SSH gave no answer within the timeout.
    TimedOut,
    /// The sweep's time ran out before the check could be made or finished.
    Unchecked,
}

/// SSH's word on `ip`. A new SSH connection (with its key exchange) waits for a turn from
/// `opening` once the server's SSH port has taken a TCP connection, and holds it until SSH
/// answers. `until`: the sweep's end; a check that no longer has its whole timeout before it
/// gets what is left, and one cut short by it is `Unchecked`, not late.
fn ssh_ready(ip: IpAddr, c: &Config, opening: Option<&Opening>, until: Option<Instant>) -> SshSaid {
    // The time a step may take from now (`overrun`: how far past its timeout it may run), and
    // whether that is less than a check's timeout.
    let allowance = |overrun: Duration| {
        let left = until.map_or(c.timeout, |u| {
            u.saturating_duration_since(Instant::now())
                .saturating_sub(overrun)
        });
        (left.min(c.timeout), left < c.timeout)
    };
    let command = format!("[ -e {} ] && echo ready", c.ready_file);
    // Through the kept connection's master, with no `ssh` process: None when there is no
    // master (a stale socket goes) or it could not be used (the `ssh` client tries below).
    let through_master = || -> Option<SshSaid> {
        let socket = c.ssh.mux.as_ref()?.socket(ip, c.ssh.port);
        if !socket.exists() {
            return None;
        }
        let (timeout, cut) = allowance(Duration::ZERO);
        if timeout < MIN_CHECK {
            return Some(SshSaid::Unchecked);
        }
        match sshmux::run(&socket, &command, Instant::now() + timeout) {
            Ok(r) if r.code == Some(0) && !r.stdout.trim_ascii().is_empty() => Some(SshSaid::Ready),
            Ok(_) => Some(SshSaid::NotReady),
            Err(sshmux::Failed::TimedOut) if cut => Some(SshSaid::Unchecked),
            Err(sshmux::Failed::TimedOut) => Some(SshSaid::TimedOut),
            Err(sshmux::Failed::NoMaster) => {
                let _ = std::fs::remove_file(&socket);
                None
            }
            Err(sshmux::Failed::Master(why)) => {
                log::debug!("{ip}: the kept connection's master: {why}");
                None
            }
        }
    };
    let kept = match through_master() {
        Some(said) => return said,
        None => c
            .ssh
            .mux
            .as_ref()
            .is_some_and(|m| m.socket(ip, c.ssh.port).exists()),
    };
    if !kept {
        let probe = match (opening, until) {
            (Some(o), Some(u)) => match o.probing.take_before(u) {
                Some(t) => Some(t),
                None => return SshSaid::Unchecked,
            },
            _ => None,
        };
        let (connect, cut) = allowance(Duration::ZERO);
        if connect < MIN_CHECK {
            return SshSaid::Unchecked;
        }
        let reached =
            std::net::TcpStream::connect_timeout(&(ip, c.ssh.port).into(), connect).is_ok();
        drop(probe);
        if !reached {
            return if cut {
                SshSaid::Unchecked
            } else {
                SshSaid::Unreachable
            };
        }
        let turn = match (opening, until) {
            (Some(o), Some(u)) => match o.logins.take_before(u) {
                Some(t) => Some(t),
                None => return SshSaid::Unchecked,
            },
            (Some(o), None) => Some(o.logins.take()),
            (None, _) => None,
        };
        // The kept connection is opened on its own, so that a login the sweep has no time to
        // wait for goes on and serves the next sweep.
        let (login, cut) = allowance(SSH_OVERRUN);
        if login < MIN_CHECK {
            return SshSaid::Unchecked;
        }
        let target = SshTarget {
            timeout: login,
            ..c.ssh.clone()
        };
        let started = Instant::now();
        match process::ssh_open(ip, &target) {
            Ok(Some(o)) => match o.wait_until(started + login + SSH_OVERRUN) {
                process::Opened::Up => {}
                process::Opened::Pending(o) if cut => {
                    o.detach();
                    return SshSaid::Unchecked;
                }
                process::Opened::Pending(o) => {
                    o.kill();
                    return SshSaid::TimedOut;
                }
                process::Opened::Failed(code) => {
                    return if code == Some(255) && started.elapsed() >= login.mul_f32(0.9) {
                        if cut {
                            SshSaid::Unchecked
                        } else {
                            SshSaid::TimedOut
                        }
                    } else {
                        SshSaid::NotReady
                    };
                }
            },
            // Being opened by an earlier sweep: its turn comes.
            Ok(None) if c.ssh.mux.is_some() => return SshSaid::Unchecked,
            // No kept connections: the check below opens its own.
            Ok(None) => {}
            Err(_) => return SshSaid::TimedOut,
        }
        drop(turn);
        if let Some(said) = through_master() {
            return said;
        }
    }
    let (timeout, cut) = allowance(SSH_OVERRUN);
    if timeout < MIN_CHECK {
        return SshSaid::Unchecked;
    }
    let target = SshTarget {
        timeout,
        ..c.ssh.clone()
    };
    let started = Instant::now();
    match process::ssh_output(ip, &target, &command, None, Duration::ZERO) {
        Ok(o) if o.success() && !o.stdout.trim().is_empty() => SshSaid::Ready,
        // ssh's own failure (255) after about the connect timeout: no answer.
        Ok(o)
            if o.timed_out
                || (o.code == Some(255) && started.elapsed() >= timeout.mul_f32(0.9)) =>
        {
            if cut {
                SshSaid::Unchecked
            } else {
                SshSaid::TimedOut
            }
        }
        Ok(_) => SshSaid::NotReady,
        Err(_) if cut => SshSaid::Unchecked,
        Err(_) => SshSaid::TimedOut,
    }
}

/// How far past its timeout an SSH check may run (the deadline [`process::ssh_output`] sets).
const SSH_OVERRUN: Duration = Duration::from_millis(500);
/// Less time than this left in a sweep: a check is not started.
const MIN_CHECK: Duration = Duration::from_millis(300);

/// The HTTPS verdict from curl's status code: `Ok` for 200 or 301.
fn http_verdict(code: &str) -> std::result::Result<(), String> {
    match code.trim() {
        "200" | "301" => Ok(()),
        "" | "000" => Err(NO_ANSWER.into()),
        other => Err(format!("HTTP {other}")),
    }
}

/// No answer in time (which load on this machine can cause).
const NO_ANSWER: &str = "no HTTPS answer";
/// Answers no load causes.
const REFUSED: &str = "HTTPS connection refused";
const CLOSED: &str = "HTTPS connection closed without an answer";

/// Why an HTTPS exchange failed: a timeout is no answer; a refusal or a reset is the server's.
fn io_why(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => REFUSED.into(),
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => CLOSED.into(),
        _ => NO_ANSWER.into(),
    }
}

/// TLS for the HTTPS probe: any certificate is accepted, as legacy's `curl -k` did (the
/// webservers' certificates are for the site's name, and the probe goes to an address).
#[derive(Debug)]
struct AnyCertificate(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config() -> Option<std::sync::Arc<rustls::ClientConfig>> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Some(std::sync::Arc::new(config))
}

/// A TCP stream whose every read and write ends by one instant (the TLS handshake reads and
/// writes several times: a timeout set once would let each of them take it whole).
struct ByDeadline {
    sock: std::net::TcpStream,
    until: Instant,
}

impl ByDeadline {
    fn left(&self) -> std::io::Result<Duration> {
        self.until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| std::io::ErrorKind::TimedOut.into())
    }
}

impl std::io::Read for ByDeadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.sock.set_read_timeout(Some(self.left()?))?;
        self.sock.read(buf)
    }
}

impl std::io::Write for ByDeadline {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.set_write_timeout(Some(self.left()?))?;
        self.sock.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sock.flush()
    }
}

/// One HTTPS GET of the probe file, in this process (no `curl` started per server), over by
/// `timeout` from its start: the status code, or why there is none.
fn https_get(
    ip: IpAddr,
    c: &Config,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> std::result::Result<u16, String> {
    use std::io::{Read, Write};
    let until = Instant::now() + timeout;
    let sock = std::net::TcpStream::connect_timeout(&(ip, c.https_port).into(), timeout)
        .map_err(|e| io_why(&e))?;
    let conn = rustls::ClientConnection::new(
        tls.clone(),
        rustls::pki_types::ServerName::IpAddress(ip.into()),
    )
    .map_err(|e| format!("TLS: {e}"))?;
    let mut tls = rustls::StreamOwned::new(conn, ByDeadline { sock, until });
    let host = match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    tls.write_all(
        format!(
            "GET /{} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: adt-health\r\nConnection: close\r\n\r\n",
            c.probe
        )
        .as_bytes(),
    )
    .map_err(|e| io_why(&e))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        match tls.read(&mut buf) {
            Ok(0) => return Err(CLOSED.into()),
            Err(e) => return Err(io_why(&e)),
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 4096 {
            break;
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| NO_ANSWER.to_string())
}

/// The HTTPS verdict for one server, with legacy's second try half a second after a failed
/// first one; None when `until` (the sweep's end) cut a try short that got no answer.
fn https_status(
    ip: IpAddr,
    c: &Config,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    until: Option<Instant>,
) -> Option<std::result::Result<(), String>> {
    let mut last = Err(NO_ANSWER.to_string());
    for attempt in 0..c.http_tries.max(1) {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        let left = until.map_or(c.timeout, |u| u.saturating_duration_since(Instant::now()));
        if left < MIN_CHECK {
            // Out of time: the tries made so far are the verdict, if one was made.
            return (attempt > 0).then_some(last);
        }
        let cut = left < c.timeout;
        last = match https_get(ip, c, tls, left.min(c.timeout)) {
            Ok(code) => http_verdict(&code.to_string()),
            Err(why) if cut && why == NO_ANSWER => return None,
            Err(why) => Err(why),
        };
        if last.is_ok() {
            break;
        }
    }
    Some(last)
}

fn removed(ip: IpAddr, c: &Config) -> bool {
    c.home
        .join("runtime")
        .join(format!("IPREMOVED:{ip}"))
        .exists()
}

pub fn check(ip: IpAddr, c: &Config) -> Verdict {
    let failure = if removed(ip, c) {
        Some(Why::Removed)
    } else if ssh_ready(ip, c, None, None) != SshSaid::Ready {
        Some(Why::NotReady)
    } else {
        match tls_config() {
            Some(tls) => https_status(ip, c, &tls, None)
                .and_then(|r| r.err())
                .map(Why::Http),
            None => Some(Why::Http("no TLS configuration".into())),
        }
    };
    Verdict { ip, failure }
}

/// How many new connections a sweep opens at once: TCP connections that test a server's SSH
/// port (each costs the server a process; too many at once overflow its listen queue), and
/// logins (key exchanges).
struct Opening {
    probing: Slots,
    logins: Slots,
}

/// At most `max` holders at once; [`Slots::take`] waits for a turn.
struct Slots {
    held: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    max: usize,
}

/// A turn, given back when dropped.
struct Turn<'a>(&'a Slots);

impl Slots {
    fn new(max: usize) -> Slots {
        Slots {
            held: std::sync::Mutex::new(0),
            freed: std::sync::Condvar::new(),
            max: max.max(1),
        }
    }

    fn take(&self) -> Turn<'_> {
        let mut n = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= self.max {
            n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n += 1;
        Turn(self)
    }

    /// A turn, if one comes before `until`.
    fn take_before(&self, until: Instant) -> Option<Turn<'_>> {
        let mut n = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= self.max {
            let left = until.checked_duration_since(Instant::now())?;
            n = self
                .freed
                .wait_timeout(n, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *n += 1;
        Some(Turn(self))
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.held.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

/// This machine's CPU time so far (busy, all) from `/proc/stat`, to tell whether a sweep ran
/// on a saturated machine.
fn cpu_times() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = text
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    let all: u64 = v.iter().take(8).sum();
    Some((all - idle, all))
}

/// Check every server at once, within [`sweep_time`] (a tenth more than one check's timeout):
/// a check that cannot be made in that time leaves its server [`Why::Unchecked`].
/// - SSH over one kept connection per server (see [`Config::ssh`]'s `mux`): a server pays its
///   key exchange once, not every sweep. A server without one has its SSH port tested (at most
///   32 per core at once), then its connection opened on its own (at most
///   `ADT_SSH_NEW_AT_ONCE`, default 8 per core, at once); a login the sweep cannot wait for
///   goes on and serves the next sweep. A check's timeout runs from its start, so a queued
///   check is never a late one;
/// - HTTPS in this process (no `curl` per server), right after a server's SSH check found it
///   ready, at most 8 handshakes per core at once; its timeout runs from its start;
/// - a server whose SSH port does not take a TCP connection within the timeout is down (the
///   kernel answers a connect, so no load delays it); a server that took the connection but
///   did not answer in time while this machine was saturated (over 80% of its CPU busy during
///   the sweep) is unchecked: such a timeout says nothing about the server.
///
/// `parallel` caps the servers checked at once (0: all). Results in input order.
pub fn sweep(ips: &[IpAddr], c: &Config) -> Vec<Verdict> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    // Taken out by scale-down (IPREMOVED): looked at once per server.
    let gone: Vec<bool> = ips.iter().map(|ip| removed(*ip, c)).collect();
    let live: Vec<IpAddr> = ips
        .iter()
        .zip(&gone)
        .filter(|(_, g)| !**g)
        .map(|(ip, _)| *ip)
        .collect();
    let before = cpu_times();
    // The sweep's end: every check is made within it or left unchecked.
    let started = Instant::now();
    let until = started + sweep_time(c.timeout);
    let opening = Opening {
        probing: Slots::new(32 * cores),
        logins: Slots::new(crate::knobs::env_u64("ADT_SSH_NEW_AT_ONCE", 8 * cores as u64) as usize),
    };
    let workers = match c.parallel {
        0 => live.len(),
        n => n,
    }
    .clamp(1, 512.min(live.len().max(1)));
    let Some(tls) = tls_config() else {
        return ips
            .iter()
            .map(|ip| Verdict {
                ip: *ip,
                failure: Some(Why::Http("no TLS configuration".into())),
            })
            .collect();
    };
    // HTTPS handshakes at once (each costs the server a private-key operation).
    let https = Slots::new((8 * cores).max(4));
    let next = AtomicUsize::new(0);
    type Found = (SshSaid, Option<std::result::Result<(), String>>);
    let found: Mutex<Vec<Found>> = Mutex::new(vec![(SshSaid::Unchecked, None); live.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(ip) = live.get(i) else { break };
                let ssh = ssh_ready(*ip, c, Some(&opening), Some(until));
                // HTTPS for the servers SSH found ready (legacy's order), a few at a time; its
                // timeout runs from its start.
                let web = (ssh == SshSaid::Ready).then(|| {
                    let _turn = https.take_before(until)?;
                    https_status(*ip, c, &tls, Some(until))
                });
                let late = Instant::now().saturating_duration_since(until);
                if late > Duration::from_millis(20) {
                    log::debug!(
                        "{ip}: checked {} ms after the sweep's end ({ssh:?}, {web:?})",
                        late.as_millis()
                    );
                }
                found.lock().unwrap_or_else(|e| e.into_inner())[i] = (ssh, web.flatten());
            });
        }
    });
    log::debug!(
        "sweep of {} servers ({workers} at once): {} ms, its time {} ms",
        live.len(),
        started.elapsed().as_millis(),
        sweep_time(c.timeout).as_millis()
    );
    let saturated = match (before, cpu_times()) {
        (Some((b0, a0)), Some((b1, a1))) if a1 > a0 => (b1 - b0) as f64 / (a1 - a0) as f64 > 0.8,
        _ => false,
    };
    let mut found = found
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter();
    ips.iter()
        .zip(&gone)
        .map(|(ip, gone)| {
            let failure = if *gone {
                Some(Why::Removed)
            } else {
                let (ssh, web) = found.next().unwrap_or((SshSaid::Unchecked, None));
                match (ssh, web) {
                    (SshSaid::Unchecked, _) | (SshSaid::Ready, None) => Some(Why::Unchecked),
                    // Late while this machine was saturated: says nothing of the server.
                    (SshSaid::TimedOut, _) if saturated => Some(Why::Unchecked),
                    (SshSaid::Ready, Some(Err(h))) if saturated && h == NO_ANSWER => {
                        Some(Why::Unchecked)
                    }
                    (SshSaid::TimedOut | SshSaid::NotReady | SshSaid::Unreachable, _) => {
                        Some(Why::NotReady)
                    }
                    (SshSaid::Ready, Some(web)) => web.err().map(Why::Http),
                }
            };
            Verdict { ip: *ip, failure }
        })
        .collect()
}

/// A sweep's time for checks of `timeout`: a tenth more, and at least what an SSH check
/// started at once may take.
fn sweep_time(timeout: Duration) -> Duration {
    (timeout + timeout / 10).max(timeout + SSH_OVERRUN)
}

/// The kept SSH connections of this machine's sweeps: `runtime/ssh-mux/` under its home (mode
/// 0700), or, when that path is too long for a socket, `/tmp/adt-ssh-<uid>-<hash of home>/`
/// (created 0700, refused unless owned by us). None when `ADT_SSH_PERSIST_SECS` is 0.
pub fn mux_for(home: &Path) -> Option<Mux> {
    let persist = crate::knobs::env_u64("ADT_SSH_PERSIST_SECS", 300);
    if persist == 0 {
        return None;
    }
    let mut dir = home.join("runtime").join("ssh-mux");
    // A socket path holds about 104 bytes: the host, the port and ssh's temporary suffix.
    if dir.as_os_str().len() > 50 {
        let h = home
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
            });
        dir = PathBuf::from(format!(
            "/tmp/adt-ssh-{}-{:08x}",
            nix::unistd::geteuid(),
            h as u32
        ));
    }
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() {
        log::debug!(
            "{} is not ours: SSH connections are not kept",
            dir.display()
        );
        return None;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    Some(Mux {
        dir,
        persist: Duration::from_secs(persist),
    })
}

pub const GRACE: Duration = Duration::from_secs(30 * 60);

/// Record a sweep's verdicts in `runtime/POTENTIALLY_DOWN.log`; returns the servers that are
/// now down (more than 2 strikes), whose lines are removed.
pub fn record(runtime: &Path, verdicts: &[Verdict], now: SystemTime) -> Result<Vec<IpAddr>> {
    std::fs::create_dir_all(runtime).map_err(|e| Error::io(runtime.display(), e))?;
    let log = runtime.join("POTENTIALLY_DOWN.log");
    let _lock = fsutil::Lock::exclusive(&runtime.join("POTENTIALLY_DOWN.adt-lock"))?;
    let mut lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let line_of = |ip: &IpAddr| format!("POTENTIALLY DOWN {ip}");
    let mut down = Vec::new();
    for v in verdicts.iter().filter(|v| v.checked()) {
        let mine = line_of(&v.ip);
        if v.alive() {
            lines.retain(|l| *l != mine);
            continue;
        }
        let built = runtime
            .join("protectedfromtermination")
            .join(v.ip.to_string());
        let past_grace = std::fs::metadata(&built)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() > GRACE)
            .unwrap_or(false);
        if past_grace {
            lines.push(mine.clone());
        }
        if lines.iter().filter(|l| **l == mine).count() > 2 {
            lines.retain(|l| *l != mine);
            down.push(v.ip);
        }
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    fsutil::write_atomic(&log, text.as_bytes(), None)?;
    Ok(down)
}

/// Where every autoscaler keeps a server's recent verdicts: `adt-health/<public ip>`, one
/// letter per sweep, oldest first (`d` down past its grace, `u` up).
pub const STRIKES_PREFIX: &str = "adt-health/";

/// Strike rules: down when `k` of the last `n` sweeps found it down (`ADT_STRIKES`, default 3;
/// `ADT_STRIKE_WINDOW`, default 5), counting only sweeps after the server's grace
/// (`ADT_BUILD_GRACE_SECS`, default 1800) measured from its creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Strikes {
    pub k: usize,
    pub n: usize,
    pub grace: Duration,
}

impl Strikes {
    pub fn from_env() -> Strikes {
        let n = crate::knobs::env_u64("ADT_STRIKE_WINDOW", 5).clamp(1, 50) as usize;
        let k = (crate::knobs::env_u64("ADT_STRIKES", 3) as usize).clamp(1, n);
        Strikes {
            k,
            n,
            grace: Duration::from_secs(crate::knobs::env_u64(
                "ADT_BUILD_GRACE_SECS",
                GRACE.as_secs(),
            )),
        }
    }

    /// The window after one more sweep: `alive`, or down and `past_grace`; a down verdict
    /// within the grace adds nothing.
    pub fn push(&self, window: &str, alive: bool, past_grace: bool) -> String {
        let mut w: Vec<char> = window.chars().filter(|c| matches!(c, 'd' | 'u')).collect();
        if alive {
            w.push('u');
        } else if past_grace {
            w.push('d');
        } else {
            return w.into_iter().collect();
        }
        let cut = w.len().saturating_sub(self.n);
        w[cut..].iter().collect()
    }

    pub fn is_down(&self, window: &str) -> bool {
        window.chars().filter(|c| *c == 'd').count() >= self.k
    }
}

/// A server's age from the earliest record of it: the creation time the cloud reports and this
/// autoscaler's `runtime/protectedfromtermination/<ip>`; None when neither is known.
pub fn age(runtime: &Path, ip: IpAddr, created: Option<u64>, now: SystemTime) -> Option<Duration> {
    let from_cloud = created.map(|c| SystemTime::UNIX_EPOCH + Duration::from_secs(c));
    let from_file = std::fs::metadata(
        runtime
            .join("protectedfromtermination")
            .join(ip.to_string()),
    )
    .and_then(|m| m.modified())
    .ok();
    let born = [from_cloud, from_file].into_iter().flatten().min()?;
    Some(now.duration_since(born).unwrap_or_default())
}

/// Record a sweep in every server's shared window in the datastore (`ages`: each verdict's
/// server age; unknown counts as past the grace; an unchecked server's window stays as it is). Returns the servers that are now down. The
/// windows are left as they are: the caller forgets a window with [`forget_strikes`] once the
/// server is gone, so a failed removal keeps its strikes. Also mirrors the strikes into the
/// legacy `runtime/POTENTIALLY_DOWN.log` (one `POTENTIALLY DOWN <ip>` line per strike).
pub fn record_shared(
    store: &dyn crate::datastore::Backend,
    runtime: &Path,
    verdicts: &[Verdict],
    ages: &[Option<Duration>],
    rules: &Strikes,
) -> Result<Vec<IpAddr>> {
    let mut down = Vec::new();
    let mut mirror = String::new();
    for (v, age) in verdicts.iter().zip(ages) {
        let key = format!("{STRIKES_PREFIX}{}", v.ip);
        let old = match store.get_bytes(&key) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(Error::NotFound(_)) => String::new(),
            Err(e) => return Err(e),
        };
        let past_grace = age.is_none_or(|a| a > rules.grace);
        // No verdict, no change.
        let new = if v.checked() {
            rules.push(&old, v.alive(), past_grace)
        } else {
            old.clone()
        };
        if new != old {
            store.put_bytes(&key, new.as_bytes())?;
        }
        for _ in new.chars().filter(|c| *c == 'd') {
            mirror.push_str(&format!("POTENTIALLY DOWN {}\n", v.ip));
        }
        if rules.is_down(&new) {
            down.push(v.ip);
        }
    }
    std::fs::create_dir_all(runtime).map_err(|e| Error::io(runtime.display(), e))?;
    let _lock = fsutil::Lock::exclusive(&runtime.join("POTENTIALLY_DOWN.adt-lock"))?;
    fsutil::write_atomic(
        &runtime.join("POTENTIALLY_DOWN.log"),
        mirror.as_bytes(),
        None,
    )?;
    Ok(down)
}

/// Forget a server's strikes (it is gone), and those of servers no longer listed.
pub fn forget_strikes(store: &dyn crate::datastore::Backend, ip: IpAddr) -> Result<()> {
    store.delete(&format!("{STRIKES_PREFIX}{ip}"))
}

/// The key exchange a health connection tries first: `curve25519-sha256` unless
/// `ADT_HEALTH_SSH_KEX` names another (empty: ssh's own order). OpenSSH 9's default,
/// `sntrup761x25519-sha512`, costs the client about 50 ms of CPU per connection and the server
/// more; its post-quantum half protects a session's secrets from later decryption, and a
/// health connection carries none (a file test and its one-word answer; the kept connections
/// serve the sweep alone). Both ends still authenticate with the same keys.
fn health_kex() -> Option<String> {
    match std::env::var("ADT_HEALTH_SSH_KEX") {
        Ok(k) if k.trim().is_empty() => None,
        Ok(k) => Some(k.trim().to_string()),
        Err(_) => Some("curve25519-sha256".into()),
    }
}

/// The sweep configuration from the autoscaler's settings (as DeadOrAlive derived it).
pub fn config_from(site: &Site, timeout: Duration) -> Result<Config> {
    let text = site.settings()?;
    let check = |p: &str| crate::config::check_value(&text, p) == "1\n";
    let probe = if check("APPLICATIONLANGUAGE:PHP") {
        "index.php"
    } else if check("APPLICATION:wordpress") {
        "wp-login.php"
    } else {
        ""
    };
    Ok(Config {
        home: site.home.clone(),
        ssh: SshTarget {
            mux: mux_for(&site.home),
            kex_first: health_kex(),
            known_hosts: None,
            ..crate::cloud::fleet_ssh(site, timeout)?
        },
        ready_file: crate::cloud::webserver_home(site)
            .join("runtime")
            .join("WEBSERVER_READY")
            .to_string_lossy()
            .into_owned(),
        probe: probe.into(),
        https_port: 443,
        timeout,
        http_tries: 2,
        parallel: 0,
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn strikes_add_up_in_a_sliding_window() {
        let r = Strikes {
            k: 3,
            n: 5,
            grace: GRACE,
        };
        let mut w = String::new();
        // Down, down, up, down: flapping is still three strikes of the last five.
        for (alive, down_after) in [(false, false), (false, false), (true, false), (false, true)] {
            w = r.push(&w, alive, true);
            assert_eq!(r.is_down(&w), down_after, "{w}");
        }
        assert_eq!(w, "ddud");
        // Old strikes slide out.
        let mut w = "ddu".to_string();
        for _ in 0..3 {
            w = r.push(&w, true, true);
        }
        assert_eq!(w, "duuuu");
        assert!(!r.is_down(&r.push(&w, false, true)));
        // Within the grace a down sweep adds nothing; an up one counts.
        assert_eq!(r.push("d", false, false), "d");
        assert_eq!(r.push("d", true, false), "du");
    }

    #[test]
    fn age_is_from_the_earliest_record() {
        let dir = tempfile::tempdir().unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(age(dir.path(), ip, None, now), None);
        assert_eq!(
            age(dir.path(), ip, Some(9_000), now),
            Some(Duration::from_secs(1_000))
        );
    }

    #[test]
    fn strikes_grace_and_exact_matching() {
        let dir = tempfile::tempdir().unwrap();
        let rt = dir.path();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.10".parse().unwrap();
        let young: IpAddr = "10.0.0.2".parse().unwrap();
        std::fs::create_dir_all(rt.join("protectedfromtermination")).unwrap();
        for ip in [a, b, young] {
            std::fs::write(rt.join("protectedfromtermination").join(ip.to_string()), "").unwrap();
        }
        let later = SystemTime::now() + Duration::from_secs(31 * 60);
        let dead = |ip| Verdict {
            ip,
            failure: Some(Why::NotReady),
        };
        let ok = |ip| Verdict { ip, failure: None };
        // Two strikes each for a and b.
        assert!(record(rt, &[dead(a), dead(b)], later).unwrap().is_empty());
        assert!(record(rt, &[dead(a), dead(b)], later).unwrap().is_empty());
        // a recovers: only a's lines go (10.0.0.10 is not 10.0.0.1).
        assert!(record(rt, &[ok(a)], later).unwrap().is_empty());
        let log = std::fs::read_to_string(rt.join("POTENTIALLY_DOWN.log")).unwrap();
        assert_eq!(
            log,
            "POTENTIALLY DOWN 10.0.0.10\nPOTENTIALLY DOWN 10.0.0.10\n"
        );
        // b's third strike: down, lines cleared.
        assert_eq!(record(rt, &[dead(b)], later).unwrap(), vec![b]);
        assert_eq!(
            std::fs::read_to_string(rt.join("POTENTIALLY_DOWN.log")).unwrap(),
            ""
        );
        // Within the grace period (built less than 30 minutes ago): never a strike.
        for _ in 0..5 {
            assert!(record(rt, &[dead(young)], SystemTime::now())
                .unwrap()
                .is_empty());
        }
        // Never built by this autoscaler (no protection file): never a strike.
        let stranger: IpAddr = "10.0.0.3".parse().unwrap();
        for _ in 0..5 {
            assert!(record(rt, &[dead(stranger)], later).unwrap().is_empty());
        }
    }

    #[test]
    fn an_unchecked_server_keeps_its_strikes_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let rt = dir.path().join("runtime");
        use crate::datastore::Backend;
        std::fs::create_dir_all(dir.path().join("store/config")).unwrap();
        let store = crate::datastore::local::LocalStore::new(&dir.path().join("store"), "config");
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let rules = Strikes {
            k: 3,
            n: 5,
            grace: GRACE,
        };
        let v = |failure| Verdict { ip, failure };
        let old = Some(Duration::from_secs(3600));
        for _ in 0..2 {
            record_shared(&store, &rt, &[v(Some(Why::NotReady))], &[old], &rules).unwrap();
        }
        // However many sweeps say nothing of it, it stays at two strikes.
        for _ in 0..5 {
            let down =
                record_shared(&store, &rt, &[v(Some(Why::Unchecked))], &[old], &rules).unwrap();
            assert!(down.is_empty());
        }
        assert_eq!(store.get_bytes("adt-health/10.0.0.7").unwrap(), b"dd");
        // The legacy log likewise.
        let rt = dir.path().join("legacy-runtime");
        std::fs::create_dir_all(rt.join("protectedfromtermination")).unwrap();
        std::fs::write(rt.join("protectedfromtermination").join(ip.to_string()), "").unwrap();
        let later = SystemTime::now() + Duration::from_secs(31 * 60);
        record(&rt, &[v(Some(Why::NotReady))], later).unwrap();
        record(&rt, &[v(Some(Why::Unchecked))], later).unwrap();
        record(&rt, &[v(Some(Why::Unchecked))], later).unwrap();
        assert_eq!(
            std::fs::read_to_string(rt.join("POTENTIALLY_DOWN.log")).unwrap(),
            "POTENTIALLY DOWN 10.0.0.7\n"
        );
        assert!(!v(Some(Why::Unchecked)).checked());
        assert!(!v(Some(Why::Unchecked)).alive());
        assert!(v(Some(Why::NotReady)).checked());
    }

    #[test]
    fn a_turn_that_does_not_come_in_time_is_given_up() {
        let slots = Slots::new(1);
        let held = slots.take();
        let asked = Instant::now();
        assert!(slots
            .take_before(asked + Duration::from_millis(100))
            .is_none());
        assert!(asked.elapsed() >= Duration::from_millis(100));
        drop(held);
        assert!(slots.take_before(Instant::now()).is_some());
    }

    #[test]
    fn a_sweep_takes_a_tenth_more_than_a_check_and_room_for_ssh() {
        assert_eq!(sweep_time(Duration::from_secs(10)), Duration::from_secs(11));
        assert_eq!(
            sweep_time(Duration::from_secs(3)),
            Duration::from_millis(3500)
        );
    }
}
