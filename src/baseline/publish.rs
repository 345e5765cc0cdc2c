//! Making and publishing a baseline: the webroot copy ([`super::tree`]) or the scrubbed dump
//! ([`super::dump`]) branded as legacy brands them, checked by the leak checker, and pushed
//! only when the checker found nothing.
//!
//! Legacy: WS `providerscripts/git/CreateWebrootBaseline.sh`, DB
//! `providerscripts/git/CreateDBBaseline.sh` (2022), with `RemoveApplicationBranding.sh`; 2025
//! `application/backupscripts/Create*Baseline.sh` (branch `main`, the plain dump at the root,
//! EXCLUDE_FROM_BACKUP entries left out: [`Target::branch`], [`DbLayout::PlainDump`], the
//! `exclude` list of [`publish_webroot`], from `crate::layout::Generation::baselines`).
//! Names kept: `<identifier>-webroot-sourcecode-baseline`, `<identifier>-db-baseline`, the
//! webroot's `.gitattributes` from `providerscripts/git/gitattributes`, the DB's
//! `baseline/application-db-NN` 10 MiB `split -d` parts of a tar.gz holding `applicationDB.sql`
//! with its `zzzz` sentinel, LFS attributes for `*db*` and `*.tar.gz`, branch `master`, the
//! branding tokens and the placeholders a deployment replaces.
//!
//! Differences from legacy: the repository is created when missing (legacy required an empty
//! one made by hand); the one commit is pushed by [`crate::git::push_snapshot`] (message
//! `Automated Backup`, not `Baseline Baby`; credentials never in a URL or `.git/config`) and
//! verified; the work directory is removed afterwards (legacy left `.git` with a credential URL
//! on disk); the parts are pushed as plain blobs under the LFS attributes (each is 10 MiB, under
//! every host's limit; a deployer's git-lfs passes non-pointer content through). The webroot's
//! branding is literal text replacement over text files only (binaries untouched); the dump's is
//! done value by value with PHP-serialized lengths recomputed ([`dump::brand_value`]; legacy's
//! sed broke them), then once more over the whole lines for the statements around the data.

use super::check::{Checker, Finding};
use super::{dump, tree, Application};
use crate::error::{Error, Result};
use crate::git::{self, GitProvider, Pushed};
use std::path::{Path, PathBuf};

/// The site's names the branding takes out (from the settings: WEBSITEURL,
/// WEBSITEDISPLAYNAME).
#[derive(Clone, Debug, Default)]
pub struct Branding {
    pub website_url: String,
    pub display_name: String,
}

impl Branding {
    pub fn from_settings(text: &str) -> Branding {
        let v = |k: &str| crate::config::value(text, k).unwrap_or_default();
        Branding {
            website_url: v("WEBSITEURL"),
            display_name: v("WEBSITEDISPLAYNAME").replace('_', " "),
        }
    }

    /// `www.example.com` → `wwwexacom` (the config bucket's prefix: three characters per label).
    pub fn bucket_prefix(&self) -> String {
        self.website_url
            .split('.')
            .map(|l| l.chars().take(3).collect::<String>())
            .collect::<String>()
            .replace('-', "")
    }

    /// `www.example.com` → `example.com`.
    pub fn root_domain(&self) -> String {
        match self.website_url.split_once('.') {
            Some((_, r)) if r.contains('.') => r.to_string(),
            _ => self.website_url.clone(),
        }
    }

    fn cap(s: &str) -> String {
        let lower = s.to_lowercase();
        let mut c = lower.chars();
        match c.next() {
            Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
            None => String::new(),
        }
    }

    /// The webroot's replacements, in legacy order.
    pub fn webroot_pairs(&self) -> Vec<(String, String)> {
        let d = &self.display_name;
        vec![
            (self.bucket_prefix(), "ApplicationDomainSpec".into()),
            (self.website_url.clone(), "applicationdomain.tld".into()),
            (self.root_domain(), "applicationrootdomain.tld".into()),
            (d.clone(), "The GreatApplication".into()),
            (d.to_uppercase(), "THE GREATAPPLICATION".into()),
            (d.to_lowercase(), "greatapplication".into()),
            (Self::cap(d), "Greatapplication".into()),
        ]
    }

    /// The DB dump's replacements, in legacy order (the DB user and IPMASK are the dump's
    /// own scrub, [`crate::database::scrub::Scrubber::for_backup`]).
    pub fn db_pairs(&self) -> Vec<(String, String)> {
        let root = self.root_domain();
        let d = &self.display_name;
        vec![
            (self.bucket_prefix(), "ApplicationDomainSpec".into()),
            (self.website_url.clone(), "www.applicationdomain.tld".into()),
            (format!("@{root}"), "@applicationdomain.tld".into()),
            (root, "applicationdomain.tld".into()),
            (d.clone(), "GreatApplication".into()),
            (d.to_uppercase(), "GREATAPPLICATION".into()),
            (
                format!("{}-online", d.to_lowercase()),
                "application-online".into(),
            ),
            ("@@mail".into(), "@mail".into()),
        ]
    }
}

/// Literal replacements in order; empty or too short patterns (under 3 bytes) are skipped.
pub fn replace_all(text: &str, pairs: &[(String, String)]) -> String {
    let mut t = text.to_string();
    for (from, to) in pairs {
        if from.len() >= 3 && t.contains(from.as_str()) {
            t = t.replace(from.as_str(), to);
        }
    }
    t
}

/// Brand every text file of a tree (a file with a NUL byte, or not UTF-8, is left alone).
pub fn brand_tree(dir: &Path, pairs: &[(String, String)]) -> Result<usize> {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .map_err(|e| Error::io(d.display(), e))?
            .flatten()
        {
            let p = e.path();
            let ft = e.file_type().map_err(|err| Error::io(p.display(), err))?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let bytes = std::fs::read(&p).map_err(|err| Error::io(p.display(), err))?;
                if bytes.contains(&0) {
                    continue;
                }
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                let out = replace_all(&text, pairs);
                if out != text {
                    std::fs::write(&p, out).map_err(|err| Error::io(p.display(), err))?;
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

/// Where a baseline goes and who checks it.
pub struct Target<'a> {
    pub identifier: &'a str,
    pub provider: &'a dyn GitProvider,
    pub checker: &'a Checker,
    /// A private directory for the work tree and git state; removed afterwards.
    pub work: &'a Path,
    /// The branch pushed to (the generation's: 2022 `master`, 2025 `main`).
    pub branch: &'a str,
}

/// What publishing did.
pub enum Published {
    Pushed {
        repo: String,
        pushed: Pushed,
        altered: String,
    },
    /// The checker found these: nothing was pushed.
    Refused(Vec<Finding>),
}

/// The legacy identifier rule: something usable in a repository name.
pub fn check_identifier(id: &str) -> Result<()> {
    if id.is_empty()
        || id.starts_with(['.', '-'])
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(Error::Usage(format!(
            "baseline identifier {id:?} must be letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

fn push_checked(t: &Target, dir: &Path, repo: &str, altered: String) -> Result<Published> {
    let findings = t.checker.scan_dir(dir)?;
    if !findings.is_empty() {
        return Ok(Published::Refused(findings));
    }
    t.provider.ensure_repo(repo)?;
    let state = git::open_state(&t.work.join("state"))?;
    let pushed = git::push_snapshot_to(
        &state,
        dir,
        &t.provider.remote_url(repo),
        t.provider.credentials().as_ref(),
        repo,
        t.branch,
    )?;
    Ok(Published::Pushed {
        repo: repo.to_string(),
        pushed,
        altered,
    })
}

/// A private work directory (0700), removed with everything in it when dropped.
pub struct Work(PathBuf);

impl Work {
    pub fn create(path: &Path) -> Result<Work> {
        use std::os::unix::fs::DirBuilderExt;
        if path.exists() {
            std::fs::remove_dir_all(path).map_err(|e| Error::io(path.display(), e))?;
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| Error::io(path.display(), e))?;
        Ok(Work(path.to_path_buf()))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The webroot baseline: copy scrubbed, `.gitattributes` added, branded, checked, pushed to
/// `<identifier>-webroot-sourcecode-baseline`.
pub fn publish_webroot(
    t: &Target,
    webroot: &Path,
    app: Option<Application>,
    branding: &Branding,
    gitattributes: Option<&Path>,
    exclude: &[String],
) -> Result<Published> {
    check_identifier(t.identifier)?;
    let dir = t.work.join("tree");
    let mut report = tree::copy_scrubbed(webroot, &dir, app)?;
    // 2025: the top-level EXCLUDE_FROM_BACKUP entries (`logs`, `tmp`, `cache`, the application's
    // config file) are left out, as legacy removes them from its copy.
    for e in exclude {
        let p = Path::new(e);
        if e.is_empty() || p.components().count() != 1 || e == "." || e == ".." {
            continue;
        }
        let at = dir.join(p);
        let gone = match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&at).map(|_| true),
            Ok(_) => std::fs::remove_file(&at).map(|_| true),
            Err(_) => Ok(false),
        }
        .map_err(|e| Error::io(at.display(), e))?;
        if gone {
            report
                .excluded
                .push((p.to_path_buf(), "EXCLUDE_FROM_BACKUP (2025)"));
        }
    }
    // Legacy puts `/var/www/vendor` (Drupal's composer tree, outside the webroot) into the
    // baseline as `vendor.drupal`, which a deployment moves back; done on the copy only
    // (legacy copied it into the live webroot). `/var/www/private` is never published.
    if let Some(vendor) = webroot
        .parent()
        .map(|p| p.join("vendor"))
        .filter(|v| v.is_dir())
    {
        let r = tree::copy_scrubbed(&vendor, &dir.join("vendor.drupal"), None)?;
        report.excluded.extend(
            r.excluded
                .into_iter()
                .map(|(p, why)| (Path::new("vendor.drupal").join(p), why)),
        );
        report.files += r.files;
    }
    if let Some(g) = gitattributes.filter(|g| g.is_file()) {
        std::fs::copy(g, dir.join(".gitattributes")).map_err(|e| Error::io(g.display(), e))?;
    }
    // Legacy copies index.php.backup over index.php (the toolkit's maintenance page swap).
    let backup = dir.join("index.php.backup");
    if backup.is_file() {
        std::fs::copy(&backup, dir.join("index.php"))
            .map_err(|e| Error::io(backup.display(), e))?;
    }
    brand_tree(&dir, &branding.webroot_pairs())?;
    let repo = format!("{}-webroot-sourcecode-baseline", t.identifier);
    push_checked(t, &dir, &repo, report.render())
}

/// How the DB baseline's repository holds the dump (the generation's
/// [`crate::layout::DbBaseline`], with the engine for the 2025 file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbLayout {
    /// 2022: `baseline/application-db-NN` parts of a tar.gz, LFS attributes.
    SplitArchive,
    /// 2025: `applicationDB.sql` (MySQL/MariaDB) or `applicationDB.psql` (PostgreSQL) at the
    /// root, unsplit.
    PlainDump { postgres: bool },
}

/// The LFS attributes of a DB baseline (legacy `git lfs track "*db*"`, `"*.tar.gz"`).
pub const DB_GITATTRIBUTES: &str =
    "*db* filter=lfs diff=lfs merge=lfs -text\n*.tar.gz filter=lfs diff=lfs merge=lfs -text\n";

/// The database baseline from a dump already framed and scrubbed as a backup is
/// ([`crate::database::dump::dump`] with `Scrubber::for_backup`): rewritten per application,
/// the database name replaced, branded, archived, split into `baseline/application-db-NN`,
/// checked, pushed to `<identifier>-db-baseline`.
pub fn publish_db(
    t: &Target,
    dumped: &Path,
    app: Application,
    db_name: &str,
    branding: &Branding,
    layout: DbLayout,
) -> Result<Published> {
    check_identifier(t.identifier)?;
    let stage = t.work.join("stage");
    std::fs::create_dir_all(&stage).map_err(|e| Error::io(stage.display(), e))?;
    let sql = stage.join("applicationDB.sql");
    let rep = dump::scrub_file(
        app,
        &dump::Names {
            db_user: None,
            db_name: Some(db_name.to_string()),
            branding: branding.db_pairs(),
        },
        dumped,
        &sql,
    )?;
    // Branding, line by line (literal).
    {
        use std::io::{BufRead, Write};
        let branded = stage.join("branded.sql");
        let pairs = branding.db_pairs();
        let mut tmp = crate::fsutil::TempFile::new(&branded, Some(0o600))?;
        {
            let f = std::fs::File::open(&sql).map_err(|e| Error::io(sql.display(), e))?;
            let mut w = std::io::BufWriter::new(tmp.file());
            for line in std::io::BufReader::new(f).split(b'\n') {
                let line = line.map_err(|e| Error::io(sql.display(), e))?;
                match String::from_utf8(line) {
                    Ok(s) => writeln!(w, "{}", replace_all(&s, &pairs)),
                    Err(e) => w.write_all(e.as_bytes()).and_then(|_| w.write_all(b"\n")),
                }
                .map_err(|e| Error::io(branded.display(), e))?;
            }
            w.flush().map_err(|e| Error::io(branded.display(), e))?;
        }
        tmp.commit()?;
        std::fs::rename(&branded, &sql).map_err(|e| Error::io(sql.display(), e))?;
    }
    let dir = t.work.join("tree");
    match layout {
        DbLayout::SplitArchive => {
            let archive = stage.join("applicationDB.tar.gz");
            crate::database::archive::tar_gz(&sql, &archive)?;
            crate::database::archive::split(
                &archive,
                &dir.join("baseline"),
                "application-db-",
                10 << 20,
            )?;
            std::fs::write(dir.join(".gitattributes"), DB_GITATTRIBUTES)
                .map_err(|e| Error::io(dir.display(), e))?;
        }
        DbLayout::PlainDump { postgres } => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
            let name = if postgres {
                "applicationDB.psql"
            } else {
                "applicationDB.sql"
            };
            std::fs::rename(&sql, dir.join(name)).map_err(|e| Error::io(sql.display(), e))?;
        }
    }
    let repo = format!("{}-db-baseline", t.identifier);
    push_checked(t, &dir, &repo, rep.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branding_pairs_in_legacy_order() {
        let b = Branding {
            website_url: "www.example.com".into(),
            display_name: "My Site".into(),
        };
        assert_eq!(b.bucket_prefix(), "wwwexacom");
        assert_eq!(b.root_domain(), "example.com");
        let t = replace_all(
            "wwwexacom-config https://www.example.com mail@example.com My Site MY SITE my site",
            &b.webroot_pairs(),
        );
        assert_eq!(
            t,
            "ApplicationDomainSpec-config https://applicationdomain.tld mail@applicationrootdomain.tld The GreatApplication THE GREATAPPLICATION greatapplication"
        );
        let d = replace_all(
            "www.example.com a@example.com my site-online",
            &b.db_pairs(),
        );
        assert_eq!(
            d,
            "www.applicationdomain.tld a@applicationdomain.tld application-online"
        );
    }

    #[test]
    fn identifiers() {
        assert!(check_identifier("my-site_1").is_ok());
        for bad in ["", "../x", "a b", "-x", "a/b"] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }
}
