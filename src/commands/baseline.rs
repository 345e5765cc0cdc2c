//! `adt baseline check DIR|ARCHIVE|REPO`: the leak checker (new in adt-rs; legacy published
//! baselines unchecked). Collects every secret this machine holds ([`sources`]), searches the
//! target, prints `file:line: KIND` per finding (never a value) and exits 1 when anything is
//! found, 0 when clean, 2 on bad input or an unreadable target.
//!
//! `adt baseline scrub-tree SRC DST` and `adt baseline scrub-dump APP IN OUT` expose the
//! by-construction scrubbers (what was altered goes to stdout, never a value).
//!
//! The drop-ins `CreateWebrootBaseline.sh [identifier]` (webserver) and
//! `CreateDBBaseline.sh [identifier]` (database) make, check and push a baseline ([`crate::baseline::publish`]);
//! the checker runs before every push and a finding refuses it (status 1, findings on stdout).
//! Differences from legacy: status 1 on any failure (legacy exited 0 whatever happened).
//!
//! The deploy side: `ConfigureDBAccessByApplication.sh` (webserver) and `InstallApplicationDB.sh`
//! (database) run legacy's step (the kept `….adt-legacy` script), then, on a machine built from a
//! baseline, fill the salts and keys and set the placeholder administrator's password
//! ([`crate::baseline::deploy`]; README "At deploy time"). Legacy had neither token.
//!
//! The build machine's `helperscripts/PerformWebsiteBaseline.sh` / `PerformDatabaseBaseline.sh`
//! ask legacy's questions (or take flags) and run those two over SSH as root, the sudo password
//! on stdin (see `perform_baseline`).

use super::{out, parse_args, Ctx};
use crate::baseline::{check, dump, publish, tree, Application};
use std::path::PathBuf;

#[derive(clap::Parser)]
#[command(name = "adt baseline")]
pub(super) enum Baseline {
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
        // The password a deployment from a baseline handed over for its administrator.
        if let Ok(b) = store.get_bytes(ADMIN_KEY) {
            if let Some(v) = String::from_utf8_lossy(&b).lines().nth(1) {
                s.extra.push(check::Secret {
                    kind: "baseline administrator password".into(),
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
                    print_findings(&findings);
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
            &dump::Names {
                db_user,
                db_name,
                branding: Vec::new(),
            },
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

/// [`identifier`], checked before it goes anywhere; `None` (said on stderr) when there is none
/// or it is refused.
fn checked_identifier(ctx: &Ctx, args: &[String]) -> Option<String> {
    let Some(id) = identifier(ctx, args) else {
        eprintln!("{}: no baseline identifier given", ctx.prog);
        return None;
    };
    if let Err(e) = publish::check_identifier(&id) {
        ctx.report(&e);
        return None;
    }
    Some(id)
}

/// The application `APPLICATIONIDENTIFIER` names, if any.
fn application(settings: &str) -> Option<Application> {
    ["APPLICATIONIDENTIFIER", "APPLICATION"]
        .iter()
        .find_map(|k| Application::parse(&crate::config::value(settings, k)?))
}

/// The git provider the settings name and the checker a baseline must pass, in that order.
fn provider_and_checker(
    ctx: &Ctx,
    settings: &str,
) -> crate::Result<(Box<dyn crate::git::GitProvider>, check::Checker)> {
    let provider = crate::git::provider(&crate::git::RepoSettings::from_settings(settings))?;
    Ok((provider, checker(ctx)?))
}

/// The checker's findings on stdout, one a line (file:line: KIND, never a value), in one write.
fn print_findings<T: std::fmt::Display>(findings: &[T]) {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!("{f}\n"));
    }
    out(s.as_bytes());
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
            print_findings(&findings);
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

/// `CreateWebrootBaseline.sh [identifier]` (webserver): the webroot, scrubbed, branded, checked
/// and pushed to `<identifier>-webroot-sourcecode-baseline`.
pub fn create_webroot_baseline(ctx: &Ctx, args: &[String]) -> i32 {
    let Some(id) = checked_identifier(ctx, args) else {
        return 1;
    };
    let r = (|| {
        let settings = ctx.settings()?;
        let app = application(&settings);
        let (provider, checker) = provider_and_checker(ctx, &settings)?;
        let work = publish::Work::create(&ctx.home.join("backups").join(&id))?;
        publish::publish_webroot(
            &publish::Target {
                identifier: &id,
                provider: provider.as_ref(),
                checker: &checker,
                work: work.path(),
                branch: ctx.gen.baselines.branch,
            },
            &ctx.webroot(),
            app,
            &publish::Branding::from_settings(&settings),
            Some(&ctx.home.join("providerscripts/git/gitattributes")),
            &webroot_excludes(ctx)?,
        )
    })();
    render(ctx, r)
}

/// `CreateDBBaseline.sh [identifier]` (database): a consistent dump, scrubbed as a backup is
/// and then per application, branded, archived in 10 MiB parts, checked and pushed to
/// `<identifier>-db-baseline`.
pub fn create_db_baseline(ctx: &Ctx, args: &[String]) -> i32 {
    let Some(id) = checked_identifier(ctx, args) else {
        return 1;
    };
    let r = (|| {
        let settings = ctx.settings()?;
        let app = application(&settings)
        .ok_or_else(|| {
            crate::Error::Config(
                "APPLICATIONIDENTIFIER names no application (1 joomla, 2 wordpress, 3 drupal, 4 moodle)"
                    .into(),
            )
        })?;
        let conn = db_connection(ctx, &settings)?;
        let (provider, checker) = provider_and_checker(ctx, &settings)?;
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
                branch: ctx.gen.baselines.branch,
            },
            &dumped,
            app,
            &conn.name,
            &publish::Branding::from_settings(&settings),
            match ctx.gen.baselines.db {
                crate::layout::DbBaseline::SplitArchive => publish::DbLayout::SplitArchive,
                crate::layout::DbBaseline::PlainDump => publish::DbLayout::PlainDump {
                    postgres: conn.engine == crate::database::Engine::Postgres,
                },
            },
        )
    })();
    render(ctx, r)
}

/// The application database's connection: credentials where the generation keeps them (2022
/// the datastore's `credentials/shit`, 2025 the settings' DBNAME/DBPASSWORD/DBUSERNAME).
pub(super) fn db_connection(
    ctx: &Ctx,
    settings: &str,
) -> crate::Result<crate::database::Connection> {
    let creds = match ctx.gen.baselines.db_credentials {
        crate::layout::DbCredentials::StoreObject(key) => {
            let store = super::bounded(ctx.store())?;
            String::from_utf8_lossy(&store.get_bytes(key)?).into_owned()
        }
        // As the generation's ExtractConfigValue reads them (2025: everything after the first
        // colon, so a password may hold one).
        crate::layout::DbCredentials::Settings(n, p, u) => [n, p, u]
            .iter()
            .map(|k| {
                let v = crate::config::extract_value_by(settings, k, ctx.gen.extract_rule);
                format!("{}\n", v.lines().next().unwrap_or(""))
            })
            .collect(),
    };
    let my_ip = crate::ips::private_ip(ctx)?;
    crate::database::Connection::from_settings(settings, &creds, &my_ip)
}

/// The top-level webroot entries the generation's baselines leave out (2025: the
/// `EXCLUDE_FROM_BACKUP:` line of `runtime/application.dat`, `:`-separated).
fn webroot_excludes(ctx: &Ctx) -> crate::Result<Vec<String>> {
    let Some((file, key)) = ctx.gen.baselines.webroot_excludes else {
        return Ok(Vec::new());
    };
    let path = ctx.home.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(crate::Error::io(path.display(), e)),
    };
    let prefix = format!("{key}:");
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .flat_map(|v| v.split(':'))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect())
}

/// The build machine's side of a baseline: which machine, and what legacy says about it.
struct Side {
    /// Substring of the server names (`webserver`, `database`).
    token: &'static str,
    cloud_prompt: &'static str,
    build_prompt: &'static str,
    none_running: &'static str,
    which: &'static str,
    repo_suffix: &'static str,
    must_have: &'static str,
    script: &'static str,
    failed: &'static str,
}

const WEBSITE: Side = Side {
    token: "webserver",
    cloud_prompt: "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3)Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost",
    build_prompt: "What is the build Identifer for your build?",
    none_running: "There doesn't seem to be any webservers running",
    which: "Which webserver would you like to connect to?",
    repo_suffix: "webroot-sourcecode-baseline",
    must_have: "You must have a repository of name '<identifier>-webroot-sourcecode-baseline' available",
    script: "CreateWebrootBaseline.sh",
    failed: "Failed to make a baseline of your website, sorry... exiting",
};

const DATABASE: Side = Side {
    token: "database",
    cloud_prompt: "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost",
    build_prompt: "What is the build identifier you want to connect to?",
    none_running: "There doesn't seem to be any databases running",
    which: "Which Database server would you like to connect to?",
    repo_suffix: "db-baseline",
    must_have: "You MUST have a repository of name '<identifier>-db-baseline' available",
    script: "CreateDBBaseline.sh",
    failed: "Failed to make a baseline of your database, sorry... exiting",
};

/// PerformWebsiteBaseline.sh (build machine): legacy's prompts, then
/// `CreateWebrootBaseline.sh <identifier>` on the chosen webserver over SSH as root.
pub fn perform_website_baseline(ctx: &Ctx, args: &[String]) -> i32 {
    perform_baseline(ctx, args, &WEBSITE)
}

/// PerformDatabaseBaseline.sh (build machine): legacy's prompts, then
/// `CreateDBBaseline.sh <identifier>` on the chosen database over SSH as root.
pub fn perform_database_baseline(ctx: &Ctx, args: &[String]) -> i32 {
    perform_baseline(ctx, args, &DATABASE)
}

/// Legacy's prompts (each answer can be a flag instead: `--cloudhost NAME --build-identifier ID
/// --ip IP --key rsa|ecdsa --identifier ID --yes`), then the baseline script run remotely.
///
/// Differences from legacy: the sudo password goes on stdin, never on the remote command line
/// (legacy `echo PASSWORD | sudo -S`); the baseline identifier is checked before it reaches a
/// remote shell; the database helper asks for it on both key types (legacy's ECDSA branch
/// silently used BUILD_IDENTIFIER); a failed remote run exits 1 (legacy 0).
fn perform_baseline(ctx: &Ctx, args: &[String], side: &Side) -> i32 {
    use super::backup::{
        choose_build, choose_cloudhost, choose_key, choose_server, cloud_servers, say, Answers,
        HelperRemote,
    };
    let mut a = match Answers::new(args) {
        Ok(a) => a,
        Err(m) => {
            ctx.report(&crate::Error::Usage(m));
            return 2;
        }
    };
    let build_home = ctx.home.clone();
    let helpers = &crate::layout::G2022.contract.build_helpers;
    let Some(cloudhost) = choose_cloudhost(&mut a, side.cloud_prompt, helpers.cloudhosts) else {
        return 0;
    };
    let builds = super::build_choices(&build_home, &cloudhost, helpers.state);
    let build = choose_build(&mut a, &builds, side.build_prompt);
    if side.token == "webserver" {
        say(&format!(
            "Please insure you have an empty repository called: {build}-{} available with your git provider",
            side.repo_suffix
        ));
        say("Press <enter> when you are sure");
        if !a.yes() {
            a.read();
        }
    }
    let ip = match choose_server(
        ctx,
        &mut a,
        || cloud_servers(ctx, &cloudhost, side.token),
        None,
        side.none_running,
        side.which,
    ) {
        Ok(ip) => ip,
        Err(status) => return status,
    };
    let key_kind = choose_key(&mut a, side.token == "webserver");
    let alg = match key_kind.as_str() {
        "1" => "rsa",
        "2" => "ecdsa",
        _ => {
            say("Unrecognised selection, please select only 1 or 2");
            return 0;
        }
    };
    let Ok(host) = ip.parse::<std::net::IpAddr>() else {
        ctx.report(&crate::Error::Usage(format!("{ip:?} is not an IP address")));
        return 1;
    };
    let machine = HelperRemote::new(&build_home, &cloudhost, &build, alg, host);
    machine.confirm_repository(&mut a);
    let (user, remote) = (&machine.user, |cmd: &str, extra| machine.run(cmd, extra));
    let identifier = match a.flag("--identifier") {
        Some(i) => i.to_string(),
        None => {
            say(side.must_have);
            say("If you haven't got one please create one and then tell me the <identifier> part by entering it below:");
            a.read()
        }
    };
    // It goes into a remote shell command: only a repository-name-safe identifier.
    if let Err(e) = publish::check_identifier(&identifier) {
        ctx.report(&e);
        return 1;
    }
    say("OK, ready to create baseline - press enter to confirm");
    if !a.yes() {
        a.read();
    }
    let cmd = format!(
        "/home/{user}/providerscripts/git/{} {identifier}",
        side.script
    );
    let (ok, stdout) = remote(
        &cmd,
        crate::git::git_deadline() + crate::database::deadline(),
    );
    out(stdout.as_bytes());
    if ok {
        0
    } else {
        say(side.failed);
        1
    }
}

/// Whether this machine was built from a baseline (`BUILDARCHIVECHOICE:baseline`), by the
/// typed mode.
fn from_baseline(ctx: &Ctx, settings: &str) -> bool {
    crate::mode::Mode::from_settings(ctx.machine, settings).archive
        == crate::mode::Archive::Baseline
}

/// The kept legacy script (`<path>.adt-legacy`) run with `/bin/sh` and `args`; its status.
fn run_kept_legacy(ctx: &Ctx, path: &str, args: &[String]) -> crate::Result<i32> {
    let legacy = ctx
        .home
        .join(format!("{path}{}", crate::layout::install::LEGACY_SUFFIX));
    if !legacy.is_file() {
        return Err(crate::Error::Config(format!(
            "{} is missing: the legacy step is the legacy script's",
            legacy.display()
        )));
    }
    Ok(crate::process::Run::new("/bin/sh")
        .arg(&legacy)
        .args(args)
        .env("HOME", &ctx.home)
        .status()?
        .unwrap_or(1))
}

/// Set once no token is left after legacy configured the application (`runtime/
/// APPLICATION_DB_CONFIGURED`): later cron runs skip the walk.
const SECRETS_FILLED: &str = "runtime/ADT_BASELINE_SECRETS_FILLED";
/// The deployment's seed for the filled values (0600).
const SECRETS_SEED: &str = "runtime/.adt-baseline-seed";

/// `providerscripts/application/configuration/ConfigureDBAccessByApplication.sh` (webserver,
/// cron every minute): the kept legacy script writes the application's configuration; then,
/// on a machine built from a baseline, every `XXXSECRETXXX` of our baselines in the webroot,
/// `wp-config.php` beside it and `runtime/` gets its fresh value
/// ([`crate::baseline::deploy::fill_files`]: the same setting the same value in every file,
/// another deployment other values). Legacy's status is kept; a failure of ours is 1.
pub fn configure_db_access_by_application(ctx: &Ctx, args: &[String]) -> i32 {
    legacy_then_fill(ctx, "ConfigureDBAccessByApplication", args)
}

/// `application/InstallApplication.sh` (2025 webserver; ws.sh executes it): the kept legacy
/// script installs the webroot (for a baseline, a clone of APPLICATIONBASELINESOURCECODEREPOSITORY),
/// then the baseline's `XXXSECRETXXX` get their fresh values as in
/// [`configure_db_access_by_application`]. Legacy's status is kept; a failure of ours is 1.
pub fn install_application(ctx: &Ctx, args: &[String]) -> i32 {
    legacy_then_fill(ctx, "InstallApplication", args)
}

/// The kept legacy script of `command` (its path from the generation table) run as a child,
/// then [`fill_baseline_secrets`]; legacy's status unless ours failed (1).
fn legacy_then_fill(ctx: &Ctx, command: &str, args: &[String]) -> i32 {
    let status = match ctx
        .gen
        .scripts_for(ctx.machine)
        .find(|s| s.command == command)
    {
        Some(script) => run_kept_legacy(ctx, script.path, args),
        None => Err(crate::Error::Config(format!(
            "{command} is not a script of the {} generation's {}",
            ctx.gen.name,
            ctx.machine.name()
        ))),
    }
    .unwrap_or_else(|e| {
        ctx.report(&e);
        1
    });
    match fill_baseline_secrets(ctx) {
        Ok(()) => status,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

/// On a machine built from a baseline, every `XXXSECRETXXX` in the webroot, the `wp-config.php`
/// beside it and `runtime/` filled (see [`configure_db_access_by_application`]).
fn fill_baseline_secrets(ctx: &Ctx) -> crate::Result<()> {
    let settings = ctx.settings()?;
    if !from_baseline(ctx, &settings) || ctx.home.join(SECRETS_FILLED).exists() {
        return Ok(());
    }
    let web = ctx.webroot();
    let mut roots = vec![web.clone(), ctx.home.join("runtime")];
    if let Some(parent) = web.parent() {
        roots.push(parent.join("wp-config.php"));
    }
    let seed = crate::baseline::deploy::seed(&ctx.home.join(SECRETS_SEED))?;
    let filled = crate::baseline::deploy::fill_files(&roots, &seed)?;
    for (f, n) in &filled {
        out(format!("{}: {n} secrets set\n", f.display()).as_bytes());
    }
    if filled.is_empty() && ctx.home.join("runtime/APPLICATION_DB_CONFIGURED").exists() {
        crate::fsutil::write_atomic(&ctx.home.join(SECRETS_FILLED), b"", None)?;
    }
    Ok(())
}

/// Where the operator finds the baseline's administrator (config datastore; two lines, login
/// and password), beside `credentials/shit`, whose content legacy's build machine shows the
/// operator once at the end of a build.
pub const ADMIN_KEY: &str = "credentials/baselineadmin";

/// `applicationdb/InstallApplicationDB.sh [force]` (database; sourced by db.sh): the launcher
/// sources the kept legacy script as before (it imports BASELINEDBREPOSITORY), then runs this:
/// on a machine built from a baseline whose database holds our placeholder administrator, the
/// administrator gets the login `<BUILDIDENTIFIER>-webmaster` (legacy's name for the admin it
/// made) and a fresh random password, stored hashed in the application's scheme; login and
/// password go to the config datastore at [`ADMIN_KEY`] (never to argv, stdout or a log).
pub fn install_application_db(ctx: &Ctx, args: &[String]) -> i32 {
    // Where the launcher executes us (2025: db.sh executes the script), the kept legacy script
    // runs first, as a child; where it sources the legacy script itself (2022), it has run.
    let mut status = 0;
    if let Some(script) = ctx
        .gen
        .scripts_for(ctx.machine)
        .find(|s| s.command == "InstallApplicationDB" && s.kind == crate::layout::Kind::Exec)
    {
        status = match run_kept_legacy(ctx, script.path, args) {
            Ok(s) => s,
            Err(e) => {
                ctx.report(&e);
                1
            }
        };
    }
    let r = (|| -> crate::Result<Option<String>> {
        let settings = ctx.settings()?;
        if !from_baseline(ctx, &settings) {
            return Ok(None);
        }
        let app = application(&settings).ok_or_else(|| {
            crate::Error::Config(
                "APPLICATIONIDENTIFIER or APPLICATION names no application (joomla, wordpress, drupal, moodle)"
                    .into(),
            )
        })?;
        let conn = db_connection(ctx, &settings)?;
        let store = super::bounded(ctx.store())?;
        let id = crate::config::value(&settings, "BUILDIDENTIFIER")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let login = if id.is_empty() {
            "webmaster".to_string()
        } else {
            format!("{id}-webmaster")
        };
        let work = check::private_tempdir()?;
        let Some(password) = crate::baseline::deploy::set_admin(&conn, work.path(), app, &login)?
        else {
            return Ok(None);
        };
        store.put_bytes(ADMIN_KEY, format!("{login}\n{password}\n").as_bytes())?;
        Ok(Some(login))
    })();
    match r {
        Ok(Some(login)) => {
            out(format!(
                "The baseline's administrator is {login}; its password is in the config datastore at {ADMIN_KEY}\n"
            )
            .as_bytes());
            status
        }
        Ok(None) => status,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
