//! adt health-sweep [--timeout SECS] [--record] [IP…]: the autoscaler's concurrent health sweep.
use super::finish;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::autoscaler::health::health_sweep(ctx, args))
}
