//! The build machine's `helperscripts/PerformWebsiteBackup.sh` and
//! `helperscripts/PerformDatabaseBackup.sh`, both generations, as one flow: legacy's questions
//! (or flags), the chosen build's state where the generation keeps it
//! ([`crate::layout::BuildHelpers`]: `buildconfiguration/` in 2022, `runtimedata/` in 2025),
//! then the machine's backup script (`providerscripts/git/Backup.sh` in 2022,
//! `application/backupscripts/Backup.sh` on the 2025 webserver and database alike) run over SSH
//! as root, `<P> <build identifier>`, for each period chosen; for MANUAL the machine's
//! `/tmp/backup_archive/*.tar.gz` copied into `${BUILD_HOME}/manualbackups`. What differs
//! between the two helpers (wording, server names, failure line) is a [`Side`].
//!
//! Flags answer the questions: `--cloudhost NAME|N --build-identifier ID --ip IP --key
//! rsa|ecdsa --period P [--period P…] --yes` (P: a number of the question or HOURLY, DAILY,
//! WEEKLY, MONTHLY, BIMONTHLY, MANUAL, ALL; `--yes` skips the waits for enter and answers Y to
//! the 2025 active cloud host question; in 2025 `--key` overrides ALGORITHM). A bad flag is one
//! line on stderr, status 2.
//!
//! 2025 (wintersys-projects/adt-build-machine-scripts as of March 2026; earlier 2025 versions
//! ran `providerscripts/backupscripts/Backup.sh`, named the host key files `…-keys` and showed the
//! repository settings first; the scripts as they stand win): BUILD_HOME from
//! `/home/buildhome.dat`; the cloud hosts without AWS; a chosen cloud host other than
//! `runtimedata/ACTIVE_CLOUDHOST` is offered as the active one (Y|y); the build is written to
//! `runtimedata/ACTIVE_BUILD_IDENTIFIER`; servers named `ws-<REGION>-<id>` / `db-<REGION>-<id>`
//! listed by the build machine's `providerscripts/server/GetServerIPAddresses.sh` (or
//! `GetServerPrivateIPAddresses.sh` when the build has `VPC-ACTIVE`; `VULTR_API_KEY` from its
//! `TOKEN` on Vultr); REGION, SSH_PORT and ALGORITHM as GetVariableValue.sh reads them (the
//! *active* build's `build_environment`; ALGORITHM `rsa` when the chosen build has none); the
//! server user and password from `runtimedata/<cloudhost>/<id>/credentials/`; the host key that
//! `ssh-keyscan` records in `runtimedata/<cloudhost>/<id>/keys/webserver_<ip>keys` (database:
//! `database_<ip>keys`) checked strictly; the key `…/keys/id_<ALGORITHM>_AGILE_DEPLOYMENT_BUILD_KEY_<id>`;
//! no key question and no repository settings shown; BUILDIDENTIFIER read by the machine's
//! `utilities/config/ExtractConfigValue.sh`.
//!
//! 2022 (thedigitaloctopus/agile-infrastructure-build-client-scripts): BUILD_HOME above
//! `helperscripts/` (or `buildconfiguration/buildhome`); the RSA/ECDSA question; the machine's
//! repository settings shown before the build identifier; webservers found by the cloud's
//! server list (`webserver` in the name), databases by `GetServerIPAddresses.sh`; host keys
//! not checked (legacy's
//! `UserKnownHostsFile=/dev/null`); legacy's ECDSA branch does not wait for enter before the
//! backup.
//!
//! Differences from legacy, both generations: the sudo password goes to the remote sudo on
//! stdin, never on the remote command line (legacy `echo PASSWORD | sudo -S`, visible in `ps`);
//! no `sleep 5` before each period; `--ip` must be one of the servers listed (the 2022 webserver
//! helper, which finds them in the cloud's list, takes it as it is); a failed remote backup is one
//! line on stderr and status 1 (legacy exited 0; the database helper also prints
//! "Failed to make a backup of your database, sorry... exiting" and stops); no server chosen
//! prints "No webserver was chosen. Exiting ...." (database: "No database server …") and is
//! status 1 (legacy went on with an empty address); a build identifier or remote
//! BUILDIDENTIFIER that is not a plain name, a machine whose
//! BUILDIDENTIFIER cannot be read over SSH (down, or in 2025 a host key other than the recorded
//! one), or a build without a server user or SSH port is one line on stderr and status 1, with
//! no backup run (legacy ran ssh with the empty values);
//! legacy's broken `/bin/echo"####…"` line before "BACKUP STORED IN" prints nothing here either;
//! MANUAL creates `manualbackups/` when it is missing (legacy's first run also left an empty
//! `manualbackups/backup.<pid>` in it).

use super::backup::{
    choose_build, choose_cloudhost, choose_key, choose_server, cloud_servers, key_alg, say,
    Answers, HelperRemote,
};
use super::Ctx;
use crate::error::{Error, Result};
use crate::layout::BuildState;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a 2022 helper finds its build's servers.
pub(super) enum Servers2022 {
    /// The cloud's server list, names holding this token (public IPs).
    Cloud(&'static str),
    /// The build machine's `providerscripts/server/GetServerIPAddresses.sh <token> <cloudhost>`,
    /// the token per cloud host.
    Script(&'static [(&'static str, &'static str)]),
}

/// What is particular to one of the two helpers.
pub(super) struct Side {
    /// The helper's own file name (it must be run from its directory, as legacy's).
    script: &'static str,
    /// The cloud host question, with legacy's ` 5)AWS` (left out where the generation offers
    /// no AWS).
    cloud_prompt: &'static str,
    build_prompt: &'static str,
    /// The servers' name in the line refusing an `--ip` that is not one of them.
    servers: &'static str,
    none_running: &'static str,
    which: &'static str,
    none_chosen: &'static str,
    /// The line before each period's backup, `{P}` the period.
    making: &'static str,
    /// The key question's "if you are not sure" line (2022).
    key_hint: bool,
    servers_2022: Servers2022,
    /// The 2025 server name's first part (`ws`, `db`).
    prefix_2025: &'static str,
    /// The 2025 host key file's name before `<ip>keys`.
    host_keys_2025: &'static str,
    /// Legacy's line when the remote backup failed, after which the helper stops (None: go on
    /// with the next period).
    failed: Option<&'static str>,
    deadline: fn() -> Duration,
}

pub(super) const WEBSITE: Side = Side {
    script: "PerformWebsiteBackup.sh",
    cloud_prompt: "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3)Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost",
    build_prompt: "What is the build Identifer for your build?",
    servers: "webservers",
    none_running: "There doesn't seem to be any webservers running",
    which: "Which webserver would you like to connect to?",
    none_chosen: "No webserver was chosen. Exiting ....",
    making: "Making backup for {P} periodicity",
    key_hint: true,
    servers_2022: Servers2022::Cloud("webserver"),
    prefix_2025: "ws",
    host_keys_2025: "webserver_",
    failed: None,
    deadline: crate::git::git_deadline,
};

pub(super) const DATABASE: Side = Side {
    script: "PerformDatabaseBackup.sh",
    cloud_prompt: "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost",
    build_prompt: "What is the build identifier you want to connect to?",
    servers: "databases",
    none_running: "There doesn't seem to be any databases running",
    which: "Which Database server would you like to connect to?",
    none_chosen: "No database server was chosen. Exiting ....",
    making: "Making database backup for {P} backup",
    key_hint: false,
    servers_2022: Servers2022::Script(&[
        ("digitalocean", "database.*"),
        ("exoscale", "database"),
        ("linode", "database"),
        ("vultr", "database"),
        ("aws", "*database*"),
    ]),
    prefix_2025: "db",
    host_keys_2025: "database_",
    failed: Some("Failed to make a backup of your database, sorry... exiting"),
    deadline: crate::database::deadline,
};

/// The period question's words, in its numbering (7, ALL, is the first five).
const PERIOD_WORDS: [&str; 7] = [
    "HOURLY",
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "BIMONTHLY",
    "MANUAL",
    "ALL",
];

/// The periods one answer to the period question names.
fn periods_of(answer: &str) -> Option<Vec<&'static str>> {
    let answer = answer.trim();
    let i = match answer.parse::<usize>() {
        Ok(n) if (1..=PERIOD_WORDS.len()).contains(&n) => n - 1,
        Ok(_) => return None,
        Err(_) => PERIOD_WORDS.iter().position(|w| *w == answer)?,
    };
    Some(match i {
        6 => PERIOD_WORDS[..5].to_vec(),
        i => vec![PERIOD_WORDS[i]],
    })
}

/// The periods to back up: `--period` (each one; a bad one ends the run), else legacy's
/// question, asked again until the answer is one of its choices. None: no valid answer.
fn choose_periods(a: &mut Answers) -> Option<Vec<&'static str>> {
    const AGAIN: &str = "Sorry, that's not a valid selection, please try again";
    if let Some(given) = a.flags.get("--period").cloned() {
        let mut all = Vec::new();
        for p in given {
            match periods_of(p) {
                Some(ps) => all.extend(ps),
                None => {
                    say(AGAIN);
                    return None;
                }
            }
        }
        return Some(all);
    }
    say("Which periodicity of backup do you want to make, 1) HOURLY 2)DAILY 3) WEEKLY 4)MONTHLY 5)BIMONTHLY 6)MANUAL 7)ALL");
    say("Please enter one of 1,2,3,4,5,6,7");
    loop {
        let answer = a.read_line()?;
        if let Some(ps) = periods_of(&answer) {
            return Some(ps);
        }
        say(AGAIN);
    }
}

/// A name that may go into a path and a remote command line as it is.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !s.starts_with('.')
}

/// The 2022 BUILD_HOME: `../buildconfiguration/buildhome` when it names one, else the
/// directory above `helperscripts/` (legacy's `pwd` without `/helper…`).
fn build_home_2022(cwd: &Path) -> PathBuf {
    std::fs::read_to_string(cwd.join("../buildconfiguration/buildhome"))
        .ok()
        .map(|s| PathBuf::from(s.trim()))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| cwd.parent().unwrap_or(cwd).to_path_buf())
}

/// The IPs a helper offers: the output of one of the build machine's server listers.
fn lister(
    build_home: &Path,
    script: &str,
    args: &[&str],
    vultr_key: Option<String>,
) -> Result<Vec<String>> {
    let mut run = crate::process::Run::new("/bin/sh")
        .arg(build_home.join("providerscripts/server").join(script))
        .args(args)
        .env("BUILD_HOME", build_home)
        .deadline(Duration::from_secs(120));
    if let Some(k) = vultr_key {
        run = run.env("VULTR_API_KEY", k);
    }
    Ok(run
        .output()?
        .stdout
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// The servers of build `id` on `cloudhost` that the helper offers, as the generation finds
/// them.
fn list_servers(
    ctx: &Ctx,
    state: BuildState,
    side: &Side,
    build_home: &Path,
    cloudhost: &str,
    id: &str,
) -> Result<Vec<String>> {
    match (state, &side.servers_2022) {
        (BuildState::BuildConfiguration2022, Servers2022::Cloud(token)) => {
            cloud_servers(ctx, cloudhost, token)
        }
        (BuildState::BuildConfiguration2022, Servers2022::Script(tokens)) => {
            let token = tokens
                .iter()
                .find(|(c, _)| *c == cloudhost)
                .map(|(_, t)| *t)
                .unwrap_or_default();
            lister(
                build_home,
                "GetServerIPAddresses.sh",
                &[token, cloudhost],
                None,
            )
        }
        (BuildState::RuntimeData2025, _) => {
            let dir = build_home.join("runtimedata").join(cloudhost).join(id);
            let region = super::build_variable_2025(build_home, "REGION");
            let token = format!("{}-{region}-{id}", side.prefix_2025);
            let script = if dir.join("VPC-ACTIVE").exists() {
                "GetServerPrivateIPAddresses.sh"
            } else {
                "GetServerIPAddresses.sh"
            };
            let vultr = (cloudhost == "vultr").then(|| super::first_line(&dir.join("TOKEN")));
            lister(
                build_home,
                script,
                &[&token, cloudhost, &build_home.to_string_lossy()],
                vultr,
            )
        }
    }
}

/// 2025: offer `cloudhost` as the active cloud host when it is not (legacy's Y|y question).
fn offer_active_cloudhost(a: &mut Answers, rt: &Path, cloudhost: &str) -> Result<()> {
    if cloudhost == super::first_line(&rt.join("ACTIVE_CLOUDHOST")) {
        return Ok(());
    }
    say("Your chosen cloudhost provider is different to your active cloudhost provider on this build machine");
    say("Do you want to set your chosen cloudhost to be the active cloudhost provider (Y|y)");
    if a.yes() || matches!(a.read().as_str(), "Y" | "y") {
        crate::fsutil::write_atomic(
            &rt.join("ACTIVE_CLOUDHOST"),
            format!("{cloudhost}\n").as_bytes(),
            None,
        )?;
    }
    Ok(())
}

/// `ssh-keyscan [-p port] host`: the host key lines it prints.
fn keyscan(port: Option<u16>, host: std::net::IpAddr) -> String {
    let mut run = crate::process::Run::new("ssh-keyscan");
    if let Some(p) = port {
        run = run.args(["-p", &p.to_string()]);
    }
    run.arg(host.to_string())
        .deadline(Duration::from_secs(30))
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// The 2025 build `id`'s machine at `host`: its server user, the active build's SSH_PORT and
/// ALGORITHM, the build key, and the host key recorded by ssh-keyscan (scanned when not yet
/// recorded). None: no host key could be scanned (legacy's line printed, its file removed).
fn remote_2025(
    ctx: &Ctx,
    a: &Answers,
    build_home: &Path,
    cloudhost: &str,
    id: &str,
    host: std::net::IpAddr,
    side: &Side,
) -> Result<Option<HelperRemote>> {
    let dir = build_home.join("runtimedata").join(cloudhost).join(id);
    let creds = dir.join("credentials");
    let user = super::first_line(&creds.join("SERVERUSER"));
    let password = super::first_line(&creds.join("SERVERUSERPASSWORD"));
    if !plain(&user) {
        return Err(Error::Config(format!(
            "{} has no server user",
            creds.join("SERVERUSER").display()
        )));
    }
    let port_text = super::build_variable_2025(build_home, "SSH_PORT");
    let port = port_text.parse::<u16>().map_err(|_| {
        Error::Config(format!(
            "SSH_PORT {port_text:?} of the active build's build_environment is not a port"
        ))
    })?;
    let keys = dir.join("keys");
    let known = keys.join(format!("{}{host}keys", side.host_keys_2025));
    if !known.is_file() {
        let mut scanned = keyscan(Some(port), host);
        if scanned.trim().is_empty() {
            scanned = keyscan(None, host);
        }
        std::fs::create_dir_all(&keys).map_err(|e| Error::io(keys.display(), e))?;
        std::fs::write(&known, scanned).map_err(|e| Error::io(known.display(), e))?;
    }
    if std::fs::read_to_string(&known)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        say("Couldn't initiate ssh key scan please try again (make sure the machine is online");
        let _ = std::fs::remove_file(&known);
        return Ok(None);
    }
    let alg = match a.flag("--key").and_then(key_alg) {
        Some(k) => k.to_string(),
        None if dir.join("build_environment").is_file() => {
            super::build_variable_2025(build_home, "ALGORITHM")
        }
        None => "rsa".to_string(),
    };
    if !plain(&alg) {
        return Err(Error::Config(format!(
            "ALGORITHM {alg:?} of the active build's build_environment is not a key type"
        )));
    }
    Ok(Some(HelperRemote::with(
        host,
        (user, password),
        port,
        keys.join(format!("id_{alg}_AGILE_DEPLOYMENT_BUILD_KEY_{id}")),
        Some(known),
        ctx.gen.readers_dir,
    )))
}

/// One of the two helpers, by the generation's [`crate::layout::BuildHelpers`].
pub(super) fn perform_backup(ctx: &Ctx, args: &[String], side: &Side) -> i32 {
    let mut a = match Answers::new(args) {
        Ok(a) => a,
        Err(m) => {
            ctx.report(&Error::Usage(m));
            return 2;
        }
    };
    match perform(ctx, &mut a, side) {
        Ok(status) => status,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}

fn perform(ctx: &Ctx, a: &mut Answers, side: &Side) -> Result<i32> {
    let helpers = ctx.gen.contract.build_helpers;
    let is_2025 = helpers.state == BuildState::RuntimeData2025;
    let cwd = std::env::current_dir().unwrap_or_default();
    if !cwd.join(side.script).exists() {
        say("Sorry, this script has to be run from the helperscripts subdirectory");
        return Ok(0);
    }
    let build_home = match helpers.state {
        BuildState::BuildConfiguration2022 => build_home_2022(&cwd),
        BuildState::RuntimeData2025 => super::build_home_2025(),
    };
    if build_home.as_os_str().is_empty() {
        return Err(Error::Config(
            "no BUILD_HOME: /home/buildhome.dat (ADT_BUILDHOME_FILE) is missing or empty".into(),
        ));
    }
    let rt = build_home.join("runtimedata");
    let prompt = if helpers.cloudhosts.contains(&"aws") {
        side.cloud_prompt.to_string()
    } else {
        side.cloud_prompt.replace(" 5)AWS", "")
    };
    let Some(cloudhost) = choose_cloudhost(a, &prompt, helpers.cloudhosts) else {
        return Ok(0);
    };
    if is_2025 {
        offer_active_cloudhost(a, &rt, &cloudhost)?;
    }
    let builds = super::build_choices(&build_home, &cloudhost, helpers.state);
    let id = choose_build(a, &builds, side.build_prompt);
    if !plain(&id) {
        return Err(Error::Usage(format!("{id:?} is not a build identifier")));
    }
    if is_2025 {
        crate::fsutil::write_atomic(
            &rt.join("ACTIVE_BUILD_IDENTIFIER"),
            format!("{id}\n").as_bytes(),
            None,
        )?;
    }
    let ip = match choose_server(
        ctx,
        a,
        || list_servers(ctx, helpers.state, side, &build_home, &cloudhost, &id),
        // `--ip` is checked against the servers listed, except where the 2022 webserver
        // helper finds them in the cloud's list (it took `--ip` as it is).
        match (helpers.state, &side.servers_2022) {
            (BuildState::BuildConfiguration2022, Servers2022::Cloud(_)) => None,
            _ => Some(side.servers),
        },
        side.none_running,
        side.which,
    ) {
        Ok(ip) => ip,
        Err(status) => return Ok(status),
    };
    if ip.is_empty() {
        say(side.none_chosen);
        return Ok(1);
    }
    let host: std::net::IpAddr = ip
        .parse()
        .map_err(|_| Error::Usage(format!("{ip:?} is not an IP address")))?;
    let key_answer = (!is_2025).then(|| choose_key(a, side.key_hint));
    let Some(periods) = choose_periods(a) else {
        return Ok(1);
    };
    if periods.contains(&"MANUAL") {
        let dir = build_home.join("manualbackups");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
    }
    let (machine, wait) = match &key_answer {
        Some(answer) => {
            let Some(alg) = key_alg(answer) else {
                say("Unrecognised selection, please select only 1 or 2");
                return Ok(0);
            };
            let m = HelperRemote::new(&build_home, &cloudhost, &id, alg, host);
            if !plain(&m.user) {
                return Err(Error::Config(format!(
                    "build {id} on {cloudhost} has no SERVERUSER in {}",
                    build_home.join("buildconfiguration").display()
                )));
            }
            m.confirm_repository(a);
            // Legacy's ECDSA branch does not wait for enter before the backup.
            (m, alg == "rsa")
        }
        None => match remote_2025(ctx, a, &build_home, &cloudhost, &id, host, side)? {
            Some(m) => (m, true),
            None => return Ok(0),
        },
    };
    let (reached, remote_id) = machine.value_run("BUILDIDENTIFIER");
    let remote_id = remote_id.trim().to_string();
    say(&format!("Build identifier is set to: {remote_id}"));
    say("OK, ready to create backup - press enter to confirm");
    if wait && !a.yes() {
        a.read();
    }
    if !reached {
        let hint = match &machine.target.known_hosts {
            Some(f) => format!(" (down, or its host key is not the one in {})", f.display()),
            None => String::new(),
        };
        return Err(Error::Remote(format!(
            "cannot read BUILDIDENTIFIER on {ip} over SSH{hint}; no backup taken"
        )));
    }
    if !plain(&remote_id) {
        return Err(Error::Remote(format!(
            "{ip} gave {remote_id:?} as its BUILDIDENTIFIER; no backup taken"
        )));
    }
    let mut status = 0;
    for p in &periods {
        say(&side.making.replace("{P}", p));
        let cmd = format!(
            "/home/{}/{} {p} {remote_id}",
            machine.user, helpers.backup_script
        );
        let (ok, printed) = machine.run(&cmd, (side.deadline)());
        // What the machine's backup printed reaches the operator, as legacy's ssh let it.
        super::out(printed.as_bytes());
        if !ok {
            ctx.report(&Error::Remote(format!("the {p} backup on {ip} failed")));
            status = 1;
            if let Some(line) = side.failed {
                say(line);
                return Ok(1);
            }
        }
    }
    if periods.last() == Some(&"MANUAL") {
        let into = build_home.join("manualbackups");
        let copied = crate::process::scp_from(
            host,
            &machine.target,
            "/tmp/backup_archive/*.tar.gz",
            &into,
            crate::git::git_deadline(),
        );
        if !copied.as_ref().is_ok_and(|o| o.success()) {
            ctx.report(&Error::Remote(format!(
                "cannot copy the manual archive from {ip}"
            )));
            status = 1;
        }
        say(&format!("BACKUP STORED IN {}", into.display()));
        say("#####################################################################");
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_answers() {
        assert_eq!(periods_of("2"), Some(vec!["DAILY"]));
        assert_eq!(periods_of(" DAILY "), Some(vec!["DAILY"]));
        assert_eq!(periods_of("6"), Some(vec!["MANUAL"]));
        assert_eq!(periods_of("MANUAL"), Some(vec!["MANUAL"]));
        assert_eq!(
            periods_of("7"),
            Some(vec!["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "BIMONTHLY"])
        );
        assert_eq!(periods_of("ALL").map(|p| p.len()), Some(5));
        for bad in ["", "0", "8", "1 2", "daily", "SHUTDOWN"] {
            assert_eq!(periods_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn plain_names_only() {
        for ok in ["acme1", "prod-1", "a_b", "x.y"] {
            assert!(plain(ok), "{ok}");
        }
        for bad in ["", "a b", "a;b", "$(x)", "../x", ".x", "a/b"] {
            assert!(!plain(bad), "{bad}");
        }
    }

    #[test]
    fn the_2025_cloud_questions_drop_aws() {
        for side in [&WEBSITE, &DATABASE] {
            assert!(side.cloud_prompt.contains(" 5)AWS. Please"));
            let p = side.cloud_prompt.replace(" 5)AWS", "");
            assert!(p.contains("4)Vultr. Please Enter"), "{p}");
        }
    }
}
