//! The ufw applier (the 2022 toolkit's firewall). State is read from ufw's own files
//! (`/etc/ufw/user.rules`, `user6.rules`: one canonical `### tuple ###` line per rule;
//! `ufw.conf`; `/etc/default/ufw`), so a reconcile with nothing to change runs ufw zero times.
//! Changes run one `ufw` command each (no sleeps): adds first, then deletes, then the default
//! incoming policy (deny) and `ufw --force enable`.
//!
//! Ours: rules commented `adt`, and the legacy shape (allow in, to one of the managed ports,
//! tcp or any protocol, from an address). Legacy rules without `proto tcp` (which also opened
//! UDP) are replaced by tcp-only ones. Other rules are left alone.

use super::net::Net;
use super::{Plan, Rule, Runner};
use crate::error::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A rule as ufw stores it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tuple {
    pub proto: String,
    pub port: u16,
    /// None: anywhere.
    pub source: Option<Net>,
    pub ours: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub tuples: Vec<Tuple>,
    pub enabled: bool,
    pub default_deny: bool,
}

pub struct Paths {
    pub etc: PathBuf,
    pub default: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            etc: std::env::var_os("ADT_UFW_ETC")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/etc/ufw".into()),
            default: std::env::var_os("ADT_UFW_DEFAULT")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/etc/default/ufw".into()),
        }
    }
}

fn hex_decode(s: &str) -> String {
    let b: Vec<u8> = (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect();
    String::from_utf8_lossy(&b).into_owned()
}

pub fn parse_tuple(line: &str) -> Option<Tuple> {
    let rest = line.strip_prefix("### tuple ### ")?;
    let w: Vec<&str> = rest.split_whitespace().collect();
    // allow PROTO DPORT DST SPORT SRC in [comment=HEX]
    if w.len() < 7 || w[0] != "allow" || w[6] != "in" || w[4] != "any" {
        return None;
    }
    if w[3] != "0.0.0.0/0" && w[3] != "::/0" {
        return None;
    }
    let port: u16 = if w[2] == "any" { 0 } else { w[2].parse().ok()? };
    let source = match w[5] {
        "0.0.0.0/0" | "::/0" => None,
        s => Some(Net::parse(s, 0, 0).ok()?),
    };
    let ours = w
        .get(7)
        .and_then(|c| c.strip_prefix("comment="))
        .map(hex_decode)
        .as_deref()
        == Some("adt");
    Some(Tuple {
        proto: w[1].to_string(),
        port,
        source,
        ours,
    })
}

pub fn read(paths: &Paths) -> Result<State> {
    let mut st = State::default();
    for f in ["user.rules", "user6.rules"] {
        let p = paths.etc.join(f);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(crate::Error::io(p.display(), e)),
        };
        st.tuples.extend(text.lines().filter_map(parse_tuple));
    }
    let conf = std::fs::read_to_string(paths.etc.join("ufw.conf")).unwrap_or_default();
    st.enabled = conf.lines().any(|l| l.trim() == "ENABLED=yes");
    let def = std::fs::read_to_string(&paths.default).unwrap_or_default();
    st.default_deny = def.lines().any(|l| {
        matches!(
            l.trim(),
            "DEFAULT_INPUT_POLICY=\"DROP\"" | "DEFAULT_INPUT_POLICY=\"REJECT\""
        )
    });
    Ok(st)
}

/// Plan: tuples that are ours (or legacy-shaped on a managed port) and not desired go; desired
/// rules without an identical tcp tuple are added.
pub fn plan(
    state: &State,
    desired: &BTreeSet<Rule>,
    protected: &BTreeSet<Rule>,
    managed_ports: &BTreeSet<u16>,
) -> UfwPlan {
    let mut p = UfwPlan::default();
    let present: BTreeSet<Rule> = state
        .tuples
        .iter()
        .filter(|t| t.proto == canonical_proto(t.port))
        .map(|t| Rule {
            source: t.source,
            port: t.port,
        })
        .collect();
    for r in desired.iter().filter(|r| !present.contains(r)) {
        p.plan.add.push(*r);
    }
    let mut seen = BTreeSet::new();
    for t in &state.tuples {
        let mine =
            t.ours || (managed_ports.contains(&t.port) && (t.proto == "tcp" || t.proto == "any"));
        if !mine {
            continue;
        }
        let r = Rule {
            source: t.source,
            port: t.port,
        };
        let keep =
            t.proto == canonical_proto(t.port) && (desired.contains(&r) || protected.contains(&r));
        // A legacy `any` rule protecting the build machine stays until its tcp twin exists.
        let keep = keep
            || (t.proto == "any"
                && protected.contains(&r)
                && !present.contains(&r)
                && !desired.contains(&r));
        if !keep && seen.insert((t.proto.clone(), r)) {
            p.delete.push((t.proto.clone(), r));
        }
    }
    p.plan.policy = !state.default_deny;
    p.enable = !state.enabled;
    p
}

/// How we store a rule: tcp to one port, or any protocol for every port.
fn canonical_proto(port: u16) -> &'static str {
    if port == 0 {
        "any"
    } else {
        "tcp"
    }
}

#[derive(Debug, Default)]
pub struct UfwPlan {
    pub plan: Plan,
    /// (protocol as stored, rule)
    pub delete: Vec<(String, Rule)>,
    pub enable: bool,
}

impl UfwPlan {
    pub fn is_empty(&self) -> bool {
        self.plan.add.is_empty() && self.delete.is_empty() && !self.plan.policy && !self.enable
    }
}

fn spec(proto: &str, r: &Rule) -> Vec<String> {
    let mut v = Vec::new();
    match &r.source {
        Some(n) => {
            let src = if n.len == if n.is_v4() { 32 } else { 128 } {
                n.addr.to_string()
            } else {
                n.to_string()
            };
            v.extend(["from".into(), src]);
            if r.port != 0 {
                v.extend(["to".into(), "any".into(), "port".into(), r.port.to_string()]);
            }
            if proto == "tcp" && r.port != 0 {
                v.extend(["proto".into(), "tcp".into()]);
            }
        }
        None => v.push(if proto == "tcp" {
            format!("{}/tcp", r.port)
        } else {
            r.port.to_string()
        }),
    }
    v
}

/// The ufw command lines of a plan, in order.
pub fn commands(p: &UfwPlan) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for r in &p.plan.add {
        if r.source.is_none() && r.port == 0 {
            continue; // never everything from anywhere
        }
        let mut c = vec!["allow".to_string()];
        c.extend(spec(canonical_proto(r.port), r));
        c.extend(["comment".into(), "adt".into()]);
        out.push(c);
    }
    for (proto, r) in &p.delete {
        let mut c = vec!["delete".to_string(), "allow".to_string()];
        c.extend(spec(proto, r));
        out.push(c);
    }
    if p.plan.policy {
        out.push(vec!["default".into(), "deny".into(), "incoming".into()]);
    }
    if p.enable {
        out.push(vec!["--force".into(), "enable".into()]);
    }
    out
}

pub fn apply(run: &mut Runner, p: &UfwPlan) -> Result<()> {
    for c in commands(p) {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        run.run("ufw", &args, None)?;
    }
    Ok(())
}

pub fn ufw_etc_exists(paths: &Paths) -> bool {
    Path::new(&paths.etc).join("user.rules").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples() {
        let t =
            parse_tuple("### tuple ### allow tcp 1035 0.0.0.0/0 any 10.0.0.5 in comment=616474")
                .unwrap();
        assert_eq!((t.proto.as_str(), t.port, t.ours), ("tcp", 1035, true));
        assert_eq!(t.source.unwrap().to_string(), "10.0.0.5/32");
        let legacy = parse_tuple("### tuple ### allow any 22 0.0.0.0/0 any 10.0.0.6 in").unwrap();
        assert!(!legacy.ours && legacy.proto == "any");
        assert_eq!(
            parse_tuple("### tuple ### allow tcp 443 ::/0 any ::/0 in")
                .unwrap()
                .source,
            None
        );
        assert!(parse_tuple("### tuple ### deny tcp 22 0.0.0.0/0 any 1.2.3.4 in").is_none());
    }

    #[test]
    fn plans_replace_legacy_rules_and_keep_foreign_ones() {
        let st = State {
            tuples: vec![
                parse_tuple("### tuple ### allow any 22 0.0.0.0/0 any 10.0.0.6 in").unwrap(),
                parse_tuple("### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.7 in comment=616474")
                    .unwrap(),
                parse_tuple("### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.1 in").unwrap(),
            ],
            enabled: true,
            default_deny: true,
        };
        let n = |s: &str| Net::parse(s, 0, 0).unwrap();
        let desired: BTreeSet<Rule> = [Rule::from(n("10.0.0.6"), 22)].into();
        let p = plan(&st, &desired, &BTreeSet::new(), &[22].into());
        let cmds: Vec<String> = commands(&p).iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            cmds,
            [
                "allow from 10.0.0.6 to any port 22 proto tcp comment adt",
                "delete allow from 10.0.0.6 to any port 22",
                "delete allow from 10.0.0.7 to any port 22 proto tcp",
            ]
        );
    }
}
