//! Development and production, and the other settings the toolkit branches on, as one typed
//! view read once from a machine's settings: PRODUCTION, DEVELOPMENT, BUILDARCHIVECHOICE,
//! BYPASSDBLAYER, DATABASEINSTALLATIONTYPE, DATABASEDBaaSINSTALLATIONTYPE, DISABLEHOURLY,
//! SUPERSAFEWEBROOT and SUPERSAFEDB. Every module that branches on them asks a [`Mode`]
//! (the firewall's autoscaler rules, the crontab's scaling and backup lines, the webroot and
//! database backups, `adt mode`).
//!
//! The legacy rules, kept as legacy applied them:
//!
//! | rule | where legacy applies it | here |
//! |---|---|---|
//! | virgin and baseline builds are development (PRODUCTION=0, DEVELOPMENT=1 forced) | BC PreProcessingMessages | [`build_flags`]; a machine whose settings say otherwise gets a warning |
//! | webservers admit the autoscalers (SSH, 443, 80) only with PRODUCTION:1 | WS SetupFirewall | [`Mode::production`] |
//! | the autoscaler's scaling lines only with PRODUCTION:1 | AS InitialiseCron | [`Mode::production`] |
//! | autoscalers are built only when PRODUCTION≠0, DEVELOPMENT≠1, BASELINE_DB_REPOSITORY≠VIRGIN | BC | [`builds_autoscalers`] |
//! | time-based backups unless BUILDARCHIVECHOICE is virgin or baseline; on the database also unless BYPASSDBLAYER:1 | WS/DB InitialiseCron | [`Mode::time_based_backups`] |
//! | a DBaaS deployment still runs the database machine, which makes the dumps, unless BYPASSDBLAYER:1 | DB | [`Mode::database_dumps`] |
//! | DISABLEHOURLY:1 skips the hourly backup's git and datastore copies | WS/DB Backup | [`Mode::backup_copies`] (the crontab's view: [`Mode::hourly_backup`]) |
//! | SUPERSAFEWEBROOT / SUPERSAFEDB: datastore copies of the backups | WS/DB Backup | [`Mode::backup_datastore_copy`] (`adt mode`'s view: [`Mode::datastore_copies`]) |
//! | live ACME only with PRODUCTION:1 and DEVELOPMENT:0 (staging otherwise) | WS ObtainSSLCertificate | [`Mode::acme_live`] |
//! | AllowGatewayBypass does nothing with DEVELOPMENT:1 and PRODUCTION:0 | WS AllowGatewayBypass | [`Mode::gateway_bypass`] |
//!
//! Conditions that legacy tested with CheckConfigValue (a grep of `KEY:value`) are tested the
//! same way ([`crate::config::check_value`]), so a settings file gives the same answer here.
//!
//! Differences from legacy: none in the gates; the inconsistencies legacy acted on silently
//! (PRODUCTION:1 on a virgin or baseline build, PRODUCTION and DEVELOPMENT both 1 or both 0,
//! BYPASSDBLAYER:1 without DBaaS) are named in [`Mode::warnings`].

use crate::config;
use crate::home::Machine;

/// What the deployment is, by the legacy rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deployment {
    Development,
    Production,
}

impl Deployment {
    pub fn name(self) -> &'static str {
        match self {
            Deployment::Development => "development",
            Deployment::Production => "production",
        }
    }
}

/// BUILDARCHIVECHOICE: where the build came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Archive {
    Virgin,
    Baseline,
    /// A temporal backup: hourly, daily, weekly, monthly, bimonthly.
    Temporal(String),
    /// Not set.
    Unset,
}

/// DATABASEINSTALLATIONTYPE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    MySQL,
    Maria,
    Postgres,
    /// A managed database; the engine is in DATABASEDBaaSINSTALLATIONTYPE.
    DBaaS,
    None,
    Other(String),
}

/// The typed view of a machine's settings.
#[derive(Clone, Debug)]
pub struct Mode {
    pub machine: Machine,
    /// PRODUCTION:1 (the flag as the machine's scripts test it).
    pub production_flag: bool,
    /// DEVELOPMENT:1.
    pub development_flag: bool,
    /// Whether the settings have a PRODUCTION or DEVELOPMENT line at all (the database
    /// machine's have neither).
    pub flags_present: bool,
    pub archive: Archive,
    pub bypass_db_layer: bool,
    pub database: Database,
    /// DATABASEDBaaSINSTALLATIONTYPE (empty unless DBaaS).
    pub dbaas: String,
    pub disable_hourly: bool,
    /// SUPERSAFEWEBROOT:1 (webserver, autoscaler) or SUPERSAFEDB:1 (database).
    pub supersafe: bool,
}

pub const PERIODS: [&str; 5] = ["hourly", "daily", "weekly", "monthly", "bimonthly"];

impl Mode {
    /// Read the settings text of a machine once.
    pub fn from_settings(machine: Machine, text: &str) -> Mode {
        let v = |k: &str| config::value(text, k).unwrap_or_default();
        let check = |p: &str| config::check_value(text, p) == "1\n";
        let archive = if check("BUILDARCHIVECHOICE:virgin") {
            Archive::Virgin
        } else if check("BUILDARCHIVECHOICE:baseline") {
            Archive::Baseline
        } else {
            match v("BUILDARCHIVECHOICE") {
                s if s.is_empty() => Archive::Unset,
                s => Archive::Temporal(s),
            }
        };
        let database = match v("DATABASEINSTALLATIONTYPE").as_str() {
            "MySQL" => Database::MySQL,
            "Maria" => Database::Maria,
            "Postgres" => Database::Postgres,
            "DBaaS" => Database::DBaaS,
            "None" | "" => Database::None,
            other => Database::Other(other.to_string()),
        };
        let supersafe = match machine {
            Machine::Database => v("SUPERSAFEDB") == "1",
            _ => v("SUPERSAFEWEBROOT") == "1",
        };
        Mode {
            machine,
            production_flag: v("PRODUCTION") == "1",
            development_flag: v("DEVELOPMENT") == "1",
            flags_present: config::value(text, "PRODUCTION").is_some()
                || config::value(text, "DEVELOPMENT").is_some(),
            archive,
            bypass_db_layer: v("BYPASSDBLAYER") == "1",
            database,
            dbaas: config::extract_values(text, "DATABASEDBaaSINSTALLATIONTYPE", true)
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            disable_hourly: v("DISABLEHOURLY") == "1",
            supersafe,
        }
    }

    /// PRODUCTION:1: the gate of the webservers' autoscaler rules and the autoscaler's scaling
    /// lines.
    pub fn production(&self) -> bool {
        self.production_flag
    }

    /// The deployment by the legacy rules: virgin and baseline builds are development whatever
    /// the flags say; otherwise production when PRODUCTION:1 and not DEVELOPMENT:1.
    pub fn deployment(&self) -> Deployment {
        match self.archive {
            Archive::Virgin | Archive::Baseline => Deployment::Development,
            _ if self.production_flag && !self.development_flag => Deployment::Production,
            _ => Deployment::Development,
        }
    }

    /// The time-based backup lines of the crontab (webserver and database).
    pub fn time_based_backups(&self) -> bool {
        matches!(self.machine, Machine::Webserver | Machine::Database)
            && !matches!(self.archive, Archive::Virgin | Archive::Baseline)
            && (self.machine != Machine::Database || !self.bypass_db_layer)
    }

    /// Whether the hourly backup makes its git and datastore copies.
    pub fn hourly_backup(&self) -> bool {
        self.time_based_backups() && !self.disable_hourly
    }

    /// Whether backups also go to the datastore (super-safe).
    pub fn datastore_copies(&self) -> bool {
        self.time_based_backups() && self.supersafe
    }

    /// Whether one backup run (Backup.sh, by cron or by hand; `hourly`: of the HOURLY period)
    /// makes its git and datastore copies: all but an hourly one under DISABLEHOURLY:1. Not
    /// gated on [`Mode::time_based_backups`]: legacy Backup.sh backs up whatever the build was
    /// made from when it is called.
    pub fn backup_copies(&self, hourly: bool) -> bool {
        !(hourly && self.disable_hourly)
    }

    /// Whether that run also makes the super-safe datastore copy (SUPERSAFEWEBROOT:1 on a
    /// webserver, SUPERSAFEDB:1 on the database machine).
    pub fn backup_datastore_copy(&self, hourly: bool) -> bool {
        self.supersafe && self.backup_copies(hourly)
    }

    /// Whether the database machine makes the database dumps: it does, DBaaS or not, unless
    /// BYPASSDBLAYER:1.
    pub fn database_dumps(&self) -> bool {
        !self.bypass_db_layer
    }

    /// The host the dumps are taken from: the managed database, or the machine itself.
    pub fn dumps_from_dbaas(&self) -> bool {
        self.database == Database::DBaaS
    }

    /// Live ACME certificates (staging otherwise).
    pub fn acme_live(&self) -> bool {
        self.production_flag && !self.development_flag
    }

    /// Whether WS AllowGatewayBypass.sh acts.
    pub fn gateway_bypass(&self) -> bool {
        !self.development_flag || self.production_flag
    }

    /// Inconsistent settings that legacy acted on silently, one line each.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.production_flag && matches!(self.archive, Archive::Virgin | Archive::Baseline) {
            w.push(format!(
                "PRODUCTION:1 with BUILDARCHIVECHOICE:{}: the build machine makes virgin and baseline builds development; this machine's firewall and crons follow PRODUCTION:1 all the same",
                self.archive_name()
            ));
        }
        if self.production_flag == self.development_flag && self.flags_present {
            w.push(format!(
                "PRODUCTION and DEVELOPMENT are both {}: the toolkit sets exactly one of them",
                u8::from(self.production_flag)
            ));
        }
        if self.bypass_db_layer && self.database != Database::DBaaS {
            w.push("BYPASSDBLAYER:1 without DATABASEINSTALLATIONTYPE:DBaaS: nothing makes database backups".into());
        }
        w
    }

    pub fn archive_name(&self) -> String {
        match &self.archive {
            Archive::Virgin => "virgin".into(),
            Archive::Baseline => "baseline".into(),
            Archive::Temporal(s) => s.clone(),
            Archive::Unset => String::new(),
        }
    }

    pub fn database_name(&self) -> String {
        match &self.database {
            Database::MySQL => "MySQL".into(),
            Database::Maria => "Maria".into(),
            Database::Postgres => "Postgres".into(),
            Database::DBaaS => "DBaaS".into(),
            Database::None => "None".into(),
            Database::Other(s) => s.clone(),
        }
    }
}

/// Whether this 2025 webserver host is the one in front of the authentication server: there
/// are authenticators (not NOAUTHENTICATORS:0) and it is a reverse proxy (`-rp-`) when there
/// are reverse proxies, else a webserver (`ws-`); never an authenticator (`-auth-`). Its
/// crontab runs AllowAuthenticatorIPAddress and its firewall admits the authorised clients.
pub fn fronts_authenticator(settings: &str, hostname: &str) -> bool {
    let check = |p: &str| config::check_value(settings, p) == "1\n";
    !hostname.contains("-auth-")
        && !check("NOAUTHENTICATORS:0")
        && ((!check("NOREVERSEPROXY:0") && hostname.contains("-rp-"))
            || (check("NOREVERSEPROXY:0") && hostname.starts_with("ws-")))
}

/// The build machine's rule (PreProcessingMessages, both generations): the PRODUCTION and
/// DEVELOPMENT a build gets from the operator's answer and its build archive choice.
pub fn build_flags(production_asked: bool, archive_choice: &str) -> (bool, bool) {
    if matches!(archive_choice, "virgin" | "baseline") {
        (false, true)
    } else {
        (production_asked, !production_asked)
    }
}

/// The build machine builds autoscalers only when PRODUCTION≠0, DEVELOPMENT≠1 and
/// BASELINE_DB_REPOSITORY≠VIRGIN.
pub fn builds_autoscalers(
    production: bool,
    development: bool,
    baseline_db_repository: &str,
) -> bool {
    production && !development && baseline_db_repository != "VIRGIN"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_in_front_of_the_authenticator() {
        let proxies = "NOREVERSEPROXY:1\nNOAUTHENTICATORS:1\n";
        assert!(fronts_authenticator(proxies, "rp-lon1-p1-rp-1"));
        assert!(!fronts_authenticator(proxies, "ws-lon1-p1-1"));
        assert!(!fronts_authenticator(proxies, "auth-lon1-p1-auth-1"));
        let direct = "NOREVERSEPROXY:0\nNOAUTHENTICATORS:1\n";
        assert!(fronts_authenticator(direct, "ws-lon1-p1-1"));
        assert!(!fronts_authenticator(direct, "rp-lon1-p1-rp-1"));
        assert!(!fronts_authenticator(
            "NOAUTHENTICATORS:0\n",
            "rp-lon1-p1-rp-1"
        ));
    }

    fn m(machine: Machine, s: &str) -> Mode {
        Mode::from_settings(machine, s)
    }

    #[test]
    fn virgin_and_baseline_builds_are_development() {
        assert_eq!(build_flags(true, "virgin"), (false, true));
        assert_eq!(build_flags(true, "baseline"), (false, true));
        assert_eq!(build_flags(true, "hourly"), (true, false));
        assert_eq!(build_flags(false, "daily"), (false, true));
        assert!(!builds_autoscalers(false, true, "x"));
        assert!(builds_autoscalers(true, false, "x"));
        assert!(!builds_autoscalers(true, false, "VIRGIN"));
        let ws = m(
            Machine::Webserver,
            "PRODUCTION:1\nDEVELOPMENT:0\nBUILDARCHIVECHOICE:baseline\n",
        );
        assert_eq!(ws.deployment(), Deployment::Development);
        assert!(ws.production(), "the machine's gates follow its flag");
        assert!(!ws.time_based_backups());
        assert!(ws.warnings()[0].contains("BUILDARCHIVECHOICE:baseline"));
    }

    #[test]
    fn production_from_a_temporal_backup() {
        let ws = m(
            Machine::Webserver,
            "PRODUCTION:1\nDEVELOPMENT:0\nBUILDARCHIVECHOICE:hourly\nDISABLEHOURLY:1\nSUPERSAFEWEBROOT:1\n",
        );
        assert_eq!(ws.deployment(), Deployment::Production);
        assert!(ws.time_based_backups() && !ws.hourly_backup() && ws.datastore_copies());
        assert!(!ws.backup_copies(true) && !ws.backup_datastore_copy(true));
        assert!(ws.backup_copies(false) && ws.backup_datastore_copy(false));
        // A run by hand on a baseline build still backs up, as legacy Backup.sh did.
        let b = m(
            Machine::Webserver,
            "BUILDARCHIVECHOICE:baseline\nSUPERSAFEWEBROOT:1\n",
        );
        assert!(!b.datastore_copies() && b.backup_datastore_copy(true));
        let db = m(Machine::Database, "SUPERSAFEWEBROOT:1\nSUPERSAFEDB:0\n");
        assert!(
            !db.backup_datastore_copy(false),
            "the database machine reads SUPERSAFEDB"
        );
        assert!(ws.acme_live() && ws.gateway_bypass());
        assert!(ws.warnings().is_empty(), "{:?}", ws.warnings());
    }

    #[test]
    fn a_dbaas_deployment_still_runs_the_database_machine_for_backups() {
        let db = m(
            Machine::Database,
            "DATABASEINSTALLATIONTYPE:DBaaS\nDATABASEDBaaSINSTALLATIONTYPE:MySQL:DBAAS:mysql:lon1:1\nBUILDARCHIVECHOICE:daily\n",
        );
        assert!(db.database_dumps() && db.time_based_backups() && db.dumps_from_dbaas());
        assert_eq!(db.dbaas, "MySQL DBAAS mysql lon1 1");
        let bypass = m(
            Machine::Database,
            "DATABASEINSTALLATIONTYPE:DBaaS\nBYPASSDBLAYER:1\nBUILDARCHIVECHOICE:daily\n",
        );
        assert!(!bypass.database_dumps() && !bypass.time_based_backups());
        // BYPASSDBLAYER does not stop the webserver's backups.
        let ws = m(
            Machine::Webserver,
            "BYPASSDBLAYER:1\nBUILDARCHIVECHOICE:daily\n",
        );
        assert!(ws.time_based_backups());
        let odd = m(
            Machine::Database,
            "DATABASEINSTALLATIONTYPE:Maria\nBYPASSDBLAYER:1\n",
        );
        assert!(odd.warnings()[0].contains("nothing makes database backups"));
    }

    #[test]
    fn development_stages_certificates_and_skips_the_gateway_bypass() {
        let ws = m(Machine::Webserver, "PRODUCTION:0\nDEVELOPMENT:1\n");
        assert_eq!(ws.deployment(), Deployment::Development);
        assert!(!ws.acme_live() && !ws.gateway_bypass() && !ws.production());
    }
}
