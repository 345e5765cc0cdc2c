//! The autoscalers' lock: one autoscaler scales at a time, through a lock object in the
//! datastore (`adt-locks/autoscaling`, 30-minute expiry, taken with a conditional create and
//! verified, renewed while held). Legacy had no lock between autoscalers.

use crate::datastore::{Backend, Precondition};
use crate::error::{Error, Result};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const LOCK_KEY: &str = "adt-locks/autoscaling";
pub const LOCK_TTL: u64 = 30 * 60;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The autoscalers' lock object. Ok(Some(token)) when this process holds it.
pub fn acquire_lock(store: &dyn Backend, holder: &str) -> Result<Option<String>> {
    let token = format!("{holder} {}", now() + LOCK_TTL);
    let taken = match store.put_conditional(LOCK_KEY, token.as_bytes(), &Precondition::IfAbsent) {
        Ok(true) => true,
        Ok(false) => {
            // No conditional writes: best effort (write, then verify below).
            if store.any_with_prefix(LOCK_KEY)? {
                false
            } else {
                store.put_bytes(LOCK_KEY, token.as_bytes())?;
                true
            }
        }
        Err(Error::Conflict(_)) => {
            // Held: take it over only if it expired (conditionally, against that version).
            match store.get_versioned(LOCK_KEY)? {
                Some((b, v)) => {
                    let exp: u64 = String::from_utf8_lossy(&b)
                        .split_whitespace()
                        .nth(1)
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0);
                    exp < now()
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

/// Extend a held lock by another TTL, conditionally against the version that holds our token.
/// Returns the new token, or None when the lock is no longer ours (it expired and was taken).
pub fn renew_lock(store: &dyn Backend, token: &str) -> Result<Option<String>> {
    let holder = token.rsplit_once(' ').map(|(h, _)| h).unwrap_or(token);
    match store.get_versioned(LOCK_KEY)? {
        Some((b, v)) if b == token.as_bytes() => {
            let new = format!("{holder} {}", now() + LOCK_TTL);
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
pub fn holding_lock<T>(store: &dyn Backend, token: String, work: impl FnOnce() -> T) -> T {
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
                    if let Ok(renewed) = renew_lock(store, &tok) {
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
        let store = LocalStore::new(dir.path(), "b");
        let token = acquire_lock(&store, "as1")
            .unwrap()
            .expect("free lock taken");
        assert!(acquire_lock(&store, "as2").unwrap().is_none(), "held");
        // Wind the expiry back, as if the holder had been building for a while.
        let old = format!("as1 {}", now() + 5);
        store.put_bytes(LOCK_KEY, old.as_bytes()).unwrap();
        assert!(renew_lock(&store, &token).unwrap().is_none(), "stale token");
        let new = renew_lock(&store, &old).unwrap().expect("renewed");
        assert!(new.starts_with("as1 "));
        assert!(expiry(&store) >= now() + LOCK_TTL - 1);
        // The renewer hands the latest token to the release.
        std::env::set_var("ADT_LOCK_RENEW_SECS", "1");
        let seen = holding_lock(&store, new.clone(), || {
            std::thread::sleep(Duration::from_millis(1500));
            String::from_utf8(store.get_bytes(LOCK_KEY).unwrap()).unwrap()
        });
        assert!(
            seen.starts_with("as1 ") && seen != new,
            "renewed while held: {seen}"
        );
        assert!(!store.any_with_prefix(LOCK_KEY).unwrap(), "released");
    }
}
