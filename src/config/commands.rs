//! The config readers and writers as legacy commands: stdout and exit status as the grep/awk/sed
//! pipelines of the 2022 scripts produced them.

use super::{check_value, extract_values, read_settings};
use crate::cli::{Ctx, Outcome};
use crate::error::Error;
use crate::home::Machine;
use std::path::Path;

/// ExtractConfigValue KEY (exit status: awk's, 0).
pub fn extract_config_value(ctx: &Ctx, key: &str) -> Outcome {
    if key.is_empty() {
        return Outcome::ok("");
    }
    match ctx.settings() {
        Ok(t) => Outcome::ok(super::extract_value_by(&t, key, ctx.gen.extract_rule)),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("")
        }
    }
}

/// ExtractConfigValues / ExtractBuildStyleValues KEY [stripped]. Without `stripped` the exit
/// status is grep's: 0 matched, 1 nothing matched, 2 unreadable file.
pub fn extract_config_values(ctx: &Ctx, file: &Path, key: &str, stripped: bool) -> Outcome {
    if key.is_empty() {
        return Outcome::ok("");
    }
    match read_settings(file) {
        Ok(t) => {
            let out = extract_values(&t, key, stripped);
            let status = if stripped || !out.is_empty() { 0 } else { 1 };
            Outcome {
                stdout: out,
                status,
            }
        }
        Err(e) => {
            ctx.report(&e);
            Outcome {
                stdout: String::new(),
                status: if stripped { 0 } else { 2 },
            }
        }
    }
}

/// CheckConfigValue PATTERN: `1`/`0`, exit 0.
pub fn check_config_value(ctx: &Ctx, pattern: &str) -> Outcome {
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
pub fn check_build_style(ctx: &Ctx, prefix: &str) -> Outcome {
    match read_settings(&ctx.buildstyles_path()) {
        Ok(t) => Outcome::ok(check_value_anchored(&t, prefix)),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("0\n")
        }
    }
}

fn check_value_anchored(text: &str, prefix: &str) -> String {
    let pat = super::bre::Pattern::new(&format!("^{prefix}"));
    if text.split_terminator('\n').any(|l| pat.is_match(l)) {
        "1\n".into()
    } else {
        "0\n".into()
    }
}

/// StoreConfigValue / StoreConfigValueWebserver KEY [VALUE] on `file`.
pub fn store_config_value(ctx: &Ctx, file: &Path, key: &str, value: &str) -> Outcome {
    let value = if value.is_empty() { None } else { Some(value) };
    if ctx.gen.store_needs_file && !file.is_file() {
        return Outcome::ok("");
    }
    let ws = (ctx.machine == Machine::Webserver || ctx.gen.store_needs_file)
        && file == ctx.settings_path();
    Outcome::from_result(ctx, super::store_value(file, key, value, ws).map(|()| ""))
}

/// StoreDatabaseCredentials NAME PASSWORD USER. Webserver: `${HOME}/shit`. Database:
/// `${HOME}/credentials/shit`, a copy in `${HOME}/.ssh/shit`, and the upload to
/// `credentials/shit`. Every copy is mode 0600.
pub fn store_database_credentials(ctx: &Ctx, name: &str, password: &str, user: &str) -> Outcome {
    let fail = |e: Error| {
        ctx.report(&e);
        Outcome {
            stdout: String::new(),
            status: 1,
        }
    };
    if ctx.machine != Machine::Database {
        return match super::store_db_credentials(&ctx.home.join("shit"), name, password, user) {
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
        if let Err(e) = super::store_db_credentials(&p, name, password, user) {
            return fail(e);
        }
    }
    match ctx.store() {
        Ok(store) => crate::datastore::commands::put(
            ctx,
            store.as_ref(),
            &main.to_string_lossy(),
            "credentials/shit",
            false,
        ),
        Err(e) => fail(e),
    }
}
