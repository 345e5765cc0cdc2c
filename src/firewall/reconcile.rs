//! SetupFirewall / SetupFirewallFromCron (every machine type) and `adt cloudflare-ranges`.
//!
//! A reconcile: read settings and every IP list (any failure: stop, rules untouched, exit 1);
//! compute the desired set; read the firewall's state; apply the difference; write what was
//! done to `${HOME}/logs/firewall/FIREWALL_CONFIGURATION.log` (replaced each run, as the legacy
//! script's `exec >` did).
//!
//! A list that was non-empty at the previous reconcile and comes back empty freezes deletions
//! on the ports it grants for up to 3 runs: legacy CleanupAtReboot wipes a whole prefix for
//! about a minute while machines re-publish, and flushing on that would cut, say, every
//! webserver off the database. Additions are never frozen.

use super::model::{self, Inputs};
use super::net::Net;
use super::ports2025;
use super::{auth, cloudflare, ipset, iptables, ufw, Family, Rule, Runner};
use crate::config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::home::Machine;
use crate::layout::{Firewall, FirewallPorts};
use crate::site::Site;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Ufw,
    Iptables,
}

#[derive(Default)]
pub struct Options {
    pub dry_run: bool,
    pub tool: Option<Tool>,
}

fn port_setting(text: &str, key: &str) -> Result<Option<u16>> {
    match config::value(text, key) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(|| Error::Config(format!("{key} {v:?} is not a port"))),
    }
}

/// Read everything the model needs. Any datastore failure is an error: no partial picture.
/// Everything the rule model needs: the settings and every published IP list. Warnings (things
/// that do not stop the reconcile) are added to `warnings`.
pub fn gather(
    ctx: &Site,
    store: &dyn crate::datastore::Backend,
    warnings: &mut Vec<String>,
) -> Result<Inputs> {
    let text = ctx.settings()?;
    let ssh_port = port_setting(&text, "SSHPORT")?
        .ok_or_else(|| Error::Config("SSHPORT is not set".into()))?;
    let db_port = port_setting(&text, "DBPORT")?;
    if ctx.machine == Machine::Database && db_port.is_none() {
        return Err(Error::Config("DBPORT is not set".into()));
    }
    let mut build_client = Vec::new();
    match config::value(&text, "BUILDCLIENTIP") {
        Some(ip) if !ip.is_empty() => build_client.push(
            Net::parse(&ip, 32, 128).map_err(|e| Error::Config(format!("BUILDCLIENTIP: {e}")))?,
        ),
        _ => {
            warnings.push("BUILDCLIENTIP is not set: no SSH rule for the build machine".to_string())
        }
    }
    let mut lists = BTreeMap::new();
    for name in model::LISTS {
        let ips = crate::ips::list_ips(store, &format!("{name}/"))?;
        let nets: Vec<Net> = ips.into_iter().map(Net::host).collect();
        if name == "buildclientip" {
            build_client.extend(nets.iter().copied());
        }
        lists.insert(name.to_string(), nets);
    }
    build_client.sort();
    build_client.dedup();
    let auth_firewall = matches!(ctx.machine, Machine::Webserver)
        && config::value(&text, "AUTHENTICATORTYPE").as_deref() == Some("firewall");
    let auth_ips = if auth_firewall {
        authorised_clients(ctx, &text, warnings)?
    } else {
        Vec::new()
    };
    Ok(Inputs {
        auth_firewall,
        auth_ips,
        ssh_port,
        db_port,
        production: crate::mode::Mode::from_settings(ctx.machine, &text).production(),
        dns_choice: config::value(&text, "DNSCHOICE").unwrap_or_default(),
        build_client,
        lists,
        cloudflare: cloudflare::ranges(&ctx.home.join(".adt-rs").join("cloudflare-ips")),
        ..Default::default()
    })
}

/// The 2025 SetupFirewall's inputs (`crate::layout::FirewallPorts`, parsed by
/// [`ports2025`]): SSHPORT, DBPORT, VPCIPRANGE (required: without it the fleet would lose SSH),
/// the build machine (BUILDMACHINEIP, when BUILDMACHINEVPC is 0), the machine's line of the
/// ports file (a bad token: an error, nothing changed; empty or missing: the rules the last
/// non-empty line opened are kept, remembered in `runtime/adt-firewallports-line`), and on a
/// webserver in front of an authentication server the authorised clients. No datastore list
/// and no DNSCHOICE rule.
pub fn gather_2025(
    ctx: &Site,
    p: &FirewallPorts,
    dry_run: bool,
    warnings: &mut Vec<String>,
) -> Result<Inputs> {
    let text = ctx.settings()?;
    let ssh_port = port_setting(&text, "SSHPORT")?
        .ok_or_else(|| Error::Config("SSHPORT is not set".into()))?;
    let mut db_port = port_setting(&text, "DBPORT")?;
    if ctx.machine == Machine::Database && db_port.is_none() {
        return Err(Error::Config("DBPORT is not set".into()));
    }
    if config::check_value(&text, "DATABASEINSTALLATIONTYPE:DBaaS") == "1\n" {
        db_port = None;
    }
    let vpc_text = config::value(&text, "VPCIPRANGE").unwrap_or_default();
    if vpc_text.is_empty() {
        return Err(Error::Config("VPCIPRANGE is not set".into()));
    }
    let vpc =
        Net::parse(&vpc_text, 8, 32).map_err(|e| Error::Config(format!("VPCIPRANGE: {e}")))?;
    let mut fixed = Vec::new();
    for port in ports2025::fixed_ports(p.vpc, ctx.machine, ssh_port, db_port) {
        fixed.push(Rule::from(vpc, port));
    }
    let mut build_client = Vec::new();
    if config::check_value(&text, "BUILDMACHINEVPC:0") == "1\n" {
        match config::value(&text, "BUILDMACHINEIP") {
            Some(ip) if !ip.is_empty() => {
                let n = Net::parse(&ip, 32, 128)
                    .map_err(|e| Error::Config(format!("BUILDMACHINEIP: {e}")))?;
                build_client.push(n);
                for port in ports2025::fixed_ports(p.build_machine, ctx.machine, ssh_port, db_port)
                {
                    fixed.push(Rule::from(n, port));
                }
            }
            _ => warnings.push(
                "BUILDMACHINEIP is not set: no rule for the build machine outside the VPC"
                    .to_string(),
            ),
        }
    }
    let cloudflare = cloudflare::ranges(&ctx.home.join(".adt-rs").join("cloudflare-ips"));
    let hostname = crate::home::hostname();
    let mut keep = Vec::new();
    let mut extra_ports = BTreeSet::new();
    if let Some(key) = ports2025::line_key(p, ctx.machine, &hostname) {
        let file = ctx.home.join(p.file);
        let body = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(file.display(), e)),
        };
        let value = ports2025::line_value(&body, key).unwrap_or("");
        let entries = ports2025::parse_line(value)
            .map_err(|e| Error::Config(format!("{}: {key}: {e}", p.file)))?;
        let memory = ctx.home.join("runtime").join("adt-firewallports-line");
        // The last non-empty line: its ports are ours, also when this line no longer names
        // them (ufw: so that their rules can be removed).
        let last = ports2025::parse_line(&std::fs::read_to_string(&memory).unwrap_or_default())
            .map(|old| ports2025::rules(&old, &cloudflare))
            .unwrap_or_default();
        extra_ports.extend(last.iter().map(|r| r.port));
        if entries.is_empty() {
            // Opens nothing, removes nothing: what the last non-empty line opened stays.
            if !last.is_empty() {
                warnings.push(format!(
                    "{key} in {} is empty or missing: its earlier rules are kept",
                    p.file
                ));
            }
            keep = last;
        } else {
            fixed.extend(ports2025::rules(&entries, &cloudflare));
            for e in &entries {
                match e {
                    ports2025::Entry::Port { port, .. } => {
                        extra_ports.insert(*port);
                    }
                    ports2025::Entry::Cloudflare { .. } => {
                        extra_ports.insert(443);
                    }
                }
            }
            if !dry_run {
                std::fs::create_dir_all(ctx.home.join("runtime"))
                    .map_err(|e| Error::io("runtime", e))?;
                fsutil::write_atomic(&memory, format!("{}\n", value.trim()).as_bytes(), None)?;
            }
        }
    }
    // The authentication server: the host in front of it admits 443 from the authorised
    // clients (never the authenticator itself, whose own line says who reaches it).
    let auth_firewall = ctx.machine == Machine::Webserver
        && crate::mode::fronts_authenticator(&text, &hostname)
        && config::value(&text, "AUTHENTICATORTYPE").as_deref() == Some("firewall");
    let auth_ips = if auth_firewall {
        authorised_clients(ctx, &text, warnings)?
    } else {
        Vec::new()
    };
    Ok(Inputs {
        ssh_port,
        db_port,
        build_client,
        fixed,
        keep,
        extra_ports,
        auth_firewall,
        auth_ips,
        cloudflare,
        ..Default::default()
    })
}

/// The 2025 SetupFirewall's sshd part: append the `AllowUsers` lines sshd_config lacks
/// (`ADT_SSHD_CONFIG` replaces `/etc/ssh/sshd_config`), then restart ssh once through the
/// machine's `utilities/processing/RunServiceCommand.sh` (a failure there is a warning).
fn sshd_allow(
    ctx: &Site,
    p: &FirewallPorts,
    dry_run: bool,
    rep: &mut Report,
    warnings: &mut Vec<String>,
) -> Result<()> {
    use crate::layout::SshdSource;
    let text = ctx.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let sources: Vec<String> = p
        .sshd_allow
        .iter()
        .filter(|(m, _)| *m == ctx.machine)
        .flat_map(|(_, s)| s.iter())
        .map(|s| match s {
            SshdSource::Vpc => v("VPCIPRANGE"),
            SshdSource::BuildMachine => v("BUILDMACHINEIP"),
        })
        .collect();
    let user = v("SERVERUSER");
    if sources.is_empty() || user.is_empty() {
        return Ok(());
    }
    let path = std::env::var_os("ADT_SSHD_CONFIG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/ssh/sshd_config".into());
    let current = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    let add = ports2025::sshd_lines(&current, &user, &sources);
    if add.is_empty() {
        return Ok(());
    }
    for l in &add {
        rep.lines.push(format!("sshd: {l}"));
        rep.commands
            .push(format!("echo '{l}' >> {}", path.display()));
    }
    rep.changed = true;
    if dry_run {
        return Ok(());
    }
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for l in &add {
        text.push_str(l);
        text.push('\n');
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    fsutil::write_atomic(&path, text.as_bytes(), Some(mode))?;
    let svc = ctx.home.join("utilities/processing/RunServiceCommand.sh");
    match crate::process::Run::new(&svc)
        .args(["ssh", "restart"])
        .output()
    {
        Ok(o) if o.success() => {}
        Ok(o) => warnings.push(format!(
            "{} ssh restart failed: {}",
            svc.display(),
            o.first_error_line()
        )),
        Err(e) => warnings.push(format!("{} ssh restart: {e}", svc.display())),
    }
    Ok(())
}

/// Whether this machine's own firewall is in use (2025: ACTIVEFIREWALLS 1 or 3), and the tool
/// its build style names (`FIREWALL:ufw`, `FIREWALL:iptables`, the second field), if any.
pub fn active_and_tool(ctx: &Site, p: &FirewallPorts) -> Result<(bool, Option<Tool>)> {
    let text = ctx.settings()?;
    let (key, values) = p.active;
    let active = values
        .iter()
        .any(|v| config::check_value(&text, &format!("{key}:{v}")) == "1\n");
    let styles = ctx.read_file(&ctx.buildstyles_path()).unwrap_or_default();
    let tool = ports2025::line_value(&styles, p.tool_style)
        .and_then(|v| v.split(':').next())
        .and_then(|t| match t.trim() {
            "ufw" => Some(Tool::Ufw),
            "iptables" => Some(Tool::Iptables),
            _ => None,
        });
    Ok((active, tool))
}

/// The authorised client addresses the authenticators publish, validated, each dropped
/// [`auth::ttl`] seconds after this machine first saw it (the first-seen record,
/// `runtime/authenticator/adt-first-seen`, is kept even on a dry run: it is an observation,
/// not a change). No bucket yet: no authorised clients.
fn authorised_clients(ctx: &Site, text: &str, warnings: &mut Vec<String>) -> Result<Vec<Net>> {
    let url = config::value(text, "WEBSITEURL").unwrap_or_default();
    let store = ctx.store_for_bucket(&auth::ips_bucket(&url))?;
    let files = match auth::published(store.as_ref(), auth::PREFIX) {
        Ok(f) => f,
        Err(Error::NoBucket(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let (ips, bad) = auth::parse_files(&files);
    warnings.extend(bad);
    let path = ctx
        .home
        .join("runtime")
        .join("authenticator")
        .join("adt-first-seen");
    let seen = auth::parse_seen(&std::fs::read_to_string(&path).unwrap_or_default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (live, keep) = auth::members(&ips, &seen, now, auth::ttl());
    if keep != seen {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        fsutil::write_atomic(&path, auth::render_seen(&keep).as_bytes(), Some(0o600))?;
    }
    for ip in ips.iter().filter(|ip| !live.contains(ip)) {
        warnings.push(format!(
            "authorised client {ip} expired (first seen more than {} s ago)",
            auth::ttl()
        ));
    }
    Ok(live.into_iter().map(|ip| Net::host(ip.into())).collect())
}

/// Ports whose deletions are frozen this run; updates the list memory.
fn frozen_ports(
    ctx: &Site,
    inp: &Inputs,
    dry_run: bool,
    warnings: &mut Vec<String>,
) -> Result<BTreeSet<u16>> {
    // The build machine's access list is an operator's edit, never a republishing gap: an
    // address removed goes at once.
    if ctx.machine == Machine::Build {
        return Ok(BTreeSet::new());
    }
    let path = ctx.home.join("runtime").join("adt-firewall-lists");
    let mut prev: BTreeMap<String, (usize, u32)> = BTreeMap::new();
    for l in std::fs::read_to_string(&path).unwrap_or_default().lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let [name, count, runs] = w.as_slice() {
            prev.insert(
                name.to_string(),
                (count.parse().unwrap_or(0), runs.parse().unwrap_or(0)),
            );
        }
    }
    let mut frozen = BTreeSet::new();
    let mut next = String::new();
    for (name, ips) in &inp.lists {
        let (count, runs) = prev.get(name).copied().unwrap_or((0, 0));
        if ips.is_empty() && count > 0 && runs < 3 {
            warnings.push(format!(
                "{name}/ came back empty (it had {count}); keeping its rules this run ({} of 3)",
                runs + 1
            ));
            frozen.extend(model::grants(ctx.machine, name, inp));
            next.push_str(&format!("{name} {count} {}\n", runs + 1));
        } else {
            next.push_str(&format!("{name} {} 0\n", ips.len()));
        }
    }
    if !dry_run {
        std::fs::create_dir_all(ctx.home.join("runtime")).map_err(|e| Error::io("runtime", e))?;
        fsutil::write_atomic(&path, next.as_bytes(), None)?;
    }
    Ok(frozen)
}

/// The tool: `--tool`, else `ADT_FIREWALL` (ufw|iptables), else ufw where installed, else iptables.
fn choose(opts: &Options) -> Tool {
    chosen_tool(opts.tool)
}

/// The firewall tool in use: `tool` if given, else `ADT_FIREWALL` (ufw|iptables), else ufw
/// where installed, else iptables.
pub fn chosen_tool(tool: Option<Tool>) -> Tool {
    tool.or_else(|| match std::env::var("ADT_FIREWALL").as_deref() {
        Ok("iptables") => Some(Tool::Iptables),
        Ok("ufw") => Some(Tool::Ufw),
        _ => None,
    })
    .unwrap_or(if super::which("ufw").is_some() {
        Tool::Ufw
    } else {
        Tool::Iptables
    })
}

/// What a reconcile did.
pub struct Report {
    pub lines: Vec<String>,
    pub commands: Vec<String>,
    pub invocations: usize,
    pub changed: bool,
}

/// Reconcile this machine's firewall with its settings and the published IP lists; warnings
/// (nothing stopped) are added to `warnings`.
pub fn reconcile(ctx: &Site, opts: &Options, warnings: &mut Vec<String>) -> Result<Report> {
    match ctx.gen.contract.firewall {
        Firewall::Lists2022 => {
            let store = ctx.store()?;
            let inp = gather(ctx, store.as_ref(), warnings)?;
            reconcile_with(ctx, opts, &inp, warnings)
        }
        Firewall::Ports2025(p) => {
            let (active, tool) = active_and_tool(ctx, p)?;
            if !active {
                let (key, values) = p.active;
                return Ok(Report {
                    lines: vec![format!(
                        "{key} is not {}: this machine's firewall is not set here; nothing changed",
                        values.join(" or ")
                    )],
                    commands: vec![],
                    invocations: 0,
                    changed: false,
                });
            }
            let mut opts2 = Options {
                dry_run: opts.dry_run,
                tool: opts.tool.or(tool),
            };
            if opts2.tool.is_none() {
                warnings.push(format!(
                    "buildstyles.dat names no {}:ufw or {}:iptables; using {:?}",
                    p.tool_style,
                    p.tool_style,
                    chosen_tool(None)
                ));
                opts2.tool = Some(chosen_tool(None));
            }
            let inp = gather_2025(ctx, p, opts.dry_run, warnings)?;
            let mut rep = reconcile_with(ctx, &opts2, &inp, warnings)?;
            sshd_allow(ctx, p, opts.dry_run, &mut rep, warnings)?;
            Ok(rep)
        }
    }
}

/// AllowAuthenticatorIPAddress on a machine whose firewall is not ours (its SetupFirewall is
/// the legacy script): only the authorised clients are reconciled, nothing else is touched.
/// iptables: the ipset's members, and legacy's one INPUT rule for the set (inserted once);
/// ufw: one `allow from <ip>/32 to any port 443 proto tcp` per client, those this command added
/// (remembered in `runtime/authenticator/adt-ufw-clients`) removed when withdrawn or expired.
pub fn reconcile_clients_only(
    ctx: &Site,
    opts: &Options,
    warnings: &mut Vec<String>,
) -> Result<Report> {
    let text = ctx.settings()?;
    let mut rep = Report {
        lines: vec![],
        commands: vec![],
        invocations: 0,
        changed: false,
    };
    if config::value(&text, "AUTHENTICATORTYPE").as_deref() != Some("firewall") {
        rep.lines
            .push("AUTHENTICATORTYPE is not firewall: nothing to do".to_string());
        return Ok(rep);
    }
    let want = v4_addrs(&authorised_clients(ctx, &text, warnings)?);
    let mut run = Runner::default();
    match choose(opts) {
        Tool::Iptables => {
            sync_auth_set(&mut run, &want, opts.dry_run, &mut rep)?;
            let rule = [
                "INPUT",
                "-m",
                "set",
                "--match-set",
                auth::SET,
                "src",
                "-p",
                "tcp",
                "--dport",
                "443",
                "-j",
                "ACCEPT",
            ];
            let mut check = vec!["-C"];
            check.extend(rule);
            if run.run("iptables", &check, None).is_err() {
                let mut insert = vec!["-I"];
                insert.extend(rule);
                rep.commands.push(format!("iptables {}", insert.join(" ")));
                rep.changed = true;
                if !opts.dry_run {
                    run.run("iptables", &insert, None)?;
                }
            }
        }
        Tool::Ufw => {
            let path = ctx
                .home
                .join("runtime")
                .join("authenticator")
                .join("adt-ufw-clients");
            let had: BTreeSet<std::net::Ipv4Addr> = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            let mut now = had.clone();
            for (ip, add) in want
                .difference(&had)
                .map(|ip| (*ip, true))
                .chain(had.difference(&want).map(|ip| (*ip, false)))
                .collect::<Vec<_>>()
            {
                let src = format!("{ip}/32");
                let mut args = vec![];
                if !add {
                    args.push("delete");
                }
                args.extend([
                    "allow", "from", &src, "to", "any", "port", "443", "proto", "tcp",
                ]);
                rep.lines.push(format!(
                    "{} tcp/443 from {ip}",
                    if add { "allow" } else { "remove" }
                ));
                rep.commands.push(format!("ufw {}", args.join(" ")));
                rep.changed = true;
                if !opts.dry_run {
                    run.run("ufw", &args, None)?;
                    if add {
                        now.insert(ip);
                    } else {
                        now.remove(&ip);
                    }
                    let text: String = now.iter().map(|ip| format!("{ip}\n")).collect();
                    if let Some(d) = path.parent() {
                        std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
                    }
                    fsutil::write_atomic(&path, text.as_bytes(), Some(0o600))?;
                }
            }
        }
    }
    rep.invocations = run.invocations;
    if !rep.changed {
        rep.lines
            .push(format!("unchanged: {} authorised clients", want.len()));
    }
    Ok(rep)
}

/// Every build machine IP this machine has known; their SSH rules are never removed by a
/// reconcile (an operator removes an old build machine's access by hand).
fn known_build_clients(ctx: &Site, inp: &Inputs, dry_run: bool) -> Result<Vec<Net>> {
    let path = ctx.home.join("runtime").join("adt-firewall-buildclients");
    let mut known: Vec<Net> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Net::parse(l.trim(), 32, 128).ok())
        .collect();
    let before = known.len();
    for n in &inp.build_client {
        if !known.contains(n) {
            known.push(*n);
        }
    }
    if known.len() != before && !dry_run {
        std::fs::create_dir_all(ctx.home.join("runtime")).map_err(|e| Error::io("runtime", e))?;
        let text: String = known.iter().map(|n| format!("{n}\n")).collect();
        fsutil::write_atomic(&path, text.as_bytes(), None)?;
    }
    Ok(known)
}

pub fn reconcile_with(
    ctx: &Site,
    opts: &Options,
    inp: &Inputs,
    warnings: &mut Vec<String>,
) -> Result<Report> {
    let desired = model::desired(ctx.machine, inp);
    let build_ssh: BTreeSet<Rule> = known_build_clients(ctx, inp, opts.dry_run)?
        .into_iter()
        .map(|n| Rule::from(n, inp.ssh_port))
        .collect();
    let frozen = frozen_ports(ctx, inp, opts.dry_run, warnings)?;
    let mut run = Runner::default();
    let mut rep = Report {
        lines: vec![],
        commands: vec![],
        invocations: 0,
        changed: false,
    };
    match choose(opts) {
        Tool::Iptables => {
            if inp.auth_firewall {
                // The set first: the chain's rule refers to it.
                let want = v4_addrs(&inp.auth_ips);
                sync_auth_set(&mut run, &want, opts.dry_run, &mut rep)?;
            }
            for fam in [Family::V4, Family::V6] {
                let set_lines: Vec<String> = if inp.auth_firewall && fam == Family::V4 {
                    vec![iptables::set_rule_line(auth::SET, 443)]
                } else {
                    vec![]
                };
                let want: BTreeSet<Rule> = desired
                    .iter()
                    .filter(|r| r.family().is_none_or(|f| f == fam))
                    .copied()
                    .collect();
                let state = iptables::read(&mut run, fam)?;
                let mut protect = model::protected(inp);
                protect.extend(build_ssh.iter().copied());
                protect.extend(
                    state
                        .lines
                        .iter()
                        .filter_map(|l| iptables::parse_rule(l))
                        .filter(|r| frozen.contains(&r.port)),
                );
                let plan = iptables::plan_with_sets(fam, &state, &want, &protect, &set_lines);
                describe(&mut rep, &plan.add, &plan.delete);
                rep.commands.extend(iptables::describe(fam, &plan));
                if !plan.is_empty() {
                    rep.changed = true;
                    if !opts.dry_run {
                        iptables::apply(&mut run, fam, &plan)?;
                    }
                }
            }
        }
        Tool::Ufw => {
            // ufw has no sets: each authorised client is a rule of its own (as legacy's ufw
            // branch did), reconciled like the others.
            let mut desired = desired.clone();
            desired.extend(inp.auth_ips.iter().map(|n| Rule::from(*n, 443)));
            let paths = ufw::Paths::default();
            let state = ufw::read(&paths)?;
            let mut protect = model::protected(inp);
            protect.extend(build_ssh.iter().copied());
            protect.extend(
                state
                    .tuples
                    .iter()
                    .filter(|t| frozen.contains(&t.port))
                    .map(|t| Rule {
                        source: t.source,
                        port: t.port,
                    }),
            );
            let plan = ufw::plan(
                &state,
                &desired,
                &protect,
                &model::managed_ports(ctx.machine, inp),
            );
            let deleted: Vec<Rule> = plan.delete.iter().map(|(_, r)| *r).collect();
            describe(&mut rep, &plan.plan.add, &deleted);
            rep.commands.extend(
                ufw::commands(&plan)
                    .iter()
                    .map(|c| format!("ufw {}", c.join(" "))),
            );
            if !plan.is_empty() {
                rep.changed = true;
                if !opts.dry_run {
                    if std::env::var("ADT_UFW_APPLY").as_deref() == Ok("commands") {
                        ufw::apply(&mut run, &plan)?;
                    } else {
                        ufw::apply_files(&paths, &mut run, &plan)?;
                    }
                }
            }
        }
    }
    rep.invocations = run.invocations;
    if !rep.changed {
        rep.lines
            .push(format!("unchanged: {} rules in force", desired.len()));
    }
    rep.lines
        .push(format!("firewall tool invocations: {}", rep.invocations));
    Ok(rep)
}

/// The IPv4 addresses among `nets` (the authenticator's ipset holds IPv4 only).
fn v4_addrs(nets: &[Net]) -> BTreeSet<std::net::Ipv4Addr> {
    nets.iter()
        .filter_map(|n| match n.addr {
            std::net::IpAddr::V4(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// Make the authenticator's ipset hold exactly `want` (created if missing), saying each
/// address added or removed and the batch it took; nothing is applied on a dry run.
fn sync_auth_set(
    run: &mut Runner,
    want: &BTreeSet<std::net::Ipv4Addr>,
    dry_run: bool,
    rep: &mut Report,
) -> Result<()> {
    let current = ipset::ensure_and_read(run, auth::SET, dry_run)?;
    let batch = ipset::batch(auth::SET, &current, want);
    for ip in want.difference(&current) {
        rep.lines
            .push(format!("allow tcp/443 from {ip} (ipset {})", auth::SET));
    }
    for ip in current.difference(want) {
        rep.lines
            .push(format!("remove tcp/443 from {ip} (ipset {})", auth::SET));
    }
    if !batch.is_empty() {
        rep.changed = true;
        rep.commands
            .push(format!("ipset restore <<'EOF'\n{batch}EOF"));
        if !dry_run {
            ipset::apply(run, &batch)?;
        }
    }
    Ok(())
}

fn describe(rep: &mut Report, add: &[Rule], del: &[Rule]) {
    rep.lines.extend(add.iter().map(|r| format!("allow {r}")));
    rep.lines.extend(del.iter().map(|r| format!("remove {r}")));
}
