//! The settings files (`KEY:value` per line) and the legacy readers and writers over them:
//! ExtractConfigValue(s), ExtractBuildStyleValues, CheckConfigValue, CheckBuildStyle,
//! StoreConfigValue(Webserver), StoreDatabaseCredentials.
//!
//! Each function returns exactly the bytes the legacy script printed; the legacy pipelines were
//! grep (a BRE: see [`bre`]) followed by awk/sed, and that is what the semantics follow.

pub mod bre;

use crate::error::{Error, Result};
use crate::fsutil;
use std::path::Path;

/// Read a settings file. A missing file is an error the caller reports on stderr; legacy
/// callers see empty output.
pub fn read_settings(path: &Path) -> Result<String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => Err(Error::Config(format!(
            "cannot read settings file {}: {}",
            path.display(),
            e.kind()
        ))),
    }
}

/// The lines of a file as grep sees them (a final line without newline still counts).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_terminator('\n')
}

fn key_lines<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let pat = bre::Pattern::new(&format!("^{key}:"));
    lines(text).filter(|l| pat.is_match(l)).collect()
}

/// awk `-F':' '{print $NF}'`: the last `:`-separated field (the whole line when there is none).
fn last_field(line: &str) -> &str {
    line.rsplit(':').next().unwrap_or("")
}

/// ExtractConfigValue KEY: for each line starting `KEY:`, its last `:`-separated field (2022).
pub fn extract_value(text: &str, key: &str) -> String {
    extract_value_by(text, key, crate::layout::ExtractRule::LastField)
}

/// ExtractConfigValue KEY under a generation's rule.
pub fn extract_value_by(text: &str, key: &str, rule: crate::layout::ExtractRule) -> String {
    if key.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for l in key_lines(text, key) {
        match rule {
            crate::layout::ExtractRule::LastField => out.push_str(last_field(l)),
            crate::layout::ExtractRule::AfterFirstColon => {
                out.push_str(l.split_once(':').map(|(_, v)| v).unwrap_or(""))
            }
        }
        out.push('\n');
    }
    out
}

/// The value of a key as one string (first match, no newline), for library callers.
pub fn value(text: &str, key: &str) -> Option<String> {
    key_lines(text, key)
        .first()
        .map(|l| last_field(l).to_string())
}

/// ExtractConfigValues KEY [stripped] (and ExtractBuildStyleValues over buildstyles.dat):
/// the lines starting `KEY:`; with `stripped`, the fields after the first joined by single spaces
/// and trimmed (awk `$1=""` then a trim).
pub fn extract_values(text: &str, key: &str, stripped: bool) -> String {
    if key.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for l in key_lines(text, key) {
        if stripped {
            // awk rebuilds the record as "" OFS f2 OFS f3 …; sed then drops one leading and one
            // trailing space.
            let rest: Vec<&str> = l.split(':').skip(1).collect();
            let joined = rest.join(" ");
            out.push_str(joined.strip_suffix(' ').unwrap_or(&joined));
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    out
}

/// CheckConfigValue PATTERN: `1` if any line contains PATTERN (a grep BRE), else `0`.
pub fn check_value(text: &str, pattern: &str) -> String {
    if pattern.is_empty() {
        return "0\n".into();
    }
    let pat = bre::Pattern::new(pattern);
    let hit = lines(text).any(|l| pat.is_match(l));
    if hit { "1\n" } else { "0\n" }.into()
}

/// CheckBuildStyle PREFIX: `1` if any line starts with PREFIX, else `0`.
pub fn check_prefix(text: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        return "0\n".into();
    }
    check_value(text, &format!("^{prefix}"))
}

/// StoreConfigValue KEY [VALUE]: drop lines without `:`, drop lines matching `.*KEY:` (or `.*KEY$`
/// when there is no value), append `KEY:VALUE` (or `KEY`). With an empty KEY only the first step
/// runs. `webserver_variant`: the webserver's script also strips one leading space from every
/// line. Written atomically, mode kept. Fixed legacy defects: the webserver's script appended
/// nothing to an empty file, and the others glued the new line to a last line without newline.
pub fn store_value(
    path: &Path,
    key: &str,
    value: Option<&str>,
    webserver_variant: bool,
) -> Result<()> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    let out = stored(&text, key, value, webserver_variant);
    fsutil::write_atomic(path, out.as_bytes(), None)
}

/// [`store_value`] of the 2025 autoscaler: only lines that start with `KEY:` (or are exactly
/// `KEY`) are replaced, not every line that contains it.
pub fn store_value_anchored(path: &Path, key: &str, value: Option<&str>) -> Result<()> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path.display(), e)),
    };
    let out = stored_with(&text, key, value, false, true);
    fsutil::write_atomic(path, out.as_bytes(), None)
}

/// The settings text after StoreConfigValue KEY [VALUE] (see [`store_value`]).
pub fn stored(text: &str, key: &str, value: Option<&str>, webserver_variant: bool) -> String {
    stored_with(text, key, value, webserver_variant, false)
}

fn stored_with(
    text: &str,
    key: &str,
    value: Option<&str>,
    webserver_variant: bool,
    anchored: bool,
) -> String {
    let start = if anchored { "^" } else { ".*" };
    let drop = match value {
        Some(_) => bre::Pattern::new(&format!("{start}{key}:")),
        None => bre::Pattern::new(&format!("{start}{key}$")),
    };
    let mut out = String::with_capacity(text.len() + key.len() + 16);
    for l in lines(text) {
        if l.contains(':') && (key.is_empty() || !drop.is_match(l)) {
            let l = if webserver_variant && !key.is_empty() {
                l.strip_prefix(' ').unwrap_or(l)
            } else {
                l
            };
            out.push_str(l);
            out.push('\n');
        }
    }
    if !key.is_empty() {
        out.push_str(key);
        if let Some(v) = value {
            out.push(':');
            out.push_str(v);
        }
        out.push('\n');
    }
    out
}

/// StoreDatabaseCredentials NAME PASSWORD USER: the three lines, in a file of mode 0600.
pub fn store_db_credentials(path: &Path, name: &str, password: &str, user: &str) -> Result<()> {
    let body = format!("{name}\n{password}\n{user}\n");
    fsutil::write_atomic(path, body.as_bytes(), Some(0o600))
}

/// `1\n` when a line starts with `prefix` (a grep BRE anchored with `^`), else `0\n`.
pub fn check_value_anchored(text: &str, prefix: &str) -> String {
    let pat = bre::Pattern::new(&format!("^{prefix}"));
    if text.split_terminator('\n').any(|l| pat.is_match(l)) {
        "1\n".into()
    } else {
        "0\n".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "WEBSITEURL:www.example.com\nDNSCHOICE:cloudflare\nSSHPORT:1035\nBUILDOS:ubuntu:20.04\nPRODUCTION:1\nSNAPAUTOSCALE:0\nKEY:\nX:a: b :c\nnocolon\n";

    #[test]
    fn extract_value_takes_last_field() {
        assert_eq!(extract_value(S, "WEBSITEURL"), "www.example.com\n");
        assert_eq!(extract_value(S, "BUILDOS"), "20.04\n");
        assert_eq!(extract_value(S, "KEY"), "\n");
        assert_eq!(extract_value(S, "MISSING"), "");
        assert_eq!(extract_value(S, ""), "");
        assert_eq!(extract_value(S, "SSH"), "");
        use crate::layout::ExtractRule::AfterFirstColon;
        assert_eq!(
            extract_value_by(S, "BUILDOS", AfterFirstColon),
            "ubuntu:20.04\n"
        );
        assert_eq!(extract_value_by(S, "SSHPORT", AfterFirstColon), "1035\n");
    }

    #[test]
    fn extract_values_whole_and_stripped() {
        assert_eq!(
            extract_values(S, "BUILDOS", false),
            "BUILDOS:ubuntu:20.04\n"
        );
        assert_eq!(extract_values(S, "BUILDOS", true), "ubuntu 20.04\n");
        assert_eq!(extract_values(S, "X", true), "a  b  c\n");
        assert_eq!(extract_values("K::a\nK:a:\nK:\n", "K", true), " a\na\n\n");
    }

    #[test]
    fn anchored_store_keeps_lines_that_only_contain_the_key() {
        let t = "MYIP:1\nOLDMYIP:2\n";
        assert_eq!(stored(t, "MYIP", Some("3"), false), "MYIP:3\n");
        assert_eq!(
            stored_with(t, "MYIP", Some("3"), false, true),
            "OLDMYIP:2\nMYIP:3\n"
        );
    }

    #[test]
    fn check_value_is_unanchored() {
        assert_eq!(check_value(S, "AUTOSCALE"), "1\n");
        assert_eq!(check_value(S, "PRODUCTION:1"), "1\n");
        assert_eq!(check_value(S, "PRODUCTION:0"), "0\n");
        assert_eq!(check_value(S, ""), "0\n");
        assert_eq!(check_prefix(S, "AUTOSCALE"), "0\n");
        assert_eq!(check_prefix(S, "SNAP"), "1\n");
    }
}
