//! The iptables applier. ADT's rules live in a chain of their own, `ADT-FIREWALL`, jumped to
//! from INPUT, whose policy is DROP. The chain starts with base rules (loopback, established
//! connections, ping, and for IPv6 ICMPv6) and then holds one ACCEPT per desired rule.
//!
//! A reconcile reads the state with one `iptables-save` and applies every difference in one
//! atomic `iptables-restore --noflush` batch (nothing at all when there is no difference).
//! Matching is exact: a rule is its source network and port, parsed, never a substring.

use super::{Family, Plan, Rule, Runner};
use crate::error::{Error, Result};
use std::collections::BTreeSet;

pub const CHAIN: &str = "ADT-FIREWALL";

fn base_rules(f: Family) -> Vec<String> {
    let mut v = vec![
        format!("-A {CHAIN} -i lo -j ACCEPT"),
        format!("-A {CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
    ];
    match f {
        Family::V4 => v.push(format!(
            "-A {CHAIN} -p icmp -m icmp --icmp-type 8 -j ACCEPT"
        )),
        Family::V6 => v.push(format!("-A {CHAIN} -p ipv6-icmp -j ACCEPT")),
    }
    v
}

/// The `-A` line `iptables-save` prints for a rule.
fn rule_line(r: &Rule) -> String {
    match (&r.source, r.port) {
        (Some(net), 0) => format!("-A {CHAIN} -s {net} -j ACCEPT"),
        (Some(net), p) => format!("-A {CHAIN} -s {net} -p tcp -m tcp --dport {p} -j ACCEPT"),
        // Never "everything from anywhere": the model has no such rule; refuse to write one.
        (None, 0) => String::new(),
        (None, p) => format!("-A {CHAIN} -p tcp -m tcp --dport {p} -j ACCEPT"),
    }
}

/// What `iptables-save` shows of ours.
#[derive(Debug, Default)]
pub struct State {
    pub chain_exists: bool,
    pub jump_exists: bool,
    pub policy_drop: bool,
    pub lines: Vec<String>,
}

pub fn parse_save(text: &str) -> State {
    let mut s = State::default();
    let mut in_filter = false;
    for l in text.lines() {
        if l.starts_with('*') {
            in_filter = l == "*filter";
            continue;
        }
        if !in_filter {
            continue;
        }
        if l.starts_with(&format!(":{CHAIN} ")) {
            s.chain_exists = true;
        } else if l.starts_with(":INPUT ") {
            s.policy_drop = l.starts_with(":INPUT DROP");
        } else if l == format!("-A INPUT -j {CHAIN}") {
            s.jump_exists = true;
        } else if l.starts_with(&format!("-A {CHAIN} ")) {
            s.lines.push(l.to_string());
        }
    }
    s
}

/// A rule from one of our chain's lines, if it is one of ours.
pub fn parse_rule(line: &str) -> Option<Rule> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["-A", _, "-s", src, "-p", "tcp", "-m", "tcp", "--dport", port, "-j", "ACCEPT"] => {
            Some(Rule {
                source: Some(super::net::Net::parse(src, 0, 0).ok()?),
                port: port.parse().ok()?,
            })
        }
        ["-A", _, "-s", src, "-j", "ACCEPT"] => Some(Rule {
            source: Some(super::net::Net::parse(src, 0, 0).ok()?),
            port: 0,
        }),
        ["-A", _, "-p", "tcp", "-m", "tcp", "--dport", port, "-j", "ACCEPT"] => Some(Rule {
            source: None,
            port: port.parse().ok()?,
        }),
        _ => None,
    }
}

/// The chain line that admits the members of an ipset to a TCP port (IPv4 sets only).
pub fn set_rule_line(set: &str, port: u16) -> String {
    format!("-A {CHAIN} -p tcp -m set --match-set {set} src -m tcp --dport {port} -j ACCEPT")
}

/// Compute the batch for one family: `None` when nothing needs to change.
pub fn plan(
    f: Family,
    state: &State,
    desired: &BTreeSet<Rule>,
    protected: &BTreeSet<Rule>,
) -> Plan {
    plan_with_sets(f, state, desired, protected, &[])
}

/// [`plan`], with the set rules ([`set_rule_line`]) the chain must also hold: added when
/// missing, kept when present; a set rule not wanted is removed like any line not ours.
pub fn plan_with_sets(
    f: Family,
    state: &State,
    desired: &BTreeSet<Rule>,
    protected: &BTreeSet<Rule>,
    set_lines: &[String],
) -> Plan {
    let mut plan = Plan::default();
    let base = base_rules(f);
    let present: BTreeSet<Rule> = state.lines.iter().filter_map(|l| parse_rule(l)).collect();
    if !state.chain_exists {
        plan.setup.push(format!(":{CHAIN} - [0:0]"));
    }
    for b in &base {
        if !state.lines.contains(b) {
            plan.setup.push(b.clone());
        }
    }
    for l in set_lines {
        if !state.lines.contains(l) {
            plan.setup.push(l.clone());
        }
    }
    for r in desired.iter().filter(|r| !present.contains(r)) {
        if r.source.is_some() || r.port != 0 {
            plan.add.push(*r);
        }
    }
    for l in &state.lines {
        if base.contains(l) || set_lines.contains(l) {
            continue;
        }
        match parse_rule(l) {
            Some(r) if desired.contains(&r) || protected.contains(&r) => {}
            Some(r) => plan.delete.push(r),
            // A line in our chain we did not write: remove it (the chain is ours).
            None => plan.delete_raw.push(l.replacen("-A ", "-D ", 1)),
        }
    }
    if !state.jump_exists {
        plan.setup_after.push(format!("-I INPUT 1 -j {CHAIN}"));
    }
    if !state.policy_drop {
        plan.policy = true;
    }
    plan
}

/// The `iptables-restore --noflush` input for a plan.
pub fn batch(plan: &Plan) -> String {
    let mut s = String::from("*filter\n");
    if plan.policy {
        s.push_str(":INPUT DROP [0:0]\n");
    }
    for l in &plan.setup {
        s.push_str(l);
        s.push('\n');
    }
    for r in &plan.add {
        s.push_str(&rule_line(r));
        s.push('\n');
    }
    for r in &plan.delete {
        s.push_str(&rule_line(r).replacen("-A ", "-D ", 1));
        s.push('\n');
    }
    for l in &plan.delete_raw {
        s.push_str(l);
        s.push('\n');
    }
    for l in &plan.setup_after {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str("COMMIT\n");
    s
}

fn tools(f: Family) -> (&'static str, &'static str) {
    match f {
        Family::V4 => ("iptables-save", "iptables-restore"),
        Family::V6 => ("ip6tables-save", "ip6tables-restore"),
    }
}

pub fn read(run: &mut Runner, f: Family) -> Result<State> {
    let (save, _) = tools(f);
    let out = run.run(save, &["-t", "filter"], None)?;
    Ok(parse_save(&out))
}

/// The commands a plan runs, for `--dry-run` (the batch shown inline).
pub fn describe(f: Family, plan: &Plan) -> Vec<String> {
    if plan.is_empty() {
        return vec![];
    }
    let (_, restore) = tools(f);
    vec![format!("{restore} --noflush <<'EOF'\n{}EOF", batch(plan))]
}

pub fn apply(run: &mut Runner, f: Family, plan: &Plan) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    let (_, restore) = tools(f);
    run.run(restore, &["--noflush"], Some(&batch(plan)))
        .map(|_| ())
        .map_err(|e| {
            Error::Io(format!(
                "{restore} refused the change (nothing was applied): {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::net::Net;

    fn r(src: &str, port: u16) -> Rule {
        Rule {
            source: Some(Net::parse(src, 0, 0).unwrap()),
            port,
        }
    }

    #[test]
    fn exact_matching_and_minimal_plans() {
        let save = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:ADT-FIREWALL - [0:0]\n-A INPUT -j ADT-FIREWALL\n-A ADT-FIREWALL -i lo -j ACCEPT\n-A ADT-FIREWALL -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A ADT-FIREWALL -p icmp -m icmp --icmp-type 8 -j ACCEPT\n-A ADT-FIREWALL -s 11.2.3.45/32 -p tcp -m tcp --dport 22 -j ACCEPT\n-A ADT-FIREWALL -s 1.2.3.4/32 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
        let st = parse_save(save);
        let desired: BTreeSet<Rule> = [r("1.2.3.4", 22)].into();
        let p = plan(Family::V4, &st, &desired, &BTreeSet::new());
        // 11.2.3.45 is not 1.2.3.4: it goes; nothing else changes.
        assert_eq!(p.delete, vec![r("11.2.3.45", 22)]);
        assert!(p.add.is_empty() && p.setup.is_empty() && p.setup_after.is_empty() && !p.policy);
        let same: BTreeSet<Rule> = [r("1.2.3.4", 22), r("11.2.3.45", 22)].into();
        assert!(plan(Family::V4, &st, &same, &BTreeSet::new()).is_empty());
        // Protected rules are never deleted.
        let prot: BTreeSet<Rule> = [r("11.2.3.45", 22)].into();
        assert!(plan(Family::V4, &st, &desired, &prot).delete.is_empty());
    }

    #[test]
    fn set_rules_are_added_once_and_removed_when_not_wanted() {
        let st = parse_save("*filter\n:INPUT DROP [0:0]\n:ADT-FIREWALL - [0:0]\n-A INPUT -j ADT-FIREWALL\n-A ADT-FIREWALL -i lo -j ACCEPT\n-A ADT-FIREWALL -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A ADT-FIREWALL -p icmp -m icmp --icmp-type 8 -j ACCEPT\nCOMMIT\n");
        let line = set_rule_line("allowed-laptop-ips", 443);
        let p = plan_with_sets(
            Family::V4,
            &st,
            &BTreeSet::new(),
            &BTreeSet::new(),
            std::slice::from_ref(&line),
        );
        assert_eq!(p.setup, vec![line.clone()]);
        let mut with = st;
        with.lines.push(line.clone());
        assert!(plan_with_sets(
            Family::V4,
            &with,
            &BTreeSet::new(),
            &BTreeSet::new(),
            std::slice::from_ref(&line)
        )
        .is_empty());
        let p = plan(Family::V4, &with, &BTreeSet::new(), &BTreeSet::new());
        assert_eq!(p.delete_raw, vec![line.replacen("-A ", "-D ", 1)]);
    }

    #[test]
    fn first_run_sets_everything_up_in_one_batch() {
        let st = parse_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
        let desired: BTreeSet<Rule> = [
            r("10.0.0.1", 1035),
            Rule {
                source: None,
                port: 443,
            },
        ]
        .into();
        let p = plan(Family::V4, &st, &desired, &BTreeSet::new());
        let b = batch(&p);
        assert!(b.starts_with("*filter\n:INPUT DROP [0:0]\n:ADT-FIREWALL - [0:0]\n-A ADT-FIREWALL -i lo -j ACCEPT\n"), "{b}");
        assert!(b.contains("-A ADT-FIREWALL -s 10.0.0.1/32 -p tcp -m tcp --dport 1035 -j ACCEPT\n"));
        assert!(b.contains("-A ADT-FIREWALL -p tcp -m tcp --dport 443 -j ACCEPT\n"));
        assert!(b.ends_with("-I INPUT 1 -j ADT-FIREWALL\nCOMMIT\n"));
    }
}
