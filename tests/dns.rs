//! The DNS round robin. Local provider: a hosts file served by a real dnsmasq on 127.0.0.1,
//! queried with dig. Cloudflare: the API through a stand-in curl that records argv and the
//! configuration on stdin (the key must never be on argv).

mod common;
use common::*;
use std::time::{Duration, Instant};

fn wait_dig(port: u16, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = dig(port);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "dig answered {got:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn local_round_robin_answers_real_dns_queries() {
    let (_s, h) = installed_autoscaler("DNSCHOICE:local\n");
    let dir = h.path(".adt-rs/dns");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), "").unwrap();
    let port = free_port();
    let _dns = Dnsmasq::start(&dir, port);
    wait_dig(port, &[]);
    let add = |ip: &str| h.exec("autoscaler/AddIPToDNS.sh", &[ip]);
    for ip in ["203.0.113.5", "203.0.113.6", "203.0.113.5"] {
        let o = add(ip);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    wait_dig(port, &["203.0.113.5", "203.0.113.6"]);
    assert_eq!(
        stdout(&h.exec("autoscaler/GetDNSIPs.sh", &[])),
        "203.0.113.5 203.0.113.6\n"
    );
    // Still being built, or taken out by scale-down: not added.
    std::fs::create_dir_all(h.path("runtime/beingbuiltpublicips")).unwrap();
    std::fs::write(h.path("runtime/beingbuiltpublicips/203.0.113.7"), "").unwrap();
    std::fs::write(h.path("runtime/IPREMOVED:203.0.113.8"), "").unwrap();
    assert!(add("203.0.113.7").status.success() && add("203.0.113.8").status.success());
    // Exact matching: removing 10.0.0.1 leaves 10.0.0.10.
    assert!(add("10.0.0.1").status.success() && add("10.0.0.10").status.success());
    let o = h.exec("autoscaler/RemoveIPFromDNS.sh", &["10.0.0.1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h.exec("autoscaler/RemoveIPFromDNS.sh", &["203.0.113.5"]);
    assert!(o.status.success());
    wait_dig(port, &["10.0.0.10", "203.0.113.6"]);
    let bad = add("not-an-ip");
    assert_eq!(bad.status.code(), Some(1));
    let log = std::fs::read_to_string(h.path("logs/DNSRegistrationLog.log")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.ends_with("Added IP 203.0.113.5 to DNS"))
            .count(),
        1,
        "{log}"
    );
}

/// A stand-in curl in `<dir>/bin`: records argv and stdin in `<dir>/curl.log`, answers like the
/// Cloudflare API (zone `zone1`; records r1 = 10.0.0.1 and r2 = 10.0.0.10 on two pages).
fn cloudflare_stand_in(h: &Host) -> (std::path::PathBuf, std::path::PathBuf) {
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = h.dir.path().join("curl.log");
    // A stand-in curl: records argv and stdin, answers like the API.
    let script = format!(
        r#"#!/bin/sh
cfg=$(cat)
{{ printf 'ARGV'; for a in "$@"; do printf ' [%s]' "$a"; done; echo; printf '%s\n' "$cfg" | sed 's/^/STDIN /'; }} >> '{log}'
url=""; method=GET
while [ $# -gt 0 ]; do case "$1" in -X) method=$2; shift;; http*) url=$1;; esac; shift; done
case "$method $url" in
  "GET "*"/zones?name=example.com") echo '{{"success":true,"result":[{{"id":"zone1"}}]}}' ;;
  "GET "*"page=1") echo '{{"success":true,"result":[{{"id":"r1","content":"10.0.0.1"}}],"result_info":{{"total_pages":2}}}}' ;;
  "GET "*"page=2") echo '{{"success":true,"result":[{{"id":"r2","content":"10.0.0.10"}}],"result_info":{{"total_pages":2}}}}' ;;
  "POST "*|"DELETE "*) echo '{{"success":true,"result":{{}}}}' ;;
  *) echo '{{"success":false,"errors":["unexpected"]}}' ;;
esac
"#,
        log = log.display()
    );
    std::fs::write(bin.join("curl"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("curl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, log)
}

#[test]
fn cloudflare_api_calls_keep_the_key_off_argv() {
    let (_s, h) = installed_autoscaler(
        "DNSCHOICE:cloudflare\nDNSUSERNAME:ops@example.com\nDNSSECURITYKEY:s3cr3tk3y\n",
    );
    let (bin, log) = cloudflare_stand_in(&h);
    let run = |script: &str, args: &[&str]| h.cmd_with(&bin, script).args(args).output().unwrap();
    let o = run("autoscaler/GetDNSIPs.sh", &[]);
    assert_eq!(
        stdout(&o),
        "10.0.0.1 10.0.0.10\n",
        "all pages: {}",
        stderr(&o)
    );
    let o = run("autoscaler/AddIPToDNS.sh", &["10.0.0.1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run("autoscaler/AddIPToDNS.sh", &["203.0.113.5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run("autoscaler/RemoveIPFromDNS.sh", &["10.0.0.1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let calls = std::fs::read_to_string(&log).unwrap();
    let argv: Vec<&str> = calls.lines().filter(|l| l.starts_with("ARGV")).collect();
    assert!(
        argv.iter().all(|l| !l.contains("s3cr3tk3y")),
        "key on argv:\n{calls}"
    );
    assert!(
        calls.contains("STDIN header = \"X-Auth-Key: s3cr3tk3y\""),
        "{calls}"
    );
    let posts: Vec<&&str> = argv.iter().filter(|l| l.contains("[POST]")).collect();
    assert_eq!(posts.len(), 1, "10.0.0.1 was already there:\n{calls}");
    assert!(
        posts[0].ends_with("[https://api.cloudflare.com/client/v4/zones/zone1/dns_records]"),
        "{}",
        posts[0]
    );
    assert!(calls.contains(r#"STDIN data = "{\"content\":\"203.0.113.5\",\"name\":\"www.example.com\",\"proxied\":true,\"ttl\":120,\"type\":\"A\"}""#), "{calls}");
    let deletes: Vec<&&str> = argv.iter().filter(|l| l.contains("[DELETE]")).collect();
    assert_eq!(deletes.len(), 1, "only the exact address:\n{calls}");
    assert!(
        deletes[0].ends_with("[https://api.cloudflare.com/client/v4/zones/zone1/dns_records/r1]")
    );
}

/// providerscripts/dns/*.sh with the legacy positional arguments (each script its own order).
#[test]
fn provider_scripts_take_the_legacy_arguments() {
    let (_s, h) = installed_autoscaler("DNSCHOICE:local\n");
    let (bin, log) = cloudflare_stand_in(&h);
    let run = |script: &str, args: &[&str]| {
        let o = h
            .cmd_with(&bin, &format!("providerscripts/dns/{script}.sh"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        stdout(&o)
    };
    let (u, k, url) = ("ops@example.com", "s3cr3tk3y", "www.example.com");
    // Cloudflare.
    assert_eq!(
        run("GetZoneID", &["example.com", u, k, "cloudflare"]),
        "zone1\n"
    );
    assert_eq!(
        run("GetIPAddresses", &["zone1", url, u, k, "cloudflare"]),
        "10.0.0.1\n10.0.0.10\n"
    );
    assert_eq!(
        run(
            "GetRecordID",
            &["zone1", url, "10.0.0.1", u, k, "cloudflare"]
        ),
        "r1\n",
        "exact address, not 10.0.0.10's record too"
    );
    assert_eq!(
        run(
            "AddRecord",
            &["zone1", u, k, url, "203.0.113.5", "cloudflare"]
        ),
        ""
    );
    assert_eq!(
        run("DeleteRecord", &["zone1", "r2", u, k, "cloudflare"]),
        ""
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    let argv: Vec<&str> = calls.lines().filter(|l| l.starts_with("ARGV")).collect();
    assert!(argv.iter().all(|l| !l.contains(k)), "key on argv:\n{calls}");
    assert_eq!(
        argv.iter().filter(|l| l.contains("/zones?name=")).count(),
        1,
        "the zone id given is used:\n{calls}"
    );
    assert!(calls.contains(r#"STDIN data = "{\"content\":\"203.0.113.5\",\"name\":\"www.example.com\",\"proxied\":true,\"ttl\":120,\"type\":\"A\"}""#), "{calls}");
    assert!(
        argv.iter().any(|l| l.ends_with(
            "[DELETE] [https://api.cloudflare.com/client/v4/zones/zone1/dns_records/r2]"
        )),
        "{calls}"
    );
    // The local provider (a hosts file): zone id empty, as for every non-Cloudflare provider.
    assert_eq!(run("GetZoneID", &["example.com", "", "", "local"]), "");
    assert_eq!(
        run("AddRecord", &["", "", "", url, "10.0.0.7", "local"]),
        ""
    );
    assert_eq!(
        run("AddRecord", &["", "", "", url, "10.0.0.70", "local"]),
        ""
    );
    assert_eq!(
        run("GetIPAddresses", &["", url, "", "", "local"]),
        "10.0.0.7\n10.0.0.70\n"
    );
    let id = run("GetRecordID", &["", url, "10.0.0.7", "", "", "local"]);
    assert_eq!(id, "10.0.0.7\n");
    assert_eq!(run("DeleteRecord", &["", id.trim(), "", "", "local"]), "");
    assert_eq!(
        run("GetIPAddresses", &["", url, "", "", "local"]),
        "10.0.0.70\n"
    );
    // Through the glue script, as legacy callers see it.
    let o = h.exec("autoscaler/GetDNSIPs.sh", &[]);
    assert_eq!(stdout(&o), "10.0.0.70\n");
}
