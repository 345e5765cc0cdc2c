//! InitialiseCron.sh [--file PATH [--no-install] | --user NAME] [--dry-run]: the machine's crontab.
use super::finish;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::cron::initialise_cron(ctx, args))
}
