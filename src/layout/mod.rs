//! Generations of the toolkit as data (paths, bucket rule, credential source), and the
//! installer that puts launchers at the legacy paths of a machine's HOME and takes them away.

pub mod bucket;
pub mod install;

use crate::home::Machine;
use std::path::{Path, PathBuf};

use Machine::{Autoscaler as AS, Build as BM, Database as DB, Webserver as WS};

/// How a launcher runs our command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `exec adt CMD "$@"`: an ordinary script.
    Exec,
    /// `adt CMD`: a script legacy code *sources* (`. script`), which must not `exec` (that would
    /// replace the caller's shell) and must not take the caller's `$@`.
    Call,
    /// `eval "$(adt CMD)"`: a sourced script whose job is to set variables in the caller.
    Eval,
}

/// One legacy script that a command of ours replaces.
#[derive(Clone, Copy, Debug)]
pub struct Script {
    pub kind: Kind,
    /// Path relative to the machine's home (`BUILD_HOME` on the build machine).
    pub path: &'static str,
    /// Our command (the legacy script's base name without `.sh`).
    pub command: &'static str,
    /// Machine types whose legacy tree has this script at this path.
    pub machines: &'static [Machine],
}

/// How a generation names the config bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketRule {
    /// First three characters of each URL label, `-` removed, `-config`.
    Labels3,
    /// URL with `.`→`-`, `-config-`, first four characters of SERVERUSER lowercased.
    DashedWithUser,
}

/// How ExtractConfigValue turns a `KEY:value` line into the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtractRule {
    /// 2022: the last `:`-separated field (`KEY:a:b` → `b`).
    LastField,
    /// Newer: everything after the first `:` (`KEY:a:b` → `a:b`).
    AfterFirstColon,
}

/// How a generation names its temporal backups (spec §1.3, §1.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupNaming {
    /// 2022: per-period git repositories, buckets `<url->-<p>` and `<url->-db-<p>`, lock keys
    /// `backuplock.file` / `dbbackuplock.file`.
    Repos2022,
    /// 2025: no git; one bucket `<url->-<p>` for both archives, lock keys `BACKUP_RUNNING` /
    /// `DB_BACKUP_RUNNING`.
    SingleBucket2025,
}

/// A generation of the legacy toolkit.
#[derive(Debug)]
pub struct Generation {
    pub name: &'static str,
    /// Where the settings files and buildstyles.dat live, relative to the toolkit home.
    pub settings_dir: &'static str,
    pub extract_rule: ExtractRule,
    /// StoreConfigValue does nothing when the settings file does not exist (newer generation).
    pub store_needs_file: bool,
    pub scripts: &'static [Script],
    pub bucket_rule: BucketRule,
    /// s3cmd configuration, relative to the toolkit home unless absolute.
    pub s3cfg: &'static str,
    /// Where the config readers live (relative to home), for messages and docs.
    pub readers_dir: &'static str,
    /// How its temporal backups are named.
    pub backups: BackupNaming,
}

macro_rules! s {
    ($dir:expr, $cmd:literal, [$($m:expr),*]) => {
        Script { kind: Kind::Exec, path: concat!($dir, $cmd, ".sh"), command: $cmd, machines: &[$($m),*] }
    };
    ($dir:expr, $cmd:literal, [$($m:expr),*], $kind:ident) => {
        Script { kind: Kind::$kind, path: concat!($dir, $cmd, ".sh"), command: $cmd, machines: &[$($m),*] }
    };
}

/// The 2022 layout (thedigitaloctopus/agile-infrastructure-*-scripts), complete for the
/// config system.
#[rustfmt::skip]
pub static G2022: Generation = Generation {
    name: "2022",
    settings_dir: ".ssh",
    extract_rule: ExtractRule::LastField,
    store_needs_file: false,
    bucket_rule: BucketRule::Labels3,
    s3cfg: ".s3cfg",
    readers_dir: "providerscripts/utilities/",
    backups: BackupNaming::Repos2022,
    scripts: &[
        s!("providerscripts/datastore/configwrapper/", "PutToConfigDatastore", [AS, WS, DB, BM]),
        s!("providerscripts/datastore/configwrapper/", "GetFromConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "ListFromConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "CheckConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "DeleteFromConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "GetDBCredential", [WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "SyncFromDatastoreTunnel", [WS]),
        s!("providerscripts/datastore/configwrapper/", "SyncToDatastoreTunnel", [WS]),
        s!("providerscripts/utilities/", "ExtractConfigValue", [AS, WS, DB]),
        s!("providerscripts/utilities/", "ExtractConfigValues", [AS, WS, DB]),
        s!("providerscripts/utilities/", "ExtractBuildStyleValues", [WS]),
        s!("providerscripts/utilities/", "CheckConfigValue", [AS, WS, DB]),
        s!("providerscripts/utilities/", "CheckBuildStyle", [AS, WS, DB]),
        s!("providerscripts/utilities/", "StoreConfigValue", [AS, WS, DB]),
        s!("providerscripts/utilities/", "StoreConfigValueWebserver", [AS]),
        s!("providerscripts/utilities/", "StoreDatabaseCredentials", [WS, DB]),
        s!("providerscripts/utilities/", "ManuallyScale", [AS]),
        s!("providerscripts/utilities/", "DailyScaleup", [AS]),
        s!("providerscripts/utilities/", "DailyScaledown", [AS]),
        s!("helperscripts/", "AdjustScaling", [BM]),
        s!("providerscripts/utilities/", "GetIP", [AS, WS, DB]),
        s!("providerscripts/utilities/", "GetPublicIP", [AS, WS, DB]),
        s!("providerscripts/utilities/", "UpdateIP", [AS, WS, DB]),
        s!("providerscripts/utilities/", "SetupInfrastructureIPs", [AS, WS, DB], Eval),
        s!("providerscripts/utilities/", "InitialiseCron", [AS, WS, DB], Call),
        s!("security/", "SetupFirewall", [AS, WS, DB]),
        s!("cron/", "SetupFirewallFromCron", [AS, WS, DB]),
        s!("providerscripts/security/firewall/", "UpdateNativeFirewall", [AS]),
        s!("providerscripts/security/firewall/", "DeleteFromNativeFirewall", [AS]),
        s!("providerscripts/security/firewall/", "TightenDBaaSFirewall", [AS], Call),
        s!("autoscaler/", "GetDNSIPs", [AS]),
        s!("autoscaler/", "AddIPToDNS", [AS]),
        s!("autoscaler/", "RemoveIPFromDNS", [AS]),
        s!("autoscaler/", "PerformScaling", [AS]),
        s!("autoscaler/", "DeadOrAlive", [AS]),
        s!("autoscaler/", "PurgeDetachedIPs", [AS]),
        s!("autoscaler/", "MonitorForSlowBuilds", [AS]),
        s!("cron/", "AutoscaleFromCron", [AS]),
        s!("cron/", "DeadOrAliveFromCron", [AS]),
        s!("providerscripts/server/", "CreateServer", [AS]),
        s!("providerscripts/server/", "DestroyServer", [AS]),
        s!("providerscripts/server/", "GetServerIPAddresses", [AS]),
        s!("providerscripts/server/", "GetServerPrivateIPAddresses", [AS]),
        s!("providerscripts/server/", "GetServerIPAddressByPrivateIP", [AS]),
        s!("providerscripts/server/", "GetServerPrivateIPAddressByIP", [AS]),
        s!("providerscripts/server/", "GetServerName", [AS]),
        s!("providerscripts/server/", "ListServerIDs", [AS]),
        s!("providerscripts/server/", "NumberOfServers", [AS]),
        s!("providerscripts/dns/", "GetZoneID", [AS]),
        s!("providerscripts/dns/", "GetRecordID", [AS]),
        s!("providerscripts/dns/", "GetIPAddresses", [AS]),
        s!("providerscripts/dns/", "AddRecord", [AS]),
        s!("providerscripts/dns/", "DeleteRecord", [AS]),
        s!("providerscripts/git/", "Backup", [WS, DB]),
        s!("cron/", "BackupFromCron", [WS, DB]),
        s!("providerscripts/utilities/", "ShutdownThisWebserver", [WS]),
        s!("helperscripts/", "PerformWebsiteBackup", [BM]),
        s!("providerscripts/git/", "CreateWebrootBaseline", [WS]),
        s!("providerscripts/git/", "CreateDBBaseline", [DB]),
        s!("helperscripts/", "PerformWebsiteBaseline", [BM]),
        s!("helperscripts/", "PerformDatabaseBaseline", [BM]),
        s!("providerscripts/utilities/", "ShutdownThisDatabase", [DB]),
        s!("helperscripts/", "PerformDatabaseBackup", [BM]),
    ],
};

/// The newer layout (wintersys-projects/adt-*-scripts): settings under `runtime/`, readers under
/// `utilities/config/`, the newer bucket rule and credential file. Only the config readers are
/// mapped so far (checked against adt-webserver-scripts); the datastore wrappers of this
/// generation (`providerscripts/datastore/config/toolkit/`) are not installed yet.
#[rustfmt::skip]
pub static G2025: Generation = Generation {
    name: "2025",
    settings_dir: "runtime",
    extract_rule: ExtractRule::AfterFirstColon,
    store_needs_file: true,
    bucket_rule: BucketRule::DashedWithUser,
    s3cfg: "/root/.s3cfg-1",
    readers_dir: "utilities/config/",
    backups: BackupNaming::SingleBucket2025,
    scripts: &[
        s!("utilities/config/", "ExtractConfigValue", [AS, WS, DB]),
        s!("utilities/config/", "CheckConfigValue", [AS, WS, DB]),
        s!("utilities/config/", "CheckBuildStyle", [AS, WS, DB]),
        s!("utilities/config/", "StoreConfigValue", [AS, WS, DB]),
    ],
};

pub static GENERATIONS: [&Generation; 2] = [&G2022, &G2025];

impl Generation {
    pub fn by_name(name: &str) -> Option<&'static Generation> {
        GENERATIONS.iter().copied().find(|g| g.name == name)
    }

    pub fn scripts_for(&self, m: Machine) -> impl Iterator<Item = &'static Script> + '_ {
        self.scripts.iter().filter(move |s| s.machines.contains(&m))
    }

    pub fn s3cfg_path(&self, home: &Path) -> PathBuf {
        match std::env::var_os("S3CMD_CONFIG") {
            Some(p) => PathBuf::from(p),
            None => home.join(self.s3cfg),
        }
    }

    /// The config bucket for a website, by this generation's rule.
    pub fn config_bucket(&self, website_url: &str, server_user: &str) -> String {
        match self.bucket_rule {
            BucketRule::Labels3 => bucket::config_bucket_2022(website_url),
            BucketRule::DashedWithUser => bucket::config_bucket_2025(website_url, server_user),
        }
    }
}

/// The legacy-path map of a generation, as committed in `compat/map-<gen>.tsv`:
/// `path<TAB>command<TAB>machine,machine…`, one script per line.
pub fn map_tsv(gen: &Generation) -> String {
    let mut out = String::from("# legacy path\tadt command\tmachine types\n");
    for s in gen.scripts {
        let machines: Vec<&str> = s.machines.iter().map(|m| m.name()).collect();
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            s.path,
            s.command,
            machines.join(",")
        ));
    }
    out
}
