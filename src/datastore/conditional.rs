//! Whether a bucket really enforces conditional writes, found out once and remembered.
//!
//! The autoscalers' lock (`adt-locks/autoscaling`) and the scaling profile's safe write rest on
//! two S3 conditions: `If-None-Match: *` (create only if absent) and `If-Match: <ETag>` (write
//! only over the version that was read). Some S3-compatible stores accept both headers and
//! write anyway (Garage does); a caller that trusted them there would have no lock at all.
//!
//! [`probe`] checks a bucket on a key of its own, `adt-locks/.cas-probe-<random>`, removed
//! afterwards: a create on a new key must succeed, `If-None-Match: *` on the now existing key
//! must be refused, an `If-Match` with a stale ETag must be refused and one with the current
//! ETag must succeed. [`conditional_writes`] runs it at most once per
//! `ADT_CONDWRITE_PROBE_SECS` (default a day) per endpoint and bucket, remembering the verdict
//! in `<home>/.adt-rs/conditional-writes`; when a bucket does not enforce the conditions it says
//! so on stderr, once per such period, and the callers take their lock-object fallback.
//!
//! A backend that knows the answer by construction says so ([`Backend::conditional_writes`]):
//! the local backend evaluates conditions itself under a `flock`, so it is never probed.

use super::{Backend, Precondition, Version};
use crate::error::{Error, Result};
use crate::fsutil;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a bucket does with conditional writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CondWrites {
    /// A stale `If-Match` and `If-None-Match: *` on an existing key are refused (412).
    Enforced,
    /// A write whose condition did not hold was accepted: the store ignores the headers.
    Ignored,
    /// The store refuses conditional writes (501), gives no usable ETags, or refuses a write
    /// whose condition held.
    Unsupported,
}

impl CondWrites {
    pub fn enforced(self) -> bool {
        self == CondWrites::Enforced
    }

    fn word(self) -> &'static str {
        match self {
            CondWrites::Enforced => "enforced",
            CondWrites::Ignored => "ignored",
            CondWrites::Unsupported => "unsupported",
        }
    }

    fn from_word(w: &str) -> Option<CondWrites> {
        match w {
            "enforced" => Some(CondWrites::Enforced),
            "ignored" => Some(CondWrites::Ignored),
            "unsupported" => Some(CondWrites::Unsupported),
            _ => None,
        }
    }
}

/// The prefix of the probe's keys (under the lock objects' prefix, which no caller lists).
pub const PROBE_PREFIX: &str = "adt-locks/.cas-probe-";

/// The remembered verdicts, one line each: `<unix time> <verdict> <endpoint and bucket>`.
pub const CACHE_FILE: &str = "conditional-writes";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 64 random bits for the probe key (the kernel's, else time and pid).
fn random_suffix() -> String {
    let mut b = [0u8; 8];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok();
    if !ok {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0) as u64;
        b = (t ^ ((std::process::id() as u64) << 32)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The current version of `key`; a store without ETags gives an empty one.
fn version(store: &dyn Backend, key: &str) -> Result<Option<Version>> {
    Ok(store.get_versioned(key)?.map(|(_, v)| v))
}

/// What a conditional write that must be refused did.
fn must_refuse(r: Result<bool>) -> Result<Option<CondWrites>> {
    match r {
        Err(Error::Conflict(_)) => Ok(None),
        Ok(true) => Ok(Some(CondWrites::Ignored)),
        Ok(false) => Ok(Some(CondWrites::Unsupported)),
        Err(e) => Err(e),
    }
}

/// What a conditional write that must succeed did.
fn must_accept(r: Result<bool>) -> Result<Option<CondWrites>> {
    match r {
        Ok(true) => Ok(None),
        Ok(false) | Err(Error::Conflict(_)) => Ok(Some(CondWrites::Unsupported)),
        Err(e) => Err(e),
    }
}

fn probe_key(store: &dyn Backend, key: &str) -> Result<CondWrites> {
    macro_rules! step {
        ($e:expr) => {
            if let Some(verdict) = $e? {
                return Ok(verdict);
            }
        };
    }
    step!(must_accept(store.put_conditional(
        key,
        b"1",
        &Precondition::IfAbsent
    )));
    let Some(first) = version(store, key)?.filter(|v| !v.0.is_empty()) else {
        return Ok(CondWrites::Unsupported);
    };
    step!(must_refuse(store.put_conditional(
        key,
        b"2",
        &Precondition::IfAbsent
    )));
    store.put_bytes(key, b"3")?;
    let Some(second) = version(store, key)?.filter(|v| !v.0.is_empty() && *v != first) else {
        return Ok(CondWrites::Unsupported);
    };
    step!(must_refuse(store.put_conditional(
        key,
        b"4",
        &Precondition::IfMatch(first)
    )));
    step!(must_accept(store.put_conditional(
        key,
        b"5",
        &Precondition::IfMatch(second)
    )));
    Ok(CondWrites::Enforced)
}

/// Check the bucket now, on a fresh key that is deleted again whatever happens. An error means
/// the store could not be asked (unreachable, no bucket), not that it failed the check.
pub fn probe(store: &dyn Backend) -> Result<CondWrites> {
    let key = format!("{PROBE_PREFIX}{}", random_suffix());
    let verdict = probe_key(store, &key);
    if let Err(e) = store.delete(&key) {
        log::debug!("could not remove the probe object {key}: {e}");
    }
    log::debug!("conditional writes on {}: {verdict:?}", store.identity());
    verdict
}

/// How long a verdict is trusted, in seconds.
fn max_age() -> u64 {
    crate::knobs::env_u64("ADT_CONDWRITE_PROBE_SECS", 24 * 60 * 60)
}

fn cached(text: &str, identity: &str, at: u64) -> Option<CondWrites> {
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, ' ');
        let (t, w, id) = (f.next()?, f.next()?, f.next()?);
        let t: u64 = t.parse().ok()?;
        (id == identity && t <= at && at - t < max_age())
            .then(|| CondWrites::from_word(w))
            .flatten()
    })
}

/// Write `data` to `key` if `cond` holds, for a caller that has found the bucket's conditions
/// enforced: `Ok(true)` written, `Ok(false)` the condition no longer held (another writer's
/// version is there). A store that refuses to evaluate conditions gets a plain write.
pub fn put_if(store: &dyn Backend, key: &str, data: &[u8], cond: &Precondition) -> Result<bool> {
    match store.put_conditional(key, data, cond) {
        Ok(true) => Ok(true),
        Ok(false) => {
            store.put_bytes(key, data)?;
            Ok(true)
        }
        Err(Error::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether conditional writes on this bucket can be trusted: what the backend knows by
/// construction, else the remembered verdict for its endpoint and bucket, else a fresh
/// [`probe`] (remembered under `home`). A bucket that does not enforce them is named on stderr
/// when it is probed, so once per period.
pub fn conditional_writes(store: &dyn Backend, home: &Path) -> Result<CondWrites> {
    if let Some(known) = store.conditional_writes() {
        return Ok(known);
    }
    let identity = store.identity();
    let file = home.join(".adt-rs").join(CACHE_FILE);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let at = now();
    if let Some(v) = cached(&text, &identity, at) {
        return Ok(v);
    }
    let verdict = probe(store)?;
    if !verdict.enforced() {
        eprintln!(
            "adt: {identity} does not enforce conditional writes ({}: If-None-Match/If-Match); \
             locks and the scaling profile use best-effort lock objects there",
            verdict.word()
        );
    }
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.splitn(3, ' ').nth(2) != Some(identity.as_str()))
        .map(str::to_string)
        .collect();
    lines.push(format!("{at} {} {identity}", verdict.word()));
    let remembered = std::fs::create_dir_all(home.join(".adt-rs"))
        .map_err(|e| Error::io(home.join(".adt-rs").display(), e))
        .and_then(|()| fsutil::write_atomic(&file, (lines.join("\n") + "\n").as_bytes(), None));
    if let Err(e) = remembered {
        log::debug!("cannot remember the conditional-write verdict: {e}");
    }
    Ok(verdict)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;
    use crate::datastore::{Listing, ObjectInfo};
    use std::sync::Mutex;

    /// A store that accepts every conditional write as if the condition held and writes
    /// unconditionally, as Garage does; it records the keys of the conditional writes it was
    /// asked for and of the plain writes.
    pub struct IgnoresConditions {
        pub inner: LocalStore,
        pub conditional: Mutex<Vec<String>>,
        pub plain: Mutex<Vec<String>>,
    }

    impl IgnoresConditions {
        pub fn new(root: &Path) -> IgnoresConditions {
            std::fs::create_dir_all(root.join("b")).unwrap();
            IgnoresConditions {
                inner: LocalStore::new(root, "b"),
                conditional: Mutex::new(Vec::new()),
                plain: Mutex::new(Vec::new()),
            }
        }

        /// The conditional writes asked for outside the probe.
        pub fn conditional_outside_probe(&self) -> Vec<String> {
            let c = self.conditional.lock().unwrap();
            c.iter()
                .filter(|k| !k.starts_with(PROBE_PREFIX))
                .cloned()
                .collect()
        }
    }

    impl Backend for IgnoresConditions {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn identity(&self) -> String {
            format!("ignoring {}", self.inner.describe())
        }
        fn conditional_writes(&self) -> Option<CondWrites> {
            None
        }
        fn bucket_name(&self) -> &str {
            self.inner.bucket_name()
        }
        fn bucket_exists(&self) -> Result<bool> {
            self.inner.bucket_exists()
        }
        fn create_bucket(&self) -> Result<()> {
            self.inner.create_bucket()
        }
        fn put_bytes(&self, key: &str, data: &[u8]) -> Result<()> {
            self.plain.lock().unwrap().push(key.to_string());
            self.inner.put_bytes(key, data)
        }
        fn put_file(&self, key: &str, path: &Path) -> Result<()> {
            self.plain.lock().unwrap().push(key.to_string());
            self.inner.put_file(key, path)
        }
        fn get_to_file(&self, key: &str, dest: &Path) -> Result<u64> {
            self.inner.get_to_file(key, dest)
        }
        fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
            self.inner.get_bytes(key)
        }
        fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>> {
            self.inner.get_versioned(key)
        }
        fn put_conditional(&self, key: &str, data: &[u8], _: &Precondition) -> Result<bool> {
            self.conditional.lock().unwrap().push(key.to_string());
            self.inner.put_bytes(key, data)?;
            Ok(true)
        }
        fn list(&self, prefix: &str, delimited: bool) -> Result<Listing> {
            self.inner.list(prefix, delimited)
        }
        fn any_with_prefix(&self, prefix: &str) -> Result<bool> {
            self.inner.any_with_prefix(prefix)
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.inner.delete(key)
        }
    }

    fn objects(store: &dyn Backend) -> Vec<ObjectInfo> {
        store.list("", false).unwrap().objects
    }

    #[test]
    fn a_store_that_ignores_conditions_is_found_out_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = IgnoresConditions::new(&dir.path().join("store"));
        assert_eq!(probe(&store).unwrap(), CondWrites::Ignored);
        assert!(objects(&store).is_empty(), "the probe cleans up");

        let home = dir.path().join("home");
        assert_eq!(
            conditional_writes(&store, &home).unwrap(),
            CondWrites::Ignored
        );
        let asked = store.conditional.lock().unwrap().len();
        // Remembered: asked again, the store is not probed again.
        assert_eq!(
            conditional_writes(&store, &home).unwrap(),
            CondWrites::Ignored
        );
        assert_eq!(store.conditional.lock().unwrap().len(), asked);
        let text = std::fs::read_to_string(home.join(".adt-rs").join(CACHE_FILE)).unwrap();
        assert!(text.contains(" ignored ignoring local:"), "{text}");
    }

    #[test]
    fn real_stores_enforce() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let store = LocalStore::new(dir.path(), "b");
        assert_eq!(probe(&store).unwrap(), CondWrites::Enforced);
        assert!(objects(&store).is_empty(), "the probe cleans up");
        assert!(!dir.path().join("b/adt-locks").exists());
        // Known by construction: no probe, nothing remembered.
        let home = dir.path().join("home");
        assert_eq!(
            conditional_writes(&store, &home).unwrap(),
            CondWrites::Enforced
        );
        assert!(!home.exists());
    }

    #[test]
    fn verdicts_expire_and_are_kept_per_bucket() {
        let text = "100 ignored s3://b1 at http://a\n200 enforced s3://b2 at http://a\n";
        assert_eq!(
            cached(text, "s3://b1 at http://a", 150),
            Some(CondWrites::Ignored)
        );
        assert_eq!(
            cached(text, "s3://b2 at http://a", 250),
            Some(CondWrites::Enforced)
        );
        assert_eq!(cached(text, "s3://b3 at http://a", 250), None);
        assert_eq!(
            cached(text, "s3://b1 at http://a", 100 + 86_400),
            None,
            "expired"
        );
        assert_eq!(
            cached(text, "s3://b1 at http://a", 50),
            None,
            "from the future"
        );
    }

    #[test]
    fn an_unreachable_store_is_an_error_not_a_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "missing-bucket");
        assert!(matches!(probe(&store), Err(Error::NoBucket(_))));
    }
}
