//! InitialiseCron: the 2022 crontabs of the autoscaler, webserver and database (and the 2025
//! autoscaler's and database's, `cron/InitialiseCron.sh`: [`lines_in`]), byte for byte
//! (`<schedule> export HOME=<H> && <H>/<script>`, `<H>` expanded, no quotes; the autoscaler's
//! `30 7 * * *  ` keeps its two spaces), pointing at the legacy paths where our launchers live.
//!
//! Differences from the legacy generators: lines ADT did not write are kept (the autoscaler's
//! truncated the file, the webserver's appended duplicates on every run); a second run with
//! the same settings changes nothing and does not reinstall; the file is replaced atomically.
//! A moodle webserver also gets Moodle's cron in `www-data`'s crontab ([`MOODLE_CRON`]): the
//! file `www-data` beside the root crontab, installed with `crontab -u www-data`.

use crate::config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::home::Machine;
use crate::mode::Mode;
use crate::process::Run;
use std::path::{Path, PathBuf};

/// When a line is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum When {
    Always,
    /// PRODUCTION:1 (autoscaler).
    Production,
    /// GATEWAYGUARDIAN:1 (CheckConfigValue).
    Gateway,
    /// PERSISTASSETSTOCLOUD is exactly 1 / exactly 2.
    Persist1,
    Persist2,
    /// Time-based backups: BUILDARCHIVECHOICE neither virgin nor baseline (webserver), and
    /// BYPASSDBLAYER not 1 (database).
    Backups,
    /// `${HOME}/runtime/POSTGRES_FROM_SOURCE` exists.
    PostgresFromSource,
    /// MULTIREGION is exactly 1 (2025 autoscaler).
    MultiRegion,
    /// CheckConfigValue PRODUCTION:1 (2025 autoscaler: an unanchored match).
    ProductionCheck,
    /// buildstyles.dat has a `VIRUSSCANNER:` line whose last field is one of `daily weekly
    /// monthly` (legacy: a substring of that list) (2025).
    VirusScanner,
    /// 2025 webserver: the host name starts with `ws-` or contains `-rp-` (a webserver or a
    /// reverse proxy) and not `-auth-` (legacy tests for an authenticator first).
    WsOrRp,
    /// 2025 webserver: the host name contains `-auth-` (an authenticator), of AUTHENTICATORTYPE
    /// `firewall` / `basic-auth` for the second and third.
    AuthHost,
    AuthHostFirewall,
    AuthHostBasic,
    /// APPLICATION is drupal.
    Drupal,
    /// NOREVERSEPROXY is not exactly 0.
    ReverseProxies,
    /// PERSISTASSETSTODATASTORE is exactly 1.
    PersistAssets,
    /// CheckConfigValue SYNCWEBROOTS:1.
    SyncWebroots,
    /// This host admits the authenticator's users (see [`Inputs::authenticated`]), of type
    /// `firewall` / `basic-auth`.
    AuthFirewall,
    AuthBasic,
}

use When::*;

const H: &str = "export HOME={H} && {H}/";

/// (condition, line); `{H}` is the home, `{WS}` WEBSERVERCHOICE, `{ID}` BUILDIDENTIFIER,
/// `{TZ}` `<continent>/<city>`.
fn template(m: Machine) -> Vec<(When, String)> {
    let h = |sched: &str, script: &str| format!("{sched} {H}{script}");
    let backups = |v: &mut Vec<(When, String)>| {
        for (sched, period) in [
            ("2 * * * *", "HOURLY"),
            ("8 2 * * *", "DAILY"),
            ("8 3 * * 7", "WEEKLY"),
            ("8 4 1 * *", "MONTHLY"),
            ("8 5 1 Jan,Mar,May,Jul,Sep,Nov *", "BIMONTHLY"),
        ] {
            v.push((
                Backups,
                format!("{sched} {H}cron/BackupFromCron.sh '{period}' {{ID}}"),
            ));
        }
    };
    let find_lock = "*/1 * * * * export HOME={H} && /usr/bin/find {H}/runtime -name *lock* -type f -mmin +35 -delete".to_string();
    let reboot_find =
        "@reboot export HOME={H} && /usr/bin/find {H}/runtime -name *lock* -type f -delete"
            .to_string();
    let update_ip =
        "*/1 * * * * export HOME={H} && /bin/sleep 30 && {H}/providerscripts/utilities/UpdateIP.sh"
            .to_string();
    let tz = "@reboot export TZ=\":{TZ}\"".to_string();
    let knickers =
        "@reboot /bin/sleep 600 && export HOME={H} && {H}/security/KnickersUp.sh".to_string();
    let a = |s: String| (Always, s);
    match m {
        Machine::Autoscaler => vec![
            a("MAILTO=''".into()),
            a(update_ip),
            a("*/1 * * * * export HOME={H} && /usr/bin/find {H}/runtime/UPDATEDSSL -type f -mmin +15 -delete".into()),
            a(find_lock),
            a(h("*/1 * * * *", "security/MonitorForNewSSLCertificate.sh")),
            a(h("*/1 * * * *", "providerscripts/utilities/BroadcastSSLAccount.sh")),
            a(h("*/1 * * * *", "providerscripts/datastore/ObtainBuildClientIP.sh")),
            a(h("*/1 * * * *", "cron/SetupFirewallFromCron.sh")),
            a(h("*/1 * * * *", "autoscaler/PurgeDetachedIPs.sh")),
            a(h("*/5 * * * *", "security/MonitorFirewall.sh")),
            a(h("*/5 * * * *", "autoscaler/MonitorForSlowBuilds.sh")),
            a(h("*/10 * * * *", "providerscripts/utilities/EnforcePermissions.sh")),
            a("30 2 * * * /usr/sbin/ufw --force reset".into()),
            a(h("@daily", "providerscripts/utilities/PerformSoftwareUpdate.sh")),
            a(h("@reboot", "providerscripts/cloudhost/ConfigureProvider.sh")),
            a(tz),
            a(h("@reboot", "providerscripts/utilities/CleanupAtReboot.sh")),
            a(h("@reboot", "providerscripts/utilities/SetHostname.sh")),
            a(knickers),
            a(reboot_find),
            a(h("@reboot", "providerscripts/utilities/GetIP.sh")),
            a(h("@reboot", "providerscripts/utilities/UpdateInfrastructure.sh")),
            a(h("@reboot", "providerscripts/utilities/MonitorCron.sh")),
            (Production, h("*/2 * * * *", "cron/AutoscaleFromCron.sh")),
            (Production, h("*/3 * * * *", "cron/DeadOrAliveFromCron.sh")),
            (Production, h("30 7 * * * ", "providerscripts/utilities/DailyScaleup.sh 3")),
            (Production, h("30 17 * * *", "providerscripts/utilities/DailyScaledown.sh 2")),
        ],
        Machine::Webserver => {
            let mut v = vec![
                a(h("*/1 * * * *", "providerscripts/webserver/CheckWebserverIsUp.sh {WS}")),
                a(h("*/1 * * * *", "providerscripts/application/configuration/ConfigureDBAccessByApplication.sh")),
                a(h("*/1 * * * *", "providerscripts/application/configuration/InitialiseVirginInstallByApplication.sh")),
                a(h("*/1 * * * *", "providerscripts/application/configuration/InstallConfigurationByApplication.sh")),
                a(h("*/1 * * * *", "providerscripts/utilities/AcknowledgeBuildCompletion.sh")),
                a(update_ip),
                a(h("*/1 * * * *", "security/MonitorForNewSSLCertificate.sh")),
                (Gateway, h("*/1 * * * *", "providerscripts/webserver/configuration/AllowGatewayBypass.sh")),
                (Gateway, h("*/1 * * * *", "security/GatewayGuardian.sh")),
                (Gateway, h("@reboot", "security/GatewayGuardian.sh")),
                a(find_lock),
                a(h("*/1 * * * *", "cron/PurgeDodgyMountsCron.sh")),
                a(h("*/1 * * * *", "providerscripts/application/configuration/ShareApplicationConfiguration.sh")),
                (Persist1, h("*/1 * * * *", "providerscripts/datastore/SetupAssetsStore.sh")),
                (Persist2, h("*/1 * * * *", "providerscripts/datastore/SetupPollingAssetsStore.sh")),
                a(h("*/1 * * * *", "providerscripts/datastore/ObtainBuildClientIP.sh")),
                a(h("*/1 * * * *", "cron/SetupFirewallFromCron.sh")),
                a(h("*/1 * * * *", "providerscripts/utilities/MarkedForShutdown.sh")),
                a(h("*/5 * * * *", "security/MonitorFirewall.sh")),
                a("*/5 * * * * export HOME={H} &&  /bin/sleep 20 && {H}/cron/SyncToWebrootTunnelFromCron.sh && /bin/sleep 60 && {H}/cron/SyncFromWebrootTunnelFromCron.sh".into()),
                (Backups, h("30 5 * * *", "providerscripts/utilities/EnforcePermissions.sh")),
            ];
            backups(&mut v);
            v.extend([
                a(h("30 02 * * *", "providerscripts/utilities/RegulateSyncProcessReset.sh")),
                a(h("00 4 * * *", "cron/InstallSSLCertificateFromCron.sh")),
                a(h("@daily", "providerscripts/utilities/PerformSoftwareUpdate.sh")),
                a(h("@reboot", "providerscripts/webserver/RestartWebserver.sh")),
                a(h("@reboot", "providerscripts/application/configuration/InstallConfigurationByApplication.sh")),
                a(h("@reboot", "providerscripts/utilities/CleanupAtReboot.sh")),
                a(h("@reboot", "providerscripts/utilities/SetHostname.sh")),
                a(knickers),
                a("@reboot /bin/sleep 20 && export HOME={H} && {H}/providerscripts/utilities/UpdateWebroot.sh".into()),
                a(h("@reboot", "providerscripts/utilities/EnforcePermissions.sh")),
                a(reboot_find),
                a(h("@reboot", "providerscripts/utilities/GetIP.sh")),
                a(h("@reboot", "providerscripts/utilities/UpdateInfrastructure.sh")),
                a(h("@reboot", "providerscripts/utilities/MonitorCron.sh")),
                a(tz),
            ]);
            v
        }
        Machine::Database => {
            let mut v = vec![
                a("MAILTO=''".into()),
                a(h("*/1 * * * *", "providerscripts/utilities/PrimeCredentials.sh")),
                a(h("*/1 * * * *", "providerscripts/utilities/EnsureAccessForWebservers.sh")),
                a("*/1 * * * * export HOME={H} && /bin/chmod 700 {H}/.ssh/*".into()),
                a(find_lock),
                a(h("*/1 * * * *", "providerscripts/utilities/PurgeDodgyMounts.sh")),
                a(h("*/1 * * * *", "providerscripts/datastore/ObtainBuildClientIP.sh")),
                a(h("*/1 * * * *", "cron/SetupFirewallFromCron.sh")),
                a(h("*/1 * * * *", "providerscripts/database/singledb/ExtractIPMaskAndGrant.sh")),
                a(update_ip),
                (Gateway, h("*/1 * * * *", "security/GatewayGuardian.sh")),
                (Gateway, h("#@monthly", "security/GatewayGuardian.sh 'fromcronreset'")),
                a(h("*/5 * * * *", "security/MonitorFirewall.sh")),
                a(h("*/10 * * * *", "providerscripts/utilities/EnforcePermissions.sh")),
            ];
            backups(&mut v);
            v.extend([
                a(h("@daily", "providerscripts/utilities/MonitorFreeDiskSpace.sh")),
                a(h("@daily", "providerscripts/utilities/PerformSoftwareUpdate.sh")),
                a(h("@reboot", "providerscripts/utilities/CleanupAtReboot.sh")),
                a(tz),
                a(h("@reboot", "providerscripts/utilities/SetHostname.sh")),
                a(knickers),
                a(reboot_find),
                a(h("@reboot", "providerscripts/utilities/GetIP.sh")),
                a(h("@reboot", "providerscripts/utilities/UpdateInfrastructure.sh")),
                a(h("@reboot", "providerscripts/utilities/MonitorCron.sh")),
                (PostgresFromSource, h("@reboot", "providerscripts/database/singledb/postgres/InitialiseDatabaseConfig.sh")),
            ]);
            v
        }
        Machine::Build => vec![],
    }
}

/// The 2025 crontabs (`cron/InitialiseCron.sh` of the end-2025 autoscaler and database
/// scripts): `{VS}` is the virus scanner's periodicity, `{RAND}` its start delay. The legacy
/// script drew the delay with `shuf -i1-1000` on every run; ours is drawn once per home (a hash
/// of its path, 1 to 1000), so that a second run changes nothing.
fn template_2025(m: Machine) -> Vec<(When, String)> {
    let h = |sched: &str, script: &str| format!("{sched} {H}{script}");
    let a = |s: String| (Always, s);
    let tz = "@reboot export TZ=\":{TZ}\"".to_string();
    let virus = (
        VirusScanner,
        "@{VS} export HOME={H} && /bin/sleep {RAND} && /usr/bin/nice -n 15 {H}/utilities/security/VirusScan.sh"
            .to_string(),
    );
    match m {
        Machine::Autoscaler => vec![
            a("MAILTO=''".into()),
            a(h("*/1 * * * *", "utilities/security/AuditSSHConnections.sh")),
            a("*/1 * * * * export HOME={H} && /bin/sleep 30 && {H}/utilities/processing/UpdateIPs.sh".into()),
            a(h("*/1 * * * *", "cron/SetupFirewallFromCron.sh")),
            a(h("*/1 * * * *", "utilities/housekeeping/RemoveExpiredLocks.sh")),
            a(h("*/1 * * * *", "utilities/status/MonitorForOverload.sh")),
            a(h("*/1 * * * *", "utilities/status/CheckNetworkManagerStatus.sh")),
            (MultiRegion, h("*/1 * * * *", "providerscripts/dbaas/AdjustDBaaSFirewall.sh")),
            a("*/5 * * * * export HOME={H} && /bin/sleep 23 && {H}/security/MonitorFirewall.sh".into()),
            a(h("*/5 * * * *", "autoscaler/RecordNumberOfWebserversRunning.sh")),
            a(h("*/10 * * * *", "utilities/security/EnforcePermissions.sh")),
            a(h("*/10 * * * *", "utilities/status/MonitorCron.sh")),
            a(h("@hourly", "utilities/status/LoadMonitoring.sh")),
            a(h("22 4 * * * ", "utilities/software/UpdateSoftware.sh")),
            a(tz),
            a(h("@reboot", "utilities/software/UpdateInfrastructure.sh")),
            a(h("@reboot", "utilities/housekeeping/RemoveExpiredLocks.sh reboot")),
            a(h("@reboot", "utilities/status/LoadMonitoring.sh 'reboot'")),
            a(h("@reboot", "utilities/status/CheckNetworkManagerStatus.sh")),
            (ProductionCheck, h("*/2 * * * *", "cron/PerformScalingFromCron.sh")),
            (ProductionCheck, h("*/3 * * * *", "cron/DeadOrAliveFromCron.sh")),
            a(h("30 3 * * * ", "utilities/housekeeping/RemoveExpiredLogs.sh")),
            virus,
        ],
        Machine::Database => vec![
            a("MAILTO=''".into()),
            a(h("*/1 * * * *", "utilities/security/AuditSSHConnections.sh")),
            a(h("*/1 * * * *", "cron/SetupFirewallFromCron.sh")),
            a("*/1 * * * * export HOME={H} && /bin/sleep 30 && {H}/utilities/processing/UpdateIPs.sh".into()),
            a(h("*/1 * * * *", "utilities/housekeeping/RemoveExpiredLocks.sh")),
            a(h("*/1 * * * *", "utilities/status/MonitorForOverload.sh")),
            a(h("*/1 * * * *", "utilities/status/IsDatabaseUp.sh")),
            a(h("*/1 * * * *", "utilities/status/CheckNetworkManagerStatus.sh")),
            a("*/5 * * * * export HOME={H} &&  /bin/sleep 23 && {H}/security/MonitorFirewall.sh".into()),
            a(h("*/10 * * * *", "utilities/security/EnforcePermissions.sh")),
            a(h("*/10 * * * *", "utilities/status/MonitorCron.sh")),
            a(h("2 * * * *", "cron/BackupFromCron.sh 'HOURLY'")),
            a(h("30 2 * * *", "cron/BackupFromCron.sh 'DAILY'")),
            a(h("30 3 * * 7", "cron/BackupFromCron.sh 'WEEKLY'")),
            a(h("30 4 1 * *", "cron/BackupFromCron.sh 'MONTHLY'")),
            a(h("30 5 1 Jan,Mar,May,Jul,Sep,Nov *", "cron/BackupFromCron.sh 'BIMONTHLY'")),
            a(h("22 4 * * * ", "utilities/software/UpdateSoftware.sh")),
            a(h("30 3 * * * ", "utilities/housekeeping/RemoveExpiredLogs.sh")),
            a(h("@hourly", "providerscripts/datastore/configwrapper/DeleteFromConfigDatastore.sh 'dbbackuplock.file'")),
            a(h("@hourly", "utilities/status/LoadMonitoring.sh")),
            a(tz),
            a(h("@reboot", "utilities/housekeeping/CleanupAtReboot.sh")),
            a(h("@reboot", "utilities/housekeeping/RemoveExpiredLocks.sh reboot")),
            a(h("@reboot", "utilities/processing/GetIP.sh")),
            a(h("@reboot", "utilities/software/UpdateInfrastructure.sh")),
            a(h("@reboot", "utilities/status/LoadMonitoring.sh 'reboot'")),
            a(h("@reboot", "utilities/status/CheckNetworkManagerStatus.sh")),
            virus,
        ],
        Machine::Webserver => {
            let b = |w: When, s: String| (w, s);
            let mut v = vec![a("MAILTO=''".into())];
            // An authenticator's branch (legacy: tested first, then the common lines).
            v.push(b(AuthHost, h("*/1 * * * *", "providerscripts/webserver/CheckWebserverIsUp.sh {WS}")));
            for (w, script) in [
                (AuthHostFirewall, "firewall/AcceptIPAddresses.sh"),
                (AuthHostFirewall, "firewall/GenerateAuthenticationEmails.sh"),
                (AuthHostBasic, "basic-auth/GenerateBasicAuthConfig.sh"),
            ] {
                for sleep in ["", "10", "20", "30", "40", "50"] {
                    let pre = if sleep.is_empty() { String::new() } else { format!("/bin/sleep {sleep} && ") };
                    v.push((w, format!("*/1 * * * * export HOME={{H}} && {pre}{{H}}/providerscripts/webserver/configuration/authenticator/{script}")));
                }
                if script.ends_with("Emails.sh") {
                    v.push((w, "*/1 * * * * /usr/bin/find /var/www/html/ip-address* -mmin +5 -type f -exec rm -fv {} \\;".into()));
                }
            }
            v.extend([
                b(AuthHost, h("22 4 * * *", "utilities/software/UpdateSoftware.sh")),
                b(AuthHost, "45 4 * * * export HOME={H} && /bin/rm {H}/runtime/FIREWALL-ACTIVE".into()),
            ]);
            v.extend([
                b(Drupal, h("*/1 * * * *", "application/processing/drupal/ValidateCacheStatus.sh")),
                b(ReverseProxies, "*/1 * * * * export HOME={H} && /bin/sleep 30 && {H}/providerscripts/webserver/configuration/reverseproxy/EnsureReverseProxyWebserverIPs.sh".into()),
                b(ReverseProxies, h("*/1 * * * *", "providerscripts/webserver/configuration/reverseproxy/EnsureReverseProxyWebserverIPs.sh")),
                b(WsOrRp, h("*/1 * * * *", "providerscripts/webserver/CheckWebserverIsUp.sh {WS}")),
                b(WsOrRp, h("*/1 * * * *", "application/configuration/UpdateApplicationConfiguration.sh")),
                b(WsOrRp, h("*/1 * * * *", "utilities/status/MonitorForOverload.sh")),
                b(WsOrRp, h("*/1 * * * *", "utilities/housekeeping/RemoveExpiredLocks.sh")),
                b(WsOrRp, h("*/1 * * * *", "cron/ExecuteApplicationSpecificCronjob.sh")),
                b(PersistAssets, h("*/1 * * * *", "providerscripts/datastore/assets/SetupAssetsStore.sh")),
                b(SyncWebroots, h("*/1 * * * *", "providerscripts/datastore/webroot-sync/WebrootSyncingController.sh")),
                b(SyncWebroots, "*/1 * * * * export HOME={H} && /bin/sleep 30 && {H}/providerscripts/datastore/webroot-sync/WebrootSyncingController.sh".into()),
            ]);
            // The legacy lines' spacing, kept: `&&{H}` at 20 and 40 s, `&&  {H}` from 30 s.
            for (sleep, sep) in [("", " "), ("10", " "), ("20", ""), ("30", " "), ("40", ""), ("50", " ")] {
                let pre = if sleep.is_empty() { String::new() } else { format!("/bin/sleep {sleep} &&{sep}") };
                v.push((AuthFirewall, format!("*/1 * * * * export HOME={{H}} && {pre}{{H}}/security/AllowAuthenticatorIPAddress.sh")));
            }
            for (sleep, sep) in [("", " "), ("10", " "), ("20", " "), ("30", "  "), ("40", "  "), ("50", "  ")] {
                let pre = if sleep.is_empty() { String::new() } else { format!("/bin/sleep {sleep} &&{sep}") };
                v.push((AuthBasic, format!("*/1 * * * * export HOME={{H}} && {pre}{{H}}/security/ObtainBasicAuthCredentials.sh")));
            }
            v.extend([
                b(WsOrRp, h("30 1 * * *", "utilities/security/EnforcePermissions.sh")),
                b(WsOrRp, h("2 * * * *", "cron/BackupFromCron.sh 'HOURLY'")),
                b(WsOrRp, h("30 2 * * *", "cron/BackupFromCron.sh 'DAILY'")),
                b(WsOrRp, h("30 3 * * 7", "cron/BackupFromCron.sh 'WEEKLY'")),
                b(WsOrRp, h("30 4 1 * *", "cron/BackupFromCron.sh 'MONTHLY'")),
                b(WsOrRp, h("30 5 1 Jan,Mar,May,Jul,Sep,Nov *", "cron/BackupFromCron.sh 'BIMONTHLY'")),
                a(h("*/1 * * * *", "utilities/security/AuditSSHConnections.sh")),
                a(h("*/1 * * * *", "utilities/processing/UpdateIPs.sh")),
                a("*/1 * * * * export HOME={H} && /bin/sleep 30 && {H}/utilities/processing/UpdateIPs.sh".into()),
                a(h("*/1 * * * *", "cron/SetupFirewallFromCron.sh")),
                a(h("*/1 * * * *", "utilities/status/MarkedForShutdown.sh")),
                a(h("*/1 * * * *", "utilities/status/CheckNetworkManagerStatus.sh")),
                a("*/5 * * * * export HOME={H} &&  /bin/sleep 23 && {H}/security/MonitorFirewall.sh".into()),
                a(h("*/10 * * * *", "utilities/status/MonitorCron.sh")),
                a(h("35 3 * * *", "providerscripts/security/ssl/RenewSSLCertificate.sh")),
                a(h("30 3 * * * ", "utilities/housekeeping/RemoveExpiredLogs.sh")),
                a(h("22 4 * * * ", "utilities/software/UpdateSoftware.sh")),
                a("@hourly export HOME=\"{H}\" && {H}/providerscripts/datastore/configwrapper/DeleteFromConfigDatastore.sh \"backuplock.*.file\"".into()),
                a(h("@hourly", "utilities/status/LoadMonitoring.sh")),
                a(h("@reboot", "utilities/status/CheckNetworkManagerStatus.sh")),
                a(h("@reboot", "providerscripts/webserver/RestartWebserver.sh")),
                a(h("@reboot", "utilities/housekeeping/CleanupAtReboot.sh")),
                a(h("@reboot", "utilities/processing/GetIP.sh")),
                a(h("@reboot", "utilities/software/UpdateInfrastructure.sh")),
                a(h("@reboot", "utilities/housekeeping/RemoveExpiredLocks.sh reboot")),
                a(h("@reboot", "utilities/status/LoadMonitoring.sh 'reboot'")),
                a(tz),
                virus,
            ]);
            v
        }
        Machine::Build => vec![],
    }
}

pub use crate::home::hostname;

fn template_of(table: crate::layout::Crontab, m: Machine) -> Vec<(When, String)> {
    match table {
        crate::layout::Crontab::V2022 => template(m),
        crate::layout::Crontab::V2025 => template_2025(m),
    }
}

/// The virus scanner's periodicity from a 2025 home's `runtime/buildstyles.dat`: the last field
/// of the `VIRUSSCANNER:` line.
fn virus_periodicity(home: &Path) -> String {
    let styles = std::fs::read_to_string(home.join("runtime/buildstyles.dat")).unwrap_or_default();
    styles
        .lines()
        .find(|l| l.starts_with("VIRUSSCANNER:"))
        .and_then(|l| l.rsplit(':').next())
        .unwrap_or("")
        .to_string()
}

/// What the conditions are evaluated from.
pub struct Inputs<'a> {
    pub home: &'a Path,
    pub settings: &'a str,
}

impl Inputs<'_> {
    fn holds(&self, w: When, mode: &Mode) -> bool {
        let v = |k: &str| config::value(self.settings, k).unwrap_or_default();
        let check = |p: &str| config::check_value(self.settings, p) == "1\n";
        match w {
            Always => true,
            Production => mode.production(),
            Gateway => check("GATEWAYGUARDIAN:1"),
            Persist1 => v("PERSISTASSETSTOCLOUD") == "1",
            Persist2 => v("PERSISTASSETSTOCLOUD") == "2",
            Backups => mode.time_based_backups(),
            PostgresFromSource => self.home.join("runtime/POSTGRES_FROM_SOURCE").exists(),
            MultiRegion => v("MULTIREGION") == "1",
            ProductionCheck => check("PRODUCTION:1"),
            VirusScanner => {
                let p = virus_periodicity(self.home);
                !p.is_empty() && "daily weekly monthly".contains(&p)
            }
            WsOrRp => {
                let h = hostname();
                (h.starts_with("ws-") || h.contains("-rp-")) && !h.contains("-auth-")
            }
            AuthHost => hostname().contains("-auth-"),
            AuthHostFirewall => self.holds(AuthHost, mode) && v("AUTHENTICATORTYPE") == "firewall",
            AuthHostBasic => self.holds(AuthHost, mode) && v("AUTHENTICATORTYPE") == "basic-auth",
            Drupal => self.holds(WsOrRp, mode) && v("APPLICATION") == "drupal",
            ReverseProxies => self.holds(WsOrRp, mode) && v("NOREVERSEPROXY") != "0",
            PersistAssets => self.holds(WsOrRp, mode) && v("PERSISTASSETSTODATASTORE") == "1",
            SyncWebroots => self.holds(WsOrRp, mode) && check("SYNCWEBROOTS:1"),
            AuthFirewall => self.authenticated() && v("AUTHENTICATORTYPE") == "firewall",
            AuthBasic => self.authenticated() && v("AUTHENTICATORTYPE") == "basic-auth",
        }
    }

    /// Whether the 2025 webserver admits the authenticator's users: there are authenticators
    /// (not NOAUTHENTICATORS:0) and this is the host in front (a reverse proxy when there are
    /// reverse proxies, else a webserver).
    fn authenticated(&self) -> bool {
        crate::mode::fronts_authenticator(self.settings, &hostname())
    }

    fn fill(&self, line: &str) -> String {
        let v = |k: &str| config::value(self.settings, k).unwrap_or_default();
        let mut line = line.to_string();
        if line.contains("{VS}") {
            // FNV-1a of the home's path: a delay of 1 to 1000 s, the same on every run.
            let hash = self
                .home
                .to_string_lossy()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
            line = line
                .replace("{VS}", &virus_periodicity(self.home))
                .replace("{RAND}", &(hash % 1000 + 1).to_string());
        }
        line.replace("{H}", &self.home.to_string_lossy())
            .replace("{WS}", &v("WEBSERVERCHOICE"))
            .replace("{ID}", &v("BUILDIDENTIFIER"))
            .replace(
                "{TZ}",
                &format!(
                    "{}/{}",
                    v("SERVERTIMEZONECONTINENT"),
                    v("SERVERTIMEZONECITY")
                ),
            )
    }
}

/// The crontab lines ADT writes for this machine and these settings, in the legacy order.
pub fn lines(machine: Machine, inp: &Inputs) -> Vec<String> {
    lines_in(crate::layout::Crontab::V2022, machine, inp)
}

/// [`lines`] from a generation's crontab.
pub fn lines_in(table: crate::layout::Crontab, machine: Machine, inp: &Inputs) -> Vec<String> {
    let mode = Mode::from_settings(machine, inp.settings);
    template_of(table, machine)
        .into_iter()
        .filter(|(w, _)| inp.holds(*w, &mode))
        .map(|(_, l)| inp.fill(&l))
        .collect()
}

/// The lines of [`lines`] that the mode decides (the autoscaler's scaling lines, the backup
/// lines), for `adt mode`.
pub fn mode_lines(machine: Machine, inp: &Inputs) -> Vec<String> {
    let mode = Mode::from_settings(machine, inp.settings);
    template(machine)
        .into_iter()
        .filter(|(w, _)| matches!(w, Production | Backups) && inp.holds(*w, &mode))
        .map(|(_, l)| inp.fill(&l))
        .collect()
}

/// Whether a line of an existing crontab is ADT's: one of the lines any settings could produce,
/// or any line of ADT's shape for this home (an older generator's schedule).
fn is_adt_line(table: crate::layout::Crontab, line: &str, machine: Machine, inp: &Inputs) -> bool {
    let home = inp.home.to_string_lossy();
    template_of(table, machine)
        .iter()
        .any(|(_, l)| inp.fill(l) == line)
        || line.contains(&format!("export HOME={home} && "))
        || line.contains(&format!("export HOME={home} &&  "))
        || (line.starts_with("@reboot export TZ=\":"))
        || line == "MAILTO=''"
}

/// The new crontab: ADT's lines first (legacy order), then every line ADT did not write, in
/// its original order.
pub fn merge(existing: &str, machine: Machine, inp: &Inputs) -> String {
    merge_in(crate::layout::Crontab::V2022, existing, machine, inp)
}

/// [`merge`] with a generation's crontab.
pub fn merge_in(
    table: crate::layout::Crontab,
    existing: &str,
    machine: Machine,
    inp: &Inputs,
) -> String {
    let mut out: Vec<String> = lines_in(table, machine, inp);
    for l in existing.lines() {
        if !l.trim().is_empty() && !is_adt_line(table, l, machine, inp) {
            out.push(l.to_string());
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// The webserver's `www-data` crontab line when APPLICATION is moodle (legacy InitialiseCron
/// wrote exactly this line to `/var/spool/cron/crontabs/www-data` and installed it with
/// `crontab -u www-data`): Moodle's own cron, every minute, as the web user.
pub const MOODLE_CRON: &str =
    "*/1 * * * * /usr/bin/php /var/www/html/moodle/admin/cli/cron.php >/dev/null";

/// The `www-data` crontab for this machine and these settings, merged with the lines ADT did
/// not write (`existing`): None when ADT writes none (not a moodle webserver).
pub fn www_data(existing: &str, machine: Machine, settings: &str) -> Option<String> {
    if machine != Machine::Webserver || config::check_value(settings, "APPLICATION:moodle") != "1\n"
    {
        return None;
    }
    let mut out = vec![MOODLE_CRON.to_string()];
    out.extend(
        existing
            .lines()
            .filter(|l| !l.trim().is_empty() && *l != MOODLE_CRON)
            .map(str::to_string),
    );
    Some(out.join("\n") + "\n")
}

/// Where InitialiseCron writes.
pub enum Target {
    /// A crontab file (the legacy `/var/spool/cron/crontabs/root`), installed with `crontab FILE`
    /// unless `install` is false.
    File { path: PathBuf, install: bool },
    /// A user's crontab through `crontab -u USER -l` / `crontab -u USER -`.
    User(String),
}

impl Target {
    /// The `www-data` crontab beside this one: the file `www-data` in the same directory
    /// (installed with `crontab -u www-data FILE`), or the user's crontab.
    pub fn www_data(&self) -> Target {
        match self {
            Target::File { path, install } => Target::File {
                path: path
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join("www-data"),
                install: *install,
            },
            Target::User(_) => Target::User("www-data".into()),
        }
    }
}

/// The crontab as it is now (none yet: empty).
pub fn read_target(t: &Target) -> Result<String> {
    match t {
        Target::File { path, .. } => match std::fs::read_to_string(path) {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(Error::io(path.display(), e)),
        },
        Target::User(u) => {
            let o = Run::new("crontab").args(["-u", u, "-l"]).output()?;
            // `crontab -l` fails when the user has none yet: start empty.
            Ok(if o.success() { o.stdout } else { String::new() })
        }
    }
}

/// Replace the crontab with `text`.
pub fn write_target(t: &Target, text: &str) -> Result<()> {
    match t {
        Target::File { path, install } => {
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
            }
            fsutil::write_atomic(path, text.as_bytes(), Some(0o600))?;
            if *install {
                let mut run = Run::new("crontab");
                if path.file_name().is_some_and(|n| n == "www-data") {
                    run = run.args(["-u", "www-data"]);
                }
                run.arg(path).stdout_or(Error::Io)?;
            }
            Ok(())
        }
        Target::User(u) => Run::new("crontab")
            .args(["-u", u, "-"])
            .stdin(text)
            .stdout_or(Error::Io)
            .map(|_| ()),
    }
}

#[cfg(test)]
mod www_data_tests {
    use super::*;

    #[test]
    fn moodle_webservers_get_moodles_cron_once() {
        let moodle = "APPLICATION:moodle\n";
        let want = format!("{MOODLE_CRON}\n");
        assert_eq!(
            www_data("", Machine::Webserver, moodle).as_deref(),
            Some(want.as_str())
        );
        // Again: the same; another user's line is kept after it.
        assert_eq!(
            www_data(&want, Machine::Webserver, moodle).as_deref(),
            Some(want.as_str())
        );
        assert_eq!(
            www_data("5 * * * * mine\n", Machine::Webserver, moodle).unwrap(),
            format!("{MOODLE_CRON}\n5 * * * * mine\n")
        );
        assert_eq!(
            www_data("", Machine::Webserver, "APPLICATION:joomla\n"),
            None
        );
        assert_eq!(www_data("", Machine::Database, moodle), None);
        assert_eq!(www_data("", Machine::Autoscaler, moodle), None);
    }
}
