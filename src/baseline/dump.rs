//! The database dump of a baseline, scrubbed per application by rewriting the dump's own data
//! statements: mysqldump's `INSERT INTO `t` VALUES (…),(…);` lines (column names from the
//! dump's `CREATE TABLE`) and pg_dump's `COPY t (cols) FROM stdin;` blocks. Every row of every
//! table passes through [`Rules::row`]; the placeholder administrator is written where the
//! users table's data was.
//!
//! Why rewrite the dump rather than load it into a scratch database, scrub with SQL and dump
//! again: the database machine may be a DBaaS client that cannot create a second database;
//! a scratch copy doubles the data on a live server; and the rewrite is a pure function of the
//! dump text, tested without a server (the integration tests then load the result into real
//! MariaDB/PostgreSQL). It fails closed: a data statement of a table it must scrub that it
//! cannot parse is an error, never passed through.
//!
//! What is altered, per application (table names without their prefix):
//! - every application: columns named like a credential (`password`, `pass`, `passwd`,
//!   `secret`, `token`, `apikey`, `private_key`, `clientsecret`, `otpkey`, `otep`,
//!   `activation`, `user_activation_key`) emptied; name/value option rows whose name looks
//!   secret emptied; PHP-serialized and JSON values have their secret-named string members
//!   emptied (serialized lengths rewritten).
//! - WordPress: `users` replaced by the placeholder administrator (ID 1); `usermeta` replaced
//!   by its capabilities and level; `options`/`sitemeta` secret rows emptied (e.g.
//!   `mailserver_pass`, `mailserver_login`, `auth_key`, plugin API keys), `admin_email` to
//!   the placeholder address.
//! - Joomla: `users` replaced by the placeholder Super User (id 42), `user_usergroup_map` by
//!   (42, 8); `session`, `user_keys`, `user_profiles`, `user_notes`, `messages`,
//!   `action_logs`, `privacy_consents`, `user_mfa` emptied; `extensions` params JSON scrubbed.
//! - Drupal: `users`/`users_field_data` keep uid 0 (anonymous) and uid 1 (rewritten to the
//!   placeholder); other users, `user__roles` of others, `users_data`, `sessions`, `watchdog`,
//!   `flood`, `key_value_expire`, `cache*` emptied; `key_value` rows `system.private_key`
//!   and `system.cron_key` removed (Drupal regenerates both); `config` data scrubbed.
//! - Moodle: `user` keeps `guest` and the administrator (the lowest id that is not guest,
//!   rewritten to the placeholder: this is where a virgin build's `<BUILD_IDENTIFIER>-webmaster`
//!   goes); `sessions`, `user_private_key`, `external_tokens`, `user_password_history`,
//!   `user_password_resets`, `logstore_standard_log`, `oauth2_access_token`,
//!   `oauth2_refresh_token`, `user_preferences`/`user_devices` of other users emptied;
//!   `config`/`config_plugins` secret rows emptied.
//!
//! The placeholder administrator: login [`ADMIN_USER`], password hash [`ADMIN_HASH`] (no
//! password matches it, so a baseline deployed without replacing it has no usable admin),
//! address [`super::php::MAIL`]. A deployment replaces the tokens ([`deploy_admin`]).
//!
//! Differences from legacy: legacy dumped every row as it was (spec §2.3.1-2).

use super::php::{secret_name, MAIL};
use super::Application;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;

pub const ADMIN_USER: &str = "XXXADMINUSERXXX";
pub const ADMIN_HASH: &str = "XXXADMINPASSWORDHASHXXX";

/// A column value: NULL or text (numbers are text too; `raw` keeps the dump's spelling so an
/// untouched value is written back byte for byte).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Val {
    pub text: Option<String>,
    pub raw: Option<String>,
    /// A pg `bytea` in hex output (`\\x…` in COPY): `text` is the decoded bytes.
    pub hex: bool,
}

impl Val {
    pub fn null() -> Val {
        Val {
            text: None,
            raw: None,
            hex: false,
        }
    }
    pub fn text(s: &str) -> Val {
        Val {
            text: Some(s.to_string()),
            raw: None,
            hex: false,
        }
    }
    fn set(&mut self, s: &str) {
        if self.text.as_deref() != Some(s) {
            self.text = Some(s.to_string());
            self.raw = None;
        }
    }
}

/// What the scrub did, per table (counts only).
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub tables: std::collections::BTreeMap<String, (usize, usize, usize)>,
}

impl Report {
    fn note(&mut self, table: &str, dropped: usize, changed: usize, added: usize) {
        let e = self.tables.entry(table.to_string()).or_default();
        e.0 += dropped;
        e.1 += changed;
        e.2 += added;
    }
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (t, (d, c, a)) in &self.tables {
            if d + c + a > 0 {
                s.push_str(&format!(
                    "{t}: {d} rows dropped, {c} rows altered, {a} rows added\n"
                ));
            }
        }
        s
    }
}

/// A column of a table as the dump's CREATE TABLE declares it.
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: String,
    pub not_null_no_default: bool,
}

/// Row decision.
pub enum Row {
    Keep,
    Drop,
}

/// The per-application rules.
pub struct Rules {
    pub app: Application,
    /// The users table's kept administrator id, once seen (Moodle: the lowest non-guest id).
    moodle_admin: Option<String>,
    /// Branding replacements applied to every text value (PHP-serialized values keep their
    /// lengths right).
    pub branding: Vec<(String, String)>,
}

const SECRET_COLUMN_PARTS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "secret",
    "token",
    "apikey",
    "clientsecret",
    "otpkey",
    "otep",
    "activation",
];

fn secret_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "private_key"
        || n == "user_activation_key"
        || n == "sesskey"
        || n.split('_').any(|p| SECRET_COLUMN_PARTS.contains(&p))
}

/// The table name without the application's prefix (`wp_users` → `users`, `mdl_user` →
/// `user`, `jos_session` → `session`; Drupal tables have no prefix).
/// The tables the rules name, per application (without prefix).
fn known(app: Application) -> &'static [&'static str] {
    match app {
        Application::WordPress => &["users", "usermeta", "options", "sitemeta"],
        Application::Joomla => &[
            "users",
            "user_usergroup_map",
            "session",
            "user_keys",
            "user_profiles",
            "user_notes",
            "messages",
            "action_logs",
            "privacy_consents",
            "user_mfa",
            "extensions",
        ],
        Application::Drupal => &[
            "users",
            "users_field_data",
            "user__roles",
            "users_data",
            "sessions",
            "watchdog",
            "flood",
            "key_value",
            "key_value_expire",
            "config",
        ],
        Application::Moodle => &[
            "user",
            "sessions",
            "user_private_key",
            "external_tokens",
            "user_password_history",
            "user_password_resets",
            "logstore_standard_log",
            "oauth2_access_token",
            "oauth2_refresh_token",
            "user_preferences",
            "user_devices",
            "config",
            "config_plugins",
        ],
    }
}

/// The table name without the application's prefix, whatever the prefix (`wp_users`,
/// `wp_site1_users` → `users`; `mdl_user` → `user`; `jos_session` → `session`): the longest
/// known name the table is or ends with after a `_`; other tables lose everything up to their
/// first `_` (Drupal's `cache_*` keep their name).
fn base(app: Application, table: &str) -> String {
    let t = table.rsplit('.').next().unwrap_or(table);
    let hit = known(app)
        .iter()
        .filter(|k| t == **k || t.ends_with(&format!("_{k}")))
        .max_by_key(|k| k.len());
    if let Some(k) = hit {
        return k.to_string();
    }
    match app {
        Application::Drupal => t.to_string(),
        _ => t
            .split_once('_')
            .map(|(_, r)| r.to_string())
            .unwrap_or_else(|| t.to_string()),
    }
}

/// The prefix of a table whose name without prefix is [`base`].
fn prefix(app: Application, table: &str) -> String {
    let t = table.rsplit('.').next().unwrap_or(table);
    let b = base(app, table);
    t.strip_suffix(b.as_str()).unwrap_or("").to_string()
}

impl Rules {
    pub fn new(app: Application) -> Rules {
        Rules {
            app,
            moodle_admin: None,
            branding: Vec::new(),
        }
    }

    /// Tables whose rows are judged by their columns' names.
    pub fn needs_columns(&self, table: &str) -> bool {
        let b = base(self.app, table);
        !self.emptied(&b)
            && matches!(
                b.as_str(),
                "users"
                    | "users_field_data"
                    | "user__roles"
                    | "key_value"
                    | "user"
                    | "user_preferences"
                    | "user_devices"
                    | "options"
                    | "sitemeta"
                    | "config"
                    | "config_plugins"
            )
    }

    /// Tables whose every row goes.
    fn emptied(&self, b: &str) -> bool {
        match self.app {
            Application::WordPress => matches!(b, "users" | "usermeta"),
            Application::Joomla => matches!(
                b,
                "users"
                    | "user_usergroup_map"
                    | "session"
                    | "user_keys"
                    | "user_profiles"
                    | "user_notes"
                    | "messages"
                    | "action_logs"
                    | "privacy_consents"
                    | "user_mfa"
            ),
            Application::Drupal => {
                matches!(
                    b,
                    "users_data" | "sessions" | "watchdog" | "flood" | "key_value_expire"
                ) || b.starts_with("cache")
            }
            Application::Moodle => matches!(
                b,
                "sessions"
                    | "user_private_key"
                    | "external_tokens"
                    | "user_password_history"
                    | "user_password_resets"
                    | "logstore_standard_log"
                    | "oauth2_access_token"
                    | "oauth2_refresh_token"
            ),
        }
    }

    /// Decide on one row; `vals` may be rewritten.
    pub fn row(&mut self, table: &str, cols: &[String], vals: &mut [Val]) -> Row {
        let b = base(self.app, table);
        if self.emptied(&b) {
            return Row::Drop;
        }
        let idx = |n: &str| cols.iter().position(|c| c.eq_ignore_ascii_case(n));
        let get = |vals: &[Val], n: &str| idx(n).and_then(|i| vals[i].text.clone());
        match (self.app, b.as_str()) {
            (Application::Drupal, "users" | "users_field_data" | "user__roles") => {
                let key = if b == "user__roles" {
                    "entity_id"
                } else {
                    "uid"
                };
                match get(vals, key).as_deref() {
                    Some("0") if b != "user__roles" => {}
                    Some("1") => {
                        if b == "users_field_data" {
                            self.admin_columns(cols, vals, &["name"], &["pass"], &["mail", "init"]);
                        }
                    }
                    _ => return Row::Drop,
                }
            }
            (Application::Drupal, "key_value") => {
                if matches!(
                    get(vals, "name").as_deref(),
                    Some("system.private_key" | "system.cron_key")
                ) {
                    return Row::Drop;
                }
            }
            // Only the real user table (a plugin's `*_user` table has no username column).
            (Application::Moodle, "user") if idx("username").is_some() => {
                let id = get(vals, "id");
                if get(vals, "username").as_deref() == Some("guest") {
                    if let Some(i) = idx("password") {
                        vals[i].set("");
                    }
                    return Row::Keep;
                }
                if self.moodle_admin.is_none() {
                    self.moodle_admin = id.clone();
                }
                if id != self.moodle_admin {
                    return Row::Drop;
                }
                self.admin_columns(cols, vals, &["username"], &["password"], &["email"]);
                for (c, v) in [("firstname", "Admin"), ("lastname", "User")] {
                    if let Some(i) = idx(c) {
                        vals[i].set(v);
                    }
                }
                for c in [
                    "lastip", "secret", "phone1", "phone2", "address", "idnumber",
                ] {
                    if let Some(i) = idx(c) {
                        if vals[i].text.is_some() {
                            vals[i].set("");
                        }
                    }
                }
                return Row::Keep;
            }
            (Application::Moodle, "user_preferences" | "user_devices")
                if get(vals, "userid") != self.moodle_admin =>
            {
                return Row::Drop;
            }
            _ => {}
        }
        // Name/value option rows.
        let pair = [
            ("option_name", "option_value"),
            ("meta_key", "meta_value"),
            ("name", "value"),
        ]
        .into_iter()
        .find_map(|(n, v)| Some((idx(n)?, idx(v)?)));
        if let Some((ni, vi)) = pair {
            let name = vals[ni].text.clone().unwrap_or_default();
            if secret_name(&name) {
                if vals[vi].text.is_some() {
                    vals[vi].set("");
                }
            } else if matches!(name.as_str(), "admin_email" | "new_admin_email") {
                vals[vi].set(MAIL);
            }
        }
        // Credential-named columns, and secrets inside serialized/JSON values.
        for (i, c) in cols.iter().enumerate() {
            if secret_column(c) {
                if vals[i]
                    .text
                    .as_deref()
                    .is_some_and(|t| !t.is_empty() && t != ADMIN_HASH)
                {
                    vals[i].set("");
                }
                continue;
            }
            if let Some(t) = vals[i].text.clone() {
                let mut s = scrub_structured(&t);
                if !self.branding.is_empty() {
                    s = brand_value(&s, &self.branding);
                }
                if s != t {
                    vals[i].set(&s);
                }
            }
        }
        Row::Keep
    }

    fn admin_columns(
        &self,
        cols: &[String],
        vals: &mut [Val],
        login: &[&str],
        pass: &[&str],
        mail: &[&str],
    ) {
        for (names, v) in [(login, ADMIN_USER), (pass, ADMIN_HASH), (mail, MAIL)] {
            for n in names {
                if let Some(i) = cols.iter().position(|c| c.eq_ignore_ascii_case(n)) {
                    vals[i].set(v);
                }
            }
        }
    }

    /// Rows added where a table's data was (the placeholder administrator).
    pub fn added(&self, table: &str) -> Vec<Vec<(&'static str, String)>> {
        let b = base(self.app, table);
        let p = prefix(self.app, table);
        let now = "2000-01-01 00:00:00".to_string();
        match (self.app, b.as_str()) {
            (Application::WordPress, "users") => vec![vec![
                ("ID", "1".into()),
                ("user_login", ADMIN_USER.into()),
                ("user_pass", ADMIN_HASH.into()),
                ("user_nicename", "admin".into()),
                ("user_email", MAIL.into()),
                ("user_url", "".into()),
                ("user_registered", now),
                ("user_activation_key", "".into()),
                ("user_status", "0".into()),
                ("display_name", "Admin".into()),
            ]],
            (Application::WordPress, "usermeta") => vec![
                vec![
                    ("umeta_id", "1".into()),
                    ("user_id", "1".into()),
                    ("meta_key", format!("{p}capabilities")),
                    ("meta_value", "a:1:{s:13:\"administrator\";b:1;}".into()),
                ],
                vec![
                    ("umeta_id", "2".into()),
                    ("user_id", "1".into()),
                    ("meta_key", format!("{p}user_level")),
                    ("meta_value", "10".into()),
                ],
            ],
            (Application::Joomla, "users") => vec![vec![
                ("id", "42".into()),
                ("name", "Super User".into()),
                ("username", ADMIN_USER.into()),
                ("email", MAIL.into()),
                ("password", ADMIN_HASH.into()),
                ("block", "0".into()),
                ("sendEmail", "1".into()),
                ("registerDate", now),
                ("activation", "".into()),
                ("params", "".into()),
            ]],
            (Application::Joomla, "user_usergroup_map") => {
                vec![vec![("user_id", "42".into()), ("group_id", "8".into())]]
            }
            _ => vec![],
        }
    }
}

/// A zero value for a NOT NULL column without default that an added row does not name.
fn zero_for(ty: &str) -> &'static str {
    let t = ty.to_ascii_lowercase();
    if t.contains("int")
        || t.contains("dec")
        || t.contains("num")
        || t.contains("float")
        || t.contains("double")
        || t.contains("bool")
    {
        "0"
    } else if t.contains("timestamp") || t.contains("datetime") {
        "2000-01-01 00:00:00"
    } else if t.starts_with("date") {
        "2000-01-01"
    } else {
        ""
    }
}

// ---- PHP-serialized and JSON values --------------------------------------------------

/// Empty the string members under secret-looking keys of a PHP-serialized or JSON value;
/// anything else is returned unchanged.
pub fn scrub_structured(v: &str) -> String {
    let t = v.trim_start();
    if t.starts_with("a:") || t.starts_with("O:") {
        if let Some(s) = scrub_serialized(v) {
            return s;
        }
    } else if t.starts_with('{') || t.starts_with('[') {
        return scrub_json(v);
    }
    v.to_string()
}

/// Literal replacements in order (patterns under 3 bytes skipped, as the webroot branding).
fn replace_pairs(v: &str, pairs: &[(String, String)]) -> String {
    let mut t = v.to_string();
    for (from, to) in pairs {
        if from.len() >= 3 && t.contains(from.as_str()) {
            t = t.replace(from.as_str(), to);
        }
    }
    t
}

/// Branding of one value: inside a PHP-serialized value each string is replaced on its own
/// and its `s:<len>:` rewritten (legacy's sed over the dump left the old lengths, which PHP
/// then refuses to unserialize); any other value is replaced as text.
pub fn brand_value(v: &str, pairs: &[(String, String)]) -> String {
    let t = v.trim_start();
    if t.starts_with("a:") || t.starts_with("O:") || t.starts_with("s:") {
        if let Some(b) = rebrand_serialized(v, pairs) {
            return b;
        }
    }
    replace_pairs(v, pairs)
}

/// The serialized string `s:<len>:"…";` that starts at `i`, and the index just past it; None
/// when it is malformed (the length in bytes must reach a closing `";`).
fn serialized_str(v: &str, i: usize) -> Option<(&str, usize)> {
    let b = v.as_bytes();
    let colon = i + 2 + v[i + 2..].find(':')?;
    let n: usize = v[i + 2..colon].parse().ok()?;
    let start = colon + 2;
    let s = v.get(start..start + n)?;
    if b.get(start + n) != Some(&b'"') || b.get(start + n + 1) != Some(&b';') {
        return None;
    }
    Some((s, start + n + 2))
}

/// The strings of a serialized value branded, lengths recomputed; None when it does not parse.
fn rebrand_serialized(v: &str, pairs: &[(String, String)]) -> Option<String> {
    let b = v.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b's' => {
                let (s, end) = serialized_str(v, i)?;
                let r = replace_pairs(s, pairs);
                out.push_str(&format!("s:{}:\"{r}\";", r.len()));
                i = end;
            }
            b'i' | b'd' | b'b' => {
                let end = i + v[i..].find(';')?;
                out.push_str(&v[i..=end]);
                i = end + 1;
            }
            b'N' => {
                out.push_str("N;");
                i += 2;
            }
            b'a' | b'O' => {
                let brace = i + v[i..].find('{')?;
                out.push_str(&v[i..=brace]);
                depth += 1;
                i = brace + 1;
            }
            b'}' if depth > 0 => {
                out.push('}');
                depth -= 1;
                i += 1;
            }
            _ => return None,
        }
        // One serialized value only: nothing may follow the top-level value.
        if depth == 0 && i < b.len() {
            return None;
        }
    }
    (depth == 0).then_some(out)
}

/// PHP serialize() format, lengths in bytes. None when it does not parse.
fn scrub_serialized(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    // (is_key_position, last_key) per open array: in an array, items alternate key, value.
    let mut stack: Vec<(bool, String)> = Vec::new();
    while i < b.len() {
        let at_key = stack.last().is_some_and(|(k, _)| *k);
        let flip = |stack: &mut Vec<(bool, String)>, key: Option<String>| {
            if let Some(top) = stack.last_mut() {
                if top.0 {
                    top.1 = key.unwrap_or_default();
                }
                top.0 = !top.0;
            }
        };
        match b[i] {
            b's' => {
                let (s, end) = serialized_str(v, i)?;
                let secret =
                    !at_key && stack.last().is_some_and(|(_, k)| secret_name(k)) && !s.is_empty();
                if secret {
                    out.push_str("s:0:\"\";");
                } else {
                    out.push_str(&v[i..end]);
                }
                flip(&mut stack, Some(s.to_string()));
                i = end;
            }
            b'i' | b'd' | b'b' => {
                let end = i + v[i..].find(';')?;
                out.push_str(&v[i..=end]);
                flip(&mut stack, Some(v[i + 2..end].to_string()));
                i = end + 1;
            }
            b'N' => {
                out.push_str("N;");
                flip(&mut stack, None);
                i += 2;
            }
            b'a' | b'O' => {
                let brace = i + v[i..].find('{')?;
                out.push_str(&v[i..=brace]);
                // The array value itself occupies the parent's value position.
                stack.push((true, String::new()));
                i = brace + 1;
            }
            b'}' => {
                out.push('}');
                stack.pop();
                flip(&mut stack, None);
                i += 1;
            }
            _ => return None,
        }
    }
    stack.is_empty().then_some(out)
}

/// JSON: a string member whose key looks secret becomes `""`.
fn scrub_json(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.char_indices().peekable();
    let mut last_string: Option<String> = None;
    let mut pending_key: Option<String> = None;
    while let Some((_, c)) = chars.next() {
        if c == '"' {
            let mut raw = String::from("\"");
            let mut val = String::new();
            while let Some((_, d)) = chars.next() {
                raw.push(d);
                if d == '\\' {
                    if let Some((_, e)) = chars.next() {
                        raw.push(e);
                        val.push(e);
                    }
                } else if d == '"' {
                    break;
                } else {
                    val.push(d);
                }
            }
            if pending_key.as_deref().is_some_and(secret_name) && !val.is_empty() {
                out.push_str("\"\"");
            } else {
                out.push_str(&raw);
            }
            pending_key = None;
            last_string = Some(val);
            continue;
        }
        if c == ':' {
            pending_key = last_string.take();
        } else if !c.is_whitespace() {
            pending_key = None;
            last_string = None;
        }
        out.push(c);
    }
    out
}

// ---- mysqldump ---------------------------------------------------------------------

fn parse_tuples(s: &str) -> Option<Vec<Vec<Val>>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut rows = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() || b[i] == b';' {
            break;
        }
        if b[i] != b'(' {
            return None;
        }
        i += 1;
        let mut row = Vec::new();
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let start = i;
            let mut text = String::new();
            let mut prefix_binary = false;
            if s[i..].starts_with("_binary '") {
                prefix_binary = true;
                i += 8;
            }
            if i < b.len() && b[i] == b'\'' {
                i += 1;
                loop {
                    let c = s[i..].chars().next()?;
                    if c == '\\' {
                        let n = s[i + 1..].chars().next()?;
                        text.push(match n {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            '0' => '\0',
                            'Z' => '\x1a',
                            'b' => '\x08',
                            other => other,
                        });
                        i += 1 + n.len_utf8();
                    } else if c == '\'' {
                        if s[i + 1..].starts_with('\'') {
                            text.push('\'');
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    } else {
                        text.push(c);
                        i += c.len_utf8();
                    }
                }
                let _ = prefix_binary;
                row.push(Val {
                    text: Some(text),
                    raw: Some(s[start..i].to_string()),
                    hex: false,
                });
            } else {
                while i < b.len() && b[i] != b',' && b[i] != b')' {
                    i += 1;
                }
                let raw = s[start..i].trim();
                row.push(if raw.eq_ignore_ascii_case("NULL") {
                    Val {
                        text: None,
                        raw: Some(raw.to_string()),
                        hex: false,
                    }
                } else {
                    Val {
                        text: Some(raw.to_string()),
                        raw: Some(raw.to_string()),
                        hex: false,
                    }
                });
            }
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b')') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
        rows.push(row);
    }
    Some(rows)
}

fn mysql_quote(s: &str) -> String {
    let mut o = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\0' => o.push_str("\\0"),
            '\x1a' => o.push_str("\\Z"),
            c => o.push(c),
        }
    }
    o.push('\'');
    o
}

fn mysql_val(v: &Val) -> String {
    match (&v.raw, &v.text) {
        (Some(r), _) => r.clone(),
        (None, None) => "NULL".into(),
        (None, Some(t)) => mysql_quote(t),
    }
}

// ---- pg_dump COPY text ----------------------------------------------------------------

fn copy_decode(f: &str) -> Val {
    if f == "\\N" {
        return Val {
            text: None,
            raw: Some(f.to_string()),
            hex: false,
        };
    }
    if let Some(h) = f.strip_prefix("\\\\x") {
        if h.len() % 2 == 0 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0))
                .collect();
            return Val {
                text: Some(String::from_utf8_lossy(&bytes).into_owned()),
                raw: Some(f.to_string()),
                hex: true,
            };
        }
    }
    let mut t = String::new();
    let mut it = f.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            t.push(c);
            continue;
        }
        match it.next() {
            Some('n') => t.push('\n'),
            Some('t') => t.push('\t'),
            Some('r') => t.push('\r'),
            Some('b') => t.push('\x08'),
            Some('f') => t.push('\x0c'),
            Some('v') => t.push('\x0b'),
            Some(d @ '0'..='7') => {
                let mut n = d.to_digit(8).unwrap();
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(x) => {
                            n = n * 8 + x;
                            it.next();
                        }
                        None => break,
                    }
                }
                t.push(char::from_u32(n).unwrap_or('?'));
            }
            Some(o) => t.push(o),
            None => t.push('\\'),
        }
    }
    Val {
        text: Some(t),
        raw: Some(f.to_string()),
        hex: false,
    }
}

fn copy_encode(v: &Val) -> String {
    if let Some(r) = &v.raw {
        return r.clone();
    }
    match &v.text {
        None => "\\N".into(),
        Some(t) if v.hex => {
            let h: String = t.bytes().map(|b| format!("{b:02x}")).collect();
            format!("\\\\x{h}")
        }
        Some(t) => t
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t"),
    }
}

fn unquote_ident(s: &str) -> String {
    s.trim().trim_matches(['`', '"']).to_string()
}

/// Scrub a dump, streaming: `input` lines in, `output` lines out.
pub fn scrub<R: BufRead, W: Write>(app: Application, input: R, output: W) -> Result<Report> {
    scrub_with(app, &Names::default(), input, output)
}

/// The database's own names: the user replaced in every line as the legacy DB baseline did
/// (→ `XXXXXXXXXX`, which the legacy restore puts back); the name (→ `XXXDATABASEXXX`) only in
/// the lines where the dump tool itself writes it (`--` comments, `USE`, `CREATE DATABASE`,
/// `\connect`), so a name that is also a common word (`wordpress`) never rewrites the data; if
/// the data holds it, the leak checker says so. Literal replacement, never a pattern.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub db_user: Option<String>,
    pub db_name: Option<String>,
    /// Branding of every text value (see [`brand_value`]); empty for none.
    pub branding: Vec<(String, String)>,
}

/// A line writer applying [`Names`] to each whole line.
struct Literal<W: Write> {
    inner: W,
    buf: Vec<u8>,
    pairs: Vec<(Vec<u8>, &'static [u8])>,
    /// Replaced only in the dump tool's own lines.
    header_pairs: Vec<(Vec<u8>, &'static [u8])>,
}

fn replace_bytes(l: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        if !from.is_empty() && l[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(l[i]);
            i += 1;
        }
    }
    out
}

impl<W: Write> Literal<W> {
    fn emit(&mut self, line: &[u8]) -> std::io::Result<()> {
        let mut l = line.to_vec();
        for (from, to) in &self.pairs {
            l = replace_bytes(&l, from, to);
        }
        let own = [
            &b"-- "[..],
            b"USE ",
            b"CREATE DATABASE",
            b"\\connect",
            b"/*!40000 ",
        ]
        .iter()
        .any(|p| l.starts_with(p));
        if own {
            for (from, to) in &self.header_pairs {
                l = replace_bytes(&l, from, to);
            }
        }
        self.inner.write_all(&l)
    }
}

impl<W: Write> Write for Literal<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        for &b in data {
            self.buf.push(b);
            if b == b'\n' {
                let line = std::mem::take(&mut self.buf);
                self.emit(&line)?;
            }
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.emit(&line)?;
        }
        self.inner.flush()
    }
}

/// [`scrub`] with the database's names replaced too.
pub fn scrub_with<R: BufRead, W: Write>(
    app: Application,
    names: &Names,
    input: R,
    output: W,
) -> Result<Report> {
    let mut pairs: Vec<(Vec<u8>, &'static [u8])> = Vec::new();
    if let Some(u) = names.db_user.as_deref().filter(|u| !u.is_empty()) {
        pairs.push((u.as_bytes().to_vec(), b"XXXXXXXXXX"));
    }
    let mut header_pairs: Vec<(Vec<u8>, &'static [u8])> = Vec::new();
    if let Some(n) = names.db_name.as_deref().filter(|n| !n.is_empty()) {
        header_pairs.push((n.as_bytes().to_vec(), b"XXXDATABASEXXX"));
    }
    let mut output = Literal {
        inner: output,
        buf: Vec::new(),
        pairs,
        header_pairs,
    };
    let mut rules = Rules::new(app);
    rules.branding = names.branding.clone();
    let mut report = Report::default();
    let mut tables: HashMap<String, Vec<Column>> = HashMap::new();
    let mut creating: Option<(String, Vec<Column>)> = None;
    let mut copying: Option<(String, Vec<String>)> = None;
    let mut added_done: std::collections::HashSet<String> = Default::default();
    let werr = |e: std::io::Error| Error::io("writing the scrubbed dump", e);
    let mut lines = input.split(b'\n');
    while let Some(line) = lines.next() {
        let line = line.map_err(|e| Error::io("reading the dump", e))?;
        let mut line = String::from_utf8_lossy(&line).into_owned();
        // pg COPY rows.
        if let Some((table, cols)) = &copying {
            if line == "\\." {
                writeln!(output, "{line}").map_err(werr)?;
                copying = None;
                continue;
            }
            let mut vals: Vec<Val> = line.split('\t').map(copy_decode).collect();
            if vals.len() != cols.len() {
                return Err(Error::Config(format!(
                    "dump of table {table}: a COPY row with {} fields for {} columns",
                    vals.len(),
                    cols.len()
                )));
            }
            match rules.row(table, cols, &mut vals) {
                Row::Drop => report.note(table, 1, 0, 0),
                Row::Keep => {
                    let out: Vec<String> = vals.iter().map(copy_encode).collect();
                    let joined = out.join("\t");
                    if joined != line {
                        report.note(table, 0, 1, 0);
                    }
                    writeln!(output, "{joined}").map_err(werr)?;
                }
            }
            continue;
        }
        if let Some((table, cols)) = &mut creating {
            let t = line.trim_start();
            if t.starts_with(')') {
                tables.insert(table.clone(), std::mem::take(cols));
                creating = None;
            } else if t.starts_with('`')
                || t.starts_with('"')
                || t.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            {
                let (name, rest) = if t.starts_with('`') || t.starts_with('"') {
                    let q = t.chars().next().unwrap();
                    let end = t[1..].find(q).map(|k| k + 1).unwrap_or(t.len());
                    (t[1..end].to_string(), &t[(end + 1).min(t.len())..])
                } else {
                    let end = t.find(' ').unwrap_or(t.len());
                    (t[..end].to_string(), &t[end..])
                };
                let upper = rest.to_ascii_uppercase();
                let is_constraint = matches!(
                    name.to_ascii_uppercase().as_str(),
                    "PRIMARY" | "KEY" | "UNIQUE" | "CONSTRAINT" | "INDEX" | "FULLTEXT"
                );
                if !is_constraint {
                    cols.push(Column {
                        ty: rest.split_whitespace().next().unwrap_or("").to_string(),
                        not_null_no_default: upper.contains("NOT NULL")
                            && !upper.contains("DEFAULT")
                            && !upper.contains("AUTO_INCREMENT"),
                        name,
                    });
                }
            }
            writeln!(output, "{line}").map_err(werr)?;
            continue;
        }
        if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
            let name = rest
                .split(" (")
                .next()
                .unwrap_or("")
                .trim_start_matches("IF NOT EXISTS ");
            creating = Some((unquote_ident(name), Vec::new()));
            writeln!(output, "{line}").map_err(werr)?;
            continue;
        }
        if let Some(rest) = line.strip_prefix("COPY ") {
            // COPY public.t (a, b) FROM stdin;
            let (name, cols) = rest
                .split_once(" (")
                .and_then(|(n, r)| Some((n, r.split_once(") FROM stdin")?.0)))
                .ok_or_else(|| {
                    Error::Config(format!("dump: unreadable COPY statement {:.60}", line))
                })?;
            let table = unquote_ident(name);
            let cols: Vec<String> = cols.split(',').map(unquote_ident).collect();
            writeln!(output, "{line}").map_err(werr)?;
            for row in rules.added(&table) {
                let named: HashMap<&str, String> = row.into_iter().collect();
                let vals: Vec<String> = cols
                    .iter()
                    .map(|c| match named.get(c.as_str()) {
                        Some(v) => copy_encode(&Val::text(v)),
                        None => {
                            let col = tables
                                .get(&table)
                                .and_then(|cs| cs.iter().find(|x| &x.name == c));
                            match col {
                                Some(x) if x.not_null_no_default => {
                                    copy_encode(&Val::text(zero_for(&x.ty)))
                                }
                                _ => "\\N".to_string(),
                            }
                        }
                    })
                    .collect();
                writeln!(output, "{}", vals.join("\t")).map_err(werr)?;
                report.note(&table, 0, 0, 1);
            }
            copying = Some((table, cols));
            continue;
        }
        if line.starts_with("INSERT INTO ") {
            // MariaDB 11's dump puts each row on its own line: read to the statement's end.
            while !line.trim_end().ends_with(");") {
                match lines.next() {
                    Some(l) => {
                        let l = l.map_err(|e| Error::io("reading the dump", e))?;
                        line.push('\n');
                        line.push_str(&String::from_utf8_lossy(&l));
                    }
                    None => break,
                }
            }
        }
        if let Some(rest) = line.strip_prefix("INSERT INTO ") {
            let (head, tail) = rest
                .split_once(" VALUES")
                .ok_or_else(|| Error::Config("dump: an INSERT statement without VALUES".into()))?;
            let (name, explicit) = match head.split_once(" (") {
                Some((n, c)) => (
                    n,
                    Some(
                        c.trim_end_matches(')')
                            .split(',')
                            .map(unquote_ident)
                            .collect::<Vec<_>>(),
                    ),
                ),
                None => (head, None),
            };
            let table = unquote_ident(name);
            let cols: Vec<String> = match explicit {
                Some(c) => c,
                None => match tables.get(&table) {
                    Some(cs) => cs.iter().map(|c| c.name.clone()).collect(),
                    // Without its CREATE TABLE a row's columns are unknown: fine for a table
                    // emptied whole or scrubbed by value shape only, not for one scrubbed
                    // by column (fail closed).
                    None if rules.needs_columns(&table) => {
                        return Err(Error::Config(format!(
                            "dump: INSERT into {table} before its CREATE TABLE"
                        )))
                    }
                    None => Vec::new(),
                },
            };
            let rows = parse_tuples(tail.trim_start()).ok_or_else(|| {
                Error::Config(format!(
                    "dump of table {table}: an INSERT this scrub cannot read"
                ))
            })?;
            let mut kept = Vec::new();
            for mut vals in rows {
                let cols: Vec<String> = if cols.is_empty() {
                    vec![String::new(); vals.len()]
                } else {
                    cols.clone()
                };
                if vals.len() != cols.len() {
                    return Err(Error::Config(format!(
                        "dump of table {table}: a row with {} values for {} columns",
                        vals.len(),
                        cols.len()
                    )));
                }
                let before: Vec<String> = vals.iter().map(mysql_val).collect();
                match rules.row(&table, &cols, &mut vals) {
                    Row::Drop => report.note(&table, 1, 0, 0),
                    Row::Keep => {
                        let after: Vec<String> = vals.iter().map(mysql_val).collect();
                        if after != before {
                            report.note(&table, 0, 1, 0);
                        }
                        kept.push(format!("({})", after.join(",")));
                    }
                }
            }
            if added_done.insert(table.clone()) {
                let added = rules.added(&table);
                if !added.is_empty() {
                    let names: Vec<&str> = added[0].iter().map(|(n, _)| *n).collect();
                    let rows: Vec<String> = added
                        .iter()
                        .map(|r| {
                            format!(
                                "({})",
                                r.iter()
                                    .map(|(_, v)| mysql_quote(v))
                                    .collect::<Vec<_>>()
                                    .join(",")
                            )
                        })
                        .collect();
                    let cols_sql: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                    writeln!(
                        output,
                        "INSERT INTO `{table}` ({}) VALUES {};",
                        cols_sql.join(","),
                        rows.join(",")
                    )
                    .map_err(werr)?;
                    report.note(&table, 0, 0, added.len());
                }
            }
            if !kept.is_empty() {
                writeln!(output, "INSERT INTO {head} VALUES {};", kept.join(",")).map_err(werr)?;
            }
            continue;
        }
        writeln!(output, "{line}").map_err(werr)?;
    }
    output.flush().map_err(werr)?;
    Ok(report)
}

/// Scrub a dump file into `out` (written 0600, renamed into place only when complete).
pub fn scrub_file(app: Application, names: &Names, input: &Path, out: &Path) -> Result<Report> {
    let f = std::fs::File::open(input)
        .map_err(|e| Error::io(format!("opening {}", input.display()), e))?;
    let mut tmp = crate::fsutil::TempFile::new(out, Some(0o600))?;
    let report = {
        let w = std::io::BufWriter::new(tmp.file());
        scrub_with(app, names, std::io::BufReader::new(f), w)?
    };
    tmp.commit()?;
    Ok(report)
}

/// At deploy time: the placeholder administrator gets its login and password hash (a hash the
/// application accepts: an md5 hex is accepted and upgraded on first login by WordPress,
/// Joomla and Moodle, the form the legacy toolkit itself inserted).
pub fn deploy_admin(dump: &str, login: &str, password_hash: &str) -> String {
    dump.replace(ADMIN_USER, login)
        .replace(ADMIN_HASH, password_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(app: Application, s: &str) -> (String, Report) {
        let mut out = Vec::new();
        let r = scrub(app, s.as_bytes(), &mut out).unwrap();
        (String::from_utf8(out).unwrap(), r)
    }

    /// None of `secrets` is left in `out`.
    fn assert_gone(out: &str, secrets: &[&str]) {
        for leaked in secrets {
            assert!(!out.contains(leaked), "{leaked} in\n{out}");
        }
    }

    const WP_MYSQL: &str = "CREATE TABLE `wp_users` (\n  `ID` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n  `user_login` varchar(60) NOT NULL DEFAULT '',\n  `user_pass` varchar(255) NOT NULL DEFAULT '',\n  `user_email` varchar(100) NOT NULL DEFAULT '',\n  PRIMARY KEY (`ID`)\n) ENGINE=InnoDB;\nINSERT INTO `wp_users` VALUES (1,'realadmin','$P$BZlPX7NIx8MYpXokBW2AGsN7i.aUOt0','me@real.org'),(2,'bob','$P$Bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx','bob@real.org');\nCREATE TABLE `wp_options` (\n  `option_id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,\n  `option_name` varchar(191) NOT NULL DEFAULT '',\n  `option_value` longtext NOT NULL,\n  `autoload` varchar(20) NOT NULL DEFAULT 'yes',\n  PRIMARY KEY (`option_id`)\n);\nINSERT INTO `wp_options` VALUES (1,'siteurl','https://x.org','yes'),(2,'mailserver_pass','mail\\'pw\\\\1','yes'),(3,'wp_mail_smtp','a:1:{s:4:\\\"smtp\\\";a:2:{s:4:\\\"host\\\";s:6:\\\"smtp.x\\\";s:4:\\\"pass\\\";s:7:\\\"plugpw1\\\";}}','yes'),(4,'admin_email','me@real.org','yes'),(5,'myplugin','{\\\"api_key\\\":\\\"AK-123456\\\",\\\"color\\\":\\\"red\\\"}','yes');\nzzzz\n";

    #[test]
    fn wordpress_mysqldump() {
        let (out, r) = run(Application::WordPress, WP_MYSQL);
        assert_gone(
            &out,
            &[
                "realadmin",
                "$P$",
                "bob",
                "me@real.org",
                "mail\\'pw",
                "plugpw1",
                "AK-123456",
            ],
        );
        assert!(out.contains("INSERT INTO `wp_users` (`ID`,`user_login`,`user_pass`"));
        assert!(out.contains("'XXXADMINUSERXXX','XXXADMINPASSWORDHASHXXX'"));
        assert!(
            out.contains("s:4:\\\"pass\\\";s:0:\\\"\\\";") && out.contains("s:6:\\\"smtp.x\\\""),
            "{out}"
        );
        assert!(out.contains("\\\"color\\\":\\\"red\\\""));
        assert!(
            out.contains("(1,'siteurl','https://x.org','yes')"),
            "untouched rows byte for byte"
        );
        assert!(out.ends_with("zzzz\n"));
        assert_eq!(r.tables["wp_users"], (2, 0, 1));
    }

    #[test]
    fn postgres_copy_moodle() {
        let d = "CREATE TABLE public.mdl_user (\n    id bigint NOT NULL,\n    username character varying(100) NOT NULL,\n    password character varying(255) NOT NULL,\n    email character varying(100) NOT NULL,\n    firstname character varying(100) NOT NULL,\n    lastname character varying(100) NOT NULL\n);\nCOPY public.mdl_user (id, username, password, email, firstname, lastname) FROM stdin;\n1\tguest\t$2y$10$abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc\troot@localhost\tGuest\tuser\n2\tb1-webmaster\t5f4dcc3b5aa765d61d8327deb882cf99\towner@real.org\tReal\tOwner\n3\tstudent\t$2y$10$zzzz\ts@real.org\tStu\tDent\n\\.\nCOPY public.mdl_sessions (id, sid, userid) FROM stdin;\n1\tabcsessionid\t2\n\\.\nCOPY public.mdl_config (id, name, value) FROM stdin;\n1\tsmtppass\tsmtp\\tpw\n2\twwwroot\thttps://x\n\\.\n";
        let (out, _) = run(Application::Moodle, d);
        assert_gone(
            &out,
            &[
                "b1-webmaster",
                "5f4dcc3b",
                "owner@",
                "student",
                "abcsessionid",
                "smtp\\tpw",
                "$2y$",
            ],
        );
        assert!(out.contains("2\tXXXADMINUSERXXX\tXXXADMINPASSWORDHASHXXX\twebmaster@applicationdomain.tld\tAdmin\tUser\n"));
        assert!(out.contains("1\tguest\t\troot@localhost"));
        assert!(out.contains("1\tsmtppass\t\n2\twwwroot\thttps://x\n"));
    }

    #[test]
    fn drupal_rows() {
        let d = "COPY public.users_field_data (uid, langcode, name, pass, mail, init) FROM stdin;\n0\ten\t\t\\N\t\\N\t\\N\n1\ten\tboss\t$S$Dabc\tboss@real.org\tboss@real.org\n5\ten\tother\t$S$Dxyz\to@real.org\to@real.org\n\\.\nCOPY public.key_value (collection, name, value) FROM stdin;\nstate\tsystem.private_key\ts:43:\"privkeyvalue\";\nstate\tsystem.cron_key\ts:10:\"cronkeyval\";\nstate\tsystem.cron_last\ti:1;\n\\.\n";
        let (out, _) = run(Application::Drupal, d);
        assert_gone(
            &out,
            &["boss", "other", "$S$", "privkeyvalue", "cronkeyval"],
        );
        assert!(out.contains("0\ten\t\t\\N\t\\N\t\\N\n"));
        assert!(out.contains("1\ten\tXXXADMINUSERXXX\tXXXADMINPASSWORDHASHXXX\t"));
        assert!(out.contains("system.cron_last"));
        // bytea in hex: decoded, scrubbed, encoded again.
        let ser = "a:1:{s:13:\"smtp_password\";s:6:\"hexpw1\";}";
        let hex: String = ser.bytes().map(|b| format!("{b:02x}")).collect();
        let d = format!("COPY public.config (collection, name, data) FROM stdin;\n\tsmtp.settings\t\\\\x{hex}\n\\.\n");
        let (out, _) = run(Application::Drupal, &d);
        let want: String = "a:1:{s:13:\"smtp_password\";s:0:\"\";}"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(out.contains(&format!("\\\\x{want}")), "{out}");
    }

    #[test]
    fn joomla_users_replaced_and_group_mapped() {
        let d = "INSERT INTO `jos_users` (`id`, `username`, `password`) VALUES (7,'b1-webmaster','5f4dcc3b5aa765d61d8327deb882cf99');\nINSERT INTO `jos_user_usergroup_map` VALUES (7,8);\nINSERT INTO `jos_session` VALUES ('sessid',1);\n";
        let (out, _) = run(Application::Joomla, d);
        assert!(
            !out.contains("b1-webmaster") && !out.contains("5f4dcc") && !out.contains("sessid"),
            "{out}"
        );
        assert!(out.contains(
            "INSERT INTO `jos_user_usergroup_map` (`user_id`,`group_id`) VALUES ('42','8');"
        ));
    }

    #[test]
    fn database_names_replaced_literally() {
        let mut out = Vec::new();
        let names = Names {
            db_user: Some("u.x[1".into()),
            db_name: Some("ndb1n".into()),
            branding: vec![],
        };
        let d = "-- Host: localhost    Database: ndb1n\nALTER TABLE t OWNER TO u.x[1;\nuaxb1 stays ndb1n";
        scrub_with(Application::Moodle, &names, d.as_bytes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-- Host: localhost    Database: XXXDATABASEXXX\nALTER TABLE t OWNER TO XXXXXXXXXX;\nuaxb1 stays ndb1n\n"
        );
    }

    #[test]
    fn mariadb_11_rows_on_their_own_lines() {
        let d = "INSERT INTO `jos_session` VALUES\n('a;',1),\n('b',2);\nzzzz\n";
        let (out, r) = run(Application::Joomla, d);
        assert_eq!(out, "zzzz\n");
        assert_eq!(r.tables["jos_session"], (2, 0, 0));
    }

    #[test]
    fn any_prefix() {
        assert_eq!(base(Application::WordPress, "wp_site1_users"), "users");
        assert_eq!(
            prefix(Application::WordPress, "wp_site1_users"),
            "wp_site1_"
        );
        assert_eq!(
            base(Application::Joomla, "ab1cd_user_usergroup_map"),
            "user_usergroup_map"
        );
        assert_eq!(
            base(Application::Moodle, "public.mdl_config_plugins"),
            "config_plugins"
        );
        assert_eq!(base(Application::Drupal, "cache_render"), "cache_render");
        let (out, _) = run(
            Application::WordPress,
            "INSERT INTO `wp_x_users` (`ID`, `user_login`) VALUES (5,'realadmin');\n",
        );
        assert!(
            !out.contains("realadmin") && out.contains("`wp_x_users` (`ID`"),
            "{out}"
        );
    }

    #[test]
    fn an_unreadable_insert_fails_closed() {
        let mut out = Vec::new();
        assert!(scrub(
            Application::WordPress,
            "INSERT INTO `wp_users` VALUES (1,'x".as_bytes(),
            &mut out
        )
        .is_err());
    }

    #[test]
    fn branding_keeps_serialized_lengths() {
        let pairs = vec![(
            "www.example.com".to_string(),
            "www.applicationdomain.tld".to_string(),
        )];
        assert_eq!(
            brand_value(
                "a:1:{s:3:\"url\";s:23:\"https://www.example.com\";}",
                &pairs
            ),
            "a:1:{s:3:\"url\";s:33:\"https://www.applicationdomain.tld\";}"
        );
        assert_eq!(
            brand_value("see https://www.example.com", &pairs),
            "see https://www.applicationdomain.tld"
        );
        let mut out = Vec::new();
        let names = Names {
            branding: pairs,
            ..Default::default()
        };
        let d = "COPY public.wp_options (option_id, option_name, option_value) FROM stdin;\n1\twidget\ta:1:{s:1:\"u\";s:15:\"www.example.com\";}\n\\.\n";
        scrub_with(Application::WordPress, &names, d.as_bytes(), &mut out).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("s:25:\"www.applicationdomain.tld\""));
    }

    #[test]
    fn serialized_lengths_stay_right() {
        assert_eq!(
            scrub_serialized("a:2:{s:8:\"password\";s:3:\"abc\";s:4:\"user\";s:1:\"u\";}").unwrap(),
            "a:2:{s:8:\"password\";s:0:\"\";s:4:\"user\";s:1:\"u\";}"
        );
        assert!(scrub_serialized("a:1:{s:9:\"broken\";}").is_none());
    }
}
