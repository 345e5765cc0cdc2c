//! Making a new webserver from a snapshot one of this fleet (legacy BuildWebserver's snapshot
//! path): once SSH answers, give it its own settings, the autoscaler's copy of
//! `webserver_configuration_settings.dat` with `AUTOSCALED:1` and this server's and the
//! autoscaler's IPs. The file travels on SSH's stdin (never argv) and lands with mode 0600.

use crate::config;
use crate::error::{Error, Result};
use crate::process::{as_root, ssh, SshTarget};
use crate::site::Site;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The toolkit home on the webservers: the same path as the autoscaler's on a real fleet (legacy
/// expanded `${HOME}` on the autoscaler); `ADT_WEBSERVER_HOME` names another (tests with two
/// autoscalers on one host).
pub fn webserver_home(site: &Site) -> PathBuf {
    std::env::var_os("ADT_WEBSERVER_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| site.home.clone())
}

/// How the autoscaler reaches the fleet over SSH: SERVERUSER on SSHPORT with the build key
/// (`.ssh/id_<ALGORITHM>_AGILE_DEPLOYMENT_BUILD_KEY`), each connection bounded by `timeout`.
pub fn fleet_ssh(site: &Site, timeout: Duration) -> Result<SshTarget> {
    let text = site.settings()?;
    let v = |k: &str| config::value(&text, k).unwrap_or_default();
    Ok(SshTarget {
        user: v("SERVERUSER"),
        port: v("SSHPORT").parse().map_err(|_| {
            Error::Config(format!(
                "SSHPORT is not a port in {}",
                site.settings_path().display()
            ))
        })?,
        key: site
            .home
            .join(".ssh")
            .join(format!("id_{}_AGILE_DEPLOYMENT_BUILD_KEY", v("ALGORITHM"))),
        timeout,
        mux: None,
        kex_first: None,
        known_hosts: None,
    })
}

/// The new webserver's settings: the autoscaler's copy with this server's values.
pub fn webserver_settings(ctx: &Site, public: IpAddr, private: IpAddr) -> Result<String> {
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
pub fn push_settings(ctx: &Site, public: IpAddr, private: IpAddr) -> Result<()> {
    let text = webserver_settings(ctx, public, private)?;
    let cfg = fleet_ssh(ctx, Duration::from_secs(10))?;
    let wait = crate::knobs::env_u64("ADT_BUILD_WAIT", 1500);
    let deadline = Instant::now() + Duration::from_secs(wait);
    while !ssh(public, &cfg, "true", None, Duration::ZERO).0 {
        if Instant::now() >= deadline {
            return Err(Error::Remote(format!("{public} does not answer on SSH")));
        }
        std::thread::sleep(Duration::from_secs(5));
    }
    let home = webserver_home(ctx);
    let dest = crate::cloud::shell_word(
        &home
            .join(".ssh/webserver_configuration_settings.dat")
            .to_string_lossy(),
    );
    let (ok, _) = ssh(
        public,
        &cfg,
        &format!("umask 077 && cat > .adt-webserver-settings.{public}.tmp"),
        Some(text.as_bytes()),
        Duration::from_secs(10),
    );
    let password = config::value(&ctx.settings()?, "SERVERUSERPASSWORD").unwrap_or_default();
    let install = format!(
        "f=\"$HOME/.adt-webserver-settings.{public}.tmp\"; {}; s=$?; rm -f \"$f\"; exit $s",
        as_root(&format!("install -m 600 \"$f\" {dest}"))
    );
    let installed = ok
        && ssh(
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
