//! The build machine's config bucket reset: `PurgeDatastore` (2022
//! `providerscripts/datastore/PurgeDatastore.sh`, sourced by the build scripts),
//! `InitialiseUniqueConfigDatastore` (2025 `initscripts/InitialiseUniqueConfigDatastore.sh`),
//! and `adt datastore reset` for operators. The work is in `crate::datastore::reset`.
//!
//! PurgeDatastore is sourced: its launcher runs us as a child (the caller's shell lives on) and
//! hands over the caller's `WEBSITE_URL` and `DATASTORE_CHOICE` shell variables, which a
//! sourced script reads but a child would not see. Output is the legacy script's: the status
//! line `Purging bucket <b>. Please wait....` when the bucket holds anything, then s3cmd's
//! `delete: 's3://<b>/<key>'` lines; `Bucket 's3://<b>/' created` when it was missing.
//!
//! InitialiseUniqueConfigDatastore also empties the website's authentication server buckets
//! (`<url->-firewall-auth-laptop-ips`, `<url->-basic-auth-credentials`), which the 2025
//! InitialiseDatastoreConfig deleted at each build.
//!
//! The status line also goes to file descriptor 3 when it is open, as the build scripts'
//! `status` (`tee /dev/fd/3`) sent it.
//!
//! Differences from legacy: a reset that fails says why on stderr and exits 1 (legacy went on
//! with whatever s3cmd had done).

use super::{out, parse_args, Ctx};
use crate::datastore::reset::{self, Done};
use crate::error::{Error, Result};
use crate::layout::{Generation, G2022, G2025};
use std::fmt::Write as _;

/// The DATASTORE_CHOICE values for which legacy PurgeDatastore did anything (the S3 stores).
pub const S3_CHOICES: [&str; 5] = ["amazonS3", "digitalocean", "exoscale", "linode", "vultr"];

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

/// Reset `bucket` (already checked to be this build's): the lines legacy printed, in `stdout`.
fn run_reset(ctx: &Ctx, bucket: &str, status_line: bool, stdout: &mut String) -> Result<Done> {
    let store = ctx.store_for_bucket(bucket)?;
    let plan = reset::plan(store.as_ref())?;
    if status_line && !plan.keys.is_empty() {
        let line = format!("Purging bucket {bucket}. Please wait....\n");
        stdout.push_str(&line);
        status_copy(&line);
    }
    let done = reset::apply(store.as_ref(), &plan)?;
    match done {
        Done::Created => {
            let _ = writeln!(stdout, "Bucket 's3://{bucket}/' created");
        }
        Done::Emptied(_) => {
            for k in &plan.keys {
                let _ = writeln!(stdout, "delete: 's3://{bucket}/{k}'");
            }
        }
        Done::AlreadyEmpty => {}
    }
    Ok(done)
}

/// The build scripts' `status` also copies its line to file descriptor 3 (`tee /dev/fd/3`,
/// errors ignored): the operator's terminal while stdout goes to the build log.
fn status_copy(line: &str) {
    copy_to_fd(3, line);
}

fn copy_to_fd(fd: u8, text: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .open(format!("/dev/fd/{fd}"))
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// The 2025 build scripts' `status`: the line on stdout and on descriptor 3, and
/// `<script>: <line>` on descriptor 4 (the build log), each when open.
fn status_2025(stdout: &mut String, line: &str) {
    let line = format!("{line}\n");
    stdout.push_str(&line);
    copy_to_fd(3, &line);
    copy_to_fd(4, &format!("InitialiseUniqueConfigDatastore.sh: {line}"));
}

/// PurgeDatastore.sh (2022 build machine; sourced, no arguments): empty this build's config
/// bucket, or create it.
pub fn purge_datastore(ctx: &Ctx, _args: &[String]) -> i32 {
    let choice = env("DATASTORE_CHOICE");
    if !S3_CHOICES.contains(&choice.as_str()) {
        // Legacy did nothing for other datastores.
        return 0;
    }
    let mut url = env("WEBSITE_URL");
    if url.is_empty() {
        url = env("WEBSITEURL");
    }
    let mut stdout = String::new();
    let r = reset::expected_bucket(&G2022, &url, "")
        .and_then(|b| run_reset(ctx, &b, true, &mut stdout));
    out(stdout.as_bytes());
    match r {
        Ok(_) => 0,
        Err(e) => {
            ctx.report_with(&e, "the config bucket was not reset");
            1
        }
    }
}

/// The 2025 build machine's values: `BUILD_HOME` from `/home/buildhome.dat`
/// (`ADT_BUILDHOME_FILE` overrides), then `runtimedata/ACTIVE_CLOUDHOST`,
/// `runtimedata/ACTIVE_BUILD_IDENTIFIER` and that build's `build_environment` (`NAME="value"`).
pub struct Build2025 {
    pub build_identifier: String,
    pub website_url: String,
    pub server_user: String,
}

fn first_line(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().next().unwrap_or("").trim().to_string())
        .map_err(|e| Error::io(path.display(), e))
}

pub fn build_2025() -> Result<Build2025> {
    let file =
        std::env::var_os("ADT_BUILDHOME_FILE").unwrap_or_else(|| "/home/buildhome.dat".into());
    let home = std::path::PathBuf::from(first_line(std::path::Path::new(&file))?);
    let rt = home.join("runtimedata");
    let cloudhost = first_line(&rt.join("ACTIVE_CLOUDHOST"))?;
    let id = first_line(&rt.join("ACTIVE_BUILD_IDENTIFIER"))?;
    let envfile = rt.join(&cloudhost).join(&id).join("build_environment");
    let text = std::fs::read_to_string(&envfile).map_err(|e| Error::io(envfile.display(), e))?;
    let get = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(|v| v.replace('"', ""))
            .unwrap_or_default()
    };
    Ok(Build2025 {
        build_identifier: id.clone(),
        website_url: get("WEBSITE_URL"),
        server_user: get("SERVER_USER"),
    })
}

/// InitialiseUniqueConfigDatastore.sh (2025 build machine): this build's config bucket
/// `<url->-config-<user4>`, emptied or created.
pub fn initialise_unique_config_datastore(ctx: &Ctx, _args: &[String]) -> i32 {
    let mut stdout = String::new();
    let r = build_2025().and_then(|b| {
        let bucket = reset::expected_bucket(&G2025, &b.website_url, &b.server_user)?;
        status_2025(
            &mut stdout,
            &format!(
                "Creating a new configuration bucket for build ({})",
                b.build_identifier
            ),
        );
        run_reset(ctx, &bucket, false, &mut String::new())?;
        // A new build starts with no authorised clients and no basic-auth credentials (legacy
        // InitialiseDatastoreConfig deleted both buckets; emptying them is the same to readers).
        for other in [
            crate::firewall::auth::ips_bucket(&b.website_url),
            crate::firewall::auth::basic_auth_bucket(&b.website_url),
        ] {
            let store = ctx.store_for_bucket(&other)?;
            let plan = reset::plan(store.as_ref())?;
            if plan.exists {
                reset::apply(store.as_ref(), &plan)?;
            }
        }
        status_2025(
            &mut stdout,
            &format!("New configuration bucket is located at: (s3://{bucket}) for you"),
        );
        if let Ok(store) = ctx.store_for_bucket(&bucket) {
            if let Ok(others) = reset::other_config_buckets(store.as_ref(), &b.website_url, &bucket)
            {
                if !others.is_empty() {
                    eprintln!(
                        "{}: note: earlier builds' config buckets left as they are: {}",
                        ctx.prog,
                        others.join(" ")
                    );
                }
            }
        }
        Ok(())
    });
    out(stdout.as_bytes());
    match r {
        Ok(()) => 0,
        Err(e) => {
            ctx.report_with(&e, "the config bucket was not reset");
            1
        }
    }
}

fn generation(s: &str) -> std::result::Result<&'static Generation, String> {
    Generation::by_name(s).ok_or_else(|| format!("unknown generation {s:?}"))
}

/// `adt datastore`: the build's config bucket.
#[derive(clap::Parser)]
#[command(name = "adt datastore")]
pub(super) enum DatastoreCmd {
    /// Empty this build's config bucket (create it when missing). Both the bucket and the
    /// website URL must be named, and must agree: any other bucket is refused.
    Reset {
        /// The website URL of the build (WEBSITEURL).
        #[arg(long, value_name = "URL")]
        url: String,
        /// The bucket to reset; must be the config bucket the URL gives.
        #[arg(long, value_name = "NAME")]
        bucket: String,
        /// SERVERUSER (2025: the bucket name ends in its first four characters).
        #[arg(long, value_name = "USER", default_value = "")]
        server_user: String,
        /// 2022 or 2025 (default: the generation adt runs as).
        #[arg(long, value_name = "GEN", value_parser = generation)]
        generation: Option<&'static Generation>,
        /// List what would go (or that the bucket would be created); change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `adt datastore reset --url URL --bucket NAME [--server-user U] [--generation G] [--dry-run]`
pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let cmd = match parse_args::<DatastoreCmd>("adt datastore", args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let DatastoreCmd::Reset {
        url,
        bucket,
        server_user,
        generation,
        dry_run,
    } = cmd;
    let gen = generation.unwrap_or(ctx.gen);
    let r = (|| -> Result<String> {
        let expected = reset::expected_bucket(gen, &url, &server_user)?;
        reset::check_bucket(&expected, &bucket, &url)?;
        if !dry_run {
            let mut stdout = String::new();
            let done = run_reset(ctx, &expected, true, &mut stdout)?;
            if done == Done::AlreadyEmpty {
                stdout.push_str(&format!("s3://{expected} is already empty\n"));
            }
            return Ok(stdout);
        }
        let store = ctx.store_for_bucket(&expected)?;
        let plan = reset::plan(store.as_ref())?;
        let mut s = String::new();
        if !plan.exists {
            let _ = writeln!(s, "would create s3://{expected}");
        }
        for k in &plan.keys {
            let _ = writeln!(s, "would delete: 's3://{expected}/{k}'");
        }
        let _ = writeln!(
            s,
            "{} object(s) would go from s3://{expected}",
            plan.keys.len()
        );
        Ok(s)
    })();
    match r {
        Ok(s) => {
            out(s.as_bytes());
            0
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
