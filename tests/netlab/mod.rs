//! Network namespaces for real-packet tests: a hub namespace with a bridge, hosts on it,
//! listeners, connection and HTTP probes. Everything is removed on drop.
#![allow(dead_code)]

use crate::common::{skip, ACCESS, SECRET};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const LISTENER: &str = "import socket,sys,threading,time\n\
def serve(p):\n s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',p)); s.listen(64)\n while True:\n  c,_=s.accept(); c.close()\n\
for p in sys.argv[1:]: threading.Thread(target=serve,args=(int(p),),daemon=True).start()\n\
time.sleep(600)\n";

pub const CONNECT: &str = "import socket,sys\ntry:\n socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=0.7).close()\nexcept Exception:\n sys.exit(1)\n";

/// `python3 -c HTTP METHOD URL [BODY]`: prints the status and the body.
pub const HTTP: &str = "import sys,urllib.request,urllib.error\n\
data=sys.argv[3].encode() if len(sys.argv)>3 else None\n\
req=urllib.request.Request(sys.argv[2],data=data,method=sys.argv[1])\n\
try:\n r=urllib.request.urlopen(req,timeout=5); print(r.status); print(r.read().decode(),end='')\n\
except urllib.error.HTTPError as e:\n print(e.code); print(e.read().decode(),end='')\n";

pub fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().expect("ip")
}

pub fn must(o: Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub struct Lab {
    pub tag: String,
    pub net: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    etc_dirs: Vec<std::path::PathBuf>,
}

impl Lab {
    /// Namespaces named `<prefix><pid>…`, a bridge in the hub holding `<net>.1/24`.
    pub fn new(prefix: &str, net: &str) -> Option<Lab> {
        let tag = format!("{prefix}{}", std::process::id() % 10000);
        let probe = format!("{tag}p");
        if !ip(&["netns", "add", &probe]).status.success() {
            skip(
                "cannot create network namespaces here (needs root and a kernel that allows them)",
            );
            return None;
        }
        must(ip(&["netns", "del", &probe]), "netns del");
        let mut lab = Lab {
            tag,
            net: net.to_string(),
            namespaces: vec![],
            children: vec![],
            etc_dirs: vec![],
        };
        let hub = lab.ns("hub");
        must(
            ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]),
            "bridge",
        );
        must(
            ip(&[
                "-n",
                &hub,
                "addr",
                "add",
                &format!("{net}.1/24"),
                "dev",
                "br0",
            ]),
            "hub address",
        );
        must(ip(&["-n", &hub, "link", "set", "br0", "up"]), "bridge up");
        Some(lab)
    }

    pub fn ns(&mut self, name: &str) -> String {
        let n = format!("{}{}", self.tag, name);
        must(ip(&["netns", "add", &n]), "netns add");
        must(ip(&["-n", &n, "link", "set", "lo", "up"]), "lo up");
        self.namespaces.push(n.clone());
        n
    }

    pub fn host(&mut self, name: &str, octet: u8) -> String {
        let n = self.ns(name);
        let hub = format!("{}hub", self.tag);
        let (a, b) = (
            format!("{}{}a", self.tag, octet),
            format!("{}{}b", self.tag, octet),
        );
        must(
            ip(&["link", "add", &a, "type", "veth", "peer", "name", &b]),
            "veth",
        );
        must(ip(&["link", "set", &a, "netns", &hub]), "veth to hub");
        must(ip(&["link", "set", &b, "netns", &n]), "veth to host");
        must(
            ip(&["-n", &hub, "link", "set", &a, "master", "br0", "up"]),
            "enslave",
        );
        must(
            ip(&[
                "-n",
                &n,
                "addr",
                "add",
                &format!("{}.{octet}/24", self.net),
                "dev",
                &b,
            ]),
            "addr",
        );
        must(ip(&["-n", &n, "link", "set", &b, "up"]), "up");
        n
    }

    pub fn spawn(&mut self, cmd: &mut Command) {
        self.children.push(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn"),
        );
    }

    /// TCP listeners in `ns` on `ports` (each connection accepted and closed).
    pub fn listen(&mut self, ns: &str, ports: &[u16]) {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "python3", "-c", LISTENER]);
        c.args(ports.iter().map(|p| p.to_string()));
        self.spawn(&mut c);
        std::thread::sleep(std::time::Duration::from_millis(400));
    }

    /// Give a namespace its own copy of /etc/ufw and /etc/default (ip netns exec binds
    /// /etc/netns/<ns>/* over /etc), a pristine disabled ufw with no user rules, so ufw in the
    /// test never touches the host's files.
    pub fn private_ufw(&mut self, ns: &str) {
        let d = std::path::PathBuf::from(format!("/etc/netns/{ns}"));
        std::fs::create_dir_all(&d).unwrap();
        self.etc_dirs.push(d.clone());
        for (src, dst) in [("/etc/ufw", "ufw"), ("/etc/default", "default")] {
            let s = Command::new("cp")
                .args(["-a", src, d.join(dst).to_str().unwrap()])
                .status()
                .unwrap();
            assert!(s.success());
        }
        std::fs::write(d.join("ufw/ufw.conf"), "ENABLED=no\nLOGLEVEL=low\n").unwrap();
        for f in ["user.rules", "user6.rules"] {
            let t = std::fs::read_to_string(d.join("ufw").join(f)).unwrap();
            let clean: String = t
                .lines()
                .filter(|l| {
                    !(l.starts_with("### tuple")
                        || (l.starts_with("-A ufw") && l.contains("-user-input")))
                })
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(d.join("ufw").join(f), clean).unwrap();
        }
    }

    /// A real s3s-fs in the hub on `<net>.1:9000` serving `root`, reachable from the hosts.
    pub fn start_s3(&mut self, root: &Path, probe_from: &str) {
        let hub = format!("{}hub", self.tag);
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &hub,
            &s3s_fs(),
            "--host",
            &format!("{}.1", self.net),
            "--port",
            "9000",
        ])
        .args(["--access-key", ACCESS, "--secret-key", SECRET])
        .arg(root);
        self.spawn(&mut c);
        let start = std::time::Instant::now();
        while !self.can_connect(probe_from, &format!("{}.1", self.net), 9000) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "s3s-fs did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn can_connect(&self, from: &str, to: &str, port: u16) -> bool {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                from,
                "python3",
                "-c",
                CONNECT,
                to,
                &port.to_string(),
            ])
            .status()
            .unwrap()
            .success()
    }

    /// (status, body) of an HTTP request made from a namespace.
    pub fn http(&self, from: &str, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", from, "python3", "-c", HTTP, method, url]);
        if let Some(b) = body {
            c.arg(b);
        }
        let o = c.output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (code, rest) = out.split_once('\n').unwrap_or((&out, ""));
        (code.trim().parse().unwrap_or(0), rest.to_string())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in self.namespaces.iter().rev() {
            let _ = ip(&["netns", "del", n]);
        }
        for d in &self.etc_dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub fn s3s_fs() -> String {
    std::env::var("S3S_FS")
        .ok()
        .or_else(|| {
            let p = format!(
                "{}/.cargo/bin/s3s-fs",
                std::env::var("HOME").unwrap_or_default()
            );
            Path::new(&p).exists().then_some(p)
        })
        .unwrap_or_else(|| "s3s-fs".into())
}

pub fn s3cfg(path: &Path, net: &str) {
    std::fs::write(
        path,
        format!(
            "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nhost_base = {net}.1:9000\n\
             host_bucket = {net}.1:9000\nuse_https = False\nbucket_location = us-east-1\nsignature_v2 = False\n"
        ),
    )
    .unwrap();
}
