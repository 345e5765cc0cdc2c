//! The 2025 generation's S3 accounts: which tool the machine was built with (`DATASTORETOOL:` in
//! `runtime/buildstyles.dat`), where that tool's numbered configuration files are
//! (`/root/.s3cfg-N`, `/root/.s5cfg-N`, `/root/.config/rclone/rclone.conf-N`), and how many
//! accounts there are (`S3ACCESSKEY` holds one key per account, `|`-separated).
//!
//! We never run s3cmd, s5cmd or rclone: the credentials and the endpoint are read from whichever
//! of the three files the machine has, and the requests are ours.
//!
//! Differences from legacy: the legacy wrappers put `https://<host_base>` on every command
//! line, whatever the file said. We take the scheme from the file: `use_https` in an s3cmd file
//! (the 2025 template says `True`), the scheme of rclone's `endpoint` (the template writes
//! `https://`), https for an s5cmd file unless its `host_base` names another scheme. On a machine
//! built from the templates that is https, as before; a test store on plain http can be used.

use super::s3cfg::S3Config;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The datastore tool a 2025 machine was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    S3cmd,
    S5cmd,
    Rclone,
}

impl Tool {
    /// The tool named in buildstyles.dat, tested as the legacy scripts test it
    /// (CheckBuildStyle `DATASTORETOOL:s3cmd`, then `:s5cmd`, then `:rclone`: a line that starts
    /// with it). Legacy had no tool at all when none matched, and every wrapper then failed; we
    /// read s3cmd's file, the toolkit's default.
    pub fn from_buildstyles(text: &str) -> Tool {
        let has = |t: &str| {
            text.split_terminator('\n')
                .any(|l| l.starts_with(&format!("DATASTORETOOL:{t}")))
        };
        if has("s3cmd") {
            Tool::S3cmd
        } else if has("s5cmd") {
            Tool::S5cmd
        } else if has("rclone") {
            Tool::Rclone
        } else {
            Tool::S3cmd
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tool::S3cmd => "s3cmd",
            Tool::S5cmd => "s5cmd",
            Tool::Rclone => "rclone",
        }
    }

    /// The configuration file of account `n` (1-based) under `root` (`/root` on a machine).
    pub fn config_path(self, root: &Path, n: usize) -> PathBuf {
        match self {
            Tool::S3cmd => root.join(format!(".s3cfg-{n}")),
            Tool::S5cmd => root.join(format!(".s5cfg-{n}")),
            Tool::Rclone => root.join(".config/rclone").join(format!("rclone.conf-{n}")),
        }
    }

    /// Read account credentials and endpoint from this tool's configuration file.
    pub fn load(self, path: &Path) -> Result<S3Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read {} configuration {}: {}",
                self.name(),
                path.display(),
                e.kind()
            ))
        })?;
        let parsed = match self {
            Tool::S3cmd => S3Config::parse(&text),
            Tool::S5cmd => parse_s5cfg(&text),
            Tool::Rclone => parse_rclone(&text),
        };
        parsed.map_err(|m| Error::Config(format!("{}: {m}", path.display())))
    }
}

/// Where the numbered credential files live: `/root`, or `ADT_ROOT_DIR` (tests).
pub fn root_dir() -> PathBuf {
    std::env::var_os("ADT_ROOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// How many S3 accounts the settings allow: one per `|`-separated S3ACCESSKEY (legacy counts the
/// `|` and adds one, so an empty key is still one account).
pub fn account_count(s3_access_key: &str) -> usize {
    s3_access_key.matches('|').count() + 1
}

/// `key = value` lines of the first section named `section` (any section when `None`).
fn ini(text: &str, section: Option<&str>) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let mut current: Option<String> = None;
    let mut taken: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            current = Some(line[1..line.len() - 1].trim().to_string());
            continue;
        }
        let wanted = match (section, &current) {
            (Some(s), Some(c)) => s == c,
            (Some(_), None) => false,
            (None, c) => taken.is_none() || taken == *c,
        };
        if !wanted {
            continue;
        }
        if section.is_none() && taken.is_none() {
            taken = current.clone();
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(k.trim().to_string())
                .or_insert_with(|| v.trim().to_string());
        }
    }
    out
}

/// Split `https://host:port/` into (https?, `host:port`).
fn split_scheme(url: &str) -> (Option<bool>, String) {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (Some(true), r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (Some(false), r)
    } else {
        (None, url)
    };
    (https, rest.trim_end_matches('/').to_string())
}

fn config_from(
    access: String,
    secret: String,
    endpoint: &str,
    region: &str,
) -> std::result::Result<S3Config, String> {
    if access.is_empty() || secret.is_empty() {
        return Err("the access key or the secret key is missing".into());
    }
    let (https, host) = split_scheme(endpoint);
    if host.is_empty() {
        return Err("no endpoint (host_base or endpoint) is set".into());
    }
    // Path-style addressing, as s5cmd and rclone (provider Other) use by default.
    let text = format!(
        "[default]\naccess_key = {access}\nsecret_key = {secret}\nhost_base = {host}\n\
         host_bucket = {host}\nuse_https = {}\nbucket_location = {}\n",
        if https.unwrap_or(true) {
            "True"
        } else {
            "False"
        },
        if region.is_empty() {
            "us-east-1"
        } else {
            region
        },
    );
    S3Config::parse(&text)
}

/// s5cmd's credentials file as the 2025 toolkit writes it: `[default]`, `aws_access_key_id`,
/// `aws_secret_access_key`, `host_base` (the endpoint host; the wrappers add `https://`).
pub fn parse_s5cfg(text: &str) -> std::result::Result<S3Config, String> {
    let m = ini(text, Some("default"));
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    config_from(
        get("aws_access_key_id"),
        get("aws_secret_access_key"),
        &get("host_base"),
        &get("region"),
    )
}

/// rclone's configuration as the 2025 toolkit writes it: one `[s3]` remote with
/// `access_key_id`, `secret_access_key`, `endpoint = https://<host>` (and maybe `region`).
pub fn parse_rclone(text: &str) -> std::result::Result<S3Config, String> {
    let m = {
        let s3 = ini(text, Some("s3"));
        if s3.is_empty() {
            ini(text, None)
        } else {
            s3
        }
    };
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    config_from(
        get("access_key_id"),
        get("secret_access_key"),
        &get("endpoint"),
        &get("region"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_from_buildstyles() {
        assert_eq!(
            Tool::from_buildstyles("X:1\nDATASTORETOOL:s5cmd\n"),
            Tool::S5cmd
        );
        assert_eq!(
            Tool::from_buildstyles("DATASTORETOOL:rclone\n"),
            Tool::Rclone
        );
        assert_eq!(
            Tool::from_buildstyles("DATASTORETOOL:rclone\nDATASTORETOOL:s3cmd\n"),
            Tool::S3cmd
        );
        assert_eq!(
            Tool::from_buildstyles(" DATASTORETOOL:s5cmd\n"),
            Tool::S3cmd
        );
        assert_eq!(Tool::from_buildstyles(""), Tool::S3cmd);
    }

    #[test]
    fn config_paths() {
        let r = Path::new("/root");
        assert_eq!(Tool::S3cmd.config_path(r, 1), Path::new("/root/.s3cfg-1"));
        assert_eq!(Tool::S5cmd.config_path(r, 2), Path::new("/root/.s5cfg-2"));
        assert_eq!(
            Tool::Rclone.config_path(r, 3),
            Path::new("/root/.config/rclone/rclone.conf-3")
        );
    }

    #[test]
    fn accounts_from_the_access_key() {
        assert_eq!(account_count("AK1"), 1);
        assert_eq!(account_count(""), 1);
        assert_eq!(account_count("AK1|AK2|AK3"), 3);
    }

    #[test]
    fn s5cmd_file() {
        let c = parse_s5cfg(
            "[default]\naws_access_key_id = AK\naws_secret_access_key = S/K+1\nhost_base = sos-ch-gva-2.exo.io\n",
        )
        .unwrap();
        assert_eq!(c.access_key, "AK");
        assert_eq!(c.secret_key, "S/K+1");
        assert_eq!(c.endpoint_url(), "https://sos-ch-gva-2.exo.io");
        let c = parse_s5cfg(
            "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\nhost_base = http://127.0.0.1:9000\n",
        )
        .unwrap();
        assert_eq!(c.endpoint_url(), "http://127.0.0.1:9000");
        assert!(parse_s5cfg("[default]\naws_access_key_id = AK\nhost_base = h\n").is_err());
    }

    #[test]
    fn rclone_file() {
        let c = parse_rclone(
            "[s3]\ntype = s3\nprovider = Other\nenv_auth = false\naccess_key_id =  AK\nsecret_access_key =  SK\nendpoint = https://us-east-1.linodeobjects.com\nacl = private\n",
        )
        .unwrap();
        assert_eq!(c.access_key, "AK");
        assert_eq!(c.endpoint_url(), "https://us-east-1.linodeobjects.com");
        assert!(!c.virtual_hosted());
    }
}
