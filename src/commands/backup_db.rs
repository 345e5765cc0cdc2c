//! The database machine's backup scripts (spec §1.1, §1.4, §1.6): DB
//! `providerscripts/git/Backup.sh <P> <id>`, DB `cron/BackupFromCron.sh '<P>' <id>`, the backup
//! step of DB `providerscripts/utilities/ShutdownThisDatabase.sh backup`, and the entry of the
//! build machine's `helperscripts/PerformDatabaseBackup.sh` (its flow, shared with
//! PerformWebsiteBackup, is `super::perform_backup`). The backup flow itself is
//! `crate::backup::database`; this file reads the arguments, the settings, the credentials and
//! the gates, and renders the result the way legacy callers see it.
//!
//! Legacy outputs kept: Backup.sh's usage line on stdout (status 0) when an argument is missing;
//! silence (status 0) when `credentials/shit` or `INSTALLEDSUCCESSFULLY` is not in the store;
//! the MonitoringLog.dat lines; BackupFromCron's `script already running` on stdout when the
//! fleet lock is held for the same period.
//!
//! Differences from legacy: a failure exits 1 with one line on stderr (legacy always exited
//! 0), after legacy's log line and its `FAILED TO TAKE BACKUP` e-mail; the lock is the
//! conditional, owned, expiring lock of `crate::backup::lock` on the legacy key
//! `dbbackuplock.file` (an unreachable store stops the run instead of letting it run unlocked;
//! another period's run is waited for instead of skipped); the shutdown backup takes the same
//! lock instead of only checking it, and is `DAILY` then `SHUTDOWN` as the spec says (the
//! April 2022 script ran `HOURLY`, unlocked); the build machine's helper gives the sudo password
//! on stdin (legacy put it on the remote command line, visible in `ps`), asks the same questions
//! unless flags answer them, and exits 1 when the remote backup fails (legacy printed and exited 0).
//!
//! The 2025 generation (`crate::backup::database2025`): `application/backupscripts/Backup.sh
//! <P>` and `cron/BackupFromCron.sh '<P>'`, no build identifier. Legacy's usage and period
//! lines on stdout (status 0); silence before `INSTALLED_SUCCESSFULLY`; the fleet lock
//! `DB_BACKUP_RUNNING` only with `MULTIREGION:1`, as legacy's BackupFromCron, and then the
//! same period held by another machine ends the run silently (legacy's `exit`); a failure
//! sends `<p> database backup FAILED`, prints one line on stderr and exits 1. Legacy's 1–60 s
//! sleep before the lock is left out (the conditional lock keeps machines apart), and so is its
//! `sleep 300` holding the lock after the backup (its delete then named a script that does not
//! exist, `DeletetFromConfigDatastore.sh`, so the key stayed until a later run found it older
//! than 300 s): ours is released when the run ends, so a database machine of another region
//! that arrives after that makes its own backup of the period, into its own bucket. 2025's
//! `utilities/housekeeping/ShutdownThisDatabase.sh` stays legacy's: it runs `Backup.sh
//! "shutdown"`, which is this.

use super::{arg, out, Ctx};
use crate::backup::database::{self as dbbackup, Done, Plan, Targets};
use crate::backup::database2025 as db2025;
use crate::backup::lock::{self, NotTaken, Waiting};
use crate::backup::names::{self, Url};
use crate::backup::webroot2025;
use crate::backup::Period;
use crate::config;
use crate::database::{archive, Connection};
use crate::error::{Error, Result};
use crate::git::{self, RepoSettings};

/// Backup.sh's line when an argument is missing.
pub const USAGE: &str =
    "This script requires the <Build periodicity> and the <build identifier> parameters to be set\n";

/// What the gates and the flow decided, before rendering.
enum Ran {
    /// Not installed yet (or no credentials): legacy exits silently.
    Gated,
    Done(Done),
}

/// The whole database backup for `period`; `still_ours` guards the replacements.
fn take(ctx: &Ctx, period: Period, id: &str, still_ours: &dyn Fn() -> bool) -> Result<Ran> {
    let store = ctx.store()?;
    if !store.any_with_prefix("credentials/shit")?
        || !store.any_with_prefix("INSTALLEDSUCCESSFULLY")?
    {
        return Ok(Ran::Gated);
    }
    let settings = ctx.settings()?;
    let creds = String::from_utf8_lossy(&store.get_bytes("credentials/shit")?).into_owned();
    let my_ip = crate::ips::get_ip(ctx)?;
    let conn = Connection::from_settings(&settings, &creds, &my_ip)?;
    let website = config::value(&settings, "WEBSITEURL").unwrap_or_default();
    if website.is_empty() {
        return Err(Error::Config("WEBSITEURL is not set".into()));
    }
    let plan = Plan {
        home: ctx.home.clone(),
        tmp: ctx.tmp.clone(),
        period,
        id: id.to_string(),
        url: Url::parse(&website),
        gen: ctx.gen,
        conn,
        ipmask: config::value(&settings, "IPMASK").unwrap_or_default(),
        mode: crate::mode::Mode::from_settings(ctx.machine, &settings),
        part_size: crate::knobs::env_u64("ADT_DB_PART_BYTES", archive::PART_SIZE).max(1),
    };
    let provider = git::provider(&RepoSettings::from_settings(&settings));
    let provider_err = provider.as_ref().err().map(|e| e.to_string());
    let log = |text: &str| ctx.log("MonitoringLog.dat", text);
    let open = |bucket: &str| ctx.store_for_bucket(bucket);
    let targets = Targets {
        git: provider.as_ref().ok().map(|p| p.as_ref()),
        store_for_bucket: &open,
        still_ours,
        log: &log,
    };
    dbbackup::run(&plan, &targets)
        .map(Ran::Done)
        .map_err(|e| match provider_err {
            Some(p) if e.to_string().contains("names no git provider") => {
                Error::Config(format!("no git provider: {p}"))
            }
            _ => e,
        })
}

/// Render a run: 0 on success or a legacy gate; on failure legacy's log line and e-mail, one
/// line on stderr, status 1.
fn render(ctx: &Ctx, r: Result<Ran>) -> i32 {
    match r {
        Ok(Ran::Gated) => 0,
        Ok(Ran::Done(d)) => {
            log::debug!("database backup: {d:?}");
            0
        }
        Err(e) => {
            ctx.log("MonitoringLog.dat", dbbackup::LOG_FAILED);
            ctx.notify(dbbackup::MAIL_SUBJECT, dbbackup::MAIL_BODY);
            ctx.report_with(&e, "the last good backup was left as it is");
            1
        }
    }
}

/// The 2025 generation: one archive in `<url->-db-<p>` of every S3 account, no git, `<P>`
/// without a build identifier.
fn is_2025(ctx: &Ctx) -> bool {
    ctx.gen.backups == crate::layout::BackupNaming::SingleBucket2025
}

/// The 2025 backup for the period word `p` (`crate::backup::database2025`).
fn take_2025(ctx: &Ctx, p: &str, still_ours: &dyn Fn() -> bool) -> Result<db2025::Done> {
    let store = ctx.store()?;
    let settings = ctx.settings()?;
    let connection = || super::baseline::db_connection(ctx, &settings);
    let inputs = db2025::Inputs {
        home: ctx.home.clone(),
        gen: ctx.gen,
        settings: settings.clone(),
        period: webroot2025::period(p),
        connection: &connection,
    };
    let open = |bucket: &str| ctx.stores_in_every_account(bucket);
    db2025::run(store.as_ref(), &open, &inputs, still_ours)
}

/// Render a 2025 run: legacy's period line on stdout (status 0); on failure one line on
/// stderr, legacy's `<p> database backup FAILED` mail, status 1.
fn render_2025(ctx: &Ctx, p: &str, r: Result<db2025::Done>) -> i32 {
    match r {
        Ok(d) => {
            log::debug!("2025 database backup: {d:?}");
            0
        }
        Err(Error::Usage(line)) => {
            out(format!("{line}\n").as_bytes());
            0
        }
        Err(e) => {
            let (subject, body) = db2025::failure_mail(&p.to_lowercase());
            ctx.notify(&subject, body);
            ctx.report_with(&e, "the last good backup was left as it is");
            1
        }
    }
}

/// The 2025 `cron/BackupFromCron.sh '<P>'`: with `MULTIREGION:1` under the fleet lock
/// `DB_BACKUP_RUNNING` (another machine on the same period: nothing, silently, as legacy;
/// another period: waited for); without, straight to Backup.sh, as legacy.
fn backup_from_cron_2025(ctx: &Ctx, p: &str) -> i32 {
    let multi = ctx
        .settings()
        .ok()
        .and_then(|s| config::value(&s, "MULTIREGION"))
        .is_some_and(|v| v == "1");
    if !multi {
        return backup_2025(ctx, p, &|| true);
    }
    let store = match ctx.store() {
        Ok(s) => s,
        Err(e) => {
            ctx.report_with(&e, "no backup taken (the lock could not be taken)");
            return 1;
        }
    };
    let key = names::db_lock_key(ctx.gen);
    let period = webroot2025::period(p);
    match lock::acquire(
        store.as_ref(),
        &ctx.home,
        key,
        period,
        Waiting::from_knobs(),
    ) {
        Ok(Ok(held)) => lock::holding(store.as_ref(), &ctx.home, held, |ours| {
            backup_2025(ctx, p, ours)
        }),
        Ok(Err(NotTaken::SamePeriod(_))) => 0,
        Ok(Err(NotTaken::WaitedTooLong(who))) => render_2025(
            ctx,
            p,
            Err(Error::Conflict(format!(
                "{key} is still held by {who}: no {} backup taken",
                period.lower()
            ))),
        ),
        Err(e) => {
            ctx.report_with(&e, "no backup taken (the lock could not be taken)");
            1
        }
    }
}

/// The 2025 `application/backupscripts/Backup.sh <P>`.
fn backup_2025(ctx: &Ctx, p: &str, still_ours: &dyn Fn() -> bool) -> i32 {
    if p.is_empty() {
        out(db2025::USAGE.as_bytes());
        return 0;
    }
    render_2025(ctx, p, take_2025(ctx, p, still_ours))
}

/// DB `providerscripts/git/Backup.sh <P> <id>` (no lock, as legacy: the build machine's
/// helpers call it directly); 2025 `application/backupscripts/Backup.sh <P>`.
pub fn backup(ctx: &Ctx, args: &[String]) -> i32 {
    if is_2025(ctx) {
        return backup_2025(ctx, arg(args, 0), &|| true);
    }
    let (p, id) = (arg(args, 0), arg(args, 1));
    if p.is_empty() || id.is_empty() {
        out(USAGE.as_bytes());
        return 0;
    }
    render(ctx, take(ctx, Period::parse(p), id, &|| true))
}

/// The lock, then the backup: what DB `cron/BackupFromCron.sh '<P>' <id>` does. `quiet`:
/// nothing on stdout (the shutdown step discards the output, as legacy did).
fn locked_backup(ctx: &Ctx, period: Period, id: &str, quiet: bool) -> i32 {
    let store = match ctx.store() {
        Ok(s) => s,
        Err(e) => {
            ctx.report_with(&e, "no backup taken (the lock could not be taken)");
            return 1;
        }
    };
    let key = names::db_lock_key(ctx.gen);
    let held = match lock::acquire(
        store.as_ref(),
        &ctx.home,
        key,
        period,
        Waiting::from_knobs(),
    ) {
        Ok(Ok(h)) => h,
        Ok(Err(NotTaken::SamePeriod(_))) => {
            if !quiet {
                out(b"script already running\n");
            }
            return 0;
        }
        Ok(Err(NotTaken::WaitedTooLong(who))) => {
            ctx.report(&Error::Conflict(format!(
                "{key} is still held by {who}: no {} backup taken",
                period.upper()
            )));
            return 1;
        }
        Err(e) => {
            ctx.report_with(&e, "no backup taken (the lock could not be taken)");
            return 1;
        }
    };
    // The local marker legacy touched (its cron cleaners look for it).
    let runtime = ctx.home.join("runtime");
    let _ = std::fs::create_dir_all(&runtime);
    let marker = runtime.join(key);
    let _ = std::fs::write(&marker, b"");
    let status = lock::holding(store.as_ref(), &ctx.home, held, |ours| {
        render(ctx, take(ctx, period, id, ours))
    });
    let _ = std::fs::remove_file(&marker);
    status
}

/// DB `cron/BackupFromCron.sh '<P>' <id>` (2025: `'<P>'`).
pub fn backup_from_cron(ctx: &Ctx, args: &[String]) -> i32 {
    if is_2025(ctx) {
        return backup_from_cron_2025(ctx, arg(args, 0));
    }
    let (p, id) = (arg(args, 0), arg(args, 1));
    if p.is_empty() || id.is_empty() {
        // Legacy ran Backup.sh, which printed its usage line.
        out(USAGE.as_bytes());
        return 0;
    }
    locked_backup(ctx, Period::parse(p), id, false)
}

/// The backup step of DB `ShutdownThisDatabase.sh backup`: `DAILY`, then `SHUTDOWN`, each
/// under the fleet lock, with BUILDIDENTIFIER from the settings; output discarded as legacy
/// did. Returns whether both were taken.
pub fn shutdown_backup(ctx: &Ctx) -> bool {
    let id = ctx
        .settings()
        .ok()
        .and_then(|s| config::value(&s, "BUILDIDENTIFIER"))
        .unwrap_or_default();
    if id.is_empty() {
        ctx.report(&Error::Config(
            "BUILDIDENTIFIER is not set: no shutdown backup taken".into(),
        ));
        return false;
    }
    let daily = locked_backup(ctx, Period::Daily, &id, true);
    let shutdown = locked_backup(ctx, Period::Shutdown, &id, true);
    daily == 0 && shutdown == 0
}

/// DB `providerscripts/utilities/ShutdownThisDatabase.sh [backup]`: with `backup`, the backup
/// step ([`shutdown_backup`]); then the legacy script itself, kept beside the launcher as
/// `ShutdownThisDatabase.sh.adt-legacy`, run without `backup` (the shutdown stays legacy's:
/// the `databaseip` marker, the e-mail, `shutdown -h now`). `ADT_SHUTDOWN_DRY_RUN=1` stops
/// before the legacy script (tests).
pub fn shutdown_this_database(ctx: &Ctx, args: &[String]) -> i32 {
    if arg(args, 0) == "backup" && !shutdown_backup(ctx) {
        eprintln!(
            "{}: the shutdown backup failed (see above); shutting down anyway, as legacy does",
            ctx.prog
        );
    }
    if std::env::var("ADT_SHUTDOWN_DRY_RUN").as_deref() == Ok("1") {
        return 0;
    }
    let legacy = ctx.home.join(format!(
        "providerscripts/utilities/ShutdownThisDatabase.sh{}",
        crate::layout::install::LEGACY_SUFFIX
    ));
    if !legacy.is_file() {
        ctx.report(&Error::Config(format!(
            "{} is missing: the shutdown itself is the legacy script's; not shutting down",
            legacy.display()
        )));
        return 1;
    }
    crate::process::Run::new("/bin/sh")
        .arg(&legacy)
        .env("HOME", &ctx.home)
        .inherit_stdout()
        .status()
        .ok()
        .flatten()
        .unwrap_or(1)
}

/// BM `helperscripts/PerformDatabaseBackup.sh`, either generation: see
/// [`super::perform_backup`].
pub fn perform_database_backup(ctx: &Ctx, args: &[String]) -> i32 {
    super::perform_backup::perform_backup(ctx, args, &super::perform_backup::DATABASE)
}
