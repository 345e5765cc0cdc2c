//! The autoscalers' lock: one autoscaler scales at a time, through a lock object in the
//! datastore (`adt-locks/autoscaling`, taken with a conditional create and verified). Legacy had
//! no lock between autoscalers.
//!
//! The object reads `<machine>/<pid>/<boot id> <expiry>`: its holder is known. The expiry is
//! short (3 minutes, `ADT_LOCK_TTL_SECS`) and renewed every 30 s (`ADT_LOCK_RENEW_SECS`) while
//! the holder works; a lock whose holder is provably dead (same machine and boot, no process
//! with its id) is taken over at once, and an expired one by anyone; release is retried. A
//! stale lock so costs at most its expiry, and nothing at all on the machine where its holder
//! died.
//!
//! The conditional create is trusted only on a bucket that enforces conditional writes
//! ([`crate::datastore::conditional`], probed once a day per bucket). Elsewhere (a store that
//! ignores `If-None-Match`, or refuses conditional writes) the lock object is taken by a plain
//! write when absent, expired or held by a dead owner, then verified: best effort, since two
//! autoscalers that see it free at the same instant can both write it (the later write wins the
//! verification).

use crate::datastore::conditional::{conditional_writes, put_if};
use crate::datastore::{Backend, Precondition};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const LOCK_KEY: &str = "adt-locks/autoscaling";
pub const LOCK_TTL: u64 = 3 * 60;

/// The lock's expiry in seconds (`ADT_LOCK_TTL_SECS`, default [`LOCK_TTL`]).
pub fn lock_ttl() -> u64 {
    crate::knobs::env_u64("ADT_LOCK_TTL_SECS", LOCK_TTL).max(1)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The expiry written in a lock object (`<holder> <expiry>`); 0 when unreadable.
fn expiry_of(b: &[u8]) -> u64 {
    lock_expiry(&String::from_utf8_lossy(b))
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
    let token = format!("{holder} {}", now() + lock_ttl());
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
            let new = format!("{holder} {}", now() + lock_ttl());
            if !conditional_writes(store, home)?.enforced() {
                store.put_bytes(LOCK_KEY, new.as_bytes())?;
                return Ok(Some(new));
            }
            Ok(put_if(store, LOCK_KEY, new.as_bytes(), &Precondition::IfMatch(v))?.then_some(new))
        }
        _ => Ok(None),
    }
}

/// Keep renewing the lock (every `ADT_LOCK_RENEW_SECS`, default 30) while `work` runs, so a
/// long build on a real cloud never outlives it; then release it.
pub fn holding_lock<T>(
    store: &dyn Backend,
    home: &Path,
    token: String,
    work: impl FnOnce() -> T,
) -> T {
    holding_lock_checked(store, home, token, |_| work())
}

/// As [`holding_lock`], and `work` can ask whether the lock is still surely its own: not taken
/// over, and renewed (or taken) less than its expiry ago, so no other autoscaler can have taken
/// it meanwhile. A run asks before it destroys anything.
pub fn holding_lock_checked<T>(
    store: &dyn Backend,
    home: &Path,
    token: String,
    work: impl FnOnce(&dyn Fn() -> bool) -> T,
) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;
    let every = Duration::from_secs(crate::knobs::env_u64("ADT_LOCK_RENEW_SECS", 30).max(1));
    let ttl = Duration::from_secs(lock_ttl());
    let current = std::sync::Mutex::new(Some(token));
    let renewed_at = std::sync::Mutex::new(Instant::now());
    let done = AtomicBool::new(false);
    let held = || {
        let ours = current.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        let fresh = renewed_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            < ttl.saturating_sub(Duration::from_secs(5));
        ours && fresh
    };
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                if last.elapsed() < every {
                    continue;
                }
                last = Instant::now();
                let mut t = current.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(tok) = t.clone() {
                    if let Ok(renewed) = renew_lock(store, home, &tok) {
                        if renewed.is_some() {
                            *renewed_at.lock().unwrap_or_else(|e| e.into_inner()) = last;
                        }
                        *t = renewed;
                    }
                }
            }
        });
        let out = work(&held);
        done.store(true, Ordering::SeqCst);
        out
    });
    if let Some(t) = current.lock().unwrap_or_else(|e| e.into_inner()).take() {
        release_lock(store, &t);
    }
    out
}

/// Release a held lock: retried (4 tries over about 7 s) while the datastore fails; a lock that
/// is no longer ours is left alone. Returns whether the lock is known to be gone from us.
pub fn release_lock(store: &dyn Backend, token: &str) -> bool {
    for attempt in 0..4u32 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_secs(1 << (attempt - 1)));
        }
        match store.get_bytes(LOCK_KEY) {
            Ok(b) if b == token.as_bytes() => {
                if store.delete(LOCK_KEY).is_ok() {
                    return true;
                }
            }
            Ok(_) | Err(Error::NotFound(_)) => return true,
            Err(_) => {}
        }
    }
    false
}

/// A lock's holder: the machine (its hostname), the process, and the boot (the kernel's
/// `/proc/sys/kernel/random/boot_id`), written as `<machine>/<pid>/<boot id>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub machine: String,
    pub pid: i32,
    pub boot: String,
}

fn proc_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        Owner {
            machine: proc_line("/proc/sys/kernel/hostname").replace(['/', ' '], "_"),
            pid: i32::try_from(std::process::id()).unwrap_or(0),
            boot: proc_line("/proc/sys/kernel/random/boot_id").replace(['/', ' '], "_"),
        }
    }

    pub fn holder(&self) -> String {
        format!("{}/{}/{}", self.machine, self.pid, self.boot)
    }

    /// The owner named by a lock object's text (`<machine>/<pid>/<boot> <expiry>`).
    pub fn of_lock(text: &str) -> Option<Owner> {
        let holder = text.split_whitespace().next()?;
        let mut p = holder.split('/');
        let (machine, pid, boot) = (p.next()?, p.next()?, p.next()?);
        if p.next().is_some() || boot.is_empty() {
            return None;
        }
        Some(Owner {
            machine: machine.into(),
            pid: pid.parse().ok()?,
            boot: boot.into(),
        })
    }

    /// Provably dead: it ran on this machine in this boot, and no process has its id now.
    pub fn provably_dead(&self) -> bool {
        let me = Owner::me();
        !me.boot.is_empty()
            && self.machine == me.machine
            && self.boot == me.boot
            && !crate::process::is_alive(self.pid)
    }
}

fn lock_expiry(text: &str) -> u64 {
    text.split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

/// Take the lock as `owner`: free, expired, or held by an owner that is provably dead.
pub fn acquire_owned_lock(
    store: &dyn Backend,
    home: &Path,
    owner: &Owner,
) -> Result<Option<String>> {
    if let Some(t) = acquire_lock(store, home, &owner.holder())? {
        return Ok(Some(t));
    }
    take_over_stale_lock(store, home, owner)
}

/// Take over a lock whose holder is provably dead, or that expired (also on stores without
/// conditional writes, where [`acquire_lock`] cannot): conditionally against the version that
/// was judged stale, then verified as a fresh take is.
pub fn take_over_stale_lock(
    store: &dyn Backend,
    home: &Path,
    owner: &Owner,
) -> Result<Option<String>> {
    let Some((b, v)) = store.get_versioned(LOCK_KEY)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    let dead = Owner::of_lock(&text).is_some_and(|o| o.provably_dead());
    if !dead && lock_expiry(&text) >= now() {
        return Ok(None);
    }
    let token = format!("{} {}", owner.holder(), now() + lock_ttl());
    let cond = if conditional_writes(store, home)?.enforced() {
        store.put_conditional(LOCK_KEY, token.as_bytes(), &Precondition::IfMatch(v))
    } else {
        Ok(false)
    };
    match cond {
        Ok(true) => {}
        Ok(false) => {
            // No conditional writes: only if it is still the stale object we read.
            if store.get_bytes(LOCK_KEY).ok().as_deref() != Some(b.as_slice()) {
                return Ok(None);
            }
            store.put_bytes(LOCK_KEY, token.as_bytes())?;
        }
        Err(Error::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    }
    std::thread::sleep(Duration::from_millis(300));
    let now_there = store.get_bytes(LOCK_KEY).unwrap_or_default();
    Ok((now_there == token.as_bytes()).then_some(token))
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
        let store = LocalStore::new(dir.path(), "b");
        let token = acquire_lock(&store, dir.path(), "as1")
            .unwrap()
            .expect("free lock taken");
        assert!(
            acquire_lock(&store, dir.path(), "as2").unwrap().is_none(),
            "held"
        );
        // Wind the expiry back, as if the holder had been building for a while.
        let old = format!("as1 {}", now() + 5);
        store.put_bytes(LOCK_KEY, old.as_bytes()).unwrap();
        assert!(
            renew_lock(&store, dir.path(), &token).unwrap().is_none(),
            "stale token"
        );
        let new = renew_lock(&store, dir.path(), &old)
            .unwrap()
            .expect("renewed");
        assert!(new.starts_with("as1 "));
        assert!(expiry(&store) >= now() + LOCK_TTL - 1);
        // The renewer hands the latest token to the release.
        std::env::set_var("ADT_LOCK_RENEW_SECS", "1");
        let seen = holding_lock(&store, dir.path(), new.clone(), || {
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
    fn work_learns_that_its_lock_was_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let store = LocalStore::new(dir.path(), "b");
        std::env::set_var("ADT_LOCK_RENEW_SECS", "1");
        let me = Owner::me();
        let token = acquire_owned_lock(&store, dir.path(), &me)
            .unwrap()
            .expect("free");
        let (before, after) = holding_lock_checked(&store, dir.path(), token, |held| {
            let before = held();
            store
                .put_bytes(LOCK_KEY, format!("other/1/x {}", now() + 600).as_bytes())
                .unwrap();
            std::thread::sleep(Duration::from_millis(1600));
            (before, held())
        });
        assert!(before && !after, "{before} {after}");
        assert!(
            store.any_with_prefix(LOCK_KEY).unwrap(),
            "the other holder's lock is left alone"
        );
    }

    #[test]
    fn a_dead_holder_on_this_machine_loses_the_lock_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b")).unwrap();
        let store = LocalStore::new(dir.path(), "b");
        let me = Owner::me();
        assert_eq!(
            Owner::of_lock(&format!("{} 5", me.holder())),
            Some(me.clone())
        );
        // A child that has exited: its pid names no process.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = i32::try_from(child.id()).unwrap();
        child.wait().unwrap();
        let far = now() + 3600;
        let dead = Owner {
            pid: dead_pid,
            ..me.clone()
        };
        assert!(dead.provably_dead() && !me.provably_dead());
        store
            .put_bytes(LOCK_KEY, format!("{} {far}", dead.holder()).as_bytes())
            .unwrap();
        let t = acquire_owned_lock(&store, dir.path(), &me)
            .unwrap()
            .expect("taken over");
        assert!(t.starts_with(&me.holder()));
        // Alive (this process), or on another boot or machine: only its expiry frees it.
        for other in [
            me.clone(),
            Owner {
                boot: "another-boot".into(),
                ..dead.clone()
            },
            Owner {
                machine: "elsewhere".into(),
                ..dead.clone()
            },
        ] {
            store
                .put_bytes(LOCK_KEY, format!("{} {far}", other.holder()).as_bytes())
                .unwrap();
            assert!(
                acquire_owned_lock(&store, dir.path(), &me)
                    .unwrap()
                    .is_none(),
                "{other:?}"
            );
            store
                .put_bytes(
                    LOCK_KEY,
                    format!("{} {}", other.holder(), now() - 1).as_bytes(),
                )
                .unwrap();
            assert!(
                acquire_owned_lock(&store, dir.path(), &me)
                    .unwrap()
                    .is_some(),
                "expired {other:?}"
            );
        }
        // The legacy holder form, unexpired: held.
        store
            .put_bytes(LOCK_KEY, format!("/home/x-12 {far}").as_bytes())
            .unwrap();
        assert!(acquire_owned_lock(&store, dir.path(), &me)
            .unwrap()
            .is_none());
        assert!(release_lock(&store, "not ours"));
        assert!(store.any_with_prefix(LOCK_KEY).unwrap(), "not ours: kept");
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
