//! Making a new webserver from a snapshot one of this fleet (legacy BuildWebserver's snapshot
//! path): once SSH answers, give it its own settings, the autoscaler's copy of
//! `webserver_configuration_settings.dat` with `AUTOSCALED:1` and this server's and the
//! autoscaler's IPs. The file travels on SSH's stdin (never argv) and lands with mode 0600.

use crate::autoscaler::health;
use crate::cli::Ctx;
use crate::config;
use crate::error::{Error, Result};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The new webserver's settings: the autoscaler's copy with this server's values.
pub fn webserver_settings(ctx: &Ctx, public: IpAddr, private: IpAddr) -> Result<String> {
    let path = ctx.home.join(".ssh/webserver_configuration_settings.dat");
    let mut text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
    let mine = ctx.settings()?;
    let v = |k: &str| config::value(&mine, k).unwrap_or_default();
    let values = [
        ("AUTOSCALED", "1".to_string()),
        ("MYPUBLICIP", public.to_string()),
        ("MYIP", private.to_string()),
        ("ASIP", v("MYIP")),
        ("ASPUBLICIP", v("MYPUBLICIP")),
        ("BUILDCLIENTIP", v("BUILDCLIENTIP")),
        ("DBIP", v("DBIP")),
        ("DBPUBLICIP", v("DBPUBLICIP")),
    ];
    for (k, val) in values {
        if !val.is_empty() {
            text = config::stored(&text, k, Some(&val), false);
        }
    }
    Ok(text)
}

/// Wait (bounded by `ADT_BUILD_WAIT`, default 1500 s) for SSH on a new snapshot webserver, then
/// install its settings.
pub fn push_settings(ctx: &Ctx, public: IpAddr, private: IpAddr) -> Result<()> {
    let text = webserver_settings(ctx, public, private)?;
    let cfg = health::config_from(ctx, Duration::from_secs(10))?;
    let wait = crate::cli::env_u64("ADT_BUILD_WAIT", 1500);
    let deadline = Instant::now() + Duration::from_secs(wait);
    while !health::ssh(public, &cfg, "true", None, Duration::ZERO).0 {
        if Instant::now() >= deadline {
            return Err(Error::Remote(format!("{public} does not answer on SSH")));
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let home = health::webserver_home(ctx);
    let dest = crate::cloud::shell_word(
        &home
            .join(".ssh/webserver_configuration_settings.dat")
            .to_string_lossy(),
    );
    let (ok, _) = health::ssh(
        public,
        &cfg,
        &format!("umask 077 && cat > .adt-webserver-settings.{public}.tmp"),
        Some(text.as_bytes()),
        Duration::from_secs(10),
    );
    let password = config::value(&ctx.settings()?, "SERVERUSERPASSWORD").unwrap_or_default();
    let install = format!(
        "f=\"$HOME/.adt-webserver-settings.{public}.tmp\"; {}; s=$?; rm -f \"$f\"; exit $s",
        health::as_root(&format!("install -m 600 \"$f\" {dest}"))
    );
    let installed = ok
        && health::ssh(
            public,
            &cfg,
            &install,
            Some(format!("{password}\n").as_bytes()),
            Duration::from_secs(10),
        )
        .0;
    if !installed {
        return Err(Error::Remote(format!(
            "could not install the webserver settings on {public}"
        )));
    }
    Ok(())
}
