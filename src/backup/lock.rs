//! The fleet-wide backup lock (spec §1.4): the legacy keys (`backuplock.file` for webroots,
//! `dbbackuplock.file` for databases; 2025 `BACKUP_RUNNING` / `DB_BACKUP_RUNNING`, from the
//! generation data in [`super::names`]) so that legacy machines of a mixed fleet, which only
//! test whether the key exists, still keep out of our way; but taken the way the autoscalers'
//! lock is (`crate::autoscaler::lock`'s pattern): a conditional create (`If-None-Match: *`,
//! [`Precondition::IfAbsent`]) of `<machine>/<pid>/<boot> <expiry> <PERIOD>`, renewed while the
//! backup runs ([`holding`]), taken over only when expired or when its holder provably died
//! (same machine and boot, no such process), released only by its holder.
//!
//! A lock written by a legacy peer is an empty object with no owner and no expiry: it counts as
//! held until it is `ADT_BACKUP_LEGACY_LOCK_SECS` (default 4 h) old by the store's own time.
//!
//! Waiting (the choice we made, spec §6 "wait instead of skipping"): when the lock is held for
//! the *same* period (another webserver of the fleet is already backing up this period, the
//! same webroot to the same names), this run is not needed and skips, printing legacy's
//! `script already running`. When it is held for another period (the hourly run that, in
//! legacy, made the :08 daily, weekly, monthly and bimonthly runs skip), this run waits for it,
//! polling every `ADT_BACKUP_LOCK_POLL_SECS` (15 s) up to `ADT_BACKUP_LOCK_WAIT_SECS` (default
//! 3600 s; a longer wait would run into the next hourly), then gives up with a clear error
//! (non-zero exit). Whichever period comes second waits, so a long daily backup also makes the
//! next hourly wait rather than run alongside it.
//!
//! On a bucket that does not enforce conditional writes (probed once a day,
//! `crate::datastore::conditional`), the lock is taken with a plain write when free and then
//! verified after a moment, as the autoscalers' fallback does.

use super::period::Period;
use crate::datastore::conditional::{conditional_writes, put_if};
use crate::datastore::{Backend, Precondition};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The lock's expiry (`ADT_BACKUP_LOCK_TTL_SECS`, default 10 minutes; renewed every
/// `ADT_BACKUP_LOCK_RENEW_SECS`, default 60 s).
pub fn ttl() -> u64 {
    crate::knobs::env_u64("ADT_BACKUP_LOCK_TTL_SECS", 600).max(2)
}

fn proc_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().replace(['/', ' '], "_"))
        .unwrap_or_default()
}

/// What a lock object says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub machine: String,
    pub pid: i32,
    pub boot: String,
    pub expiry: u64,
    pub period: String,
}

impl Holder {
    fn me(period: Period) -> Holder {
        Holder {
            machine: proc_line("/proc/sys/kernel/hostname"),
            pid: i32::try_from(std::process::id()).unwrap_or(0),
            boot: proc_line("/proc/sys/kernel/random/boot_id"),
            expiry: now() + ttl(),
            period: period.upper().to_string(),
        }
    }

    pub fn text(&self) -> String {
        format!(
            "{}/{}/{} {} {}",
            self.machine, self.pid, self.boot, self.expiry, self.period
        )
    }

    /// A lock object's text; `None` for an empty (legacy) or foreign one.
    pub fn parse(text: &str) -> Option<Holder> {
        let mut w = text.split_whitespace();
        let owner = w.next()?;
        let expiry = w.next()?.parse().ok()?;
        let period = w.next().unwrap_or("").to_string();
        let mut p = owner.split('/');
        let (machine, pid, boot) = (p.next()?, p.next()?, p.next()?);
        Some(Holder {
            machine: machine.into(),
            pid: pid.parse().ok()?,
            boot: boot.into(),
            expiry,
            period,
        })
    }

    fn provably_dead(&self) -> bool {
        let me = Holder::me(Period::Unknown);
        !me.boot.is_empty()
            && self.machine == me.machine
            && self.boot == me.boot
            && self.pid != me.pid
            && !crate::process::is_alive(self.pid)
    }

    fn stale(&self) -> bool {
        self.expiry < now() || self.provably_dead()
    }
}

/// A lock this process holds.
#[derive(Debug)]
pub struct Held {
    pub key: String,
    pub token: String,
}

/// Why the lock was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum NotTaken {
    /// Another machine is backing up this very period.
    SamePeriod(String),
    /// Another period held it for longer than we would wait.
    WaitedTooLong(String),
}

/// How long to wait for another period's run, and how often to look.
#[derive(Clone, Copy, Debug)]
pub struct Waiting {
    pub max: Duration,
    pub poll: Duration,
}

impl Waiting {
    pub fn from_knobs() -> Waiting {
        Waiting {
            max: Duration::from_secs(crate::knobs::env_u64("ADT_BACKUP_LOCK_WAIT_SECS", 3600)),
            poll: Duration::from_secs(
                crate::knobs::env_u64("ADT_BACKUP_LOCK_POLL_SECS", 15).max(1),
            ),
        }
    }
}

/// What the current lock object is: absent, ours to take over (stale), or held by someone.
enum State {
    Free,
    Stale(crate::datastore::Version),
    HeldBy(String, String),
}

fn state(store: &dyn Backend, key: &str) -> Result<State> {
    let Some((bytes, version)) = store.get_versioned(key)? else {
        return Ok(State::Free);
    };
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    match Holder::parse(&text) {
        Some(h) if h.stale() => Ok(State::Stale(version)),
        Some(h) => Ok(State::HeldBy(
            format!("{}/{} ({})", h.machine, h.pid, h.period),
            h.period,
        )),
        None => {
            // A legacy peer's empty lock: held until it is old.
            let limit = crate::knobs::env_u64("ADT_BACKUP_LEGACY_LOCK_SECS", 4 * 3600);
            let age = store
                .list(key, true)?
                .objects
                .into_iter()
                .find(|o| o.key == key)
                .and_then(|o| o.modified)
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .map(|d| d.as_secs())
                .unwrap_or(0);
            if age > limit {
                Ok(State::Stale(version))
            } else {
                Ok(State::HeldBy(
                    format!("a legacy machine ({age} s ago)"),
                    String::new(),
                ))
            }
        }
    }
}

/// One attempt: `Ok(Some)` when taken, `Ok(None)` when held (the holder and its period).
fn try_take(
    store: &dyn Backend,
    home: &Path,
    key: &str,
    token: &str,
) -> Result<std::result::Result<(), (String, String)>> {
    let enforced = conditional_writes(store, home)?.enforced();
    let written = match state(store, key)? {
        State::HeldBy(who, period) => return Ok(Err((who, period))),
        State::Free if enforced => put_if(store, key, token.as_bytes(), &Precondition::IfAbsent)?,
        State::Stale(v) if enforced => {
            put_if(store, key, token.as_bytes(), &Precondition::IfMatch(v))?
        }
        State::Free | State::Stale(_) => {
            store.put_bytes(key, token.as_bytes())?;
            true
        }
    };
    if written {
        // Where the store's conditions are not atomic (two writers may both "succeed"), verify
        // once the other writers' requests have landed: the token that is there holds it. An
        // enforced conditional create has one winner: read back at once.
        if !enforced {
            std::thread::sleep(Duration::from_millis(crate::knobs::env_u64(
                "ADT_BACKUP_LOCK_SETTLE_MS",
                300,
            )));
        }
        if store.get_bytes(key).ok().as_deref() == Some(token.as_bytes()) {
            return Ok(Ok(()));
        }
    }
    match state(store, key)? {
        State::HeldBy(who, period) => Ok(Err((who, period))),
        _ => Ok(Err(("another machine".into(), String::new()))),
    }
}

/// Take the lock `key` for a run of `period`, waiting for another period's run as described
/// above. An unreachable store is an error (the run does not go ahead unlocked, as legacy's did).
pub fn acquire(
    store: &dyn Backend,
    home: &Path,
    key: &str,
    period: Period,
    waiting: Waiting,
) -> Result<std::result::Result<Held, NotTaken>> {
    let started = std::time::Instant::now();
    loop {
        let token = Holder::me(period).text();
        match try_take(store, home, key, &token)? {
            Ok(()) => {
                return Ok(Ok(Held {
                    key: key.to_string(),
                    token,
                }))
            }
            Err((who, held_for)) => {
                if held_for == period.upper() && period != Period::Unknown {
                    return Ok(Err(NotTaken::SamePeriod(who)));
                }
                if started.elapsed() + waiting.poll > waiting.max {
                    return Ok(Err(NotTaken::WaitedTooLong(who)));
                }
                log::info!("{key} is held by {who}: waiting");
                std::thread::sleep(waiting.poll);
            }
        }
    }
}

/// Extend the held lock (conditionally on the version that holds our token). The new token,
/// or `None` when the lock is no longer ours.
pub fn renew(store: &dyn Backend, home: &Path, key: &str, token: &str) -> Result<Option<String>> {
    let Some((bytes, v)) = store.get_versioned(key)? else {
        return Ok(None);
    };
    if bytes != token.as_bytes() {
        return Ok(None);
    }
    let Some(mut h) = Holder::parse(token) else {
        return Ok(None);
    };
    h.expiry = now() + ttl();
    let new = h.text();
    if conditional_writes(store, home)?.enforced() {
        Ok(put_if(store, key, new.as_bytes(), &Precondition::IfMatch(v))?.then_some(new))
    } else {
        store.put_bytes(key, new.as_bytes()).map(|_| Some(new))
    }
}

/// Release: delete the key if it still holds our token (retried a few times while the store
/// fails). Whether it is known to be gone from us.
pub fn release(store: &dyn Backend, key: &str, token: &str) -> bool {
    for attempt in 0..4u32 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 << attempt));
        }
        match store.get_bytes(key) {
            Ok(b) if b == token.as_bytes() => {
                if store.delete(key).is_ok() {
                    return true;
                }
            }
            Ok(_) | Err(Error::NotFound(_)) => return true,
            Err(_) => {}
        }
    }
    false
}

/// Run `work` holding the lock: renewed in the background every `ADT_BACKUP_LOCK_RENEW_SECS`,
/// released afterwards. `work` gets a check: whether the lock is still surely ours (asked
/// before anything is replaced).
pub fn holding<T>(
    store: &dyn Backend,
    home: &Path,
    held: Held,
    work: impl FnOnce(&dyn Fn() -> bool) -> T,
) -> T {
    use std::sync::mpsc::{channel, RecvTimeoutError};
    use std::sync::Mutex;
    use std::time::Instant;
    let every = Duration::from_secs(crate::knobs::env_u64("ADT_BACKUP_LOCK_RENEW_SECS", 60).max(1));
    let life = Duration::from_secs(ttl());
    let current = Mutex::new(Some(held.token));
    let renewed_at = Mutex::new(Instant::now());
    let key = held.key.as_str();
    let ours = || {
        current.lock().unwrap_or_else(|e| e.into_inner()).is_some()
            && renewed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed()
                + Duration::from_secs(1)
                < life
    };
    // The renewer waits on a channel: the end of `work` (the sender dropped) wakes it at once.
    let (finished, wake) = channel::<()>();
    let (current, renewed_at) = (&current, &renewed_at);
    let out = std::thread::scope(|s| {
        s.spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = wake.recv_timeout(every) {
                let now = Instant::now();
                let mut t = current.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(tok) = t.clone() {
                    match renew(store, home, key, &tok) {
                        Ok(Some(new)) => {
                            *renewed_at.lock().unwrap_or_else(|e| e.into_inner()) = now;
                            *t = Some(new);
                        }
                        Ok(None) => *t = None,
                        Err(e) => log::warn!("cannot renew {key}: {e}"),
                    }
                }
            }
        });
        let out = work(&ours);
        drop(finished);
        out
    });
    if let Some(t) = current.lock().unwrap_or_else(|e| e.into_inner()).take() {
        release(store, key, &t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b")).unwrap();
        let s = LocalStore::new(d.path(), "b");
        (d, s)
    }

    fn quick() -> Waiting {
        Waiting {
            max: Duration::from_secs(3),
            poll: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_same_period_skips_and_another_period_waits_then_takes_it() {
        std::env::set_var("ADT_BACKUP_LOCK_SETTLE_MS", "0");
        let (d, s) = store();
        let k = "backuplock.file";
        let held = acquire(&s, d.path(), k, Period::Hourly, quick())
            .unwrap()
            .unwrap();
        assert!(s.get_bytes(k).unwrap().ends_with(b" HOURLY"));
        let same = acquire(&s, d.path(), k, Period::Hourly, quick()).unwrap();
        assert!(matches!(same, Err(NotTaken::SamePeriod(_))), "{same:?}");
        // A daily run waits while the hourly holds it, and takes it once it is released.
        let token = held.token.clone();
        std::thread::scope(|sc| {
            sc.spawn(|| {
                std::thread::sleep(Duration::from_millis(1200));
                assert!(release(&s, k, &token));
            });
            let daily = acquire(&s, d.path(), k, Period::Daily, quick()).unwrap();
            assert!(daily.is_ok(), "{daily:?}");
        });
        assert!(s.get_bytes(k).unwrap().ends_with(b" DAILY"));
        let late = acquire(
            &s,
            d.path(),
            k,
            Period::Weekly,
            Waiting {
                max: Duration::from_secs(1),
                poll: Duration::from_secs(1),
            },
        )
        .unwrap();
        assert!(matches!(late, Err(NotTaken::WaitedTooLong(_))), "{late:?}");
    }

    #[test]
    fn expired_and_dead_holders_lose_it_legacy_locks_are_respected() {
        std::env::set_var("ADT_BACKUP_LOCK_SETTLE_MS", "0");
        let (d, s) = store();
        let k = "backuplock.file";
        s.put_bytes(k, format!("m/12/b {} DAILY", now() - 1).as_bytes())
            .unwrap();
        assert!(acquire(&s, d.path(), k, Period::Hourly, quick())
            .unwrap()
            .is_ok());
        // A holder on this machine and boot whose process is gone.
        let mut dead = Holder::me(Period::Daily);
        dead.pid = 9_999_999;
        s.put_bytes(k, dead.text().as_bytes()).unwrap();
        assert!(acquire(&s, d.path(), k, Period::Hourly, quick())
            .unwrap()
            .is_ok());
        // A legacy peer's empty lock: held (not stale yet).
        s.put_bytes(k, b"").unwrap();
        let r = acquire(
            &s,
            d.path(),
            k,
            Period::Hourly,
            Waiting {
                max: Duration::from_secs(0),
                poll: Duration::from_secs(1),
            },
        )
        .unwrap();
        assert!(
            matches!(r, Err(NotTaken::WaitedTooLong(ref w)) if w.contains("legacy")),
            "{r:?}"
        );
    }

    #[test]
    fn the_holder_renews_and_releases() {
        std::env::set_var("ADT_BACKUP_LOCK_SETTLE_MS", "0");
        std::env::set_var("ADT_BACKUP_LOCK_RENEW_SECS", "1");
        let (d, s) = store();
        let k = "dbbackuplock.file";
        let held = acquire(&s, d.path(), k, Period::Daily, quick())
            .unwrap()
            .unwrap();
        let first = held.token.clone();
        let (seen, ours) = holding(&s, d.path(), held, |ours| {
            std::thread::sleep(Duration::from_millis(2300));
            (s.get_bytes(k).unwrap(), ours())
        });
        assert!(ours);
        assert_ne!(seen, first.as_bytes(), "renewed");
        assert!(s.get_versioned(k).unwrap().is_none(), "released");
        assert!(renew(&s, d.path(), k, &first).unwrap().is_none());
    }
}
