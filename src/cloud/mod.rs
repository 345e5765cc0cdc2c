//! Cloud providers behind one narrow interface: every call is a provider CLI command line
//! (doctl, linode-cli, exo, vultr) run through [`Cli`], which tests replace with stand-in
//! executables on PATH and whose command lines are checked against fixtures.

pub mod local;
pub mod provision;
pub mod servers;

pub use provision::{fleet_ssh, webserver_home};

use crate::config;
use crate::error::{Error, Result};
use crate::site::Site;
use local::LocalCloud;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use servers::{Server, ServerSpec};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The cloud host of a machine, from the legacy marker files in its home (`DROPLET`,
/// `EXOSCALE`, `LINODE`, `VULTR`, `AWS`) or the CLOUDHOST setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    DigitalOcean,
    Exoscale,
    Linode,
    Vultr,
    Aws,
}

impl Provider {
    pub fn detect(home: &Path, cloudhost_setting: Option<&str>) -> Option<Provider> {
        for (marker, p) in [
            ("DROPLET", Provider::DigitalOcean),
            ("EXOSCALE", Provider::Exoscale),
            ("LINODE", Provider::Linode),
            ("VULTR", Provider::Vultr),
            ("AWS", Provider::Aws),
        ] {
            if home.join(marker).exists() {
                return Some(p);
            }
        }
        match cloudhost_setting? {
            "digitalocean" => Some(Provider::DigitalOcean),
            "exoscale" => Some(Provider::Exoscale),
            "linode" => Some(Provider::Linode),
            "vultr" => Some(Provider::Vultr),
            "aws" => Some(Provider::Aws),
            _ => None,
        }
    }
}

/// Runs provider CLIs (found on PATH, then the legacy install locations) and keeps the command
/// lines it ran. With `dry_run`, commands that change something are recorded, not run.
#[derive(Default)]
pub struct Cli {
    pub dry_run: bool,
    pub ran: Vec<String>,
}

/// A provider CLI: PATH, then where the legacy installers put them.
fn find(prog: &str) -> Option<PathBuf> {
    crate::process::find_program(prog, &["/usr/local/bin", "/usr/bin", "/snap/bin"])
}

impl Cli {
    /// A read-only query: always runs.
    pub fn query(&mut self, prog: &str, args: &[&str]) -> Result<String> {
        self.exec(prog, args, true)
    }

    /// A change: recorded, and run unless this is a dry run.
    pub fn change(&mut self, prog: &str, args: &[&str]) -> Result<String> {
        self.exec(prog, args, !self.dry_run)
    }

    fn exec(&mut self, prog: &str, args: &[&str], really: bool) -> Result<String> {
        let line = std::iter::once(prog.to_string())
            .chain(args.iter().map(|a| shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ");
        self.ran.push(line);
        if !really {
            return Ok(String::new());
        }
        let path = find(prog).ok_or_else(|| Error::Config(format!("{prog} is not installed")))?;
        let out = crate::process::Run::new(path).args(args).output()?;
        if !out.success() {
            return Err(Error::Remote(format!(
                "{prog} {} failed: {}",
                args.first().copied().unwrap_or(""),
                out.first_error_line()
            )));
        }
        Ok(out.stdout)
    }
}

/// A word as a shell would need it quoted (for the recorded command lines).
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,=@%+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `n` random ASCII letters and digits from /dev/urandom (server names, one-off passwords).
pub fn random_alnum(n: usize) -> String {
    use std::io::Read;
    let mut out = String::new();
    let Ok(mut f) = std::fs::File::open("/dev/urandom") else {
        return out;
    };
    let mut b = [0u8; 64];
    while out.len() < n && f.read_exact(&mut b).is_ok() {
        out.extend(
            b.iter()
                .map(|x| *x as char)
                .filter(|c| c.is_ascii_alphanumeric())
                .take(n - out.len()),
        );
    }
    out
}

/// Parse a CLI's JSON answer into the shape the caller reads (fields it does not read are
/// ignored).
pub fn json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Remote(format!("{what}: unexpected answer: {e}")))
}

/// An id as the provider CLIs print them: a number (DigitalOcean's droplets, Linode's linodes,
/// firewalls and domains, Vultr's OS and firewall rules), a string (Exoscale's and Vultr's DNS
/// records), or null or missing. Shown as the number, the string itself, or `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Num(serde_json::Number),
    Str(String),
    #[default]
    Null,
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Num(n) => n.fmt(f),
            Id::Str(s) => f.write_str(s),
            Id::Null => f.write_str("null"),
        }
    }
}

// ---------- the cloud a machine is on ----------

/// The cloud the autoscaler and the provider scripts work on: the `local` cloud, or a cloud
/// host's CLI.
pub enum Cloud {
    Local(LocalCloud),
    /// A cloud host's CLI, and the site name (second label of WEBSITEURL).
    Cli(std::sync::Mutex<servers::CliCloud>, String),
}

impl Cloud {
    pub fn open(ctx: &Site) -> Result<Cloud> {
        Cloud::open_as(ctx, "")
    }

    /// The cloud named `cloudhost` (the provider scripts' argument; empty: the CLOUDHOST
    /// setting). As legacy, a marker file in the home (`DROPLET`, `LINODE`…) wins.
    pub fn open_as(ctx: &Site, cloudhost: &str) -> Result<Cloud> {
        let text = ctx.settings()?;
        let v = |k: &str| config::value(&text, k).unwrap_or_default();
        use servers::{CliCloud, Host};
        let site = v("WEBSITEURL").split('.').nth(1).unwrap_or("").to_string();
        let setting = v("CLOUDHOST");
        let cloudhost = if cloudhost.is_empty() {
            setting.as_str()
        } else {
            cloudhost
        };
        let host = match cloudhost {
            "local" => {
                return Ok(Cloud::Local(LocalCloud {
                    state: std::env::var_os("ADT_LOCAL_CLOUD")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| ctx.home.join(".adt-rs").join("localcloud")),
                    server_home: webserver_home(ctx),
                    ssh_port: v("SSHPORT").parse().map_err(|_| {
                        Error::Config(format!(
                            "SSHPORT is not a port in {}",
                            ctx.settings_path().display()
                        ))
                    })?,
                    authorized_key: ctx.home.join(".ssh").join(format!(
                        "id_{}_AGILE_DEPLOYMENT_BUILD_KEY.pub",
                        v("ALGORITHM")
                    )),
                }))
            }
            c => match Provider::detect(&ctx.home, Some(c)) {
                Some(Provider::DigitalOcean) => Host::DigitalOcean,
                Some(Provider::Exoscale) => Host::Exoscale,
                Some(Provider::Linode) => Host::Linode,
                Some(Provider::Vultr) => Host::Vultr,
                _ => {
                    return Err(Error::Config(format!(
                        "server operations on cloud host {c:?} are not implemented by adt"
                    )))
                }
            },
        };
        let cli = CliCloud {
            host,
            cli: Cli::default(),
            zone: v("REGION"),
        };
        Ok(Cloud::Cli(std::sync::Mutex::new(cli), site))
    }

    /// Every server the cloud lists (the local cloud's: public = private).
    pub fn servers(&self) -> Result<Vec<Server>> {
        match self {
            Cloud::Local(c) => Ok(c
                .list_servers()?
                .into_iter()
                .map(|s| Server {
                    id: s.name.clone(),
                    name: s.name,
                    public: Some(s.ip),
                    private: Some(s.ip),
                    created: s.created,
                })
                .collect()),
            Cloud::Cli(c, _) => lock(c).list(),
        }
    }

    /// Destroy a server as listed by [`Cloud::servers`].
    pub fn destroy_server(&self, s: &Server) -> Result<()> {
        match self {
            Cloud::Local(c) => c.destroy(&s.name),
            Cloud::Cli(c, _) => lock(c).destroy(s),
        }
    }

    /// The cloud host's CLI driver (None on the local cloud).
    pub fn cli(&self) -> Option<std::sync::MutexGuard<'_, servers::CliCloud>> {
        match self {
            Cloud::Local(_) => None,
            Cloud::Cli(c, _) => Some(lock(c)),
        }
    }

    /// This build's webservers (legacy names ending in the build identifier), with a public IP.
    pub fn our_webservers(&self, build_id: &str) -> Result<Vec<Server>> {
        Ok(self
            .servers()?
            .into_iter()
            .filter(|s| self.is_our_webserver(s, build_id) && s.public.is_some())
            .collect())
    }

    /// Whether a listed server is one of this build's webservers (by its legacy name).
    pub fn is_our_webserver(&self, s: &Server, build_id: &str) -> bool {
        match self {
            Cloud::Local(_) => {
                s.name.starts_with("webserver-") && s.name.ends_with(&format!("-{build_id}"))
            }
            Cloud::Cli(_, site) => servers::is_our_webserver(&s.name, site, build_id),
        }
    }

    /// This build's webservers: (name, public ip).
    pub fn webservers(&self, build_id: &str) -> Result<Vec<(String, IpAddr)>> {
        Ok(self
            .our_webservers(build_id)?
            .into_iter()
            .filter_map(|s| Some((s.name, s.public?)))
            .collect())
    }
    /// Create a webserver (on a cloud host, as `spec` says); returns it with its IPs.
    pub fn create(&self, name: &str, spec: Option<&ServerSpec>) -> Result<Server> {
        match (self, spec) {
            (Cloud::Local(c), _) => {
                let ip = c.create(name)?;
                Ok(Server {
                    id: name.into(),
                    name: name.into(),
                    public: Some(ip),
                    private: Some(ip),
                    created: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()
                        .map(|d| d.as_secs()),
                })
            }
            (Cloud::Cli(c, _), Some(spec)) => servers::create_and_wait(c, spec),
            (Cloud::Cli(..), None) => {
                Err(Error::Config(format!("no server specification for {name}")))
            }
        }
    }

    /// A cloud host's server specification for a new webserver (None on the local cloud).
    pub fn spec(&self, ctx: &Site, name: &str) -> Result<Option<ServerSpec>> {
        match self {
            Cloud::Local(_) => Ok(None),
            Cloud::Cli(c, _) => {
                let host = lock(c).host;
                ServerSpec::from_settings(ctx, host, name).map(Some)
            }
        }
    }

    pub fn destroy(&self, name: &str) -> Result<()> {
        match self {
            Cloud::Local(c) => c.destroy(name),
            Cloud::Cli(c, _) => {
                let mut c = lock(c);
                let server = c
                    .list()?
                    .into_iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| Error::Remote(format!("the cloud lists no server {name}")))?;
                c.destroy(&server)
            }
        }
    }
}

/// A mutex's guard, also after a panic in another holder.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_alnum_gives_what_is_asked() {
        for n in [0, 4, 28, 200] {
            let r = super::random_alnum(n);
            assert_eq!(r.len(), n);
            assert!(r.chars().all(|c| c.is_ascii_alphanumeric()), "{r}");
        }
        assert_ne!(super::random_alnum(28), super::random_alnum(28));
    }

    #[test]
    fn ids_are_numbers_strings_or_null() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(default)]
            id: super::Id,
        }
        for (text, want) in [
            (r#"{"id": 501}"#, "501"),
            (r#"{"id": -3}"#, "-3"),
            (r#"{"id": "u-3"}"#, "u-3"),
            (r#"{"id": null}"#, "null"),
            (r#"{}"#, "null"),
        ] {
            let r: Row = super::json(text, "test").unwrap();
            assert_eq!(r.id.to_string(), want, "{text}");
        }
        let e = super::json::<Row>("[", "doctl x")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("doctl x: unexpected answer: "), "{e}");
    }
}
