//! The temporal backup drop-ins (spec §1.1): `providerscripts/git/Backup.sh <P> <id>`,
//! `cron/BackupFromCron.sh '<P>' <id>` (webserver and database), the backup step of
//! `providerscripts/utilities/ShutdownThisWebserver.sh backup`, and the build machine helpers'
//! shared questions and remote runs (their flow is `super::perform_backup`).
//!
//! Exit statuses: legacy's scripts exited 0 whatever happened; ours exit 0 when the backup was
//! made (or legacy's silent skips: no database credentials yet, hourly disabled, the same
//! period already running on another machine, which prints legacy's `script already running`),
//! and 1 with one line on stderr when it was not (the previous backup is then untouched, and
//! legacy's `POTENTIAL BACKUP INCONSISTENCY` e-mail goes out, except for a webroot that is not
//! ready yet, which is refused quietly apart from the stderr line).
//!
//! Differences from legacy: stdout no longer carries rsync's and tar's file listings.
//!
//! ShutdownThisWebserver: only its backup step is ours. The launcher at that path runs this
//! command, which (with `backup`) takes the SHUTDOWN backup under the fleet lock, output
//! discarded as legacy did, and then runs the kept legacy script (`…/ShutdownThisWebserver.sh
//! .adt-legacy`, placed by `adt layout install`) *without* the `backup` argument for everything
//! else (its messages, the IP markers, the e-mail, `shutdown -h now`); so the machine still shuts
//! down exactly as before, and the backup cannot be taken twice. Legacy's banner lines hence
//! come after the backup rather than before it.

use super::{arg, Ctx};
use crate::backup::lock::{self, NotTaken, Waiting};
use crate::backup::names::{self, Url};
use crate::backup::webroot::{self, Inputs};
use crate::backup::webroot2025;
use crate::backup::Period;
use crate::error::{Error, Result};
use crate::home::Machine;
use std::time::Duration;

const USAGE: &str = "This script needs to be run with the <build periodicity> parameter and the <build identifier> parameter\n";
const USAGE_2025: &str = "This script needs to be run with the <build periodicity> parameter\n";

/// Run the webroot backup for `period`, `still_ours` as the fleet lock says.
fn webroot_backup(
    ctx: &Ctx,
    period: Period,
    id: &str,
    still_ours: &dyn Fn() -> bool,
) -> Result<webroot::Report> {
    let store = ctx.store()?;
    if is_2025(ctx) {
        let inputs = webroot2025::Inputs {
            settings: ctx.settings()?,
            webroot: ctx.webroot(),
            period,
            application_dat: std::fs::read_to_string(ctx.home.join("runtime/application.dat"))
                .unwrap_or_default(),
        };
        let open = |bucket: &str| ctx.stores_in_every_account(bucket);
        return webroot2025::run(&ctx.site, store.as_ref(), &open, &inputs, still_ours);
    }
    let inputs = Inputs {
        settings: ctx.settings()?,
        webroot: ctx.webroot(),
        period,
        id: id.to_string(),
    };
    let open = |bucket: &str| ctx.store_for_bucket(bucket);
    webroot::run(&ctx.site, store.as_ref(), &open, &inputs, still_ours)
}

/// The 2025 generation: one bucket, no git, `<P>` without a build identifier.
fn is_2025(ctx: &Ctx) -> bool {
    ctx.gen.backups == crate::layout::BackupNaming::SingleBucket2025
}

/// The period of the first argument, as the generation's Backup.sh reads it.
fn period_arg(ctx: &Ctx, args: &[String]) -> Period {
    if is_2025(ctx) {
        webroot2025::period(arg(args, 0))
    } else {
        Period::parse(arg(args, 0))
    }
}

/// Report a failed backup: one line on stderr, and (unless the webroot was simply not ready)
/// legacy's log banner and e-mail.
fn failed(ctx: &Ctx, period: Period, id: &str, e: &Error) -> i32 {
    ctx.report(e);
    if is_2025(ctx) {
        // VerifyBackupPresent.sh's mail (its subject names BUILDARCHIVECHOICE, as legacy's).
        let choice = ctx
            .settings()
            .ok()
            .and_then(|s| crate::config::value(&s, "BUILDARCHIVECHOICE"))
            .unwrap_or_default();
        if !matches!(e, Error::Config(_)) {
            ctx.notify(
                &format!(
                    "Potential missing webroot backup for periodicity {choice} in your datastore"
                ),
                "A Backup that I expected seems to be missing in the git repository",
            );
        }
        return 1;
    }
    if !matches!(e, Error::Config(_)) {
        let url = ctx
            .settings()
            .ok()
            .and_then(|s| crate::config::value(&s, "WEBSITEURL"))
            .unwrap_or_default();
        let repo = names::webroot_repo(&Url::parse(&url), period, id);
        webroot::report_failure(&ctx.site, &repo, &e.to_string());
    }
    1
}

/// Backup.sh <PERIOD> <build identifier>
pub fn backup(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.machine == Machine::Database {
        return super::backup_db::backup(ctx, args);
    }
    if is_2025(ctx) {
        if arg(args, 0).is_empty() {
            super::out(USAGE_2025.as_bytes());
            return 0;
        }
        if !webroot2025::PERIODS.contains(&period_arg(ctx, args)) {
            super::out(format!("{}\n", webroot2025::INVALID_PERIOD).as_bytes());
            return 0;
        }
    } else if arg(args, 0).is_empty() || arg(args, 1).is_empty() {
        super::out(USAGE.as_bytes());
        return 0;
    }
    let period = period_arg(ctx, args);
    match webroot_backup(ctx, period, arg(args, 1), &|| true) {
        Ok(_) => 0,
        Err(e) => failed(ctx, period, arg(args, 1), &e),
    }
}

/// A few random seconds (at most `ADT_BACKUP_JITTER_SECS`, default 60) so the webservers of a
/// fleet do not all reach the store at the same instant (legacy slept 20–600 s; with a
/// conditional lock the delay is no longer what keeps two runs apart).
fn jitter() {
    let max = crate::knobs::env_u64("ADT_BACKUP_JITTER_SECS", 60);
    if max == 0 {
        return;
    }
    let mut b = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    std::thread::sleep(Duration::from_secs(u64::from_le_bytes(b) % (max + 1)));
}

/// What a locked run came to.
enum Locked {
    Made,
    /// The same period was already running on another machine.
    SamePeriod,
    /// Another period held the lock for longer than we wait.
    WaitedTooLong(Error),
}

/// Take the fleet lock and run the backup under it.
fn locked_backup(ctx: &Ctx, period: Period, id: &str) -> Result<Locked> {
    let store = ctx.store()?;
    let key = names::webroot_lock_key(ctx.gen);
    let held = match lock::acquire(store.as_ref(), &ctx.home, key, period, Waiting::from_knobs())? {
        Ok(h) => h,
        Err(NotTaken::SamePeriod(_)) => return Ok(Locked::SamePeriod),
        Err(NotTaken::WaitedTooLong(who)) => {
            return Ok(Locked::WaitedTooLong(Error::Conflict(format!(
                "{key} stayed held by {who} for longer than ADT_BACKUP_LOCK_WAIT_SECS; this {} backup was not made",
                period.lower()
            ))))
        }
    };
    // The local marker legacy kept beside the store's key (the *lock* cron cleaners look there).
    let local = ctx.home.join("runtime").join(key);
    let _ = std::fs::create_dir_all(ctx.home.join("runtime"));
    let _ = std::fs::write(&local, b"");
    let r = lock::holding(store.as_ref(), &ctx.home, held, |ours| {
        webroot_backup(ctx, period, id, ours)
    });
    let _ = std::fs::remove_file(&local);
    r.map(|_| Locked::Made)
}

/// BackupFromCron.sh '<PERIOD>' <build identifier>
pub fn backup_from_cron(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.machine == Machine::Database {
        return super::backup_db::backup_from_cron(ctx, args);
    }
    let period = period_arg(ctx, args);
    let id = arg(args, 1);
    jitter();
    match locked_backup(ctx, period, id) {
        Ok(Locked::Made) => 0,
        Ok(Locked::SamePeriod) => {
            super::out(b"script already running\n");
            0
        }
        Ok(Locked::WaitedTooLong(e)) => {
            super::out(b"script already running\n");
            failed(ctx, period, id, &e)
        }
        Err(e) => failed(ctx, period, id, &e),
    }
}

/// ShutdownThisWebserver.sh [backup]: the SHUTDOWN backup (with `backup`), then the kept legacy
/// script for the shutdown itself.
pub fn shutdown_this_webserver(ctx: &Ctx, args: &[String]) -> i32 {
    let legacy = ctx.home.join(format!(
        "providerscripts/utilities/ShutdownThisWebserver.sh{}",
        crate::layout::install::LEGACY_SUFFIX
    ));
    if arg(args, 0) == "backup" {
        let id = ctx
            .settings()
            .ok()
            .and_then(|s| crate::config::value(&s, "BUILDIDENTIFIER"))
            .unwrap_or_default();
        // The shutdown goes on whatever happens (as legacy's did); a failure is reported.
        match locked_backup(ctx, Period::Shutdown, &id) {
            Ok(Locked::WaitedTooLong(e)) | Err(e) => {
                failed(ctx, Period::Shutdown, &id, &e);
            }
            Ok(_) => {}
        }
    }
    if !legacy.is_file() {
        ctx.report(&Error::Config(format!(
            "{} is missing: the shutdown itself is the legacy script's; not shut down",
            legacy.display()
        )));
        return 1;
    }
    match crate::process::Run::new("/bin/sh")
        .arg(&legacy)
        .env("HOME", &ctx.home)
        .status()
    {
        Ok(code) => code.unwrap_or(1),
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

/// The build machine helpers' answers (PerformWebsiteBackup, PerformDatabaseBackup, the
/// Perform*Baseline helpers): from flags, else asked on stdin with legacy's prompts.
pub(super) struct Answers<'a> {
    pub(super) flags: std::collections::HashMap<&'a str, Vec<&'a str>>,
    input: std::io::StdinLock<'static>,
}

impl<'a> Answers<'a> {
    /// `--cloudhost X --build-identifier X --ip IP --key rsa|ecdsa|1|2 --period P… --identifier
    /// X --yes` (`--name=value` too); Err: the one line saying what is wrong.
    pub(super) fn new(args: &'a [String]) -> std::result::Result<Answers<'a>, String> {
        let mut flags: std::collections::HashMap<&str, Vec<&str>> = Default::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v)),
                _ => (a.as_str(), None),
            };
            let name = match name {
                "--cloudhost" | "--build-identifier" | "--ip" | "--key" | "--period"
                | "--identifier" => name,
                "--yes" if inline.is_none() => {
                    flags.entry("--yes").or_default();
                    continue;
                }
                other => return Err(format!("unknown argument {other:?}")),
            };
            let v = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))?
                    .as_str(),
            };
            if name == "--key" && key_alg(v).is_none() {
                return Err(format!("--key {v:?}: rsa or ecdsa (1 or 2)"));
            }
            flags.entry(name).or_default().push(v);
        }
        Ok(Answers {
            flags,
            input: std::io::stdin().lock(),
        })
    }

    pub(super) fn flag(&self, name: &str) -> Option<&'a str> {
        self.flags.get(name).and_then(|v| v.first().copied())
    }

    pub(super) fn yes(&self) -> bool {
        self.flags.contains_key("--yes")
    }

    /// One line from stdin (legacy `read`), without its newline.
    pub(super) fn read(&mut self) -> String {
        self.read_line().unwrap_or_default()
    }

    /// One line from stdin without its newline; None at the end of input.
    pub(super) fn read_line(&mut self) -> Option<String> {
        super::read_line(&mut self.input)
    }
}

/// The key algorithm a `--key` value or an answer to legacy's key question names.
pub(super) fn key_alg(answer: &str) -> Option<&'static str> {
    match answer {
        "1" | "rsa" | "RSA" => Some("rsa"),
        "2" | "ecdsa" | "ECDSA" => Some("ecdsa"),
        _ => None,
    }
}

/// The cloud host a build machine helper works on: `--cloudhost` (a name or its number), else
/// legacy's numbered question (`prompt`: each helper's own wording) over `hosts` (the
/// generation's, in order). None: an answer legacy does not know, after its "Unrecognised" line
/// (legacy then exits 0).
pub(super) fn choose_cloudhost(a: &mut Answers, prompt: &str, hosts: &[&str]) -> Option<String> {
    let given = a.flag("--cloudhost");
    let answer = match given {
        Some(c) => c.to_string(),
        None => {
            say(prompt);
            a.read()
        }
    };
    let chosen = match answer.parse::<usize>() {
        Ok(n) if (1..=hosts.len()).contains(&n) => Some(hosts[n - 1]),
        // A name only as a flag (legacy's question takes numbers).
        _ if given.is_some() => hosts.iter().copied().find(|h| *h == answer),
        _ => None,
    };
    if chosen.is_none() {
        say("Unrecognised  cloudhost. Exiting ....");
    }
    chosen.map(str::to_string)
}

/// The build a helper works on: `--build-identifier`, else legacy's question (`prompt`) over
/// `builds` (those this build machine has for the chosen cloud host).
pub(super) fn choose_build(a: &mut Answers, builds: &[String], prompt: &str) -> String {
    if let Some(i) = a.flag("--build-identifier") {
        return i.to_string();
    }
    say(prompt);
    say("You have these builds to choose from: ");
    for n in builds {
        say(n);
    }
    say("Please enter the name of the build of the server you wish to connect with");
    a.read().trim().to_string()
}

/// The server a build machine helper works on: `--ip`, else legacy's walk through the servers
/// `list` finds, a Y/N for each (`none_running`, `which`: legacy's lines). With `check` (the
/// servers' name, `databases`), `--ip` must be one of those `list` finds; without it, `--ip` is
/// taken as it is and nothing is listed. Ok(""): none chosen. Err: the status to exit with (no
/// server running, `--ip` not one of them, or they could not be listed).
pub(super) fn choose_server(
    ctx: &Ctx,
    a: &mut Answers,
    list: impl FnOnce() -> Result<Vec<String>>,
    check: Option<&str>,
    none_running: &str,
    which: &str,
) -> std::result::Result<String, i32> {
    let given = a.flag("--ip");
    if let (Some(ip), None) = (given, check) {
        return Ok(ip.to_string());
    }
    let ips = match list() {
        Ok(ips) => ips,
        Err(e) => {
            ctx.report(&e);
            return Err(1);
        }
    };
    if ips.is_empty() {
        say(none_running);
        return Err(0);
    }
    if let (Some(ip), Some(servers)) = (given, check) {
        if ips.iter().any(|i| i == ip) {
            return Ok(ip.to_string());
        }
        say(&format!(
            "{ip} is not one of the {servers} running: {}",
            ips.join(" ")
        ));
        return Err(1);
    }
    say(which);
    for (n, ip) in ips.iter().enumerate() {
        say(&format!("{}:   {ip}", n + 1));
        say("Press Y/N to connect...");
        if matches!(a.read().as_str(), "Y" | "y") {
            return Ok(ip.clone());
        }
    }
    Ok(String::new())
}

/// The public IPs of the servers `cloudhost` lists whose names hold `token` (the 2022 helpers'
/// way of finding a build's webservers).
pub(super) fn cloud_servers(ctx: &Ctx, cloudhost: &str, token: &str) -> Result<Vec<String>> {
    Ok(crate::cloud::Cloud::open_as(ctx, cloudhost)?
        .servers()?
        .into_iter()
        .filter(|s| s.name.contains(token))
        .filter_map(|s| s.public.map(|i| i.to_string()))
        .collect())
}

/// The build key's kind: `--key rsa|ecdsa` as `1`/`2`, else legacy's question and its answer
/// (`hint`: legacy's "if you are not sure" line, which only the webserver helpers print).
pub(super) fn choose_key(a: &mut Answers, hint: bool) -> String {
    match a.flag("--key").and_then(key_alg) {
        Some("rsa") => "1".to_string(),
        Some(_) => "2".to_string(),
        None => {
            say("Does your server use Elliptic Curve Digital Signature Algorithm or the Rivest Shamir Adleman Algorithm for authenitcation?");
            if hint {
                say("If you are not sure, please try one and then the other. If you are prompted for a password, it is the wrong one");
            }
            say("Please select (1) RSA (2) ECDSA");
            a.read()
        }
    }
}

/// A fleet machine as the build machine's helpers reach it: SSH as the build's server user with
/// the build key, root through sudo with the password on stdin (never argv), its settings read
/// by its ExtractConfigValue.sh in `readers` (relative to the user's home).
pub(super) struct HelperRemote {
    pub(super) host: std::net::IpAddr,
    pub(super) target: crate::process::SshTarget,
    sudo_input: String,
    pub(super) user: String,
    readers: &'static str,
}

impl HelperRemote {
    /// A 2022 build's machine: SERVERUSER and its password from
    /// `buildconfiguration/<cloudhost>/<build>-credentials/`, the build's SSH_PORT, the key
    /// `keys/<cloudhost>/<build>/id_<alg>_AGILE_DEPLOYMENT_BUILD_KEY_<build>`.
    pub(super) fn new(
        build_home: &std::path::Path,
        cloudhost: &str,
        build: &str,
        alg: &str,
        host: std::net::IpAddr,
    ) -> HelperRemote {
        let conf = build_home.join("buildconfiguration").join(cloudhost);
        let read = |f: &str| super::first_line(&conf.join(format!("{build}-credentials")).join(f));
        let port = std::fs::read_to_string(conf.join(build))
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains("SSH_PORT"))
            .and_then(|l| {
                l.replace('"', "")
                    .rsplit('=')
                    .next()
                    .map(|p| p.trim().to_string())
            })
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(22);
        let key = build_home
            .join("keys")
            .join(cloudhost)
            .join(build)
            .join(format!("id_{alg}_AGILE_DEPLOYMENT_BUILD_KEY_{build}"));
        HelperRemote::with(
            host,
            (read("SERVERUSER"), read("SERVERUSERPASSWORD")),
            port,
            key,
            None,
            "providerscripts/utilities/",
        )
    }

    /// A machine reached as `user` (with its sudo `password`) on `port` with `key`, its host key
    /// held to `known_hosts` when given.
    pub(super) fn with(
        host: std::net::IpAddr,
        (user, password): (String, String),
        port: u16,
        key: std::path::PathBuf,
        known_hosts: Option<std::path::PathBuf>,
        readers: &'static str,
    ) -> HelperRemote {
        let target = crate::process::SshTarget {
            user: user.clone(),
            port,
            key,
            timeout: Duration::from_secs(10),
            mux: None,
            kex_first: None,
            known_hosts,
        };
        HelperRemote {
            host,
            target,
            sudo_input: format!("{password}\n"),
            user,
            readers,
        }
    }

    /// `cmd` as root on the machine: whether it exited 0, and its stdout.
    pub(super) fn run(&self, cmd: &str, extra: Duration) -> (bool, String) {
        crate::process::ssh(
            self.host,
            &self.target,
            &crate::process::as_root(cmd),
            Some(self.sudo_input.as_bytes()),
            extra,
        )
    }

    /// A setting of the machine, as its ExtractConfigValue.sh prints it.
    pub(super) fn value(&self, k: &str) -> String {
        self.value_run(k).1
    }

    /// [`HelperRemote::value`], with whether the remote run succeeded.
    pub(super) fn value_run(&self, k: &str) -> (bool, String) {
        self.run(
            &format!(
                "/home/{}/{}ExtractConfigValue.sh '{k}'",
                self.user, self.readers
            ),
            Duration::ZERO,
        )
    }

    /// Legacy's look at the machine's repository settings, then a wait for enter (none with
    /// `--yes`).
    pub(super) fn confirm_repository(&self, a: &mut Answers) {
        say("");
        say("############################################");
        say("Your git repository provider is set to:");
        super::out(self.value("APPLICATIONREPOSITORYPROVIDER").as_bytes());
        say("Your git repository username is set to:");
        super::out(self.value("APPLICATIONREPOSITORYUSERNAME").as_bytes());
        say("Your application identifier is set to:");
        super::out(self.value("APPLICATIONIDENTIFIER").as_bytes());
        say(
            "ARE YOU ABSOLUTELY SURE THIS IS CORRECT, UNPREDICTABLE THINGS WILL HAPPEN IF IT ISN'T",
        );
        say("PRESS THE ENTER KEY IF YOU ARE HAPPY");
        say("#############################################");
        if !a.yes() {
            a.read();
        }
    }
}

pub(super) fn say(text: &str) {
    super::out(format!("{text}\n").as_bytes());
}

/// PerformWebsiteBackup.sh (build machine), either generation: see
/// [`super::perform_backup`].
pub fn perform_website_backup(ctx: &Ctx, args: &[String]) -> i32 {
    super::perform_backup::perform_backup(ctx, args, &super::perform_backup::WEBSITE)
}
