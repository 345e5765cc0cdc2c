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
use crate::backup::Period;
use crate::error::{Error, Result};
use crate::home::Machine;
use std::time::Duration;

const USAGE: &str = "This script needs to be run with the <build periodicity> parameter and the <build identifier> parameter\n";

/// Run the webroot backup for `period`, `still_ours` as the fleet lock says.
fn webroot_backup(
    ctx: &Ctx,
    period: Period,
    id: &str,
    still_ours: &dyn Fn() -> bool,
) -> Result<webroot::Report> {
    let store = ctx.store()?;
    let inputs = Inputs {
        settings: ctx.settings()?,
        webroot: ctx.webroot(),
        period,
        id: id.to_string(),
    };
    let open = |bucket: &str| ctx.store_for_bucket(bucket);
    webroot::run(&ctx.site, store.as_ref(), &open, &inputs, still_ours)
}

/// Report a failed backup: one line on stderr, and (unless the webroot was simply not ready)
/// legacy's log banner and e-mail.
fn failed(ctx: &Ctx, period: Period, id: &str, e: &Error) -> i32 {
    ctx.report(e);
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
    if arg(args, 0).is_empty() || arg(args, 1).is_empty() {
        super::out(USAGE.as_bytes());
        return 0;
    }
    let period = Period::parse(arg(args, 0));
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

/// Take the fleet lock and run the backup under it. `Ok(true)` when made, `Ok(false)` when the
/// same period was already running elsewhere.
fn locked_backup(ctx: &Ctx, period: Period, id: &str) -> Result<bool> {
    let store = ctx.store()?;
    let key = names::webroot_lock_key(ctx.gen);
    let held = match lock::acquire(store.as_ref(), &ctx.home, key, period, Waiting::from_knobs())? {
        Ok(h) => h,
        Err(NotTaken::SamePeriod(_)) => return Ok(false),
        Err(NotTaken::WaitedTooLong(who)) => {
            return Err(Error::Conflict(format!(
                "{key} stayed held by {who} for longer than ADT_BACKUP_LOCK_WAIT_SECS; this {} backup was not made",
                period.lower()
            )))
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
    r.map(|_| true)
}

/// BackupFromCron.sh '<PERIOD>' <build identifier>
pub fn backup_from_cron(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.machine == Machine::Database {
        return super::backup_db::backup_from_cron(ctx, args);
    }
    let period = Period::parse(arg(args, 0));
    let id = arg(args, 1);
    jitter();
    match locked_backup(ctx, period, id) {
        Ok(true) => 0,
        Ok(false) => {
            super::out(b"script already running\n");
            0
        }
        Err(e) => {
            if matches!(e, Error::Conflict(_)) {
                super::out(b"script already running\n");
            }
            failed(ctx, period, id, &e)
        }
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
        if let Err(e) = locked_backup(ctx, Period::Shutdown, &id) {
            // The shutdown goes on (as legacy's did); the failure is reported and mailed.
            failed(ctx, Period::Shutdown, &id, &e);
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
