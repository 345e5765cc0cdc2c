//! `adt baseline check DIR|ARCHIVE|REPO`: the leak checker (new in adt-rs; legacy published
//! baselines unchecked). Collects every secret this machine holds ([`sources`]), searches the
//! target, prints `file:line: KIND` per finding (never a value) and exits 1 when anything is
//! found, 0 when clean, 2 on bad input or an unreadable target.
//!
//! `adt baseline scrub-tree SRC DST` and `adt baseline scrub-dump APP IN OUT` expose the
//! by-construction scrubbers (what was altered goes to stdout, never a value).

use super::{out, parse_args, Ctx};
use crate::baseline::{check, dump, tree, Application};
use std::path::PathBuf;

#[derive(clap::Parser)]
#[command(name = "adt baseline")]
enum Baseline {
    /// Search a directory, archive or git repository for every secret this machine holds.
    Check {
        /// Extra settings-style files (`KEY:value`) whose credential values count too.
        #[arg(long = "settings", value_name = "FILE")]
        settings: Vec<PathBuf>,
        /// Extra application config files (PHP or `.env`) whose secrets count too.
        #[arg(long = "app-config", value_name = "FILE")]
        app_configs: Vec<PathBuf>,
        /// Only the generic patterns and the files given, not this machine's own secrets.
        #[arg(long)]
        no_machine: bool,
        /// The directory, archive (tar, tar.gz) or repository (path or URL) to check.
        target: String,
    },
    /// Copy a webroot into DST with config files scrubbed and private files left out.
    ScrubTree {
        /// joomla, wordpress, drupal, moodle (or APPLICATIONIDENTIFIER 1-4).
        #[arg(long, value_parser = app)]
        application: Option<Application>,
        src: PathBuf,
        dst: PathBuf,
    },
    /// Rewrite a SQL dump (mysqldump or pg_dump plain) for APPLICATION into OUT.
    ScrubDump {
        /// The database user, replaced by `XXXXXXXXXX` as the legacy DB baseline did.
        #[arg(long, value_name = "USER")]
        db_user: Option<String>,
        /// The database name, replaced by `XXXDATABASEXXX`.
        #[arg(long, value_name = "NAME")]
        db_name: Option<String>,
        #[arg(value_parser = app)]
        application: Application,
        input: PathBuf,
        output: PathBuf,
    },
}

fn app(s: &str) -> std::result::Result<Application, String> {
    Application::parse(s).ok_or_else(|| format!("unknown application {s:?}"))
}

/// This machine's secrets: its settings files, database credentials, s3cmd config, SSH
/// private keys and the application's live config files.
pub fn sources(ctx: &Ctx) -> check::Sources {
    let home = &ctx.home;
    let settings_dir = home.join(ctx.gen.settings_dir);
    let mut s = check::Sources::default();
    if let Ok(rd) = std::fs::read_dir(&settings_dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().ends_with(".dat") {
                s.settings.push(e.path());
            }
        }
    }
    for p in ["credentials/shit", "runtime/credentials/shit"] {
        s.db_credentials.push(home.join(p));
    }
    s.s3cfg.push(ctx.gen.s3cfg_path(home));
    s.ssh_dirs.push(home.join(".ssh"));
    if let Some(h) = std::env::var_os("HOME") {
        s.ssh_dirs.push(PathBuf::from(&h).join(".ssh"));
        s.s3cfg.push(PathBuf::from(h).join(".s3cfg"));
    }
    let web = ctx.webroot();
    let parent = web.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let app_of = Application::parse(
        &ctx.settings()
            .ok()
            .and_then(|t| crate::config::value(&t, "APPLICATIONIDENTIFIER"))
            .unwrap_or_default(),
    );
    for (a, p) in [
        (Some(Application::WordPress), parent.join("wp-config.php")),
        (Some(Application::WordPress), web.join("wp-config.php")),
        (Some(Application::Joomla), web.join("configuration.php")),
        (
            Some(Application::Drupal),
            web.join("sites/default/settings.php"),
        ),
        (Some(Application::Moodle), web.join("config.php")),
        (Some(Application::Moodle), web.join("moodle/config.php")),
        (app_of, web.join(".env")),
    ] {
        if p.is_file() {
            s.app_configs.push((a, p));
        }
    }
    s
}

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let cmd = match parse_args::<Baseline>("adt baseline", args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    match cmd {
        Baseline::Check {
            settings,
            app_configs,
            no_machine,
            target,
        } => {
            let mut src = if no_machine {
                check::Sources::default()
            } else {
                sources(ctx)
            };
            src.settings.extend(settings);
            src.app_configs
                .extend(app_configs.into_iter().map(|p| (None, p)));
            match run_check(&src, &target) {
                Ok(findings) if findings.is_empty() => 0,
                Ok(findings) => {
                    let mut s = String::new();
                    for f in &findings {
                        s.push_str(&format!("{f}\n"));
                    }
                    out(s.as_bytes());
                    eprintln!(
                        "{}: {} possible secret(s) in {target}; it must not be published",
                        ctx.prog,
                        findings.len()
                    );
                    1
                }
                Err(e) => {
                    ctx.report(&e);
                    2
                }
            }
        }
        Baseline::ScrubTree {
            application,
            src,
            dst,
        } => match tree::copy_scrubbed(&src, &dst, application) {
            Ok(r) => {
                out(r.render().as_bytes());
                0
            }
            Err(e) => {
                ctx.report(&e);
                1
            }
        },
        Baseline::ScrubDump {
            db_user,
            db_name,
            application,
            input,
            output,
        } => match dump::scrub_file(
            application,
            &dump::Names { db_user, db_name },
            &input,
            &output,
        ) {
            Ok(r) => {
                out(r.render().as_bytes());
                0
            }
            Err(e) => {
                ctx.report(&e);
                1
            }
        },
    }
}

/// Collect the secrets and check the target.
pub fn run_check(src: &check::Sources, target: &str) -> crate::Result<Vec<check::Finding>> {
    let secrets = check::collect(src)?;
    let checker = check::Checker::new(&secrets)?;
    check::check_target(&checker, target)
}
