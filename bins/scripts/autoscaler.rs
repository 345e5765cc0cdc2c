//! autoscaler/PerformScaling.sh [--dry-run], autoscaler/DeadOrAlive.sh, and their cron wrappers
//! cron/AutoscaleFromCron.sh, cron/DeadOrAliveFromCron.sh.
use super::finish;
use adt::autoscaler;
use adt::cli::Ctx;

pub fn perform_scaling(ctx: &Ctx, args: &[String]) -> i32 {
    finish(autoscaler::perform_scaling(ctx, args))
}

pub fn dead_or_alive(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(autoscaler::dead_or_alive(ctx))
}

pub fn autoscale_from_cron(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(autoscaler::from_cron(
        ctx,
        "autoscalelock.file",
        "Performing scaling from cron",
        || autoscaler::perform_scaling(ctx, &[]),
    ))
}

pub fn dead_or_alive_from_cron(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(autoscaler::from_cron(
        ctx,
        "deadoralivelock.file",
        "Performing dead or alive from cron",
        || autoscaler::dead_or_alive(ctx),
    ))
}

pub fn purge_detached_ips(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(autoscaler::purge_detached_ips(ctx))
}

pub fn monitor_for_slow_builds(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(autoscaler::monitor_for_slow_builds(ctx))
}
