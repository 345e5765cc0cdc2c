//! The 2025 authentication server: on webservers and reverse proxies
//! `security/AllowAuthenticatorIPAddress.sh` (every 10 s; the firewall reconcile, whose
//! AUTHENTICATORTYPE:firewall part keeps the ipset `allowed-laptop-ips` equal to the published,
//! unexpired client addresses; as legacy, only with ACTIVEFIREWALLS 1 or 3, and with the tool
//! the build style's FIREWALL: names; on a machine whose SetupFirewall.sh is still the legacy
//! script, only the clients are reconciled: the set's members and legacy's INPUT rule, or with
//! ufw one 443 rule per client) and `security/ObtainBasicAuthCredentials.sh` (the `basic-auth`
//! type's `.htpasswd` merge); on the authenticator `adt authenticator` (the HTTP handler in
//! `crate::authenticator`).

use super::{finish, firewall, parse_args, Ctx, Outcome};
use crate::authenticator::{self, Authenticator};
use crate::config;
use crate::error::{Error, Result};
use crate::firewall::auth;
use std::path::PathBuf;
use std::time::Duration;

/// AllowAuthenticatorIPAddress.sh [--dry-run] [--tool ufw|iptables]: one reconcile at a time
/// (the firewall's own lock, `runtime/firewalllock.file`).
pub fn allow_authenticator_ip_address(ctx: &Ctx, args: &[String]) -> i32 {
    // As legacy: nothing to do unless the machine's own firewall is active (ACTIVEFIREWALLS 1
    // or 3; 2 is the cloud's native firewall only).
    let text = ctx.settings().unwrap_or_default();
    if config::check_value(&text, "ACTIVEFIREWALLS:1") == "0\n"
        && config::check_value(&text, "ACTIVEFIREWALLS:3") == "0\n"
    {
        return 0;
    }
    // The tool the build style names (FIREWALL:ufw or FIREWALL:iptables), unless given.
    let mut args = args.to_vec();
    if !args.iter().any(|a| a == "--tool") {
        let styles = ctx.read_file(&ctx.buildstyles_path()).unwrap_or_default();
        if let Some(t) =
            config::value(&styles, "FIREWALL").filter(|t| t == "ufw" || t == "iptables")
        {
            args.extend(["--tool".to_string(), t]);
        }
    }
    let args = &args[..];
    // Whose firewall is it? When SetupFirewall.sh is our launcher, the whole reconcile (its
    // AUTHENTICATORTYPE:firewall part included); else the legacy SetupFirewall keeps the
    // machine's rules, and only the authorised clients are ours.
    let ours = crate::layout::install::is_launcher(&ctx.home.join("security/SetupFirewall.sh"));
    finish(match ctx.try_runtime_lock("firewalllock.file") {
        Ok(Some(_held)) if ours => firewall::setup(ctx, args),
        Ok(Some(_held)) => clients_only(ctx, args),
        Ok(None) => Outcome::ok(""),
        Err(e) => Outcome::from_result(ctx, Err::<String, _>(e)),
    })
}

fn clients_only(ctx: &Ctx, args: &[String]) -> Outcome {
    let opts = match firewall::parse_options(args) {
        Ok(o) => o,
        Err(e) => {
            ctx.report(&Error::Usage(e));
            return Outcome::failed(2);
        }
    };
    let mut warnings = Vec::new();
    let r = crate::firewall::reconcile::reconcile_clients_only(ctx, &opts, &mut warnings);
    firewall::warn(ctx, &warnings);
    match r {
        Ok(rep) if opts.dry_run => Outcome::ok(
            rep.commands
                .iter()
                .map(|c| format!("{c}\n"))
                .collect::<String>(),
        ),
        Ok(_) => Outcome::ok(""),
        Err(e) => {
            ctx.report_with(&e, "the firewall was left as it is");
            Outcome::failed(1)
        }
    }
}

/// The `.htpasswd` of the webserver in WEBSERVERCHOICE (`ADT_HTPASSWD` overrides, for tests).
fn htpasswd_path(text: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ADT_HTPASSWD") {
        return Some(p.into());
    }
    let ws = config::value(text, "WEBSERVERCHOICE").unwrap_or_default();
    match ws.as_str() {
        "APACHE" => Some("/etc/apache2/.htpasswd".into()),
        "NGINX" => Some("/etc/nginx/.htpasswd".into()),
        "LIGHTTPD" => Some("/etc/lighttpd/.htpasswd".into()),
        _ => None,
    }
}

/// ObtainBasicAuthCredentials.sh: merge the published `user:hash` lines into the webserver's
/// `.htpasswd` (0600, owned by www-data when that user exists, as legacy left it).
pub fn obtain_basic_auth_credentials(ctx: &Ctx, _args: &[String]) -> i32 {
    let r = (|| -> Result<()> {
        let text = ctx.settings()?;
        let path = htpasswd_path(&text).ok_or_else(|| {
            Error::Config("WEBSERVERCHOICE is not APACHE, NGINX or LIGHTTPD".into())
        })?;
        let url = config::value(&text, "WEBSITEURL").unwrap_or_default();
        let store = ctx.store_for_bucket(&auth::basic_auth_bucket(&url))?;
        store.bound_command();
        let files = match auth::published(store.as_ref(), "basic-auth-credentials/") {
            Err(Error::NoBucket(_)) => return Ok(()),
            r => r?,
        };
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let (merged, bad) = auth::merge_htpasswd(&current, &files);
        for b in bad {
            eprintln!("{}: {b}", ctx.prog);
        }
        if merged != current {
            crate::fsutil::write_atomic(&path, merged.as_bytes(), Some(0o600))?;
        }
        if let Ok(Some(u)) = nix::unistd::User::from_name("www-data") {
            let _ = nix::unistd::chown(&path, Some(u.uid), Some(u.gid));
        }
        Ok(())
    })();
    match r {
        Ok(()) => 0,
        Err(e) => {
            ctx.report_with(&e, "the .htpasswd was left as it is");
            1
        }
    }
}

/// `adt authenticator`: the authentication server's HTTP handler.
#[derive(clap::Parser)]
#[command(name = "adt authenticator")]
pub(super) struct Serve {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: std::net::SocketAddr,
    /// The protected website (default: the settings' WEBSITEURLORIGINAL, else WEBSITEURL).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The e-mail domain allowed to ask (default: the settings' USEREMAILDOMAIN).
    #[arg(long, value_name = "DOMAIN")]
    email_domain: Option<String>,
    /// This machine's private IP, naming its published file (default: the settings' MYIP).
    #[arg(long, value_name = "IP")]
    own_ip: Option<String>,
    /// How long a mailed link works, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    token_ttl: u64,
    /// How long an authorised address keeps access, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 43200)]
    claim_ttl: u64,
    /// How often expired claims are withdrawn, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    sweep: u64,
    /// The links' base URL (default: https://<the authenticator's URL, AUTHSERVERURL>).
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
    /// Where link messages are written for the mailer (default: HOME/runtime/authenticator/outbox).
    #[arg(long, value_name = "DIR")]
    outbox: Option<PathBuf>,
    /// A sendmail-compatible program that delivers the links (`PROG -t`, message on stdin);
    /// without it they stay in the outbox.
    #[arg(long, value_name = "PROG")]
    sendmail: Option<PathBuf>,
}

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let a = match parse_args::<Serve>("adt authenticator", args) {
        Ok(a) => a,
        Err(status) => return status,
    };
    let r = (|| -> Result<()> {
        let text = ctx.settings().unwrap_or_default();
        let setting = |k: &str| config::value(&text, k).filter(|v| !v.is_empty());
        let need = |v: Option<String>, what: &str| {
            v.ok_or_else(|| Error::Config(format!("{what} is not given and not in the settings")))
        };
        let url = need(
            a.url
                .or_else(|| setting("WEBSITEURLORIGINAL"))
                .or_else(|| setting("WEBSITEURL")),
            "the protected website (--url)",
        )?;
        let email_domain = need(
            a.email_domain.or_else(|| setting("USEREMAILDOMAIN")),
            "the e-mail domain (--email-domain)",
        )?;
        let own_ip = need(
            a.own_ip.or_else(|| setting("MYIP")),
            "this machine's IP (--own-ip)",
        )?;
        auth::parse_client(&own_ip).map_err(Error::Config)?;
        let link_base = need(
            a.link_base
                .or_else(|| setting("AUTHSERVERURL").map(|u| format!("https://{u}"))),
            "the links' base URL (--link-base)",
        )?;
        let state_dir = ctx.home.join("runtime").join("authenticator");
        let cfg = authenticator::Config {
            website_url: url.clone(),
            email_domain,
            own_ip,
            token_ttl: Duration::from_secs(a.token_ttl),
            claim_ttl: Duration::from_secs(a.claim_ttl),
            outbox: a.outbox.unwrap_or_else(|| state_dir.join("outbox")),
            sendmail: a.sendmail,
            link_base,
            state_dir,
        };
        let store = ctx.store_for_bucket(&auth::ips_bucket(&url))?;
        authenticator::serve(
            Authenticator::new(cfg, store),
            a.listen,
            Duration::from_secs(a.sweep.max(1)),
        )
    })();
    match r {
        Ok(()) => 0,
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
