//! Every name a temporal backup is stored under (spec §1.3, 2025: §1.11), from the website URL,
//! the period and the build identifier. Restore scripts of both generations find backups only
//! by these names, so they are kept byte for byte.
//!
//! `<sub>` is the URL's first `.`-label and `<name>` its second (`www.example.com` → `www`,
//! `example`; `example.com` → `example`, `com`); `<url->` is the URL with every `.` turned into
//! `-`; `<p>` is the period's lower-case form (empty for an unknown word, giving `--`).

use super::period::Period;
use crate::layout::{BackupNaming, Generation};

/// The parts of WEBSITEURL names are made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub sub: String,
    pub name: String,
    pub dashed: String,
}

impl Url {
    pub fn parse(website_url: &str) -> Url {
        let mut labels = website_url.split('.');
        Url {
            sub: labels.next().unwrap_or("").to_string(),
            name: labels.next().unwrap_or("").to_string(),
            dashed: website_url.replace('.', "-"),
        }
    }
}

/// The object of the webroot's datastore copy.
pub const WEBROOT_OBJECT: &str = "applicationsourcecode.tar.gz";
/// The suffix of the previous generation of a datastore copy.
pub const PREVIOUS_SUFFIX: &str = ".BACKUP";
/// The directory every member of the webroot's datastore archive is under (absolute names).
pub const ARCHIVE_ROOT: &str = "/tmp/backup";
/// Where manual archives are left for the build machine's `scp`.
pub const MANUAL_DIR: &str = "backup_archive";

/// `<sub>-<name>-webroot-sourcecode-<p>-<id>`
pub fn webroot_repo(url: &Url, p: Period, id: &str) -> String {
    format!(
        "{}-{}-webroot-sourcecode-{}-{id}",
        url.sub,
        url.name,
        p.lower()
    )
}

/// `<sub>-<name>-db-<p>-<id>`
pub fn db_repo(url: &Url, p: Period, id: &str) -> String {
    format!("{}-{}-db-{}-{id}", url.sub, url.name, p.lower())
}

/// The webroot's datastore bucket: `<url->-<p>` (2025: the same; `-<cloudhost>` appended in a
/// secondary region).
pub fn webroot_bucket(
    gen: &Generation,
    url: &Url,
    p: Period,
    region_suffix: Option<&str>,
) -> String {
    let base = format!("{}-{}", url.dashed, p.lower());
    match (gen.backups, region_suffix) {
        (BackupNaming::SingleBucket2025, Some(s)) if !s.is_empty() => format!("{base}-{s}"),
        _ => base,
    }
}

/// The database's datastore bucket: `<url->-db-<p>`; 2025 appends `-<cloudhost>` in a
/// secondary region, as its webroot bucket does. (Spec §1.11 puts the 2025 database archive in
/// the webroot's bucket `<url->-<p>`; the 2025 scripts, backup and restore alike, use
/// `<url->-db-<p>`: wintersys-projects/adt-database-scripts b9ed9e1
/// `application/backupscripts/Backup.sh` and `application/db/InstallApplicationDB.sh`. The
/// scripts win.)
pub fn db_bucket(gen: &Generation, url: &Url, p: Period, region_suffix: Option<&str>) -> String {
    let base = format!("{}-db-{}", url.dashed, p.lower());
    match (gen.backups, region_suffix) {
        (BackupNaming::SingleBucket2025, Some(s)) if !s.is_empty() => format!("{base}-{s}"),
        _ => base,
    }
}

/// `<name>-DB-backup.tar.gz`
pub fn db_object(url: &Url) -> String {
    format!("{}-DB-backup.tar.gz", url.name)
}

/// `<name>-db-NN`: the 10 MiB parts of the DB tarball in the DB repository (under `<p>/`).
pub fn db_part(url: &Url, n: usize) -> String {
    format!("{}-db-{n:02}", url.name)
}

/// The manual webroot archive's file name: `backup<repo>.tar.gz` (the glued `backup` is legacy's).
pub fn manual_webroot_archive(url: &Url, id: &str) -> String {
    format!("backup{}.tar.gz", webroot_repo(url, Period::Manual, id))
}

/// The manual database archive's file name: `<repo>.tar.gz`.
pub fn manual_db_archive(url: &Url, id: &str) -> String {
    format!("{}.tar.gz", db_repo(url, Period::Manual, id))
}

/// The fleet-wide lock key of the webroot backups.
pub fn webroot_lock_key(gen: &Generation) -> &'static str {
    match gen.backups {
        BackupNaming::Repos2022 => "backuplock.file",
        BackupNaming::SingleBucket2025 => "BACKUP_RUNNING",
    }
}

/// The fleet-wide lock key of the database backups.
pub fn db_lock_key(gen: &Generation) -> &'static str {
    match gen.backups {
        BackupNaming::Repos2022 => "dbbackuplock.file",
        BackupNaming::SingleBucket2025 => "DB_BACKUP_RUNNING",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{G2022, G2025};

    #[test]
    fn the_legacy_names() {
        let u = Url::parse("www.example.com");
        assert_eq!(
            webroot_repo(&u, Period::Daily, "acme1"),
            "www-example-webroot-sourcecode-daily-acme1"
        );
        assert_eq!(
            db_repo(&u, Period::Daily, "acme1"),
            "www-example-db-daily-acme1"
        );
        assert_eq!(
            webroot_bucket(&G2022, &u, Period::Daily, None),
            "www-example-com-daily"
        );
        assert_eq!(
            db_bucket(&G2022, &u, Period::Daily, None),
            "www-example-com-db-daily"
        );
        assert_eq!(db_object(&u), "example-DB-backup.tar.gz");
        assert_eq!(db_part(&u, 3), "example-db-03");
        assert_eq!(
            manual_webroot_archive(&u, "acme1"),
            "backupwww-example-webroot-sourcecode-manual-acme1.tar.gz"
        );
        assert_eq!(
            manual_db_archive(&u, "acme1"),
            "www-example-db-manual-acme1.tar.gz"
        );
        assert_eq!(
            webroot_repo(&u, Period::parse("daily"), "acme1"),
            "www-example-webroot-sourcecode--acme1"
        );
        let two = Url::parse("example.com");
        assert_eq!((two.sub.as_str(), two.name.as_str()), ("example", "com"));
        assert_eq!(webroot_lock_key(&G2022), "backuplock.file");
        assert_eq!(db_lock_key(&G2022), "dbbackuplock.file");
    }

    #[test]
    fn the_2025_names() {
        let u = Url::parse("www.example.com");
        assert_eq!(
            db_bucket(&G2025, &u, Period::Weekly, None),
            "www-example-com-db-weekly"
        );
        assert_eq!(
            db_bucket(&G2025, &u, Period::Shutdown, Some("linode")),
            "www-example-com-db-shutdown-linode"
        );
        assert_eq!(
            db_bucket(&G2022, &u, Period::Weekly, Some("linode")),
            "www-example-com-db-weekly"
        );
        assert_eq!(
            webroot_bucket(&G2025, &u, Period::Weekly, Some("linode")),
            "www-example-com-weekly-linode"
        );
        assert_eq!(webroot_lock_key(&G2025), "BACKUP_RUNNING");
        assert_eq!(db_lock_key(&G2025), "DB_BACKUP_RUNNING");
    }
}
