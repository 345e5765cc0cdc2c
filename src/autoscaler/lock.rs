//! The autoscalers' lock: one autoscaler scales at a time, through a lock object in the
//! datastore (`adt-locks/autoscaling`, 30-minute expiry, taken with a conditional create and
//! verified, renewed while held). Legacy had no lock between autoscalers.
//!
//! The conditional create is trusted only on a bucket that enforces conditional writes
//! ([`crate::datastore::conditional`], probed once a day per bucket). Elsewhere (a store that
//! ignores `If-None-Match`, or refuses conditional writes) the lock object is taken by a plain
//! write when absent or expired, then verified: best effort, since two autoscalers that see it
//! free at the same instant can both write it (the later write wins the verification).

use crate::datastore::conditional::conditional_writes;
use crate::datastore::{Backend, Precondition};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const LOCK_KEY: &str = "adt-locks/autoscaling";
pub const LOCK_TTL: u64 = 30 * 60;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The expiry written in a lock object (`<holder> <expiry>`); 0 when unreadable.
fn expiry_of(b: &[u8]) -> u64 {
    String::from_utf8_lossy(b)
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

/// Take the lock with plain writes, for stores whose conditions cannot be trusted: write our
/// token when the lock is absent or expired (the caller verifies).
fn take_without_conditions(store: &dyn Backend, token: &str) -> Result<bool> {
    match store.get_bytes(LOCK_KEY) {
        Ok(b) if expiry_of(&b) >= now() => Ok(false),
        Ok(_) | Err(Error::NotFound(_)) => {
            store.put_bytes(LOCK_KEY, token.as_bytes())?;
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// The autoscalers' lock object. Ok(Some(token)) when this process holds it. `home` keeps the
/// remembered verdict on the bucket's conditional writes.
pub fn acquire_lock(store: &dyn Backend, home: &Path, holder: &str) -> Result<Option<String>> {
    let token = format!("{holder} {}", now() + LOCK_TTL);
    let taken = if !conditional_writes(store, home)?.enforced() {
        take_without_conditions(store, &token)?
    } else {
        match store.put_conditional(LOCK_KEY, token.as_bytes(), &Precondition::IfAbsent) {
            Ok(true) => true,
            Ok(false) => take_without_conditions(store, &token)?,
            Err(Error::Conflict(_)) => {
                // Held: take it over only if it expired (conditionally, against that version).
                match store.get_versioned(LOCK_KEY)? {
                    Some((b, v)) => {
                        expiry_of(&b) < now()
                            && matches!(
                                store.put_conditional(
                                    LOCK_KEY,
                                    token.as_bytes(),
                                    &Precondition::IfMatch(v)
                                ),
                                Ok(true)
                            )
                    }
                    None => false,
                }
            }
            Err(e) => return Err(e),
        }
    };
    if !taken {
        return Ok(None);
    }
    // Verify after the other writers' requests have landed: on stores whose conditional create
    // is not atomic, both may have "succeeded"; only the one whose token is there holds it.
    std::thread::sleep(Duration::from_millis(300));
    let now_there = store.get_bytes(LOCK_KEY).unwrap_or_default();
    Ok((now_there == token.as_bytes()).then_some(token))
}

/// Extend a held lock by another TTL, conditionally against the version that holds our token
/// (with a plain write where the bucket does not enforce conditions). Returns the new token,
/// or None when the lock is no longer ours (it expired and was taken).
pub fn renew_lock(store: &dyn Backend, home: &Path, token: &str) -> Result<Option<String>> {
    let holder = token.rsplit_once(' ').map(|(h, _)| h).unwrap_or(token);
    match store.get_versioned(LOCK_KEY)? {
        Some((b, v)) if b == token.as_bytes() => {
            let new = format!("{holder} {}", now() + LOCK_TTL);
            if !conditional_writes(store, home)?.enforced() {
                store.put_bytes(LOCK_KEY, new.as_bytes())?;
                return Ok(Some(new));
            }
            match store.put_conditional(LOCK_KEY, new.as_bytes(), &Precondition::IfMatch(v)) {
                Ok(true) => Ok(Some(new)),
                Ok(false) => {
                    store.put_bytes(LOCK_KEY, new.as_bytes())?;
                    Ok(Some(new))
                }
                Err(Error::Conflict(_)) => Ok(None),
                Err(e) => Err(e),
            }
        }
        _ => Ok(None),
    }
}

/// Keep renewing the lock (every `ADT_LOCK_RENEW_SECS`, default 300) while `work` runs, so a
/// long build on a real cloud never outlives it; then release it.
pub fn holding_lock<T>(
    store: &dyn Backend,
    home: &Path,
    token: String,
    work: impl FnOnce() -> T,
) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let every = Duration::from_secs(crate::knobs::env_u64("ADT_LOCK_RENEW_SECS", 300).max(1));
    let current = std::sync::Mutex::new(Some(token));
    let done = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = std::time::Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                if last.elapsed() < every {
                    continue;
                }
                last = std::time::Instant::now();
                let mut t = current.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(tok) = t.clone() {
                    if let Ok(renewed) = renew_lock(store, home, &tok) {
                        *t = renewed;
                    }
                }
            }
        });
        let out = work();
        done.store(true, Ordering::SeqCst);
        out
    });
    if let Some(t) = current.lock().unwrap_or_else(|e| e.into_inner()).take() {
        release_lock(store, &t);
    }
    out
}

pub fn release_lock(store: &dyn Backend, token: &str) {
    if store
        .get_bytes(LOCK_KEY)
        .map(|b| b == token.as_bytes())
        .unwrap_or(false)
    {
        let _ = store.delete(LOCK_KEY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::conditional::tests::IgnoresConditions;
    use crate::datastore::local::LocalStore;

    fn expiry(store: &dyn Backend) -> u64 {
        String::from_utf8(store.get_bytes(LOCK_KEY).unwrap())
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn the_lock_is_renewed_only_by_its_holder_and_released() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let home = dir.path().join("home");
        let store = LocalStore::new(dir.path(), "b");
        let token = acquire_lock(&store, &home, "as1")
            .unwrap()
            .expect("free lock taken");
        assert!(
            acquire_lock(&store, &home, "as2").unwrap().is_none(),
            "held"
        );
        // Wind the expiry back, as if the holder had been building for a while.
        let old = format!("as1 {}", now() + 5);
        store.put_bytes(LOCK_KEY, old.as_bytes()).unwrap();
        assert!(
            renew_lock(&store, &home, &token).unwrap().is_none(),
            "stale token"
        );
        let new = renew_lock(&store, &home, &old).unwrap().expect("renewed");
        assert!(new.starts_with("as1 "));
        assert!(expiry(&store) >= now() + LOCK_TTL - 1);
        // The renewer hands the latest token to the release.
        std::env::set_var("ADT_LOCK_RENEW_SECS", "1");
        let seen = holding_lock(&store, &home, new.clone(), || {
            std::thread::sleep(Duration::from_millis(1500));
            String::from_utf8(store.get_bytes(LOCK_KEY).unwrap()).unwrap()
        });
        assert!(
            seen.starts_with("as1 ") && seen != new,
            "renewed while held: {seen}"
        );
        assert!(!store.any_with_prefix(LOCK_KEY).unwrap(), "released");
    }

    #[test]
    fn a_store_that_ignores_conditions_gets_the_lock_object_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = IgnoresConditions::new(&dir.path().join("store"));
        let token = acquire_lock(&store, &home, "as1")
            .unwrap()
            .expect("free lock taken");
        // Were the ignored If-None-Match trusted, as2 would "create" the held lock over as1's.
        assert!(
            acquire_lock(&store, &home, "as2").unwrap().is_none(),
            "held"
        );
        assert_eq!(store.get_bytes(LOCK_KEY).unwrap(), token.as_bytes());
        let renewed = renew_lock(&store, &home, &token).unwrap().expect("renewed");
        // An expired lock is taken over.
        store
            .put_bytes(LOCK_KEY, format!("as1 {}", now() - 1).as_bytes())
            .unwrap();
        let t2 = acquire_lock(&store, &home, "as2")
            .unwrap()
            .expect("expired");
        assert!(t2.starts_with("as2 "));
        assert!(renew_lock(&store, &home, &renewed).unwrap().is_none());
        release_lock(&store, &t2);
        assert!(!store.any_with_prefix(LOCK_KEY).unwrap(), "released");
        // No conditional write was trusted outside the probe; the lock was written plainly.
        assert_eq!(store.conditional_outside_probe(), Vec::<String>::new());
        assert!(store.plain.lock().unwrap().iter().any(|k| k == LOCK_KEY));
    }
}
