//! DNSCHOICE `cloudflare`: Cloudflare's HTTP API through curl. The key travels in curl's
//! configuration on stdin, never on argv, where the legacy put it; listings follow every page
//! (legacy saw at most 20 records).

use super::{Provider, Record};
use crate::error::{Error, Result};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub struct Cloudflare {
    pub api: String,
    pub email: String,
    pub key: String,
    pub zone: String,
    /// The zone's id when the caller knows it (looked up by name otherwise).
    pub zone_id: Option<String>,
    pub proxied: bool,
}

fn curl_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Cloudflare {
    pub fn new(api: &str, email: &str, key: &str, zone: &str) -> Cloudflare {
        Cloudflare {
            api: api.trim_end_matches('/').to_string(),
            email: email.into(),
            key: key.into(),
            zone: zone.into(),
            zone_id: None,
            proxied: true,
        }
    }

    /// One API call, its answer read as `T` once it says it succeeded. Credentials and body go
    /// in curl's config on stdin.
    fn call<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&str>) -> Result<T> {
        let mut config = String::new();
        if self.email.is_empty() {
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("Authorization: Bearer {}", self.key))
            ));
        } else {
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("X-Auth-Email: {}", self.email))
            ));
            config.push_str(&format!(
                "header = {}\n",
                curl_quote(&format!("X-Auth-Key: {}", self.key))
            ));
        }
        config.push_str("header = \"Content-Type: application/json\"\n");
        if let Some(b) = body {
            config.push_str(&format!("data = {}\n", curl_quote(b)));
        }
        let url = format!("{}{path}", self.api);
        let out = crate::process::Run::new("curl")
            .args(["-sS", "--max-time", "20", "-K", "-", "-X", method, &url])
            .stdin(config)
            .output()?;
        if !out.success() {
            return Err(Error::Remote(format!(
                "Cloudflare {method} {path}: {}",
                out.stderr.trim()
            )));
        }
        let unexpected = |e: serde_json::Error| {
            Error::Remote(format!(
                "Cloudflare {method} {path}: unexpected answer: {e}"
            ))
        };
        // First only whether it worked, so that a failure's answer need not have the result's
        // shape.
        let status: Option<CfStatus> = serde_json::from_str(&out.stdout).map_err(unexpected)?;
        let status = status.unwrap_or_default();
        if status.success != Some(true) {
            return Err(Error::Remote(format!(
                "Cloudflare {method} {path}: {}",
                status.errors
            )));
        }
        serde_json::from_str(&out.stdout).map_err(unexpected)
    }

    fn zone_id(&mut self) -> Result<String> {
        if let Some(z) = &self.zone_id {
            return Ok(z.clone());
        }
        let v: CfAnswer<Vec<CfZone>> =
            self.call("GET", &format!("/zones?name={}", self.zone), None)?;
        let id = v
            .result
            .into_iter()
            .flatten()
            .next()
            .and_then(|z| z.id)
            .ok_or_else(|| Error::Config(format!("Cloudflare has no zone {}", self.zone)))?;
        self.zone_id = Some(id.clone());
        Ok(id)
    }
}

impl Provider for Cloudflare {
    fn zone(&mut self) -> Result<Option<String>> {
        self.zone_id().map(Some)
    }
    fn list(&mut self, name: &str) -> Result<Vec<Record>> {
        let z = self.zone_id()?;
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let v: CfAnswer<Vec<CfDnsRecord>> = self.call(
                "GET",
                &format!("/zones/{z}/dns_records?type=A&name={name}&per_page=100&page={page}"),
                None,
            )?;
            for r in v.result.into_iter().flatten() {
                if let (Some(id), Some(ip)) = (r.id, r.content.and_then(|c| c.parse().ok())) {
                    out.push(Record { id, ip });
                }
            }
            let pages = v.result_info.and_then(|i| i.total_pages).unwrap_or(1);
            if page >= pages {
                return Ok(out);
            }
            page += 1;
        }
    }

    fn add(&mut self, name: &str, ip: IpAddr) -> Result<()> {
        let z = self.zone_id()?;
        let body = CfNewRecord {
            content: ip.to_string(),
            name,
            proxied: self.proxied,
            ttl: 120,
            r#type: "A",
        };
        let body = serde_json::to_string(&body).expect("strings and numbers always serialize");
        self.call::<IgnoredAny>("POST", &format!("/zones/{z}/dns_records"), Some(&body))
            .map(|_| ())
    }

    fn delete(&mut self, _name: &str, record: &Record) -> Result<()> {
        let z = self.zone_id()?;
        self.call::<IgnoredAny>(
            "DELETE",
            &format!("/zones/{z}/dns_records/{}", record.id),
            None,
        )
        .map(|_| ())
    }
}

/// Whether a Cloudflare API answer says it succeeded and, if not, why.
#[derive(Default, Deserialize)]
struct CfStatus {
    success: Option<bool>,
    /// Shown as they came (`[{"code":…,"message":…}]`): any JSON.
    #[serde(default)]
    errors: serde_json::Value,
}

/// A successful Cloudflare API answer: its `result` and, for lists, the paging.
#[derive(Deserialize)]
struct CfAnswer<T> {
    result: Option<T>,
    result_info: Option<CfResultInfo>,
}

/// `result_info` of a Cloudflare list.
#[derive(Deserialize)]
struct CfResultInfo {
    total_pages: Option<u64>,
}

/// A zone in the result of Cloudflare's `GET /zones?name=ZONE`.
#[derive(Deserialize)]
struct CfZone {
    id: Option<String>,
}

/// A record in the result of Cloudflare's `GET /zones/ZONE/dns_records`.
#[derive(Deserialize)]
struct CfDnsRecord {
    id: Option<String>,
    /// The address of an A record.
    content: Option<String>,
}

/// The body of Cloudflare's `POST /zones/ZONE/dns_records`. Fields in alphabetical order, the
/// order the body has always had them in.
#[derive(Serialize)]
struct CfNewRecord<'a> {
    content: String,
    name: &'a str,
    proxied: bool,
    ttl: u32,
    #[serde(rename = "type")]
    r#type: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudflare_failures_show_their_errors_as_they_came() {
        let s: Option<CfStatus> = serde_json::from_str("null").unwrap();
        assert_eq!(s.unwrap_or_default().errors.to_string(), "null");
        let s: CfStatus = serde_json::from_str(
            r#"{"success": false, "errors": [{"code": 9109, "message": "Invalid"}], "result": 5}"#,
        )
        .unwrap();
        assert_eq!(s.success, Some(false));
        assert_eq!(
            s.errors.to_string(),
            r#"[{"code":9109,"message":"Invalid"}]"#
        );
    }
}
