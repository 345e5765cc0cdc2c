//! The temporal backup drop-ins (spec §1.1): `providerscripts/git/Backup.sh <P> <id>`,
//! `cron/BackupFromCron.sh '<P>' <id>` (webserver and database), the backup step of
//! `providerscripts/utilities/ShutdownThisWebserver.sh backup`, and the build machine's
//! `helperscripts/PerformWebsiteBackup.sh`.
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

/// The build machine's answers for PerformWebsiteBackup: from flags, else asked on stdin with
/// legacy's prompts.
pub(super) struct Answers<'a> {
    pub(super) flags: std::collections::HashMap<&'a str, Vec<&'a str>>,
    input: std::io::StdinLock<'static>,
}

impl<'a> Answers<'a> {
    pub(super) fn new(args: &'a [String]) -> std::result::Result<Answers<'a>, String> {
        let mut flags: std::collections::HashMap<&str, Vec<&str>> = Default::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name = match a.as_str() {
                "--cloudhost" | "--build-identifier" | "--ip" | "--key" | "--period"
                | "--identifier" => a.as_str(),
                "--yes" => {
                    flags.entry("--yes").or_default();
                    continue;
                }
                other => return Err(format!("unknown argument {other:?}")),
            };
            let v = it.next().ok_or_else(|| format!("{name} needs a value"))?;
            if name == "--key" && !matches!(v.as_str(), "rsa" | "ecdsa") {
                return Err(format!("--key {v:?}: rsa or ecdsa"));
            }
            flags.entry(name).or_default().push(v.as_str());
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
        let mut s = String::new();
        let _ = std::io::BufRead::read_line(&mut self.input, &mut s);
        s.trim_end_matches(['\n', '\r']).to_string()
    }
}

/// The cloud host a build machine helper works on: `--cloudhost`, else legacy's numbered
/// question (`prompt`: each helper's own wording). None: an answer legacy does not know, after
/// its "Unrecognised" line (legacy then exits 0).
pub(super) fn choose_cloudhost(a: &mut Answers, prompt: &str) -> Option<String> {
    const HOSTS: [&str; 5] = ["digitalocean", "exoscale", "linode", "vultr", "aws"];
    if let Some(c) = a.flag("--cloudhost") {
        return Some(c.to_string());
    }
    say(prompt);
    match a.read().as_str() {
        n @ ("1" | "2" | "3" | "4" | "5") => {
            Some(HOSTS[n.parse::<usize>().unwrap_or(1) - 1].to_string())
        }
        _ => {
            say("Unrecognised  cloudhost. Exiting ....");
            None
        }
    }
}

/// The build a helper works on: `--build-identifier`, else legacy's question (`prompt`) over
/// the builds this build machine has for `cloudhost`.
pub(super) fn choose_build(
    a: &mut Answers,
    build_home: &std::path::Path,
    cloudhost: &str,
    prompt: &str,
) -> String {
    if let Some(i) = a.flag("--build-identifier") {
        return i.to_string();
    }
    say(prompt);
    say("You have these builds to choose from: ");
    for n in super::build_choices(build_home, cloudhost) {
        say(&n);
    }
    say("Please enter the name of the build of the server you wish to connect with");
    a.read()
}

/// The server a build machine helper works on: `--ip`, else legacy's walk through the cloud's
/// servers whose name holds `token`, a Y/N for each (`none_running`, `which`: legacy's lines).
/// Err: the status to exit with (no such server, or the cloud could not list them).
pub(super) fn choose_server(
    ctx: &Ctx,
    a: &mut Answers,
    cloudhost: &str,
    token: &str,
    none_running: &str,
    which: &str,
) -> std::result::Result<String, i32> {
    if let Some(ip) = a.flag("--ip") {
        return Ok(ip.to_string());
    }
    let ips: Vec<String> =
        match crate::cloud::Cloud::open_as(ctx, cloudhost).and_then(|c| c.servers()) {
            Ok(s) => s
                .into_iter()
                .filter(|s| s.name.contains(token))
                .filter_map(|s| s.public.map(|i| i.to_string()))
                .collect(),
            Err(e) => {
                ctx.report(&e);
                return Err(1);
            }
        };
    if ips.is_empty() {
        say(none_running);
        return Err(0);
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

/// The build key's kind: `--key rsa|ecdsa` as `1`/`2`, else legacy's question and its answer
/// (`hint`: legacy's "if you are not sure" line, which only the webserver helpers print).
pub(super) fn choose_key(a: &mut Answers, hint: bool) -> String {
    match a.flag("--key") {
        Some("rsa") => "1".to_string(),
        Some("ecdsa") => "2".to_string(),
        Some(_) | None => {
            say("Does your server use Elliptic Curve Digital Signature Algorithm or the Rivest Shamir Adleman Algorithm for authenitcation?");
            if hint {
                say("If you are not sure, please try one and then the other. If you are prompted for a password, it is the wrong one");
            }
            say("Please select (1) RSA (2) ECDSA");
            a.read()
        }
    }
}

/// A fleet machine as the build machine's helpers reach it: SSH as the build's SERVERUSER
/// (`buildconfiguration/<cloudhost>/<build>-credentials`) on the build's SSH_PORT with the build
/// key `keys/<cloudhost>/<build>/id_<alg>_AGILE_DEPLOYMENT_BUILD_KEY_<build>`, root through sudo
/// with the password on stdin (never argv).
pub(super) struct HelperRemote {
    host: std::net::IpAddr,
    target: crate::process::SshTarget,
    sudo_input: String,
    pub(super) user: String,
}

impl HelperRemote {
    pub(super) fn new(
        build_home: &std::path::Path,
        cloudhost: &str,
        build: &str,
        alg: &str,
        host: std::net::IpAddr,
    ) -> HelperRemote {
        let conf = build_home.join("buildconfiguration").join(cloudhost);
        let read = |f: &str| {
            std::fs::read_to_string(conf.join(format!("{build}-credentials")).join(f))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let (user, password) = (read("SERVERUSER"), read("SERVERUSERPASSWORD"));
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
        let target = crate::process::SshTarget {
            user: user.clone(),
            port,
            key: build_home
                .join("keys")
                .join(cloudhost)
                .join(build)
                .join(format!("id_{alg}_AGILE_DEPLOYMENT_BUILD_KEY_{build}")),
            timeout: Duration::from_secs(10),
            mux: None,
            kex_first: None,
        };
        HelperRemote {
            host,
            target,
            sudo_input: format!("{password}\n"),
            user,
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
        self.run(
            &format!(
                "/home/{}/providerscripts/utilities/ExtractConfigValue.sh '{k}'",
                self.user
            ),
            Duration::ZERO,
        )
        .1
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

/// PerformWebsiteBackup.sh (build machine): legacy's prompts (cloud host, build, webserver, key
/// type, periodicity, confirmations), then `Backup.sh <P> <id>` on the chosen webserver over SSH
/// as root (the sudo password on stdin, never on the remote command line as legacy put it), and
/// for MANUAL the archives copied into `${BUILD_HOME}/manualbackups`. Every answer can be given
/// as a flag instead (`--cloudhost NAME --build-identifier ID --ip IP --key rsa|ecdsa --period
/// P [--period P…] --yes`), for scripts.
pub fn perform_website_backup(ctx: &Ctx, args: &[String]) -> i32 {
    let mut a = match Answers::new(args) {
        Ok(a) => a,
        Err(m) => {
            ctx.report(&Error::Usage(m));
            return 2;
        }
    };
    let build_home = ctx.home.clone();
    let Some(cloudhost) = choose_cloudhost(&mut a, "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3)Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost") else {
        return 0;
    };
    let id = choose_build(
        &mut a,
        &build_home,
        &cloudhost,
        "What is the build Identifer for your build?",
    );
    let ip = match choose_server(
        ctx,
        &mut a,
        &cloudhost,
        "webserver",
        "There doesn't seem to be any webservers running",
        "Which webserver would you like to connect to?",
    ) {
        Ok(ip) => ip,
        Err(status) => return status,
    };
    let key_kind = choose_key(&mut a, true);
    let periods: Vec<String> = match a.flags.get("--period") {
        Some(ps) => ps
            .iter()
            .flat_map(|p| {
                if *p == "ALL" {
                    Period::CRON
                        .iter()
                        .map(|p| p.upper().to_string())
                        .collect::<Vec<_>>()
                } else {
                    vec![p.to_string()]
                }
            })
            .collect(),
        None => {
            say("Which periodicity of backup do you want to make, 1) HOURLY 2)DAILY 3) WEEKLY 4)MONTHLY 5)BIMONTHLY 6)MANUAL 7)ALL");
            say("Please enter one of 1,2,3,4,5,6,7");
            let mut choice = a.read();
            while !matches!(choice.as_str(), "1" | "2" | "3" | "4" | "5" | "6" | "7") {
                say("Sorry, that's not a valid selection, please try again");
                let next = a.read();
                if next.is_empty() && choice.is_empty() {
                    return 1; // end of input
                }
                choice = next;
            }
            match choice.as_str() {
                "6" => vec!["MANUAL".to_string()],
                "7" => Period::CRON.iter().map(|p| p.upper().to_string()).collect(),
                n => vec![Period::CRON[n.parse::<usize>().unwrap_or(1) - 1]
                    .upper()
                    .to_string()],
            }
        }
    };
    if periods.iter().any(|p| p == "MANUAL") {
        let _ = std::fs::create_dir_all(build_home.join("manualbackups"));
    }
    let alg = match key_kind.as_str() {
        "1" => "rsa",
        "2" => "ecdsa",
        _ => {
            say("Unrecognised selection, please select only 1 or 2");
            return 0;
        }
    };
    let Ok(host) = ip.parse::<std::net::IpAddr>() else {
        ctx.report(&Error::Usage(format!("{ip:?} is not an IP address")));
        return 1;
    };
    let machine = HelperRemote::new(&build_home, &cloudhost, &id, alg, host);
    machine.confirm_repository(&mut a);
    let value = |k: &str| machine.value(k);
    let (user, remote) = (&machine.user, |cmd: &str, extra| machine.run(cmd, extra));
    let remote_id = value("BUILDIDENTIFIER").trim().to_string();
    say(&format!("Build identifier is set to: {remote_id}"));
    say("OK, ready to create backup - press enter to confirm");
    if !a.yes() {
        a.read();
    }
    let mut status = 0;
    for p in &periods {
        say(&format!("Making backup for {p} periodicity"));
        let cmd = format!("/home/{user}/providerscripts/git/Backup.sh {p} {remote_id}");
        let (ok, _) = remote(&cmd, crate::git::git_deadline());
        if !ok {
            ctx.report(&Error::Remote(format!("the {p} backup on {ip} failed")));
            status = 1;
        }
    }
    if periods.last().map(String::as_str) == Some("MANUAL") {
        let o = crate::process::Run::new("scp")
            .args([
                "-o",
                "ConnectTimeout=5",
                "-o",
                "ConnectionAttempts=2",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "BatchMode=yes",
            ])
            .args(["-P", &machine.target.port.to_string(), "-i"])
            .arg(&machine.target.key)
            .arg(format!("{user}@{ip}:/tmp/backup_archive/*.tar.gz"))
            .arg(build_home.join("manualbackups"))
            .deadline(crate::git::git_deadline())
            .output();
        if !o.as_ref().is_ok_and(|o| o.success()) {
            ctx.report(&Error::Remote(format!(
                "cannot copy the manual archive from {ip}"
            )));
            status = 1;
        }
    }
    status
}
