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
    /// Like [`Kind::Call`], for a sourced script that reads the caller's shell variables: each
    /// named variable is handed to the command in its environment (`NAME="${NAME:-}" adt CMD`),
    /// which does not change the caller's shell.
    CallWith(&'static [&'static str]),
    /// A sourced script whose legacy body stays legacy's and is followed by a step of ours: the
    /// launcher sources the kept legacy script (`. "$HOME/<path>.adt-legacy"`, in the caller's
    /// shell with the caller's variables and arguments, as before), then runs our command
    /// without arguments (`adt CMD`; no `exec`, no `exit`).
    SourceThen,
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

/// How a generation lays out its DB baseline repository (spec §2.1, §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbBaseline {
    /// 2022: `baseline/application-db-NN`, 10 MiB `split -d` parts of a tar.gz holding
    /// `applicationDB.sql`, LFS attributes for `*db*` and `*.tar.gz`.
    SplitArchive,
    /// 2025: the plain dump at the repository's root, `applicationDB.sql` (MySQL/MariaDB) or
    /// `applicationDB.psql` (PostgreSQL), unsplit.
    PlainDump,
}

/// Where a generation's database machine finds the application database's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbCredentials {
    /// The config datastore's `credentials/shit` (name, password, user).
    StoreObject(&'static str),
    /// Settings keys: name, password, user (2025: DBNAME, DBPASSWORD, DBUSERNAME).
    Settings(&'static str, &'static str, &'static str),
}

/// How a generation makes its baselines.
#[derive(Clone, Copy, Debug)]
pub struct Baselines {
    /// The branch both baseline repositories are pushed to.
    pub branch: &'static str,
    pub db: DbBaseline,
    pub db_credentials: DbCredentials,
    /// A file under HOME whose `KEY:a:b:` line names top-level webroot entries a baseline leaves
    /// out (2025: `runtime/application.dat`, `EXCLUDE_FROM_BACKUP:`).
    pub webroot_excludes: Option<(&'static str, &'static str)>,
}

/// The datastore wrappers' contract (arguments, output, exit statuses) of a generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrappers {
    /// 2022: `Put FILE [PLACE] [recursive]`, `Get KEY [DEST] [recursive]` (always to
    /// `/tmp/<basename>` too), s3cmd's transfer lines on stdout.
    V2022,
    /// 2025: `Put FILE [PLACE] [yes]` (yes: remove FILE afterwards), `Get KEY [DEST]` (a recursive
    /// fetch into the directory DEST, `Key doesn't exist` when nothing matches), recursive List,
    /// `Delete KEY [yes]` (yes: every key starting with KEY); nothing on stdout but what callers
    /// read.
    V2025,
}

/// Where a generation's machines keep the datastore's credentials and endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// One s3cmd file ([`Generation::s3cfg`]).
    S3cmdFile,
    /// One file per S3 account for the tool named by `DATASTORETOOL:` in buildstyles.dat
    /// (`/root/.s3cfg-N`, `/root/.s5cfg-N`, `/root/.config/rclone/rclone.conf-N`); as many
    /// accounts as S3ACCESSKEY has `|`-separated keys. The config wrappers use account 1.
    ToolAccounts,
}

/// Where UpdateIP finds an address it publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpSource {
    /// This machine's private address (GetIP).
    Private,
    /// This machine's public address (GetPublicIP).
    Public,
    /// A setting (`BUILDCLIENTIP`, `BUILDMACHINEIP`).
    Setting(&'static str),
}

/// Which hosts of a machine type publish a marker, by host name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Any,
    /// The host name starts with this (`ws-`: a 2025 webserver).
    Prefix(&'static str),
    /// The host name contains this (`-rp-`: a reverse proxy; `-auth-`: an authenticator).
    Contains(&'static str),
}

impl Host {
    pub fn matches(self, hostname: &str) -> bool {
        match self {
            Host::Any => true,
            Host::Prefix(p) => hostname.starts_with(p),
            Host::Contains(p) => hostname.contains(p),
        }
    }
}

/// One IP marker a machine publishes: `<prefix><ip>`, an empty object.
#[derive(Clone, Copy, Debug)]
pub struct IpMarker {
    pub machine: Machine,
    pub prefix: &'static str,
    pub source: IpSource,
    pub host: Host,
}

/// How GetIP/GetPublicIP (and so UpdateIP) find this machine's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpLookup {
    /// MYIP and MYPUBLICIP from the settings (2022's GetIP and GetPublicIP read them).
    Settings,
    /// The machine's own legacy scripts, run and their first line taken (2025's GetIP asks
    /// nmcli for the address in VPCIPRANGE, GetPublicIP asks ipinfo.io; both store it). Paths
    /// relative to home: private, public.
    Scripts(&'static str, &'static str),
}

/// Which crontab InitialiseCron writes (the tables are in `crate::cron`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crontab {
    V2022,
    /// The end-2025 crontabs (`utilities/…`, `cron/PerformScalingFromCron.sh`; the webserver's
    /// by host name).
    V2025,
}

/// Where the webservers' count lives, and so what the scaling controls (ManuallyScale,
/// AdjustScaling, ScalingUpdateEvent) write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// 2022: `scalingprofile/profile.cnf` (`NO_WEBSERVERS=`), the `SWITCHOFFSCALING` marker.
    Profile2022,
    /// 2025: the empty marker `STATIC_SCALE:<a>:<b>…` in the config bucket, one count per
    /// autoscaler (`crate::scaling::static_scale`); the build machine's AdjustScaling reads the
    /// chosen build's `runtimedata/<cloudhost>/<id>/build_environment`.
    StaticScale2025,
}

/// A port a fixed firewall source may reach (2025 SetupFirewall).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortOf {
    /// SSHPORT.
    Ssh,
    /// DBPORT, unless DATABASEINSTALLATIONTYPE is DBaaS (then no database runs here).
    Db,
    /// 443.
    Https,
}

/// Which firewall contract SetupFirewall follows (the rules: `crate::firewall::model`).
#[derive(Clone, Copy, Debug)]
pub enum Firewall {
    /// 2022: the IP lists the machines publish in the config datastore (`webserverips/`, …),
    /// the build client, DNSCHOICE's web-port rules.
    Lists2022,
    /// 2025: VPCIPRANGE, the build machine when it is outside the VPC, and the machine's line of
    /// a ports file; no datastore list.
    Ports2025(&'static FirewallPorts),
}

/// The 2025 SetupFirewall's contract, as data.
#[derive(Debug)]
pub struct FirewallPorts {
    /// The ports file, relative to home (`runtime/firewallports.dat`, the build machine's
    /// `builddescriptors/firewallports.dat` without its comments).
    pub file: &'static str,
    /// Which line of the file a machine reads (`WEBSERVERPORTS:` …), by machine type and host
    /// name; the first match wins (a webserver host that is neither a proxy, a webserver nor an
    /// authenticator reads none).
    pub lines: &'static [(Machine, Host, &'static str)],
    /// What VPCIPRANGE may reach, per machine type.
    pub vpc: &'static [(Machine, &'static [PortOf])],
    /// What BUILDMACHINEIP may reach when BUILDMACHINEVPC is 0 (the build machine is outside
    /// the VPC), per machine type.
    pub build_machine: &'static [(Machine, &'static [PortOf])],
    /// The setting that says whether the machine's own firewall is in use, and its values that
    /// say so (ACTIVEFIREWALLS 1 or 3; 2 is the cloud's native firewall only).
    pub active: (&'static str, &'static [&'static str]),
    /// The build style whose second field names the tool (`FIREWALL:ufw`, `FIREWALL:iptables`).
    pub tool_style: &'static str,
    /// The sources sshd admits (`AllowUsers <SERVERUSER>@<source>` lines appended to
    /// sshd_config when the source is not in it yet), per machine type.
    pub sshd_allow: &'static [(Machine, &'static [SshdSource])],
}

/// A source of the 2025 SetupFirewall's `AllowUsers` lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SshdSource {
    /// VPCIPRANGE.
    Vpc,
    /// BUILDMACHINEIP (whether or not the build machine is in the VPC).
    BuildMachine,
}

/// The end-2025 SetupFirewall of the autoscaler, webserver and database.
pub static FIREWALL_2025: FirewallPorts = FirewallPorts {
    file: "runtime/firewallports.dat",
    lines: &[
        (WS, Host::Contains("-rp-"), "REVERSEPROXYPORTS"),
        (WS, Host::Prefix("ws-"), "WEBSERVERPORTS"),
        (WS, Host::Contains("-auth-"), "AUTHENTICATORPORTS"),
        (AS, Host::Any, "AUTOSCALERPORTS"),
        (DB, Host::Any, "DATABASEPORTS"),
    ],
    vpc: &[
        (WS, &[PortOf::Ssh, PortOf::Https]),
        (AS, &[PortOf::Ssh]),
        (DB, &[PortOf::Ssh, PortOf::Db]),
    ],
    build_machine: &[
        (WS, &[PortOf::Ssh, PortOf::Https]),
        (AS, &[PortOf::Ssh]),
        (DB, &[PortOf::Ssh]),
    ],
    active: ("ACTIVEFIREWALLS", &["1", "3"]),
    tool_style: "FIREWALL",
    sshd_allow: &[
        (WS, &[SshdSource::Vpc]),
        (AS, &[SshdSource::Vpc]),
        (DB, &[SshdSource::Vpc, SshdSource::BuildMachine]),
    ],
};

/// What differs between generations besides their paths: each difference a value here, read
/// by the one implementation of each command.
#[derive(Debug)]
pub struct Contract {
    pub wrappers: Wrappers,
    pub credentials: Credentials,
    /// A setting that names the website for Get instead of WEBSITEURL when it is set (2025's Get
    /// reads WEBSITEURLORIGINAL first: an authenticator reads its protected site's bucket).
    pub get_url_override: Option<&'static str>,
    /// Machine types whose ExtractConfigValue(s) drop empty output lines (`sed '/^$/d'`).
    pub extract_drops_empty_on: &'static [Machine],
    /// ExtractBuildStyleValues drops empty output lines.
    pub style_drops_empty: bool,
    /// Machine types whose StoreConfigValue deletes only lines that start with `KEY:` (others
    /// delete every line matching `.*KEY:`).
    pub store_anchored_on: &'static [Machine],
    /// The IP markers UpdateIP publishes, per machine type.
    pub ip_markers: &'static [IpMarker],
    pub ip_lookup: IpLookup,
    /// UpdateIP also keeps one empty file per other machine published under a prefix, in a
    /// directory under home (2025 webserver: `webserverips/` → `runtime/otherwebserverips/`).
    pub peer_files: Option<(Machine, Host, &'static str, &'static str)>,
    /// Machine types whose UpdateIP also puts `dbaas_ips/<public ip>` into the
    /// `<url with dots as dashes>-multi-region` bucket of every S3 account when MULTIREGION is 1.
    pub multi_region_ips: &'static [Machine],
    pub crontab: Crontab,
    /// SetupFirewall's contract.
    pub firewall: Firewall,
    /// The scaling controls' contract.
    pub scaling: Scaling,
    /// The build machine's helpers (PerformWebsiteBackup, PerformDatabaseBackup).
    pub build_helpers: BuildHelpers,
}

/// Where a generation's build machine keeps a build's state, as its helpers read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildState {
    /// 2022: BUILD_HOME is the directory above `helperscripts/`; a build's `SSH_PORT` in
    /// `buildconfiguration/<cloudhost>/<id>`, its server user and password in
    /// `buildconfiguration/<cloudhost>/<id>-credentials/`, its key
    /// `keys/<cloudhost>/<id>/id_<alg>_AGILE_DEPLOYMENT_BUILD_KEY_<id>` (the helper asks RSA or
    /// ECDSA); servers found by `webserver`/`database` in their names; host keys not checked.
    BuildConfiguration2022,
    /// 2025: BUILD_HOME is the first line of `/home/buildhome.dat`; `runtimedata/` holds
    /// `ACTIVE_CLOUDHOST`, `ACTIVE_BUILD_IDENTIFIER` and per build `<cloudhost>/<id>/`:
    /// `credentials/SERVERUSER`, `credentials/SERVERUSERPASSWORD`, `build_environment`
    /// (`REGION`, `SSH_PORT`, `ALGORITHM`, read for the *active* build as GetVariableValue.sh
    /// does), `VPC-ACTIVE` (servers by private IP), `TOKEN` (Vultr), `keys/id_<ALGORITHM>_
    /// AGILE_DEPLOYMENT_BUILD_KEY_<id>` and the host keys ssh-keyscan recorded
    /// (`keys/webserver_<ip>keys`, `keys/database_<ip>keys`), held to strictly; servers named
    /// `ws-<REGION>-<id>` / `db-<REGION>-<id>`, listed by the build machine's
    /// `providerscripts/server/GetServer{,Private}IPAddresses.sh`.
    RuntimeData2025,
}

/// The build machine's helpers' contract: where their state is, which cloud hosts they offer
/// (in their numbered question's order), and what they run on a fleet machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildHelpers {
    pub state: BuildState,
    pub cloudhosts: &'static [&'static str],
    /// The backup script run on a webserver or database (`<script> <P> <build id>`), relative
    /// to the server user's home; its ExtractConfigValue.sh is in the generation's
    /// `readers_dir`.
    pub backup_script: &'static str,
}

macro_rules! ipm {
    ($m:expr, $p:literal, $src:expr) => {
        ipm!($m, $p, $src, Host::Any)
    };
    ($m:expr, $p:literal, $src:expr, $host:expr) => {
        IpMarker {
            machine: $m,
            prefix: $p,
            source: $src,
            host: $host,
        }
    };
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
    /// s3cmd configuration, relative to the toolkit home unless absolute (2022; a 2025 machine's
    /// files are found by [`Credentials::ToolAccounts`]).
    pub s3cfg: &'static str,
    /// Where the config readers live (relative to home), for messages and docs.
    pub readers_dir: &'static str,
    /// How its temporal backups are named.
    pub backups: BackupNaming,
    /// How its baselines are laid out.
    pub baselines: Baselines,
    /// Everything else that differs (wrapper contract, credentials, reader quirks, IP markers).
    pub contract: Contract,
}

macro_rules! s {
    ($dir:expr, $cmd:literal, [$($m:expr),*]) => {
        Script { kind: Kind::Exec, path: concat!($dir, $cmd, ".sh"), command: $cmd, machines: &[$($m),*] }
    };
    ($dir:expr, $cmd:literal, [$($m:expr),*], $kind:ident) => {
        Script { kind: Kind::$kind, path: concat!($dir, $cmd, ".sh"), command: $cmd, machines: &[$($m),*] }
    };
    ($dir:expr, $cmd:literal, [$($m:expr),*], CallWith $vars:expr) => {
        Script { kind: Kind::CallWith($vars), path: concat!($dir, $cmd, ".sh"), command: $cmd, machines: &[$($m),*] }
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
    baselines: Baselines {
        branch: "master",
        db: DbBaseline::SplitArchive,
        db_credentials: DbCredentials::StoreObject("credentials/shit"),
        webroot_excludes: None,
    },
    contract: Contract {
        wrappers: Wrappers::V2022,
        credentials: Credentials::S3cmdFile,
        get_url_override: None,
        extract_drops_empty_on: &[],
        style_drops_empty: false,
        store_anchored_on: &[],
        ip_markers: &[
            ipm!(WS, "webserverips/", IpSource::Private),
            ipm!(WS, "bootedwebserverips/", IpSource::Private),
            ipm!(WS, "webserverpublicips/", IpSource::Public),
            ipm!(AS, "autoscalerip/", IpSource::Private),
            ipm!(AS, "autoscalerpublicip/", IpSource::Public),
            ipm!(AS, "buildclientip/", IpSource::Setting("BUILDCLIENTIP")),
            ipm!(DB, "databaseip/", IpSource::Private),
            ipm!(DB, "databasepublicip/", IpSource::Public),
        ],
        ip_lookup: IpLookup::Settings,
        peer_files: None,
        multi_region_ips: &[],
        crontab: Crontab::V2022,
        firewall: Firewall::Lists2022,
        scaling: Scaling::Profile2022,
        build_helpers: BuildHelpers {
            state: BuildState::BuildConfiguration2022,
            cloudhosts: &["digitalocean", "exoscale", "linode", "vultr", "aws"],
            backup_script: "providerscripts/git/Backup.sh",
        },
    },
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
        // The seed's path for the same script (issue 14), beside the 2022 one.
        s!("providerscripts/utilities/processing/", "ManuallyScale", [AS]),
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
        s!("providerscripts/datastore/", "PurgeDatastore", [BM], CallWith &["WEBSITE_URL", "DATASTORE_CHOICE"]),
        s!("helperscripts/", "AllowLaptopIP", [BM]),
        s!("providerscripts/security/firewall/", "TightenBuildMachineFirewall", [BM]),
        s!("providerscripts/security/firewall/", "AdjustBuildMachineNativeFirewall", [BM], CallWith &["CLOUDHOST", "SSH_PORT", "ips", "BUILD_HOME", "BUILD_CLIENT_IP", "REGION"]),
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
        // The deploy side of our baselines: legacy's step, then ours (fresh salts and keys; the
        // placeholder administrator's password).
        s!("providerscripts/application/configuration/", "ConfigureDBAccessByApplication", [WS]),
        s!("applicationdb/", "InstallApplicationDB", [DB], SourceThen),
    ],
};

/// The 2025 layout: wintersys-projects/adt-{autoscaler,webserver,database}-scripts as they were
/// at the end of 2025 (autoscaler f426a1f, database b9ed9e1, webserver c3952a9): wrappers in
/// `providerscripts/datastore/configwrapper/`, readers in `utilities/config/`, settings and
/// buildstyles under `runtime/`, the bucket `<url with dots as dashes>-config-<first 4 of
/// SERVERUSER, lower-case>`, credentials per S3 account in the tool's numbered files, IP scripts
/// in `utilities/processing/`. Of the build machine's 2025 scripts (BUILD_HOME, runtimedata),
/// those listed below for `BM`.
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
    baselines: Baselines {
        branch: "main",
        db: DbBaseline::PlainDump,
        db_credentials: DbCredentials::Settings("DBNAME", "DBPASSWORD", "DBUSERNAME"),
        webroot_excludes: Some(("runtime/application.dat", "EXCLUDE_FROM_BACKUP")),
    },
    contract: Contract {
        wrappers: Wrappers::V2025,
        credentials: Credentials::ToolAccounts,
        get_url_override: Some("WEBSITEURLORIGINAL"),
        extract_drops_empty_on: &[AS, DB],
        style_drops_empty: true,
        store_anchored_on: &[AS],
        ip_markers: &[
            // By host name, as the 2025 webserver's UpdateIPs chooses (reverse proxy first).
            ipm!(WS, "reverseproxyips/", IpSource::Private, Host::Contains("-rp-")),
            ipm!(WS, "reverseproxypublicips/", IpSource::Public, Host::Contains("-rp-")),
            ipm!(WS, "webserverips/", IpSource::Private, Host::Prefix("ws-")),
            ipm!(WS, "webserverpublicips/", IpSource::Public, Host::Prefix("ws-")),
            ipm!(WS, "authenticatorip/", IpSource::Private, Host::Contains("-auth-")),
            ipm!(WS, "authenticatorpublicip/", IpSource::Public, Host::Contains("-auth-")),
            ipm!(AS, "autoscalerips/", IpSource::Private),
            ipm!(AS, "autoscalerpublicips/", IpSource::Public),
            ipm!(AS, "buildmachineip/", IpSource::Setting("BUILDMACHINEIP")),
            ipm!(DB, "databaseip/", IpSource::Private),
            ipm!(DB, "databasepublicip/", IpSource::Public),
        ],
        ip_lookup: IpLookup::Scripts("utilities/processing/GetIP.sh", "utilities/processing/GetPublicIP.sh"),
        peer_files: Some((WS, Host::Prefix("ws-"), "webserverips/", "runtime/otherwebserverips")),
        multi_region_ips: &[WS, DB],
        crontab: Crontab::V2025,
        firewall: Firewall::Ports2025(&FIREWALL_2025),
        scaling: Scaling::StaticScale2025,
        build_helpers: BuildHelpers {
            state: BuildState::RuntimeData2025,
            cloudhosts: &["digitalocean", "exoscale", "linode", "vultr"],
            // The same path on the webserver and the database machine.
            backup_script: "application/backupscripts/Backup.sh",
        },
    },
    scripts: &[
        s!("providerscripts/datastore/configwrapper/", "PutToConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "GetFromConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "ListFromConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "CheckConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "DeleteFromConfigDatastore", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "AgeOfConfigFile", [AS, WS, DB]),
        s!("providerscripts/datastore/configwrapper/", "SyncFromConfigDatastore", [WS]),
        s!("utilities/config/", "ExtractConfigValue", [AS, WS, DB]),
        s!("utilities/config/", "ExtractConfigValues", [AS, WS, DB]),
        s!("utilities/config/", "ExtractBuildStyleValues", [AS, WS, DB]),
        s!("utilities/config/", "CheckConfigValue", [AS, WS, DB]),
        s!("utilities/config/", "CheckBuildStyle", [AS, WS, DB]),
        s!("utilities/config/", "StoreConfigValue", [AS, WS, DB]),
        s!("utilities/config/", "StoreConfigValueWebserver", [AS]),
        s!("utilities/processing/", "UpdateIPs", [AS, WS, DB]),
        s!("security/", "SetupFirewall", [AS, WS, DB]),
        s!("cron/", "SetupFirewallFromCron", [AS, WS, DB]),
        // 2025's ManuallyScale: the STATIC_SCALE: marker instead of scalingprofile/profile.cnf.
        s!("utilities/processing/", "ScalingUpdateEvent", [AS]),
        // Executed, not sourced, in 2025.
        s!("cron/", "InitialiseCron", [AS, WS, DB]),
        s!("initscripts/", "InitialiseUniqueConfigDatastore", [BM]),
        s!("security/", "AllowAuthenticatorIPAddress", [WS]),
        s!("security/", "ObtainBasicAuthCredentials", [WS]),
        s!("helperscripts/", "AllowLaptopIP", [BM]),
        s!("security/firewall/", "AdjustBuildMachineFirewall", [BM]),
        s!("helperscripts/", "AdjustScaling", [BM]),
        // The build machine's backup helpers (state in runtimedata/: `contract.build_helpers`).
        s!("helperscripts/", "PerformWebsiteBackup", [BM]),
        s!("helperscripts/", "PerformDatabaseBackup", [BM]),
        s!("application/backupscripts/", "CreateWebrootBaseline", [WS]),
        s!("application/backupscripts/", "CreateDBBaseline", [DB]),
        // Executed by 2025's ws.sh: legacy's install (a baseline's webroot cloned), then ours.
        s!("application/", "InstallApplication", [WS]),
        // Executed by 2025's db.sh (2022 sources it): legacy's restore, then ours.
        s!("application/db/", "InstallApplicationDB", [DB]),
        // The webroot and database backups (their names: `backups` above). The database's
        // `utilities/housekeeping/ShutdownThisDatabase.sh` stays legacy's: its backup step is
        // `Backup.sh "shutdown"`, which is ours.
        s!("application/backupscripts/", "Backup", [WS, DB]),
        s!("cron/", "BackupFromCron", [WS, DB]),
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

/// What [`detect`] found in a HOME, and why.
#[derive(Debug)]
pub struct Detected {
    pub gen: &'static Generation,
    pub machine: Machine,
    /// The evidence, in words (`runtime/autoscaler_configuration_settings.dat`, or how many of
    /// the generation's scripts for that machine type are there).
    pub because: String,
}

/// Files only one generation's tree of a machine type has, which decide [`detect`] before the
/// count of scripts does (a 2025 build machine also has the 2022 helpers' paths, more of them
/// than its own mapped scripts).
pub static SIGNATURES: &[(&str, Machine, &str)] = &[
    ("2025", BM, "initscripts/InitialiseUniqueConfigDatastore.sh"),
    (
        "2025",
        BM,
        "security/firewall/AdjustBuildMachineFirewall.sh",
    ),
    ("2022", BM, "providerscripts/datastore/PurgeDatastore.sh"),
    (
        "2022",
        BM,
        "providerscripts/security/firewall/TightenBuildMachineFirewall.sh",
    ),
];

/// Which generation and machine type a toolkit HOME holds, from its files: a settings file
/// where a generation keeps it (`.ssh/` in 2022, `runtime/` in 2025; an autoscaler, which
/// also keeps a webserver settings file, first), else a file only one generation's tree of a
/// machine type has ([`SIGNATURES`]), else the generation and machine type whose
/// legacy scripts are most numerous there (our launchers and the kept `.adt-legacy` files
/// count as the scripts they replace). `None` when nothing of either generation is there.
pub fn detect(home: &Path) -> Option<Detected> {
    for gen in GENERATIONS.iter().rev() {
        let dir = home.join(gen.settings_dir);
        if let Some(m) = Machine::detect(&dir) {
            let file = m.settings_file(Path::new(gen.settings_dir));
            return Some(Detected {
                gen,
                machine: m,
                because: format!("{} is there", file.display()),
            });
        }
    }
    let present = |rel: &str| {
        let p = home.join(rel);
        p.is_file()
            || home
                .join(format!("{rel}{}", install::LEGACY_SUFFIX))
                .is_file()
    };
    for (name, machine, path) in SIGNATURES {
        if present(path) {
            if let Some(gen) = Generation::by_name(name) {
                return Some(Detected {
                    gen,
                    machine: *machine,
                    because: format!(
                        "{path} is there (only the {name} {} has it)",
                        machine.name()
                    ),
                });
            }
        }
    }
    let mut best: Option<(usize, usize, &'static Generation, Machine)> = None;
    for gen in GENERATIONS {
        for m in Machine::ALL {
            let all: Vec<&Script> = gen.scripts_for(m).collect();
            let n = all.iter().filter(|s| present(s.path)).count();
            // Most scripts present; on a tie, the type with fewer scripts in all (the one
            // whose tree is complete), then the first.
            if n > 0 && best.is_none_or(|(bn, ball, _, _)| n > bn || (n == bn && all.len() < ball))
            {
                best = Some((n, all.len(), gen, m));
            }
        }
    }
    best.map(|(n, all, gen, machine)| Detected {
        gen,
        machine,
        because: format!("{n} of its {all} scripts are there"),
    })
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
