//! Complete listings and failure messages with the CLIs that tests/support/fakecloud.py stands
//! in for (doctl, exo, vultr-cli; linode-cli runs for real in linode_cli.rs). vultr-cli answers
//! one page at a time (100 by default) with a cursor to the next: servers, DNS records,
//! firewall groups, firewall rules and the instances the firewall attaches are each spread over
//! several pages here, and are read whole. doctl and exo fetch every page themselves. Failures
//! name the subcommand and exit status and carry the provider's reason, secrets redacted; a
//! missing or refused token says so in one line.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;

struct Fake {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Fake {
    fn new(state: Value) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fakecloud.py");
        for p in ["doctl", "exo", "vultr"] {
            std::os::unix::fs::symlink(&script, bin.join(p)).unwrap();
        }
        let f = Fake { dir, bin };
        f.set(state);
        f
    }
    fn set(&self, state: Value) {
        std::fs::write(self.dir.path().join("state.json"), state.to_string()).unwrap();
    }
    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("state.json")).unwrap())
            .unwrap()
    }
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.replace(['[', ']'], ""))
            .collect()
    }
    fn clear(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("calls.log"));
    }
    fn run(&self, h: &Host, script: &str, args: &[&str]) -> Output {
        h.cmd_with(&self.bin, script)
            .args(args)
            .env("FAKECLOUD_DIR", self.dir.path())
            .env("ADT_DNS_DRAIN_SECS", "0")
            .output()
            .unwrap()
    }
}

/// vultr-cli's cursor for the page that starts at `offset` (the stand-in's, shaped like the
/// API's).
fn cursor(offset: usize) -> String {
    use std::io::Write;
    let mut c = std::process::Command::new("base64")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(format!("next__{offset}").as_bytes())
        .unwrap();
    String::from_utf8(c.wait_with_output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

fn server(id: &str, name: &str, public: &str, private: &str) -> Value {
    json!({"id": id, "name": name, "public": public, "private": private})
}

/// 230 instances (three pages of 100): the fleet's are on the third.
fn many_servers() -> Vec<Value> {
    let mut v: Vec<Value> = (0..225)
        .map(|i| {
            server(
                &format!("o-{i}"),
                &format!("other-{i}"),
                &format!("198.51.100.{}", i % 250),
                "",
            )
        })
        .collect();
    v.push(server(
        "u-1",
        "NO-1-autoscaler-exam",
        "203.0.113.9",
        "10.0.0.9",
    ));
    v.push(server(
        "u-2",
        "webserver-ab12-example-prod1",
        "203.0.113.5",
        "10.0.0.5",
    ));
    v.push(server(
        "u-3",
        "webserver-cd34-example-prod1",
        "203.0.113.6",
        "10.0.0.6",
    ));
    v.push(server("u-4", "database-exam", "203.0.113.7", "10.0.0.7"));
    v.push(server("u-5", "other-last", "198.51.100.251", ""));
    v
}

fn autoscaler(marker: &str, settings: &str) -> (S3Server, Host) {
    let (s3, h) = installed_autoscaler(settings);
    std::fs::write(h.path(marker), "").unwrap();
    (s3, h)
}

const S: &str = "providerscripts/server/";

#[test]
fn vultr_servers_are_read_from_every_page() {
    let (_s3, h) = autoscaler("VULTR", "CLOUDHOST:vultr\nDNSCHOICE:local\n");
    let fake = Fake::new(json!({"servers": many_servers(), "next": 1, "nets": []}));
    let o = fake.run(
        &h,
        &format!("{S}GetServerIPAddresses.sh"),
        &["webserver", "vultr"],
    );
    assert_eq!(stdout(&o), "203.0.113.5\n203.0.113.6\n", "{}", stderr(&o));
    assert_eq!(
        fake.calls(),
        [
            "vultr instance list -o json".to_string(),
            format!("vultr instance list -o json --cursor {}", cursor(100)),
            format!("vultr instance list -o json --cursor {}", cursor(200)),
        ]
    );
    fake.clear();
    let o = fake.run(
        &h,
        &format!("{S}DestroyServer.sh"),
        &["203.0.113.6", "vultr"],
    );
    assert_eq!(stdout(&o), "", "{}", stderr(&o));
    let changes: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| !c.contains(" list "))
        .collect();
    assert_eq!(changes, ["vultr instance delete u-3"]);
    assert_eq!(fake.state()["servers"].as_array().unwrap().len(), 229);
}

#[test]
fn vultr_dns_records_are_read_from_every_page() {
    let mut records: Vec<Value> = (0..240)
        .map(|i| json!({"id": format!("t-{i}"), "type": "TXT", "name": format!("t{i}"), "data": "x"}))
        .collect();
    records.push(json!({"id": "r-www1", "type": "A", "name": "www", "data": "10.0.0.1"}));
    records.push(json!({"id": "r-mail", "type": "A", "name": "mail", "data": "10.0.0.1"}));
    records.push(json!({"id": "r-www10", "type": "A", "name": "www", "data": "10.0.0.10"}));
    let (_s3, h) = installed_autoscaler("DNSCHOICE:vultr\n");
    let fake = Fake::new(json!({"servers": [], "next": 1, "nets": [], "records": records}));
    let o = fake.run(&h, "autoscaler/GetDNSIPs.sh", &[]);
    assert_eq!(stdout(&o), "10.0.0.1 10.0.0.10\n", "{}", stderr(&o));
    assert_eq!(
        fake.calls(),
        [
            "vultr dns record list example.com -o json".to_string(),
            format!(
                "vultr dns record list example.com -o json --cursor {}",
                cursor(100)
            ),
            format!(
                "vultr dns record list example.com -o json --cursor {}",
                cursor(200)
            ),
        ]
    );
    fake.clear();
    for (script, ip) in [
        ("AddIPToDNS", "10.0.0.10"),
        ("AddIPToDNS", "203.0.113.5"),
        ("RemoveIPFromDNS", "10.0.0.1"),
    ] {
        let o = fake.run(&h, &format!("autoscaler/{script}.sh"), &[ip]);
        assert!(o.status.success(), "{script} {ip}: {}", stderr(&o));
        assert_eq!(stdout(&o), "");
    }
    let changes: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| !c.contains(" list "))
        .collect();
    assert_eq!(
        changes,
        [
            "vultr dns record create -m example.com -n www -t A -d 203.0.113.5 --priority=10 --ttl=120",
            "vultr dns record delete example.com r-www1",
        ]
    );
}

#[test]
fn vultr_firewall_groups_rules_and_instances_are_read_from_every_page() {
    let mut groups: Vec<Value> = (0..150)
        .map(|i| json!({"id": format!("g-{i}"), "description": format!("group {i}")}))
        .collect();
    groups.push(json!({"id": "fwg-adt", "description": "adt"}));
    // 110 IPv6 rules (not ours to judge), then on the second page one wanted rule and one
    // stale one.
    let mut rules: Vec<Value> = (0..110)
        .map(|i| {
            json!({"id": 1000 + i, "ip_type": "v6", "protocol": "tcp", "port": "22",
                        "subnet": "2001:db8::", "subnet_size": 64})
        })
        .collect();
    rules.push(
        json!({"id": 7, "ip_type": "v4", "protocol": "tcp", "port": "22",
                      "subnet": "10.0.0.5", "subnet_size": 32}),
    );
    rules.push(
        json!({"id": 8, "ip_type": "v4", "protocol": "tcp", "port": "22",
                      "subnet": "10.0.0.99", "subnet_size": 32}),
    );
    let mut servers = many_servers();
    // The autoscaler is in the group already (on the third page of instances).
    servers[225]["firewall_group_id"] = json!("fwg-adt");
    let (_s3, h) = autoscaler("VULTR", "BUILDCLIENTIP:192.0.2.10\nDNSCHOICE:vultr\n");
    for k in [
        "webserverips/10.0.0.5",
        "webserverpublicips/203.0.113.5",
        "autoscalerip/10.0.0.9",
        "autoscalerpublicip/203.0.113.9",
        "databaseip/10.0.0.7",
    ] {
        let o = h.exec(&format!("{W}PutToConfigDatastore.sh"), &[k, k]);
        assert!(o.status.success());
    }
    let fake = Fake::new(json!({"servers": servers, "next": 1, "nets": [],
                                "fwgroups": groups, "fwrules": {"fwg-adt": rules}}));
    let o = fake.run(
        &h,
        "providerscripts/security/firewall/UpdateNativeFirewall.sh",
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = fake.calls();
    let lists: Vec<String> = calls
        .iter()
        .filter(|c| c.contains(" list "))
        .cloned()
        .collect();
    assert_eq!(
        lists,
        [
            "vultr firewall group list -o json".to_string(),
            format!("vultr firewall group list -o json --cursor {}", cursor(100)),
            "vultr firewall rule list fwg-adt -o json".to_string(),
            format!(
                "vultr firewall rule list fwg-adt -o json --cursor {}",
                cursor(100)
            ),
            "vultr instance list -o json".to_string(),
            format!("vultr instance list -o json --cursor {}", cursor(100)),
            format!("vultr instance list -o json --cursor {}", cursor(200)),
        ]
    );
    let changes: Vec<&String> = calls.iter().filter(|c| !c.contains(" list ")).collect();
    // The group on page two is found (no second `adt` group), the wanted rule on page two is
    // kept, the stale one deleted; only the fleet's instances not in the group are attached.
    assert!(
        !calls.iter().any(|c| c.contains("group create")),
        "{calls:#?}"
    );
    assert!(
        !changes.iter().any(|c| c.contains("rule create")
            && c.contains("--port 22 ")
            && c.ends_with("-s 10.0.0.5")),
        "{changes:#?}"
    );
    assert!(changes.contains(&&"vultr firewall rule delete fwg-adt 8".to_string()));
    assert_eq!(
        changes.iter().filter(|c| c.contains("rule delete")).count(),
        1,
        "{changes:#?}"
    );
    let attached: Vec<&str> = changes
        .iter()
        .filter(|c| c.contains("update-firewall-group"))
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        attached,
        [
            "vultr instance update-firewall-group -f fwg-adt -i u-2",
            "vultr instance update-firewall-group -f fwg-adt -i u-3",
            "vultr instance update-firewall-group -f fwg-adt -i u-4",
        ]
    );
}

#[test]
fn a_listing_of_more_than_one_api_page_from_doctl_and_exo_is_read_whole() {
    // doctl and exo fetch every page of the API themselves: 250 servers come as one answer.
    for (marker, cloud) in [("DROPLET", "digitalocean"), ("EXOSCALE", "exoscale")] {
        let (_s3, h) = autoscaler(
            marker,
            &format!("CLOUDHOST:{cloud}\nDNSCHOICE:local\nREGION:ch-gva-2\n"),
        );
        let mut servers: Vec<Value> = (0..248)
            .map(|i| {
                server(
                    &format!("{}", 5000 + i),
                    &format!("other-{i}"),
                    "198.51.100.1",
                    "10.9.0.1",
                )
            })
            .collect();
        servers.push(server(
            "4998",
            "webserver-ab12-example-prod1",
            "203.0.113.5",
            "10.0.0.5",
        ));
        servers.push(server(
            "4999",
            "webserver-cd34-example-prod1",
            "203.0.113.6",
            "10.0.0.6",
        ));
        let fake = Fake::new(json!({"servers": servers, "next": 1, "nets": []}));
        let o = fake.run(&h, &format!("{S}NumberOfServers.sh"), &["webserver", cloud]);
        assert_eq!(stdout(&o), "2\n", "{cloud}: {}", stderr(&o));
        assert_eq!(fake.calls().len(), 1, "{cloud}");
    }
}

/// The one line of stderr that names `prog`.
fn the_line<'a>(o: &'a str, prog: &str) -> &'a str {
    let lines: Vec<&str> = o.lines().filter(|l| l.contains(prog)).collect();
    assert_eq!(lines.len(), 1, "{o}");
    lines[0]
}

#[test]
fn failures_carry_the_reason_the_subcommand_and_the_status() {
    for (marker, cloud, prog, sub, env) in [
        (
            "DROPLET",
            "digitalocean",
            "doctl",
            "compute droplet list",
            "DIGITALOCEAN_ACCESS_TOKEN or `doctl auth init`",
        ),
        (
            "EXOSCALE",
            "exoscale",
            "exo",
            "compute instance list",
            "EXOSCALE_API_KEY/EXOSCALE_API_SECRET or `exo config`",
        ),
        (
            "VULTR",
            "vultr",
            "vultr",
            "instance list",
            "VULTR_API_KEY or vultr-cli's config file",
        ),
    ] {
        let (_s3, h) = autoscaler(
            marker,
            &format!("CLOUDHOST:{cloud}\nDNSCHOICE:local\nREGION:ch-gva-2\n"),
        );
        let fake = Fake::new(json!({"servers": many_servers(), "next": 1, "nets": [],
                                    "auth": "missing"}));
        let ask = || {
            fake.run(
                &h,
                &format!("{S}GetServerIPAddresses.sh"),
                &["webserver", cloud],
            )
        };
        let o = ask();
        assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
        assert!(
            the_line(&stderr(&o), prog).ends_with(&format!(
                "{prog} {sub} failed (exit 1): no API token is configured (set {env})"
            )),
            "{}",
            stderr(&o)
        );
        fake.set(json!({"servers": many_servers(), "next": 1, "nets": [], "auth": "bad"}));
        let o = ask();
        let line = the_line(&stderr(&o), prog).to_string();
        assert!(
            line.contains(&format!(
                "{prog} {sub} failed (exit 1): the API token was refused ("
            )) && line.ends_with(&format!("; check {env})")),
            "{line}"
        );
    }
    // An API error: its whole message, with the token the CLI was given redacted.
    let (_s3, h) = autoscaler("DROPLET", "CLOUDHOST:digitalocean\nDNSCHOICE:local\n");
    let droplets = [server(
        "1002",
        "webserver-ab12-example-prod1",
        "203.0.113.5",
        "10.0.0.5",
    )];
    let fake = Fake::new(json!({"servers": droplets, "next": 1, "nets": [],
        "fail": [{"match": "droplet delete", "code": 1, "stderr":
            "Error: DELETE https://api.digitalocean.com/v2/droplets/1002: 422 (request \"9d1e\") Droplet is currently locked (token dop_v1_0123456789abcdef)\n"}]}));
    let o = h
        .cmd_with(&fake.bin, &format!("{S}DestroyServer.sh"))
        .args(["203.0.113.5", "digitalocean"])
        .env("FAKECLOUD_DIR", fake.dir.path())
        .env("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_0123456789abcdef")
        .output()
        .unwrap();
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
    let line = the_line(&stderr(&o), "doctl").to_string();
    assert!(
        line.ends_with("doctl compute droplet delete failed (exit 1): Error: DELETE https://api.digitalocean.com/v2/droplets/1002: 422 (request \"9d1e\") Droplet is currently locked (token <redacted>)"),
        "{line}"
    );
}

/// A CLI that never answers is killed at its deadline (`ADT_CLI_DEADLINE`), and says so.
#[test]
fn a_cli_that_hangs_is_stopped_at_its_deadline() {
    let (_s3, h) = autoscaler("DROPLET", "CLOUDHOST:digitalocean\n");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("doctl"), "#!/bin/sh\nsleep 60\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("doctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = h
        .cmd_with(&bin, &format!("{S}NumberOfServers.sh"))
        .args(["webserver", "digitalocean"])
        .env("ADT_CLI_DEADLINE", "1")
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("doctl compute droplet list failed (did not finish in time)"),
        "{}",
        stderr(&o)
    );
}
