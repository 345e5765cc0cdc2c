//! `adt baseline check DIR|ARCHIVE|REPO`: the leak checker (new in adt-rs; legacy published
//! baselines unchecked). Collects every secret this machine holds ([`sources`]), searches the
//! target, prints `file:line: KIND` per finding (never a value) and exits 1 when anything is
//! found, 0 when clean, 2 on bad input or an unreadable target.
//!
//! `adt baseline scrub-tree SRC DST` and `adt baseline scrub-dump APP IN OUT` expose the
//! by-construction scrubbers (what was altered goes to stdout, never a value).
//!
//! The drop-ins `CreateWebrootBaseline.sh [identifier]` (webserver) and `CreateDBBaseline.sh
//! [identifier]` (database) make, check and push a baseline ([`crate::baseline::publish`]);
//! the checker runs before every push and a finding refuses it (status 1, findings on stdout).
//! Differences from legacy: status 1 on any failure (legacy exited 0 whatever happened); the
//! build machine's `PerformWebsiteBaseline.sh` / `PerformDatabaseBaseline.sh` are not taken
//! over yet (they stay legacy and call these over SSH).

use super::{out, parse_args, Ctx};
use crate::baseline::{check, dump, publish, tree, Application};
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
    /// At deploy time: each XXXSECRETXXX in the files given replaced by a fresh random value.
    FillSecrets {
        #[arg(required = true)]
        files: Vec<PathBuf>,
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

/// This machine's secrets: its settings files, database credentials (local files and the
/// datastore's object), s3cmd config, SSH private keys and the application's live config files.
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
    // The database credentials as the datastore holds them (best effort: without a reachable
    // store the live config files still name them).
    if let Ok(store) = super::bounded(ctx.store()) {
        if let Ok(b) = store.get_bytes("credentials/shit") {
            let text = String::from_utf8_lossy(&b).into_owned();
            for (kind, v) in ["database name", "database password", "database user"]
                .iter()
                .zip(text.lines())
            {
                s.extra.push(check::Secret {
                    kind: kind.to_string(),
                    value: v.to_string(),
                });
            }
        }
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
            // A private repository is read with the settings' git credentials, if any.
            let creds = ctx.settings().ok().and_then(|t| {
                crate::git::provider(&crate::git::RepoSettings::from_settings(&t))
                    .ok()
                    .and_then(|p| p.credentials())
            });
            match run_check(&src, &target, creds.as_ref()) {
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
        Baseline::FillSecrets { files } => {
            for f in &files {
                let r = std::fs::read_to_string(f)
                    .map_err(|e| crate::Error::io(f.display(), e))
                    .and_then(|t| crate::baseline::php::fill_secrets(&t))
                    .and_then(|(t, n)| {
                        // The file keeps its mode (the web server reads it).
                        use std::os::unix::fs::PermissionsExt;
                        let mode = std::fs::metadata(f)
                            .map(|m| m.permissions().mode() & 0o7777)
                            .map_err(|e| crate::Error::io(f.display(), e))?;
                        crate::fsutil::write_atomic(f, t.as_bytes(), Some(mode)).map(|_| n)
                    });
                match r {
                    Ok(n) => out(format!("{}: {n} secrets set\n", f.display()).as_bytes()),
                    Err(e) => {
                        ctx.report(&e);
                        return 1;
                    }
                }
            }
            0
        }
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
pub fn run_check(
    src: &check::Sources,
    target: &str,
    creds: Option<&crate::git::Credentials>,
) -> crate::Result<Vec<check::Finding>> {
    let secrets = check::collect(src)?;
    let checker = check::Checker::new(&secrets)?;
    check::check_target(&checker, target, creds)
}

/// The identifier: the first argument, else one line read from stdin (legacy prompted for it).
fn identifier(ctx: &Ctx, args: &[String]) -> Option<String> {
    let id = super::arg(args, 0).to_string();
    if !id.is_empty() {
        return Some(id);
    }
    eprintln!("{}: please enter an identifier for your baseline", ctx.prog);
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    let id = line.trim().to_string();
    (!id.is_empty()).then_some(id)
}

/// Print what publishing did: on success what was altered and where it went (status 0); on
/// refusal each finding (file:line: KIND, never a value) and status 1.
fn render(ctx: &Ctx, r: crate::Result<publish::Published>) -> i32 {
    match r {
        Ok(publish::Published::Pushed {
            repo,
            pushed,
            altered,
        }) => {
            out(format!("{altered}pushed {repo} (commit {})\n", pushed.commit).as_bytes());
            0
        }
        Ok(publish::Published::Refused(findings)) => {
            let mut s = String::new();
            for f in &findings {
                s.push_str(&format!("{f}\n"));
            }
            out(s.as_bytes());
            eprintln!(
                "{}: refusing to publish: {} possible secret(s) remain in the baseline",
                ctx.prog,
                findings.len()
            );
            1
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

fn checker(ctx: &Ctx) -> crate::Result<check::Checker> {
    check::Checker::new(&check::collect(&sources(ctx))?)
}

/// CreateWebrootBaseline.sh [identifier] (webserver): the webroot, scrubbed, branded, checked
/// and pushed to `<identifier>-webroot-sourcecode-baseline`.
pub fn create_webroot_baseline(ctx: &Ctx, args: &[String]) -> i32 {
    let Some(id) = identifier(ctx, args) else {
        eprintln!("{}: no baseline identifier given", ctx.prog);
        return 1;
    };
    if let Err(e) = publish::check_identifier(&id) {
        ctx.report(&e);
        return 1;
    }
    let r = (|| {
        let settings = ctx.settings()?;
        let app = Application::parse(
            &crate::config::value(&settings, "APPLICATIONIDENTIFIER").unwrap_or_default(),
        );
        let provider = crate::git::provider(&crate::git::RepoSettings::from_settings(&settings))?;
        let checker = checker(ctx)?;
        let work = publish::Work::create(&ctx.home.join("backups").join(&id))?;
        publish::publish_webroot(
            &publish::Target {
                identifier: &id,
                provider: provider.as_ref(),
                checker: &checker,
                work: work.path(),
            },
            &ctx.webroot(),
            app,
            &publish::Branding::from_settings(&settings),
            Some(&ctx.home.join("providerscripts/git/gitattributes")),
        )
    })();
    render(ctx, r)
}

/// CreateDBBaseline.sh [identifier] (database): a consistent dump, scrubbed as a backup is
/// and then per application, branded, archived in 10 MiB parts, checked and pushed to
/// `<identifier>-db-baseline`.
pub fn create_db_baseline(ctx: &Ctx, args: &[String]) -> i32 {
    let Some(id) = identifier(ctx, args) else {
        eprintln!("{}: no baseline identifier given", ctx.prog);
        return 1;
    };
    if let Err(e) = publish::check_identifier(&id) {
        ctx.report(&e);
        return 1;
    }
    let r = (|| {
        let settings = ctx.settings()?;
        let app = Application::parse(
            &crate::config::value(&settings, "APPLICATIONIDENTIFIER").unwrap_or_default(),
        )
        .ok_or_else(|| {
            crate::Error::Config(
                "APPLICATIONIDENTIFIER names no application (1 joomla, 2 wordpress, 3 drupal, 4 moodle)"
                    .into(),
            )
        })?;
        let store = super::bounded(ctx.store())?;
        let creds = String::from_utf8_lossy(&store.get_bytes("credentials/shit")?).into_owned();
        let my_ip = crate::ips::get_ip(ctx)?;
        let conn = crate::database::Connection::from_settings(&settings, &creds, &my_ip)?;
        let provider = crate::git::provider(&crate::git::RepoSettings::from_settings(&settings))?;
        let checker = checker(ctx)?;
        let work = publish::Work::create(&ctx.home.join("backups").join(format!("{id}-db")))?;
        let dumped = work.path().join("dumped.sql");
        let ipmask = crate::config::value(&settings, "IPMASK").unwrap_or_default();
        crate::database::dump::dump(
            &conn,
            work.path(),
            &dumped,
            crate::database::scrub::Scrubber::for_backup(
                &conn.user,
                &ipmask,
                conn.engine == crate::database::Engine::MySql,
            ),
        )?;
        publish::publish_db(
            &publish::Target {
                identifier: &id,
                provider: provider.as_ref(),
                checker: &checker,
                work: work.path(),
            },
            &dumped,
            app,
            &conn.name,
            &publish::Branding::from_settings(&settings),
        )
    })();
    render(ctx, r)
}
