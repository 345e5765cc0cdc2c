//! The scaling profile (`scalingprofile/profile.cnf` in the config datastore) and the controls
//! that change it: ManuallyScale, DailyScaleup/DailyScaledown (autoscaler) and AdjustScaling
//! (build machine).
//!
//! No lost update. Every change is a read-modify-write of the profile that only lands if the
//! profile is still the version that was read:
//! 1. writers on one machine are serialised by a local `flock` (the autoscaler's cron jobs,
//!    an operator's ManuallyScale and PerformScaling all run on the autoscaler);
//! 2. across machines the write is conditional, S3 `If-Match: <ETag>` (`If-None-Match: *` when
//!    creating), retried with a fresh read on conflict;
//! 3. on a bucket that does not enforce conditional writes (probed once a day per bucket by
//!    [`crate::datastore::conditional`]: a store that ignores the headers, as Garage does, or
//!    refuses them with 501 NotImplemented, or returns no ETag), a lock object
//!    `adt-locks/scalingprofile` with an expiry serialises writers instead. Without an atomic
//!    create that lock is best effort: two machines that both see the lock free in the same
//!    instant can both take it (the holder re-reads it to detect this, and backs off).
//!
//! After a write lands it is verified (the edit applied again must change nothing), which
//! catches most overwrites on stores whose conditional writes are not atomic (s3s-fs checks the
//! condition, then writes); an overwrite that lands after the verification still loses a change
//! there. AWS S3's conditional writes are atomic.

pub mod static_scale;

use crate::datastore::conditional::conditional_writes;
use crate::datastore::{Backend, Precondition};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PROFILE_KEY: &str = "scalingprofile/profile.cnf";
pub const SWITCH_KEY: &str = "SWITCHOFFSCALING";
pub const LOCK_KEY: &str = "adt-locks/scalingprofile";

/// The profile a fresh fleet gets.
pub fn default_profile(n: &str) -> String {
    format!("SCALING_MODE=static\nNO_WEBSERVERS={n}\n")
}

/// The legacy readers' rule: the lines containing `name`, each the text after its last `=`,
/// newline-joined (several lines → several values).
pub fn read_setting(profile: &str, name: &str) -> String {
    profile
        .lines()
        .filter(|l| l.contains(name))
        .map(|l| l.rsplit('=').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// ManuallyScale / DailyScale*: the line starting `NO_WEBSERVERS=` becomes `NO_WEBSERVERS=<n>`
/// (appended if there is none, where the legacy silently did nothing).
pub fn set_count(profile: &str, n: u32) -> String {
    let mut out = String::new();
    let mut done = false;
    for l in profile.lines() {
        if l.starts_with("NO_WEBSERVERS=") {
            out.push_str(&format!("NO_WEBSERVERS={n}\n"));
            done = true;
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    if !done {
        out.push_str(&format!("NO_WEBSERVERS={n}\n"));
    }
    out
}

/// A webserver count as the controls accept it: a whole number, 2 or more.
pub fn parse_count(s: &str) -> std::result::Result<u32, String> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a whole number"));
    }
    match t.parse::<u32>() {
        Ok(n) if n >= 2 => Ok(n),
        Ok(n) => Err(format!("{n} is fewer than 2")),
        Err(_) => Err(format!("{s:?} is too large")),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Hold an exclusive `flock` on a file under the machine's runtime directory.
pub fn local_lock(home: &Path, name: &str) -> Result<crate::fsutil::Lock> {
    let dir = home.join("runtime");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
    crate::fsutil::Lock::exclusive(&dir.join(format!("{name}.adt-lock")))
}

/// A small random-ish delay for retries (no RNG dependency: time and pid).
fn jitter(attempt: u32) -> Duration {
    let seed = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64)
        ^ (std::process::id() as u64).wrapping_mul(2654435761);
    Duration::from_millis(10 + seed % (20 << attempt.min(5)))
}

/// Apply `edit` to the profile (None: it does not exist) without losing a concurrent change.
/// Returns the profile as written.
pub fn update_profile(
    store: &dyn Backend,
    home: &Path,
    mut edit: impl FnMut(Option<&str>) -> Result<String>,
) -> Result<String> {
    let _local = local_lock(home, "scalingprofile")?;
    if !conditional_writes(store, home)?.enforced() {
        return update_with_lock_object(store, &mut edit);
    }
    for attempt in 0..50 {
        let current = store.get_versioned(PROFILE_KEY)?;
        let text = current
            .as_ref()
            .map(|(b, _)| String::from_utf8_lossy(b).into_owned());
        let new = edit(text.as_deref())?;
        let cond = match &current {
            Some((_, v)) if !v.0.is_empty() => Precondition::IfMatch(v.clone()),
            Some(_) => return update_with_lock_object(store, &mut edit),
            None => Precondition::IfAbsent,
        };
        match store.put_conditional(PROFILE_KEY, new.as_bytes(), &cond) {
            Ok(true) => {
                // Verify: on stores whose conditional writes are not atomic a simultaneous
                // writer can still overwrite us. Every edit here is idempotent, so our change
                // is in place exactly when applying it again changes nothing.
                let now_text = match store.get_versioned(PROFILE_KEY)? {
                    Some((b, _)) => String::from_utf8_lossy(&b).into_owned(),
                    None => String::new(),
                };
                if edit(Some(&now_text))? == now_text {
                    return Ok(now_text);
                }
                log::debug!("our write was overwritten by a simultaneous writer; retrying");
                std::thread::sleep(jitter(attempt));
            }
            Ok(false) => return update_with_lock_object(store, &mut edit),
            Err(Error::Conflict(_)) => {
                log::debug!(
                    "profile changed under us (attempt {}), re-reading",
                    attempt + 1
                );
                std::thread::sleep(jitter(attempt));
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Conflict(format!(
        "{PROFILE_KEY}: still changing after 50 attempts"
    )))
}

/// The fallback for stores without conditional writes: a lock object with an expiry.
fn update_with_lock_object(
    store: &dyn Backend,
    edit: &mut dyn FnMut(Option<&str>) -> Result<String>,
) -> Result<String> {
    let me = format!("{}-{}-{}", hostname(), std::process::id(), now());
    let ttl = 120;
    let deadline = std::time::Instant::now() + Duration::from_secs(ttl);
    let mut attempt = 0;
    loop {
        let held = match store.get_bytes(LOCK_KEY) {
            Ok(b) => {
                let t = String::from_utf8_lossy(&b).into_owned();
                let expires: u64 = t
                    .split_whitespace()
                    .nth(1)
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                expires > now()
            }
            Err(Error::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        if !held {
            store.put_bytes(LOCK_KEY, format!("{me} {}\n", now() + ttl).as_bytes())?;
            std::thread::sleep(Duration::from_millis(50));
            let check = store.get_bytes(LOCK_KEY).unwrap_or_default();
            if String::from_utf8_lossy(&check).starts_with(&format!("{me} ")) {
                let result = (|| {
                    let cur = match store.get_bytes(PROFILE_KEY) {
                        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                        Err(Error::NotFound(_)) => None,
                        Err(e) => return Err(e),
                    };
                    let new = edit(cur.as_deref())?;
                    store.put_bytes(PROFILE_KEY, new.as_bytes())?;
                    Ok(new)
                })();
                let _ = store.delete(LOCK_KEY);
                return result;
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(Error::Conflict(format!(
                "{LOCK_KEY} held by another writer"
            )));
        }
        std::thread::sleep(jitter(attempt));
        attempt += 1;
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count("5"), Ok(5));
        assert_eq!(parse_count("2"), Ok(2));
        for bad in ["1", "0", "-3", "abc", "", " ", "2.5", "1e3", "99999999999"] {
            assert!(parse_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_store_that_ignores_conditions_gets_the_lock_object_fallback() {
        use crate::datastore::conditional::tests::IgnoresConditions;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = IgnoresConditions::new(&dir.path().join("store"));
        let p = update_profile(&store, &home, |cur| {
            assert_eq!(cur, None);
            Ok(default_profile("3"))
        })
        .unwrap();
        assert_eq!(p, default_profile("3"));
        let p = update_profile(&store, &home, |cur| Ok(set_count(cur.unwrap(), 5))).unwrap();
        assert_eq!(store.get_bytes(PROFILE_KEY).unwrap(), p.as_bytes());
        assert_eq!(read_setting(&p, "NO_WEBSERVERS"), "5");
        // No conditional write was trusted outside the probe; the lock object was used and
        // released.
        assert_eq!(store.conditional_outside_probe(), Vec::<String>::new());
        let plain = store.plain.lock().unwrap().clone();
        assert_eq!(plain.iter().filter(|k| *k == LOCK_KEY).count(), 2);
        assert!(!store.any_with_prefix(LOCK_KEY).unwrap());
    }

    #[test]
    fn profile_edit_and_read() {
        let p = default_profile("3");
        assert_eq!(p, "SCALING_MODE=static\nNO_WEBSERVERS=3\n");
        assert_eq!(read_setting(&p, "NO_WEBSERVERS"), "3");
        assert_eq!(read_setting(&p, "SCALING_MODE"), "static");
        assert_eq!(set_count(&p, 7), "SCALING_MODE=static\nNO_WEBSERVERS=7\n");
        assert_eq!(
            set_count("SCALING_MODE=static\n", 4),
            "SCALING_MODE=static\nNO_WEBSERVERS=4\n"
        );
        assert_eq!(
            read_setting("A=x=1\nNO_WEBSERVERS=2\nNO_WEBSERVERS=9", "NO_WEBSERVERS"),
            "2\n9"
        );
    }
}
