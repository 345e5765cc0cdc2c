//! The 2025 authentication server, the proxies' side: the client addresses the authenticators
//! publish in `<url->-firewall-auth-laptop-ips` (`firewall-laptop-ips/ipaddresses.dat.<ip>`,
//! one address a line), turned into the members of the ipset `allowed-laptop-ips` (the name
//! legacy proxies use, so a mixed fleet shares it) that alone may reach 443; and the `basic-auth`
//! type's `.htpasswd` merge from `<url->-basic-auth-credentials`.
//!
//! Differences from legacy (`security/AllowAuthenticatorIPAddress.sh`, `ObtainBasicAuthCredentials.sh`):
//! - membership is reconciled: an address no longer published leaves the set (legacy only added,
//!   and tested "already added" with a substring grep, so `1.2.3.4` hid `11.2.3.45`);
//! - every member also expires on the proxy [`ttl`] seconds after it was first seen
//!   (`ADT_AUTH_IP_TTL`, default 43200), for authenticators that never withdraw an address;
//!   an address withdrawn and published again starts a new period;
//! - a line that is not exactly one IPv4 host address (a network, `0.0.0.0`, a broadcast or
//!   multicast address, text) opens nothing and is reported;
//! - the `.htpasswd` merge keeps one line per user (the last published wins) and refuses lines
//!   that are not `user:hash`.

use crate::error::Result;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The ipset legacy proxies create and fill.
pub const SET: &str = "allowed-laptop-ips";
/// The prefix of the published files in the bucket.
pub const PREFIX: &str = "firewall-laptop-ips/";

/// `<url->-firewall-auth-laptop-ips`
pub fn ips_bucket(website_url: &str) -> String {
    format!("{}-firewall-auth-laptop-ips", website_url.replace('.', "-"))
}

/// `<url->-basic-auth-credentials`
pub fn basic_auth_bucket(website_url: &str) -> String {
    format!("{}-basic-auth-credentials", website_url.replace('.', "-"))
}

/// How long a member may stay after it was first seen (`ADT_AUTH_IP_TTL`, seconds).
pub fn ttl() -> u64 {
    crate::knobs::env_u64("ADT_AUTH_IP_TTL", 43200)
}

/// One client address as a published line must give it: a single unicast IPv4 host.
pub fn parse_client(line: &str) -> std::result::Result<Ipv4Addr, String> {
    let s = line.trim();
    let ip: Ipv4Addr = s
        .parse()
        .map_err(|_| format!("{s:?} is not an IPv4 address"))?;
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return Err(format!("{s:?} is not a client address"));
    }
    Ok(ip)
}

/// The addresses of the published files' texts; the refused lines, one message each.
pub fn parse_files(texts: &[(String, String)]) -> (Vec<Ipv4Addr>, Vec<String>) {
    let mut ips = Vec::new();
    let mut bad = Vec::new();
    for (key, text) in texts {
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            match parse_client(l) {
                Ok(ip) => {
                    if !ips.contains(&ip) {
                        ips.push(ip)
                    }
                }
                Err(e) => bad.push(format!("{key}: {e}; it opens nothing")),
            }
        }
    }
    ips.sort();
    (ips, bad)
}

/// When each published address was first seen: `runtime/authenticator/adt-first-seen`
/// (`<ip> <unix seconds>` a line).
pub fn parse_seen(text: &str) -> BTreeMap<Ipv4Addr, u64> {
    text.lines()
        .filter_map(|l| {
            let (ip, t) = l.split_once(' ')?;
            Some((ip.parse().ok()?, t.trim().parse().ok()?))
        })
        .collect()
}

pub fn render_seen(seen: &BTreeMap<Ipv4Addr, u64>) -> String {
    seen.iter().map(|(ip, t)| format!("{ip} {t}\n")).collect()
}

/// The members now: the published addresses not older than `ttl`; and the first-seen record
/// to keep (withdrawn addresses are forgotten, new ones start now).
pub fn members(
    published: &[Ipv4Addr],
    seen: &BTreeMap<Ipv4Addr, u64>,
    now: u64,
    ttl: u64,
) -> (Vec<Ipv4Addr>, BTreeMap<Ipv4Addr, u64>) {
    let mut keep = BTreeMap::new();
    let mut live = Vec::new();
    for ip in published {
        let first = seen.get(ip).copied().unwrap_or(now);
        keep.insert(*ip, first);
        if now.saturating_sub(first) < ttl {
            live.push(*ip);
        }
    }
    (live, keep)
}

/// Merge published `user:hash` lines into an `.htpasswd` text: one line per user, the
/// published ones replacing the file's; malformed lines refused (returned as messages).
pub fn merge_htpasswd(current: &str, published: &[(String, String)]) -> (String, Vec<String>) {
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut take = |src: &str, line: &str, bad: &mut Vec<String>| {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        match line.split_once(':') {
            Some((u, h))
                if !u.is_empty()
                    && !h.is_empty()
                    && !u.contains(char::is_whitespace)
                    && !h.contains(char::is_whitespace)
                    && !h.contains(':') =>
            {
                users.insert(u.to_string(), h.to_string());
            }
            _ => bad.push(format!("{src}: a line that is not user:hash was left out")),
        }
    };
    for l in current.lines() {
        take(".htpasswd", l, &mut bad);
    }
    for (key, text) in published {
        for l in text.lines() {
            take(key, l, &mut bad);
        }
    }
    let text = users
        .iter()
        .map(|(u, h)| format!("{u}:{h}\n"))
        .collect::<String>();
    (text, bad)
}

/// The texts of every object under `prefix` in a store.
pub fn published(
    store: &dyn crate::datastore::Backend,
    prefix: &str,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for o in store.list(prefix, false)?.objects {
        let bytes = store.get_bytes(&o.key)?;
        out.push((o.key, String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_addresses_are_taken() {
        let files = vec![(
            "firewall-laptop-ips/ipaddresses.dat.10.0.0.3".to_string(),
            "198.51.100.7\n 203.0.113.9 \n0.0.0.0\n10.0.0.0/8\n1.2.3\nrm -rf /\n255.255.255.255\n198.51.100.7\n\n".to_string(),
        )];
        let (ips, bad) = parse_files(&files);
        assert_eq!(
            ips,
            [
                "198.51.100.7".parse::<Ipv4Addr>().unwrap(),
                "203.0.113.9".parse().unwrap()
            ]
        );
        assert_eq!(bad.len(), 5, "{bad:?}");
        assert!(bad.iter().all(|b| b.contains("opens nothing")));
    }

    #[test]
    fn members_expire_and_a_withdrawn_address_starts_again() {
        let a: Ipv4Addr = "198.51.100.7".parse().unwrap();
        let b: Ipv4Addr = "203.0.113.9".parse().unwrap();
        let (live, seen) = members(&[a], &BTreeMap::new(), 1000, 60);
        assert_eq!(live, [a]);
        let (live, seen) = members(&[a, b], &seen, 1059, 60);
        assert_eq!(live, [a, b]);
        let (live, seen) = members(&[a, b], &seen, 1060, 60);
        assert_eq!(live, [b], "a expired after 60 s");
        let (_, seen) = members(&[b], &seen, 1061, 60);
        assert!(!seen.contains_key(&a), "withdrawn: forgotten");
        let (live, _) = members(&[a, b], &seen, 1062, 60);
        assert!(live.contains(&a), "published again: a new period");
        assert_eq!(parse_seen(&render_seen(&seen)), seen);
    }

    #[test]
    fn htpasswd_merge() {
        let (t, bad) = merge_htpasswd(
            "alice:$apr1$old\nbroken line\n",
            &[(
                "basic-auth-credentials/basic-auth.dat.10.0.0.3".into(),
                "alice:$apr1$new\nbob:$apr1$b\n:nouser\n".into(),
            )],
        );
        assert_eq!(t, "alice:$apr1$new\nbob:$apr1$b\n");
        assert_eq!(bad.len(), 2);
    }

    #[test]
    fn bucket_names() {
        assert_eq!(
            ips_bucket("www.example.com"),
            "www-example-com-firewall-auth-laptop-ips"
        );
        assert_eq!(
            basic_auth_bucket("www.example.com"),
            "www-example-com-basic-auth-credentials"
        );
    }
}
