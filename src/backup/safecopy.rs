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
use std::path::{Path, PathBuf};

/// The MD5 of a file, in hex.
pub fn md5_file(path: &Path) -> Result<String> {
    md5_files(&[path])
}

/// The MD5 of files read one after another, in hex.
fn md5_files(paths: &[&Path]) -> Result<String> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    for path in paths {
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(path.display(), e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether the stored object is `files` one after another: same size, and where the store
/// gives a plain MD5 ETag, the same MD5 (computed once, only when a store gives one; a
/// multipart ETag is not an MD5, and every part was checked against its own when it was put).
fn same(
    store: &dyn Backend,
    key: &str,
    size: u64,
    md5: &std::cell::OnceCell<String>,
    files: &[&Path],
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
                let _ = md5.set(md5_files(files)?);
            }
            Ok(md5.get().map(String::as_str) == Some(etag.as_str()))
        }
    }
}

/// The upload `temp` (of `size` bytes, `files` one after another) made `key`, never leaving
/// `key` without a complete archive: `temp` is checked, the previous object copied to
/// `key.BACKUP`, `temp` copied in and `key` checked again; `temp` goes in every case.
fn rotate_verified(
    store: &dyn Backend,
    temp: &str,
    key: &str,
    size: u64,
    files: &[&Path],
) -> Result<()> {
    let backup = format!("{key}{PREVIOUS_SUFFIX}");
    let cleanup = |e: Error| {
        let _ = store.delete(temp);
        e
    };
    let md5 = std::cell::OnceCell::new();
    if !same(store, temp, size, &md5, files).map_err(cleanup)? {
        return Err(cleanup(Error::Store(format!(
            "{}/{temp}: the uploaded archive is not the one sent ({size} bytes)",
            store.describe()
        ))));
    }
    if store.head(key).map_err(cleanup)?.is_some() {
        store.copy(key, &backup).map_err(cleanup)?;
    }
    store.copy(temp, key).map_err(cleanup)?;
    if !same(store, key, size, &md5, files).map_err(cleanup)? {
        return Err(cleanup(Error::Store(format!(
            "{}/{key}: not the verified archive after the copy",
            store.describe()
        ))));
    }
    store.delete(temp)
}

/// Put `file` as `key`, keeping the previous one as `key.BACKUP`, never leaving `key` without
/// a complete archive. The bucket is created when missing (legacy's Mount).
pub fn put_rotated(store: &dyn Backend, key: &str, file: &Path) -> Result<()> {
    upload(store, key, file)?.rotate()
}

/// An archive uploaded under its temporary key, not yet in place ([`upload`]).
pub struct Uploaded<'a> {
    store: &'a dyn Backend,
    temp: String,
    key: String,
    file: &'a Path,
    size: u64,
}

impl Uploaded<'_> {
    /// Check the upload and rotate it in (the previous object becomes `.BACKUP`).
    pub fn rotate(self) -> Result<()> {
        let t = std::time::Instant::now();
        rotate_verified(self.store, &self.temp, &self.key, self.size, &[self.file])?;
        log::debug!("safecopy: verified and rotated in {:?}", t.elapsed());
        Ok(())
    }

    /// Drop the upload: the temporary key goes, `key` is untouched.
    pub fn discard(self) {
        let _ = self.store.delete(&self.temp);
    }
}

/// The first half of [`put_rotated`]: `file` uploaded to the temporary key
/// `<key>.adt-upload-<pid>` (the bucket created when missing), nothing else touched; the
/// caller may check the archive meanwhile and then [`Uploaded::rotate`] or
/// [`Uploaded::discard`] it.
pub fn upload<'a>(store: &'a dyn Backend, key: &str, file: &'a Path) -> Result<Uploaded<'a>> {
    if !store.bucket_exists()? {
        store.create_bucket()?;
    }
    let size = std::fs::metadata(file)
        .map_err(|e| Error::io(file.display(), e))?
        .len();
    let temp = format!("{key}.adt-upload-{}", std::process::id());
    let t = std::time::Instant::now();
    store.put_file(&temp, file).inspect_err(|_| {
        let _ = store.delete(&temp);
    })?;
    log::debug!("safecopy: {size} bytes put in {:?}", t.elapsed());
    Ok(Uploaded {
        store,
        temp,
        key: key.to_string(),
        file,
        size,
    })
}

/// The smallest part S3 takes (all but the last part of a multipart upload; s3s-fs and moto
/// hold to it too).
pub const MIN_PART: u64 = 5 << 20;
/// The largest part S3 takes (a copied range is cut below it).
const MAX_PART: u64 = 5 << 30;

/// What the current object of a key was made of when we put it: its size and version as the
/// store gave them, and its members (file name, length) in order. Kept beside the members so
/// the next put can name the unchanged stretches as ranges of that object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub size: u64,
    pub version: String,
    pub members: Vec<(String, u64)>,
}

impl Layout {
    pub fn load(path: &Path) -> Option<Layout> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        let mut head = lines.next()?.splitn(2, ' ');
        let size = head.next()?.parse().ok()?;
        let version = head.next()?.to_string();
        let mut members = Vec::new();
        for l in lines {
            let (len, name) = l.split_once(' ')?;
            members.push((name.to_string(), len.parse().ok()?));
        }
        Some(Layout {
            size,
            version,
            members,
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = format!("{} {}\n", self.size, self.version);
        for (name, len) in &self.members {
            text.push_str(&format!("{len} {name}\n"));
        }
        crate::fsutil::write_atomic(path, text.as_bytes(), Some(0o600))
    }
}

/// The pieces of an object made of `members` (files, with their lengths): stretches of
/// members that lie in the same order in the previous object (`prev`, stored under `key`)
/// become ranges copied from it, when at least `min` long; the rest is sent, in parts of
/// about 1.6 × `min`. Every piece but the last is at least `min` long (S3: [`MIN_PART`]).
pub fn plan_pieces(
    members: &[(PathBuf, u64)],
    prev: Option<(&Layout, &str)>,
    min: u64,
) -> Vec<crate::datastore::Piece> {
    use crate::datastore::{Piece, Version};
    let send_part = (min / 5 * 8).max(1);
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    // Where each member was in the previous object.
    let mut was = std::collections::HashMap::new();
    if let Some((l, _)) = prev {
        let mut off = 0u64;
        for (n, len) in &l.members {
            was.entry(n.clone()).or_insert((off, *len));
            off += len;
        }
    }
    // Runs of the new object: (new start, length, previous start if copyable).
    let mut runs: Vec<(u64, u64, Option<u64>)> = Vec::new();
    let mut at = 0u64;
    for (path, len) in members {
        let from = was
            .get(&name(path))
            .filter(|(_, l)| l == len)
            .map(|(o, _)| *o);
        match (runs.last_mut(), from) {
            (Some((s, l, Some(p))), Some(f)) if *p + *l == f && *s + *l == at => *l += len,
            (Some((s, l, None)), None) if *s + *l == at => *l += len,
            _ => runs.push((at, *len, from)),
        }
        at += len;
    }
    let total = at;
    // The bytes [a, b) of the new object as stretches of the member files.
    let mut starts = Vec::with_capacity(members.len());
    let mut o = 0u64;
    for (_, len) in members {
        starts.push(o);
        o += len;
    }
    let sources = |a: u64, b: u64| -> Vec<(PathBuf, u64, u64)> {
        let mut out = Vec::new();
        let first = starts.partition_point(|&s| s <= a).saturating_sub(1);
        for i in first..members.len() {
            let (s, len) = (starts[i], members[i].1);
            if s >= b {
                break;
            }
            let lo = a.max(s);
            let hi = b.min(s + len);
            if hi > lo {
                out.push((members[i].0.clone(), lo - s, hi - lo));
            }
        }
        out
    };
    let mut pieces = Vec::new();
    // Bytes [sent_from, a) still to send before a copied range starting at a.
    let mut sent_from = 0u64;
    let send = |pieces: &mut Vec<Piece>, a: u64, b: u64, last: bool| {
        let mut x = a;
        while x < b {
            let mut y = (x + send_part).min(b);
            if b - y < min && !(last && b == y) {
                y = b; // a short remainder joins this part
            }
            pieces.push(Piece {
                sources: sources(x, y),
                copy_of: None,
            });
            x = y;
        }
    };
    if let Some((layout, key)) = prev {
        for &(start, len, from) in &runs {
            let Some(p) = from else { continue };
            let pending = start - sent_from;
            // A short stretch to send borrows the copied range's first bytes.
            let borrow = if pending > 0 && pending < min {
                min - pending
            } else {
                0
            };
            if len < borrow + min {
                continue; // too short to copy: sent with the rest
            }
            send(&mut pieces, sent_from, start + borrow, false);
            let mut x = start + borrow;
            let end = start + len;
            while x < end {
                let mut y = (x + MAX_PART).min(end);
                if end - y < min {
                    y = end;
                }
                pieces.push(Piece {
                    sources: sources(x, y),
                    copy_of: Some((
                        key.to_string(),
                        Version(layout.version.clone()),
                        p + (x - start),
                    )),
                });
                x = y;
            }
            sent_from = end;
        }
    }
    send(&mut pieces, sent_from, total, true);
    pieces
}

/// [`put_rotated`] for an archive made of `members` (files concatenated in order): put to the
/// temporary key as pieces ([`plan_pieces`]; on S3 the stretches unchanged since our last put
/// of `key`, as `layout` remembers it, are copied in the store instead of sent), verified,
/// rotated as [`put_rotated`] does, and the new layout remembered. A copy refused by the store
/// (the object changed since) makes it send everything once more.
pub fn put_rotated_members(
    store: &dyn Backend,
    key: &str,
    members: &[PathBuf],
    layout: &Path,
) -> Result<()> {
    if !store.bucket_exists()? {
        store.create_bucket()?;
    }
    let mut sized = Vec::with_capacity(members.len());
    for m in members {
        let n = std::fs::metadata(m)
            .map_err(|e| Error::io(m.display(), e))?
            .len();
        sized.push((m.clone(), n));
    }
    let size: u64 = sized.iter().map(|m| m.1).sum();
    let prev = Layout::load(layout).filter(|l| {
        !l.version.is_empty()
            && matches!(store.head(key), Ok(Some((n, v))) if n == l.size && v.0 == l.version)
    });
    let temp = format!("{key}.adt-upload-{}", std::process::id());
    let cleanup = |e: Error| {
        let _ = store.delete(&temp);
        e
    };
    let t = std::time::Instant::now();
    let pieces = plan_pieces(&sized, prev.as_ref().map(|l| (l, key)), MIN_PART);
    let copied: u64 = pieces
        .iter()
        .filter(|p| p.copy_of.is_some())
        .map(|p| p.len())
        .sum();
    match store.put_pieces(&temp, &pieces) {
        Ok(()) => {}
        Err(e) if copied > 0 => {
            log::info!(
                "{}/{temp}: copying in the store failed ({e}); sending it all",
                store.describe()
            );
            store
                .put_pieces(&temp, &plan_pieces(&sized, None, MIN_PART))
                .map_err(cleanup)?;
        }
        Err(e) => return Err(cleanup(e)),
    }
    log::debug!(
        "safecopy: {size} bytes put in {:?} ({} pieces, {copied} bytes copied in the store)",
        t.elapsed(),
        pieces.len()
    );
    let files: Vec<&Path> = sized.iter().map(|(m, _)| m.as_path()).collect();
    rotate_verified(store, &temp, key, size, &files)?;
    let version = store.head(key)?.map(|(_, v)| v.0).unwrap_or_default();
    let names = sized
        .iter()
        .map(|(p, n)| {
            (
                p.file_name()
                    .map(|x| x.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                *n,
            )
        })
        .collect();
    let _ = Layout {
        size,
        version,
        members: names,
    }
    .save(layout);
    log::debug!("safecopy: verified and rotated at {:?}", t.elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::local::LocalStore;

    #[test]
    fn a_discarded_upload_leaves_the_current_archive_alone() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path(), "www-example-com-db-daily");
        let f = d.path().join("a.tar.gz");
        std::fs::write(&f, b"good").unwrap();
        put_rotated(&s, "example-DB-backup.tar.gz", &f).unwrap();
        std::fs::write(&f, b"not checked yet").unwrap();
        let up = upload(&s, "example-DB-backup.tar.gz", &f).unwrap();
        assert_eq!(s.get_bytes("example-DB-backup.tar.gz").unwrap(), b"good");
        up.discard();
        let keys: Vec<String> = s
            .list("", false)
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(
            keys,
            ["example-DB-backup.tar.gz"],
            "nothing else, no temporary key"
        );
        upload(&s, "example-DB-backup.tar.gz", &f)
            .unwrap()
            .rotate()
            .unwrap();
        assert_eq!(
            s.get_bytes("example-DB-backup.tar.gz").unwrap(),
            b"not checked yet"
        );
        assert_eq!(
            s.get_bytes("example-DB-backup.tar.gz.BACKUP").unwrap(),
            b"good"
        );
    }

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

    /// Members of the given lengths (file i holds byte i+1 repeated).
    fn members(d: &Path, lens: &[(&str, u64)]) -> Vec<(PathBuf, u64)> {
        lens.iter()
            .enumerate()
            .map(|(i, (n, l))| {
                let p = d.join(n);
                std::fs::write(&p, vec![i as u8 + 1; *l as usize]).unwrap();
                (p, *l)
            })
            .collect()
    }

    fn bytes_of(pieces: &[crate::datastore::Piece]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            p.write_to(&mut out).unwrap();
        }
        out
    }

    #[test]
    fn pieces_copy_the_unchanged_stretches_and_keep_s3s_part_sizes() {
        let d = tempfile::tempdir().unwrap();
        let min = 100;
        let old = members(
            d.path(),
            &[
                ("a", 60),
                ("b", 70),
                ("c", 30),
                ("d", 90),
                ("e", 200),
                ("end", 2),
            ],
        );
        let prev = Layout {
            size: old.iter().map(|m| m.1).sum(),
            version: "\"v1\"".into(),
            members: old
                .iter()
                .map(|(p, n)| (p.file_name().unwrap().to_string_lossy().into_owned(), *n))
                .collect(),
        };
        // c changed (new name), x added at the front.
        let new = members(
            d.path(),
            &[
                ("x", 10),
                ("a", 60),
                ("b", 70),
                ("c2", 35),
                ("d", 90),
                ("e", 200),
                ("end", 2),
            ],
        );
        let want: Vec<u8> = new
            .iter()
            .flat_map(|(p, _)| std::fs::read(p).unwrap())
            .collect();
        let pieces = plan_pieces(&new, Some((&prev, "k")), min);
        assert_eq!(
            bytes_of(&pieces),
            want,
            "the pieces are the archive, in order"
        );
        for p in &pieces[..pieces.len() - 1] {
            assert!(p.len() >= min, "{pieces:?}");
        }
        // Each copied range is the same bytes in the previous object.
        let old_bytes: Vec<u8> = old
            .iter()
            .flat_map(|(p, _)| std::fs::read(p).unwrap())
            .collect();
        let mut copied = 0;
        for p in &pieces {
            if let Some((k, v, start)) = &p.copy_of {
                assert_eq!((k.as_str(), v.0.as_str()), ("k", "\"v1\""));
                let mut mine = Vec::new();
                p.write_to(&mut mine).unwrap();
                assert_eq!(
                    &old_bytes[*start as usize..*start as usize + mine.len()],
                    &mine[..]
                );
                copied += mine.len();
            }
        }
        assert!(copied >= 200, "d and e at least are copied: {pieces:?}");
        // Without a previous object: everything sent, same bytes, same part rule.
        let fresh = plan_pieces(&new, None, min);
        assert!(fresh.iter().all(|p| p.copy_of.is_none()));
        assert_eq!(bytes_of(&fresh), want);
        assert!(fresh[..fresh.len() - 1].iter().all(|p| p.len() >= min));
    }

    #[test]
    fn members_are_put_rotated_and_remembered() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path(), "www-example-com-daily");
        let m = members(d.path(), &[("a", 10), ("b", 20)]);
        let paths: Vec<PathBuf> = m.iter().map(|x| x.0.clone()).collect();
        let layout = d.path().join("layout");
        put_rotated_members(&s, "o", &paths, &layout).unwrap();
        std::fs::write(&paths[1], b"second").unwrap();
        put_rotated_members(&s, "o", &paths, &layout).unwrap();
        let mut want = vec![1u8; 10];
        want.extend_from_slice(b"second");
        assert_eq!(s.get_bytes("o").unwrap(), want);
        let mut first = vec![1u8; 10];
        first.extend(vec![2u8; 20]);
        assert_eq!(s.get_bytes("o.BACKUP").unwrap(), first);
        assert_eq!(s.list("", false).unwrap().objects.len(), 2);
        let l = Layout::load(&layout).unwrap();
        assert_eq!(l.size, 16);
        assert_eq!(l.members, vec![("a".into(), 10), ("b".into(), 6)]);
    }

    /// A local store that gives versions (an MD5 ETag) and refuses copies in the store, as
    /// S3 does when the previous object changed behind our back.
    struct RefusesCopies(LocalStore);

    impl Backend for RefusesCopies {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn bucket_name(&self) -> &str {
            self.0.bucket_name()
        }
        fn bucket_exists(&self) -> Result<bool> {
            self.0.bucket_exists()
        }
        fn create_bucket(&self) -> Result<()> {
            self.0.create_bucket()
        }
        fn put_bytes(&self, key: &str, data: &[u8]) -> Result<()> {
            self.0.put_bytes(key, data)
        }
        fn put_file(&self, key: &str, path: &Path) -> Result<()> {
            self.0.put_file(key, path)
        }
        fn get_to_file(&self, key: &str, dest: &Path) -> Result<u64> {
            self.0.get_to_file(key, dest)
        }
        fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
            self.0.get_bytes(key)
        }
        fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, crate::datastore::Version)>> {
            self.0.get_versioned(key)
        }
        fn put_conditional(
            &self,
            key: &str,
            data: &[u8],
            cond: &crate::datastore::Precondition,
        ) -> Result<bool> {
            self.0.put_conditional(key, data, cond)
        }
        fn list(&self, prefix: &str, delimited: bool) -> Result<crate::datastore::Listing> {
            self.0.list(prefix, delimited)
        }
        fn any_with_prefix(&self, prefix: &str) -> Result<bool> {
            self.0.any_with_prefix(prefix)
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.0.delete(key)
        }
        fn copy(&self, from: &str, to: &str) -> Result<()> {
            self.0.copy(from, to)
        }
        fn head(&self, key: &str) -> Result<Option<(u64, crate::datastore::Version)>> {
            Ok(match self.0.get_bytes(key) {
                Ok(b) => Some((
                    b.len() as u64,
                    crate::datastore::Version(format!("\"{:x}\"", Md5::digest(&b))),
                )),
                Err(_) => None,
            })
        }
        fn put_pieces(&self, key: &str, pieces: &[crate::datastore::Piece]) -> Result<()> {
            if pieces.iter().any(|p| p.copy_of.is_some()) {
                return Err(Error::Store("PreconditionFailed".into()));
            }
            self.0.put_pieces(key, pieces)
        }
    }

    #[test]
    fn a_refused_copy_sends_everything_and_the_md5_is_checked() {
        let d = tempfile::tempdir().unwrap();
        let s = RefusesCopies(LocalStore::new(&d.path().join("store"), "bkt"));
        let m = members(d.path(), &[("a", 6 << 20), ("b", 6 << 20), ("c", 10)]);
        let paths: Vec<PathBuf> = m.iter().map(|x| x.0.clone()).collect();
        let layout = d.path().join("layout");
        put_rotated_members(&s, "o", &paths, &layout).unwrap();
        let l = Layout::load(&layout).unwrap();
        assert_eq!(l.members.len(), 3);
        assert!(!l.version.is_empty(), "the version is remembered");
        // c changes: a and b would be copied; the store refuses; everything is sent.
        std::fs::write(&paths[2], b"changed").unwrap();
        let pieces = plan_pieces(
            &paths
                .iter()
                .map(|p| (p.clone(), std::fs::metadata(p).unwrap().len()))
                .collect::<Vec<_>>(),
            Some((&l, "o")),
            MIN_PART,
        );
        assert!(pieces.iter().any(|p| p.copy_of.is_some()), "{pieces:?}");
        put_rotated_members(&s, "o", &paths, &layout).unwrap();
        let mut want = vec![1u8; 6 << 20];
        want.extend(vec![2u8; 6 << 20]);
        want.extend_from_slice(b"changed");
        assert_eq!(s.get_bytes("o").unwrap(), want);
        assert_eq!(s.get_bytes("o.BACKUP").unwrap().len(), (12 << 20) + 10);
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
