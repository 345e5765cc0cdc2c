//! Cloud providers behind one narrow interface: every call is a provider CLI command line
//! (doctl, linode-cli, exo, vultr) run through [`Cli`], which tests replace with stand-in
//! executables on PATH and whose command lines are checked against fixtures.

pub mod commands;
pub mod firewall;
pub mod local;
pub mod provision;
pub mod servers;

use crate::error::{Error, Result};
use std::path::Path;

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

fn find(prog: &str) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/local/bin", "/usr/bin", "/snap/bin"].map(Into::into));
    dirs.into_iter().map(|d| d.join(prog)).find(|p| p.is_file())
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
        let out = std::process::Command::new(path)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::io(prog, e))?;
        if !out.status.success() {
            return Err(Error::Remote(format!(
                "{prog} {} failed: {}",
                args.first().copied().unwrap_or(""),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

/// Parse a CLI's JSON answer.
pub fn json(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Remote(format!("{what}: unexpected answer: {e}")))
}
