//! PutToConfigDatastore.sh FILE [PLACE] [recursive]
//! (build machine: PutToConfigDatastore.sh WEBSITEURL FILE [PLACE] [recursive])
use super::{arg, finish};
use adt::cli::Ctx;
use adt::datastore::commands::put;
use adt::home::Machine;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.machine == Machine::Build {
        let bucket = ctx.gen.config_bucket(arg(args, 0), "");
        return match ctx.store_for_bucket(&bucket) {
            Ok(s) => finish(put(
                ctx,
                s.as_ref(),
                arg(args, 1),
                arg(args, 2),
                arg(args, 3) == "recursive",
            )),
            Err(e) => {
                ctx.report(&e);
                1
            }
        };
    }
    // The webserver's script ends with a `touch` (status 0); the others with the upload.
    let failed = if ctx.machine == Machine::Webserver {
        0
    } else {
        1
    };
    super::with_store(ctx, failed, |s| {
        put(
            ctx,
            s,
            arg(args, 0),
            arg(args, 1),
            arg(args, 2) == "recursive",
        )
    })
}
