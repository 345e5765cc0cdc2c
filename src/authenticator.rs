//! The 2025 authentication server's authenticator, as a small HTTP handler (no PHP): a client
//! asks for access with an e-mail address of the allowed domain, gets a one-time link that
//! expires, and opening the link authorises the address the request actually came from. The
//! authorised addresses are published where the proxies read them (`firewall::auth`):
//! `firewall-laptop-ips/ipaddresses.dat.<own IP>` in `<url->-firewall-auth-laptop-ips`, one
//! address a line (the legacy format, so legacy proxies read it too), and each is withdrawn
//! when its claim expires.
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | the form asking for the e-mail address |
//! | `POST /request` (`email=…`) | 403 unless the address ends in `@<USEREMAILDOMAIN>` (checked here, not only in the browser); else a one-time link `<link base>/claim/<token>` (128 random bits, valid `token_ttl`) is handed to the mail outbox |
//! | `GET /claim/<token>` | 404 for an unknown or used token, 410 for an expired one; else the token is spent and the peer address of this very connection is authorised for `claim_ttl` |
//!
//! Differences from legacy (`index.html` → `submit.php` → mailed `ip-address-<16>.html` →
//! `submit1.php`, AcceptIPAddresses.sh): the e-mail domain is enforced by the server; the
//! address is observed, never typed into a form (a forwarded-for header is not believed); a
//! link works once and expires, and is never a file left in the webroot; authorisations expire
//! and are withdrawn. The links are mailed with a sendmail-compatible program (`--sendmail`),
//! or, without one, written to the outbox directory (0600, one file per link) for the
//! machine's own mailer.

use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::firewall::auth;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the authenticator needs, as plain values.
#[derive(Clone, Debug)]
pub struct Config {
    pub website_url: String,
    pub email_domain: String,
    /// This authenticator's own (private) IP: the name of its published file.
    pub own_ip: String,
    pub token_ttl: Duration,
    pub claim_ttl: Duration,
    /// Where the link messages go (one file per message, 0600) when there is no mailer, or
    /// when the mailer failed.
    pub outbox: PathBuf,
    /// A sendmail-compatible program (`sendmail -t`, the message on stdin) that delivers the
    /// links; `None`: they stay in the outbox for the machine's own mailer.
    pub sendmail: Option<PathBuf>,
    /// The links' base, e.g. `https://auth.example.com`.
    pub link_base: String,
    /// Where the claims are kept across restarts (`runtime/authenticator`).
    pub state_dir: PathBuf,
}

struct State {
    /// token → (e-mail address, expiry)
    tokens: HashMap<String, (String, Instant)>,
    /// authorised address → expiry (Unix seconds)
    claims: BTreeMap<Ipv4Addr, u64>,
    /// The published file is behind the claims (a publish failed).
    dirty: bool,
}

pub struct Authenticator {
    cfg: Config,
    store: Box<dyn Backend>,
    state: Mutex<State>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 128 random bits, hex.
fn token() -> Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| Error::io("/dev/urandom", e))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Whether `email` is an address of `domain`: a plain local part, `@`, exactly the domain.
pub fn email_allowed(email: &str, domain: &str) -> bool {
    let Some((local, d)) = email.rsplit_once('@') else {
        return false;
    };
    !domain.is_empty()
        && d.eq_ignore_ascii_case(domain)
        && !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
}

/// `application/x-www-form-urlencoded` value of `key`.
fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| url_decode(v))
    })
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = || {
            s.get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if hex().is_some() => {
                out.push(hex().unwrap_or(b'%'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Links outstanding at once (each expires after `token_ttl`); beyond, requests are refused
/// rather than filling memory and the outbox.
const MAX_PENDING: usize = 1000;

const FORM: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Request access</title></head><body>\
<form method=\"post\" action=\"/request\"><label>Your e-mail address <input name=\"email\" type=\"email\" required></label> \
<button>Send me a link</button></form></body></html>\n";

impl Authenticator {
    pub fn new(cfg: Config, store: Box<dyn Backend>) -> Authenticator {
        let claims = std::fs::read_to_string(cfg.state_dir.join("adt-claims"))
            .map(|t| auth::parse_seen(&t))
            .unwrap_or_default();
        Authenticator {
            cfg,
            store,
            state: Mutex::new(State {
                tokens: HashMap::new(),
                claims,
                dirty: true,
            }),
        }
    }

    fn key(&self) -> String {
        format!("{}ipaddresses.dat.{}", auth::PREFIX, self.cfg.own_ip)
    }

    /// Publish the unexpired claims (and keep them on disk); on failure the state stays dirty
    /// and the next sweep tries again.
    fn publish(&self, st: &mut State) -> Result<()> {
        let text: String = st.claims.keys().map(|ip| format!("{ip}\n")).collect();
        std::fs::create_dir_all(&self.cfg.state_dir)
            .map_err(|e| Error::io(self.cfg.state_dir.display(), e))?;
        crate::fsutil::write_atomic(
            &self.cfg.state_dir.join("adt-claims"),
            auth::render_seen(&st.claims).as_bytes(),
            Some(0o600),
        )?;
        crate::fsutil::write_atomic(
            &self
                .cfg
                .state_dir
                .join(format!("ipaddresses.dat.{}", self.cfg.own_ip)),
            text.as_bytes(),
            Some(0o644),
        )?;
        let r = match self.store.put_bytes(&self.key(), text.as_bytes()) {
            Err(Error::NoBucket(_)) => self
                .store
                .create_bucket()
                .and_then(|_| self.store.put_bytes(&self.key(), text.as_bytes())),
            r => r,
        };
        st.dirty = r.is_err();
        r
    }

    /// Drop expired tokens and claims; publish when the claims changed or a publish is owed.
    pub fn sweep(&self) -> Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        st.tokens.retain(|_, (_, exp)| *exp > now);
        let t = now_unix();
        let before = st.claims.len();
        st.claims.retain(|_, exp| *exp > t);
        if st.claims.len() != before || st.dirty {
            self.publish(&mut st)?;
        }
        Ok(())
    }

    /// Answer one request: (status, reason, body).
    pub fn handle(
        &self,
        method: &str,
        path: &str,
        body: &str,
        peer: IpAddr,
    ) -> (u16, &'static str, String) {
        match (method, path) {
            ("GET", "/") => (200, "OK", FORM.to_string()),
            ("POST", "/request") => {
                let email = form_value(body, "email").unwrap_or_default();
                if !email_allowed(&email, &self.cfg.email_domain) {
                    return (
                        403,
                        "Forbidden",
                        format!(
                            "only addresses @{} may ask for access\n",
                            self.cfg.email_domain
                        ),
                    );
                }
                {
                    let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    if st.tokens.len() >= MAX_PENDING {
                        return (
                            429,
                            "Too Many Requests",
                            "too many links outstanding; try again later\n".into(),
                        );
                    }
                }
                match self.issue(&email) {
                    Ok(()) => (200, "OK", "a link has been sent to that address\n".into()),
                    Err(e) => {
                        eprintln!("authenticator: {e}");
                        (
                            500,
                            "Internal Server Error",
                            "the link could not be sent\n".into(),
                        )
                    }
                }
            }
            ("GET", p) if p.starts_with("/claim/") => self.claim(&p["/claim/".len()..], peer),
            _ => (404, "Not Found", "not found\n".into()),
        }
    }

    fn issue(&self, email: &str) -> Result<()> {
        let tok = token()?;
        let link = format!("{}/claim/{tok}", self.cfg.link_base.trim_end_matches('/'));
        let msg = format!(
            "To: {email}\nSubject: Authenticated IP claim request for {}\n\nOpen this link from the machine that needs access (it works once, for {} s):\n{link}\n",
            self.cfg.website_url,
            self.cfg.token_ttl.as_secs()
        );
        match &self.cfg.sendmail {
            Some(prog) => {
                // Delivered: no copy of the link is left on disk.
                crate::process::Run::new(prog)
                    .arg("-t")
                    .stdin(msg.as_bytes())
                    .deadline(Duration::from_secs(30))
                    .stdout_or(Error::Io)?;
            }
            None => {
                std::fs::create_dir_all(&self.cfg.outbox)
                    .map_err(|e| Error::io(self.cfg.outbox.display(), e))?;
                crate::fsutil::write_atomic(
                    &self.cfg.outbox.join(format!("{tok}.eml")),
                    msg.as_bytes(),
                    Some(0o600),
                )?;
            }
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.tokens.insert(
            tok,
            (email.to_string(), Instant::now() + self.cfg.token_ttl),
        );
        Ok(())
    }

    fn claim(&self, tok: &str, peer: IpAddr) -> (u16, &'static str, String) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some((email, exp)) = st.tokens.remove(tok) else {
            return (404, "Not Found", "unknown or used link\n".into());
        };
        if exp <= Instant::now() {
            return (
                410,
                "Gone",
                "this link has expired; ask for a new one\n".into(),
            );
        }
        let ip = match peer {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(a) => a,
                None => {
                    return (
                        400,
                        "Bad Request",
                        "only IPv4 clients can be authorised\n".into(),
                    )
                }
            },
        };
        if let Err(e) = auth::parse_client(&ip.to_string()) {
            return (400, "Bad Request", format!("{e}\n"));
        }
        let until = now_unix() + self.cfg.claim_ttl.as_secs();
        st.claims.insert(ip, until);
        eprintln!(
            "authenticator: {email} authorised {ip} for {} s",
            self.cfg.claim_ttl.as_secs()
        );
        match self.publish(&mut st) {
            Ok(()) => (
                200,
                "OK",
                format!(
                    "access granted to {ip} for {} s\n",
                    self.cfg.claim_ttl.as_secs()
                ),
            ),
            Err(e) => {
                eprintln!("authenticator: {e}");
                (
                    503,
                    "Service Unavailable",
                    "recorded; publishing is late, try again in a minute\n".into(),
                )
            }
        }
    }
}

/// Read one request (head ≤ 8 KiB, body ≤ 4 KiB, 5 s to arrive) and answer it.
fn serve_one(a: &Authenticator, mut s: TcpStream) {
    let peer = match s.peer_addr() {
        Ok(p) => p.ip(),
        Err(_) => return,
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 8192 {
            return;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let first: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let (method, path) = match first.as_slice() {
        [m, p, ..] => (m.to_string(), p.to_string()),
        _ => return,
    };
    let len: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    if len > 4096 {
        return;
    }
    while buf.len() < head_end + len {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..buf.len().min(head_end + len)]).into_owned();
    let (code, reason, text) = a.handle(&method, &path, &body, peer);
    let kind = if text.starts_with("<!DOCTYPE") {
        "text/html"
    } else {
        "text/plain"
    };
    let resp = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = s.write_all(resp.as_bytes());
}

/// Serve on `listen` for ever: one thread per connection, and a sweep every `sweep`.
pub fn serve(a: Authenticator, listen: SocketAddr, sweep: Duration) -> Result<()> {
    let l = TcpListener::bind(listen).map_err(|e| Error::io(format!("listen on {listen}"), e))?;
    let a = Arc::new(a);
    if let Err(e) = a.sweep() {
        eprintln!("authenticator: {e}");
    }
    let s = a.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(sweep);
        if let Err(e) = s.sweep() {
            eprintln!("authenticator: {e}");
        }
    });
    for conn in l.incoming().flatten() {
        let a = a.clone();
        std::thread::spawn(move || serve_one(&a, conn));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(dir: &std::path::Path, token_ttl: u64) -> Authenticator {
        let store = crate::datastore::local::LocalStore::new(
            &dir.join("store"),
            &auth::ips_bucket("www.example.com"),
        );
        Authenticator::new(
            Config {
                website_url: "www.example.com".into(),
                email_domain: "example.com".into(),
                own_ip: "10.0.0.3".into(),
                token_ttl: Duration::from_secs(token_ttl),
                claim_ttl: Duration::from_secs(3600),
                outbox: dir.join("outbox"),
                sendmail: None,
                link_base: "https://auth.example.com".into(),
                state_dir: dir.join("state"),
            },
            Box::new(store),
        )
    }

    fn link_token(dir: &std::path::Path) -> String {
        let f = std::fs::read_dir(dir.join("outbox"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(text.contains("Subject: Authenticated IP claim request for www.example.com"));
        text.lines()
            .find_map(|l| l.strip_prefix("https://auth.example.com/claim/"))
            .unwrap()
            .to_string()
    }

    #[test]
    fn emails_are_checked_by_the_server() {
        assert!(email_allowed("ann@example.com", "example.com"));
        assert!(email_allowed("ann.b+x@EXAMPLE.com", "example.com"));
        for bad in [
            "ann@evil.com",
            "ann@example.com.evil.com",
            "@example.com",
            "a b@example.com",
            "ann",
            "ann@example.com\n",
        ] {
            assert!(!email_allowed(bad, "example.com"), "{bad}");
        }
        assert!(!email_allowed("ann@", ""));
        assert_eq!(
            form_value("x=1&email=ann%40example.com", "email").unwrap(),
            "ann@example.com"
        );
    }

    #[test]
    fn a_link_works_once_for_the_address_it_is_opened_from() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path(), 600);
        let me: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            a.handle("POST", "/request", "email=eve%40evil.com", me).0,
            403
        );
        assert!(
            !dir.path().join("outbox").exists(),
            "nothing sent for a refused address"
        );
        assert_eq!(
            a.handle("POST", "/request", "email=ann%40example.com", me)
                .0,
            200
        );
        let tok = link_token(dir.path());
        let (code, _, body) = a.handle("GET", &format!("/claim/{tok}"), "", me);
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            a.handle("GET", &format!("/claim/{tok}"), "", me).0,
            404,
            "one time only"
        );
        let published = a
            .store
            .get_bytes("firewall-laptop-ips/ipaddresses.dat.10.0.0.3")
            .unwrap();
        assert_eq!(published, b"198.51.100.7\n");
    }

    #[test]
    fn links_go_to_the_mailer_when_there_is_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let prog = dir.path().join("sendmail");
        let got = dir.path().join("got");
        std::fs::write(
            &prog,
            format!(
                "#!/bin/sh\n[ \"$1\" = -t ] || exit 3\ncat > {}\n",
                got.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut a = auth(dir.path(), 600);
        a.cfg.sendmail = Some(prog.clone());
        let me: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(
            a.handle("POST", "/request", "email=ann%40example.com", me)
                .0,
            200
        );
        let mail = std::fs::read_to_string(&got).unwrap();
        assert!(mail.starts_with("To: ann@example.com\n"), "{mail}");
        assert!(
            !dir.path().join("outbox").exists(),
            "no copy of the link on disk"
        );
        let tok = mail
            .lines()
            .find_map(|l| l.strip_prefix("https://auth.example.com/claim/"))
            .unwrap();
        assert_eq!(a.handle("GET", &format!("/claim/{tok}"), "", me).0, 200);
        // A mailer that fails: 500, and the link never works.
        std::fs::write(&prog, "#!/bin/sh\necho 'no route to host' >&2\nexit 1\n").unwrap();
        assert_eq!(
            a.handle("POST", "/request", "email=ann%40example.com", me)
                .0,
            500
        );
        assert_eq!(a.state.lock().unwrap().tokens.len(), 0);
    }

    #[test]
    fn expired_links_and_claims() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path(), 0);
        let me: IpAddr = "198.51.100.7".parse().unwrap();
        a.handle("POST", "/request", "email=ann%40example.com", me);
        let tok = link_token(dir.path());
        assert_eq!(a.handle("GET", &format!("/claim/{tok}"), "", me).0, 410);
        // A claim whose time is up is withdrawn by the next sweep.
        {
            let mut st = a.state.lock().unwrap();
            st.claims
                .insert("203.0.113.9".parse().unwrap(), now_unix() - 1);
            st.claims
                .insert("198.51.100.7".parse().unwrap(), now_unix() + 60);
        }
        a.sweep().unwrap();
        let published = a
            .store
            .get_bytes("firewall-laptop-ips/ipaddresses.dat.10.0.0.3")
            .unwrap();
        assert_eq!(published, b"198.51.100.7\n");
    }
}
