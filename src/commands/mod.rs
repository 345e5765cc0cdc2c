//! The command layer: the only code that knows argv positions, what goes to stdout and which
//! exit status a legacy caller expects. One file per legacy script family; each command reads
//! its arguments, calls the domain modules below with plain values, and renders their
//! `Result` the way the legacy script did.
//!
//! [`REGISTRY`] is the one list of commands: the front end dispatches on it, `adt --help`
//! prints it, and a test holds it against the generations' scripts (`crate::layout`), from
//! which the launchers and `compat/map-*.tsv` are generated.

pub mod access;
pub mod auth;
pub mod autoscaler;
pub mod backup;
pub mod backup_db;
pub mod baseline;
pub mod cli;
pub mod config_values;
pub mod configwrapper;
pub mod configwrapper_2025;
pub mod cron;
pub mod datastore;
pub mod dns;
pub mod doctor;
pub mod firewall;
pub mod fleet;
pub mod ip;
pub mod layout;
pub mod mode;
pub mod perform_backup;
pub mod scaling;
pub mod server;

use crate::error::{Error, Result};
use crate::home::Machine;
use crate::layout::Generation;
use crate::site::Site;
use std::io::Write;

/// What every command has: the machine it runs on ([`Site`], which domain code takes) and
/// the legacy script name its messages carry.
pub struct Ctx {
    pub site: Site,
    /// The program name used in error messages (the legacy script name).
    pub prog: String,
}

impl std::ops::Deref for Ctx {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

impl Ctx {
    pub fn new(prog: &str, machine: Option<Machine>, gen: Option<&'static Generation>) -> Ctx {
        Ctx {
            site: Site::from_env(machine, gen),
            prog: prog.to_string(),
        }
    }

    /// One clear line on stderr.
    pub fn report(&self, e: &Error) {
        eprintln!("{}: {e}", self.prog);
    }

    /// One clear line on stderr: the error, then what it meant (`; the firewall was left as
    /// it is`). The error keeps its own kind's words, said once.
    pub fn report_with(&self, e: &Error, meaning: &str) {
        eprintln!("{}: {e}; {meaning}", self.prog);
    }
}

/// Write to stdout, ignoring a closed pipe (`| head -1`).
pub fn out(bytes: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes);
    let _ = o.flush();
}

/// What a legacy command produced: its stdout and exit status (errors already on stderr).
pub struct Outcome {
    pub stdout: String,
    pub status: i32,
}

impl Outcome {
    /// A command's result as legacy callers see it: its stdout on success; on failure one
    /// clear line on stderr and status 1.
    pub fn from_result<S: Into<String>>(ctx: &Ctx, r: Result<S>) -> Outcome {
        match r {
            Ok(s) => Outcome::ok(s),
            Err(e) => {
                ctx.report(&e);
                Outcome::failed(1)
            }
        }
    }

    /// For scripts whose legacy version exits 0 whatever happens (the provider scripts): an
    /// error goes to stderr, stdout stays empty, the status is 0.
    pub fn from_legacy_result(ctx: &Ctx, r: Result<String>) -> Outcome {
        let mut o = Outcome::from_result(ctx, r);
        o.status = 0;
        o
    }

    pub fn ok(stdout: impl Into<String>) -> Outcome {
        Outcome {
            stdout: stdout.into(),
            status: 0,
        }
    }

    pub fn failed(status: i32) -> Outcome {
        Outcome {
            stdout: String::new(),
            status,
        }
    }
}

/// The legacy scripts' positional arguments: a missing one is the empty string.
pub fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or("")
}

/// The build identifiers a build machine's helper scripts offer for `cloudhost`, by the
/// generation's `state`: 2022, the names under `<build_home>/buildconfiguration/<cloudhost>/`
/// without the credentials entries; 2025, every name under `<build_home>/runtimedata/
/// <cloudhost>/`; sorted (an unreadable directory offers none).
pub fn build_choices(
    build_home: &std::path::Path,
    cloudhost: &str,
    state: crate::layout::BuildState,
) -> Vec<String> {
    use crate::layout::BuildState;
    let dir = match state {
        BuildState::BuildConfiguration2022 => "buildconfiguration",
        BuildState::RuntimeData2025 => "runtimedata",
    };
    let mut names: Vec<String> = std::fs::read_dir(build_home.join(dir).join(cloudhost))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| state == BuildState::RuntimeData2025 || !n.contains("credentials"))
        .collect();
    names.sort();
    names
}

/// The first line of a file, trimmed ("" when it cannot be read).
pub fn first_line(p: &std::path::Path) -> String {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_default()
}

/// A 2025 build machine's BUILD_HOME: the first line of `/home/buildhome.dat`
/// (`ADT_BUILDHOME_FILE` names another file).
pub fn build_home_2025() -> std::path::PathBuf {
    let file =
        std::env::var_os("ADT_BUILDHOME_FILE").unwrap_or_else(|| "/home/buildhome.dat".into());
    std::path::PathBuf::from(first_line(std::path::Path::new(&file)))
}

/// A 2025 build machine's `helperscripts/GetVariableValue.sh NAME`: the `NAME=` line of the
/// *active* build's `runtimedata/<ACTIVE_CLOUDHOST>/<ACTIVE_BUILD_IDENTIFIER>/build_environment`,
/// quotes removed ("" when there is none).
pub fn build_variable_2025(build_home: &std::path::Path, name: &str) -> String {
    let rt = build_home.join("runtimedata");
    let env = rt
        .join(first_line(&rt.join("ACTIVE_CLOUDHOST")))
        .join(first_line(&rt.join("ACTIVE_BUILD_IDENTIFIER")))
        .join("build_environment");
    std::fs::read_to_string(env)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(|v| v.replace('"', ""))
        .unwrap_or_default()
}

/// One line of input without its newline; None at end of input.
pub fn read_line(input: &mut dyn std::io::BufRead) -> Option<String> {
    let mut s = String::new();
    match input.read_line(&mut s) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(s.trim_end_matches(['\n', '\r']).to_string()),
    }
}

/// A helper script's question: the answer `given` on the command line, else the `prompt`
/// lines on `out` and one line of `input` (None at its end).
pub fn ask(
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    prompt: &[&str],
    given: &Option<String>,
) -> Option<String> {
    if let Some(g) = given {
        return Some(g.clone());
    }
    for p in prompt {
        let _ = writeln!(out, "{p}");
    }
    let _ = out.flush();
    read_line(input)
}

/// Print a command's outcome and return its status.
pub fn finish(o: Outcome) -> i32 {
    out(o.stdout.as_bytes());
    o.status
}

/// A wrapper command's datastore: this machine's config bucket, with one deadline for all the
/// command's calls (`ADT_S3_DEADLINE`, default 45 s, growing with a large transfer's size), so
/// a cron job's call never outlives its minute.
pub fn bounded(
    store: Result<Box<dyn crate::datastore::Backend>>,
) -> Result<Box<dyn crate::datastore::Backend>> {
    let store = store?;
    store.bound_command();
    Ok(store)
}

/// Open this machine's config datastore (one deadline for the command: [`bounded`]) and run
/// `f` on it; if it cannot be opened, report why and return `failed` (the status the legacy
/// script gave when s3cmd failed).
pub fn with_store(
    ctx: &Ctx,
    failed: i32,
    f: impl FnOnce(&dyn crate::datastore::Backend) -> Outcome,
) -> i32 {
    run_on(ctx, bounded(ctx.store()), failed, f)
}

/// Run `f` on `store` and print its outcome; if the store could not be opened, report why and
/// return `failed`.
pub fn run_on(
    ctx: &Ctx,
    store: Result<Box<dyn crate::datastore::Backend>>,
    failed: i32,
    f: impl FnOnce(&dyn crate::datastore::Backend) -> Outcome,
) -> i32 {
    match store {
        Ok(store) => finish(f(store.as_ref())),
        Err(e) => {
            ctx.report(&e);
            failed
        }
    }
}

/// Parse adt's own subcommand arguments with clap (`name` is the command line's start, for
/// usage and errors). `Err(status)`: clap printed the help (0) or what was wrong (2).
pub fn parse_args<T: clap::Parser>(name: &str, args: &[String]) -> std::result::Result<T, i32> {
    T::try_parse_from(std::iter::once(name.to_string()).chain(args.iter().cloned())).map_err(|e| {
        let _ = e.print();
        e.exit_code()
    })
}

/// A command's entry point: the legacy arguments in, the exit status out.
pub type Entry = fn(&Ctx, &[String]) -> i32;

/// One command: its name (the legacy script's, without `.sh`, or adt's own subcommand), its
/// entry point, and its usage line for `--help`.
pub struct Command {
    pub name: &'static str,
    pub run: Entry,
    pub usage: &'static str,
}

macro_rules! commands {
    ($($name:literal => $run:path, $usage:literal;)*) => {
        /// Every command adt answers to.
        pub const REGISTRY: &[Command] = &[$(Command { name: $name, run: $run, usage: $usage }),*];
    };
}

commands! {
    // providerscripts/datastore/configwrapper/
    "PutToConfigDatastore" => configwrapper::put, "FILE [PLACE] [recursive]   (build machine: WEBSITEURL FILE [PLACE] [recursive])";
    "GetFromConfigDatastore" => configwrapper::get, "KEY [DEST] [recursive]";
    "ListFromConfigDatastore" => configwrapper::list, "PREFIX[*]   (one basename per line)";
    "CheckConfigDatastore" => configwrapper::check, "KEY   (prints 1 when an object starts with KEY, else 0)";
    "DeleteFromConfigDatastore" => configwrapper::delete, "KEY   (a * glob deletes every match)";
    "GetDBCredential" => configwrapper::get_db_credential, "KEY N   (line N of the credentials object: 1 name, 2 password, 3 user)";
    "SyncFromDatastoreTunnel" => configwrapper::sync_from_tunnel, "(no arguments: webrootsynctunnel/ into the webroot)";
    "SyncToDatastoreTunnel" => configwrapper::sync_to_tunnel, "(no arguments: new and changed webroot files into webrootsynctunnel/)";
    "AgeOfConfigFile" => configwrapper_2025::age_of_config_file, "KEY   (2025: seconds since KEY was written)";
    "SyncFromConfigDatastore" => configwrapper_2025::sync_from_config_datastore, "KEY [DEST]   (2025 webserver: KEY and what is under it into DEST)";
    // providerscripts/utilities/: the settings readers and writers
    "ExtractConfigValue" => config_values::extract_config_value, "KEY";
    "ExtractConfigValues" => config_values::extract_config_values, "KEY [stripped]";
    "ExtractBuildStyleValues" => config_values::extract_build_style_values, "KEY [stripped]";
    "CheckConfigValue" => config_values::check_config_value, "PATTERN   (prints 1 or 0)";
    "CheckBuildStyle" => config_values::check_build_style, "PREFIX   (prints 1 or 0)";
    "StoreConfigValue" => config_values::store_config_value, "KEY [VALUE]";
    "StoreConfigValueWebserver" => config_values::store_config_value_webserver, "KEY [VALUE]   (autoscaler: the settings new webservers get)";
    "StoreDatabaseCredentials" => config_values::store_database_credentials, "NAME PASSWORD USER";
    // providerscripts/utilities/ and helperscripts/: scaling
    "ManuallyScale" => scaling::manually_scale, "[N]   (asks for N when not given)";
    "ScalingUpdateEvent" => scaling::scaling_update_event, "N   (2025: share N webservers among the autoscalers, the STATIC_SCALE: marker)";
    "DailyScaleup" => scaling::daily_scaleup, "N";
    "DailyScaledown" => scaling::daily_scaledown, "N";
    "AdjustScaling" => scaling::adjust_scaling, "[x] [on|off] [--cloudhost C] [--build-identifier B] [--url URL] [--count N] [--yes]   (2025: the STATIC_SCALE: marker of the chosen build)";
    // providerscripts/utilities/: addresses
    "GetIP" => ip::get_ip, "(no arguments: this machine's private IP)";
    "GetPublicIP" => ip::get_public_ip, "(no arguments: this machine's public IP)";
    "UpdateIP" => ip::update_ip, "(no arguments: publish this machine's IP markers)";
    "UpdateIPs" => ip::update_ip, "(no arguments: 2025's name for UpdateIP)";
    "SetupInfrastructureIPs" => ip::setup_infrastructure_ips, "(sourced: prints export lines for the launcher to eval)";
    "InitialiseCron" => cron::initialise_cron, "[--file PATH [--no-install] | --user NAME] [--dry-run]";
    // security/ and providerscripts/security/firewall/
    "SetupFirewall" => firewall::setup_firewall, "[--dry-run] [--tool ufw|iptables]";
    "SetupFirewallFromCron" => firewall::setup_firewall_from_cron, "(no arguments)";
    "UpdateNativeFirewall" => firewall::update_native_firewall, "[--dry-run]";
    "DeleteFromNativeFirewall" => firewall::delete_from_native_firewall, "(no arguments)";
    "TightenDBaaSFirewall" => firewall::tighten_dbaas_firewall, "(sourced; no arguments)";
    // 2025 webservers and reverse proxies: the authentication server
    "AllowAuthenticatorIPAddress" => auth::allow_authenticator_ip_address, "[--dry-run] [--tool ufw|iptables]   (the firewall reconcile with the authorised clients' set)";
    "ObtainBasicAuthCredentials" => auth::obtain_basic_auth_credentials, "(no arguments: merge the published basic-auth credentials into .htpasswd)";
    // the build machine: its access list
    "AllowLaptopIP" => access::allow_laptop_ip, "(interactive, from helperscripts/: cloudhost, build identifier, IP, 1 add or 2 remove)";
    "AdjustBuildMachineFirewall" => access::adjust_build_machine_firewall, "(no arguments; 2025: the access list authip-adt-allowed-<ip>)";
    "AdjustBuildMachineNativeFirewall" => access::adjust_build_machine_native_firewall, "(sourced; reads the caller's CLOUDHOST, SSH_PORT, ips, BUILD_HOME, BUILD_CLIENT_IP, REGION)";
    "TightenBuildMachineFirewall" => access::tighten_build_machine_firewall, "[BUILD_IDENTIFIER] [BUILD_HOME] [SSH_PORT] [DATASTORE_CHOICE] [CLOUDHOST]";
    // the build machine: the config bucket reset
    "PurgeDatastore" => datastore::purge_datastore, "(sourced; reads the caller's WEBSITE_URL and DATASTORE_CHOICE)";
    "InitialiseUniqueConfigDatastore" => datastore::initialise_unique_config_datastore, "(no arguments: this build's config bucket, emptied or created)";
    // autoscaler/ and cron/
    "PerformScaling" => autoscaler::perform_scaling, "[--dry-run]";
    "DeadOrAlive" => autoscaler::dead_or_alive, "(no arguments)";
    "PurgeDetachedIPs" => autoscaler::purge_detached_ips, "(no arguments)";
    "MonitorForSlowBuilds" => autoscaler::monitor_for_slow_builds, "(no arguments)";
    "AutoscaleFromCron" => autoscaler::autoscale_from_cron, "(no arguments)";
    "DeadOrAliveFromCron" => autoscaler::dead_or_alive_from_cron, "(no arguments)";
    "GetDNSIPs" => dns::get_dns_ips, "(no arguments: the round robin's IPs on one line)";
    "AddIPToDNS" => dns::add_ip_to_dns, "IP";
    "RemoveIPFromDNS" => dns::remove_ip_from_dns, "IP";
    // providerscripts/dns/
    "GetZoneID" => dns::get_zone_id, "ZONENAME USER KEY DNSCHOICE";
    "GetRecordID" => dns::get_record_id, "ZONEID URL IP USER KEY DNSCHOICE";
    "GetIPAddresses" => dns::get_ip_addresses, "ZONEID URL USER KEY DNSCHOICE";
    "AddRecord" => dns::add_record, "ZONEID USER KEY URL IP DNSCHOICE";
    "DeleteRecord" => dns::delete_record, "ZONEID RECORDID USER KEY DNSCHOICE";
    // providerscripts/server/
    "CreateServer" => server::create_server, "OS REGION SIZE NAME KEY CLOUDHOST [USER] [PASSWORD]";
    "DestroyServer" => server::destroy_server, "IP CLOUDHOST [PRIVATE_IP]";
    "GetServerIPAddresses" => server::get_server_ip_addresses, "PATTERN CLOUDHOST";
    "GetServerPrivateIPAddresses" => server::get_server_private_ip_addresses, "PATTERN CLOUDHOST";
    "GetServerIPAddressByPrivateIP" => server::get_server_ip_address_by_private_ip, "IP CLOUDHOST";
    "GetServerPrivateIPAddressByIP" => server::get_server_private_ip_address_by_ip, "IP CLOUDHOST";
    "GetServerName" => server::get_server_name, "IP CLOUDHOST";
    "ListServerIDs" => server::list_server_ids, "PATTERN CLOUDHOST";
    "NumberOfServers" => server::number_of_servers, "PATTERN CLOUDHOST";
    // providerscripts/git/, cron/, providerscripts/utilities/, helperscripts/: temporal backups
    // (the database machine's Backup and BackupFromCron are dispatched to backup_db)
    "Backup" => backup::backup, "PERIOD BUILD_IDENTIFIER   (HOURLY DAILY WEEKLY MONTHLY BIMONTHLY SHUTDOWN MANUAL)";
    "BackupFromCron" => backup::backup_from_cron, "PERIOD BUILD_IDENTIFIER   (under the fleet-wide backup lock)";
    "ShutdownThisWebserver" => backup::shutdown_this_webserver, "[backup]   (the backup step; the kept legacy script shuts down)";
    "PerformWebsiteBackup" => backup::perform_website_backup, "[--cloudhost C|N] [--build-identifier ID] [--ip IP] [--key rsa|ecdsa] [--period P|N|ALL ...] [--yes]   (asks what is not given; run from helperscripts/)";
    // providerscripts/git/: baselines
    "CreateWebrootBaseline" => baseline::create_webroot_baseline, "[IDENTIFIER]   (asks when absent; pushes <IDENTIFIER>-webroot-sourcecode-baseline)";
    "CreateDBBaseline" => baseline::create_db_baseline, "[IDENTIFIER]   (asks when absent; pushes <IDENTIFIER>-db-baseline)";
    "PerformWebsiteBaseline" => baseline::perform_website_baseline, "[--cloudhost C] [--build-identifier ID] [--ip IP] [--key rsa|ecdsa] [--identifier ID] [--yes]   (asks what is not given)";
    "PerformDatabaseBaseline" => baseline::perform_database_baseline, "[--cloudhost C] [--build-identifier ID] [--ip IP] [--key rsa|ecdsa] [--identifier ID] [--yes]   (asks what is not given)";
    "ConfigureDBAccessByApplication" => baseline::configure_db_access_by_application, "(cron; the legacy step, then fresh values for a baseline's salts and keys)";
    "InstallApplication" => baseline::install_application, "(2025 webserver; the legacy install, then fresh values for a baseline's salts and keys)";
    "InstallApplicationDB" => baseline::install_application_db, "(sourced after the kept legacy script; a baseline's administrator gets a fresh password)";
    "ShutdownThisDatabase" => backup_db::shutdown_this_database, "[backup]   (backup: DAILY then SHUTDOWN, then the legacy shutdown)";
    "PerformDatabaseBackup" => backup_db::perform_database_backup, "[--cloudhost C|N] [--build-identifier ID] [--ip IP] [--key rsa|ecdsa] [--period P|N|ALL ...] [--yes]   (asks what is not given; run from helperscripts/)";
    // adt's own subcommands (clap; `adt COMMAND --help` for the whole usage)
    "layout" => layout::main, "install|uninstall|render|map|detect ...";
    "authenticator" => auth::main, "--listen ADDR:PORT [--url URL] [--email-domain D] [--own-ip IP] [--token-ttl S] [--claim-ttl S] [--link-base URL] [--outbox DIR] [--sendmail PROG]";
    "mode" => mode::main, "(this machine's mode: which crons, firewall rules and backups it implies)";
    "datastore" => datastore::main, "reset --url URL --bucket NAME [--server-user USER] [--generation G] [--dry-run]";
    "scaling-profile" => scaling::scaling_profile, "show | set KEY VALUE";
    "health-sweep" => autoscaler::health_sweep, "[--timeout SECS] [--parallel N] [--record] [IP...]";
    "local-cloud" => autoscaler::local_cloud, "attach NS N | list | stop-web NAME | teardown";
    "cloudflare-ranges" => firewall::cloudflare_ranges, "show | refresh [URL-V4 URL-V6]";
    "doctor" => doctor::main, "[--home DIR] [--json]   (what is right and what is not here, each with its fix)";
    "fleet" => fleet::main, "install|uninstall|status --machine TYPE [--ip IP]... [SCRIPT...]   (from the build machine, over SSH)";
    "baseline" => baseline::main, "check DIR|ARCHIVE|REPO | scrub-tree SRC DST | scrub-dump APP IN OUT | fill-secrets FILE...";
}

/// The command of that name.
pub fn find(name: &str) -> Option<&'static Command> {
    REGISTRY.iter().find(|c| c.name == name)
}

/// adt's own subcommands (everything else is a legacy script).
pub fn is_own(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// `NAME.sh USAGE` for a legacy command's `--help`.
pub fn usage_of(c: &Command) -> String {
    if is_own(c.name) {
        format!("usage: adt {} {}\n", c.name, c.usage)
    } else {
        format!(
            "usage: {}.sh {}\nadt runs it in place of the legacy script of that name; arguments and output are the legacy ones.\n",
            c.name, c.usage
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_and_the_generations_agree() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|c| c.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a command is registered twice");
        // Every script a generation maps to a launcher is a registered command ...
        for gen in crate::layout::GENERATIONS {
            for s in gen.scripts {
                assert!(
                    find(s.command).is_some(),
                    "{} ({}) has a launcher but no command",
                    s.command,
                    gen.name
                );
            }
        }
        // ... and every legacy command has a launcher in some generation.
        for c in REGISTRY.iter().filter(|c| !is_own(c.name)) {
            assert!(
                crate::layout::GENERATIONS
                    .iter()
                    .any(|g| g.scripts.iter().any(|s| s.command == c.name)),
                "{} is registered but no generation installs it",
                c.name
            );
        }
    }
}
