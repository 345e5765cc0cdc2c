//! SyncFromDatastoreTunnel.sh: webrootsynctunnel/ → the webroot (/var/www/html)
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, _args: &[String]) -> i32 {
    let webroot = ctx.webroot();
    super::with_store(ctx, 1, |s| {
        adt::datastore::commands::sync_from_tunnel(ctx, s, &webroot)
    })
}
