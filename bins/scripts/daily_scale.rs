//! DailyScaleup.sh N / DailyScaledown.sh N (autoscaler cron).
use super::arg;
use adt::cli::Ctx;

pub fn up(ctx: &Ctx, args: &[String]) -> i32 {
    adt::scaling::commands::daily_scale(ctx, true, arg(args, 0))
}

pub fn down(ctx: &Ctx, args: &[String]) -> i32 {
    adt::scaling::commands::daily_scale(ctx, false, arg(args, 0))
}
