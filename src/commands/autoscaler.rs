//! The autoscaler's scripts: `autoscaler/PerformScaling.sh [--dry-run]`, `DeadOrAlive.sh`,
//! `PurgeDetachedIPs.sh`, `MonitorForSlowBuilds.sh`, their cron wrappers
//! `cron/AutoscaleFromCron.sh` and `cron/DeadOrAliveFromCron.sh`; and adt's own
//! `adt health-sweep` and `adt local-cloud` (clap).

use super::{finish, parse_args, Ctx, Outcome};
use crate::autoscaler::dead_or_alive::{self, Report};
use crate::autoscaler::{health, perform_scaling as ps};
use crate::cloud::local::LocalCloud;
use crate::error::Result;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// A run's report: its stdout; what failed along the way, one line each on stderr.
fn reported(ctx: &Ctx, r: Result<Report>) -> Outcome {
    match r {
        Ok(rep) => {
            for e in &rep.problems {
                ctx.report(e);
            }
            Outcome::ok(rep.stdout)
        }
        Err(e) => Outcome::from_result(ctx, Err::<String, _>(e)),
    }
}

fn perform(ctx: &Ctx, args: &[String]) -> Outcome {
    let dry = args.iter().any(|a| a == "--dry-run");
    Outcome::from_result(ctx, ps::perform_scaling(ctx, dry))
}

fn dead_or_alive_run(ctx: &Ctx) -> Outcome {
    let secs = crate::knobs::env_secs_f64("ADT_HEALTH_TIMEOUT", 5.0);
    reported(
        ctx,
        dead_or_alive::dead_or_alive(ctx, Duration::from_secs_f64(secs)),
    )
}

/// autoscaler/PerformScaling.sh [--dry-run]
pub fn perform_scaling(ctx: &Ctx, args: &[String]) -> i32 {
    finish(perform(ctx, args))
}

/// autoscaler/DeadOrAlive.sh (`ADT_HEALTH_TIMEOUT`: each check's timeout, default 5 s)
pub fn dead_or_alive(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(dead_or_alive_run(ctx))
}

/// autoscaler/PurgeDetachedIPs.sh
pub fn purge_detached_ips(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(reported(ctx, dead_or_alive::purge_detached_ips(ctx)))
}

/// autoscaler/MonitorForSlowBuilds.sh
pub fn monitor_for_slow_builds(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(Outcome::from_result(
        ctx,
        dead_or_alive::monitor_for_slow_builds(ctx, SystemTime::now()),
    ))
}

/// cron/AutoscaleFromCron.sh and cron/DeadOrAliveFromCron.sh: one run at a time (flock on the
/// legacy lock file), gated on INSTALLEDSUCCESSFULLY, logged to MonitoringLog.log.
fn from_cron(ctx: &Ctx, lock: &str, what: &str, run: impl FnOnce() -> Outcome) -> Outcome {
    let _held = match ctx.try_runtime_lock(lock) {
        Ok(Some(f)) => f,
        Ok(None) => return Outcome::ok(""),
        Err(e) => return Outcome::from_result(ctx, Err::<String, _>(e)),
    };
    match ctx
        .store()
        .and_then(|s| s.any_with_prefix("INSTALLEDSUCCESSFULLY"))
    {
        Ok(true) => {}
        Ok(false) => return Outcome::ok(""),
        Err(e) => {
            ctx.report(&e);
            return Outcome::failed(1);
        }
    }
    ctx.log("MonitoringLog.log", what);
    run()
}

/// cron/AutoscaleFromCron.sh
pub fn autoscale_from_cron(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(from_cron(
        ctx,
        "autoscalelock.file",
        "Performing scaling from cron",
        || perform(ctx, &[]),
    ))
}

/// cron/DeadOrAliveFromCron.sh
pub fn dead_or_alive_from_cron(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(from_cron(
        ctx,
        "deadoralivelock.file",
        "Performing dead or alive from cron",
        || dead_or_alive_run(ctx),
    ))
}

fn positive_secs(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err("takes a number of seconds above 0".into()),
    }
}

/// The autoscaler's concurrent health sweep: one line per server, `<ip> alive` or `<ip> not
/// alive: <why>`. Nothing is destroyed or removed from DNS (that is DeadOrAlive's job).
#[derive(clap::Parser)]
#[command(name = "adt health-sweep")]
pub(super) struct HealthSweep {
    /// Each check's timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = positive_secs)]
    timeout: f64,
    /// Servers checked at once at the most (0, the default: all, new SSH connections paced to
    /// the machine).
    #[arg(long, value_name = "N", default_value_t = 0)]
    parallel: u16,
    /// Write strikes (runtime/POTENTIALLY_DOWN.log) and print `<ip> DOWN` past 2 strikes.
    #[arg(long)]
    record: bool,
    /// The servers (default: every `webserverpublicips/` entry in the datastore).
    #[arg(value_name = "IP")]
    ips: Vec<IpAddr>,
}

/// adt health-sweep [--timeout SECS] [--parallel N] [--record] [IP…]
pub fn health_sweep(ctx: &Ctx, args: &[String]) -> i32 {
    let a: HealthSweep = match parse_args("adt health-sweep", args) {
        Ok(a) => a,
        Err(status) => return status,
    };
    let r = (|| -> Result<String> {
        let ips = if a.ips.is_empty() {
            crate::ips::list_ips(ctx.store()?.as_ref(), "webserverpublicips/")?
        } else {
            a.ips
        };
        let mut cfg = health::config_from(ctx, Duration::from_secs_f64(a.timeout))?;
        cfg.parallel = usize::from(a.parallel);
        let verdicts = health::sweep(&ips, &cfg);
        let mut out = String::new();
        for v in &verdicts {
            match &v.failure {
                None => out.push_str(&format!("{} alive\n", v.ip)),
                Some(health::Why::Removed) => {
                    out.push_str(&format!("{} not alive: removed (IPREMOVED)\n", v.ip))
                }
                Some(health::Why::NotReady) => out.push_str(&format!(
                    "{} not alive: no WEBSERVER_READY over SSH\n",
                    v.ip
                )),
                Some(health::Why::Http(h)) => out.push_str(&format!("{} not alive: {h}\n", v.ip)),
                Some(health::Why::Unchecked) => out.push_str(&format!(
                    "{} unchecked: no verdict within this sweep's time\n",
                    v.ip
                )),
            }
        }
        if a.record {
            for ip in health::record(&ctx.home.join("runtime"), &verdicts, SystemTime::now())? {
                out.push_str(&format!("{ip} DOWN\n"));
            }
        }
        Ok(out)
    })();
    finish(Outcome::from_result(ctx, r))
}

/// The local cloud's namespaces, for the demo (state in ADT_LOCAL_CLOUD or
/// ~/.adt-rs/localcloud).
#[derive(clap::Parser)]
#[command(name = "adt local-cloud")]
pub(super) enum LocalCloudCmd {
    /// Attach namespace NS to the hub bridge as 10.78.0.N.
    Attach { ns: String, n: u8 },
    /// The servers, `<name> <ip>` per line.
    List,
    /// Stop a server's web service (its HTTPS server), leaving the machine up.
    StopWeb { name: String },
    /// Remove every server (also those whose namespace is mounted only in another run's mount
    /// namespace), every process in them, and the hub; says how many servers went.
    Teardown,
}

/// adt local-cloud attach NS N | list | stop-web NAME | teardown
pub fn local_cloud(ctx: &Ctx, args: &[String]) -> i32 {
    let cmd: LocalCloudCmd = match parse_args("adt local-cloud", args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    let cloud = LocalCloud {
        state: std::env::var_os("ADT_LOCAL_CLOUD")
            .map(Into::into)
            .unwrap_or_else(|| ctx.home.join(".adt-rs").join("localcloud")),
        server_home: ctx.home.clone(),
        ssh_port: 22,
        authorized_key: Default::default(),
    };
    let r = match cmd {
        LocalCloudCmd::Attach { ns, n } => LocalCloud::attach(&ns, n).map(|_| String::new()),
        LocalCloudCmd::List => cloud
            .list()
            .map(|l| l.iter().map(|(n, ip)| format!("{n} {ip}\n")).collect()),
        LocalCloudCmd::StopWeb { name } => cloud.stop_web(&name).map(|_| String::new()),
        LocalCloudCmd::Teardown => Ok(format!("removed {} servers\n", cloud.teardown())),
    };
    finish(Outcome::from_result(ctx, r))
}
