//! The ufw applier (the 2022 toolkit's firewall). State is read from ufw's own files
//! (`/etc/ufw/user.rules`, `user6.rules`: one canonical `### tuple ###` line per rule;
//! `ufw.conf`; `/etc/default/ufw`), so a reconcile with nothing to change runs ufw zero times.
//!
//! Changes are applied as one transaction ([`apply_files`]): the rule files are rewritten in
//! ufw's own format (our rules added and removed, every other rule kept in place), the default
//! incoming policy set in `/etc/default/ufw`, each file replaced atomically, and ufw loads them
//! with one `ufw reload` (or `ufw --force enable`). Files ufw has never written (the package's
//! pristine ones lack the `### END RULES ###` section) get their first rule through a `ufw`
//! command, which makes ufw write them in full. `ADT_UFW_APPLY=commands` applies a plan as one
//! `ufw` command per change instead ([`apply`]: adds, deletes, policy, enable), which is what
//! the transaction is tested against. Legacy ran one `ufw` command per rule with a 2 s sleep
//! after each.
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

/// The rule-file blocks of one rule, as ufw writes them: the tuple line, then the iptables
/// line (`v6`: for `user6.rules`).
fn block(r: &Rule, v6: bool) -> String {
    let (anywhere, chain) = if v6 {
        ("::/0", "ufw6-user-input")
    } else {
        ("0.0.0.0/0", "ufw-user-input")
    };
    let src = r.source.map(|n| {
        if n.len == if n.is_v4() { 32 } else { 128 } {
            n.addr.to_string()
        } else {
            n.to_string()
        }
    });
    let tuple_src = src.clone().unwrap_or_else(|| anywhere.to_string());
    // "adt", hex-encoded, as ufw stores comments.
    let comment = "comment=616474";
    let s_arg = src.map(|s| format!(" -s {s}")).unwrap_or_default();
    if r.port == 0 {
        format!("### tuple ### allow any any {anywhere} any {tuple_src} in {comment}\n-A {chain}{s_arg} -j ACCEPT\n")
    } else {
        format!(
            "### tuple ### allow tcp {p} {anywhere} any {tuple_src} in {comment}\n-A {chain} -p tcp --dport {p}{s_arg} -j ACCEPT\n",
            p = r.port
        )
    }
}

/// Whether a rule belongs in the IPv6 file, the IPv4 one, or both (from anywhere).
fn in_family(r: &Rule, v6: bool) -> bool {
    match &r.source {
        None => true,
        Some(n) => n.is_v4() != v6,
    }
}

/// One rule file rewritten: the blocks between `### RULES ###` and `### END RULES ###` without
/// the deleted tuples, then the added rules of this family; everything else as it was.
/// `None` when the file lacks those sections (ufw has not written it yet).
pub fn rewrite(text: &str, v6: bool, add: &[Rule], delete: &[(String, Rule)]) -> Option<String> {
    const START: &str = "### RULES ###\n";
    const END: &str = "### END RULES ###";
    let i = text.find(START)? + START.len();
    let j = i + text[i..].find(END)?;
    let mut blocks: Vec<String> = Vec::new();
    let mut cur = String::new();
    for line in text[i..j].lines() {
        if line.trim().is_empty() || (line.starts_with("### tuple ###") && !cur.is_empty()) {
            if !cur.is_empty() {
                blocks.push(std::mem::take(&mut cur));
            }
            if line.trim().is_empty() {
                continue;
            }
        }
        cur.push_str(line);
        cur.push('\n');
    }
    if !cur.is_empty() {
        blocks.push(cur);
    }
    blocks.retain(|b| {
        let gone = b.lines().next().and_then(parse_tuple).is_some_and(|t| {
            delete
                .iter()
                .any(|(proto, r)| *proto == t.proto && r.port == t.port && r.source == t.source)
        });
        !gone
    });
    for r in add
        .iter()
        .filter(|r| in_family(r, v6) && !(r.source.is_none() && r.port == 0))
    {
        blocks.push(block(r, v6));
    }
    let mut out = String::from(&text[..i]);
    out.push('\n');
    for b in &blocks {
        out.push_str(b);
        out.push('\n');
    }
    out.push_str(&text[j..]);
    Some(out)
}

/// `KEY=value` set in a shell-style settings file (`/etc/default/ufw`), other lines kept.
fn set_line(text: &str, key: &str, value: &str) -> String {
    let mut found = false;
    let mut out: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with(&format!("{key}=")) {
                found = true;
                format!("{key}={value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    if !found {
        out.push_str(&format!("{key}={value}\n"));
    }
    out
}

/// Apply a plan as one transaction: rewrite the rule files (and the default policy), each
/// replaced atomically, then one `ufw reload` or `ufw --force enable` loads them. A file ufw
/// has never written gets the first added rule of its family through a `ufw` command first.
pub fn apply_files(paths: &Paths, run: &mut Runner, p: &UfwPlan) -> Result<()> {
    if p.is_empty() {
        return Ok(());
    }
    let mut add: Vec<Rule> = p
        .plan
        .add
        .iter()
        .filter(|r| !(r.source.is_none() && r.port == 0))
        .copied()
        .collect();
    let read = |f: &str| -> Result<String> {
        let path = paths.etc.join(f);
        std::fs::read_to_string(&path).map_err(|e| crate::Error::io(path.display(), e))
    };
    let written = |f: &str| read(f).is_ok_and(|t| rewrite(&t, false, &[], &[]).is_some());
    let files = [("user.rules", false), ("user6.rules", true)];
    for (f, v6) in files {
        // ufw writes a family's file in full once it holds a rule of that family: let a
        // `ufw` command add the first such rule to a file it has never written.
        if !written(f) {
            if let Some(k) = add.iter().position(|r| in_family(r, v6)) {
                let r = add.remove(k);
                let mut c = vec!["allow".to_string()];
                c.extend(spec(canonical_proto(r.port), &r));
                c.extend(["comment".into(), "adt".into()]);
                let args: Vec<&str> = c.iter().map(String::as_str).collect();
                run.run("ufw", &args, None)?;
            }
        }
    }
    let mut changed = false;
    for (f, v6) in files {
        let needed =
            add.iter().any(|r| in_family(r, v6)) || p.delete.iter().any(|(_, r)| in_family(r, v6));
        if !needed {
            continue;
        }
        let text = read(f)?;
        let new = rewrite(&text, v6, &add, &p.delete).ok_or_else(|| {
            crate::Error::Io(format!(
                "{}: no RULES section after ufw wrote it",
                paths.etc.join(f).display()
            ))
        })?;
        if new != text {
            crate::fsutil::write_atomic(&paths.etc.join(f), new.as_bytes(), None)?;
            changed = true;
        }
    }
    if p.plan.policy {
        let text = std::fs::read_to_string(&paths.default).unwrap_or_default();
        let new = set_line(&text, "DEFAULT_INPUT_POLICY", "\"DROP\"");
        crate::fsutil::write_atomic(&paths.default, new.as_bytes(), None)?;
        changed = true;
    }
    if p.enable {
        run.run("ufw", &["--force", "enable"], None)?;
    } else if changed {
        run.run("ufw", &["reload"], None)?;
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

    #[test]
    fn files_are_rewritten_as_ufw_writes_them() {
        let text = "*filter\n:ufw-user-input - [0:0]\n### RULES ###\n\n### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.1 in comment=616474\n-A ufw-user-input -p tcp --dport 22 -s 10.0.0.1 -j ACCEPT\n\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n\n### END RULES ###\n\n### LOGGING ###\nCOMMIT\n";
        let r = |s: &str, port| Rule {
            source: (!s.is_empty()).then(|| Net::parse(s, 0, 0).unwrap()),
            port,
        };
        let add = [
            r("10.0.0.0/24", 1035),
            r("", 443),
            r("fd00::1", 22),
            r("10.0.0.9", 0),
        ];
        let del = [("tcp".to_string(), r("10.0.0.1", 22))];
        let v4 = rewrite(text, false, &add, &del).unwrap();
        assert_eq!(
            v4,
            "*filter\n:ufw-user-input - [0:0]\n### RULES ###\n\n\
             ### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n\n\
             ### tuple ### allow tcp 1035 0.0.0.0/0 any 10.0.0.0/24 in comment=616474\n-A ufw-user-input -p tcp --dport 1035 -s 10.0.0.0/24 -j ACCEPT\n\n\
             ### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in comment=616474\n-A ufw-user-input -p tcp --dport 443 -j ACCEPT\n\n\
             ### tuple ### allow any any 0.0.0.0/0 any 10.0.0.9 in comment=616474\n-A ufw-user-input -s 10.0.0.9 -j ACCEPT\n\n\
             ### END RULES ###\n\n### LOGGING ###\nCOMMIT\n"
        );
        // The parsed tuples are the rules the plan asked for (the foreign port-80 rule kept).
        let tuples: Vec<Tuple> = v4.lines().filter_map(parse_tuple).collect();
        assert_eq!(tuples.len(), 4);
        assert!(!tuples[0].ours && tuples[1].ours);
        let v6 = rewrite("### RULES ###\n\n### END RULES ###\n", true, &add, &[]).unwrap();
        assert_eq!(
            v6,
            "### RULES ###\n\n\
             ### tuple ### allow tcp 443 ::/0 any ::/0 in comment=616474\n-A ufw6-user-input -p tcp --dport 443 -j ACCEPT\n\n\
             ### tuple ### allow tcp 22 ::/0 any fd00::1 in comment=616474\n-A ufw6-user-input -p tcp --dport 22 -s fd00::1 -j ACCEPT\n\n\
             ### END RULES ###\n"
        );
        // A file ufw never wrote (the package's pristine one) has no RULES section to edit.
        assert!(rewrite(
            "*filter\n### RULES ###\n-A ufw-user-limit -j REJECT\nCOMMIT\n",
            false,
            &add,
            &[]
        )
        .is_none());
        assert_eq!(
            set_line(
                "A=1\nDEFAULT_INPUT_POLICY=\"ACCEPT\"\n",
                "DEFAULT_INPUT_POLICY",
                "\"DROP\""
            ),
            "A=1\nDEFAULT_INPUT_POLICY=\"DROP\"\n"
        );
    }
}
