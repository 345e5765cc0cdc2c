//! `adt mode`: the machine's mode and what it implies (which crons, which firewall rules,
//! which backups), from its settings, read once into a [`Mode`].

use super::{out, Ctx};
use crate::home::Machine;
use crate::mode::{Database, Mode};
use std::fmt::Write as _;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The report `adt mode` prints for a machine's settings.
pub fn report(ctx: &Ctx, text: &str) -> String {
    let m = Mode::from_settings(ctx.machine, text);
    let mut s = String::new();
    let deployment = if m.flags_present {
        m.deployment().name()
    } else {
        "not recorded here (no PRODUCTION or DEVELOPMENT setting; the database machine has neither)"
    };
    let _ = writeln!(s, "{} ({}): {deployment}", ctx.machine.name(), ctx.gen.name);
    let _ = writeln!(
        s,
        "  PRODUCTION:{} DEVELOPMENT:{} BUILDARCHIVECHOICE:{} DATABASEINSTALLATIONTYPE:{} BYPASSDBLAYER:{} DISABLEHOURLY:{} {}:{}",
        u8::from(m.production_flag),
        u8::from(m.development_flag),
        m.archive_name(),
        m.database_name(),
        u8::from(m.bypass_db_layer),
        u8::from(m.disable_hourly),
        if ctx.machine == Machine::Database { "SUPERSAFEDB" } else { "SUPERSAFEWEBROOT" },
        u8::from(m.supersafe),
    );
    if !m.dbaas.is_empty() {
        let _ = writeln!(s, "  DATABASEDBaaSINSTALLATIONTYPE: {}", m.dbaas);
    }
    s.push_str("crons (the lines the mode decides):\n");
    let inputs = crate::cron::Inputs {
        home: &ctx.home,
        settings: text,
    };
    let lines = crate::cron::mode_lines(ctx.machine, &inputs);
    if lines.is_empty() {
        s.push_str("  none\n");
    }
    for l in lines {
        let _ = writeln!(s, "  {l}");
    }
    s.push_str("firewall:\n");
    match ctx.machine {
        Machine::Webserver => {
            let _ = writeln!(
                s,
                "  autoscalers (autoscalerip/*, autoscalerpublicip/*) to SSHPORT, 443, 80: {} (PRODUCTION:1)",
                yes(m.production())
            );
        }
        Machine::Autoscaler => {
            s.push_str("  not mode-dependent (autoscalers: all ports; the fleet: SSHPORT)\n")
        }
        Machine::Database => s.push_str("  not mode-dependent (the fleet: SSHPORT, DBPORT)\n"),
        Machine::Build => s.push_str("  the build machine's access list (authip-…)\n"),
    }
    s.push_str("backups:\n");
    let what = if ctx.machine == Machine::Database {
        "database dumps"
    } else {
        "webroot"
    };
    if m.time_based_backups() {
        let _ = writeln!(
            s,
            "  {what}: {}daily, weekly, monthly, bimonthly to git; datastore copies: {}",
            if m.hourly_backup() {
                "hourly, "
            } else {
                "hourly skipped (DISABLEHOURLY:1), "
            },
            yes(m.datastore_copies())
        );
    } else if matches!(ctx.machine, Machine::Autoscaler | Machine::Build) {
        s.push_str("  none on this machine type\n");
    } else if ctx.machine == Machine::Database && m.bypass_db_layer {
        let _ = writeln!(s, "  {what}: none (BYPASSDBLAYER:1)");
    } else {
        let _ = writeln!(
            s,
            "  {what}: none (BUILDARCHIVECHOICE:{} builds are not backed up by cron)",
            m.archive_name()
        );
    }
    if ctx.machine == Machine::Database && m.database_dumps() && m.time_based_backups() {
        let _ = writeln!(
            s,
            "  this machine runs for the dumps{}",
            if m.database == Database::DBaaS {
                ", taken from the managed database (DBaaSHOSTNAME)"
            } else {
                ""
            }
        );
    }
    if ctx.machine == Machine::Webserver {
        let _ = writeln!(
            s,
            "certificates: {} ACME",
            if m.acme_live() { "live" } else { "staging" }
        );
    }
    for w in m.warnings() {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}

/// `adt mode` (no arguments).
/// `adt mode`: this machine's mode and what it implies, from its settings.
#[derive(clap::Parser)]
#[command(name = "adt mode")]
pub(super) struct ModeCmd {}

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    if let Err(status) = super::parse_args::<ModeCmd>("adt mode", args) {
        return status;
    }
    match ctx.settings() {
        Ok(text) => {
            out(report(ctx, &text).as_bytes());
            0
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
