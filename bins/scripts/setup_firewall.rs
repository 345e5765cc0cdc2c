//! security/SetupFirewall.sh [--dry-run] [--tool ufw|iptables] and cron/SetupFirewallFromCron.sh.
use super::finish;
use adt::cli::Ctx;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::firewall::commands::setup_firewall(ctx, args))
}

pub fn from_cron(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(adt::firewall::commands::setup_firewall_from_cron(ctx))
}

pub fn cloudflare(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::firewall::commands::cloudflare_ranges(ctx, args))
}

pub fn native(ctx: &Ctx, args: &[String]) -> i32 {
    finish(adt::firewall::commands::update_native_firewall(ctx, args))
}

pub fn native_delete(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(adt::firewall::commands::update_native_firewall(ctx, &[]))
}

pub fn dbaas(ctx: &Ctx, _args: &[String]) -> i32 {
    finish(adt::firewall::commands::tighten_dbaas_firewall(ctx))
}
