//! The 2025 SetupFirewall's inputs (`security/SetupFirewall.sh` of the end-2025 autoscaler,
//! webserver and database scripts), pure: which line of `runtime/firewallports.dat` a machine
//! reads, that line's tokens, and the fixed sources (VPCIPRANGE, the build machine) with the
//! ports the generation table (`crate::layout::FirewallPorts`) gives them.
//!
//! A token is `PORT|ipv4|SOURCE` or `PORT|ipv4|SOURCE|DELETE`: PORT a TCP port, SOURCE an IPv4
//! address or network (`0.0.0.0/0`: from anywhere); `cloudflare|ipv4|cloudflare` admits 443
//! from Cloudflare's IPv4 ranges (legacy fetched `ips-v4`; ours are `adt cloudflare-ranges`).
//! The line's tokens are separated by white space.
//!
//! It also keeps sshd's `AllowUsers <SERVERUSER>@<VPCIPRANGE>` (database: and
//! `@<BUILDMACHINEIP>`) lines in `/etc/ssh/sshd_config` ([`sshd_lines`]; `ADT_SSHD_CONFIG`
//! replaces the path), restarting ssh through the machine's
//! `utilities/processing/RunServiceCommand.sh ssh restart` once when it appended any (legacy:
//! once per line).
//!
//! Differences from legacy: a token that is not of that shape refuses the whole reconcile (one
//! line naming it; the firewall is left as it is) where legacy reused the previous token's port
//! and address; an empty or missing line opens nothing and removes nothing (the rules the last
//! non-empty line opened stay; legacy only ever removed on `DELETE`); otherwise the line is the
//! complete list: a token taken out of it closes its rule, as `DELETE` does.

use super::net::Net;
use super::Rule;
use crate::home::Machine;
use crate::layout::{FirewallPorts, PortOf};

/// One token of a ports line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// TCP `port` from `source` (None: anywhere); `delete`: the `DELETE` flag.
    Port {
        port: u16,
        source: Option<Net>,
        delete: bool,
    },
    /// `cloudflare|ipv4|cloudflare`: 443 from Cloudflare's IPv4 ranges.
    Cloudflare { delete: bool },
}

/// The key of the line this machine reads (`WEBSERVERPORTS`), if any.
pub fn line_key(p: &FirewallPorts, machine: Machine, hostname: &str) -> Option<&'static str> {
    p.lines
        .iter()
        .find(|(m, host, _)| *m == machine && host.matches(hostname))
        .map(|(_, _, k)| *k)
}

/// The value of the first `KEY:` line (everything after the first colon), as legacy's
/// `grep "^KEY" | awk -F: '{print $NF}'` found it for values without a colon.
pub fn line_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
}

/// Parse one token.
pub fn parse_token(tok: &str) -> Result<Entry, String> {
    let bad = |why: &str| format!("token {tok:?} {why} (PORT|ipv4|SOURCE[|DELETE])");
    let f: Vec<&str> = tok.split('|').collect();
    if f.len() != 3 && f.len() != 4 {
        return Err(bad("has not three or four fields"));
    }
    if f[1] != "ipv4" {
        return Err(bad("is not ipv4"));
    }
    let delete = match f.get(3) {
        None => false,
        Some(&"DELETE") => true,
        Some(_) => return Err(bad("has a fourth field that is not DELETE")),
    };
    if f[0] == "cloudflare" || f[2] == "cloudflare" {
        if f[0] == "cloudflare" && f[2] == "cloudflare" {
            return Ok(Entry::Cloudflare { delete });
        }
        return Err(bad("mixes cloudflare with a port or address"));
    }
    let port = f[0]
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0 && f[0].bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("has no port"))?;
    let source = if f[2] == "0.0.0.0/0" {
        None
    } else {
        let n = Net::parse(f[2], 1, 128).map_err(|e| bad(&format!("has a bad source: {e}")))?;
        if !n.is_v4() {
            return Err(bad("has a source that is not IPv4"));
        }
        Some(n)
    };
    Ok(Entry::Port {
        port,
        source,
        delete,
    })
}

/// Parse a line's value: every token, or the first bad one's message.
pub fn parse_line(value: &str) -> Result<Vec<Entry>, String> {
    value.split_whitespace().map(parse_token).collect()
}

/// The rules of a line's entries (those not flagged `DELETE`).
pub fn rules(entries: &[Entry], cloudflare: &[Net]) -> Vec<Rule> {
    let mut v = Vec::new();
    for e in entries {
        match e {
            Entry::Port {
                port,
                source,
                delete: false,
            } => v.push(Rule {
                source: *source,
                port: *port,
            }),
            Entry::Cloudflare { delete: false } => {
                v.extend(
                    cloudflare
                        .iter()
                        .filter(|n| n.is_v4())
                        .map(|n| Rule::from(*n, 443)),
                );
            }
            _ => {}
        }
    }
    v
}

/// The ports a fixed source may reach on this machine type (`db_port` None or a DBaaS: no
/// database port).
pub fn fixed_ports(
    table: &[(Machine, &'static [PortOf])],
    machine: Machine,
    ssh: u16,
    db_port: Option<u16>,
) -> Vec<u16> {
    table
        .iter()
        .filter(|(m, _)| *m == machine)
        .flat_map(|(_, ports)| ports.iter())
        .filter_map(|p| match p {
            PortOf::Ssh => Some(ssh),
            PortOf::Db => db_port,
            PortOf::Https => Some(443),
        })
        .collect()
}

/// The `AllowUsers <user>@<source>` lines to append to sshd_config `text`: one per source that
/// the file does not mention yet (legacy: `grep <source> sshd_config` empty), in order.
pub fn sshd_lines(text: &str, user: &str, sources: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for src in sources.iter().filter(|s| !s.is_empty()) {
        if !text.contains(src.as_str()) && !out.iter().any(|l| l.contains(src.as_str())) {
            out.push(format!("AllowUsers {user}@{src}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::FIREWALL_2025;

    fn n(s: &str) -> Net {
        Net::parse(s, 0, 0).unwrap()
    }

    #[test]
    fn the_line_follows_the_machine_and_host_name() {
        let p = &FIREWALL_2025;
        assert_eq!(
            line_key(p, Machine::Webserver, "ws-lon1-prod-1"),
            Some("WEBSERVERPORTS")
        );
        assert_eq!(
            line_key(p, Machine::Webserver, "rp-lon1-prod-rp-1"),
            Some("REVERSEPROXYPORTS")
        );
        assert_eq!(
            line_key(p, Machine::Webserver, "auth-lon1-prod-auth-1"),
            Some("AUTHENTICATORPORTS")
        );
        assert_eq!(line_key(p, Machine::Webserver, "other"), None);
        assert_eq!(
            line_key(p, Machine::Database, "db-1"),
            Some("DATABASEPORTS")
        );
        assert_eq!(line_key(p, Machine::Build, "bm"), None);
    }

    #[test]
    fn tokens() {
        assert_eq!(
            parse_line("443|ipv4|0.0.0.0/0 8080|ipv4|81.10.166.111/32|DELETE").unwrap(),
            vec![
                Entry::Port {
                    port: 443,
                    source: None,
                    delete: false
                },
                Entry::Port {
                    port: 8080,
                    source: Some(n("81.10.166.111/32")),
                    delete: true
                }
            ]
        );
        assert_eq!(
            parse_line(" cloudflare|ipv4|cloudflare  ").unwrap(),
            vec![Entry::Cloudflare { delete: false }]
        );
        assert_eq!(parse_line("").unwrap(), vec![]);
        for bad in [
            "443",
            "443|ipv6|::/0",
            "443|ipv4|10.0.0.0/33",
            "443|ipv4|10.0.0.1/8",
            "x|ipv4|10.0.0.1",
            "0|ipv4|10.0.0.1",
            "70000|ipv4|10.0.0.1",
            "443|ipv4|10.0.0.1|KEEP",
            "443|ipv4|cloudflare",
            "443|ipv4|2001:db8::/32",
            "443|ipv4|0.0.0.0",
            "443|ipv4|",
        ] {
            assert!(parse_line(bad).is_err(), "{bad} accepted");
        }
        assert!(parse_line("443|ipv4|0.0.0.0/0 nonsense")
            .unwrap_err()
            .contains("\"nonsense\""));
    }

    #[test]
    fn rules_of_a_line() {
        let cf = [n("173.245.48.0/20"), n("2400:cb00::/32")];
        let e =
            parse_line("cloudflare|ipv4|cloudflare 22|ipv4|10.0.0.0/8|DELETE 8080|ipv4|1.2.3.4")
                .unwrap();
        assert_eq!(
            rules(&e, &cf),
            vec![
                Rule::from(n("173.245.48.0/20"), 443),
                Rule::from(n("1.2.3.4"), 8080)
            ]
        );
    }

    #[test]
    fn line_values() {
        let t = "# WEBSERVERPORTS:1|ipv4|1.1.1.1\nAUTHENTICATORPORTS:\nWEBSERVERPORTS:443|ipv4|0.0.0.0/0 \n";
        assert_eq!(line_value(t, "WEBSERVERPORTS"), Some("443|ipv4|0.0.0.0/0 "));
        assert_eq!(line_value(t, "AUTHENTICATORPORTS"), Some(""));
        assert_eq!(line_value(t, "DATABASEPORTS"), None);
    }

    #[test]
    fn sshd_allow_lines() {
        let srcs = ["10.0.0.0/16".to_string(), "203.0.113.9".to_string()];
        assert_eq!(
            sshd_lines("PermitRootLogin no\n", "X9fK", &srcs),
            ["AllowUsers X9fK@10.0.0.0/16", "AllowUsers X9fK@203.0.113.9"]
        );
        assert_eq!(
            sshd_lines("AllowUsers X9fK@10.0.0.0/16\n", "X9fK", &srcs),
            ["AllowUsers X9fK@203.0.113.9"]
        );
        assert!(sshd_lines("AllowUsers a@10.0.0.0/16 b@203.0.113.9\n", "X9fK", &srcs).is_empty());
    }

    #[test]
    fn fixed_sources_ports() {
        let p = &FIREWALL_2025;
        assert_eq!(
            fixed_ports(p.vpc, Machine::Database, 1035, Some(2035)),
            vec![1035, 2035]
        );
        assert_eq!(
            fixed_ports(p.vpc, Machine::Database, 1035, None),
            vec![1035]
        );
        assert_eq!(
            fixed_ports(p.vpc, Machine::Webserver, 1035, Some(2035)),
            vec![1035, 443]
        );
        assert_eq!(
            fixed_ports(p.build_machine, Machine::Autoscaler, 1035, None),
            vec![1035]
        );
    }
}
