//! The config readers and writers as legacy commands: stdout and exit status as the grep/awk/sed
//! pipelines of the 2022 scripts produced them, and those of 2025 (`utilities/config/`) where
//! the generation's contract says they differ: everything after the first colon, empty lines
//! dropped by the autoscaler's and database's readers and by ExtractBuildStyleValues (whose
//! status is then sed's, 0), the autoscaler's StoreConfigValue(Webserver) replacing only lines
//! that start with `KEY:`. Not reproduced: the 2025 StoreConfigValueWebserver without a VALUE
//! deleted nothing (its pattern lacked a `$`), so each call appended a duplicate line.

use super::{arg, finish, Ctx, Outcome};
use crate::config::{check_value, check_value_anchored, extract_values};
use crate::error::Error;
use crate::home::Machine;
use std::path::Path;

/// ExtractConfigValue KEY (exit status: awk's, 0).
fn extract_one(ctx: &Ctx, key: &str) -> Outcome {
    if key.is_empty() {
        return Outcome::ok("");
    }
    match ctx.settings() {
        Ok(t) => {
            let out = crate::config::extract_value_by(&t, key, ctx.gen.extract_rule);
            Outcome::ok(if drops_empty(ctx) {
                drop_empty_lines(&out)
            } else {
                out
            })
        }
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("")
        }
    }
}

/// Whether this machine's ExtractConfigValue(s) end in `sed '/^$/d'` (2025 autoscaler and
/// database).
fn drops_empty(ctx: &Ctx) -> bool {
    ctx.gen
        .contract
        .extract_drops_empty_on
        .contains(&ctx.machine)
}

/// `sed '/^$/d'`.
fn drop_empty_lines(text: &str) -> String {
    text.split_terminator('\n')
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

/// ExtractConfigValues / ExtractBuildStyleValues KEY [stripped]. Without `stripped` the exit
/// status is grep's: 0 matched, 1 nothing matched, 2 unreadable file; where the pipeline ends
/// in `sed '/^$/d'` (`drop_empty`), empty lines go and the status is sed's, 0.
fn extract_all(ctx: &Ctx, file: &Path, key: &str, stripped: bool, drop_empty: bool) -> Outcome {
    if key.is_empty() {
        return Outcome::ok("");
    }
    match ctx.read_file(file) {
        Ok(t) => {
            let mut out = extract_values(&t, key, stripped);
            if drop_empty {
                out = drop_empty_lines(&out);
            }
            let status = if stripped || drop_empty || !out.is_empty() {
                0
            } else {
                1
            };
            Outcome {
                stdout: out,
                status,
            }
        }
        Err(e) => {
            ctx.report(&e);
            Outcome {
                stdout: String::new(),
                status: if stripped || drop_empty { 0 } else { 2 },
            }
        }
    }
}

/// CheckConfigValue PATTERN: `1`/`0`, exit 0.
fn check_setting(ctx: &Ctx, pattern: &str) -> Outcome {
    if pattern.is_empty() {
        return Outcome::ok("0\n");
    }
    match ctx.settings() {
        Ok(t) => Outcome::ok(check_value(&t, pattern)),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("0\n")
        }
    }
}

/// CheckBuildStyle PREFIX: `1` if a line of buildstyles.dat starts with PREFIX. As in the legacy
/// script there is no guard for an empty PREFIX (then any line matches).
fn check_style(ctx: &Ctx, prefix: &str) -> Outcome {
    match ctx.read_file(&ctx.buildstyles_path()) {
        Ok(t) => Outcome::ok(check_value_anchored(&t, prefix)),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("0\n")
        }
    }
}

/// StoreConfigValue / StoreConfigValueWebserver KEY [VALUE] on `file`.
fn store_in(ctx: &Ctx, file: &Path, key: &str, value: &str) -> Outcome {
    let value = if value.is_empty() { None } else { Some(value) };
    if ctx.gen.store_needs_file && !file.is_file() {
        return Outcome::ok("");
    }
    let ws = ctx.machine == Machine::Webserver && file == ctx.settings_path();
    let result = if ctx.gen.contract.store_anchored_on.contains(&ctx.machine) {
        crate::config::store_value_anchored(file, key, value)
    } else {
        crate::config::store_value(file, key, value, ws)
    };
    Outcome::from_result(ctx, result.map(|()| ""))
}

/// StoreDatabaseCredentials NAME PASSWORD USER. Webserver: `${HOME}/shit`. Database:
/// `${HOME}/credentials/shit`, a copy in `${HOME}/.ssh/shit`, and the upload to
/// `credentials/shit`. Every copy is mode 0600.
fn store_credentials(ctx: &Ctx, name: &str, password: &str, user: &str) -> Outcome {
    let fail = |e: Error| {
        ctx.report(&e);
        Outcome {
            stdout: String::new(),
            status: 1,
        }
    };
    if ctx.machine != Machine::Database {
        return match crate::config::store_db_credentials(
            &ctx.home.join("shit"),
            name,
            password,
            user,
        ) {
            Ok(()) => Outcome::ok(""),
            Err(e) => fail(e),
        };
    }
    let dir = ctx.home.join("credentials");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(Error::io(dir.display(), e));
    }
    let main = dir.join("shit");
    for p in [main.clone(), ctx.home.join(".ssh").join("shit")] {
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        if let Err(e) = crate::config::store_db_credentials(&p, name, password, user) {
            return fail(e);
        }
    }
    match ctx.store() {
        Ok(store) => super::configwrapper::put_to(
            ctx,
            store.as_ref(),
            &main.to_string_lossy(),
            "credentials/shit",
            false,
        ),
        Err(e) => fail(e),
    }
}

/// ExtractConfigValue.sh KEY
pub fn extract_config_value(ctx: &Ctx, args: &[String]) -> i32 {
    finish(extract_one(ctx, arg(args, 0)))
}

/// ExtractConfigValues.sh KEY [stripped]
pub fn extract_config_values(ctx: &Ctx, args: &[String]) -> i32 {
    let file = ctx.settings_path();
    finish(extract_all(
        ctx,
        &file,
        arg(args, 0),
        arg(args, 1) == "stripped",
        drops_empty(ctx),
    ))
}

/// ExtractBuildStyleValues.sh KEY [stripped] (over buildstyles.dat)
pub fn extract_build_style_values(ctx: &Ctx, args: &[String]) -> i32 {
    let file = ctx.buildstyles_path();
    finish(extract_all(
        ctx,
        &file,
        arg(args, 0),
        arg(args, 1) == "stripped",
        ctx.gen.contract.style_drops_empty,
    ))
}

/// CheckConfigValue.sh PATTERN → 1 or 0
pub fn check_config_value(ctx: &Ctx, args: &[String]) -> i32 {
    finish(check_setting(ctx, arg(args, 0)))
}

/// CheckBuildStyle.sh PREFIX → 1 or 0
pub fn check_build_style(ctx: &Ctx, args: &[String]) -> i32 {
    finish(check_style(ctx, arg(args, 0)))
}

/// StoreConfigValue.sh KEY [VALUE]
pub fn store_config_value(ctx: &Ctx, args: &[String]) -> i32 {
    let file = ctx.settings_path();
    finish(store_in(ctx, &file, arg(args, 0), arg(args, 1)))
}

/// StoreConfigValueWebserver.sh KEY [VALUE] (autoscaler: the settings handed to new webservers)
pub fn store_config_value_webserver(ctx: &Ctx, args: &[String]) -> i32 {
    let file = ctx.settings_path_of(Machine::Webserver);
    finish(store_in(ctx, &file, arg(args, 0), arg(args, 1)))
}

/// StoreDatabaseCredentials.sh NAME PASSWORD USER
pub fn store_database_credentials(ctx: &Ctx, args: &[String]) -> i32 {
    finish(store_credentials(
        ctx,
        arg(args, 0),
        arg(args, 1),
        arg(args, 2),
    ))
}
