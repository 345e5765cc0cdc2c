//! The 2025 generation's database backup: DB `application/backupscripts/Backup.sh <P>` and the
//! `providerscripts/database/BackupDatabase.sh` it runs (wintersys-projects/adt-database-scripts
//! b9ed9e1, spec §1.11), called by `cron/BackupFromCron.sh '<P>'` and by
//! `utilities/housekeeping/ShutdownThisDatabase.sh` (`Backup.sh "shutdown"`).
//!
//! What is made, under the names the 2025 restore (`application/db/InstallApplicationDB.sh`:
//! Get `<url->-db-<choice>/<name>-DB-backup.tar.gz`, untar, take `applicationDB.sql` or
//! `applicationDB.psql`, check that its last line names `zzzz`, brand, import) reads:
//! - the archive `<name>-DB-backup.tar.gz` with one member, `applicationDB.sql` (MySQL/MariaDB)
//!   or `applicationDB.psql` (PostgreSQL): the consistent dump with the 2025 flags
//!   ([`dump::Profile::Legacy2025`]: `--skip-lock-tables --single-transaction --hex-blob
//!   --routines --triggers --force -y`, `--ssl`), filtered and scrubbed as 2025 does
//!   ([`Scrubber::for_backup_2025`]: no `SQL_LOG_BIN`, `INNODB_STATS_AUTO_RECALC` or
//!   `GTID_PURGED` statements, `http://` → `https://`, the DB user → `XXXXXXXXXX`, IPMASK →
//!   `YYYYYYYYYY`, table collations to `utf8mb4_unicode_ci`), framed as 2025 frames it (MySQL:
//!   `SET SESSION sql_require_primary_key = 0;` and ``DROP TABLE IF EXISTS `zzzz`;`` first,
//!   the `zzzz` drop and create, `CHARSET=utf8mb4`, last; PostgreSQL: the `public.zzzz` drop
//!   and create last), compressed while it streams;
//! - in the period's bucket `<url->-db-<p>` (`-<CLOUDHOST>` appended in a secondary region:
//!   `MULTIREGION:1`, `PRIMARYREGION:0`) of every S3 account of the machine (one per
//!   `|`-separated S3ACCESSKEY), the previous archive kept as `.BACKUP`. No git.
//!
//! Legacy's messages: the usage line and `Invalid periodicity passed to backup script` on
//! stdout (status 0), silence before `INSTALLED_SUCCESSFULLY`, and on any failure the mail
//! `<p> database backup FAILED` / `A database backup has failed (inconsistent or non existent
//! backup)...` (the command layer sends it; legacy skipped it for a `virgin` build by a test of
//! `BUILD_ARCHIVE_CHOICE`, a variable it never set, having read `BUILDARCHIVECHOICE` into
//! `BUILD_ARCHIVCE_CHOICE`: so it always mailed, and so do we).
//!
//! Differences from legacy (each a §6 fix):
//! - legacy deleted `.BACKUP` and moved the current archive there before the upload, so a
//!   failed dump or upload left no current archive (the only name the restore reads); here
//!   the archive is complete, and each account's copy is uploaded to a temporary key (all
//!   accounts at once, while the archive is listed back), verified (size, MD5) and rotated in
//!   only once the archive has listed back cleanly and the fleet lock is still ours, else
//!   discarded ([`super::safecopy::upload`]);
//! - legacy piped the dump through `sed`, so `$?` was sed's: a failed or killed dump shipped
//!   a truncated file; here the dump tool must exit 0 with its end marker;
//! - legacy's check downloaded the archive over the local one (the same path) and compared the
//!   file with itself; here the stored copy is checked against the local archive;
//! - the password is in an option file / PGPASSFILE, never on argv (legacy: `-p<password>`,
//!   `PGPASSWORD`); no `sudo -su postgres pg_dump` fallback;
//! - fewer than four tables is a failure (mail, status 1, previous archive kept; legacy moved
//!   the previous archive to `.BACKUP`, put nothing and mailed); the table gate applies to
//!   PostgreSQL too;
//! - only whole period words (legacy's `grep` let `day` through as a substring and made a
//!   bucket `<url->-db-day`);
//! - `--ssl` for a server on this machine without TLS: MariaDB's `mariadb-dump --ssl` uses TLS
//!   when the server offers it and dumps in the clear over this machine's own address when it
//!   does not (as legacy's did); MySQL's `mysqldump` gets `--ssl-mode=REQUIRED` for a managed
//!   database only and `PREFERRED` for this machine's server (legacy required it, which fails
//!   against a server without TLS);
//! - nothing is printed on success (legacy's stdout carried tar's listing and dated lines);
//!   nothing uncompressed, no credential, is left in `<H>/backups`.

use super::names::{self, Url};
use super::period::Period;
use super::safecopy;
use super::webroot2025::{self, StoresFor, INVALID_PERIOD, PERIODS};
use crate::config;
use crate::database::{self, archive, dump, scrub::Scrubber, Connection, Engine};
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::layout::Generation;
use std::path::{Path, PathBuf};

/// Backup.sh's line when the period is missing.
pub const USAGE: &str = "This script requires the <Build periodicity> parameter to be set\n";
/// The config datastore key that gates every backup.
pub const INSTALLED: &str = "INSTALLED_SUCCESSFULLY";

/// Legacy's mail after a failed backup, for period `p`.
pub fn failure_mail(p: &str) -> (String, &'static str) {
    (
        format!("{p} database backup FAILED"),
        "A database backup has failed (inconsistent or non existent backup)...",
    )
}

/// What a run needs, read from the machine.
pub struct Inputs<'a> {
    pub home: PathBuf,
    pub gen: &'static Generation,
    pub settings: String,
    pub period: Period,
    /// The application database's connection (built only past the gates: it runs GetIP.sh).
    pub connection: &'a dyn Fn() -> Result<Connection>,
}

/// How a run ended, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    /// Not installed yet: legacy exits silently.
    NotInstalled,
    /// The archive is in `bucket` as `object` in every account.
    Backed {
        bucket: String,
        object: String,
        accounts: usize,
    },
}

fn io(p: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(p.display(), e)
}

/// Whether the settings name a managed database (its TLS is required).
fn managed(settings: &str) -> bool {
    config::check_value(settings, "DATABASEINSTALLATIONTYPE:DBaaS") == "1\n"
}

/// Take the 2025 database backup for one period. `store` is the config datastore;
/// `stores_for_bucket` opens a backup bucket in every S3 account; `still_ours` is asked before
/// anything is replaced. `Err` when any account's copy could not be made (each such account
/// keeps its previous archive).
pub fn run(
    store: &dyn Backend,
    stores_for_bucket: &StoresFor,
    inputs: &Inputs,
    still_ours: &dyn Fn() -> bool,
) -> Result<Done> {
    if !store.any_with_prefix(INSTALLED)? {
        return Ok(Done::NotInstalled);
    }
    let p = inputs.period;
    if !PERIODS.contains(&p) {
        return Err(Error::Usage(INVALID_PERIOD.into()));
    }
    let website = config::value(&inputs.settings, "WEBSITEURL").unwrap_or_default();
    if website.is_empty() {
        return Err(Error::Config("WEBSITEURL is not set".into()));
    }
    let url = Url::parse(&website);
    let bucket = names::db_bucket(
        inputs.gen,
        &url,
        p,
        webroot2025::region_suffix(&inputs.settings).as_deref(),
    );
    let object = names::db_object(&url);

    let backups = inputs.home.join("backups");
    std::fs::create_dir_all(&backups).map_err(io(&backups))?;
    // One run at a time on this machine (an hourly run and a daily one started together).
    let state = inputs.home.join(".adt-rs");
    std::fs::create_dir_all(&state).map_err(io(&state))?;
    let _local = crate::fsutil::Lock::exclusive(&state.join("backup-db-2025.lock"))?;
    let stage = super::database::Staging::create(&backups)?;

    let conn = (inputs.connection)()?;
    let tables = database::count_tables(&conn, stage.path())?;
    if !database::enough_tables(tables) {
        return Err(Error::Io(format!(
            "Failed to backup database, it seems like the tables are not there ({tables} in {})",
            conn.name
        )));
    }
    let ipmask = config::value(&inputs.settings, "IPMASK").unwrap_or_default();
    let scrub = Scrubber::for_backup_2025(&conn.user, &ipmask, conn.engine == Engine::MySql);
    let profile = dump::Profile::Legacy2025 {
        tls_required: managed(&inputs.settings),
    };
    let tarball = stage.path().join(&object);
    dump::dump_archive_as(&conn, stage.path(), &tarball, scrub, profile)
        .map_err(|e| e.context("dump"))?;
    let member = profile.member(conn.engine);

    let stores = stores_for_bucket(&bucket)?;
    // Every account at once (independent stores, often of different providers), while the
    // archive is listed back: each upload goes to a temporary key and is rotated in only once
    // the archive has passed and the fleet lock is still ours; otherwise it is discarded.
    let (checked, uploads) = std::thread::scope(|s| {
        let check = s.spawn(|| archive::verify_member(&tarball, member));
        let uploads: Vec<_> = stores
            .iter()
            .map(|dest| {
                let (object, tarball) = (&object, &tarball);
                s.spawn(move || safecopy::upload(dest.as_ref(), object, tarball))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Io("an upload thread panicked".into())))
            })
            .collect::<Vec<_>>();
        let checked = check
            .join()
            .unwrap_or_else(|_| Err(Error::Io("the archive check panicked".into())));
        (checked, uploads)
    });
    let refused = match checked {
        Err(e) => Some(e),
        Ok(()) if !still_ours() => Some(Error::Conflict(
            "the fleet backup lock was lost before the backup could be replaced".into(),
        )),
        Ok(()) => None,
    };
    if let Some(e) = refused {
        uploads.into_iter().flatten().for_each(|u| u.discard());
        return Err(e.context("the previous backup is kept"));
    }
    let failures: Vec<String> = std::thread::scope(|s| {
        let rotations: Vec<_> = stores
            .iter()
            .zip(uploads)
            .map(|(dest, up)| {
                let object = &object;
                s.spawn(move || {
                    up.and_then(|u| u.rotate())
                        .map_err(|e| format!("{}/{object}: {e}", dest.describe()))
                })
            })
            .collect();
        rotations
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(r) => r.err(),
                Err(_) => Some("a rotation thread panicked".to_string()),
            })
            .collect()
    });
    if failures.is_empty() {
        Ok(Done::Backed {
            bucket,
            object,
            accounts: stores.len(),
        })
    } else {
        Err(Error::Remote(format!(
            "database backup failed, the previous backup is kept: {}",
            failures.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;

    #[test]
    fn gates_before_anything_is_touched() {
        let d = tempfile::tempdir().unwrap();
        let config = LocalStore::new(&d.path().join("s1"), "config");
        config.create_bucket().unwrap();
        let opened = std::cell::Cell::new(0);
        let open = |_: &str| -> Result<Vec<Box<dyn Backend>>> {
            opened.set(opened.get() + 1);
            Ok(vec![])
        };
        let connected = std::cell::Cell::new(0);
        let connection = || -> Result<Connection> {
            connected.set(connected.get() + 1);
            Err(Error::Config("no database here".into()))
        };
        let mut inputs = Inputs {
            home: d.path().join("home"),
            gen: &crate::layout::G2025,
            settings: "WEBSITEURL:www.example.com\n".into(),
            period: webroot2025::period("daily"),
            connection: &connection,
        };
        assert_eq!(
            run(&config, &open, &inputs, &|| true).unwrap(),
            Done::NotInstalled
        );
        config.put_bytes(INSTALLED, b"").unwrap();
        inputs.period = webroot2025::period("manual");
        assert!(run(&config, &open, &inputs, &|| true)
            .unwrap_err()
            .to_string()
            .contains(INVALID_PERIOD));
        inputs.period = webroot2025::period("Shutdown");
        assert!(run(&config, &open, &inputs, &|| true)
            .unwrap_err()
            .to_string()
            .contains("no database here"));
        assert_eq!((opened.get(), connected.get()), (0, 1));
        // No staging directory is left behind.
        let left: Vec<_> = std::fs::read_dir(d.path().join("home/backups"))
            .unwrap()
            .collect();
        assert!(left.is_empty());
        assert_eq!(failure_mail("daily").0, "daily database backup FAILED");
    }
}
