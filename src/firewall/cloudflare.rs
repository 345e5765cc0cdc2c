//! Cloudflare's published ranges (https://www.cloudflare.com/ips-v4 and ips-v6), built in, with
//! a refresh that validates what it fetches and keeps the previous list on any error.

use super::net::Net;
use crate::error::{Error, Result};
use std::path::Path;

pub const BUILTIN_V4: &[&str] = &[
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
];

pub const BUILTIN_V6: &[&str] = &[
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
];

/// Validate a fetched list: every line a network no broader than /8 (v4) or /16 (v6), and at
/// least one of them. Anything else rejects the whole list.
pub fn parse_list(text: &str) -> Result<Vec<Net>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push(Net::parse(line, 8, 16).map_err(Error::Usage)?);
    }
    if out.is_empty() {
        return Err(Error::Usage("the list is empty".into()));
    }
    Ok(out)
}

/// The ranges in force: the refreshed list in `file` if present and valid, else the built-in.
pub fn ranges(file: &Path) -> Vec<Net> {
    if let Ok(text) = std::fs::read_to_string(file) {
        if let Ok(list) = parse_list(&text) {
            return list;
        }
        eprintln!(
            "adt: {} is not a valid range list; using the built-in one",
            file.display()
        );
    }
    BUILTIN_V4
        .iter()
        .chain(BUILTIN_V6)
        .map(|s| Net::parse(s, 8, 16).expect("built-in range"))
        .collect()
}

/// Fetch both lists (with curl, as the legacy scripts did), validate, and replace `file`
/// atomically. On any error `file` is left as it was.
pub fn refresh(file: &Path, url_v4: &str, url_v6: &str) -> Result<usize> {
    let mut all = String::new();
    for url in [url_v4, url_v6] {
        let o = crate::process::Run::new("curl")
            .args(["-fsS", "--max-time", "15", url])
            .output()?;
        if !o.success() {
            return Err(Error::Store(format!(
                "cannot fetch {url}: {}",
                o.stderr.trim()
            )));
        }
        let text = o.stdout;
        let list = parse_list(&text).map_err(|e| Error::Usage(format!("{url}: {e}")))?;
        for n in list {
            all.push_str(&format!("{n}\n"));
        }
    }
    let n = all.lines().count();
    if let Some(d) = file.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
    }
    crate::fsutil::write_atomic(file, all.as_bytes(), None)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_valid_and_bad_lists_are_refused() {
        assert_eq!(
            ranges(Path::new("/nonexistent")).len(),
            BUILTIN_V4.len() + BUILTIN_V6.len()
        );
        assert!(parse_list("173.245.48.0/20\n103.21.244.0/22\n").is_ok());
        for bad in [
            "",
            "0.0.0.0/0\n",
            "173.245.48.0/20\n<html>",
            "::/0",
            "10.0.0.0/4",
        ] {
            assert!(parse_list(bad).is_err(), "{bad:?}");
        }
    }
}
