//! The embedded default datastore: a directory standing in for the bucket, with the same
//! semantics as S3 for everything the wrappers do (flat keys, prefix listings with common
//! prefixes, empty marker objects, conditional writes). Used in development mode, for a
//! single-machine fleet, and by the README demo.
//!
//! Layout: `<root>/<bucket>/<key>`; a key's `/` are directories. Empty directories left by
//! deletes are removed, so "directories" exist only while objects are under them, as in S3.
//! Limit: a key cannot be both an object and a prefix of other keys (`a` and `a/b`).

use super::conditional::CondWrites;
use super::{Backend, Listing, ObjectInfo, Precondition, Version};
use crate::error::{Error, Result};
use crate::fsutil;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct LocalStore {
    root: PathBuf,
    bucket: String,
}

const LOCK_NAME: &str = ".adt-store.lock";

fn is_internal(name: &str) -> bool {
    name == LOCK_NAME || (name.starts_with('.') && name.contains(".adt-tmp."))
}

/// A content hash standing in for an ETag (FNV-1a, 64 bits).
fn version_of(data: &[u8]) -> Version {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    Version(format!("{h:016x}"))
}

impl LocalStore {
    pub fn new(root: &Path, bucket: &str) -> LocalStore {
        LocalStore {
            root: root.to_path_buf(),
            bucket: bucket.to_string(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.root.join(&self.bucket)
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        super::validate_object_key(key)?;
        let key = key.trim_start_matches('/');
        if key.is_empty() {
            return Err(Error::Usage(format!("{key:?} is not an object key")));
        }
        Ok(self.dir().join(key))
    }

    fn need_bucket(&self) -> Result<()> {
        if self.dir().is_dir() {
            Ok(())
        } else {
            Err(Error::NoBucket(self.describe()))
        }
    }

    fn prepare(&self, key: &str) -> Result<PathBuf> {
        self.need_bucket()?;
        let p = self.path_of(key)?;
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        }
        Ok(p)
    }

    /// Serialise writers of this bucket (conditional writes compare then write).
    fn lock(&self) -> Result<crate::fsutil::Lock> {
        crate::fsutil::Lock::exclusive(&self.dir().join(LOCK_NAME))
    }

    fn walk(&self, dir: &Path, rel: &str, out: &mut Vec<ObjectInfo>) -> Result<()> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir.display(), e)),
        };
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(dir.display(), e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if is_internal(&name) {
                continue;
            }
            let key = format!("{rel}{name}");
            let md = ent
                .metadata()
                .map_err(|e| Error::io(ent.path().display(), e))?;
            if md.is_dir() {
                self.walk(&ent.path(), &format!("{key}/"), out)?;
            } else {
                out.push(ObjectInfo {
                    key,
                    size: md.len(),
                    modified: md.modified().ok(),
                });
            }
        }
        Ok(())
    }

    fn prune_empty_dirs(&self, mut p: &Path) {
        let top = self.dir();
        while let Some(parent) = p.parent() {
            if parent == top || !parent.starts_with(&top) || fs::remove_dir(parent).is_err() {
                break;
            }
            p = parent;
        }
    }
}

impl Backend for LocalStore {
    fn describe(&self) -> String {
        format!("local:{}", self.dir().display())
    }

    /// Conditions are evaluated here, under the bucket's `flock`: atomic by construction.
    fn conditional_writes(&self) -> Option<CondWrites> {
        Some(CondWrites::Enforced)
    }

    fn bucket_name(&self) -> &str {
        &self.bucket
    }

    fn bucket_exists(&self) -> Result<bool> {
        Ok(self.dir().is_dir())
    }

    fn create_bucket(&self) -> Result<()> {
        fs::create_dir_all(self.dir()).map_err(|e| Error::io(self.dir().display(), e))
    }

    fn put_bytes(&self, key: &str, data: &[u8]) -> Result<()> {
        let p = self.prepare(key)?;
        fsutil::write_atomic(&p, data, Some(0o600))
    }

    fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        let p = self.prepare(key)?;
        let mut t = fsutil::TempFile::new(&p, Some(0o600))?;
        let mut src = fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
        std::io::copy(&mut src, t.file()).map_err(|e| Error::io(path.display(), e))?;
        t.commit()
    }

    /// The pieces' bytes written straight into the bucket (one write, no staging copy).
    fn put_pieces(&self, key: &str, pieces: &[super::Piece]) -> Result<()> {
        let p = self.prepare(key)?;
        let mut t = fsutil::TempFile::new(&p, Some(0o600))?;
        for piece in pieces {
            piece.write_to(t.file())?;
        }
        t.commit()
    }

    fn get_to_file(&self, key: &str, dest: &Path) -> Result<u64> {
        self.need_bucket()?;
        let p = self.path_of(key)?;
        let mut src = match fs::File::open(&p) {
            Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => f,
            Ok(_) => {
                return Err(Error::NotFound(format!(
                    "{}/{}",
                    self.describe(),
                    super::show_key(key)
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!(
                    "{}/{}",
                    self.describe(),
                    super::show_key(key)
                )))
            }
            Err(e) => return Err(Error::io(p.display(), e)),
        };
        super::prepare_download(dest)?;
        let mut t = super::download_temp(key, dest)?;
        let n = std::io::copy(&mut src, t.file()).map_err(|e| Error::io(p.display(), e))?;
        t.file().flush().map_err(|e| Error::io(dest.display(), e))?;
        t.commit()?;
        Ok(n)
    }

    fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        self.need_bucket()?;
        let p = self.path_of(key)?;
        match fs::read(&p) {
            Ok(b) => Ok(b),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.kind() == std::io::ErrorKind::IsADirectory =>
            {
                Err(Error::NotFound(format!(
                    "{}/{}",
                    self.describe(),
                    super::show_key(key)
                )))
            }
            Err(e) => Err(Error::io(p.display(), e)),
        }
    }

    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>> {
        match self.get_bytes(key) {
            Ok(b) => {
                let v = version_of(&b);
                Ok(Some((b, v)))
            }
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The size from the file's metadata, without reading it; no version (computing one would
    /// read the whole object).
    fn head(&self, key: &str) -> Result<Option<(u64, Version)>> {
        self.need_bucket()?;
        let p = self.path_of(key)?;
        match fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(Some((m.len(), Version(String::new())))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(p.display(), e)),
        }
    }

    /// A hard link under a temporary name, renamed over the target: no bytes copied. Safe
    /// because no write here changes a file in place (every write is a new file renamed over
    /// the old name), so the two names can never diverge by a write to one of them.
    fn copy(&self, from: &str, to: &str) -> Result<()> {
        self.need_bucket()?;
        let src = self.path_of(from)?;
        let p = self.prepare(to)?;
        let link = p.with_file_name(format!(
            ".{}.adt-tmp.{}",
            p.file_name().and_then(|n| n.to_str()).unwrap_or("o"),
            std::process::id()
        ));
        let _ = fs::remove_file(&link);
        match fs::hard_link(&src, &link) {
            Ok(()) => {
                return fs::rename(&link, &p).map_err(|e| {
                    let _ = fs::remove_file(&link);
                    Error::io(p.display(), e)
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!("{}/{from}", self.describe())))
            }
            Err(_) => {} // no hard links here: copy the bytes
        }
        let mut t = fsutil::TempFile::new(&p, Some(0o600))?;
        let mut f = match fs::File::open(&src) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(format!("{}/{from}", self.describe())))
            }
            Err(e) => return Err(Error::io(src.display(), e)),
        };
        std::io::copy(&mut f, t.file()).map_err(|e| Error::io(src.display(), e))?;
        t.commit()
    }

    fn put_conditional(&self, key: &str, data: &[u8], cond: &Precondition) -> Result<bool> {
        self.need_bucket()?;
        let _guard = self.lock()?;
        let current = self.get_versioned(key)?;
        let ok = match (cond, &current) {
            (Precondition::IfAbsent, None) => true,
            (Precondition::IfAbsent, Some(_)) => false,
            (Precondition::IfMatch(v), Some((_, cur))) => v == cur,
            (Precondition::IfMatch(_), None) => false,
        };
        if !ok {
            return Err(Error::Conflict(format!(
                "{}/{key} changed",
                self.describe()
            )));
        }
        self.put_bytes(key, data)?;
        Ok(true)
    }

    fn list(&self, prefix: &str, delimited: bool) -> Result<Listing> {
        self.need_bucket()?;
        let mut all = Vec::new();
        // Walk only the directory that can hold matches.
        let base = match prefix.rfind('/') {
            Some(i) => &prefix[..=i],
            None => "",
        };
        if base.split('/').any(|s| s == "..") {
            return Err(Error::Usage(format!("prefix {prefix:?} contains '..'")));
        }
        self.walk(&self.dir().join(base), base, &mut all)?;
        let mut listing = Listing::default();
        for o in all.into_iter().filter(|o| o.key.starts_with(prefix)) {
            if delimited {
                if let Some(i) = o.key[prefix.len()..].find('/') {
                    let p = o.key[..prefix.len() + i + 1].to_string();
                    if !listing.prefixes.contains(&p) {
                        listing.prefixes.push(p);
                    }
                    continue;
                }
            }
            listing.objects.push(o);
        }
        listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
        listing.prefixes.sort();
        Ok(listing)
    }

    fn any_with_prefix(&self, prefix: &str) -> Result<bool> {
        let l = self.list(prefix, true)?;
        Ok(!l.objects.is_empty() || !l.prefixes.is_empty())
    }

    fn list_buckets(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(self.root.display(), e)),
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() && !is_internal(&name) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.need_bucket()?;
        let p = self.path_of(key)?;
        match fs::remove_file(&p) {
            Ok(()) => {
                self.prune_empty_dirs(&p);
                Ok(())
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.kind() == std::io::ErrorKind::IsADirectory =>
            {
                Ok(())
            }
            Err(e) => Err(Error::io(p.display(), e)),
        }
    }
}
