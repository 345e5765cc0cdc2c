//! s3cmd's configuration file (`~/.s3cfg`), which every legacy machine already has: the only
//! place credentials and the endpoint come from, so a drop-in needs no new setup.
//!
//! Differences from legacy: the endpoint (`host_base`, or `host_bucket` when it addresses
//! buckets by host name) is checked when the file is read, so a bad one (`127.0.0.1:99999`,
//! `host:abc`) is reported as that setting of that file rather than as a store that cannot be
//! reached.

use crate::error::{Error, Result};
use std::path::Path;

/// Check an endpoint as s3cmd's `host_base` gives it: `HOST` or `HOST:PORT`, HOST a name or an
/// address (an IPv6 address in brackets), PORT from 1 to 65535.
fn check_host(v: &str) -> std::result::Result<(), String> {
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        let (h, tail) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ']'")?;
        match tail {
            "" => (h, None),
            t => (
                h,
                Some(t.strip_prefix(':').ok_or("only :PORT may follow ']'")?),
            ),
        }
    } else {
        match v.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (v, None),
        }
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
    {
        return Err(format!("{c:?} cannot be part of a host name"));
    }
    if let Some(p) = port {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => {}
            _ => return Err(format!("port {p:?} is not a number from 1 to 65535")),
        }
    }
    Ok(())
}

/// The parts of an s3cmd configuration the datastore needs.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    /// `host_base`: the endpoint host (and port).
    pub host_base: String,
    /// `host_bucket`: with `%(bucket)s` in it the store is addressed host_bucket style
    /// (virtual-hosted), otherwise path style.
    pub host_bucket: String,
    pub use_https: bool,
    /// `bucket_location`, mapped to a signing region (`US` → `us-east-1`, `EU` → `eu-west-1`).
    pub region: String,
    pub signature_v2: bool,
}

impl std::fmt::Debug for S3Config {
    // Secrets never reach logs, not even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("access_key", &"<redacted>")
            .field("secret_key", &"<redacted>")
            .field("host_base", &self.host_base)
            .field("host_bucket", &self.host_bucket)
            .field("use_https", &self.use_https)
            .field("region", &self.region)
            .finish()
    }
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1")
}

impl S3Config {
    pub fn load(path: &Path) -> Result<S3Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read s3cmd configuration {}: {}",
                path.display(),
                e.kind()
            ))
        })?;
        S3Config::parse(&text).map_err(|m| Error::Config(format!("{}: {m}", path.display())))
    }

    /// Parse the `[default]` section (s3cmd reads only that one by default).
    pub fn parse(text: &str) -> std::result::Result<S3Config, String> {
        let mut section = String::from("default");
        let mut get = std::collections::HashMap::new();
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.starts_with('[') && line.ends_with(']') {
                section = line[1..line.len() - 1].trim().to_string();
                continue;
            }
            if section != "default" {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                get.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let take = |k: &str| get.get(k).cloned().unwrap_or_default();
        let access_key = take("access_key");
        let secret_key = take("secret_key");
        if access_key.is_empty() || secret_key.is_empty() {
            return Err("access_key or secret_key is missing".into());
        }
        let host_base = match take("host_base") {
            h if h.is_empty() => "s3.amazonaws.com".to_string(),
            h => h,
        };
        let host_bucket = match take("host_bucket") {
            h if h.is_empty() => "%(bucket)s.s3.amazonaws.com".to_string(),
            h => h,
        };
        let use_https = get.get("use_https").map(|v| truthy(v)).unwrap_or(true);
        let region = match take("bucket_location").as_str() {
            "" | "US" | "us" => "us-east-1".to_string(),
            "EU" | "eu" => "eu-west-1".to_string(),
            r => r.to_string(),
        };
        let session_token = Some(take("access_token")).filter(|t| !t.is_empty());
        let c = S3Config {
            access_key,
            secret_key,
            session_token,
            host_base,
            host_bucket,
            use_https,
            region,
            signature_v2: get.get("signature_v2").map(|v| truthy(v)).unwrap_or(false),
        };
        if c.virtual_hosted() {
            let host = c.host_bucket.replace("%(bucket)s.", "");
            if !host.contains("%(bucket)s") {
                check_host(&host)
                    .map_err(|why| format!("host_bucket {:?} is invalid: {why}", c.host_bucket))?;
            }
        }
        check_host(&c.host_base)
            .map_err(|why| format!("host_base {:?} is invalid: {why}", c.host_base))?;
        Ok(c)
    }

    /// Whether buckets are addressed in the host name (`%(bucket)s.host`) rather than the path.
    pub fn virtual_hosted(&self) -> bool {
        self.host_bucket.contains("%(bucket)s")
    }

    /// The endpoint URL handed to the S3 client.
    pub fn endpoint_url(&self) -> String {
        let scheme = if self.use_https { "https" } else { "http" };
        let host = if self.virtual_hosted() {
            // `%(bucket)s.host` → the SDK puts the bucket in front of `host` itself.
            let h = self.host_bucket.replace("%(bucket)s.", "");
            if h.contains("%(bucket)s") {
                self.host_base.clone()
            } else {
                h
            }
        } else {
            self.host_base.clone()
        };
        format!("{scheme}://{host}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_path_style() {
        let c = S3Config::parse(
            "[default]\naccess_key = AK\nsecret_key = SK\nhost_base = 127.0.0.1:9000\nhost_bucket = 127.0.0.1:9000\nuse_https = False\nbucket_location = US\nsignature_v2 = False\n[other]\naccess_key = X\n",
        )
        .unwrap();
        assert_eq!(c.access_key, "AK");
        assert!(!c.virtual_hosted());
        assert_eq!(c.endpoint_url(), "http://127.0.0.1:9000");
        assert_eq!(c.region, "us-east-1");
    }

    #[test]
    fn parses_virtual_hosted() {
        let c = S3Config::parse(
            "[default]\naccess_key=AK\nsecret_key=SK\nhost_base = ams3.digitaloceanspaces.com\nhost_bucket = %(bucket)s.ams3.digitaloceanspaces.com\nbucket_location = ams3\n",
        )
        .unwrap();
        assert!(c.virtual_hosted());
        assert!(c.use_https);
        assert_eq!(c.endpoint_url(), "https://ams3.digitaloceanspaces.com");
        assert_eq!(c.region, "ams3");
    }

    #[test]
    fn bad_endpoints_are_refused_naming_the_setting() {
        let cfg = |host: &str| {
            S3Config::parse(&format!(
                "access_key = A\nsecret_key = S\nhost_base = {host}\nhost_bucket = {host}\n"
            ))
        };
        for good in [
            "127.0.0.1:9000",
            "s3.amazonaws.com",
            "[::1]:9000",
            "[::1]",
            "a-b_c.d",
        ] {
            assert!(cfg(good).is_ok(), "{good}");
        }
        for bad in [
            "127.0.0.1:99999",
            "127.0.0.1:abc",
            "127.0.0.1:",
            "127.0.0.1:0",
            ":9000",
            "a b",
            "h/x",
            "[::1",
        ] {
            let e = cfg(bad).unwrap_err();
            assert!(e.starts_with("host_base"), "{bad}: {e}");
        }
        let e = S3Config::parse(
            "access_key = A\nsecret_key = S\nhost_base = ok.example\nhost_bucket = %(bucket)s.x:70000\n",
        )
        .unwrap_err();
        assert!(e.starts_with("host_bucket"), "{e}");
    }

    #[test]
    fn missing_keys_and_debug_redacts() {
        assert!(S3Config::parse("[default]\naccess_key = AK\n").is_err());
        let c = S3Config::parse("access_key = AK\nsecret_key = TOPSECRET\n").unwrap();
        assert!(!format!("{c:?}").contains("TOPSECRET"));
    }
}
