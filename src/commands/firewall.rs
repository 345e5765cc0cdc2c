//! The firewall scripts: `security/SetupFirewall.sh`, `cron/SetupFirewallFromCron.sh`, and on
//! the autoscaler `providerscripts/security/firewall/UpdateNativeFirewall.sh`,
//! `DeleteFromNativeFirewall.sh` and `TightenDBaaSFirewall.sh`; plus `adt cloudflare-ranges`.
//! The reconciles themselves are `crate::firewall::reconcile` and `crate::firewall::native`.
//! The 2025 `security/SetupFirewall.sh` and `cron/SetupFirewallFromCron.sh` are the same
//! commands: the generation's `Contract::firewall` (2025: VPCIPRANGE, `runtime/firewallports.dat`,
//! ACTIVEFIREWALLS, the build style's FIREWALL: tool) decides the inputs.

use super::{finish, parse_args, Ctx, Outcome};
use crate::config;
use crate::error::{Error, Result};
use crate::firewall::reconcile::{gather, reconcile, Options, Tool};
use crate::firewall::{cloudflare, dbaas, native};
use crate::fsutil;

/// What did not stop a reconcile but needs saying, one line each on stderr.
pub(super) fn warn(ctx: &Ctx, warnings: &[String]) {
    for w in warnings {
        eprintln!("{}: {w}", ctx.prog);
    }
}

/// SetupFirewall's arguments: `[--dry-run] [--tool ufw|iptables]`.
pub(super) fn parse_options(args: &[String]) -> std::result::Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dry-run" => o.dry_run = true,
            "--tool" => {
                o.tool = Some(match it.next().map(String::as_str) {
                    Some("ufw") => Tool::Ufw,
                    Some("iptables") => Tool::Iptables,
                    other => return Err(format!("--tool takes ufw or iptables, not {other:?}")),
                })
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// SetupFirewall.sh [--dry-run] [--tool ufw|iptables].
pub(super) fn setup(ctx: &Ctx, args: &[String]) -> Outcome {
    let opts = match parse_options(args) {
        Ok(o) => o,
        Err(e) => {
            ctx.report(&Error::Usage(e));
            return Outcome {
                stdout: String::new(),
                status: 2,
            };
        }
    };
    let dir = ctx.home.join("logs").join("firewall");
    let log = |text: &str| {
        if !opts.dry_run {
            let _ = std::fs::create_dir_all(&dir);
            let _ = fsutil::write_atomic(
                &dir.join("FIREWALL_CONFIGURATION.log"),
                text.as_bytes(),
                None,
            );
        }
    };
    let mut warnings = Vec::new();
    let r = reconcile(ctx, &opts, &mut warnings);
    warn(ctx, &warnings);
    match r {
        Ok(rep) => {
            let mut text = rep.lines.join("\n");
            text.push('\n');
            log(&text);
            let stdout = if opts.dry_run {
                rep.commands.iter().map(|c| format!("{c}\n")).collect()
            } else {
                String::new()
            };
            Outcome::ok(stdout)
        }
        Err(e) => {
            log(&format!("not changed: {e}\n"));
            ctx.report_with(&e, "the firewall was left as it is");
            Outcome {
                stdout: String::new(),
                status: 1,
            }
        }
    }
}

/// SetupFirewallFromCron.sh: one reconcile at a time (`runtime/firewalllock.file`, flock).
pub fn setup_firewall_from_cron(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(match ctx.try_runtime_lock("firewalllock.file") {
        Ok(Some(_held)) => setup(ctx, &[]),
        Ok(None) => Outcome::ok("script already running\n"),
        Err(e) => Outcome::from_result(ctx, Err::<String, _>(e)),
    })
}

/// Cloudflare's published address ranges, which the web-port rules admit.
#[derive(clap::Parser)]
#[command(name = "adt cloudflare-ranges")]
pub(super) enum CloudflareCmd {
    /// Print the ranges in use (the saved list, else the built-in one); the default.
    Show,
    /// Fetch the lists, validate them, and save them (the previous list is kept on any error).
    Refresh {
        #[arg(default_value = "https://www.cloudflare.com/ips-v4")]
        v4: String,
        #[arg(default_value = "https://www.cloudflare.com/ips-v6")]
        v6: String,
    },
}

fn cloudflare(ctx: &Ctx, cmd: CloudflareCmd) -> Outcome {
    let file = ctx.home.join(".adt-rs").join("cloudflare-ips");
    match cmd {
        CloudflareCmd::Show => Outcome::ok(
            cloudflare::ranges(&file)
                .iter()
                .map(|n| format!("{n}\n"))
                .collect::<String>(),
        ),
        CloudflareCmd::Refresh { v4, v6 } => match cloudflare::refresh(&file, &v4, &v6) {
            Ok(n) => Outcome::ok(format!("{n} ranges saved to {}\n", file.display())),
            Err(e) => {
                ctx.report_with(&e, "the previous list is kept");
                Outcome::failed(1)
            }
        },
    }
}

/// UpdateNativeFirewall.sh [--dry-run] (autoscaler; legacy arguments are ignored, as before):
/// reconcile the cloud host's firewall. DeleteFromNativeFirewall.sh PORT IP runs the same
/// reconcile: the destroyed server's IPs are no longer in the datastore, so its rules go.
fn native(ctx: &Ctx, args: &[String]) -> Outcome {
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let r = (|| -> Result<String> {
        let store = ctx.store()?;
        if !store.any_with_prefix("INSTALLEDSUCCESSFULLY")? {
            return Ok(String::new());
        }
        let text = ctx.settings()?;
        let provider =
            crate::cloud::Provider::detect(&ctx.home, config::value(&text, "CLOUDHOST").as_deref())
                .ok_or_else(|| {
                    Error::Config(
                        "no cloud host marker (DROPLET, EXOSCALE, LINODE, VULTR, AWS) in HOME"
                            .into(),
                    )
                })?;
        let mut warnings = Vec::new();
        let inp = gather(ctx, store.as_ref(), &mut warnings);
        warn(ctx, &warnings);
        let inp = inp?;
        let mut cli = crate::cloud::Cli {
            dry_run,
            ..Default::default()
        };
        let rep = native::reconcile(&mut cli, provider, &inp)?;
        let dir = ctx.home.join("logs").join("firewall");
        let _ = std::fs::create_dir_all(&dir);
        ctx.log(
            "firewall/NATIVE_FIREWALL.log",
            &format!(
                "{provider:?}: {} rules added, {} removed",
                rep.added, rep.removed
            ),
        );
        Ok(if dry_run {
            cli.ran.iter().map(|l| format!("{l}\n")).collect()
        } else {
            String::new()
        })
    })();
    match r {
        Ok(s) => Outcome::ok(s),
        Err(e) => {
            ctx.report_with(&e, "the native firewall was left as it is");
            Outcome {
                stdout: String::new(),
                status: 1,
            }
        }
    }
}

/// TightenDBaaSFirewall.sh (sourced by BuildWebserver): the managed database's allow-list
/// becomes exactly the fleet's public IPs.
fn dbaas(ctx: &Ctx) -> Outcome {
    Outcome::from_result(ctx, dbaas::tighten_for_site(ctx).map(|_| ""))
}

/// SetupFirewall.sh [--dry-run] [--tool ufw|iptables].
pub fn setup_firewall(ctx: &Ctx, args: &[String]) -> i32 {
    finish(setup(ctx, args))
}

/// adt cloudflare-ranges show | refresh [URL-V4 URL-V6]
pub fn cloudflare_ranges(ctx: &Ctx, args: &[String]) -> i32 {
    let cmd = if args.is_empty() {
        CloudflareCmd::Show
    } else {
        match parse_args("adt cloudflare-ranges", args) {
            Ok(c) => c,
            Err(status) => return status,
        }
    };
    finish(cloudflare(ctx, cmd))
}

/// UpdateNativeFirewall.sh [--dry-run]
pub fn update_native_firewall(ctx: &Ctx, args: &[String]) -> i32 {
    finish(native(ctx, args))
}

/// DeleteFromNativeFirewall.sh PORT IP: the same reconcile (legacy arguments are ignored).
pub fn delete_from_native_firewall(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(native(ctx, &[]))
}

/// TightenDBaaSFirewall.sh (sourced)
pub fn tighten_dbaas_firewall(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(dbaas(ctx))
}
