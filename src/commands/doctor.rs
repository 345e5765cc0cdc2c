//! `adt doctor [--home DIR] [--json]`: this machine's findings (`crate::doctor`), one line each
//! with its fix; exit status 0 when nothing failed, 1 otherwise (warnings do not fail).

use super::{out, parse_args, Ctx};
use crate::doctor::{examine, render, Inputs, Status};
use std::path::PathBuf;

/// What is right and what is not on this machine, each line with its fix.
#[derive(clap::Parser)]
#[command(name = "adt doctor")]
pub(super) struct DoctorCmd {
    /// The toolkit home (default: the first line of /home/homedir.dat, as the legacy scripts).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// One JSON object: {"ok": bool, "findings": [{check, status, detail, fix}…]}.
    #[arg(long)]
    json: bool,
}

/// adt doctor [--home DIR] [--json]
pub fn main(_ctx: &Ctx, args: &[String]) -> i32 {
    let cmd: DoctorCmd = match parse_args("adt doctor", args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let inputs = Inputs {
        home: cmd.home,
        homedir_file: std::env::var_os("ADT_HOMEDIR_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::home::HOMEDIR_FILE.into()),
        this_bin: std::env::current_exe().unwrap_or_else(|_| "/usr/bin/adt".into()),
        crontab: std::env::var_os("ADT_CRONTAB_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/var/spool/cron/crontabs/root".into()),
    };
    let findings = examine(&inputs);
    let failed = findings.iter().any(|f| f.status == Status::Fail);
    if cmd.json {
        let v = serde_json::json!({ "ok": !failed, "findings": findings });
        out(format!("{v}\n").as_bytes());
    } else {
        out(render(&findings).as_bytes());
    }
    i32::from(failed)
}
