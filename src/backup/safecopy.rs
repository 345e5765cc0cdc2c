//! The super-safe datastore copy (`SUPERSAFEWEBROOT`, `SUPERSAFEDB`; spec §1.5.7, §1.6.7): the
//! archive at `<bucket>/<object>`, the previous one at `<object>.BACKUP`.
//!
//! Legacy deleted `.BACKUP`, moved the current object to `.BACKUP`, then put the new one: a
//! failed or cut upload left no current object, which is the only one restore reads. Here the
//! new archive is uploaded to a temporary key first (`<object>.adt-upload-<pid>`), verified
//! (size, and the MD5 the store reports as the ETag of a single-part upload), and only then
//! rotated with server-side copies: current → `.BACKUP`, temporary → current (each copy
//! replaces its target whole or not at all), and the temporary key is deleted. At every moment
//! the current name holds a complete archive: the old one until the new one is verified.

use super::names::PREVIOUS_SUFFIX;
use crate::datastore::Backend;
use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::io::Read;
use std::path::Path;

/// The MD5 of a file, in hex.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path.display(), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether the stored object is the file: same size, and where the store gives a plain MD5
/// ETag, the same MD5 (computed once, only when a store gives one).
fn same(
    store: &dyn Backend,
    key: &str,
    size: u64,
    md5: &std::cell::OnceCell<String>,
    file: &Path,
) -> Result<bool> {
    match store.head(key)? {
        None => Ok(false),
        Some((n, v)) => {
            let etag = v.0.trim_matches('"').to_ascii_lowercase();
            let plain_md5 = etag.len() == 32 && etag.chars().all(|c| c.is_ascii_hexdigit());
            if n != size {
                return Ok(false);
            }
            if !plain_md5 {
                return Ok(true);
            }
            if md5.get().is_none() {
                let _ = md5.set(md5_file(file)?);
            }
            Ok(md5.get().map(String::as_str) == Some(etag.as_str()))
        }
    }
}

/// Put `file` as `key`, keeping the previous one as `key.BACKUP`, never leaving `key` without
/// a complete archive. The bucket is created when missing (legacy's Mount).
pub fn put_rotated(store: &dyn Backend, key: &str, file: &Path) -> Result<()> {
    if !store.bucket_exists()? {
        store.create_bucket()?;
    }
    let size = std::fs::metadata(file)
        .map_err(|e| Error::io(file.display(), e))?
        .len();
    let md5 = std::cell::OnceCell::new();
    let temp = format!("{key}.adt-upload-{}", std::process::id());
    let backup = format!("{key}{PREVIOUS_SUFFIX}");
    let cleanup = |e: Error| {
        let _ = store.delete(&temp);
        e
    };
    let t = std::time::Instant::now();
    store.put_file(&temp, file).map_err(cleanup)?;
    log::debug!("safecopy: {size} bytes put in {:?}", t.elapsed());
    if !same(store, &temp, size, &md5, file).map_err(cleanup)? {
        return Err(cleanup(Error::Store(format!(
            "{}/{temp}: the uploaded archive is not the one sent ({size} bytes)",
            store.describe()
        ))));
    }
    if store.head(key).map_err(cleanup)?.is_some() {
        store.copy(key, &backup).map_err(cleanup)?;
    }
    store.copy(&temp, key).map_err(cleanup)?;
    if !same(store, key, size, &md5, file).map_err(cleanup)? {
        return Err(cleanup(Error::Store(format!(
            "{}/{key}: not the verified archive after the copy",
            store.describe()
        ))));
    }
    store.delete(&temp)?;
    log::debug!("safecopy: verified and rotated at {:?}", t.elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;

    #[test]
    fn the_new_archive_replaces_the_current_which_becomes_backup() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path(), "www-example-com-daily");
        let f = d.path().join("a.tar.gz");
        std::fs::write(&f, b"first").unwrap();
        put_rotated(&s, "applicationsourcecode.tar.gz", &f).unwrap();
        std::fs::write(&f, b"second").unwrap();
        put_rotated(&s, "applicationsourcecode.tar.gz", &f).unwrap();
        assert_eq!(
            s.get_bytes("applicationsourcecode.tar.gz").unwrap(),
            b"second"
        );
        assert_eq!(
            s.get_bytes("applicationsourcecode.tar.gz.BACKUP").unwrap(),
            b"first"
        );
        let keys: Vec<String> = s
            .list("", false)
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys.len(), 2, "no temporary key left: {keys:?}");
    }

    #[test]
    fn a_missing_file_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path(), "b");
        let f = d.path().join("a");
        std::fs::write(&f, b"good").unwrap();
        put_rotated(&s, "k", &f).unwrap();
        assert!(put_rotated(&s, "k", &d.path().join("missing")).is_err());
        assert_eq!(s.get_bytes("k").unwrap(), b"good");
        assert!(s.get_versioned("k.BACKUP").unwrap().is_none());
    }
}
