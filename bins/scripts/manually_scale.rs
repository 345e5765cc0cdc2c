//! ManuallyScale.sh [N] (autoscaler): set the number of webservers in the scaling profile.
use super::arg;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    adt::scaling::commands::manually_scale(ctx, arg(args, 0), &mut stdin.lock(), &mut out)
}
