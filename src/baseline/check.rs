//! The leak checker (`adt baseline check DIR|ARCHIVE|REPO`): every secret this machine holds,
//! searched for in plain, URL-encoded, base64, hex and SQL-escaped forms, plus generic
//! patterns (private key blocks, AWS-style access keys, password hashes, md5 hex in user-table
//! inserts). A finding names the file, the line and the KIND of secret, never the secret.
//!
//! What "every secret this machine holds" is ([`Sources`]): the settings file's values whose
//! key names a credential (DNS, cloud, e-mail, git, DBaaS), the database credentials files
//! (name, password, user), the s3cmd config's access and secret keys, the private keys under
//! `~/.ssh` (their base64 body lines), and the credential-like values of the application's
//! live config files (salts, keys, SMTP passwords) and `.env` files.
//!
//! Values shorter than [`MIN_LEN`] bytes are not searched for (they would match everywhere);
//! the config scrub replaces such values by construction anyway.
//!
//! New in adt-rs (legacy had no checker).

use super::{php, Application};
use crate::error::{Error, Result};
use crate::process::Run;
use aho_corasick::AhoCorasick;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shortest value searched for.
pub const MIN_LEN: usize = 6;

/// How much of a file is searched at a time (whole lines; a longer line is taken whole).
pub const PIECE: usize = 32 << 20;

/// One secret: what it is (printed) and its value (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub kind: String,
    pub value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({}, <redacted>)", self.kind)
    }
}

/// Where a machine's secrets are read from; missing files are skipped.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Settings files (`KEY:value` lines).
    pub settings: Vec<PathBuf>,
    /// Database credentials files: line 1 name, 2 password, 3 user.
    pub db_credentials: Vec<PathBuf>,
    /// s3cmd configurations.
    pub s3cfg: Vec<PathBuf>,
    /// Directories whose private key files (`-----BEGIN … PRIVATE KEY-----`) count.
    pub ssh_dirs: Vec<PathBuf>,
    /// The application's live config files (PHP) or `.env` files.
    pub app_configs: Vec<(Option<Application>, PathBuf)>,
    /// Secrets read elsewhere (the datastore's `credentials/shit`).
    pub extra: Vec<Secret>,
}

/// A settings key that names a credential.
pub fn secret_setting(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    const WORDS: &[&str] = &[
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASS",
        "CREDENTIAL",
        "DBAAS",
        "SALT",
        "PRIVATE",
    ];
    WORDS.iter().any(|w| k.contains(w))
}

fn push(out: &mut Vec<Secret>, kind: &str, value: &str) {
    let v = value.trim_matches(['\r', '\n']);
    if v.len() >= MIN_LEN
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "none" | "false" | "true" | "unset"
        )
        && !out.iter().any(|s| s.value == v)
    {
        out.push(Secret {
            kind: kind.to_string(),
            value: v.to_string(),
        });
    }
}

/// The secrets of a settings file's text.
pub fn settings_secrets(text: &str, out: &mut Vec<Secret>) {
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        if !secret_setting(key) {
            continue;
        }
        let kind = format!("settings value {key}");
        // Multi-field values (DBaaS: engine:host:user:password:…): each field, and the whole.
        for f in rest.split(':') {
            push(out, &kind, f.trim());
        }
        push(out, &kind, rest.trim());
    }
}

/// Collect every secret the sources hold.
pub fn collect(src: &Sources) -> Result<Vec<Secret>> {
    let mut out = Vec::new();
    for s in &src.extra {
        push(&mut out, &s.kind, &s.value);
    }
    for p in &src.settings {
        if let Ok(t) = std::fs::read_to_string(p) {
            settings_secrets(&t, &mut out);
        }
    }
    for p in &src.db_credentials {
        if let Ok(t) = std::fs::read_to_string(p) {
            let l: Vec<&str> = t.lines().collect();
            for (i, kind) in ["database name", "database password", "database user"]
                .iter()
                .enumerate()
            {
                if let Some(v) = l.get(i) {
                    push(&mut out, kind, v);
                }
            }
        }
    }
    for p in &src.s3cfg {
        if let Ok(t) = std::fs::read_to_string(p) {
            for line in t.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    let k = k.trim();
                    if matches!(k, "access_key" | "secret_key" | "access_token") {
                        push(&mut out, &format!("s3cmd {k}"), v.trim());
                    }
                }
            }
        }
    }
    for d in &src.ssh_dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(t) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            if !t.contains("PRIVATE KEY-----") {
                continue;
            }
            let kind = format!("SSH private key {}", e.file_name().to_string_lossy());
            // Each body line is searched: a key split or re-wrapped still matches.
            for l in t
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            {
                push(&mut out, &kind, l.trim());
            }
        }
    }
    for (app, p) in &src.app_configs {
        let Ok(t) = std::fs::read_to_string(p) else {
            continue;
        };
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let vals = if name.starts_with(".env") {
            php::dotenv_values(&t)
        } else {
            php::secret_values(*app, &t)
                .map_err(|e| e.context(format!("reading secrets of {}", p.display())))?
        };
        for (setting, v) in vals {
            push(
                &mut out,
                &format!("application setting {setting} ({name})"),
                &v,
            );
        }
    }
    Ok(out)
}

fn url_encode(v: &str) -> String {
    let mut s = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The base64 text any stream holding `v` contains, whatever `v`'s offset in it: for each of
/// the three alignments, the characters that depend only on `v`'s bytes.
fn base64_cores(v: &[u8]) -> Vec<String> {
    let e = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for pad in 0..3usize {
        let mut buf = vec![0u8; pad];
        buf.extend_from_slice(v);
        let enc = e.encode(&buf);
        // Characters fully inside v: skip the groups touched by the padding prefix.
        let start = if pad == 0 { 0 } else { 4 };
        let full_groups = buf.len() / 3;
        let end = full_groups * 4;
        if end > start + 4 {
            out.push(enc[start..end].to_string());
        }
    }
    out
}

/// Every form a value is searched in: (pattern, form name).
pub fn forms(v: &str) -> Vec<(Vec<u8>, &'static str)> {
    let mut out: Vec<(Vec<u8>, &'static str)> = vec![(v.as_bytes().to_vec(), "plain")];
    let mut add = |p: String, f: &'static str| {
        if p.len() >= MIN_LEN && !out.iter().any(|(x, _)| x == p.as_bytes()) {
            out.push((p.into_bytes(), f));
        }
    };
    add(url_encode(v), "url-encoded");
    add(url_encode(v).to_ascii_lowercase(), "url-encoded");
    add(v.replace(' ', "+"), "url-encoded");
    for c in base64_cores(v.as_bytes()) {
        add(c, "base64");
    }
    let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
    add(hex.clone(), "hex");
    add(hex.to_ascii_uppercase(), "hex");
    // mysqldump escaping, standard SQL quoting, pg COPY text escaping, JSON escaping.
    let mysql = v
        .replace('\\', "\\\\")
        .replace('\'', "\\'")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    add(mysql, "sql-escaped");
    add(v.replace('\'', "''"), "sql-escaped");
    add(
        v.replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\t', "\\t"),
        "sql-escaped",
    );
    add(v.replace('/', "\\/").replace('"', "\\\""), "json-escaped");
    // A multi-line value: each long line on its own (a file may wrap it differently).
    if v.contains('\n') {
        for l in v.lines().filter(|l| l.len() >= MIN_LEN) {
            add(l.to_string(), "plain (one line)");
        }
    }
    out
}

/// One finding: where, and what kind of secret (never its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub line: usize,
    pub kind: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.kind)
    }
}

/// The compiled search: every form of every secret, plus the generic patterns.
pub struct Checker {
    ac: Option<AhoCorasick>,
    labels: Vec<String>,
    generic: Vec<(regex_lite::Regex, &'static str)>,
    /// Literals every match of a generic pattern contains (case-insensitive), searched in one
    /// pass; only the lines they occur on go through the pattern itself. Index: the generic
    /// pattern, or [`USER_ROWS`] for the user-table statements.
    anchors: AhoCorasick,
    anchor_of: Vec<usize>,
    user_insert: regex_lite::Regex,
    md5: regex_lite::Regex,
}

/// The anchor index of `INSERT INTO` / `COPY` (the user-table md5 check).
const USER_ROWS: usize = usize::MAX;

impl Checker {
    pub fn new(secrets: &[Secret]) -> Result<Checker> {
        let mut pats = Vec::new();
        let mut labels = Vec::new();
        for s in secrets {
            for (p, form) in forms(&s.value) {
                pats.push(p);
                labels.push(format!("{} ({form})", s.kind));
            }
        }
        let ac = if pats.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::new(&pats)
                    .map_err(|e| Error::Io(format!("building the secret search: {e}")))?,
            )
        };
        let re = |p: &str| regex_lite::Regex::new(p).expect("checker pattern");
        let generic = vec![
            (
                re(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
                "private key block",
            ),
            (
                re(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
                "AWS-style access key id",
            ),
            (re(r"\$P\$[./0-9A-Za-z]{31}"), "password hash (phpass $P$)"),
            (re(r"\$H\$[./0-9A-Za-z]{31}"), "password hash (phpass $H$)"),
            (re(r"\$S\$[./0-9A-Za-z]{52}"), "password hash (Drupal $S$)"),
            (
                re(r"\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}"),
                "password hash (bcrypt)",
            ),
            (re(r"\$argon2(id|i|d)\$"), "password hash (argon2)"),
            (
                re(r"\$(5|6)\$[^$\s']{1,16}\$[./0-9A-Za-z]{43,86}"),
                "password hash (sha-crypt)",
            ),
            (
                re(r"\b(sk_live|rk_live|xox[bp])[-_][0-9A-Za-z-]{10,}"),
                "API token pattern",
            ),
            (
                re(r"\b(ghp|gho|ghu|ghs|ghr|glpat)[-_][0-9A-Za-z_-]{16,}"),
                "git host token",
            ),
            (
                re(r"[a-z][a-z0-9+.-]*://[^/\s:@'\x22]+:[^/\s@'\x22]+@"),
                "credential in a URL",
            ),
        ];
        let anchor_lists: [&[&str]; 11] = [
            &["PRIVATE KEY-----"],
            &["AKIA", "ASIA"],
            &["$P$"],
            &["$H$"],
            &["$S$"],
            &["$2a$", "$2b$", "$2x$", "$2y$"],
            &["$argon2"],
            &["$5$", "$6$"],
            &["sk_live", "rk_live", "xoxb", "xoxp"],
            &["ghp", "gho", "ghu", "ghs", "ghr", "glpat"],
            &["://"],
        ];
        debug_assert_eq!(anchor_lists.len(), generic.len());
        let mut lits: Vec<&str> = Vec::new();
        let mut anchor_of = Vec::new();
        for (i, list) in anchor_lists.iter().enumerate() {
            for l in *list {
                lits.push(l);
                anchor_of.push(i);
            }
        }
        for l in ["insert into", "copy "] {
            lits.push(l);
            anchor_of.push(USER_ROWS);
        }
        let anchors = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&lits)
            .map_err(|e| Error::Io(format!("building the pattern search: {e}")))?;
        Ok(Checker {
            ac,
            labels,
            generic,
            anchors,
            anchor_of,
            user_insert: re(r#"(?i)(INSERT INTO|COPY)\s+[`"]?[A-Za-z0-9_.]*user"#),
            md5: re(r"\b[0-9a-f]{32}\b"),
        })
    }

    /// Search one file's bytes; `name` is what findings call it.
    pub fn scan(&self, name: &str, bytes: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        self.scan_part(name, bytes, 1, &mut false, &mut out);
        out.sort_by_key(|f| f.line);
        out
    }

    /// Search a file without holding it whole in memory: whole lines at a time, in pieces of
    /// about [`PIECE`] bytes (a secret never spans lines, except a multi-line value, whose
    /// lines are searched one by one too).
    pub fn scan_file(&self, name: &str, path: &Path) -> Result<Vec<Finding>> {
        self.scan_file_by(name, path, PIECE)
    }

    fn scan_file_by(&self, name: &str, path: &Path, piece: usize) -> Result<Vec<Finding>> {
        use std::io::Read;
        let mut f = std::fs::File::open(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let mut out = Vec::new();
        let mut in_user_copy = false;
        // Most files are small: read whole.
        let size = f
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
            .len();
        if size <= piece as u64 {
            let mut all = Vec::with_capacity(size as usize);
            f.read_to_end(&mut all)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            self.scan_part(name, &all, 1, &mut in_user_copy, &mut out);
            out.sort_by_key(|f| f.line);
            return Ok(out);
        }
        let mut buf: Vec<u8> = Vec::new();
        let mut line = 1;
        let mut chunk = vec![0u8; piece];
        loop {
            let n = f
                .read(&mut chunk)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() < piece {
                continue;
            }
            // Up to the last complete line; the rest waits for more.
            if let Some(end) = buf.iter().rposition(|b| *b == b'\n') {
                let rest = buf.split_off(end + 1);
                self.scan_part(name, &buf, line, &mut in_user_copy, &mut out);
                line += buf.iter().filter(|b| **b == b'\n').count();
                buf = rest;
            }
        }
        if !buf.is_empty() {
            self.scan_part(name, &buf, line, &mut in_user_copy, &mut out);
        }
        out.sort_by_key(|f| f.line);
        Ok(out)
    }

    /// Search `bytes`, whose first line is line `first` of the file.
    fn scan_part(
        &self,
        name: &str,
        bytes: &[u8],
        first: usize,
        in_user_copy: &mut bool,
        out: &mut Vec<Finding>,
    ) {
        // Line numbers of the matches, counted once through the piece.
        let newlines: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
            .collect();
        let line_of = |at: usize| first + newlines.partition_point(|&i| i < at);
        let mut add = |line: usize, kind: String| {
            if !out.iter().any(|f| f.line == line && f.kind == kind) {
                out.push(Finding {
                    path: name.to_string(),
                    line,
                    kind,
                });
            }
        };
        // A git LFS pointer: the content is elsewhere and was not searched (fail closed).
        if first == 1 && bytes.starts_with(b"version https://git-lfs.github.com/spec/v1") {
            add(
                1,
                "git LFS object not fetched: its content cannot be checked".to_string(),
            );
        }
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(bytes) {
                add(
                    line_of(m.start()),
                    self.labels[m.pattern().as_usize()].clone(),
                );
            }
        }
        // The line (0-based within the piece) an offset is on, and that line's bytes.
        let line_idx = |at: usize| newlines.partition_point(|&i| i < at);
        let line_text = |k: usize| {
            let start = if k == 0 { 0 } else { newlines[k - 1] + 1 };
            let end = newlines.get(k).copied().unwrap_or(bytes.len());
            String::from_utf8_lossy(&bytes[start..end]).into_owned()
        };
        let lines = newlines.len() + usize::from(bytes.last().is_some_and(|b| *b != b'\n'));
        // Rows of a user table's COPY block: md5 hashes.
        let copy_rows = |from: usize, add: &mut dyn FnMut(usize, String)| -> bool {
            for k in from..lines {
                let l = line_text(k);
                if l == "\\." {
                    return false;
                }
                if self.md5.is_match(&l) {
                    add(first + k, "md5 password hash in a user table".to_string());
                }
            }
            true
        };
        if *in_user_copy {
            *in_user_copy = copy_rows(0, &mut add);
        }
        let mut tried: std::collections::HashSet<(usize, usize)> = Default::default();
        for m in self.anchors.find_overlapping_iter(bytes) {
            let which = self.anchor_of[m.pattern().as_usize()];
            let k = line_idx(m.start());
            if !tried.insert((k, which)) {
                continue;
            }
            let l = line_text(k);
            if which == USER_ROWS {
                let t = l.trim_start();
                let starts = t.len() >= 4
                    && (t[..4].eq_ignore_ascii_case("inse") || t[..4].eq_ignore_ascii_case("copy"));
                if !starts || !self.user_insert.is_match(&l) {
                    continue;
                }
                if t[..4].eq_ignore_ascii_case("copy") {
                    if copy_rows(k + 1, &mut add) {
                        *in_user_copy = true;
                    }
                } else if self.md5.is_match(&l) {
                    add(first + k, "md5 password hash in a user table".to_string());
                }
                continue;
            }
            let (re, kind) = &self.generic[which];
            if re.is_match(&l) {
                add(first + k, kind.to_string());
            }
        }
    }

    /// Search a directory tree (archives inside it are opened: `*.tar*`, `*.tgz`, and split
    /// parts `*-NN` joined in order). `.git/objects` is skipped (compressed; a repository is
    /// checked through [`Checker::scan_repo`]).
    pub fn scan_dir(&self, root: &Path) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        self.walk(root, root, "", &mut out)?;
        Ok(out)
    }

    fn walk(&self, root: &Path, dir: &Path, prefix: &str, out: &mut Vec<Finding>) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        let mut parts: Vec<PathBuf> = Vec::new();
        for e in entries {
            let p = e.path();
            let rel = format!("{prefix}{}", p.strip_prefix(root).unwrap_or(&p).display());
            let ft = e
                .file_type()
                .map_err(|err| Error::io(format!("reading {}", p.display()), err))?;
            if ft.is_dir() {
                if rel.ends_with(".git/objects") || rel.ends_with(".git/lfs") {
                    continue;
                }
                self.walk(root, &p, prefix, out)?;
            } else if ft.is_file() {
                let name = e.file_name().to_string_lossy().to_string();
                if is_split_part(&name) {
                    parts.push(p.clone());
                }
                out.extend(self.scan_file(&rel, &p)?);
                if is_archive(&name) {
                    self.scan_archive_into(&p, &format!("{rel}!"), out)?;
                }
            }
        }
        if !parts.is_empty() {
            // `split -d` parts of one archive: joined in name order, then opened.
            let tmp = private_tempdir()?;
            let joined = tmp.path().join("joined");
            crate::database::archive::join(&parts, &joined)?;
            let first = parts[0]
                .strip_prefix(root)
                .unwrap_or(&parts[0])
                .display()
                .to_string();
            let label = format!(
                "{prefix}{}*!",
                first.trim_end_matches(|c: char| c.is_ascii_digit())
            );
            out.extend(self.scan_file(&label, &joined)?);
            self.scan_archive_into(&joined, &label, out)?;
        }
        Ok(())
    }

    fn scan_archive_into(&self, archive: &Path, label: &str, out: &mut Vec<Finding>) -> Result<()> {
        let tmp = private_tempdir()?;
        let o = Run::new("tar")
            .arg("-xf")
            .arg(archive)
            .arg("-C")
            .arg(tmp.path())
            .arg("--no-same-owner")
            .deadline(Duration::from_secs(600))
            .output()?;
        if !o.success() {
            // Not an archive after all (or damaged): its bytes were searched as they are.
            return Ok(());
        }
        // Also search the decompressed stream (a gzip's content is not plain in the file).
        self.walk(tmp.path(), tmp.path(), label, out)
    }

    /// Search an archive file (tar, tar.gz, …).
    pub fn scan_archive(&self, archive: &Path) -> Result<Vec<Finding>> {
        let mut out = Vec::new();
        let name = archive.display().to_string();
        out.extend(self.scan_file(&name, archive)?);
        self.scan_archive_into(archive, &format!("{name}!"), &mut out)?;
        Ok(out)
    }

    /// Search every blob of a git repository's HEAD (a local path or URL): cloned into a
    /// private temporary directory (LFS content fetched when git-lfs is there), then searched
    /// as a tree with its archives opened.
    pub fn scan_repo(
        &self,
        repo: &str,
        creds: Option<&crate::git::Credentials>,
    ) -> Result<Vec<Finding>> {
        let tmp = private_tempdir()?;
        let dest = tmp.path().join("checkout");
        let scratch = tmp.path().join("scratch");
        std::fs::create_dir_all(&scratch).map_err(|e| Error::io(scratch.display(), e))?;
        // HEAD of the default branch; credentials (if any) through git's askpass, never argv.
        crate::git::run_git(
            crate::git::git_with(&scratch, creds)?
                .args(["clone", "--quiet", "--", repo])
                .arg(&dest)
                .deadline(crate::git::git_deadline()),
            &format!(
                "cannot clone the repository to check ({})",
                crate::git::show_url(repo)
            ),
        )?;
        // LFS content (legacy DB baselines track `*db*` with LFS): fetched when git-lfs is
        // there; a pointer left unfetched is itself a finding.
        let has_lfs = std::fs::read_to_string(dest.join(".gitattributes"))
            .is_ok_and(|t| t.contains("filter=lfs"));
        if has_lfs && crate::process::find_program("git-lfs", &[]).is_some() {
            for step in [&["lfs", "install", "--local"][..], &["lfs", "pull"][..]] {
                let _ = crate::git::git_with(&scratch, creds)?
                    .arg("-C")
                    .arg(&dest)
                    .args(step)
                    .deadline(crate::git::git_deadline())
                    .output();
            }
        }
        let mut out = self.scan_dir(&dest)?;
        out.retain(|f| !f.path.starts_with(".git/"));
        Ok(out)
    }
}

fn is_archive(name: &str) -> bool {
    [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// `application-db-00`, `…-01`: parts of `split -d`.
fn is_split_part(name: &str) -> bool {
    let digits = name
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    digits >= 2 && name[..name.len() - digits].ends_with('-')
}

/// A temporary directory readable by its owner only.
pub fn private_tempdir() -> Result<TempDir> {
    let base = std::env::temp_dir();
    for n in 0..1000u32 {
        let p = base.join(format!("adt-baseline-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&p) {
            Ok(()) => return Ok(TempDir(p)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("creating {}", p.display()), e)),
        }
    }
    Err(Error::Io("no free temporary directory name".into()))
}

use std::os::unix::fs::DirBuilderExt;

/// A directory removed (with everything in it) when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a target is: a git repository (URL, or a directory with `.git`, or a bare one), an
/// archive file, or a directory tree.
pub fn check_target(
    checker: &Checker,
    target: &str,
    creds: Option<&crate::git::Credentials>,
) -> Result<Vec<Finding>> {
    let p = Path::new(target);
    let url = target.contains("://") || target.starts_with("git@");
    // A directory is searched as it is (a work tree's `.git/config` included); a bare
    // repository or a URL is cloned and its HEAD searched.
    if url || p.join("HEAD").is_file() && p.join("objects").is_dir() {
        return checker.scan_repo(target, creds);
    }
    if p.is_file() {
        return checker.scan_archive(p);
    }
    if p.is_dir() {
        return checker.scan_dir(p);
    }
    Err(Error::Usage(format!(
        "{target}: no such directory, archive or repository"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(kind: &str, v: &str) -> Secret {
        Secret {
            kind: kind.into(),
            value: v.into(),
        }
    }

    #[test]
    fn every_form_is_found_and_the_value_never_printed() {
        let s = vec![secret("database password", "p@ss/w'rd\\x")];
        let c = Checker::new(&s).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"xyz:p@ss/w'rd\\x:abc");
        let hex: String = b"p@ss/w'rd\\x".iter().map(|b| format!("{b:02x}")).collect();
        let text = format!(
            "a\nplain p@ss/w'rd\\x\nurl p%40ss%2Fw%27rd%5Cx\nb64 {b64}\nhex {hex}\nsql 'p@ss/w\\'rd\\\\x'\nstd 'p@ss/w''rd\\x'\nclean\n"
        );
        let f = c.scan("f.txt", text.as_bytes());
        let lines: Vec<usize> = f.iter().map(|f| f.line).collect();
        for l in 2..=7 {
            assert!(lines.contains(&l), "line {l} not found: {f:?}");
        }
        assert!(!lines.contains(&8) && !lines.contains(&1));
        for x in &f {
            assert!(!x.to_string().contains("p@ss"), "{x}");
        }
    }

    #[test]
    fn generic_patterns() {
        let c = Checker::new(&[]).unwrap();
        let u = c.scan(
            "c",
            b"url = https://me:tok@github.com/x\nurl = https://github.com/x\n",
        );
        assert_eq!(u.len(), 1);
        let t = "x\n-----BEGIN RSA PRIVATE KEY-----\nAKIAABCDEFGHIJKLMNOP\nINSERT INTO `wp_users` VALUES (1,'admin','$P$BZlPX7NIx8MYpXokBW2AGsN7i.aUOt0','admin')\nINSERT INTO `jos_users` VALUES (42,'w','5f4dcc3b5aa765d61d8327deb882cf99')\nINSERT INTO `posts` VALUES ('5f4dcc3b5aa765d61d8327deb882cf99')\n$argon2id$v=19$m=65536\n";
        let f = c.scan("d.sql", t.as_bytes());
        let lines: Vec<usize> = f.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 7]);
    }

    #[test]
    fn settings_and_config_sources() {
        let t = tempfile::tempdir().unwrap();
        let settings = t.path().join("webserver_configuration_settings.dat");
        std::fs::write(&settings, "WEBSITEURL:www.example.com\nDNSSECURITYKEY:dns-key-123456\nEMAILPASSWORD:mailpw-123\nDATABASEDBaaSINSTALLATIONTYPE:Maria:DBAAS:host.x:dbaasuser:dbaas-pass-9\nSERVERUSER:abc\n").unwrap();
        let cfg = t.path().join("wp-config.php");
        std::fs::write(&cfg, "<?php define('AUTH_SALT', 'salty-salt-1');").unwrap();
        let s3 = t.path().join(".s3cfg");
        std::fs::write(&s3, "[default]\naccess_key = AKIA1234567890ABCDEF\nsecret_key = s3secret/xyz+1\nhost_base = x\n").unwrap();
        let got = collect(&Sources {
            settings: vec![settings],
            s3cfg: vec![s3],
            app_configs: vec![(Some(Application::WordPress), cfg)],
            ..Default::default()
        })
        .unwrap();
        let vals: Vec<&str> = got.iter().map(|s| s.value.as_str()).collect();
        for v in [
            "dns-key-123456",
            "mailpw-123",
            "dbaas-pass-9",
            "salty-salt-1",
            "AKIA1234567890ABCDEF",
            "s3secret/xyz+1",
        ] {
            assert!(vals.contains(&v), "{v} missing");
        }
        assert!(!vals.contains(&"www.example.com"));
    }

    #[test]
    fn a_file_is_searched_in_pieces_with_the_right_line_numbers() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("big.sql");
        // More than two pieces of filler lines, a secret on a known line in the middle of the
        // second piece and one on the very last line.
        let piece = 4096;
        let filler = "x".repeat(100) + "\n";
        let n = (2 * piece + piece / 2) / filler.len();
        let mut text = String::with_capacity(n * filler.len() + 100);
        for i in 0..n {
            if i == n / 2 {
                text.push_str("a topsecret-value b\n");
            } else {
                text.push_str(&filler);
            }
        }
        text.push_str("-----BEGIN RSA PRIVATE KEY-----");
        std::fs::write(&f, &text).unwrap();
        let c = Checker::new(&[secret("database password", "topsecret-value")]).unwrap();
        let got = c.scan_file_by("big.sql", &f, piece).unwrap();
        let lines: Vec<usize> = got.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![n / 2 + 1, n + 1], "{got:?}");
    }

    #[test]
    fn a_user_copy_block_across_pieces() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("d.sql");
        let mut text = String::from("COPY public.mdl_posts (id, body) FROM stdin;\n1\t5f4dcc3b5aa765d61d8327deb882cf99\n\\.\n");
        text.push_str("COPY public.mdl_user (id, username, password) FROM stdin;\n");
        for i in 0..200 {
            text.push_str(&format!("{i}\tuser{i}\tnothing-here-{i}\n"));
        }
        text.push_str("999\tbob\t5f4dcc3b5aa765d61d8327deb882cf99\n\\.\nafter 5f4dcc3b5aa765d61d8327deb882cf99\n");
        std::fs::write(&f, &text).unwrap();
        let c = Checker::new(&[]).unwrap();
        let got = c.scan_file_by("d.sql", &f, 512).unwrap();
        let lines: Vec<usize> = got.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![205], "{got:?}");
    }

    #[test]
    fn split_parts_and_archives_are_opened() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("tree");
        std::fs::create_dir_all(d.join("inner")).unwrap();
        std::fs::write(
            d.join("inner/applicationDB.sql"),
            "INSERT 'topsecret-value';\n",
        )
        .unwrap();
        let tgz = t.path().join("a.tar.gz");
        Run::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .arg("-C")
            .arg(&d)
            .arg("inner")
            .output()
            .unwrap();
        let bytes = std::fs::read(&tgz).unwrap();
        let repo = t.path().join("repo/baseline");
        std::fs::create_dir_all(&repo).unwrap();
        let mid = bytes.len() / 2;
        std::fs::write(repo.join("application-db-00"), &bytes[..mid]).unwrap();
        std::fs::write(repo.join("application-db-01"), &bytes[mid..]).unwrap();
        let c = Checker::new(&[secret("database password", "topsecret-value")]).unwrap();
        let f = c.scan_dir(&t.path().join("repo")).unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].path,
            "baseline/application-db-*!inner/applicationDB.sql"
        );
        assert_eq!(c.scan_archive(&tgz).unwrap().len(), 1);
    }
}
