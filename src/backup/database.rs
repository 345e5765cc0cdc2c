//! The database machine's temporal backup (spec §1.6): DB `providerscripts/git/Backup.sh <P>
//! <id>` and the `providerscripts/git/utilities/BackupDatabase.sh` it sources.
//!
//! What it makes, under legacy's names (restore reads them unchanged):
//! - the archive `<name>-DB-backup.tar.gz` (one member, `applicationDB.sql`: the framed,
//!   scrubbed dump of [`crate::database::dump`], compressed as it streams, never on disk
//!   uncompressed), left in `<H>/backups/` until the next run;
//! - unless `hourly` under DISABLEHOURLY, or `manual`: the git repository
//!   `<sub>-<name>-db-<p>-<id>` with `.gitattributes` (LFS for `*tar*` and `*db*`), the archive
//!   at its root and its 10 MiB `split -d` parts `<p>/<name>-db-NN`, one commit `Automated
//!   Backup` on `master`;
//! - `manual`: the archive copied to `<tmp>/backup_archive/<sub>-<name>-db-manual-<id>.tar.gz`;
//! - with SUPERSAFEDB `1` (not hourly under DISABLEHOURLY): the datastore copy
//!   `<url->-db-<p>/<name>-DB-backup.tar.gz`, the previous one as `.BACKUP`.
//!
//! Differences from legacy:
//! - nothing is replaced before the new backup is complete and verified: the dump must end with
//!   its tool's end marker and exit 0, the archive must list back as exactly `applicationDB.sql`,
//!   the pushed commit must be what the remote's `master` names afterwards (crate::git), the
//!   datastore copy is uploaded under a temporary key and checked before the rotation
//!   ([`super::safecopy`]). Legacy emptied `<H>/backups`, deleted the repository, and pushed
//!   whatever the dump left (a sentinel-only file when pg_dump failed);
//! - the repository is created when missing and never deleted (legacy deleted and recreated it
//!   every run: no copy at all while the push ran, none after a failed push);
//! - `manual` is not pushed (legacy pushed to a `-manual-` repository it never created);
//! - the table gate applies to PostgreSQL as well (legacy checked only MySQL/MariaDB, and a
//!   PostgreSQL database without tables became a sentinel-only backup);
//! - the blobs are pushed as plain git objects: the `.gitattributes` is legacy's, so a clone by
//!   a machine with git-lfs gets the same files (git-lfs passes non-pointer content through),
//!   but no LFS server is needed (and none is used);
//! - no `sleep 30`, no `systemd-inhibit`;
//! - no credential URL is left in `<H>/backups/.git/config` (there is no `.git` there at all).

use super::names::{self, Url};
use super::period::Period;
use super::safecopy;
use crate::database::{self, archive, dump, scrub::Scrubber, Connection};
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::git::{self, GitProvider};
use crate::layout::Generation;
use crate::mode::Mode;
use std::path::{Path, PathBuf};

/// The repository's `.gitattributes`, as `git lfs track "*tar*"` then `"*db*"` write it.
pub const GITATTRIBUTES: &str =
    "*tar* filter=lfs diff=lfs merge=lfs -text\n*db* filter=lfs diff=lfs merge=lfs -text\n";

/// Legacy's log lines (MonitoringLog.dat).
pub const LOG_START: &str = "Backing up database";
pub const LOG_NO_TABLES: &str = "Failed to backup database, it seems like the tables are not there";
pub const LOG_SKIP_REPO: &str = "Skipping repository creation because hourly backups are disabled";
pub const LOG_SKIP_HOURLY: &str = "Skipping hourly backup because hourly backups are disabled";
pub const LOG_FAILED: &str = "Had trouble makng a backup of your database. Please investigate...";
/// Legacy's failure e-mail.
pub const MAIL_SUBJECT: &str = "FAILED TO TAKE BACKUP";
pub const MAIL_BODY: &str = "I haven't been able to take a database backup, please investigate";

/// Everything one run needs, as plain values.
pub struct Plan {
    /// `<H>`.
    pub home: PathBuf,
    /// What legacy hard-codes as `/tmp` (manual archives).
    pub tmp: PathBuf,
    pub period: Period,
    pub id: String,
    pub url: Url,
    pub gen: &'static Generation,
    pub conn: Connection,
    /// Settings IPMASK (scrubbed to `YYYYYYYYYY`).
    pub ipmask: String,
    /// The machine's settings, typed: DISABLEHOURLY and SUPERSAFEDB decide the copies.
    pub mode: Mode,
    /// Legacy: 10 MiB (`ADT_DB_PART_BYTES` for tests).
    pub part_size: u64,
}

/// How a run ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    /// Fewer tables than legacy's gate: nothing taken (legacy logs and exits 0).
    NoTables(usize),
    /// The archive was made and every copy the settings ask for is in place.
    Backed {
        archive: PathBuf,
        /// The repository pushed to, if any.
        repo: Option<String>,
        /// The datastore bucket written, if any.
        bucket: Option<String>,
        /// The manual archive written, if any.
        manual: Option<PathBuf>,
    },
}

/// Where the copies go: the git provider (none when the settings name none and no push is
/// due), and the datastore per bucket.
pub struct Targets<'a> {
    pub git: Option<&'a dyn GitProvider>,
    pub store_for_bucket: &'a dyn Fn(&str) -> Result<Box<dyn Backend>>,
    /// Asked before anything is replaced: whether this run still holds the fleet lock.
    pub still_ours: &'a dyn Fn() -> bool,
    /// A legacy log line to MonitoringLog.dat.
    pub log: &'a dyn Fn(&str),
}

fn io(p: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(p.display(), e)
}

/// A private (0700) directory, emptied first.
fn fresh_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))
}

/// The staging directories' prefix in `<H>/backups`, followed by the run's process id.
const STAGING: &str = ".adt-staging-";

/// Remove what a killed run left (its option file or PGPASSFILE among it): staging directories
/// whose process is gone.
fn remove_stale_staging(backups: &Path) {
    let Ok(rd) = std::fs::read_dir(backups) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name
            .strip_prefix(STAGING)
            .and_then(|p| p.parse::<i32>().ok())
        {
            if pid != std::process::id() as i32 && !crate::process::is_alive(pid) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A run's private staging directory `<H>/backups/.adt-staging-<pid>` (what dead runs left
/// removed first), removed however the run ends.
pub(super) struct Staging(PathBuf);

impl Staging {
    pub(super) fn create(backups: &Path) -> Result<Staging> {
        remove_stale_staging(backups);
        let dir = backups.join(format!("{STAGING}{}", std::process::id()));
        fresh_private_dir(&dir)?;
        Ok(Staging(dir))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Take the backup. `Err` when any copy could not be made; each copy that failed still holds
/// its previous good version (the others hold the new one).
pub fn run(plan: &Plan, t: &Targets) -> Result<Done> {
    let backups = plan.home.join("backups");
    std::fs::create_dir_all(&backups).map_err(io(&backups))?;
    let staging = Staging::create(&backups)?;
    let stage_dir = staging.path().to_path_buf();
    (t.log)(LOG_START);
    let started = std::time::Instant::now();

    let tables = database::count_tables(&plan.conn, &stage_dir)?;
    log::debug!(
        "db backup: {tables} tables counted at {:?}",
        started.elapsed()
    );
    if !database::enough_tables(tables) {
        (t.log)(LOG_NO_TABLES);
        return Ok(Done::NoTables(tables));
    }

    // The dump, framed and scrubbed, then its archive: both checked before anything else.
    let scrub = Scrubber::for_backup(
        &plan.conn.user,
        &plan.ipmask,
        plan.conn.engine == database::Engine::MySql,
    );
    let object = names::db_object(&plan.url);
    let tarball = stage_dir.join(&object);
    dump::dump_archive(&plan.conn, &stage_dir, &tarball, scrub).map_err(|e| e.context("dump"))?;
    log::debug!(
        "db backup: dumped and compressed at {:?}",
        started.elapsed()
    );
    // Listed back (gzip's checksum checked on the way) while the copies are prepared; nothing
    // is replaced until it has passed.
    let verified = std::thread::scope(|s| {
        let check = s.spawn(|| archive::verify(&tarball));
        let prepared = prepare(plan, &stage_dir, &tarball);
        let checked = check
            .join()
            .unwrap_or_else(|_| Err(Error::Io("the archive check panicked".into())));
        checked.and(prepared)
    });
    let prepared = verified?;
    log::debug!(
        "db backup: archive listed back, repository tree committed at {:?}",
        started.elapsed()
    );

    let skip_hourly = !plan.mode.backup_copies(plan.period == Period::Hourly);
    let mut failures: Vec<Error> = Vec::new();
    let mut repo = None;
    let mut bucket = None;
    let mut manual = None;
    if skip_hourly {
        (t.log)(LOG_SKIP_REPO);
        (t.log)(LOG_SKIP_HOURLY);
    } else if plan.period == Period::Manual {
        let dir = plan.tmp.join(names::MANUAL_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let dest = dir.join(names::manual_db_archive(&plan.url, &plan.id));
        copy_atomic(&tarball, &dest)?;
        manual = Some(dest);
    } else if let Some(tree) = &prepared {
        let name = names::db_repo(&plan.url, plan.period, &plan.id);
        match push(t, tree, &name) {
            Ok(()) => repo = Some(name),
            Err(e) => failures.push(e.context(format!("git repository {name}"))),
        }
    }
    if plan
        .mode
        .backup_datastore_copy(plan.period == Period::Hourly)
    {
        let b = names::db_bucket(plan.gen, &plan.url, plan.period, None);
        let put = (|| {
            if !(t.still_ours)() {
                return Err(Error::Conflict(
                    "the backup lock is no longer ours: not replacing the datastore copy".into(),
                ));
            }
            let store = (t.store_for_bucket)(&b)?;
            safecopy::put_rotated(store.as_ref(), &object, &tarball)
        })();
        match put {
            Ok(()) => bucket = Some(b),
            Err(e) => failures.push(e.context(format!("datastore copy {b}/{object}"))),
        }
    }
    log::debug!("db backup: copies made at {:?}", started.elapsed());
    if failures.len() > 1 {
        let all: Vec<String> = failures.iter().map(|e| e.to_string()).collect();
        return Err(Error::Remote(all.join("; ")));
    }
    if let Some(e) = failures.pop() {
        return Err(e);
    }

    // Only now does the new archive replace the one legacy leaves in <H>/backups.
    let kept = backups.join(&object);
    std::fs::rename(&tarball, &kept).map_err(io(&kept))?;
    Ok(Done::Backed {
        archive: kept,
        repo,
        bucket,
        manual,
    })
}

/// What the push needs, made before it: the repository's tree in the staging directory and
/// the commit of it in the persistent git directory.
struct Prepared {
    git_dir: PathBuf,
    commit: String,
}

/// The repository's tree (`.gitattributes`, the archive, `<p>/<name>-db-NN`) written and
/// committed (one orphan commit), when this period gets a repository copy.
fn prepare(plan: &Plan, stage_dir: &Path, tarball: &Path) -> Result<Option<Prepared>> {
    let skip_hourly = !plan.mode.backup_copies(plan.period == Period::Hourly);
    if skip_hourly || plan.period == Period::Manual {
        return Ok(None);
    }
    let attributes = stage_dir.join(".gitattributes");
    std::fs::write(&attributes, GITATTRIBUTES).map_err(io(&attributes))?;
    let prefix = format!("{}-db-", plan.url.name);
    let period_dir = plan.period.lower();
    let parts = archive::split(tarball, &stage_dir.join("parts"), &prefix, plan.part_size)?;
    let mut files = vec![
        (".gitattributes".to_string(), attributes),
        (names::db_object(&plan.url), tarball.to_path_buf()),
    ];
    for p in parts {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        files.push((format!("{period_dir}/{name}"), p));
    }
    let state = plan.home.join(".adt-rs").join("backup-db-git");
    let git_dir = git::open_state(&state)?;
    // The blobs are gzip data, new every run: no delta search (it cost seconds and 100 MB).
    git::run_git(
        git::git(&state).arg("--git-dir").arg(&git_dir).args([
            "config",
            "core.bigFileThreshold",
            "1m",
        ]),
        "cannot configure the backup's git directory",
    )?;
    let tree_id = git::tree_of_files(&git_dir, &files)?;
    let repo = names::db_repo(&plan.url, plan.period, &plan.id);
    let commit = git::commit_orphan(&git_dir, &tree_id, &repo)?;
    Ok(Some(Prepared { git_dir, commit }))
}

/// The prepared commit force-pushed to the period's repository (created when missing), and
/// verified by reading the remote's `master` back.
fn push(t: &Targets, p: &Prepared, repo: &str) -> Result<()> {
    let provider = t.git.ok_or_else(|| {
        Error::Config("APPLICATIONREPOSITORYPROVIDER names no git provider".into())
    })?;
    provider.ensure_repo(repo)?;
    if !(t.still_ours)() {
        return Err(Error::Conflict(
            "the backup lock is no longer ours: not pushing".into(),
        ));
    }
    let creds = provider.credentials();
    git::push_verified(
        &p.git_dir,
        &provider.remote_url(repo),
        creds.as_ref(),
        &p.commit,
    )
}

/// Copy a file so the destination is either the old file or the whole new one.
fn copy_atomic(src: &Path, dest: &Path) -> Result<()> {
    let mut t = crate::fsutil::TempFile::new(dest, Some(0o600))?;
    let mut f = std::fs::File::open(src).map_err(io(src))?;
    std::io::copy(&mut f, t.file()).map_err(io(dest))?;
    t.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitattributes_are_what_git_lfs_track_writes() {
        let lines: Vec<&str> = GITATTRIBUTES.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("*tar* "));
        assert!(lines[1].starts_with("*db* "));
    }
}
