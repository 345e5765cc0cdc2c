//! SetupInfrastructureIPs.sh (sourced): `export NAME='value'` lines for the launcher to eval.
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, _args: &[String]) -> i32 {
    match adt::ips::infrastructure_exports(ctx) {
        Ok(s) => {
            adt::cli::out(s.as_bytes());
            0
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
