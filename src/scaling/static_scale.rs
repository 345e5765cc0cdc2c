//! The 2025 scaling profile: one empty marker object `STATIC_SCALE:<a>:<b>:…` in the config
//! bucket, one count per autoscaler (autoscaler 1 first), written by ScalingUpdateEvent
//! (autoscaler, `utilities/processing/ScalingUpdateEvent.sh N`) and the build machine's
//! AdjustScaling, read by PerformScaling and DeadOrAliveWebservers (`ListFromConfigDatastore.sh
//! STATIC_SCALE:*`, then the fields after the colons). A local copy is kept as the empty file
//! `runtime/scaling/<marker>`.
//!
//! Differences from legacy: the legacy writers deleted every `STATIC_SCALE:` key and then put the
//! new one, so a reader in between saw no profile (PerformScaling then did nothing that run), and
//! two writers could leave two markers (after which `expr` failed on two numbers and nothing
//! scaled). Here the new marker is written first and then every other `STATIC_SCALE:` key is
//! deleted: a reader always sees a profile, and the last writer's cleanup leaves one marker.
//! Legacy accepted any N (`abc` made `STATIC_SCALE:` without a number) and divided by zero
//! autoscalers; here N must be a whole number of 2 or more and at least one autoscaler must be
//! running, or nothing changes.

use crate::datastore::Backend;
use crate::error::{Error, Result};
use std::path::Path;

/// The key prefix of the marker.
pub const PREFIX: &str = "STATIC_SCALE:";

/// `n` webservers shared by `autoscalers`: each gets `n / autoscalers`, the first
/// `n % autoscalers` one more.
pub fn split(n: u32, autoscalers: u32) -> Vec<u32> {
    if autoscalers == 0 {
        return vec![];
    }
    let base = n / autoscalers;
    let extra = n - base * autoscalers;
    (0..autoscalers)
        .map(|i| if i < extra { base + 1 } else { base })
        .collect()
}

/// The marker's key for these counts: `STATIC_SCALE:3:2`.
pub fn marker(counts: &[u32]) -> String {
    let mut k = String::from("STATIC_SCALE");
    for c in counts {
        k.push(':');
        k.push_str(&c.to_string());
    }
    k
}

/// The counts of a marker key (`STATIC_SCALE:3:2` → 3, 2); `None` if it is not one.
pub fn counts(key: &str) -> Option<Vec<u32>> {
    let rest = key.strip_prefix(PREFIX)?;
    rest.split(':').map(|f| f.parse().ok()).collect()
}

/// The profile's markers in the store, oldest write first is not promised: in key order.
pub fn markers(store: &dyn Backend) -> Result<Vec<crate::datastore::ObjectInfo>> {
    Ok(store
        .list(PREFIX, false)?
        .objects
        .into_iter()
        .filter(|o| o.key.starts_with(PREFIX))
        .collect())
}

/// Write the profile for `n` webservers over `autoscalers` autoscalers: the new marker, then
/// every other marker removed; the local copy in `scaling_dir` likewise. Returns the marker.
pub fn write(store: &dyn Backend, scaling_dir: &Path, n: u32, autoscalers: u32) -> Result<String> {
    if autoscalers == 0 {
        return Err(Error::Usage(
            "no autoscaler is running; the scaling profile is left as it is".into(),
        ));
    }
    let key = marker(&split(n, autoscalers));
    store.put_bytes(&key, b"")?;
    for o in markers(store)? {
        if o.key != key {
            store.delete(&o.key)?;
        }
    }
    std::fs::create_dir_all(scaling_dir).map_err(|e| Error::io(scaling_dir.display(), e))?;
    if let Ok(rd) = std::fs::read_dir(scaling_dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(PREFIX) && name != key {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let local = scaling_dir.join(&key);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&local)
        .map_err(|e| Error::io(local.display(), e))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_markers() {
        assert_eq!(split(5, 2), vec![3, 2]);
        assert_eq!(split(4, 2), vec![2, 2]);
        assert_eq!(split(7, 3), vec![3, 2, 2]);
        assert_eq!(split(2, 1), vec![2]);
        assert_eq!(split(3, 0), Vec::<u32>::new());
        assert_eq!(marker(&[3, 2]), "STATIC_SCALE:3:2");
        assert_eq!(counts("STATIC_SCALE:3:2"), Some(vec![3, 2]));
        assert_eq!(counts("STATIC_SCALE:"), None);
        assert_eq!(counts("OTHER:1"), None);
    }
}
