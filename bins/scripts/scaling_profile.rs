//! adt scaling-profile show | set KEY VALUE: read or change the scaling profile safely.
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    adt::scaling::commands::scaling_profile(ctx, args, &mut std::io::stdout())
}
