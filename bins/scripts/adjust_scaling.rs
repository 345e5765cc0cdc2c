//! helperscripts/AdjustScaling.sh [ignored] [on|off] [--cloudhost X] [--build-identifier X]
//! [--url URL] [--count N] (build machine). Prompts for whatever the flags do not give.
use adt::cli::Ctx;
use adt::scaling::commands::{adjust_scaling, AdjustOptions};

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let opts = match AdjustOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("AdjustScaling.sh: {e}");
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let stdin = std::io::stdin();
    adjust_scaling(ctx, &opts, &cwd, &mut stdin.lock(), &mut std::io::stdout())
}
