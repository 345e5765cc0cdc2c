//! InitialiseCron: the 2022 crontabs of the autoscaler, webserver and database, byte for byte
//! (`<schedule> export HOME=<H> && <H>/<script>`, `<H>` expanded, no quotes; the autoscaler's
//! `30 7 * * *  ` keeps its two spaces), pointing at the legacy paths where our launchers live.
//!
//! Differences from the legacy generators: lines ADT did not write are kept (the autoscaler's
//! truncated the file, the webserver's appended duplicates on every run); a second run with
//! the same settings changes nothing and does not reinstall; the file is replaced atomically.

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
        }
    }

    fn fill(&self, line: &str) -> String {
        let v = |k: &str| config::value(self.settings, k).unwrap_or_default();
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
    let mode = Mode::from_settings(machine, inp.settings);
    template(machine)
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
fn is_adt_line(line: &str, machine: Machine, inp: &Inputs) -> bool {
    let home = inp.home.to_string_lossy();
    template(machine).iter().any(|(_, l)| inp.fill(l) == line)
        || line.contains(&format!("export HOME={home} && "))
        || line.contains(&format!("export HOME={home} &&  "))
        || (line.starts_with("@reboot export TZ=\":"))
        || line == "MAILTO=''"
}

/// The new crontab: ADT's lines first (legacy order), then every line ADT did not write, in
/// its original order.
pub fn merge(existing: &str, machine: Machine, inp: &Inputs) -> String {
    let mut out: Vec<String> = lines(machine, inp);
    for l in existing.lines() {
        if !l.trim().is_empty() && !is_adt_line(l, machine, inp) {
            out.push(l.to_string());
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Where InitialiseCron writes.
pub enum Target {
    /// A crontab file (the legacy `/var/spool/cron/crontabs/root`), installed with `crontab FILE`
    /// unless `install` is false.
    File { path: PathBuf, install: bool },
    /// A user's crontab through `crontab -u USER -l` / `crontab -u USER -`.
    User(String),
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
                Run::new("crontab").arg(path).stdout_or(Error::Io)?;
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
