//! PHP configuration files read as PHP: a small tokenizer (strings in every quoting, comments,
//! heredocs, variables, punctuation) and a scrubber that finds, for every scalar literal, the
//! setting it is the value of (`define('NAME', …)`, `public $name = …`, `$CFG->name = …`,
//! `$settings['name'] = …`, `'name' => …` inside `$databases`), and rewrites the literal when
//! that setting is credential-like.
//!
//! Differences from legacy: the legacy scrub is one `sed` per file built from the secret values
//! themselves (fails whole on an empty value, `/`, `[`, `\` or a newline, and misses every
//! setting but five). Here the values are never used as patterns: the literal's byte span is
//! replaced, whatever it holds. The placeholders are the legacy ones for the five database
//! values (`XXXUSERNAMEXXX`, `XXXPASSWORDXXX`, `XXXDATABASEXXX`, `XXXDBHOSTXXX`,
//! `XXXDBPORTXXX`), so a deployment that replaces them works as before; every other secret
//! becomes [`SECRET`] and every mail address [`MAIL`].

use super::Application;
use crate::error::{Error, Result};

/// What a non-database secret (salt, key, SMTP/proxy/FTP/Redis password, …) becomes.
pub const SECRET: &str = "XXXSECRETXXX";
/// What a mail address setting becomes.
pub const MAIL: &str = "webmaster@applicationdomain.tld";

/// Values the applications' sample configurations ship (`wp-config-sample.php`): public, and
/// what a deployment from the sample replaces, so they are kept.
const PUBLIC_SAMPLE_VALUES: &[&str] = &[
    "database_name_here",
    "username_here",
    "password_here",
    "put your unique phrase here",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A string literal with its decoded value (heredoc/nowdoc included).
    Str(String),
    Num,
    Var(String),
    Ident(String),
    Punct(&'static str),
    /// Any other single character.
    Other(char),
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

const PUNCTS: &[&str] = &[
    "=>", "->", "::", "===", "!==", "==", "!=", "??", "=", "(", ")", "[", "]", "{", "}", ",", ";",
    ".",
];

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Tokenize PHP source. Inline HTML outside `<?php … ?>` is skipped. An unterminated string,
/// comment or heredoc is an error (a file we cannot read is never published as it is).
pub fn tokenize(src: &str) -> Result<Vec<Token>> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mut php = false;
    let bad = |what: &str, at: usize| {
        let line = src[..at].matches('\n').count() + 1;
        Error::Config(format!("PHP file unreadable: {what} at line {line}"))
    };
    while i < b.len() {
        if !php {
            match src[i..].find("<?") {
                Some(k) => {
                    i += k + 2;
                    if src[i..].starts_with("php") {
                        i += 3;
                    } else if src[i..].starts_with('=') {
                        i += 1;
                    }
                    php = true;
                }
                None => break,
            }
            continue;
        }
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if src[i..].starts_with("?>") {
            php = false;
            i += 2;
        } else if c == b'#' && !src[i..].starts_with("#[") || src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' && !src[i..].starts_with("?>") {
                i += 1;
            }
        } else if src[i..].starts_with("/*") {
            let k = src[i + 2..]
                .find("*/")
                .ok_or_else(|| bad("unterminated comment", i))?;
            i += k + 4;
        } else if c == b'\'' || c == b'"' {
            let start = i;
            i += 1;
            let mut val = String::new();
            loop {
                if i >= b.len() {
                    return Err(bad("unterminated string", start));
                }
                let ch = src[i..].chars().next().unwrap();
                if ch as u32 == c as u32 {
                    i += 1;
                    break;
                }
                if ch == '\\' && i + 1 < b.len() {
                    let n = src[i + 1..].chars().next().unwrap();
                    let decoded = if c == b'\'' {
                        match n {
                            '\\' | '\'' => Some(n),
                            _ => None,
                        }
                    } else {
                        match n {
                            'n' => Some('\n'),
                            't' => Some('\t'),
                            'r' => Some('\r'),
                            '\\' | '"' | '$' => Some(n),
                            _ => None,
                        }
                    };
                    match decoded {
                        Some(d) => {
                            val.push(d);
                            i += 1 + n.len_utf8();
                        }
                        None => {
                            val.push('\\');
                            i += 1;
                        }
                    }
                    continue;
                }
                val.push(ch);
                i += ch.len_utf8();
            }
            out.push(Token {
                tok: Tok::Str(val),
                start,
                end: i,
            });
        } else if src[i..].starts_with("<<<") {
            let start = i;
            i += 3;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            let quoted = i < b.len() && (b[i] == b'\'' || b[i] == b'"');
            if quoted {
                i += 1;
            }
            let id_start = i;
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            let id = &src[id_start..i];
            if id.is_empty() {
                return Err(bad("heredoc without a name", start));
            }
            if quoted {
                i += 1;
            }
            let body_start = src[i..]
                .find('\n')
                .map(|k| i + k + 1)
                .ok_or_else(|| bad("unterminated heredoc", start))?;
            // The closing line: optional indentation, the name, then not an identifier char.
            let mut pos = body_start;
            let end;
            loop {
                let line_end = src[pos..].find('\n').map(|k| pos + k).unwrap_or(b.len());
                let line = &src[pos..line_end];
                let t = line.trim_start();
                if t.starts_with(id) && !t[id.len()..].bytes().next().is_some_and(ident_char) {
                    let close = pos + (line.len() - t.len()) + id.len();
                    let body = &src[body_start..pos.saturating_sub(1).max(body_start)];
                    out.push(Token {
                        tok: Tok::Str(body.to_string()),
                        start,
                        end: close,
                    });
                    end = close;
                    break;
                }
                if line_end >= b.len() {
                    return Err(bad("unterminated heredoc", start));
                }
                pos = line_end + 1;
            }
            i = end;
        } else if c == b'$' && i + 1 < b.len() && ident_char(b[i + 1]) {
            let start = i;
            i += 1;
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Var(src[start + 1..i].to_string()),
                start,
                end: i,
            });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Num,
                start,
                end: i,
            });
        } else if ident_char(c) || c == b'\\' {
            let start = i;
            while i < b.len() && (ident_char(b[i]) || b[i] == b'\\') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                start,
                end: i,
            });
        } else if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            out.push(Token {
                tok: Tok::Punct(p),
                start: i,
                end: i + p.len(),
            });
            i += p.len();
        } else {
            let ch = src[i..].chars().next().unwrap();
            out.push(Token {
                tok: Tok::Other(ch),
                start: i,
                end: i + ch.len_utf8(),
            });
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

/// The setting a value is assigned to: its last name (`DB_PASSWORD`, `dbpass`, `hash_salt`,
/// `password`) and the statement's target variable (`databases`, `CFG`, `settings`, or the
/// class property's name), both lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub root: String,
}

fn is_p(t: &Tok, p: &str) -> bool {
    matches!(t, Tok::Punct(x) if *x == p)
}

fn name_of(t: &Tok) -> Option<String> {
    match t {
        Tok::Str(s) | Tok::Ident(s) | Tok::Var(s) => Some(s.to_ascii_lowercase()),
        _ => None,
    }
}

/// The statement's assignment target ending just before `eq` (the `=` token's index): the
/// first variable of the lvalue and its last component.
fn lvalue(toks: &[Token], eq: usize) -> Option<Key> {
    let mut j = eq;
    let mut last: Option<String> = None;
    while j > 0 {
        j -= 1;
        match &toks[j].tok {
            Tok::Punct("]") => {
                // `[ 'k' ]` (or `[]`)
                if last.is_none() && j >= 1 {
                    last = name_of(&toks[j - 1].tok);
                }
                let mut depth = 1;
                while j > 0 && depth > 0 {
                    j -= 1;
                    match toks[j].tok {
                        Tok::Punct("]") => depth += 1,
                        Tok::Punct("[") => depth -= 1,
                        _ => {}
                    }
                }
            }
            Tok::Ident(s) if j >= 1 && is_p(&toks[j - 1].tok, "->") => {
                if last.is_none() {
                    last = Some(s.to_ascii_lowercase());
                }
                j -= 1;
            }
            Tok::Var(v) => {
                let root = v.to_ascii_lowercase();
                return Some(Key {
                    name: last.unwrap_or_else(|| root.clone()),
                    root,
                });
            }
            _ => return None,
        }
    }
    None
}

/// The setting the literal at index `at` is the value of, if any.
pub fn key_of(toks: &[Token], at: usize) -> Option<Key> {
    let mut depth: i32 = 0;
    let mut after_comma = false;
    let mut inner: Option<String> = None;
    let mut j = at;
    while j > 0 {
        j -= 1;
        match &toks[j].tok {
            Tok::Punct(")") | Tok::Punct("]") => depth += 1,
            Tok::Punct("(") | Tok::Punct("[") => {
                if depth > 0 {
                    depth -= 1;
                } else {
                    // Leaving a container (`array (`, `[`, a call's `(`): look for its key.
                    after_comma = false;
                }
            }
            Tok::Punct(";") | Tok::Punct("{") | Tok::Punct("}") if depth == 0 => return None,
            Tok::Punct(",") if depth == 0 => {
                // `define ( 'NAME' , <value>`
                if j >= 3
                    && is_p(&toks[j - 2].tok, "(")
                    && matches!(&toks[j - 3].tok, Tok::Ident(f) if f.eq_ignore_ascii_case("define"))
                {
                    if let Tok::Str(n) = &toks[j - 1].tok {
                        return Some(Key {
                            name: n.to_ascii_lowercase(),
                            root: String::new(),
                        });
                    }
                }
                after_comma = true;
            }
            Tok::Punct("=>") if depth == 0 && !after_comma => {
                if inner.is_none() && j >= 1 {
                    inner = name_of(&toks[j - 1].tok);
                }
                // Keep going for the statement's root.
                after_comma = true;
            }
            Tok::Punct("=") if depth == 0 => {
                let lv = lvalue(toks, j)?;
                return Some(match inner {
                    Some(n) => Key {
                        name: n,
                        root: lv.root,
                    },
                    None => lv,
                });
            }
            _ => {}
        }
    }
    inner.map(|name| Key {
        name,
        root: String::new(),
    })
}

/// What a setting's value becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scrub {
    User,
    Password,
    Database,
    Host,
    Port,
    Secret,
    Mail,
}

impl Scrub {
    pub fn token(self) -> &'static str {
        match self {
            Scrub::User => "XXXUSERNAMEXXX",
            Scrub::Password => "XXXPASSWORDXXX",
            Scrub::Database => "XXXDATABASEXXX",
            Scrub::Host => "XXXDBHOSTXXX",
            Scrub::Port => "XXXDBPORTXXX",
            Scrub::Secret => SECRET,
            Scrub::Mail => MAIL,
        }
    }
}

/// A setting name that holds a credential whatever the application: passwords, salts, keys,
/// tokens, nonces, account names of mail/proxy/FTP/cache services.
///
/// Names that only talk about credentials are not secrets and are kept (emptying them would
/// change how the site behaves): `auth` (Moodle's enabled plugins), `smtpauth`,
/// `passwordpolicy`, `minpasswordlength`, `passwordreuselimit`, `sessioncookie`, ….
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const ABOUT: &[&str] = &[
        "policy",
        "length",
        "reuse",
        "lower",
        "upper",
        "digits",
        "nonalphanum",
        "expir",
        "rotat",
        "change",
        "recover",
        "protect",
        "strength",
        "lockout",
        "_hint",
        "duration",
        "_url",
        "_type",
        "_mode",
        "_enabled",
        "allow",
    ];
    if ABOUT.iter().any(|a| n.contains(a)) {
        return false;
    }
    const WORDS: &[&str] = &[
        "pass",
        "pwd",
        "secret",
        "salt",
        "token",
        "nonce",
        "credential",
        "apikey",
        "api_key",
        "accesskey",
    ];
    if WORDS.iter().any(|w| n.contains(w)) {
        return true;
    }
    // `redis_server_auth`, `proxy_auth`, `AUTH_KEY`, `authtoken` (but not `auth`, `smtpauth`,
    // `registerauth`: plugin names and switches).
    if n.ends_with("_auth") || n.starts_with("auth_") || n.contains("_auth_") {
        return true;
    }
    if n == "dsn" || n.ends_with("_dsn") {
        return true;
    }
    // `*_KEY`, `KEY_*`, `*key` (AUTH_KEY, SECURE_AUTH_KEY, secretkey, sitekey) but not
    // `keywords`, `keyboard`.
    if n.ends_with("key") || n.contains("_key") || n.starts_with("key_") {
        return true;
    }
    // Account names of services (smtpuser, proxy_user, ftp_user, redis user).
    if n != "user" && (n.ends_with("user") || n.ends_with("username") || n.ends_with("_login")) {
        return true;
    }
    false
}

/// The scrub for setting `key` of application `app`, or None to keep the value.
pub fn classify(app: Option<Application>, key: &Key) -> Option<Scrub> {
    let n = key.name.as_str();
    let db = match app {
        Some(Application::WordPress) => match n {
            "db_user" => Some(Scrub::User),
            "db_password" => Some(Scrub::Password),
            "db_name" => Some(Scrub::Database),
            "db_host" => Some(Scrub::Host),
            _ => None,
        },
        Some(Application::Joomla) if key.root == n => match n {
            "user" => Some(Scrub::User),
            "password" => Some(Scrub::Password),
            "db" => Some(Scrub::Database),
            "host" => Some(Scrub::Host),
            _ => None,
        },
        Some(Application::Drupal) if key.root == "databases" => match n {
            "username" => Some(Scrub::User),
            "password" => Some(Scrub::Password),
            "database" => Some(Scrub::Database),
            "host" => Some(Scrub::Host),
            "port" => Some(Scrub::Port),
            _ => None,
        },
        Some(Application::Moodle) if key.root == "cfg" => match n {
            "dbuser" => Some(Scrub::User),
            "dbpass" => Some(Scrub::Password),
            "dbname" => Some(Scrub::Database),
            "dbhost" => Some(Scrub::Host),
            "dbport" => Some(Scrub::Port),
            _ => None,
        },
        _ => None,
    };
    if db.is_some() {
        return db;
    }
    // Generic database settings of any PHP file (`.env`-style names, other plugins).
    match n {
        "db_user" | "db_username" | "database_user" | "dbuser" => return Some(Scrub::User),
        "db_password" | "db_pass" | "database_password" | "dbpass" => return Some(Scrub::Password),
        _ => {}
    }
    if secret_name(n) || secret_name(&key.root) && key.root != "databases" {
        return Some(Scrub::Secret);
    }
    if n.contains("mail") && n != "mailer" || n.contains("address") || n.contains("from") {
        return Some(Scrub::Mail);
    }
    None
}

/// One rewritten value: the setting's name and what it became (never the old value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub line: usize,
    pub setting: String,
    pub placeholder: &'static str,
}

/// Scrub one PHP config file's text: every credential-like setting's literal replaced by its
/// placeholder (same quote style; a bare number stays bare as the legacy sed left it).
pub fn scrub(app: Option<Application>, src: &str) -> Result<(String, Vec<Change>)> {
    let toks = tokenize(src)?;
    let mut edits: Vec<(usize, usize, String, Change)> = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let is_value = matches!(t.tok, Tok::Str(_) | Tok::Num);
        if !is_value {
            continue;
        }
        // A literal that is itself a key (`'password' =>`, `['hash_salt']`, define's name)
        // is not a value.
        if toks
            .get(k + 1)
            .is_some_and(|n| is_p(&n.tok, "=>") || is_p(&n.tok, "]"))
        {
            continue;
        }
        if toks.get(k + 1).is_some_and(|n| is_p(&n.tok, ","))
            && k >= 2
            && is_p(&toks[k - 1].tok, "(")
            && matches!(&toks[k - 2].tok, Tok::Ident(f) if f.eq_ignore_ascii_case("define"))
        {
            continue;
        }
        let Some(key) = key_of(&toks, k) else {
            continue;
        };
        let Some(s) = classify(app, &key) else {
            continue;
        };
        let text = &src[t.start..t.end];
        let replacement = match (&t.tok, s) {
            (Tok::Num, _) => s.token().to_string(),
            (Tok::Str(v), Scrub::Host) if v.contains(':') && !v.starts_with('/') => {
                // `host:port` (WordPress DB_HOST): both parts, as the legacy pair of seds did.
                quote_like(text, "XXXDBHOSTXXX:XXXDBPORTXXX")
            }
            (Tok::Str(v), Scrub::Mail) if !v.contains('@') => continue,
            // Nothing secret in an empty salt/key/password of a service (and a placeholder
            // there would switch on what was off, e.g. Redis AUTH); the database values always
            // become placeholders, which the deployment fills.
            (Tok::Str(v), Scrub::Secret | Scrub::Mail) if v.is_empty() => continue,
            // The values the applications' own samples ship (public; deployments look for them).
            (Tok::Str(v), _) if PUBLIC_SAMPLE_VALUES.contains(&v.as_str()) => continue,
            _ => quote_like(text, s.token()),
        };
        let line = src[..t.start].matches('\n').count() + 1;
        edits.push((
            t.start,
            t.end,
            replacement,
            Change {
                line,
                setting: key.name.clone(),
                placeholder: s.token(),
            },
        ));
    }
    let mut out = String::with_capacity(src.len());
    let mut last = 0;
    let mut changes = Vec::new();
    for (s, e, r, c) in edits {
        out.push_str(&src[last..s]);
        out.push_str(&r);
        last = e;
        changes.push(c);
    }
    out.push_str(&src[last..]);
    Ok((out, changes))
}

fn quote_like(literal: &str, value: &str) -> String {
    if literal.starts_with('"') {
        format!("\"{value}\"")
    } else {
        format!("'{value}'")
    }
}

/// Every value of a credential-like setting in a PHP config file (for the leak checker: the
/// application's salts and passwords as this machine holds them). Empty values are left out.
pub fn secret_values(app: Option<Application>, src: &str) -> Result<Vec<(String, String)>> {
    let toks = tokenize(src)?;
    let mut out = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let Tok::Str(v) = &t.tok else { continue };
        if toks
            .get(k + 1)
            .is_some_and(|n| is_p(&n.tok, "=>") || is_p(&n.tok, "]"))
        {
            continue;
        }
        let Some(key) = key_of(&toks, k) else {
            continue;
        };
        match classify(app, &key) {
            Some(Scrub::Mail) | Some(Scrub::Host) | Some(Scrub::Port) | None => {}
            Some(_) => {
                if !v.is_empty() {
                    out.push((key.name.clone(), v.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// `.env`-style files (`NAME=value`, optional `export`, quotes): secret-looking names'
/// values replaced by [`SECRET`] (database ones by the legacy placeholders).
pub fn scrub_dotenv(src: &str) -> (String, Vec<Change>) {
    let mut out = String::new();
    let mut changes = Vec::new();
    for (n, line) in src.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        let t = body.trim_start();
        let t2 = t.strip_prefix("export ").unwrap_or(t);
        if let Some((name, _)) = t2.split_once('=') {
            let name = name.trim();
            if !t.starts_with('#') && !name.is_empty() {
                let key = Key {
                    name: name.to_ascii_lowercase(),
                    root: String::new(),
                };
                let lower = key.name.as_str();
                let s = match lower {
                    "db_database" | "db_name" | "database_name" => Some(Scrub::Database),
                    "db_host" | "database_host" => Some(Scrub::Host),
                    "db_port" | "database_port" => Some(Scrub::Port),
                    _ => classify(None, &key).filter(|s| *s != Scrub::Mail),
                };
                if let Some(s) = s {
                    let indent = &body[..body.len() - t.len()];
                    let prefix = if t.starts_with("export ") {
                        "export "
                    } else {
                        ""
                    };
                    out.push_str(&format!("{indent}{prefix}{name}={}", s.token()));
                    out.push_str(&line[body.len()..]);
                    changes.push(Change {
                        line: n + 1,
                        setting: name.to_string(),
                        placeholder: s.token(),
                    });
                    continue;
                }
            }
        }
        out.push_str(line);
    }
    (out, changes)
}

/// The secret values of a `.env` file (for the leak checker).
pub fn dotenv_values(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in src.lines() {
        let t = line.trim();
        let t = t.strip_prefix("export ").unwrap_or(t);
        if t.starts_with('#') {
            continue;
        }
        if let Some((name, v)) = t.split_once('=') {
            let v = v.trim().trim_matches(['"', '\'']);
            let key = Key {
                name: name.trim().to_ascii_lowercase(),
                root: String::new(),
            };
            if !v.is_empty()
                && matches!(
                    classify(None, &key),
                    Some(Scrub::Secret | Scrub::Password | Scrub::User)
                )
            {
                out.push((key.name, v.to_string()));
            }
        }
    }
    out
}

/// At deploy time: every [`SECRET`] in a config file's text replaced by its own fresh random
/// value (48 characters of `[A-Za-z0-9]`, from the operating system's random source), so no two
/// deployments of a public baseline share a salt or key. The count replaced is returned.
pub fn fill_secrets(text: &str) -> Result<(String, usize)> {
    use std::io::Read;
    let n = text.matches(SECRET).count();
    let mut bytes = vec![0u8; 48 * n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("reading /dev/urandom", e))?;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(text.len() + 48 * n);
    let mut rest = text;
    let mut k = 0;
    while let Some(i) = rest.find(SECRET) {
        out.push_str(&rest[..i]);
        // 62 symbols: the slight modulo bias costs well under a bit of a 285-bit value.
        for b in &bytes[48 * k..48 * (k + 1)] {
            out.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
        }
        k += 1;
        rest = &rest[i + SECRET.len()..];
    }
    out.push_str(rest);
    Ok((out, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_secrets_at_deploy() {
        let (a, n) = fill_secrets("<?php $x = 'XXXSECRETXXX'; $y = 'XXXSECRETXXX';").unwrap();
        assert_eq!(n, 2);
        let vals: Vec<&str> = a.split('\'').filter(|v| v.len() == 48).collect();
        assert_eq!(vals.len(), 2);
        assert_ne!(vals[0], vals[1]);
        assert!(!a.contains(SECRET));
        assert_eq!(fill_secrets("none").unwrap(), ("none".to_string(), 0));
    }

    const WP: &str = r#"<?php
/** The name of the database for WordPress */
define( 'DB_NAME', 'wp_db' );
define('DB_USER', "wp\"user");
define( 'DB_PASSWORD', 'p/a[s\\s\'word' );
define( 'DB_HOST', '10.0.0.7:2035' );
define( 'DB_CHARSET', 'utf8mb4' );
define('AUTH_KEY',         'k1 #not a comment// $x');
define('SECURE_AUTH_KEY',  '');
define('NONCE_SALT',       'line1
line2');
define('WP_MAIL_SMTP_PASS', 'smtp-secret');
define('WP_DEBUG', false);
$table_prefix = 'wp_';
"#;

    #[test]
    fn wordpress_every_secret_define_whatever_its_value() {
        let (out, changes) = scrub(Some(Application::WordPress), WP).unwrap();
        for leaked in [
            "wp_db",
            "wp\\\"user",
            "p/a[s",
            "10.0.0.7",
            "2035",
            "k1 #not",
            "line1",
            "smtp-secret",
        ] {
            assert!(!out.contains(leaked), "{leaked} left in\n{out}");
        }
        assert!(out.contains("define( 'DB_NAME', 'XXXDATABASEXXX' );"));
        assert!(out.contains("define('DB_USER', \"XXXUSERNAMEXXX\");"));
        assert!(out.contains("define( 'DB_PASSWORD', 'XXXPASSWORDXXX' );"));
        assert!(out.contains("define( 'DB_HOST', 'XXXDBHOSTXXX:XXXDBPORTXXX' );"));
        assert!(
            out.contains("define('SECURE_AUTH_KEY',  '');"),
            "an empty key stays empty"
        );
        assert!(out.contains("'utf8mb4'") && out.contains("$table_prefix = 'wp_';"));
        assert_eq!(changes.len(), 7);
        // The result is still PHP this tokenizer reads.
        tokenize(&out).unwrap();
    }

    const JOOMLA: &str = r#"<?php
class JConfig {
	public $offline = false;
	public $sitename = 'My Site';
	public $dbtype = 'mysqli';
	public $host = 'db.internal';
	public $user = 'juser';
	public $password = 'a\\b/c[d';
	public $db = 'jdb';
	public $dbprefix = 'jos_';
	public $secret = 'Sx7hQ0Tz';
	public $mailer = 'smtp';
	public $mailfrom = 'owner@example.com';
	public $fromname = 'My Site';
	public $smtpuser = 'mailuser@example.com';
	public $smtppass = 'smtp-pass';
	public $smtphost = 'smtp.example.com';
	public $proxy_user = 'proxyman';
	public $proxy_pass = 'proxy-pass';
	public $redis_server_auth = 'redis-pass';
	public $ftp_user = 'ftpman';
	public $ftp_pass = '';
	public $log_path = '/var/www/html/administrator/logs';
}
"#;

    #[test]
    fn joomla_configuration_php() {
        let (out, _) = scrub(Some(Application::Joomla), JOOMLA).unwrap();
        for leaked in [
            "db.internal",
            "'juser'",
            "a\\\\b/c",
            "'jdb'",
            "Sx7hQ0Tz",
            "owner@",
            "mailuser",
            "smtp-pass",
            "proxyman",
            "proxy-pass",
            "redis-pass",
            "ftpman",
        ] {
            assert!(!out.contains(leaked), "{leaked} left in\n{out}");
        }
        assert!(out.contains("public $user = 'XXXUSERNAMEXXX';"));
        assert!(out.contains("public $password = 'XXXPASSWORDXXX';"));
        assert!(out.contains("public $db = 'XXXDATABASEXXX';"));
        assert!(out.contains("public $host = 'XXXDBHOSTXXX';"));
        assert!(
            out.contains("public $ftp_pass = '';"),
            "an empty password stays empty"
        );
        assert!(out.contains("public $mailfrom = 'webmaster@applicationdomain.tld';"));
        assert!(
            out.contains("public $dbprefix = 'jos_';") && out.contains("public $mailer = 'smtp';")
        );
        assert!(out.contains("'/var/www/html/administrator/logs'"));
    }

    const DRUPAL: &str = r#"<?php
$databases = [];
$databases['default']['default'] = array (
  'database' => 'drupaldb',
  'username' => 'druser',
  'password' => "pa\$\$\nword",
  'prefix' => '',
  'host' => '10.0.0.9',
  'port' => 3307,
  'namespace' => 'Drupal\\mysql\\Driver\\Database\\mysql',
  'driver' => 'mysql',
);
$settings['hash_salt'] = 'hAsHsAlT-123';
$settings['config_sync_directory'] = 'sites/default/files/config_x';
$config['symfony_mailer.settings']['transport']['pass'] = <<<EOT
heredocsecret
EOT;
$settings['file_private_path'] = '/var/www/private';
"#;

    #[test]
    fn drupal_settings_php() {
        let (out, _) = scrub(Some(Application::Drupal), DRUPAL).unwrap();
        for leaked in [
            "drupaldb",
            "druser",
            "pa\\$",
            "10.0.0.9",
            "3307",
            "hAsHsAlT",
            "heredocsecret",
        ] {
            assert!(!out.contains(leaked), "{leaked} left in\n{out}");
        }
        assert!(out.contains("'database' => 'XXXDATABASEXXX',"));
        assert!(out.contains("'password' => \"XXXPASSWORDXXX\","));
        assert!(out.contains("'port' => XXXDBPORTXXX,"));
        assert!(out.contains("$settings['hash_salt'] = 'XXXSECRETXXX';"));
        assert!(out.contains("'driver' => 'mysql'") && out.contains("config_x"));
    }

    const MOODLE: &str = r#"<?php  // Moodle configuration file
unset($CFG);
global $CFG;
$CFG = new stdClass();
$CFG->dbtype    = 'pgsql';
$CFG->dblibrary = 'native';
$CFG->dbhost    = '/var/run/postgresql';
$CFG->dbname    = 'moodle';
$CFG->dbuser    = 'moodleuser';
$CFG->dbpass    = '';
$CFG->prefix    = 'mdl_';
$CFG->dboptions = array (
  'dbpersist' => 0,
  'dbport' => '5433',
  'dbsocket' => '',
);
$CFG->wwwroot   = 'https://www.example.com';
$CFG->dataroot  = '/var/www/moodledata';
$CFG->passwordsaltmain = 'mainsalt!';
$CFG->passwordsaltalt1 = 'oldsalt1';
$CFG->smtppass = 'moodle-smtp';
$CFG->noreplyaddress = 'noreply@example.com';
require_once(__DIR__ . '/lib/setup.php');
"#;

    #[test]
    fn moodle_config_php() {
        let (out, _) = scrub(Some(Application::Moodle), MOODLE).unwrap();
        for leaked in [
            "'moodle'",
            "moodleuser",
            "5433",
            "mainsalt",
            "oldsalt1",
            "moodle-smtp",
            "noreply@",
        ] {
            assert!(!out.contains(leaked), "{leaked} left in\n{out}");
        }
        assert!(out.contains("$CFG->dbpass    = 'XXXPASSWORDXXX';"));
        assert!(out.contains("'dbport' => 'XXXDBPORTXXX',"));
        assert!(
            out.contains("$CFG->dbhost    = 'XXXDBHOSTXXX';"),
            "a socket path is one host value"
        );
        assert!(out.contains("$CFG->prefix    = 'mdl_';") && out.contains("'dbpersist' => 0"));
        assert!(out.contains("require_once(__DIR__ . '/lib/setup.php');"));
    }

    #[test]
    fn the_samples_public_values_stay() {
        let sample = "<?php\ndefine( 'DB_NAME', 'database_name_here' );\ndefine( 'DB_PASSWORD', 'password_here' );\ndefine( 'AUTH_KEY', 'put your unique phrase here' );\ndefine( 'DB_HOST', 'localhost' );\n";
        let (out, ch) = scrub(Some(Application::WordPress), sample).unwrap();
        assert!(
            out.contains("'database_name_here'") && out.contains("'put your unique phrase here'")
        );
        assert!(
            out.contains("'XXXDBHOSTXXX'"),
            "a host is still a placeholder"
        );
        assert_eq!(ch.len(), 1);
    }

    #[test]
    fn secret_values_are_found_for_the_checker() {
        let v = secret_values(Some(Application::Drupal), DRUPAL).unwrap();
        let vals: Vec<&str> = v.iter().map(|(_, v)| v.as_str()).collect();
        assert!(vals.contains(&"pa$$\nword") && vals.contains(&"hAsHsAlT-123"));
        assert!(vals.contains(&"heredocsecret"));
        assert!(!vals.contains(&"mysql"));
    }

    #[test]
    fn secret_names_and_names_about_secrets() {
        for yes in [
            "DB_PASSWORD",
            "AUTH_KEY",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_KEY",
            "NONCE_SALT",
            "secret",
            "smtppass",
            "smtpuser",
            "proxy_user",
            "proxy_pass",
            "redis_server_auth",
            "ftp_pass",
            "hash_salt",
            "passwordsaltmain",
            "passwordsaltalt1",
            "proxypassword",
            "recaptchaprivatekey",
            "cronremotepassword",
            "mailserver_pass",
            "mailserver_login",
            "stripe_secret_key",
            "api_key",
            "x_dsn",
            "license_key",
            "authtoken",
            "auth_salt",
        ] {
            assert!(secret_name(yes), "{yes}");
        }
        for no in [
            "auth",
            "smtpauth",
            "registerauth",
            "passwordpolicy",
            "minpasswordlength",
            "passwordreuselimit",
            "sessioncookie",
            "sitedefaultlicense",
            "wwwroot",
            "dbtype",
            "keywords",
            "user",
            "siteurl",
            "blogname",
            "mailer",
            "sitename",
            "passwordchangelogout",
            "signature",
            "privatemessaging",
        ] {
            assert!(!secret_name(no), "{no}");
        }
    }

    #[test]
    fn an_unreadable_file_is_an_error_not_a_pass() {
        assert!(scrub(None, "<?php $x = 'unterminated;").is_err());
        assert!(scrub(None, "<?php /* open").is_err());
    }

    #[test]
    fn dotenv() {
        let (out, ch) = scrub_dotenv("APP_NAME=site\nDB_PASSWORD=\"x/y\"\nexport STRIPE_SECRET=sk_live_1\n# API_KEY=old\nMAIL_FROM=a@b\n");
        assert_eq!(out, "APP_NAME=site\nDB_PASSWORD=XXXPASSWORDXXX\nexport STRIPE_SECRET=XXXSECRETXXX\n# API_KEY=old\nMAIL_FROM=a@b\n");
        assert_eq!(ch.len(), 2);
        assert_eq!(dotenv_values("DB_PASSWORD=\"x/y\"\n").len(), 1);
    }
}
