//! `adt doctor`: what is right and what is not on this machine, one finding per line, each that
//! is not right with its fix. No legacy script did this; it reads what the drop-ins read, in the
//! order they need it: homedir.dat and HOME, the machine type and generation, the settings keys
//! the installed commands use, `.s3cfg`, the bucket (reachable, named by the generation's rule),
//! the clock against the store's `Date` header (SigV4 signatures are refused past 15 minutes of
//! skew), the conditional-write verdict (`crate::datastore::conditional`), which legacy paths are
//! replaced and which kept (and which binary each launcher runs), cron lines that call replaced
//! paths, and the firewall tool.
//!
//! Every network call is bounded: the datastore's by one command deadline (`ADT_S3_DEADLINE`),
//! the `Date` probe by curl's `--max-time`.

use crate::config;
use crate::datastore::{self, conditional, s3cfg::S3Config, Selection};
use crate::error::Error;
use crate::firewall::reconcile::{chosen_tool, Tool};
use crate::home::{HomeOrigin, Machine};
use crate::layout::install::{self, PathState};
use crate::layout::{Generation, GENERATIONS};
use crate::process::Run;
use crate::site::Site;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do about it (empty when it is right).
    pub fix: String,
}

fn ok(check: &'static str, detail: impl Into<String>) -> Finding {
    Finding {
        check,
        status: Status::Ok,
        detail: detail.into(),
        fix: String::new(),
    }
}

fn bad(
    check: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        check,
        status,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// What the doctor looks at.
pub struct Inputs {
    /// `--home`; else HOME as the legacy scripts find it.
    pub home: Option<PathBuf>,
    /// The file HOME comes from (`ADT_HOMEDIR_FILE` or `/home/homedir.dat`).
    pub homedir_file: PathBuf,
    /// The binary running now: launchers should run it.
    pub this_bin: PathBuf,
    /// The crontab to look through for replaced paths.
    pub crontab: PathBuf,
}

/// The settings keys each installed command reads (beyond the bucket's, which every datastore
/// command needs).
const NEEDS: &[(&str, &[&str])] = &[
    ("UpdateIP", &["MYIP", "MYPUBLICIP"]),
    ("GetIP", &["MYIP"]),
    ("GetPublicIP", &["MYPUBLICIP"]),
    ("SetupFirewall", &["SSHPORT"]),
    ("SetupFirewallFromCron", &["SSHPORT"]),
    (
        "PerformScaling",
        &[
            "CLOUDHOST",
            "BUILDIDENTIFIER",
            "SERVERUSER",
            "SSHPORT",
            "ALGORITHM",
            "DNSCHOICE",
        ],
    ),
    (
        "DeadOrAlive",
        &["CLOUDHOST", "SERVERUSER", "SSHPORT", "ALGORITHM"],
    ),
    ("ManuallyScale", &["WEBSITEURL"]),
    ("DailyScaleup", &["WEBSITEURL"]),
    ("DailyScaledown", &["WEBSITEURL"]),
];

/// The commands that reach the config bucket.
const DATASTORE_COMMANDS: &[&str] = &[
    "PutToConfigDatastore",
    "GetFromConfigDatastore",
    "ListFromConfigDatastore",
    "CheckConfigDatastore",
    "DeleteFromConfigDatastore",
    "GetDBCredential",
    "SyncFromDatastoreTunnel",
    "SyncToDatastoreTunnel",
    "UpdateIP",
];

/// The generation and machine type whose settings file is in `home`, newest generation first
/// when both are (an autoscaler keeps a webserver file too: `Machine::detect` tries it first).
fn detect(home: &Path) -> Option<(&'static Generation, Machine)> {
    GENERATIONS
        .iter()
        .rev()
        .find_map(|g| Machine::detect(&home.join(g.settings_dir)).map(|m| (*g, m)))
        .or_else(|| {
            // A build machine keeps no settings file of these types: its launchers say what it is.
            GENERATIONS.iter().find_map(|g| {
                g.scripts_for(Machine::Build)
                    .any(|s| install::is_launcher(&home.join(s.path)))
                    .then_some((*g, Machine::Build))
            })
        })
}

/// Run every check.
pub fn examine(inp: &Inputs) -> Vec<Finding> {
    let mut f = Vec::new();
    let (home, origin) = match &inp.home {
        Some(h) => (h.clone(), None),
        None => {
            let (h, o) = crate::home::toolkit_home_and_origin();
            (h, Some(o))
        }
    };
    match origin {
        None => f.push(ok("home", format!("HOME is {} (--home)", home.display()))),
        Some(HomeOrigin::HomedirFile) => f.push(ok(
            "home",
            format!(
                "HOME is {} (first line of {})",
                home.display(),
                inp.homedir_file.display()
            ),
        )),
        Some(HomeOrigin::Fallback(why)) => f.push(bad(
            "home",
            Status::Fail,
            why,
            format!(
                "write the toolkit home as the first line of {} (echo /home/X1234X > {})",
                inp.homedir_file.display(),
                inp.homedir_file.display()
            ),
        )),
    }
    if !home.is_dir() {
        f.push(bad(
            "home",
            Status::Fail,
            format!("{} is not a directory", home.display()),
            "point homedir.dat (or --home) at the toolkit's home".to_string(),
        ));
        return f;
    }
    let Some((gen, machine)) = detect(&home) else {
        f.push(bad(
            "machine",
            Status::Fail,
            format!(
                "no settings file in {0}/.ssh or {0}/runtime, so neither the machine type nor the generation is known",
                home.display()
            ),
            "restore ${HOME}/.ssh/<type>_configuration_settings.dat (2022) or ${HOME}/runtime/<type>_configuration_settings.dat (2025)",
        ));
        return f;
    };
    let site = Site {
        home: home.clone(),
        machine,
        gen,
        tmp: PathBuf::from("/tmp"),
        home_origin: HomeOrigin::HomedirFile,
    };
    f.push(ok(
        "machine",
        format!(
            "{}, generation {} (settings in {})",
            machine.name(),
            gen.name,
            gen.settings_dir
        ),
    ));
    let states = install::states(&home, machine, gen);
    let replaced: Vec<&str> = states
        .iter()
        .filter(|(_, s)| matches!(s, PathState::Replaced(_)))
        .map(|(s, _)| s.command)
        .collect();
    let settings = if machine == Machine::Build {
        None
    } else {
        match site.settings() {
            Ok(t) => Some(t),
            Err(e) => {
                f.push(bad(
                    "settings",
                    Status::Fail,
                    e.to_string(),
                    format!("restore {}", site.settings_path().display()),
                ));
                None
            }
        }
    };
    if let Some(text) = &settings {
        f.push(settings_finding(&site, text, &replaced));
    }
    datastore_findings(&site, settings.as_deref(), &mut f);
    f.push(paths_finding(&states, &inp.this_bin));
    f.push(cron_finding(&inp.crontab, &home, &states));
    f.push(firewall_finding());
    f
}

fn settings_finding(site: &Site, text: &str, replaced: &[&str]) -> Finding {
    // Each missing key once, with the commands that read it.
    let mut lacking: Vec<(String, Vec<String>)> = Vec::new();
    let mut need = |key: &str, by: &str| {
        if config::value(text, key).is_none_or(|v| v.is_empty()) {
            match lacking.iter_mut().find(|(k, _)| k == key) {
                Some((_, who)) => {
                    if !who.iter().any(|w| w == by) {
                        who.push(by.to_string());
                    }
                }
                None => lacking.push((key.to_string(), vec![by.to_string()])),
            }
        }
    };
    if replaced.iter().any(|c| DATASTORE_COMMANDS.contains(c)) {
        need("WEBSITEURL", "the config bucket");
        if site.gen.bucket_rule == crate::layout::BucketRule::DashedWithUser {
            need("SERVERUSER", "the config bucket");
        }
    }
    for (cmd, keys) in NEEDS {
        if replaced.contains(cmd) {
            for k in *keys {
                need(k, cmd);
            }
        }
    }
    let missing: Vec<String> = lacking
        .iter()
        .map(|(k, who)| format!("{k} (for {})", who.join(", ")))
        .collect();
    let path = site.settings_path();
    if missing.is_empty() {
        ok(
            "settings",
            format!(
                "{} has every key the {} installed commands read",
                path.display(),
                replaced.len()
            ),
        )
    } else {
        bad(
            "settings",
            Status::Fail,
            format!("{} lacks {}", path.display(), missing.join(", ")),
            format!("add the KEY:value lines to {}", path.display()),
        )
    }
}

fn datastore_findings(site: &Site, settings: Option<&str>, f: &mut Vec<Finding>) {
    let s3cfg_path = site.gen.s3cfg_path(&site.home);
    let sel = match datastore::selection(&site.home, &s3cfg_path) {
        Ok(s) => s,
        Err(e) => {
            f.push(bad(
                "datastore",
                Status::Fail,
                e.to_string(),
                "fix ${HOME}/.adt-rs/datastore or ADT_DATASTORE",
            ));
            return;
        }
    };
    let mut endpoint = None;
    match &sel {
        Selection::Local { root } => f.push(ok(
            "s3cfg",
            format!(
                "not used: the datastore is the local directory {}",
                root.display()
            ),
        )),
        Selection::S3 { .. } | Selection::Account { .. } => {
            // The S3 account's file: s3cmd's, or (2025) that of the machine's datastore tool.
            let (s3cfg, loaded) = match &sel {
                Selection::Account { tool, config } => (config, tool.load(config)),
                Selection::S3 { s3cfg } => (s3cfg, S3Config::load(s3cfg)),
                Selection::Local { .. } => unreachable!("matched above"),
            };
            match loaded {
                Ok(c) => {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(s3cfg)
                        .map(|m| m.permissions().mode() & 0o777)
                        .unwrap_or(0);
                    if mode & 0o077 != 0 {
                        f.push(bad(
                        "s3cfg",
                        Status::Warn,
                        format!("{} is complete but mode {mode:03o}: others can read the secret key", s3cfg.display()),
                        format!("chmod 600 {}", s3cfg.display()),
                    ));
                    } else {
                        f.push(ok(
                            "s3cfg",
                            format!(
                                "{} is readable and complete (endpoint {})",
                                s3cfg.display(),
                                c.endpoint_url()
                            ),
                        ));
                    }
                    endpoint = Some(c.endpoint_url());
                }
                Err(e) => {
                    f.push(bad(
                    "s3cfg",
                    Status::Fail,
                    e.to_string(),
                    format!("give {} access_key, secret_key, host_base, host_bucket, use_https and bucket_location (s3cmd --configure)", s3cfg.display()),
                ));
                    return;
                }
            }
        }
    }
    if site.machine == Machine::Build || settings.is_none() {
        return;
    }
    let bucket = match site.bucket() {
        Ok(b) => b,
        Err(e) => {
            f.push(bad(
                "bucket",
                Status::Fail,
                e.to_string(),
                format!("set WEBSITEURL in {}", site.settings_path().display()),
            ));
            return;
        }
    };
    let rule = match site.gen.bucket_rule {
        crate::layout::BucketRule::Labels3 => {
            "the first three characters of each label of WEBSITEURL, then -config"
        }
        crate::layout::BucketRule::DashedWithUser => {
            "WEBSITEURL with dots as dashes, -config-, the first four characters of SERVERUSER"
        }
    };
    let store = match datastore::open(&sel, &bucket) {
        Ok(s) => s,
        Err(e) => {
            f.push(bad(
                "bucket",
                Status::Fail,
                e.to_string(),
                "fix the s3cmd configuration",
            ));
            return;
        }
    };
    store.bound_command();
    match store.bucket_exists() {
        Ok(true) => f.push(ok(
            "bucket",
            format!(
                "{} is reachable and named by the {} rule ({rule})",
                store.describe(),
                site.gen.name
            ),
        )),
        Ok(false) => {
            f.push(bad(
                "bucket",
                Status::Fail,
                format!("{} does not exist; by the {} rule ({rule}) the bucket is {bucket}", store.describe(), site.gen.name),
                format!("check WEBSITEURL in {} and the endpoint in .s3cfg; the legacy build creates it (s3cmd mb s3://{bucket})", site.settings_path().display()),
            ));
            return;
        }
        Err(e) => {
            f.push(bad(
                "bucket",
                Status::Fail,
                format!("{bucket}: {e}"),
                "start the store or fix host_base/use_https in .s3cfg; check the network path to it".to_string(),
            ));
            return;
        }
    }
    f.push(match endpoint {
        Some(url) => clock_finding(&url),
        None => ok("clock", "not checked: the local datastore signs nothing"),
    });
    f.push(match conditional::conditional_writes(store.as_ref(), &site.home) {
        Ok(v) if v.enforced() => ok("conditional-writes", format!("{} enforces If-Match/If-None-Match: the scaling profile and the autoscalers' lock use them", store.describe())),
        Ok(v) => bad(
            "conditional-writes",
            Status::Warn,
            format!("{} does not enforce conditional writes ({v:?}): locks fall back to best-effort lock objects", store.describe()),
            "use a store that enforces them (AWS S3, MinIO) for the autoscalers' lock; nothing to do otherwise",
        ),
        Err(e) => bad("conditional-writes", Status::Fail, format!("the probe could not run: {e}"), "see the bucket line"),
    });
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Seconds since the epoch of an HTTP date (`Tue, 01 Dec 2026 00:44:41 GMT`).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let mut w = s.split_whitespace().skip(1);
    let day: i64 = w.next()?.parse().ok()?;
    let mon = w.next()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == mon)? as i64
        + 1;
    let year: i64 = w.next()?.parse().ok()?;
    let mut t = w.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + mi * 60 + se)
}

fn clock_finding(url: &str) -> Finding {
    let o = Run::new("curl")
        .args([
            "-sS",
            "-I",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-D",
            "-",
            url,
        ])
        .deadline(Duration::from_secs(12))
        .output();
    let date = o.ok().and_then(|o| {
        o.stdout.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("date").then(|| v.trim().to_string())
        })
    });
    let Some(their) = date.as_deref().and_then(parse_http_date) else {
        return bad(
            "clock",
            Status::Warn,
            format!("{url} gave no Date header, so the clock skew is unknown"),
            "check the clock with: timedatectl status",
        );
    };
    let mine = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    skew_finding(mine - their)
}

/// The clock's finding for a skew of `skew` seconds (positive: this clock is ahead).
fn skew_finding(skew: i64) -> Finding {
    let text = format!(
        "this clock is {}s {} the store's",
        skew.abs(),
        if skew >= 0 { "ahead of" } else { "behind" }
    );
    if skew.abs() >= 15 * 60 {
        bad(
            "clock",
            Status::Fail,
            format!("{text}: SigV4 requests are refused past 15 minutes"),
            "sync the clock (timedatectl set-ntp true; or chronyc makestep)",
        )
    } else if skew.abs() >= 60 {
        bad(
            "clock",
            Status::Warn,
            format!("{text} (SigV4 fails past 15 minutes)"),
            "sync the clock (timedatectl set-ntp true)",
        )
    } else {
        ok("clock", format!("{text} (SigV4 fails past 15 minutes)"))
    }
}

fn paths_finding(
    states: &[(&'static crate::layout::Script, PathState)],
    this_bin: &Path,
) -> Finding {
    let mut replaced = 0;
    let mut kept = Vec::new();
    let mut elsewhere = Vec::new();
    let mut broken = Vec::new();
    let this = std::fs::canonicalize(this_bin).unwrap_or_else(|_| this_bin.to_path_buf());
    for (s, st) in states {
        match st {
            PathState::Replaced(bin) => {
                replaced += 1;
                match bin {
                    Some(b) if std::fs::canonicalize(b).ok().as_deref() == Some(this.as_path()) => {
                    }
                    Some(b) if b.is_file() => {
                        elsewhere.push(format!("{} ({})", s.command, b.display()))
                    }
                    Some(b) => broken.push(format!("{} ({} is missing)", s.command, b.display())),
                    None => broken.push(format!("{} (no binary line)", s.command)),
                }
            }
            PathState::Kept => kept.push(s.command),
            PathState::Missing => {}
        }
    }
    let mut detail = format!("{replaced} of {} legacy paths replaced", states.len());
    if !kept.is_empty() {
        detail.push_str(&format!("; kept: {}", kept.join(" ")));
    }
    if !broken.is_empty() {
        return bad(
            "launchers",
            Status::Fail,
            format!(
                "{detail}; launchers whose binary is gone: {}",
                broken.join(", ")
            ),
            format!(
                "adt layout install --home HOME --machine TYPE --bin {} (or layout uninstall)",
                this_bin.display()
            ),
        );
    }
    if !elsewhere.is_empty() {
        return bad(
            "launchers",
            Status::Warn,
            format!(
                "{detail}; running another binary than {}: {}",
                this_bin.display(),
                elsewhere.join(", ")
            ),
            format!(
                "reinstall them with --bin {} if that is the one meant",
                this_bin.display()
            ),
        );
    }
    if replaced == 0 {
        return ok(
            "launchers",
            format!("{detail}: this machine runs the legacy scripts"),
        );
    }
    ok(
        "launchers",
        format!("{detail}; every launcher runs {}", this_bin.display()),
    )
}

fn cron_finding(
    crontab: &Path,
    home: &Path,
    states: &[(&'static crate::layout::Script, PathState)],
) -> Finding {
    let text = match std::fs::read_to_string(crontab) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return ok("cron", format!("no crontab at {}", crontab.display()))
        }
        Err(e) => {
            return bad(
                "cron",
                Status::Warn,
                Error::io(crontab.display(), e).to_string(),
                "run adt doctor as root",
            )
        }
    };
    let mut calls = Vec::new();
    for (s, st) in states {
        if !matches!(st, PathState::Replaced(_)) {
            continue;
        }
        let full = home.join(s.path).display().to_string();
        let n = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter(|l| {
                l.contains(&full)
                    || l.contains(&format!("${{HOME}}/{}", s.path))
                    || l.contains(&format!("$HOME/{}", s.path))
            })
            .count();
        if n > 0 {
            calls.push(format!("{} ({n})", s.command));
        }
    }
    if calls.is_empty() {
        ok(
            "cron",
            format!("{}: no line calls a replaced path", crontab.display()),
        )
    } else {
        ok(
            "cron",
            format!(
                "{}: lines calling replaced paths, now run by adt: {}",
                crontab.display(),
                calls.join(", ")
            ),
        )
    }
}

fn firewall_finding() -> Finding {
    let tool = chosen_tool(None);
    let name = match tool {
        Tool::Ufw => "ufw",
        Tool::Iptables => "iptables",
    };
    match crate::firewall::which(name) {
        Some(p) => ok("firewall", format!("{name} ({})", p.display())),
        None => bad(
            "firewall",
            Status::Fail,
            format!("{name} is the tool in use but is not installed"),
            format!("apt-get install {name}"),
        ),
    }
}

/// The report as text: one line per finding, `ok`/`WARN`/`FAIL`, then the fix.
pub fn render(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let tag = match f.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        s.push_str(&format!("{tag} {:<18} {}", f.check, f.detail));
        if !f.fix.is_empty() {
            s.push_str(&format!("\n     {:<18} fix: {}", "", f.fix));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 01 Dec 2026 00:44:41 GMT"),
            Some(1796085881)
        );
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn skew_verdicts() {
        assert_eq!(skew_finding(3).status, Status::Ok);
        assert_eq!(skew_finding(-120).status, Status::Warn);
        let f = skew_finding(-16 * 60);
        assert_eq!(f.status, Status::Fail);
        assert!(f.detail.contains("960s behind the store's"), "{}", f.detail);
        assert!(f.fix.contains("timedatectl"));
        assert_eq!(skew_finding(15 * 60).status, Status::Fail);
        assert_eq!(skew_finding(15 * 60 - 1).status, Status::Warn);
    }
}
