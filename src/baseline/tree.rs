//! The webroot copy a baseline is made of: every file of the webroot (top-level dot files
//! included, as 2025 does) except what is private, with the configuration files scrubbed
//! ([`super::php`]).
//!
//! Left out (and reported): every `.git` directory (its config may hold a credential URL),
//! `private.drupal`, `moodledata`, session files `sess*` under an `uploads` directory, a
//! top-level `salt`, `.htpasswd`, SSH key files (`id_rsa`, `id_ecdsa`, `id_ed25519`, with or
//! without `.pub`) and any file holding a private key block. Scrubbed in the copy: the
//! application's config (WordPress `wp-config*.php`, Joomla `configuration.php*`, Drupal
//! `sites/*/settings*.php`, Moodle `config.php`) and every `.env*` file.
//!
//! Differences from legacy: legacy worked partly on the live webroot (deleting
//! `uploads/sess*` there) and partly on `/tmp/backup` paths a baseline never used (so Drupal's
//! `settings.php` and Moodle's `config.php` stayed in baselines); here only the copy is
//! touched. Joomla's `configuration.php` becomes `configuration.php.default` as legacy did.
//! Symbolic links are copied as links, never followed.

use super::{php, Application};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What the copy did, for the operator (never a value).
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Paths (relative) left out, with why.
    pub excluded: Vec<(PathBuf, &'static str)>,
    /// Config files rewritten: path, then `line setting -> placeholder` for each change.
    pub scrubbed: Vec<(PathBuf, Vec<php::Change>)>,
    pub files: usize,
}

impl Report {
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (p, why) in &self.excluded {
            s.push_str(&format!("left out {} ({why})\n", p.display()));
        }
        for (p, ch) in &self.scrubbed {
            for c in ch {
                s.push_str(&format!(
                    "scrubbed {}:{} {} -> {}\n",
                    p.display(),
                    c.line,
                    c.setting,
                    c.placeholder
                ));
            }
        }
        s
    }
}

/// Why a path is left out of a baseline, if it is.
pub fn excluded(rel: &Path, is_dir: bool) -> Option<&'static str> {
    let name = rel.file_name()?.to_string_lossy().to_string();
    let top = rel.components().count() == 1;
    let parent = rel
        .parent()
        .and_then(|p| p.file_name())
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default();
    if name == ".git" {
        return Some("git metadata, may hold a credential URL");
    }
    if is_dir {
        return match name.as_str() {
            "private.drupal" => Some("Drupal private files"),
            "moodledata" => Some("Moodle data directory"),
            _ => None,
        };
    }
    if name.starts_with("sess") && rel.components().any(|c| c.as_os_str() == "uploads") {
        return Some("session file");
    }
    if top && name == "salt" {
        return Some("salt file");
    }
    if name == ".htpasswd" {
        return Some("password file");
    }
    let stem = name.trim_end_matches(".pub");
    if matches!(stem, "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519") {
        return Some("SSH key file");
    }
    let _ = parent;
    None
}

/// Which scrub a file gets in the copy, by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    Php,
    DotEnv,
}

pub fn config_kind(app: Option<Application>, rel: &Path) -> Option<ConfigKind> {
    let name = rel.file_name()?.to_string_lossy().to_string();
    if name.starts_with(".env") {
        return Some(ConfigKind::DotEnv);
    }
    let depth = rel.components().count();
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let any_app = |a: Application| app.is_none() || app == Some(a);
    let php = (any_app(Application::WordPress) && name.starts_with("wp-config") && depth <= 2)
        || (any_app(Application::Joomla) && name.starts_with("configuration.php") && depth <= 2)
        || (any_app(Application::Drupal)
            && name.starts_with("settings")
            && name.contains(".php")
            && parts.len() >= 3
            && parts[parts.len() - 3] == "sites")
        || (any_app(Application::Moodle) && name.starts_with("config.php") && depth <= 2);
    php.then_some(ConfigKind::Php)
}

fn private_key_block(bytes: &[u8]) -> bool {
    let needle = b"PRIVATE KEY-----";
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// Copy `src` into `dst` (created; must not exist or be empty), scrubbed. A config file that
/// cannot be parsed is an error: nothing unscrubbed is ever written.
pub fn copy_scrubbed(src: &Path, dst: &Path, app: Option<Application>) -> Result<Report> {
    std::fs::create_dir_all(dst)
        .map_err(|e| Error::io(format!("creating {}", dst.display()), e))?;
    let mut report = Report::default();
    walk(src, dst, Path::new(""), app, &mut report)?;
    Ok(report)
}

fn walk(
    src: &Path,
    dst: &Path,
    rel: &Path,
    app: Option<Application>,
    r: &mut Report,
) -> Result<()> {
    let dir = src.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let rel = rel.join(e.file_name());
        let from = src.join(&rel);
        let to = dst.join(&rel);
        let ft = e
            .file_type()
            .map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
        if let Some(why) = excluded(&rel, ft.is_dir()) {
            r.excluded.push((rel, why));
            continue;
        }
        // Joomla: the live configuration.php becomes the `.default`; an older `.default`
        // beside it would otherwise overwrite it.
        if app == Some(Application::Joomla)
            && rel == Path::new("configuration.php.default")
            && src.join("configuration.php").is_file()
        {
            r.excluded
                .push((rel, "replaced by the scrubbed configuration.php"));
            continue;
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(&from)
                .map_err(|err| Error::io(format!("reading link {}", from.display()), err))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|err| Error::io(format!("creating link {}", to.display()), err))?;
        } else if ft.is_dir() {
            std::fs::create_dir_all(&to)
                .map_err(|err| Error::io(format!("creating {}", to.display()), err))?;
            walk(src, dst, &rel, app, r)?;
        } else if ft.is_file() {
            let bytes = std::fs::read(&from)
                .map_err(|err| Error::io(format!("reading {}", from.display()), err))?;
            if private_key_block(&bytes) {
                r.excluded.push((rel, "holds a private key"));
                continue;
            }
            let (out, dest) = match config_kind(app, &rel) {
                Some(kind) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let (out, changes) = match kind {
                        ConfigKind::Php => php::scrub(app, &text)
                            .map_err(|err| err.context(format!("scrubbing {}", rel.display())))?,
                        ConfigKind::DotEnv => php::scrub_dotenv(&text),
                    };
                    // Joomla's live configuration becomes the `.default` the deployment reads.
                    let name = rel.file_name().unwrap().to_string_lossy();
                    let dest = if app == Some(Application::Joomla)
                        && name == "configuration.php"
                        && rel.components().count() == 1
                    {
                        to.with_file_name("configuration.php.default")
                    } else {
                        to.clone()
                    };
                    if !changes.is_empty() {
                        r.scrubbed.push((rel.clone(), changes));
                    }
                    (out.into_bytes(), dest)
                }
                None => (bytes, to.clone()),
            };
            std::fs::write(&dest, &out)
                .map_err(|err| Error::io(format!("writing {}", dest.display()), err))?;
            r.files += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str, body: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[test]
    fn private_things_are_left_out_and_configs_scrubbed() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        put(&src, "index.php", "<?php echo 1;");
        put(&src, ".git/config", "url = https://u:tok@github.com/x/y");
        put(&src, "private.drupal/a.txt", "x");
        put(&src, "wp-content/uploads/sess_abc", "x");
        put(
            &src,
            "wp-content/uploads/2024/key.txt",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
        );
        put(&src, "wp-content/uploads/2024/photo.jpg", "jpg");
        put(&src, "salt", "s");
        put(&src, ".env", "DB_PASSWORD=zz\n");
        put(
            &src,
            "configuration.php",
            "<?php class JConfig { public $secret = 'jsecret1'; }",
        );
        put(
            &src,
            "configuration.php.default",
            "<?php class JConfig { public $old = 1; }",
        );
        put(
            &src,
            "sites/default/settings.php",
            "<?php $settings['hash_salt'] = 'h';",
        );
        let r = copy_scrubbed(&src, &dst, Some(Application::Joomla)).unwrap();
        assert!(
            dst.join("index.php").exists()
                && dst.join("wp-content/uploads/2024/photo.jpg").exists()
        );
        for gone in [
            ".git",
            "private.drupal",
            "wp-content/uploads/sess_abc",
            "wp-content/uploads/2024/key.txt",
            "salt",
            "configuration.php",
        ] {
            assert!(!dst.join(gone).exists(), "{gone}");
        }
        assert_eq!(
            std::fs::read_to_string(dst.join(".env")).unwrap(),
            "DB_PASSWORD=XXXPASSWORDXXX\n"
        );
        assert!(
            std::fs::read_to_string(dst.join("configuration.php.default"))
                .unwrap()
                .contains("'XXXSECRETXXX'")
        );
        // Not the application's config: Drupal's settings.php is left as it is for Joomla.
        assert!(
            std::fs::read_to_string(dst.join("sites/default/settings.php"))
                .unwrap()
                .contains("'h'")
        );
        assert_eq!(r.excluded.len(), 6);
        assert!(!r.render().contains("jsecret1") && r.render().contains("secret -> XXXSECRETXXX"));
    }
}
