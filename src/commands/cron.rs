//! InitialiseCron.sh (`providerscripts/utilities/`, sourced by the legacy build): the machine's
//! crontab, from `crate::cron`'s templates, merged with the lines ADT did not write.

use super::{finish, Ctx, Outcome};
use crate::cron::{merge_in, read_target, write_target, Inputs, Target};
use crate::error::{Error, Result};
use crate::home::Machine;
use std::path::PathBuf;

/// InitialiseCron [--file PATH [--no-install] | --user NAME] [--dry-run].
pub fn initialise_cron(ctx: &Ctx, args: &[String]) -> i32 {
    let r = (|| -> Result<String> {
        let mut target = Target::File {
            path: std::env::var_os("ADT_CRONTAB_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/spool/cron/crontabs/root")),
            install: std::env::var_os("ADT_CRONTAB_FILE").is_none(),
        };
        let mut dry = false;
        let mut no_install = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--file" => {
                    let p = it
                        .next()
                        .ok_or_else(|| Error::Usage("--file needs a path".into()))?;
                    target = Target::File {
                        path: p.into(),
                        install: true,
                    };
                }
                "--user" => {
                    let u = it
                        .next()
                        .ok_or_else(|| Error::Usage("--user needs a name".into()))?;
                    target = Target::User(u.clone());
                }
                "--no-install" => no_install = true,
                "--dry-run" => dry = true,
                other => return Err(Error::Usage(format!("unknown argument {other:?}"))),
            }
        }
        if no_install {
            if let Target::File { install, .. } = &mut target {
                *install = false;
            }
        }
        let settings = ctx.settings()?;
        let inp = Inputs {
            home: &ctx.home,
            settings: &settings,
        };
        let existing = read_target(&target)?;
        let new = merge_in(ctx.gen.contract.crontab, &existing, ctx.machine, &inp);
        if dry {
            return Ok(new);
        }
        let (log, text) = match ctx.machine {
            Machine::Webserver => ("WEBSERVER_BUILD.log", "Installing cron"),
            Machine::Database => ("MonitoringLog.dat", "Configuring crontab"),
            _ => ("MonitoringLog.log", "Configuring crontab"),
        };
        ctx.log(log, text);
        if new != existing {
            write_target(&target, &new)?;
        }
        // A moodle webserver: Moodle's cron in www-data's crontab.
        if crate::cron::www_data("", ctx.machine, &settings).is_some() {
            let web = target.www_data();
            let have = read_target(&web)?;
            if let Some(text) = crate::cron::www_data(&have, ctx.machine, &settings) {
                if text != have {
                    write_target(&web, &text)?;
                }
            }
        }
        Ok(String::new())
    })();
    finish(Outcome::from_result(ctx, r))
}
