//! The autoscaler: the health sweep ([`health`]) and the scaling loop with DeadOrAlive's actions
//! ([`scaling`]), on the `local` cloud or on DigitalOcean, Exoscale, Linode and Vultr.

pub mod health;
pub mod scaling;

use crate::cli::{Ctx, Outcome};

/// Tell the operator, as legacy did: the machine's own `providerscripts/email/SendEmail.sh
/// SUBJECT BODY` (its SMTP settings are the legacy ones; adt does not replace it), bounded to
/// 60 s, its output discarded. Nothing happens where the script is missing. The subjects are
/// the legacy ones, which operators may filter on.
pub fn notify(ctx: &Ctx, subject: &str, body: &str) {
    let script = ctx.home.join("providerscripts/email/SendEmail.sh");
    if !script.is_file() {
        return;
    }
    let (ok, _) = health::run_bounded(
        std::process::Command::new("/bin/sh")
            .arg(&script)
            .args([subject, body])
            .env("HOME", &ctx.home),
        None,
        std::time::Duration::from_secs(60),
    );
    if !ok {
        crate::scaling::commands::append_log(
            ctx,
            "MonitoringLog.log",
            &format!("could not send the e-mail {subject:?}"),
        );
    }
}

/// autoscaler/PerformScaling.sh [--dry-run]
pub fn perform_scaling(ctx: &Ctx, args: &[String]) -> Outcome {
    let dry = args.iter().any(|a| a == "--dry-run");
    Outcome::from_result(ctx, scaling::perform_scaling(ctx, dry))
}

/// autoscaler/DeadOrAlive.sh
pub fn dead_or_alive(ctx: &Ctx) -> Outcome {
    let secs = std::env::var("ADT_HEALTH_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    Outcome::from_result(
        ctx,
        scaling::dead_or_alive(ctx, std::time::Duration::from_secs_f64(secs)),
    )
}

/// autoscaler/PurgeDetachedIPs.sh
pub fn purge_detached_ips(ctx: &Ctx) -> Outcome {
    Outcome::from_result(ctx, scaling::purge_detached_ips(ctx))
}

/// autoscaler/MonitorForSlowBuilds.sh
pub fn monitor_for_slow_builds(ctx: &Ctx) -> Outcome {
    Outcome::from_result(
        ctx,
        scaling::monitor_for_slow_builds(ctx, std::time::SystemTime::now()),
    )
}

/// cron/AutoscaleFromCron.sh and cron/DeadOrAliveFromCron.sh: one run at a time (flock on the
/// legacy lock file), gated on INSTALLEDSUCCESSFULLY, logged to MonitoringLog.log.
pub fn from_cron(ctx: &Ctx, lock: &str, what: &str, run: impl FnOnce() -> Outcome) -> Outcome {
    let _held = match ctx.try_runtime_lock(lock) {
        Ok(Some(f)) => f,
        Ok(None) => return Outcome::ok(""),
        Err(e) => return Outcome::from_result(ctx, Err::<String, _>(e)),
    };
    match ctx
        .store()
        .and_then(|s| s.any_with_prefix("INSTALLEDSUCCESSFULLY"))
    {
        Ok(true) => {}
        Ok(false) => return Outcome::ok(""),
        Err(e) => {
            ctx.report(&e);
            return Outcome {
                stdout: String::new(),
                status: 1,
            };
        }
    }
    crate::scaling::commands::append_log(ctx, "MonitoringLog.log", what);
    run()
}
