//! SyncToDatastoreTunnel.sh: new and changed webroot files → webrootsynctunnel/
use super::finish;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(adt::datastore::tunnel::sync_to_tunnel(ctx))
}
