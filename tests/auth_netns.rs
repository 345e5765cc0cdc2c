//! The 2025 authentication server with real packets: a reverse proxy namespace running our
//! firewall reconcile with real iptables and ipset, an authenticator namespace running
//! `adt authenticator`, a claimant and an outsider, all on a bridge in a hub namespace
//! (10.79.0.0/24, inside the namespaces only) where a real s3s-fs is the datastore. Before a
//! claim 443 is closed to both; after the claimant opens its one-time link it reaches 443 and
//! the outsider does not; after the claim expires 443 is closed again. Everything is removed on
//! drop, also when the test fails. Run as `flock /work/netns.lock cargo test --test auth_netns`.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LISTENER: &str = "import socket,sys,threading,time\n\
def serve(p):\n s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',p)); s.listen(64)\n while True:\n  c,_=s.accept(); c.close()\n\
for p in sys.argv[1:]: threading.Thread(target=serve,args=(int(p),),daemon=True).start()\n\
time.sleep(600)\n";

const CONNECT: &str = "import socket,sys\ntry:\n socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=0.7).close()\nexcept Exception:\n sys.exit(1)\n";

/// `python3 -c HTTP METHOD URL [BODY]`: prints the status and the body.
const HTTP: &str = "import sys,urllib.request,urllib.error\n\
data=sys.argv[3].encode() if len(sys.argv)>3 else None\n\
req=urllib.request.Request(sys.argv[2],data=data,method=sys.argv[1])\n\
try:\n r=urllib.request.urlopen(req,timeout=5); print(r.status); print(r.read().decode(),end='')\n\
except urllib.error.HTTPError as e:\n print(e.code); print(e.read().decode(),end='')\n";

const NET: &str = "10.79.0";

fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().expect("ip")
}

fn must(o: Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

struct Lab {
    tag: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
}

impl Lab {
    fn new() -> Option<Lab> {
        let tag = format!("mdau{}", std::process::id() % 10000);
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
            namespaces: vec![],
            children: vec![],
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
                &format!("{NET}.1/24"),
                "dev",
                "br0",
            ]),
            "hub address",
        );
        must(ip(&["-n", &hub, "link", "set", "br0", "up"]), "bridge up");
        Some(lab)
    }

    fn ns(&mut self, name: &str) -> String {
        let n = format!("{}{}", self.tag, name);
        must(ip(&["netns", "add", &n]), "netns add");
        must(ip(&["-n", &n, "link", "set", "lo", "up"]), "lo up");
        self.namespaces.push(n.clone());
        n
    }

    fn host(&mut self, name: &str, octet: u8) -> String {
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
                &format!("{NET}.{octet}/24"),
                "dev",
                &b,
            ]),
            "addr",
        );
        must(ip(&["-n", &n, "link", "set", &b, "up"]), "up");
        n
    }

    fn spawn(&mut self, cmd: &mut Command) {
        self.children.push(
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn"),
        );
    }

    fn can_connect(&self, from: &str, to: &str, port: u16) -> bool {
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
    fn http(&self, from: &str, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
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
    }
}

fn s3s_fs() -> String {
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

fn s3cfg(path: &Path) {
    std::fs::write(
        path,
        format!(
            "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nhost_base = {NET}.1:9000\n\
             host_bucket = {NET}.1:9000\nuse_https = False\nbucket_location = us-east-1\nsignature_v2 = False\n"
        ),
    )
    .unwrap();
}

const AUTH_BUCKET: &str = "www-example-com-firewall-auth-laptop-ips";

#[test]
fn only_a_claimant_reaches_443_and_only_until_its_claim_expires() {
    if Command::new("ipset").arg("--version").output().is_err() {
        panic!("ipset is not installed (apt package ipset; .ci/run installs it)");
    }
    let Some(mut lab) = Lab::new() else { return };
    let hub = format!("{}hub", lab.tag);
    let proxy = lab.host("rp", 10);
    let claimant = lab.host("cl", 20);
    let outsider = lab.host("out", 30);
    let authns = lab.host("auth", 40);

    // The datastore, in the hub: the proxy's config bucket exists; the authenticator makes its own.
    let s3_root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(s3_root.path().join("www-example-com-config-x9fk")).unwrap();
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        &hub,
        &s3s_fs(),
        "--host",
        &format!("{NET}.1"),
        "--port",
        "9000",
    ])
    .args(["--access-key", ACCESS, "--secret-key", SECRET])
    .arg(s3_root.path());
    lab.spawn(&mut c);

    // The reverse proxy: a 2025 webserver home with the authentication server's firewall type.
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home/X9fKqwer");
    std::fs::create_dir_all(home.join("runtime")).unwrap();
    std::fs::write(
        home.join("runtime/webserver_configuration_settings.dat"),
        format!(
            "WEBSITEURL:www.example.com\nSSHPORT:1035\nSERVERUSER:X9fKqwer\nDNSCHOICE:linode\n\
             AUTHENTICATORTYPE:firewall\nBUILDCLIENTIP:{NET}.5\n"
        ),
    )
    .unwrap();
    let homedir = dir.path().join("homedir.dat");
    std::fs::write(&homedir, format!("{}\n", home.display())).unwrap();
    let cfg = dir.path().join("s3cfg");
    s3cfg(&cfg);
    let o = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            "webserver",
            "--home",
        ])
        .arg(&home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut l = Command::new("ip");
    l.args(["netns", "exec", &proxy, "python3", "-c", LISTENER, "443"]);
    lab.spawn(&mut l);

    let reconcile = || -> Output {
        let o = Command::new("ip")
            .args(["netns", "exec", &proxy])
            .arg(home.join("security/AllowAuthenticatorIPAddress.sh"))
            .args(["--tool", "iptables"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("ADT_HOMEDIR_FILE", &homedir)
            .env("S3CMD_CONFIG", &cfg)
            .env("ADT_S3_ATTEMPTS", "2")
            .output()
            .unwrap();
        assert!(o.status.success(), "reconcile: {}", stderr(&o));
        o
    };
    // s3s-fs may take a moment to listen.
    let start = Instant::now();
    while !lab.can_connect(&proxy, &format!("{NET}.1"), 9000) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "s3s-fs did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Before any claim: 443 closed to everyone (the proxy itself still listens).
    reconcile();
    let target = format!("{NET}.10");
    assert!(
        lab.can_connect(&proxy, "127.0.0.1", 443),
        "the proxy listens"
    );
    assert!(
        !lab.can_connect(&claimant, &target, 443),
        "443 open before a claim"
    );
    assert!(
        !lab.can_connect(&outsider, &target, 443),
        "443 open to the outsider"
    );

    // The authenticator.
    let adir = tempfile::tempdir().unwrap();
    let ahome = adir.path().join("home");
    std::fs::create_dir_all(&ahome).unwrap();
    let ahomedir = adir.path().join("homedir.dat");
    std::fs::write(&ahomedir, format!("{}\n", ahome.display())).unwrap();
    let acfg = adir.path().join("s3cfg");
    s3cfg(&acfg);
    let outbox = adir.path().join("outbox");
    let base = format!("http://{NET}.40:8080");
    let mut a = Command::new("ip");
    a.args(["netns", "exec", &authns])
        .arg(adt_bin())
        .args(["authenticator", "--listen", &format!("{NET}.40:8080")])
        .args(["--url", "www.example.com", "--email-domain", "example.com"])
        .args([
            "--own-ip",
            &format!("{NET}.40"),
            "--claim-ttl",
            "4",
            "--sweep",
            "1",
        ])
        .args(["--link-base", &base, "--outbox"])
        .arg(&outbox)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &ahome)
        .env("ADT_HOMEDIR_FILE", &ahomedir)
        .env("ADT_DATASTORE", format!("s3:{}", acfg.display()));
    lab.spawn(&mut a);
    let start = Instant::now();
    while !lab.can_connect(&claimant, &format!("{NET}.40"), 8080) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the authenticator did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The e-mail domain is checked by the server.
    let (code, _) = lab.http(
        &claimant,
        "POST",
        &format!("{base}/request"),
        Some("email=eve%40evil.com"),
    );
    assert_eq!(code, 403);
    let (code, body) = lab.http(
        &claimant,
        "POST",
        &format!("{base}/request"),
        Some("email=ann%40example.com"),
    );
    assert_eq!(code, 200, "{body}");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let link = std::fs::read_to_string(&mail)
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&base))
        .unwrap()
        .to_string();
    // The claimant opens the link: its own address is authorised, once.
    let (code, body) = lab.http(&claimant, "GET", &link, None);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(&format!("access granted to {NET}.20")),
        "{body}"
    );
    assert_eq!(
        lab.http(&outsider, "GET", &link, None).0,
        404,
        "a link works once"
    );

    // Another authenticator's file with malformed lines: they open nothing.
    let other = s3_root.path().join(AUTH_BUCKET).join("firewall-laptop-ips");
    std::fs::write(
        other.join(format!("ipaddresses.dat.{NET}.41")),
        format!("0.0.0.0\n{NET}.0/24\n{NET}.30 x\n255.255.255.255\n"),
    )
    .unwrap();

    let o = reconcile();
    assert!(stderr(&o).contains("opens nothing"), "{}", stderr(&o));
    let set = Command::new("ip")
        .args([
            "netns",
            "exec",
            &proxy,
            "ipset",
            "save",
            "allowed-laptop-ips",
        ])
        .output()
        .unwrap();
    let members: Vec<String> = stdout(&set)
        .lines()
        .filter(|l| l.starts_with("add "))
        .map(str::to_string)
        .collect();
    assert_eq!(members, [format!("add allowed-laptop-ips {NET}.20")]);
    assert!(
        lab.can_connect(&claimant, &target, 443),
        "the claimant reaches 443"
    );
    assert!(
        !lab.can_connect(&outsider, &target, 443),
        "nobody else does"
    );
    assert!(!lab.can_connect(&outsider, &target, 1035), "nor SSH");

    // The claim expires: the authenticator withdraws the address, the next reconcile closes 443.
    let published = s3_root
        .path()
        .join(AUTH_BUCKET)
        .join(format!("firewall-laptop-ips/ipaddresses.dat.{NET}.40"));
    let start = Instant::now();
    while std::fs::read_to_string(&published)
        .unwrap_or_default()
        .contains(&format!("{NET}.20"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the claim was never withdrawn"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    reconcile();
    assert!(
        !lab.can_connect(&claimant, &target, 443),
        "443 still open after expiry"
    );
    assert!(!lab.can_connect(&outsider, &target, 443));
    let _: PathBuf = published;
}
