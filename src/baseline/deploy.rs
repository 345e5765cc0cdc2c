//! The deploy side of a baseline: what a deployment from one of our baselines must do that the
//! legacy deploy scripts do not know about.
//!
//! - Every [`super::php::SECRET`] (salts, keys, service passwords) gets a fresh random value.
//!   One deployment may hold the same setting in several files (Joomla's
//!   `configuration.php.default` and the `configuration.php` legacy makes of it, the
//!   `runtime/<app>_config.php` working copy and the live file): each value is derived from a
//!   random per-deployment seed and the setting's line (whitespace ignored), so the same setting
//!   gets the same value wherever it is, and two deployments share none ([`fill_bytes`]).
//! - The placeholder administrator ([`super::dump::ADMIN_USER`], [`super::dump::ADMIN_HASH`])
//!   gets a login and a fresh random password, stored as a hash in the application's own scheme
//!   ([`admin_hash`]): WordPress and Joomla phpass (`$P$`), Drupal its SHA-512 phpass variant
//!   (`$S$`), Moodle SHA-512 crypt (`$6$`).
//!
//! Legacy: none (the legacy deploy scripts replace only `XXXUSERNAMEXXX`…`XXXDBPORTXXX`).

use super::Application;
use crate::error::{Error, Result};
use ring::digest;
use std::path::{Path, PathBuf};

/// Characters of a generated value (salts, keys, the administrator's password).
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// phpass' and crypt's base-64 alphabet.
const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of a filled secret.
pub const SECRET_LEN: usize = 48;
/// Files larger than this are not searched for tokens (uploads, media).
pub const MAX_FILE: u64 = 16 << 20;

/// `n` bytes from the operating system's random source.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Error::Io("the system's random source failed".into()))?;
    Ok(b)
}

fn alnum(bytes: &[u8]) -> String {
    // 62 symbols: the slight modulo bias costs well under a bit over the whole value.
    bytes
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect()
}

/// A fresh password for the administrator: 24 characters of `[A-Za-z0-9]` (142 bits).
pub fn random_password() -> Result<String> {
    Ok(alnum(&random_bytes(24)?))
}

/// The value a token gets: SHA-512 of the deployment's seed and the setting's key.
fn derive(seed: &[u8], key: &[u8]) -> String {
    let mut c = digest::Context::new(&digest::SHA512);
    c.update(seed);
    c.update(&[0]);
    c.update(key);
    alnum(&c.finish().as_ref()[..SECRET_LEN])
}

/// Every `token` in `text` replaced by a value derived from `seed` and its line up to it
/// (whitespace removed, so a setting re-indented by a legacy `sed` keeps its value), plus its
/// rank on that line. Returns the new bytes and how many were replaced.
pub fn fill_bytes(text: &[u8], token: &str, seed: &[u8]) -> (Vec<u8>, usize) {
    let tok = token.as_bytes();
    let mut out = Vec::with_capacity(text.len() + 64);
    let mut n = 0;
    let mut at = 0;
    let mut line_start = 0;
    let mut rank_line = usize::MAX;
    let mut rank = 0usize;
    for i in memchr::memmem::find_iter(text, tok) {
        if let Some(nl) = memchr::memrchr(b'\n', &text[..i]) {
            line_start = line_start.max(nl + 1);
        }
        if rank_line != line_start {
            rank_line = line_start;
            rank = 0;
        }
        let mut key: Vec<u8> = text[line_start..i]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        key.extend_from_slice(format!("#{rank}").as_bytes());
        out.extend_from_slice(&text[at..i]);
        out.extend_from_slice(derive(seed, &key).as_bytes());
        at = i + tok.len();
        n += 1;
        rank += 1;
    }
    out.extend_from_slice(&text[at..]);
    (out, n)
}

/// The deployment's seed: read from `path`, or made (32 random bytes, the file 0600 from its
/// creation) when it is not there yet.
pub fn seed(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) if b.len() >= 32 => return Ok(b),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path.display(), e)),
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
    }
    let b = random_bytes(32)?;
    crate::fsutil::write_atomic(path, &b, Some(0o600))?;
    Ok(b)
}

/// Fill every [`super::php::SECRET`] in the files under `roots` (directories walked, symbolic
/// links not followed, files over [`MAX_FILE`] skipped). Each changed file is replaced whole,
/// written 0600 and given its old owner, group and mode at the end. Returns the files changed
/// and their counts.
pub fn fill_files(roots: &[PathBuf], seed: &[u8]) -> Result<Vec<(PathBuf, usize)>> {
    let mut done = Vec::new();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            let rd = std::fs::read_dir(&p).map_err(|e| Error::io(p.display(), e))?;
            for e in rd {
                stack.push(e.map_err(|e| Error::io(p.display(), e))?.path());
            }
            continue;
        }
        if !meta.is_file() || meta.len() > MAX_FILE {
            continue;
        }
        let text = std::fs::read(&p).map_err(|e| Error::io(p.display(), e))?;
        if memchr::memmem::find(&text, super::php::SECRET.as_bytes()).is_none() {
            continue;
        }
        let (new, n) = fill_bytes(&text, super::php::SECRET, seed);
        replace_keeping_owner(&p, &new, &meta)?;
        done.push((p, n));
    }
    done.sort();
    Ok(done)
}

/// Replace `path` with `bytes`: written 0600 beside it, given the old owner, group and mode, then
/// renamed over it (the web server keeps reading a file it owns, e.g. legacy's 0440
/// `www-data` config files).
fn replace_keeping_owner(path: &Path, bytes: &[u8], old: &std::fs::Metadata) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut t = crate::fsutil::TempFile::new(path, Some(old.permissions().mode() & 0o7777))?;
    t.file()
        .write_all(bytes)
        .map_err(|e| Error::io(path.display(), e))?;
    let now = std::fs::metadata(t.path()).map_err(|e| Error::io(t.path().display(), e))?;
    if (now.uid(), now.gid()) != (old.uid(), old.gid()) {
        std::os::unix::fs::chown(t.path(), Some(old.uid()), Some(old.gid()))
            .map_err(|e| Error::io(format!("giving {} its owner back", path.display()), e))?;
    }
    t.commit()
}

/// The administrator's password hash in the application's own scheme.
pub fn admin_hash(app: Application, password: &str) -> Result<String> {
    let salt = random_bytes(16)?;
    let salt8: Vec<u8> = salt[..8].iter().map(|b| ITOA64[*b as usize % 64]).collect();
    Ok(match app {
        // WordPress' wp_check_password and Joomla's PHPassHandler: portable phpass, 2^13 rounds
        // (WordPress' `$P$B`).
        Application::WordPress | Application::Joomla => phpass_md5(password, &salt8, 13),
        // Drupal's PhpassHashedPassword: SHA-512, 2^16 rounds, 55 characters.
        Application::Drupal => {
            let mut h = phpass_sha512(password, &salt8, 16);
            h.truncate(55);
            h
        }
        // Moodle (password_verify; 4.5 makes the same kind): SHA-512 crypt, 5000 rounds.
        Application::Moodle => {
            let s: Vec<u8> = salt.iter().map(|b| ITOA64[*b as usize % 64]).collect();
            sha512_crypt(password.as_bytes(), &s)
        }
    })
}

/// Columns that may hold the placeholder administrator's login or hash (WordPress
/// `users.user_login`/`user_pass`, Joomla `users.username`/`password`, Drupal
/// `users_field_data.name`/`pass`, Moodle `user.username`/`password`).
const ADMIN_COLUMNS: &str = "'user_login', 'user_pass', 'username', 'password', 'name', 'pass'";

/// The placeholder administrator's login and password set in the database behind `c` (after
/// the legacy import): every text column of [`ADMIN_COLUMNS`] holding [`super::dump::ADMIN_USER`]
/// becomes `login`, every one holding [`super::dump::ADMIN_HASH`] the hash of a fresh random
/// password in `app`'s scheme. Returns that password, or `None` when the database holds no
/// placeholder (already set, or not a baseline of ours). Fails when one is left after.
pub fn set_admin(
    c: &crate::database::Connection,
    work: &Path,
    app: Application,
    login: &str,
) -> Result<Option<String>> {
    use super::dump::{ADMIN_HASH, ADMIN_USER};
    use crate::database::{import::query, Engine};
    if !login
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
    {
        return Err(Error::Config(format!(
            "administrator login {login:?}: letters, digits, -, _, . and @ only"
        )));
    }
    let (columns, quote): (String, fn(&str) -> String) = match c.engine {
        Engine::MySql => (
            format!(
                "SELECT CONCAT(table_name, ' ', column_name) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND column_name IN ({ADMIN_COLUMNS}) \
                 AND data_type IN ('varchar', 'char', 'text', 'tinytext', 'mediumtext', 'longtext');\n"
            ),
            |n| format!("`{}`", n.replace('`', "``")),
        ),
        Engine::Postgres => (
            format!(
                "SELECT table_name || ' ' || column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name IN ({ADMIN_COLUMNS}) \
                 AND data_type IN ('character varying', 'character', 'text');\n"
            ),
            |n| format!("\"{}\"", n.replace('"', "\"\"")),
        ),
    };
    let found = query(c, work, &columns)?;
    let cols: Vec<(String, String)> = found
        .lines()
        .filter_map(|l| l.trim().split_once(' '))
        .map(|(t, c)| (quote(t), quote(c)))
        .collect();
    if cols.is_empty() {
        return Ok(None);
    }
    let tokens = format!("('{ADMIN_USER}', '{ADMIN_HASH}')");
    let count = |cols: &[(String, String)]| -> Result<u64> {
        let sql: Vec<String> = cols
            .iter()
            .map(|(t, col)| format!("SELECT COUNT(*) FROM {t} WHERE {col} IN {tokens}"))
            .collect();
        let out = query(c, work, &format!("{};\n", sql.join(" UNION ALL ")))?;
        Ok(out
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .sum())
    };
    if count(&cols)? == 0 {
        return Ok(None);
    }
    let password = random_password()?;
    let hash = admin_hash(app, &password)?;
    // Login and hash are of `[A-Za-z0-9$./_@-]`: nothing to escape in a quoted literal.
    let mut sql = String::new();
    for (t, col) in &cols {
        sql.push_str(&format!(
            "UPDATE {t} SET {col} = CASE WHEN {col} = '{ADMIN_USER}' THEN '{login}' ELSE '{hash}' END \
             WHERE {col} IN {tokens};\n"
        ));
    }
    query(c, work, &sql)?;
    if count(&cols)? != 0 {
        return Err(Error::Io(
            "the placeholder administrator is still in the database after the update".into(),
        ));
    }
    Ok(Some(password))
}

/// phpass' base-64 of `input` (`encode64`).
fn encode64(input: &[u8]) -> String {
    let mut out = String::new();
    let count = input.len();
    let mut i = 0;
    while i < count {
        let mut value = input[i] as u32;
        i += 1;
        out.push(ITOA64[(value & 0x3f) as usize] as char);
        if i < count {
            value |= (input[i] as u32) << 8;
        }
        out.push(ITOA64[((value >> 6) & 0x3f) as usize] as char);
        if i >= count {
            break;
        }
        i += 1;
        if i < count {
            value |= (input[i] as u32) << 16;
        }
        out.push(ITOA64[((value >> 12) & 0x3f) as usize] as char);
        if i >= count {
            break;
        }
        i += 1;
        out.push(ITOA64[((value >> 18) & 0x3f) as usize] as char);
    }
    out
}

/// Drupal's phpass variant (`$S$`): SHA-512, 2^`log2` rounds (the caller truncates to 55).
pub fn phpass_sha512(password: &str, salt8: &[u8], log2: usize) -> String {
    let mut h = sha512(&[salt8, password.as_bytes()]);
    for _ in 0..(1u64 << log2) {
        h = sha512(&[&h, password.as_bytes()]);
    }
    format!(
        "$S${}{}{}",
        ITOA64[log2] as char,
        String::from_utf8_lossy(salt8),
        encode64(&h)
    )
}

/// Portable phpass (`$P$`), MD5.
pub fn phpass_md5(password: &str, salt8: &[u8], log2: usize) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(salt8);
    h.update(password.as_bytes());
    let mut d = h.finalize().to_vec();
    for _ in 0..(1u64 << log2) {
        let mut h = Md5::new();
        h.update(&d);
        h.update(password.as_bytes());
        d = h.finalize().to_vec();
    }
    format!(
        "$P${}{}{}",
        ITOA64[log2] as char,
        String::from_utf8_lossy(salt8),
        encode64(&d)
    )
}

fn sha512(parts: &[&[u8]]) -> Vec<u8> {
    let mut c = digest::Context::new(&digest::SHA512);
    for p in parts {
        c.update(p);
    }
    c.finish().as_ref().to_vec()
}

/// SHA-512 crypt (`$6$salt$…`, the default 5000 rounds), as glibc's crypt(3) makes it.
pub fn sha512_crypt(pw: &[u8], salt: &[u8]) -> String {
    let salt = &salt[..salt.len().min(16)];
    let b = sha512(&[pw, salt, pw]);
    let mut a = digest::Context::new(&digest::SHA512);
    a.update(pw);
    a.update(salt);
    let mut left = pw.len();
    while left > 64 {
        a.update(&b);
        left -= 64;
    }
    a.update(&b[..left]);
    let mut n = pw.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(&b);
        } else {
            a.update(pw);
        }
        n >>= 1;
    }
    let a = a.finish().as_ref().to_vec();
    let mut dp = digest::Context::new(&digest::SHA512);
    for _ in 0..pw.len() {
        dp.update(pw);
    }
    let dp = dp.finish().as_ref().to_vec();
    let p: Vec<u8> = dp.iter().cycle().take(pw.len()).copied().collect();
    let mut ds = digest::Context::new(&digest::SHA512);
    for _ in 0..(16 + a[0] as usize) {
        ds.update(salt);
    }
    let ds = ds.finish().as_ref().to_vec();
    let s: Vec<u8> = ds.iter().cycle().take(salt.len()).copied().collect();
    let mut c = a;
    for i in 0..5000 {
        let mut x = digest::Context::new(&digest::SHA512);
        if i % 2 == 1 {
            x.update(&p);
        } else {
            x.update(&c);
        }
        if i % 3 != 0 {
            x.update(&s);
        }
        if i % 7 != 0 {
            x.update(&p);
        }
        if i % 2 == 1 {
            x.update(&c);
        } else {
            x.update(&p);
        }
        c = x.finish().as_ref().to_vec();
    }
    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut out = format!("$6${}$", String::from_utf8_lossy(salt));
    let mut put = |w: u32, n: usize| {
        let mut w = w;
        for _ in 0..n {
            out.push(ITOA64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    };
    for (x, y, z) in ORDER {
        put(
            ((c[x] as u32) << 16) | ((c[y] as u32) << 8) | c[z] as u32,
            4,
        );
    }
    put(c[63] as u32, 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha512_crypt_matches_glibc() {
        // glibc's crypt("a", "$6$abc") (python3: crypt.crypt('a', '$6$abc')).
        assert_eq!(
            sha512_crypt(b"a", b"abc"),
            "$6$abc$nlhAD6nGlGRMDj1Sphvkk9r/6E8dgKu7aqKErMwZ3U3A1onV461eE5jl9tfrBIm/M2o5cPL52lhAdhLA0OvUD/"
        );
    }

    #[test]
    fn phpass_matches_a_known_wordpress_hash() {
        // phpass' own test vector: PasswordHash(8, true)->HashPassword('test12345') with the
        // salt of '$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0'.
        assert_eq!(
            phpass_md5("test12345", b"IQRaTwmf", 11),
            "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"
        );
    }

    #[test]
    fn hashes_have_each_application_s_shape() {
        let wp = admin_hash(Application::WordPress, "pw").unwrap();
        assert!(wp.starts_with("$P$B") && wp.len() == 34, "{wp}");
        let d = admin_hash(Application::Drupal, "pw").unwrap();
        assert!(d.starts_with("$S$E") && d.len() == 55, "{d}");
        let m = admin_hash(Application::Moodle, "pw").unwrap();
        assert!(m.starts_with("$6$") && m.len() == 3 + 16 + 1 + 86, "{m}");
        assert_ne!(admin_hash(Application::Joomla, "pw").unwrap(), wp, "salted");
    }

    #[test]
    fn files_keep_owner_and_mode_and_the_seed_is_private() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("web/configuration.php");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, "<?php public $secret = 'XXXSECRETXXX';\n").unwrap();
        std::fs::write(d.path().join("web/other.txt"), "nothing\n").unwrap();
        // Legacy's web server owner, when we may give files away (root).
        let root = nix::unistd::geteuid().is_root();
        if root {
            std::os::unix::fs::chown(&cfg, Some(33), Some(33)).unwrap();
        }
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o440)).unwrap();
        let seed = seed(&d.path().join("runtime/.seed")).unwrap();
        assert_eq!(
            std::fs::metadata(d.path().join("runtime/.seed"))
                .unwrap()
                .mode()
                & 0o777,
            0o600
        );
        let done = fill_files(&[d.path().join("web")], &seed).unwrap();
        assert_eq!(done, vec![(cfg.clone(), 1)]);
        let m = std::fs::metadata(&cfg).unwrap();
        assert_eq!(m.mode() & 0o777, 0o440);
        if root {
            assert_eq!((m.uid(), m.gid()), (33, 33));
        }
        assert!(!std::fs::read_to_string(&cfg).unwrap().contains("XXX"));
        assert_eq!(
            super::seed(&d.path().join("runtime/.seed")).unwrap(),
            seed,
            "the seed is kept"
        );
    }

    #[test]
    fn one_setting_one_value_per_deployment() {
        let seed = b"0123456789abcdef0123456789abcdef";
        let a = b"public $secret = 'XXXSECRETXXX';\n$x = ['XXXSECRETXXX', 'XXXSECRETXXX'];\n";
        let (out, n) = fill_bytes(a, "XXXSECRETXXX", seed);
        assert_eq!(n, 3);
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("XXX"));
        // Re-indented by a sed: the same value.
        let b = b"        public $secret = 'XXXSECRETXXX';";
        let (out2, _) = fill_bytes(b, "XXXSECRETXXX", seed);
        let v1 = &out[18..18 + SECRET_LEN];
        assert!(String::from_utf8(out2).unwrap().contains(v1));
        // Two on one line differ; another seed gives other values.
        let line2: Vec<&str> = out.lines().nth(1).unwrap().split('\'').collect();
        assert_ne!(line2[1], line2[3]);
        let (other, _) = fill_bytes(a, "XXXSECRETXXX", b"another seed, 32 bytes long.....");
        assert!(!String::from_utf8(other).unwrap().contains(v1));
    }
}
