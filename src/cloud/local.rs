//! The `local` cloud: a server is a network namespace on this host running real services, an
//! sshd that accepts the fleet key and an HTTPS server serving the probe file, on a bridge in a
//! hub namespace (10.78.0.0/24, addresses inside the namespaces only). The autoscaler runs in
//! a namespace on the same hub. Used by the autoscaler's end-to-end test and the demo.
//!
//! Each server's sshd has a private `<home>/runtime` (a tmpfs in its own mount namespace)
//! holding `WEBSERVER_READY`, so readiness is per server although the filesystem is shared.
//! State lives in a directory: `servers/<name>` holds `<n> <ip> <created> <netns inode>` (the
//! creation time in seconds since the epoch, as a cloud reports it; the inode of the server's
//! network namespace, by which every process of the server is found again).
//!
//! The namespaces are made by whoever runs the cloud, often inside `ip netns exec` (a private
//! mount namespace), so their names under /run/netns need not be visible elsewhere: a server is
//! destroyed by killing every process whose network namespace is the server's (found in /proc
//! by the recorded inode), which frees the namespace and its link to the hub wherever it was
//! mounted. Teardown does this for every recorded server and every `adtlc<n>` namespace it can
//! see, so no sshd, HTTPS server or shutdown watcher outlives the fleet.

use crate::error::{Error, Result};
use crate::process::{self, Run};
use nix::sys::signal::Signal;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub const HUB: &str = "adtlc-hub";
pub const SUBNET: &str = "10.78.0";

const HTTPS: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(200); self.end_headers()
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
s = S(("0.0.0.0", 443), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
s.serve_forever()
"#;

fn run(args: &[&str]) -> Result<()> {
    let o = Run::new(args[0]).args(&args[1..]).output()?;
    if !o.success() {
        return Err(Error::Io(format!(
            "{}: {}",
            args.join(" "),
            o.stderr.trim()
        )));
    }
    Ok(())
}

/// A server of the local cloud as its state records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalServer {
    pub name: String,
    pub ip: IpAddr,
    /// Seconds since the epoch.
    pub created: Option<u64>,
    /// The inode of its network namespace.
    pub netns: Option<u64>,
}

/// The inode of a process's network namespace (`/proc/<pid>/ns/net`).
fn netns_of(pid: &str) -> Option<u64> {
    let l = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    l.to_string_lossy()
        .strip_prefix("net:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Every process whose network namespace is one of `inodes`.
fn pids_in(inodes: &[u64]) -> Vec<i32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let ns = netns_of(&pid)?;
            inodes.contains(&ns).then(|| pid.parse().ok())?
        })
        .collect()
}

/// The inode of a named network namespace, where its name is visible to this process.
fn netns_inode(ns: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/run/netns/{ns}"))
        .ok()
        .map(|m| m.ino())
}

/// Kill every process in these network namespaces (and in the named ones visible here), and
/// wait, bounded, until none is left.
fn kill_namespaces(inodes: &[u64], names: &[String]) {
    for _ in 0..100 {
        let mut pids = pids_in(inodes);
        for ns in names {
            if let Ok(o) = Run::new("ip").args(["netns", "pids", ns]).output() {
                pids.extend(
                    o.stdout
                        .split_whitespace()
                        .filter_map(|p| p.parse::<i32>().ok()),
                );
            }
        }
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            process::signal(pid, Signal::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub struct LocalCloud {
    pub state: PathBuf,
    /// The toolkit home on the servers (for the readiness file path).
    pub server_home: PathBuf,
    pub ssh_port: u16,
    /// The fleet's public key, authorized on every server.
    pub authorized_key: PathBuf,
}

impl LocalCloud {
    fn servers_dir(&self) -> PathBuf {
        self.state.join("servers")
    }

    /// The hub bridge, and the namespace `ns` attached to it as 10.78.0.<n>.
    pub fn attach(ns: &str, n: u8) -> Result<()> {
        if !Path::new(&format!("/run/netns/{HUB}")).exists() {
            run(&["ip", "netns", "add", HUB])?;
            run(&["ip", "-n", HUB, "link", "add", "br0", "type", "bridge"])?;
            run(&["ip", "-n", HUB, "link", "set", "br0", "up"])?;
        }
        if !Path::new(&format!("/run/netns/{ns}")).exists() {
            run(&["ip", "netns", "add", ns])?;
        }
        let (a, b) = (format!("adtlc{n}a"), format!("adtlc{n}b"));
        // A veth left behind by a server whose namespace outlived its deletion.
        let _ = Run::new("ip").args(["-n", HUB, "link", "del", &a]).output();
        run(&["ip", "link", "add", &a, "type", "veth", "peer", "name", &b])?;
        run(&["ip", "link", "set", &a, "netns", HUB])?;
        run(&["ip", "link", "set", &b, "netns", ns])?;
        run(&["ip", "-n", HUB, "link", "set", &a, "master", "br0", "up"])?;
        run(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{SUBNET}.{n}/24"),
            "dev",
            &b,
        ])?;
        run(&["ip", "-n", ns, "link", "set", &b, "up"])?;
        run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<(String, IpAddr)>> {
        Ok(self
            .list_servers()?
            .into_iter()
            .map(|s| (s.name, s.ip))
            .collect())
    }

    /// The servers with their creation times.
    pub fn list_servers(&self) -> Result<Vec<LocalServer>> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(self.servers_dir()) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(self.servers_dir().display(), e)),
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // A state file being written (or left half written by a killed run) is no server.
            if name.starts_with('.') {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let w: Vec<&str> = text.split_whitespace().collect();
            if let Some(ip) = w.get(1).and_then(|s| s.parse().ok()) {
                out.push(LocalServer {
                    name,
                    ip,
                    created: w.get(2).and_then(|s| s.parse().ok()),
                    netns: w.get(3).and_then(|s| s.parse().ok()),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn free_slot(&self) -> Result<u8> {
        let used: Vec<u8> = self
            .list()?
            .iter()
            .filter_map(|(_, ip)| {
                ip.to_string()
                    .rsplit('.')
                    .next()
                    .and_then(|s| s.parse().ok())
            })
            .collect();
        // Round robin from the last slot handed out: a destroyed server's address is not
        // reused at once (neighbours still hold its old MAC address for a while, as on a real
        // network), so a replacement is reachable as soon as it runs.
        let last: u8 = std::fs::read_to_string(self.state.join("last-slot"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(19);
        let last = last.clamp(19, 250);
        let n = (last + 1..=250)
            .chain(20..=last)
            .find(|n| !used.contains(n))
            .ok_or_else(|| Error::Io("local cloud is full".into()))?;
        let _ = std::fs::write(self.state.join("last-slot"), n.to_string());
        Ok(n)
    }

    /// Create a server: a namespace with sshd and HTTPS; returns its IP (public = private).
    pub fn create(&self, name: &str) -> Result<IpAddr> {
        std::fs::create_dir_all(self.servers_dir())
            .map_err(|e| Error::io(self.servers_dir().display(), e))?;
        // Claim a slot under a lock, so concurrent creates (threads or processes) differ.
        let (n, ip) = {
            let _lock = crate::fsutil::Lock::exclusive(&self.state.join("slots.lock"))?;
            let n = self.free_slot()?;
            let ip: IpAddr = format!("{SUBNET}.{n}").parse().expect("ip");
            let created = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            crate::fsutil::write_atomic(
                &self.servers_dir().join(name),
                format!("{n} {ip} {created}\n").as_bytes(),
                None,
            )?;
            Self::attach(&format!("adtlc{n}"), n)?;
            if let Some(ino) = netns_inode(&format!("adtlc{n}")) {
                crate::fsutil::write_atomic(
                    &self.servers_dir().join(name),
                    format!("{n} {ip} {created} {ino}\n").as_bytes(),
                    None,
                )?;
            }
            (n, ip)
        };
        let ns = format!("adtlc{n}");
        let dir = self.state.join("data").join(name);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let d = dir.to_string_lossy().into_owned();
        run(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &format!("{d}/hostkey"),
        ])?;
        run(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{d}/tls.key"),
            "-out",
            &format!("{d}/tls.crt"),
            "-days",
            "2",
            "-subj",
            "/CN=adt-local",
        ])?;
        std::fs::copy(&self.authorized_key, dir.join("authorized_keys"))
            .map_err(|e| Error::io("authorized key", e))?;
        std::fs::write(dir.join("https.py"), HTTPS).map_err(|e| Error::io(d.as_str(), e))?;
        let cfg = format!(
            "Port {}\nListenAddress 0.0.0.0\nHostKey {d}/hostkey\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\nStrictModes no\nPidFile {d}/sshd.pid\n",
            self.ssh_port
        );
        std::fs::write(dir.join("sshd_config"), cfg).map_err(|e| Error::io(d.as_str(), e))?;
        let _ = std::fs::create_dir_all("/run/sshd");
        let rt = self.server_home.join("runtime");
        let rc: Vec<String> = ["/root/.bashrc", "/root/.profile", "/root/.bash_profile"]
            .iter()
            .filter(|f| Path::new(f).exists())
            .map(|f| format!("mount --bind /dev/null {f}; "))
            .collect();
        // The webserver's MarkedForShutdown job, as the server's own cron would run it: once
        // `runtime/MARKEDFORSHUTDOWN` appears, log the shutdown and stop every service.
        let events = self.state.join("events.log");
        let watcher = format!(
            "(while [ ! -e {rt}/MARKEDFORSHUTDOWN ]; do sleep 0.5; done; echo '{name} shutdown' >> {ev}; kill $(cat {d}/https.pid) $(cat {d}/sshd.pid)) </dev/null >/dev/null 2>&1 & ",
            rt = rt.display(),
            ev = events.display()
        );
        let script = format!(
            "mkdir -p {rt} && mount -t tmpfs adtlc {rt} && touch {rt}/WEBSERVER_READY && {}{watcher}exec /usr/sbin/sshd -f {d}/sshd_config",
            rc.concat(),
            rt = rt.display()
        );
        run(&["ip", "netns", "exec", &ns, "sh", "-c", &script])?;
        let https = Run::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "python3",
                &format!("{d}/https.py"),
                &format!("{d}/tls.crt"),
                &format!("{d}/tls.key"),
            ])
            .spawn_detached()?;
        std::fs::write(dir.join("https.pid"), https.to_string())
            .map_err(|e| Error::io(d.as_str(), e))?;
        Ok(ip)
    }

    /// Stop a server's web service (its HTTPS server), leaving the machine up.
    pub fn stop_web(&self, name: &str) -> Result<()> {
        let pid = std::fs::read_to_string(self.state.join("data").join(name).join("https.pid"))
            .map_err(|e| Error::io(name, e))?;
        match pid.trim().parse::<i32>() {
            Ok(pid @ 2..) => {
                process::signal(pid, Signal::SIGKILL);
                Ok(())
            }
            _ => Err(Error::Io(format!("{name}: no web service process id"))),
        }
    }

    /// Start a server's web service again (after [`LocalCloud::stop_web`]), in the network
    /// namespace of its sshd (its name may be mounted only where the server was made).
    pub fn start_web(&self, name: &str) -> Result<()> {
        let d = self.state.join("data").join(name);
        let sshd = std::fs::read_to_string(d.join("sshd.pid")).map_err(|e| Error::io(name, e))?;
        let sshd = sshd.trim();
        if !sshd.bytes().all(|b| b.is_ascii_digit()) || sshd.is_empty() {
            return Err(Error::Io(format!("{name}: no sshd process id")));
        }
        let d = d.to_string_lossy();
        let https = Run::new("nsenter")
            .args(["--target", sshd, "--net", "--"])
            .args([
                "python3",
                &format!("{d}/https.py"),
                &format!("{d}/tls.crt"),
                &format!("{d}/tls.key"),
            ])
            .spawn_detached()?;
        std::fs::write(format!("{d}/https.pid"), https.to_string())
            .map_err(|e| Error::io(d.as_ref(), e))
    }

    /// Destroy a server: every process in its namespace, the namespace, its state.
    pub fn destroy(&self, name: &str) -> Result<()> {
        let text = std::fs::read_to_string(self.servers_dir().join(name))
            .map_err(|e| Error::io(name, e))?;
        let w: Vec<&str> = text.split_whitespace().collect();
        let n = w.first().copied().unwrap_or("");
        let ns = format!("adtlc{n}");
        // Kill everything in the namespace and wait until it is gone (a namespace with live
        // processes survives `ip netns del`, and so would its veth on the hub). Found by its
        // inode, also where its name is mounted only in another run's mount namespace.
        let inodes: Vec<u64> = w.get(3).and_then(|s| s.parse().ok()).into_iter().collect();
        kill_namespaces(&inodes, std::slice::from_ref(&ns));
        let _ = run(&["ip", "netns", "del", &ns]);
        let _ = Run::new("ip")
            .args(["-n", HUB, "link", "del", &format!("adtlc{n}a")])
            .output();
        let _ = std::fs::remove_dir_all(self.state.join("data").join(name));
        std::fs::remove_file(self.servers_dir().join(name)).map_err(|e| Error::io(name, e))?;
        self.event(&format!("{name} destroyed"));
        Ok(())
    }

    fn event(&self, line: &str) {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state.join("events.log"))
        {
            let _ = writeln!(f, "{line}");
        }
    }

    /// What happened to the servers, one line each: `<name> shutdown` (a server acted on
    /// MARKEDFORSHUTDOWN), `<name> destroyed`.
    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.state.join("events.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Remove every server and the hub (tests and the demo clean up with this): the recorded
    /// servers, and every `adtlc<n>` namespace visible here (a server of an earlier run whose
    /// state is gone); every process in them is killed first. Returns how many servers went.
    pub fn teardown(&self) -> usize {
        let mut gone = 0;
        if let Ok(list) = self.list_servers() {
            for s in list {
                if self.destroy(&s.name).is_ok() {
                    gone += 1;
                }
            }
        }
        let visible: Vec<String> = std::fs::read_dir("/run/netns")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.strip_prefix("adtlc")
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect();
        let inodes: Vec<u64> = visible.iter().filter_map(|n| netns_inode(n)).collect();
        kill_namespaces(&inodes, &visible);
        for ns in &visible {
            let _ = Run::new("ip").args(["netns", "del", ns]).output();
            gone += 1;
        }
        let _ = Run::new("ip").args(["netns", "del", HUB]).output();
        gone
    }
}
