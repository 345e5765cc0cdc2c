//! The real linode-cli (PyPI 5.69.0, installed by .ci/run) driven by our launchers against a
//! local Linode API v4 (tests/support/linodeapi.py on 127.0.0.1, which records every request):
//! listings of more than one page (the API's largest page is 500) are read whole, creates carry
//! nothing from the operator's linode-cli defaults and print only the create's answer, and
//! failures carry the API's reason, the subcommand and the exit status; a missing or refused
//! token says so in one line. Each test asserts the requests (method, path, body) the CLI made.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// The local API, stopped when dropped.
struct Api {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Api {
    fn start(state: Value) -> Api {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.json"), state.to_string()).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/linodeapi.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .spawn()
            .unwrap();
        let port_file = dir.path().join("port");
        for _ in 0..200 {
            if port_file.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let port = std::fs::read_to_string(&port_file)
            .unwrap()
            .parse()
            .unwrap();
        Api { dir, child, port }
    }

    /// The requests so far: (method, path, query, body).
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The requests that change something, as (method, path, body).
    fn changes(&self) -> Vec<(String, String, Value)> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] != "GET")
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_string(),
                    r["path"].as_str().unwrap().to_string(),
                    r["body"].clone(),
                )
            })
            .collect()
    }

    /// The pages asked for of the listing at `path`.
    fn pages(&self, path: &str) -> Vec<(String, String)> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] == "GET" && r["path"] == path)
            .map(|r| {
                (
                    r["query"]["page"].as_str().unwrap_or("").to_string(),
                    r["query"]["page_size"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn clear(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("requests.log"));
    }

    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("state.json")).unwrap())
            .unwrap()
    }

    fn set(&self, key: &str, v: Value) {
        let mut s = self.state();
        s[key] = v;
        std::fs::write(self.dir.path().join("state.json"), s.to_string()).unwrap();
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bin/linode-cli`: the real CLI, run by the Python that has it installed (absolute, as cron's
/// bare PATH would not find a per-user Python). None when it is not installed.
fn real_linode_cli(bin: &Path) -> Option<()> {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, importlib.metadata as m; assert m.version('linode-cli') == '5.69.0', m.version('linode-cli'); print(sys.executable)",
        ])
        .output()
        .ok()?;
    if !o.status.success() {
        skip(&format!(
            "linode-cli 5.69.0 is not installed (python3 -m pip install linode-cli==5.69.0): {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
        return None;
    }
    let py = String::from_utf8(o.stdout).unwrap().trim().to_string();
    std::fs::create_dir_all(bin).unwrap();
    let p = bin.join("linode-cli");
    std::fs::write(
        &p,
        format!("#!/bin/sh\nexec '{py}' -c 'import sys; from linodecli import main; sys.argv[0] = \"linode-cli\"; sys.exit(main())' \"$@\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    Some(())
}

struct Case {
    _s3: S3Server,
    h: Host,
    bin: PathBuf,
    api: Api,
}

impl Case {
    /// An installed Linode autoscaler with `settings`, and the API with `state`.
    fn new(settings: &str, state: Value) -> Option<Case> {
        let (s3, h) = installed_autoscaler(settings);
        std::fs::write(h.path("LINODE"), "").unwrap();
        let bin = h.dir.path().join("bin");
        real_linode_cli(&bin)?;
        let api = Api::start(state);
        Some(Case {
            _s3: s3,
            h,
            bin,
            api,
        })
    }

    /// A build machine (launchers in place) and the API with `state`.
    fn build_machine(state: Value) -> Option<Case> {
        let s3 = S3Server::start();
        let h = Host::new("build", s3.port);
        h.install();
        let bin = h.dir.path().join("bin");
        real_linode_cli(&bin)?;
        let api = Api::start(state);
        Some(Case {
            _s3: s3,
            h,
            bin,
            api,
        })
    }

    /// `snippet` run by /bin/sh with the CLI's environment (legacy sources some scripts).
    fn shell(&self, snippet: &str) -> Output {
        let mut c = self.cmd("/bin/sh", &["-c", snippet]);
        c.output().unwrap()
    }

    fn cmd(&self, script: &str, args: &[&str]) -> Command {
        let mut c = if script.starts_with('/') {
            let mut c = self.h.cmd(script);
            c.env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()));
            c
        } else {
            self.h.cmd_with(&self.bin, script)
        };
        c.args(args)
            .env("LINODE_CLI_TOKEN", "x")
            .env(
                "LINODE_CLI_API_HOST",
                format!("127.0.0.1:{}", self.api.port),
            )
            .env("LINODE_CLI_API_SCHEME", "http")
            .env("XDG_CONFIG_HOME", self.h.dir.path().join("config"))
            .env("ADT_DNS_DRAIN_SECS", "0");
        c
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.cmd(script, args).output().unwrap()
    }
}

fn linode(id: u64, label: &str, ipv4: &[&str]) -> Value {
    json!({"id": id, "label": label, "group": "", "region": "eu-west", "type": "g6-standard-1",
           "status": "running", "ipv4": ipv4, "ipv6": null, "tags": []})
}

/// 520 linodes: ours are on the second page of 500.
fn many_linodes() -> Vec<Value> {
    let mut v: Vec<Value> = (0..515)
        .map(|i| {
            linode(
                20000 + i,
                &format!("other-{i}"),
                &[&format!("198.51.100.{}", i % 250)],
            )
        })
        .collect();
    v.push(linode(
        501,
        "NO-1-autoscaler-exam",
        &["192.0.2.9", "192.168.1.9"],
    ));
    v.push(linode(
        511,
        "webserver-ab12-example-prod1",
        &["192.0.2.11", "192.168.1.11"],
    ));
    v.push(linode(
        512,
        "webserver-cd34-example-prod1",
        &["192.0.2.12", "192.168.1.12"],
    ));
    v.push(linode(
        513,
        "database-exam",
        &["192.0.2.13", "192.168.1.13"],
    ));
    v.push(linode(
        514,
        "webserver-ef56-example-prod2",
        &["192.0.2.14", "192.168.1.14"],
    ));
    v
}

const S: &str = "providerscripts/server/";

#[test]
fn servers_are_listed_from_every_page_and_destroyed() {
    let Some(c) = Case::new(
        "CLOUDHOST:linode\nDNSCHOICE:local\n",
        json!({"linodes": many_linodes()}),
    ) else {
        return;
    };
    let o = c.run(
        &format!("{S}GetServerIPAddresses.sh"),
        &["webserver", "linode"],
    );
    assert_eq!(
        stdout(&o),
        "192.0.2.11\n192.0.2.12\n192.0.2.14\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(
        c.api.pages("/v4/linode/instances"),
        [("1".into(), "500".into()), ("2".into(), "500".into())]
    );
    let o = c.run(&format!("{S}NumberOfServers.sh"), &["webserver", "linode"]);
    assert_eq!(stdout(&o), "3\n");
    let o = c.run(
        &format!("{S}GetServerPrivateIPAddressByIP.sh"),
        &["192.0.2.12", "linode"],
    );
    assert_eq!(stdout(&o), "192.168.1.12\n");
    c.api.clear();
    let o = c.run(&format!("{S}DestroyServer.sh"), &["192.0.2.12", "linode"]);
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        c.api.changes(),
        [
            (
                "POST".into(),
                "/v4/linode/instances/512/shutdown".into(),
                json!({})
            ),
            (
                "DELETE".into(),
                "/v4/linode/instances/512".into(),
                Value::Null
            ),
        ]
    );
    assert_eq!(c.api.state()["linodes"].as_array().unwrap().len(), 519);
}

#[test]
fn creates_ignore_the_operators_defaults_and_print_only_the_answer() {
    let Some(c) = Case::new("CLOUDHOST:linode\nDNSCHOICE:local\n", json!({})) else {
        return;
    };
    // The operator's linode-cli configuration, with defaults a create would otherwise take.
    let conf = c.h.dir.path().join("config");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("linode-cli"),
        "[DEFAULT]\ndefault-user = ops\n\n[ops]\ntoken = x\nregion = us-east\ntype = g6-nanode-1\nimage = linode/debian12\nauthorized_users = opsuser\n",
    )
    .unwrap();
    let o = c.run(
        &format!("{S}CreateServer.sh"),
        &[
            "Ubuntu 20.04",
            "eu-west",
            "g6-standard-1",
            "webserver-ab12-example-prod1",
            "",
            "linode",
            "root",
            "Secret#Pass123",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // stdout is the create's JSON answer, nothing of ip-add's table.
    let answer: Value = serde_json::from_str(&stdout(&o)).expect("only JSON on stdout");
    assert_eq!(answer[0]["label"], "webserver-ab12-example-prod1");
    assert!(!stdout(&o).contains('┌'), "{}", stdout(&o));
    assert!(
        !stderr(&o).contains("Using default values"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        c.api.changes(),
        [
            (
                "POST".into(),
                "/v4/linode/instances".into(),
                json!({"root_pass": "Secret#Pass123", "region": "eu-west",
                       "image": "linode/ubuntu20.04", "type": "g6-standard-1",
                       "group": "Agile Deployment Toolkit",
                       "label": "webserver-ab12-example-prod1"})
            ),
            (
                "POST".into(),
                "/v4/linode/instances/1001/ips".into(),
                json!({"type": "ipv4", "public": false})
            ),
        ]
    );
    // A refused create: the API's reason and field, the password nowhere.
    c.api.set(
        "fail",
        json!([{"method": "POST", "path": "/v4/linode/instances", "status": 400,
                "field": "root_pass", "reason": "Password does not meet strength requirement."}]),
    );
    let o = c.run(
        &format!("{S}CreateServer.sh"),
        &[
            "Ubuntu 20.04",
            "eu-west",
            "g6-standard-1",
            "webserver-cd34-example-prod1",
            "",
            "linode",
            "root",
            "Secret#Pass456",
        ],
    );
    assert_eq!(stdout(&o), "");
    let e = stderr(&o);
    assert!(
        e.contains("linode-cli linodes create failed (exit 2): Request failed: 400: root_pass: Password does not meet strength requirement."),
        "{e}"
    );
    assert!(!e.contains("Secret#Pass456"), "{e}");
}

#[test]
fn dns_records_are_read_from_every_page() {
    let mut domains: Vec<Value> = (0..510)
        .map(|i| json!({"id": 3000 + i, "domain": format!("d{i}.example.net"), "type": "master"}))
        .collect();
    domains.insert(
        505,
        json!({"id": 901, "domain": "example.com", "type": "master"}),
    );
    domains.insert(
        3,
        json!({"id": 902, "domain": "myexample.com", "type": "master"}),
    );
    let mut records: Vec<Value> = (0..505)
        .map(|i| json!({"id": 10 + i, "type": "TXT", "name": format!("t{i}"), "target": "x"}))
        .collect();
    records.push(json!({"id": 1, "type": "A", "name": "www", "target": "10.0.0.1"}));
    records.push(json!({"id": 2, "type": "A", "name": "mail", "target": "10.0.0.1"}));
    records.push(json!({"id": 3, "type": "A", "name": "www", "target": "10.0.0.10"}));
    let Some(c) = Case::new(
        "DNSCHOICE:linode\n",
        json!({"domains": domains, "records": {"901": records}}),
    ) else {
        return;
    };
    let o = c.run("autoscaler/GetDNSIPs.sh", &[]);
    assert_eq!(stdout(&o), "10.0.0.1 10.0.0.10\n", "{}", stderr(&o));
    let two = [
        ("1".to_string(), "500".to_string()),
        ("2".into(), "500".into()),
    ];
    assert_eq!(c.api.pages("/v4/domains"), two);
    assert_eq!(c.api.pages("/v4/domains/901/records"), two);
    for (script, ip) in [
        ("AddIPToDNS", "10.0.0.10"),
        ("AddIPToDNS", "203.0.113.5"),
        ("RemoveIPFromDNS", "10.0.0.1"),
    ] {
        let o = c.run(&format!("autoscaler/{script}.sh"), &[ip]);
        assert!(o.status.success(), "{script} {ip}: {}", stderr(&o));
        assert_eq!(stdout(&o), "", "{script} {ip}");
    }
    assert_eq!(
        c.api.changes(),
        [
            (
                "POST".into(),
                "/v4/domains/901/records".into(),
                json!({"type": "A", "name": "www", "target": "203.0.113.5", "ttl_sec": 120})
            ),
            (
                "DELETE".into(),
                "/v4/domains/901/records/1".into(),
                Value::Null
            ),
        ]
    );
}

#[test]
fn the_firewall_reads_every_page_of_firewalls_devices_and_linodes() {
    let mut firewalls: Vec<Value> = (0..505)
        .map(|i| json!({"id": 40000 + i, "label": format!("fw{i}"), "status": "enabled"}))
        .collect();
    firewalls.push(json!({"id": 77, "label": "adt", "status": "enabled",
        "rules": {"inbound_policy": "DROP", "outbound_policy": "ACCEPT", "inbound": [
            {"action": "ACCEPT", "protocol": "TCP", "ports": "22", "addresses": {"ipv4": ["10.0.0.99/32"]}}]}}));
    let mut devices: Vec<Value> = (0..505)
        .map(|i| json!({"id": 60000 + i, "entity": {"id": 20000 + i, "type": "linode"}}))
        .collect();
    // The autoscaler and one webserver are attached, on the second page.
    devices.push(json!({"id": 1, "entity": {"id": 501, "type": "linode"}}));
    devices.push(json!({"id": 2, "entity": {"id": 511, "type": "linode"}}));
    let Some(c) = Case::new(
        "BUILDCLIENTIP:192.0.2.10\nDNSCHOICE:linode\n",
        json!({"firewalls": firewalls, "devices": {"77": devices}, "linodes": many_linodes()}),
    ) else {
        return;
    };
    for k in [
        "webserverips/10.0.0.5",
        "webserverpublicips/203.0.113.5",
        "autoscalerip/10.0.0.9",
        "autoscalerpublicip/203.0.113.9",
        "databaseip/10.0.0.7",
    ] {
        let o = c.h.exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k]);
        assert!(o.status.success());
    }
    let o = c.run(
        "providerscripts/security/firewall/UpdateNativeFirewall.sh",
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let two = [
        ("1".to_string(), "500".to_string()),
        ("2".into(), "500".into()),
    ];
    assert_eq!(c.api.pages("/v4/networking/firewalls"), two);
    assert_eq!(c.api.pages("/v4/networking/firewalls/77/devices"), two);
    assert_eq!(c.api.pages("/v4/linode/instances"), two);
    let changes = c.api.changes();
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert_eq!(
        (changes[0].0.as_str(), changes[0].1.as_str()),
        ("PUT", "/v4/networking/firewalls/77/rules")
    );
    let inbound = changes[0].2["inbound"].as_array().unwrap();
    assert!(inbound.iter().any(|r| r["ports"] == "22,1035,2035"
        && r["addresses"]["ipv4"]
            .as_array()
            .unwrap()
            .contains(&json!("203.0.113.5/32"))));
    assert!(!changes[0].2.to_string().contains("10.0.0.99"));
    // Only the fleet's machines not attached yet: the other webservers and the database.
    let attached: Vec<(&str, &str, &Value)> = changes[1..]
        .iter()
        .map(|(m, p, b)| (m.as_str(), p.as_str(), b))
        .collect();
    let want = [
        json!({"id": 512, "type": "linode"}),
        json!({"id": 513, "type": "linode"}),
        json!({"id": 514, "type": "linode"}),
    ];
    assert_eq!(
        attached,
        want.iter()
            .map(|b| ("POST", "/v4/networking/firewalls/77/devices", b))
            .collect::<Vec<_>>()
    );
}

#[test]
fn failures_carry_the_reason_and_token_problems_say_so() {
    let Some(c) = Case::new(
        "CLOUDHOST:linode\nDNSCHOICE:local\n",
        json!({"linodes": many_linodes(),
               "fail": [{"method": "POST", "path": "/v4/linode/instances/\\d+/shutdown",
                         "status": 400, "reason": "Linode busy; try again later"}]}),
    ) else {
        return;
    };
    // An API error: exit 0 (legacy), nothing on stdout, the reason on stderr.
    let o = c.run(&format!("{S}DestroyServer.sh"), &["192.0.2.12", "linode"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains(
            "linode-cli linodes shutdown failed (exit 2): Request failed: 400: Linode busy; try again later"
        ),
        "{}",
        stderr(&o)
    );
    // A refused token: one line that says so.
    c.api.set("token", json!("another"));
    let o = c.run(
        &format!("{S}GetServerIPAddresses.sh"),
        &["webserver", "linode"],
    );
    assert_eq!(stdout(&o), "");
    let e = stderr(&o);
    let lines: Vec<&str> = e.lines().filter(|l| l.contains("linode-cli")).collect();
    assert_eq!(lines.len(), 1, "{e}");
    assert!(
        lines[0].contains("linode-cli linodes list failed (exit 2): the API token was refused (Request failed: 401: Invalid Token;"),
        "{e}"
    );
    // No token at all (none in the environment, no configuration): linode-cli would ask for
    // one on its terminal; one line says what is missing, no traceback.
    let o = c
        .cmd(
            &format!("{S}GetServerIPAddresses.sh"),
            &["webserver", "linode"],
        )
        .env_remove("LINODE_CLI_TOKEN")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "");
    let e = stderr(&o);
    assert!(
        e.contains("linode-cli linodes list failed (exit 1): no API token is configured (set LINODE_CLI_TOKEN or `linode-cli configure`)"),
        "{e}"
    );
    assert!(!e.contains("Traceback") && !e.contains("EOFError"), "{e}");
}

/// TightenDBaaSFirewall on Linode: the managed database labelled with the build identifier
/// admits exactly the fleet's public IPs, through the API with curl; the token travels in curl's
/// configuration on stdin (from LINODE_CLI_TOKEN, or linode-cli's config file), never on argv.
#[test]
fn dbaas_allow_list_through_the_api() {
    let Some(c) = Case::new(
        "CLOUDHOST:linode\nBUILDIDENTIFIER:prod1\nDATABASEDBaaSINSTALLATIONTYPE:DBaaS:mysql:eu-west:g6-nanode-1:adt-prod1-db\n",
        json!({"token": "Tok3nSecret", "databases": {"mysql": [
            {"id": 41, "label": "other-db", "allow_list": []},
            {"id": 42, "label": "adt-prod1-db", "engine": "mysql", "allow_list": ["198.51.100.1/32", "203.0.113.9/32"]}
        ]}}),
    ) else {
        return;
    };
    for k in [
        "autoscalerpublicip/203.0.113.9",
        "webserverpublicips/203.0.113.5",
        "webserverips/10.0.0.5",
        "databasepublicip/203.0.113.7",
    ] {
        assert!(c
            .h
            .exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k])
            .status
            .success());
    }
    // curl as it is, its command lines recorded.
    let argv = c.h.dir.path().join("curl-argv.log");
    std::fs::write(
        c.bin.join("curl"),
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec /usr/bin/curl \"$@\"\n",
            argv.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(c.bin.join("curl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tighten = |token_in_env: bool| {
        let mut cmd = c.cmd("/bin/sh", &[]);
        cmd.arg("-c").arg(format!(
            ". {}",
            c.h.path("providerscripts/security/firewall/TightenDBaaSFirewall.sh")
                .display()
        ));
        if token_in_env {
            cmd.env("LINODE_CLI_TOKEN", "Tok3nSecret");
        } else {
            cmd.env_remove("LINODE_CLI_TOKEN");
        }
        cmd.output().unwrap()
    };
    let o = tighten(true);
    assert!(o.status.success(), "{}", stderr(&o));
    let changes = c.api.changes();
    assert_eq!(
        changes,
        [(
            "PUT".to_string(),
            "/v4beta/databases/mysql/instances/42".to_string(),
            json!({"allow_list": ["203.0.113.5/32", "203.0.113.7/32", "203.0.113.9/32"]})
        )]
    );
    assert_eq!(
        c.api.state()["databases"]["mysql"][0]["allow_list"],
        json!([]),
        "another database is not touched"
    );
    // Again, the token from linode-cli's config file this time: nothing to change, no PUT.
    let cfg = c.h.dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("linode-cli"),
        "[DEFAULT]\ndefault-user = adt\n\n[adt]\ntoken = Tok3nSecret\nregion = eu-west\n",
    )
    .unwrap();
    c.api.clear();
    let o = tighten(false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(c.api.changes().is_empty(), "{:?}", c.api.changes());
    assert!(!c.api.requests().is_empty(), "the API was asked");
    let lines = std::fs::read_to_string(&argv).unwrap();
    assert!(lines.contains("-K -"), "{lines}");
    assert!(
        !lines.contains("Tok3nSecret"),
        "the token was on argv: {lines}"
    );
    // A refused token: one line naming the call and the API's reason, no token.
    std::fs::write(cfg.join("linode-cli"), "[adt]\ntoken = WrongTok3n\n").unwrap();
    let o = tighten(false);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("Linode API GET /v4beta/databases/mysql/instances")
            && e.contains("Invalid Token"),
        "{e}"
    );
    assert!(!e.contains("WrongTok3n"), "{e}");
}

/// The build machine's own firewall `adt-build-machine` follows the access list (legacy
/// AdjustBuildMachineNativeFirewall.sh, sourced): created with the SSH port from each listed
/// address, the build machine (found by its address) attached and nobody else; an address
/// removed and one added is one rules update; a bad line opens nothing; no change, no call.
#[test]
fn the_build_machines_firewall_follows_the_access_list() {
    const ADJ: &str = "providerscripts/security/firewall/AdjustBuildMachineNativeFirewall.sh";
    let mut linodes = many_linodes();
    linodes.push(linode(
        900,
        "build-machine",
        &["192.0.2.50", "192.168.1.50"],
    ));
    let Some(c) = Case::build_machine(json!({"linodes": linodes})) else {
        return;
    };
    let adjust = |ips: &str| {
        let o = c.shell(&format!(
            "CLOUDHOST=linode; SSH_PORT=1035; BUILD_CLIENT_IP=192.0.2.50; ips='{ips}'; . {}; echo alive",
            c.h.path(ADJ).display()
        ));
        assert_eq!(stdout(&o), "alive\n", "{}", stderr(&o));
        o
    };
    let o = adjust("198.51.100.7 198.51.100.8 10.0.0.0/8");
    assert!(
        stderr(&o).contains("\"10.0.0.0/8\" is a network, not one address; it opens nothing"),
        "{}",
        stderr(&o)
    );
    let changes = c.api.changes();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(
        (changes[0].0.as_str(), changes[0].1.as_str()),
        ("POST", "/v4/networking/firewalls")
    );
    assert_eq!(changes[0].2["label"], "adt-build-machine");
    assert_eq!(
        changes[0].2["rules"]["inbound"],
        json!([
            {"action": "ACCEPT", "addresses": {"ipv4": ["0.0.0.0/0"]}, "protocol": "ICMP"},
            {"action": "ACCEPT", "addresses": {"ipv4": ["198.51.100.7/32", "198.51.100.8/32"]},
             "ports": "1035", "protocol": "TCP"}
        ])
    );
    assert_eq!(changes[0].2["rules"]["inbound_policy"], "DROP");
    let fw = c.api.state()["firewalls"][0]["id"].clone();
    assert_eq!(
        (
            changes[1].0.as_str(),
            changes[1].1.clone(),
            changes[1].2.clone()
        ),
        (
            "POST",
            format!("/v4/networking/firewalls/{fw}/devices"),
            json!({"id": 900, "type": "linode"})
        ),
        "only the build machine is attached"
    );
    c.api.clear();
    // One address gone, one new: the rules replaced once; already attached.
    adjust("198.51.100.8:198.51.100.9");
    let changes = c.api.changes();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].0.as_str(), changes[0].1.clone()),
        ("PUT", format!("/v4/networking/firewalls/{fw}/rules"))
    );
    assert_eq!(
        changes[0].2["inbound"][1]["addresses"]["ipv4"],
        json!(["198.51.100.8/32", "198.51.100.9/32"])
    );
    c.api.clear();
    // The same list again: nothing to change, no change made.
    adjust("198.51.100.9 198.51.100.8");
    assert_eq!(c.api.changes(), vec![]);
}
