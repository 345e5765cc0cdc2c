//! The config bucket reset done once per build, before any server is built: the build
//! machine's `providerscripts/datastore/PurgeDatastore.sh` (2022), the config-bucket part of
//! `initscripts/InitialiseDatastoreConfig.sh` and `InitialiseUniqueConfigDatastore.sh` (2025),
//! and `adt datastore reset` for operators.
//!
//! The bucket is always computed from the build's WEBSITEURL (and, in 2025, SERVERUSER) by the
//! generation's rule; [`check_bucket`] refuses any other name an operator gives (a backup
//! bucket `<url->-<period>`, an asset bucket, the config bucket of a mistyped URL), saying
//! what the name looks like and which bucket this build owns. A reset empties the bucket (the
//! bucket itself is kept, as legacy) or creates it when it is missing; the keys go in batches
//! ([`Backend::delete_many`]: S3 DeleteObjects, 1000 keys a call).
//!
//! Differences from legacy:
//! - an empty or malformed WEBSITEURL is refused (legacy computed `-config` and purged that);
//! - 2025: legacy removed (`rb`) every bucket whose name contains `<url->-config`, those of
//!   earlier builds (another SERVERUSER) included; we empty exactly this build's bucket and
//!   name the others in a note, untouched. The credentials probe bucket `1<pid>agile` and the
//!   authenticator buckets are not part of this reset.

use super::Backend;
use crate::error::{Error, Result};
use crate::layout::{BucketRule, Generation};

/// Backup periods: the suffix of a backup bucket `<url->-<period>`.
pub const PERIODS: [&str; 6] = [
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "bimonthly",
    "manual",
];

/// A website URL as the toolkit needs it: two or more labels of letters, digits and `-`, no
/// label empty or starting/ending with `-`. Anything else is almost certainly a typo, and its
/// bucket is not this build's.
pub fn validate_url(url: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Usage(format!("website URL {url:?} {why}")));
    if url.is_empty() {
        return bad("is empty");
    }
    let labels: Vec<&str> = url.split('.').collect();
    if labels.len() < 2 {
        return bad("has a single label (expected a host name such as www.example.com)");
    }
    for l in &labels {
        if l.is_empty() {
            return bad("has an empty label");
        }
        if !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return bad("has characters other than letters, digits, '-' and '.'");
        }
        if l.starts_with('-') || l.ends_with('-') {
            return bad("has a label starting or ending with '-'");
        }
    }
    Ok(())
}

/// This build's config bucket, by the generation's rule.
pub fn expected_bucket(gen: &Generation, url: &str, server_user: &str) -> Result<String> {
    validate_url(url)?;
    if gen.bucket_rule == BucketRule::DashedWithUser && server_user.trim().is_empty() {
        return Err(Error::Config(format!(
            "SERVERUSER is empty: generation {} names the config bucket <url->-config-<first 4 of SERVERUSER>",
            gen.name
        )));
    }
    Ok(gen.config_bucket(url, server_user))
}

/// What a bucket name looks like, for a refusal.
pub fn kind_of(name: &str) -> &'static str {
    let last = name.rsplit('-').next().unwrap_or("");
    if PERIODS.contains(&last) || name.contains("-db-") {
        "a backup bucket (<url->-<period>); backups are never reset"
    } else if name.starts_with("authip-") {
        "an access-list bucket (authip-…)"
    } else if name.ends_with("-config") || name.contains("-config-") {
        "the config bucket of another website or build (a mistyped URL?)"
    } else if name.contains("-backup-") {
        "a copy of an asset bucket (<…>-backup-<pid>)"
    } else {
        "not a config bucket (an asset bucket <prefix>-<assettype>, or another website's)"
    }
}

/// Refuse any bucket but `expected`.
pub fn check_bucket(expected: &str, named: &str, url: &str) -> Result<()> {
    if named == expected {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to reset bucket {named:?}: it is {}; this build's config bucket (from WEBSITEURL {url}) is {expected}",
        kind_of(named)
    )))
}

/// What a reset finds, and so what it will do.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub bucket: String,
    /// Whether the bucket exists (a missing one is created).
    pub exists: bool,
    /// Every key in it, in listing order (all of them go).
    pub keys: Vec<String>,
}

/// Look at the bucket: does it exist, and what is in it.
pub fn plan(store: &dyn Backend) -> Result<Plan> {
    let bucket = store.bucket_name().to_string();
    if !store.bucket_exists()? {
        return Ok(Plan {
            bucket,
            exists: false,
            keys: Vec::new(),
        });
    }
    let keys = store
        .list("", false)?
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect();
    Ok(Plan {
        bucket,
        exists: true,
        keys,
    })
}

/// What a reset did.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    Created,
    Emptied(usize),
    AlreadyEmpty,
}

/// Carry out a plan: create the bucket when it is missing, else delete every key it held.
/// Keys written after [`plan`] listed the bucket survive; a caller that must see it empty lists
/// again (the build machine resets before any server exists, so nothing writes meanwhile).
pub fn apply(store: &dyn Backend, plan: &Plan) -> Result<Done> {
    if !plan.exists {
        store.create_bucket()?;
        return Ok(Done::Created);
    }
    if plan.keys.is_empty() {
        return Ok(Done::AlreadyEmpty);
    }
    let n = store.delete_many(&plan.keys)?;
    Ok(Done::Emptied(n))
}

/// The other config buckets of this website in the account (2025: earlier builds' buckets,
/// `<url->-config-<other user>`), which legacy removed and we leave alone.
pub fn other_config_buckets(store: &dyn Backend, url: &str, expected: &str) -> Result<Vec<String>> {
    let stem = format!("{}-config", url.replace('.', "-"));
    Ok(store
        .list_buckets()?
        .into_iter()
        .filter(|b| b.contains(&stem) && b != expected)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{G2022, G2025};

    #[test]
    fn urls() {
        assert!(validate_url("www.example.com").is_ok());
        assert!(validate_url("example.com").is_ok());
        assert!(validate_url("shop.my-site.co.uk").is_ok());
        for bad in [
            "",
            "example",
            "www..example.com",
            "www.exa mple.com",
            "-a.b",
            "a.b/",
            "a.b-",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expected_buckets() {
        assert_eq!(
            expected_bucket(&G2022, "www.example.com", "").unwrap(),
            "wwwexacom-config"
        );
        assert_eq!(
            expected_bucket(&G2025, "www.example.com", "X9fKqwer").unwrap(),
            "www-example-com-config-x9fk"
        );
        let e = expected_bucket(&G2025, "www.example.com", "").unwrap_err();
        assert!(e.to_string().contains("SERVERUSER is empty"), "{e}");
    }

    #[test]
    fn other_buckets_are_refused_with_what_they_look_like() {
        let exp = "wwwexacom-config";
        assert!(check_bucket(exp, exp, "www.example.com").is_ok());
        for (name, says) in [
            ("www-example-com-daily", "backup bucket"),
            ("www-example-com-db-hourly", "backup bucket"),
            ("wwwexacom-assets", "asset bucket"),
            ("wwwexamcom-config", "mistyped URL"),
            ("www-example-com-config-x9fk", "another website or build"),
            ("authip-acme1", "access-list"),
            ("wwwexacom-assets-backup-123", "copy of an asset bucket"),
        ] {
            let e = check_bucket(exp, name, "www.example.com")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(says) && e.contains(exp) && e.contains(name),
                "{e}"
            );
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_reset_empties_or_creates() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::local::LocalStore::new(dir.path(), "wwwexacom-config");
        let p = plan(&store).unwrap();
        assert!(!p.exists);
        assert_eq!(apply(&store, &p).unwrap(), Done::Created);
        assert!(store.bucket_exists().unwrap());
        assert_eq!(
            apply(&store, &plan(&store).unwrap()).unwrap(),
            Done::AlreadyEmpty
        );
        store.put_bytes("webserverips/10.0.0.5", b"").unwrap();
        store.put_bytes("backuplock.file", b"").unwrap();
        let p = plan(&store).unwrap();
        assert_eq!(p.keys.len(), 2);
        assert_eq!(apply(&store, &p).unwrap(), Done::Emptied(2));
        assert!(store.list("", false).unwrap().objects.is_empty());
        assert!(store.bucket_exists().unwrap(), "the bucket is kept");
    }
}
