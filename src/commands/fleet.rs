//! `adt fleet install|uninstall|status`: roll adt out to the fleet from the build machine
//! (`crate::fleet`), the machines the datastore lists for a role or named IPs, canary first,
//! in waves, stopping at the first failure. One summary line per machine.

use super::{out, parse_args, Ctx};
use crate::config;
use crate::error::{Error, Result};
use crate::fleet::{self, Remote};
use crate::home::Machine;
use crate::layout::Generation;
use crate::process::SshTarget;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

fn machine(s: &str) -> std::result::Result<Machine, String> {
    Machine::parse(s).ok_or_else(|| format!("unknown machine type {s:?}"))
}

fn generation(s: &str) -> std::result::Result<&'static Generation, String> {
    Generation::by_name(s).ok_or_else(|| format!("unknown generation {s:?}"))
}

/// Which machines, and how to reach them.
#[derive(clap::Args)]
pub(super) struct Target {
    /// The machine type: its machines are those the datastore lists (webserverpublicips/,
    /// autoscalerpublicip/, databasepublicip/), unless --ip names them.
    #[arg(long, value_name = "TYPE", value_parser = machine)]
    machine: Machine,
    /// A machine to act on (repeatable), instead of the datastore's list.
    #[arg(long = "ip", value_name = "IP")]
    ips: Vec<IpAddr>,
    /// The website whose config bucket lists the machines (default: WEBSITEURL of this
    /// machine's settings).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// SSH user (default: SERVERUSER from the settings).
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// SSH port (default: SSHPORT from the settings).
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// The build key (default: ${HOME}/.ssh/id_${ALGORITHM}_AGILE_DEPLOYMENT_BUILD_KEY).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The toolkit home on the machines (default: the first line of their /home/homedir.dat).
    #[arg(long, value_name = "DIR")]
    remote_home: Option<PathBuf>,
    /// Where the binary goes on the machines.
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/adt")]
    remote_bin: PathBuf,
    /// Machines at once after the canary.
    #[arg(long, value_name = "N", default_value_t = 5)]
    wave: usize,
}

/// adt on the fleet, from the build machine.
#[derive(clap::Parser)]
#[command(name = "adt fleet")]
pub(super) enum FleetCmd {
    /// Push this binary (checksum verified) and replace SCRIPTs (default: all of the type's)
    /// on each machine: a canary first, then waves; stops at the first failure.
    Install {
        #[command(flatten)]
        target: Target,
        /// 2022 or 2025.
        #[arg(long, value_name = "GEN", default_value = "2022", value_parser = generation)]
        generation: &'static Generation,
        /// The binary to push (default: this one).
        #[arg(long, value_name = "PATH")]
        bin: Option<PathBuf>,
        /// Scripts to replace (default: every script of the machine type).
        #[arg(value_name = "SCRIPT")]
        scripts: Vec<String>,
    },
    /// Put the legacy scripts back (all, or SCRIPTs) on each machine, in the same waves.
    Uninstall {
        #[command(flatten)]
        target: Target,
        /// Scripts to put back (default: all).
        #[arg(value_name = "SCRIPT")]
        scripts: Vec<String>,
    },
    /// Each machine's adt version and replaced paths.
    Status {
        #[command(flatten)]
        target: Target,
    },
}

/// The datastore prefix that lists a machine type's public IPs.
fn role_prefix(m: Machine) -> Result<&'static str> {
    match m {
        Machine::Webserver => Ok("webserverpublicips/"),
        Machine::Autoscaler => Ok("autoscalerpublicip/"),
        Machine::Database => Ok("databasepublicip/"),
        Machine::Build => Err(Error::Usage(
            "the build machine is this one: use adt layout install here".into(),
        )),
    }
}

/// This machine's settings, whichever type's file it has (the build machine may have none).
fn settings(ctx: &Ctx) -> String {
    ctx.settings().unwrap_or_default()
}

fn remote(ctx: &Ctx, t: &Target) -> Result<Remote> {
    let text = settings(ctx);
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    let user = t.user.clone().unwrap_or_else(|| v("SERVERUSER"));
    if user.is_empty() {
        return Err(Error::Usage(
            "no SSH user: give --user or SERVERUSER in the settings".into(),
        ));
    }
    let port = match t.port {
        Some(p) => p,
        None => v("SSHPORT").parse().map_err(|_| {
            Error::Usage("no SSH port: give --port or SSHPORT in the settings".into())
        })?,
    };
    let key = t.key.clone().unwrap_or_else(|| {
        ctx.home
            .join(".ssh")
            .join(format!("id_{}_AGILE_DEPLOYMENT_BUILD_KEY", v("ALGORITHM")))
    });
    if !key.is_file() {
        return Err(Error::Config(format!(
            "the build key {} is missing (give --key)",
            key.display()
        )));
    }
    Ok(Remote {
        ssh: SshTarget {
            user,
            port,
            key,
            timeout: Duration::from_secs(10),
            mux: None,
            kex_first: None,
            known_hosts: None,
        },
        home: t.remote_home.clone(),
        bin: t.remote_bin.clone(),
        password: v("SERVERUSERPASSWORD"),
    })
}

fn store(ctx: &Ctx, t: &Target) -> Result<Box<dyn crate::datastore::Backend>> {
    match &t.url {
        Some(url) => {
            let user = config::value(&settings(ctx), "SERVERUSER").unwrap_or_default();
            ctx.store_for_bucket(&ctx.gen.config_bucket(url, &user))
        }
        None => ctx.store().map_err(|e| match e {
            Error::Config(m) => Error::Config(format!(
                "{m}; give --url WEBSITEURL to name the fleet's config bucket"
            )),
            e => e,
        }),
    }
}

/// The machines: named, else the datastore's list for the role.
fn hosts(ctx: &Ctx, t: &Target) -> Result<Vec<IpAddr>> {
    if !t.ips.is_empty() {
        return Ok(t.ips.clone());
    }
    let prefix = role_prefix(t.machine)?;
    let s = store(ctx, t)?;
    s.bound_command();
    let ips = crate::ips::list_ips(s.as_ref(), prefix)?;
    if ips.is_empty() {
        return Err(Error::NotFound(format!(
            "the datastore lists no {} ({prefix} in {})",
            t.machine.name(),
            s.describe()
        )));
    }
    Ok(ips)
}

fn report(steps: &[fleet::Step], skipped: &[IpAddr]) -> (String, bool) {
    let mut text = String::new();
    let mut failed = false;
    for (i, s) in steps.iter().enumerate() {
        let role = if i == 0 { "canary" } else { "wave" };
        match &s.result {
            Ok(m) => text.push_str(&format!(
                "{:<15} {role:<6} ok      {m}\n",
                s.host.to_string()
            )),
            Err(e) => {
                failed = true;
                text.push_str(&format!(
                    "{:<15} {role:<6} FAILED  {e}\n",
                    s.host.to_string()
                ));
            }
        }
    }
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(IpAddr::to_string).collect();
        text.push_str(&format!(
            "stopped at the first failure; not reached: {}\n",
            names.join(" ")
        ));
    }
    (text, failed)
}

fn run(ctx: &Ctx, cmd: FleetCmd) -> Result<i32> {
    match cmd {
        FleetCmd::Install {
            target,
            generation,
            bin,
            scripts,
        } => {
            let r = remote(ctx, &target)?;
            let hosts = hosts(ctx, &target)?;
            let bin = bin
                .or_else(|| std::env::current_exe().ok())
                .ok_or_else(|| Error::Io("cannot find this binary".into()))?;
            let sum = fleet::sha256(&bin)?;
            let (steps, skipped) = fleet::rollout(&hosts, target.wave, |h| {
                fleet::install_on(h, &r, &bin, &sum, target.machine, generation, &scripts)
            });
            let (text, failed) = report(&steps, &skipped);
            out(text.as_bytes());
            if !failed && target.ips.is_empty() {
                let s = store(ctx, &target)?;
                let version = format!("adt {}", env!("CARGO_PKG_VERSION"));
                fleet::record(
                    s.as_ref(),
                    target.machine,
                    generation,
                    &version,
                    &sum,
                    Some(&scripts),
                    &r,
                )?;
            }
            Ok(i32::from(failed))
        }
        FleetCmd::Uninstall { target, scripts } => {
            let r = remote(ctx, &target)?;
            let hosts = hosts(ctx, &target)?;
            let (steps, skipped) = fleet::rollout(&hosts, target.wave, |h| {
                fleet::uninstall_on(h, &r, &scripts)
            });
            let (text, failed) = report(&steps, &skipped);
            out(text.as_bytes());
            if !failed && target.ips.is_empty() && scripts.is_empty() {
                let s = store(ctx, &target)?;
                fleet::record(s.as_ref(), target.machine, ctx.gen, "", "", None, &r)?;
            }
            Ok(i32::from(failed))
        }
        FleetCmd::Status { target } => {
            let r = remote(ctx, &target)?;
            let hosts = hosts(ctx, &target)?;
            let mut failed = false;
            let mut text = String::new();
            for h in hosts {
                match fleet::status_on(h, &r) {
                    Ok(st) => {
                        let names: Vec<&str> = st
                            .replaced
                            .iter()
                            .map(|p| p.rsplit('/').next().unwrap_or(p).trim_end_matches(".sh"))
                            .collect();
                        text.push_str(&format!(
                            "{:<15} {:<12} {} replaced{}{}\n",
                            h.to_string(),
                            st.version.as_deref().unwrap_or("no adt"),
                            names.len(),
                            if names.is_empty() { "" } else { ": " },
                            names.join(" ")
                        ));
                    }
                    Err(e) => {
                        failed = true;
                        text.push_str(&format!("{:<15} FAILED  {e}\n", h.to_string()));
                    }
                }
            }
            out(text.as_bytes());
            Ok(i32::from(failed))
        }
    }
}

/// adt fleet install|uninstall|status
pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let cmd: FleetCmd = match parse_args("adt fleet", args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    match run(ctx, cmd) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("adt fleet: {e}");
            1
        }
    }
}
