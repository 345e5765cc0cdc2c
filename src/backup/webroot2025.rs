//! The 2025 generation's webroot backup: legacy WS `application/backupscripts/Backup.sh <P>`
//! with its `VerifyBackupPresent.sh` (spec §1.11; wintersys-projects/adt-webserver-scripts).
//!
//! What is made, by the 2025 names ([`super::names`], from the generation data): one archive
//! `applicationsourcecode.tar.gz` in the period's bucket `<url->-<p>` (`-<CLOUDHOST>` appended
//! on a secondary region), written to every S3 account of the machine, the previous one kept as
//! `.BACKUP`. Its members have relative names (`./…`, as legacy's `tar` of `.` gives), top-level
//! dot files included, and the sentinel `XXXXXX-DO_NOT_REMOVE` that the restore side checks.
//! No git repository and no placeholders (2025 backs the webroot up as it is, minus the
//! application's configuration file and what `EXCLUDE_FROM_BACKUP` in `runtime/application.dat`
//! names). On success legacy's `Backup has been made to your datastore` mail goes out.
//!
//! The mirror, the archive members and the verified put are the 2022 backup's
//! ([`super::webroot`], [`super::safecopy`]): a run after a small change re-reads and
//! re-compresses only what changed, and on S3 copies the unchanged stretches in the store.
//!
//! Differences from legacy (each a §6 fix):
//! - legacy deleted `.BACKUP` and moved the current archive there before the upload (a failed
//!   upload left no archive); here the new one is uploaded, verified, then rotated;
//! - legacy read `MULTI_REGION` (the settings key is `MULTIREGION`), so a secondary region wrote
//!   over the primary's archive; here `MULTIREGION:1` with `PRIMARYREGION:0` gives the suffix;
//! - legacy's `find . -name ".*" -exec tar cvfz … {} +` archived the dot files twice and could
//!   run tar more than once over the same archive; here each path is archived once;
//! - legacy's check downloaded and untarred the whole archive to find the sentinel; here the
//!   upload is verified by size and MD5 before the rotation (the sentinel is in the archive all
//!   the same);
//! - a webroot that is not ready is refused (exit 1) instead of being skipped silently.
//! - legacy skipped the upload when the stored archive was younger than 300 s ("made by another
//!   webserver"); here that holds only for an archive this machine did not put (the fleet lock
//!   already keeps two machines apart), so a shutdown backup right after an hourly one is kept.
//!
//! The 2025 database backup is [`super::database2025`] (its own bucket `<url->-db-<p>`).

use super::names::{self, Url, WEBROOT_OBJECT};
use super::period::Period;
use super::webroot::{archive_members, check_ready, state_dir, sync_mirror, Plan, Report};
use crate::config;
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::site::Site;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;

/// The file every 2025 webroot backup carries, which the restore side looks for.
pub const SENTINEL: &str = "XXXXXX-DO_NOT_REMOVE";
/// The periods the 2025 Backup.sh accepts.
pub const PERIODS: [Period; 6] = [
    Period::Hourly,
    Period::Daily,
    Period::Weekly,
    Period::Monthly,
    Period::Bimonthly,
    Period::Shutdown,
];
/// Legacy's line for any other period.
pub const INVALID_PERIOD: &str = "Invalid periodicity passed to backup script";
/// Legacy's mail after a good backup (VerifyBackupPresent.sh).
pub const MAIL_DONE: (&str, &str) = (
    "Backup has been made to your datastore",
    "A Backup has been successfully written to your datastore",
);
/// A stored archive younger than this was just made by another webserver: nothing to do.
pub const FRESH_SECS: u64 = 300;

/// What a 2025 run needs, read from the machine.
pub struct Inputs {
    pub settings: String,
    pub webroot: std::path::PathBuf,
    pub period: Period,
    /// `runtime/application.dat` (its `EXCLUDE_FROM_BACKUP:` line).
    pub application_dat: String,
}

/// Opens a bucket in every S3 account of the machine.
pub type StoresFor<'a> = dyn Fn(&str) -> Result<Vec<Box<dyn Backend>>> + 'a;

/// The period of a 2025 argument: legacy lower-cases it.
pub fn period(word: &str) -> Period {
    Period::parse(&word.to_uppercase())
}

/// The bucket suffix of a secondary region (`MULTIREGION:1`, `PRIMARYREGION:0`): CLOUDHOST.
pub fn region_suffix(settings: &str) -> Option<String> {
    let v = |k: &str| config::value(settings, k).unwrap_or_default();
    (v("MULTIREGION") == "1" && v("PRIMARYREGION") == "0").then(|| v("CLOUDHOST"))
}

/// What is left out: the application's configuration file, the asset directories, and the
/// top-level entries `EXCLUDE_FROM_BACKUP` names.
pub fn plan(inputs: &Inputs) -> Plan {
    let settings = &inputs.settings;
    let mut excluded = BTreeSet::new();
    let app = config::value(settings, "APPLICATION")
        .unwrap_or_default()
        .to_lowercase();
    if app.contains("wordpress") {
        excluded.insert("wp-config.php".to_string());
    }
    for d in config::extract_values(settings, "DIRECTORIESTOMOUNT", true).split_whitespace() {
        excluded.insert(d.replace('.', "/"));
    }
    for l in inputs.application_dat.lines() {
        if let Some(list) = l.strip_prefix("EXCLUDE_FROM_BACKUP:") {
            for e in list.split(':').map(str::trim).filter(|e| !e.is_empty()) {
                excluded.insert(e.trim_matches('/').to_string());
            }
        }
    }
    excluded.retain(|e| !e.is_empty());
    Plan {
        roots: vec![(inputs.webroot.clone(), String::new())],
        excluded,
        wordpress: false,
        index_swap: false,
        placeholders: Default::default(),
        extra: vec![(SENTINEL.to_string(), Vec::new())],
    }
}

/// The 2025 webroot backup for one period. `store` is the config datastore;
/// `stores_for_bucket` opens a backup bucket in every S3 account of the machine.
pub fn run(
    site: &Site,
    store: &dyn Backend,
    stores_for_bucket: &StoresFor,
    inputs: &Inputs,
    still_ours: &dyn Fn() -> bool,
) -> Result<Report> {
    let mut report = Report::default();
    if !store.any_with_prefix("INSTALLED_SUCCESSFULLY")? {
        report.skipped = Some("the application is not installed yet".into());
        return Ok(report);
    }
    let p = inputs.period;
    if !PERIODS.contains(&p) {
        return Err(Error::Usage(INVALID_PERIOD.into()));
    }
    check_ready(site, &inputs.webroot)?;
    let url_text = config::value(&inputs.settings, "WEBSITEURL").unwrap_or_default();
    if url_text.is_empty() {
        return Err(Error::Config("WEBSITEURL is not set".into()));
    }
    let url = Url::parse(&url_text);
    let suffix = region_suffix(&inputs.settings);
    let bucket = names::webroot_bucket(site.gen, &url, p, suffix.as_deref());
    let state = state_dir(site);
    std::fs::create_dir_all(&state).map_err(|e| Error::io(state.display(), e))?;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(state.display(), e))?;
    let _local = crate::fsutil::Lock::exclusive(&state.join("lock"))?;
    let plan = plan(inputs);
    let mirror = state.join("tree");
    let (copied, removed) = sync_mirror(&plan, &mirror, &state.join("manifest"))?;
    report.copied = copied;
    report.removed = removed;
    let members = archive_members(&mirror, ".", &state.join("archive-parts"))?;
    let stores = stores_for_bucket(&bucket)?;
    let mut failures = Vec::new();
    for (n, dest) in stores.iter().enumerate() {
        // Legacy: an archive younger than 300 s was just made by another webserver.
        let fresh = dest.bucket_exists().unwrap_or(false)
            && dest
                .list(WEBROOT_OBJECT, false)
                .ok()
                .and_then(|l| l.objects.into_iter().find(|o| o.key == WEBROOT_OBJECT))
                .and_then(|o| o.modified)
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age.as_secs() < FRESH_SECS);
        if fresh && !state.join(format!("layout-{bucket}-{n}")).exists() {
            continue;
        }
        if !still_ours() {
            failures.push(format!(
                "{}: the fleet backup lock was lost before the backup could be replaced",
                dest.describe()
            ));
            break;
        }
        let r = super::safecopy::put_rotated_members(
            dest.as_ref(),
            WEBROOT_OBJECT,
            &members,
            &state.join(format!("layout-{bucket}-{n}")),
        );
        if let Err(e) = r {
            failures.push(format!("{}/{WEBROOT_OBJECT}: {e}", dest.describe()));
        }
    }
    if failures.is_empty() {
        report.datastore = Some(format!("{bucket}/{WEBROOT_OBJECT}"));
        site.notify(MAIL_DONE.0, MAIL_DONE.1);
        Ok(report)
    } else {
        Err(Error::Remote(format!(
            "backup failed, the previous backup is kept: {}",
            failures.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;
    use crate::home::{HomeOrigin, Machine};
    use crate::process::Run;

    fn site(home: &std::path::Path) -> Site {
        Site {
            home: home.to_path_buf(),
            machine: Machine::Webserver,
            gen: &crate::layout::G2025,
            tmp: home.join("tmp"),
            home_origin: HomeOrigin::HomedirFile,
        }
    }

    #[test]
    fn a_2025_backup_is_one_archive_in_the_period_bucket_of_every_account() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        std::fs::create_dir_all(home.join("runtime")).unwrap();
        std::fs::write(home.join("runtime/WEBSERVER_READY"), "").unwrap();
        let web = d.path().join("www/html");
        std::fs::create_dir_all(web.join("wp-content/uploads/2025")).unwrap();
        std::fs::create_dir_all(web.join("cache/x")).unwrap();
        std::fs::write(web.join("index.php"), "<?php // app").unwrap();
        std::fs::write(web.join(".htaccess"), "RewriteEngine On").unwrap();
        std::fs::write(
            web.join("wp-config.php"),
            "<?php define('DB_PASSWORD','pw');",
        )
        .unwrap();
        std::fs::write(web.join("cache/x/c"), "cached").unwrap();
        std::fs::write(web.join("wp-content/uploads/2025/a.jpg"), "asset").unwrap();
        std::fs::write(web.join("wp-content/plugin.php"), "<?php // plugin").unwrap();
        let config = LocalStore::new(&d.path().join("s1"), "config");
        config.create_bucket().unwrap();
        let a1 = LocalStore::new(&d.path().join("s1"), "www-example-com-daily");
        let a2 = LocalStore::new(&d.path().join("s2"), "www-example-com-daily");
        let open = |b: &str| -> Result<Vec<Box<dyn Backend>>> {
            assert_eq!(b, "www-example-com-daily");
            Ok(vec![
                Box::new(LocalStore::new(&d.path().join("s1"), b)),
                Box::new(LocalStore::new(&d.path().join("s2"), b)),
            ])
        };
        let inputs = Inputs {
            settings: "WEBSITEURL:www.example.com\nAPPLICATION:wordpress\nDIRECTORIESTOMOUNT:wp-content.uploads\n".into(),
            webroot: web.clone(),
            period: period("daily"),
            application_dat: "EXCLUDE_FROM_BACKUP:logs:tmp:cache:\n".into(),
        };
        let s = site(&home);
        // Not installed yet: nothing.
        let r = run(&s, &config, &open, &inputs, &|| true).unwrap();
        assert!(r.skipped.is_some());
        config.put_bytes("INSTALLED_SUCCESSFULLY", b"").unwrap();
        let r = run(&s, &config, &open, &inputs, &|| true).unwrap();
        assert_eq!(
            r.datastore.as_deref(),
            Some("www-example-com-daily/applicationsourcecode.tar.gz")
        );
        let first = a1.get_bytes(WEBROOT_OBJECT).unwrap();
        assert_eq!(
            a2.get_bytes(WEBROOT_OBJECT).unwrap(),
            first,
            "every account"
        );
        let f = d.path().join("a.tar.gz");
        std::fs::write(&f, &first).unwrap();
        let list = Run::new("tar").arg("-tzf").arg(&f).output().unwrap();
        let mut names: Vec<&str> = list.stdout.lines().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "./",
                "./.htaccess",
                "./XXXXXX-DO_NOT_REMOVE",
                "./index.php",
                "./wp-content/",
                "./wp-content/plugin.php",
            ]
        );
        // A second run: the first archive becomes .BACKUP.
        std::fs::write(web.join("index.php"), "<?php // changed").unwrap();
        run(&s, &config, &open, &inputs, &|| true).unwrap();
        assert_eq!(
            a1.get_bytes("applicationsourcecode.tar.gz.BACKUP").unwrap(),
            first
        );
        assert_ne!(a1.get_bytes(WEBROOT_OBJECT).unwrap(), first);
        // Legacy's periods only; a secondary region gets its suffix.
        let mut bad = inputs;
        bad.period = period("manual");
        assert!(run(&s, &config, &open, &bad, &|| true)
            .unwrap_err()
            .to_string()
            .contains(INVALID_PERIOD));
        assert_eq!(
            region_suffix("MULTIREGION:1\nPRIMARYREGION:0\nCLOUDHOST:linode\n").as_deref(),
            Some("linode")
        );
        assert_eq!(region_suffix("MULTI_REGION:1\nPRIMARYREGION:0\n"), None);
    }
}
