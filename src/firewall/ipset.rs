//! The ipset applier for the authentication server's set (`allowed-laptop-ips`): read its
//! members with one `ipset save`, apply the difference with one `ipset restore` (atomic per
//! batch; nothing at all when there is no difference). The set is created the way legacy
//! proxies create it (`hash:ip maxelem 16777216`), so either can fill the other's set.

use super::Runner;
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The members `ipset save <set>` lists; `None` when the set does not exist.
pub fn parse_save(set: &str, text: &str) -> BTreeSet<Ipv4Addr> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["add", s, ip, ..] if *s == set => ip.parse().ok(),
                _ => None,
            }
        })
        .collect()
}

/// The `ipset restore` input that turns `current` into `desired` (empty: nothing to do).
pub fn batch(set: &str, current: &BTreeSet<Ipv4Addr>, desired: &BTreeSet<Ipv4Addr>) -> String {
    let mut s = String::new();
    for ip in desired.difference(current) {
        s.push_str(&format!("add {set} {ip} -exist\n"));
    }
    for ip in current.difference(desired) {
        s.push_str(&format!("del {set} {ip} -exist\n"));
    }
    s
}

/// Create the set when missing (as legacy does), and read its members.
pub fn ensure_and_read(run: &mut Runner, set: &str, dry_run: bool) -> Result<BTreeSet<Ipv4Addr>> {
    match run.run("ipset", &["save", set], None) {
        Ok(text) => Ok(parse_save(set, &text)),
        Err(_) if dry_run => Ok(BTreeSet::new()),
        Err(_) => {
            run.run(
                "ipset",
                &["create", set, "hash:ip", "maxelem", "16777216", "-exist"],
                None,
            )
            .map_err(|e| Error::Io(format!("cannot create ipset {set}: {e}")))?;
            Ok(BTreeSet::new())
        }
    }
}

pub fn apply(run: &mut Runner, batch: &str) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    run.run("ipset", &["restore"], Some(batch))
        .map(|_| ())
        .map_err(|e| {
            Error::Io(format!(
                "ipset refused the change (nothing was applied): {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_batches() {
        let save = "create allowed-laptop-ips hash:ip family inet hashsize 1024 maxelem 16777216\nadd allowed-laptop-ips 198.51.100.7\nadd allowed-laptop-ips 11.2.3.45\n";
        let cur = parse_save("allowed-laptop-ips", save);
        assert_eq!(cur.len(), 2);
        let want: BTreeSet<Ipv4Addr> =
            ["198.51.100.7".parse().unwrap(), "1.2.3.4".parse().unwrap()].into();
        assert_eq!(
            batch("allowed-laptop-ips", &cur, &want),
            "add allowed-laptop-ips 1.2.3.4 -exist\ndel allowed-laptop-ips 11.2.3.45 -exist\n"
        );
        assert_eq!(batch("allowed-laptop-ips", &want, &want), "");
    }
}
