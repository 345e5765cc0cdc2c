//! The config datastore: an S3 bucket shared by the machines of a fleet (or, in development mode
//! and for the demo, a local directory standing in for it), and the legacy wrapper commands over it.
//!
//! What every backend shares lives here: which keys are acceptable ([`validate_key`],
//! [`validate_object_key`]), how a key is shown in a message ([`show_key`]), which downloads are
//! secrets ([`is_secret_key`]), and what happens before and during a download
//! ([`prepare_download`], [`download_temp`]).
//!
//! Differences from legacy: s3cmd sent whatever key it was given (an empty key, `a/./b`, a key
//! over S3's 1024 bytes) and printed the store's answer; we refuse such keys before anything is
//! sent. s3cmd wrote a download in place, readable by everyone, over any file it could open (as
//! root, any file at all); we write it privately beside the destination, give it its final mode
//! just before the rename, and refuse to replace a destination this process may not write.

pub mod accounts;
pub mod conditional;
pub mod local;
pub mod reset;
pub mod s3;
pub mod s3cfg;
pub mod tunnel;

use crate::error::{Error, Result};
use crate::fsutil::{self, TempFile};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One object in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// A listing under a prefix: objects, and with a delimiter the "directories" (common prefixes,
/// each ending in `/`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub objects: Vec<ObjectInfo>,
    pub prefixes: Vec<String>,
}

/// A version tag of an object for conditional writes (the S3 ETag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version(pub String);

/// The condition of a conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Write only if the object is still at this version.
    IfMatch(Version),
    /// Write only if the object does not exist.
    IfAbsent,
}

/// One piece of an object put by [`Backend::put_pieces`]: its bytes are stretches of local
/// files, and may also be a range of an object already in the bucket, which a store that copies
/// server-side (S3's UploadPartCopy) copies instead of receiving them again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The bytes: (file, first byte, length), in order.
    pub sources: Vec<(PathBuf, u64, u64)>,
    /// The same bytes in this bucket: (key, the version they were read from, first byte).
    pub copy_of: Option<(String, Version, u64)>,
}

impl Piece {
    pub fn len(&self) -> u64 {
        self.sources.iter().map(|s| s.2).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append the piece's bytes, read from its local files, to `out` (file to file, the
    /// kernel copies them: `copy_file_range`, no pass through this process's memory).
    pub fn write_to<W: std::io::Write + ?Sized>(&self, out: &mut W) -> Result<()> {
        use std::io::{Read, Seek};
        for (path, start, len) in &self.sources {
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path.display(), e))?;
            f.seek(std::io::SeekFrom::Start(*start))
                .map_err(|e| Error::io(path.display(), e))?;
            let n =
                std::io::copy(&mut f.take(*len), out).map_err(|e| Error::io(path.display(), e))?;
            if n != *len {
                return Err(Error::Io(format!(
                    "{}: {n} bytes read of {len} (the file shrank)",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}

/// What a datastore can do. Keys are object names inside the bucket (`webserverips/10.0.0.5`).
pub trait Backend: Send + Sync {
    /// `s3://bucket` or `local:/dir/bucket`, for messages.
    fn describe(&self) -> String;
    /// The store and bucket, endpoint included, for remembering what was found out about them
    /// (`s3://bucket at http://host:port`).
    fn identity(&self) -> String {
        self.describe()
    }
    /// Whether this backend enforces conditional writes by construction; `None` when that
    /// depends on the store behind it, which [`conditional::conditional_writes`] then probes.
    fn conditional_writes(&self) -> Option<conditional::CondWrites> {
        None
    }
    /// One deadline for the whole command, starting now: every later call ends within the
    /// store's own call deadline from this moment (plus what a large transfer's size earns), so
    /// the calls of one wrapper command share one budget. Long-running commands (the autoscaler's) do not set it: each call then has its
    /// own deadline. A backend without network calls ignores it.
    fn bound_command(&self) {}
    fn bucket_name(&self) -> &str;
    fn bucket_exists(&self) -> Result<bool>;
    fn create_bucket(&self) -> Result<()>;
    fn put_bytes(&self, key: &str, data: &[u8]) -> Result<()>;
    fn put_file(&self, key: &str, path: &Path) -> Result<()>;
    /// Download to `dest` through a temporary file: `dest` is replaced only by a complete copy.
    fn get_to_file(&self, key: &str, dest: &Path) -> Result<u64>;
    fn get_bytes(&self, key: &str) -> Result<Vec<u8>>;
    /// The object and its version, or `None` if it does not exist.
    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>>;
    /// A conditional write. `Err(Error::Conflict)` when the condition no longer holds (an
    /// `If-Match` on an object that no longer exists included); `Ok(false)` when the store
    /// refuses to evaluate conditions (the caller then needs a lock). A store that ignores the
    /// condition answers `Ok(true)` all the same: callers that rely on the condition check the
    /// bucket with [`conditional::conditional_writes`] first.
    fn put_conditional(&self, key: &str, data: &[u8], cond: &Precondition) -> Result<bool>;
    fn list(&self, prefix: &str, delimited: bool) -> Result<Listing>;
    /// Whether any object's key starts with `prefix`.
    fn any_with_prefix(&self, prefix: &str) -> Result<bool>;
    /// Delete one object; deleting an absent object succeeds (as in S3).
    fn delete(&self, key: &str) -> Result<()>;
    /// Delete many objects (absent ones succeed); returns how many keys were sent. The S3
    /// backend sends them in batches of [`DELETE_BATCH`] (DeleteObjects), a key the store
    /// refused failing the whole call with the store's reason.
    fn delete_many(&self, keys: &[String]) -> Result<usize> {
        for k in keys {
            self.delete(k)?;
        }
        Ok(keys.len())
    }
    /// Every bucket of the account (the store this backend talks to). A backend that cannot
    /// list buckets says so.
    fn list_buckets(&self) -> Result<Vec<String>> {
        Err(Error::Store(format!(
            "{}: listing buckets is not supported by this backend",
            self.describe()
        )))
    }
    /// An object's size and version (the S3 ETag: the MD5 of a single-part upload), or `None`
    /// when it does not exist. The default lists for the size and gives an empty version.
    fn head(&self, key: &str) -> Result<Option<(u64, Version)>> {
        Ok(object_size(self, key)?.map(|n| (n, Version(String::new()))))
    }
    /// Put the concatenation of `pieces` as `key`, replacing it whole or not at all. The
    /// default writes the bytes through a private temporary file; S3 sends one multipart upload
    /// whose parts are the pieces, copying server-side those that say where their bytes
    /// already are, and checks every part's MD5.
    fn put_pieces(&self, key: &str, pieces: &[Piece]) -> Result<()> {
        put_pieces_staged(self, key, pieces)
    }

    /// Copy object `from` to `to` inside the bucket, replacing `to` whole or not at all (S3's
    /// CopyObject). The default goes through a private temporary file.
    fn copy(&self, from: &str, to: &str) -> Result<()> {
        let tmp = tempfile_near_home()?;
        let path = tmp.join("copy");
        self.get_to_file(from, &path)?;
        let r = self.put_file(to, &path);
        let _ = std::fs::remove_dir_all(&tmp);
        r
    }
}

/// [`Backend::put_pieces`] through a staged file: the pieces' bytes written to a private
/// temporary file, then put whole.
pub fn put_pieces_staged<B: Backend + ?Sized>(
    store: &B,
    key: &str,
    pieces: &[Piece],
) -> Result<()> {
    let tmp = tempfile_near_home()?;
    let path = tmp.join("pieces");
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(path.display(), e))?;
        for p in pieces {
            p.write_to(&mut f)?;
        }
        drop(f);
        store.put_file(key, &path)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    r
}

/// A private scratch directory (0700) under the system's temporary directory, for
/// [`Backend::copy`]'s default.
fn tempfile_near_home() -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!(
        "adt-copy-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::io(dir.display(), e))?;
    Ok(dir)
}

/// How many keys one S3 DeleteObjects call may carry.
pub const DELETE_BATCH: usize = 1000;

/// The longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// How much of a key a message shows: long keys are cut after this many characters.
const SHOWN_KEY_CHARS: usize = 80;

/// A key as messages show it: whole when short, else its first 80 characters and `…`.
pub fn show_key(key: &str) -> String {
    match key.char_indices().nth(SHOWN_KEY_CHARS) {
        Some((i, _)) => format!("{}…", &key[..i]),
        None => key.to_string(),
    }
}

/// Refuse keys that S3 would refuse, that could escape the bucket's namespace, or that legacy
/// quoting would split: empty keys, keys over 1024 bytes, `.` and `..` segments, white space
/// and control characters. Nothing is sent for a refused key.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::Usage(format!("key {:?} {why}", show_key(key))));
    if key.is_empty() {
        return Err(Error::Usage("the key is empty".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return bad(&format!(
            "is {} bytes long; S3 allows at most {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    if key.split('/').any(|seg| seg == "..") {
        return bad("contains '..'");
    }
    if key.split('/').any(|seg| seg == ".") {
        return bad("contains a '.' segment");
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains white space or control characters");
    }
    Ok(())
}

/// [`validate_key`] for a key that must name one object: also refuse a key ending in `/` (a
/// "directory").
pub fn validate_object_key(key: &str) -> Result<()> {
    validate_key(key)?;
    if key.ends_with('/') {
        return Err(Error::Usage(format!(
            "key {:?} ends in '/': it names a directory, not an object",
            show_key(key)
        )));
    }
    Ok(())
}

/// Keys whose downloads are secrets, written 0600: the database credentials (`credentials/*`,
/// `shit`), private keys (anything under `keys/`, `id_rsa`, `id_dsa`, `id_ecdsa`, `id_ed25519`,
/// `*_AGILE_DEPLOYMENT_BUILD_KEY`), `*.pem` and `*.key`. A `.pub` file is public unless it is
/// under `credentials/`.
pub fn is_secret_key(key: &str) -> bool {
    let base = key.rsplit('/').next().unwrap_or(key);
    if key.starts_with("credentials/") || base == "shit" {
        return true;
    }
    if base.ends_with(".pub") {
        return false;
    }
    key.starts_with("keys/")
        || matches!(base, "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519")
        || base.ends_with("_AGILE_DEPLOYMENT_BUILD_KEY")
        || base.ends_with(".pem")
        || base.ends_with(".key")
}

/// Before a download replaces `dest`:
///
/// - refuse a `dest` this process may not write (s3cmd, which wrote in place, would have been
///   refused; our rename needs only the directory). Root passes every access check, so root
///   also refuses a file of another user that lacks its owner's write bit: someone made it
///   read-only on purpose. Root's own read-only files are replaced, as s3cmd run by root did;
/// - remove the temporary files that dead processes left in its directory (a download killed
///   mid-transfer cannot clean up after itself; its file is 0600, and now it goes).
pub fn prepare_download(dest: &Path) -> Result<()> {
    check_replaceable(dest)?;
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let me = std::process::id() as i32;
    for (path, pid) in fsutil::temp_files_in(dir) {
        if pid != me && !crate::process::is_alive(pid) {
            match std::fs::remove_file(&path) {
                Ok(()) => log::debug!("removed {}, left by process {pid}", path.display()),
                Err(e) => log::debug!("cannot remove {}: {e}", path.display()),
            }
        }
    }
    Ok(())
}

fn check_replaceable(dest: &Path) -> Result<()> {
    use nix::unistd::{access, geteuid, AccessFlags};
    use std::os::unix::fs::MetadataExt;
    let Ok(md) = std::fs::metadata(dest) else {
        return Ok(()); // nothing there to protect
    };
    if md.is_dir() {
        return Err(Error::Io(format!("{} is a directory", dest.display())));
    }
    let refuse = |why: String| {
        Err(Error::Io(format!(
            "{}: {why}; not replaced by the download",
            dest.display()
        )))
    };
    if let Err(e) = access(dest, AccessFlags::W_OK) {
        return refuse(format!(
            "this user (uid {}) may not write it ({e})",
            geteuid()
        ));
    }
    if geteuid().is_root() && md.uid() != 0 && md.mode() & 0o200 == 0 {
        return refuse(format!(
            "it is read-only (mode {:o}) and belongs to uid {}",
            md.mode() & 0o7777,
            md.uid()
        ));
    }
    Ok(())
}

/// The temporary file a download of `key` to `dest` goes to: 0600 while it is written; at
/// commit 0600 for a secret, else the mode of the file it replaces, else 0644.
pub fn download_temp(key: &str, dest: &Path) -> Result<TempFile> {
    TempFile::new(dest, is_secret_key(key).then_some(0o600))
}

/// The size of object `key`, or `None` when there is no such object (one delimited listing).
pub fn object_size<B: Backend + ?Sized>(store: &B, key: &str) -> Result<Option<u64>> {
    Ok(store
        .list(key, true)?
        .objects
        .into_iter()
        .find(|o| o.key == key)
        .map(|o| o.size))
}

/// Where the datastore is, as selected by configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The S3 store described by s3cmd's configuration file at this path.
    S3 { s3cfg: PathBuf },
    /// The embedded default: a directory whose subdirectories stand in for buckets.
    Local { root: PathBuf },
    /// The S3 store of one account of a 2025 machine, described by that account's file of the
    /// machine's datastore tool (`/root/.s3cfg-N`, `.s5cfg-N` or `rclone.conf-N`).
    Account {
        tool: accounts::Tool,
        config: PathBuf,
    },
}

/// The selection file, `<home>/.adt-rs/datastore`: `backend = local|s3`, `root = DIR`,
/// `s3cfg = FILE`. `ADT_DATASTORE` (`local:DIR` or `s3:FILE`) overrides it.
pub fn selection(home: &Path, default_s3cfg: &Path) -> Result<Selection> {
    selection_or(
        home,
        Selection::S3 {
            s3cfg: default_s3cfg.into(),
        },
    )
}

/// [`selection`] with another default for the S3 store (a 2025 machine's first account).
pub fn selection_or(home: &Path, default: Selection) -> Result<Selection> {
    let s3_default = |explicit: Option<PathBuf>| match (explicit, &default) {
        (Some(f), _) => Selection::S3 { s3cfg: f },
        (None, d) => d.clone(),
    };
    if let Ok(v) = std::env::var("ADT_DATASTORE") {
        if let Some(dir) = v.strip_prefix("local:") {
            return Ok(Selection::Local { root: dir.into() });
        }
        if let Some(f) = v.strip_prefix("s3:") {
            return Ok(s3_default((!f.is_empty()).then(|| f.into())));
        }
        if v == "s3" {
            return Ok(s3_default(None));
        }
        return Err(Error::Config(format!(
            "ADT_DATASTORE={v:?} is neither local:DIR nor s3:FILE"
        )));
    }
    let file = home.join(".adt-rs").join("datastore");
    let mut backend = String::from("s3");
    let mut root = None;
    let mut s3cfg = None;
    if let Ok(text) = std::fs::read_to_string(&file) {
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                match k.trim() {
                    "backend" => backend = v.trim().to_string(),
                    "root" => root = Some(PathBuf::from(v.trim())),
                    "s3cfg" => s3cfg = Some(PathBuf::from(v.trim())),
                    _ => {}
                }
            }
        }
    }
    match backend.as_str() {
        "local" => Ok(Selection::Local {
            root: root.unwrap_or_else(|| home.join(".adt-rs").join("datastore.d")),
        }),
        "s3" => Ok(s3_default(s3cfg)),
        other => Err(Error::Config(format!(
            "{}: unknown backend {other:?} (local or s3)",
            file.display()
        ))),
    }
}

/// Open the backend for `bucket`.
pub fn open(sel: &Selection, bucket: &str) -> Result<Box<dyn Backend>> {
    match sel {
        Selection::Local { root } => Ok(Box::new(local::LocalStore::new(root, bucket))),
        Selection::S3 { s3cfg } => {
            let cfg = s3cfg::S3Config::load(s3cfg)?;
            Ok(Box::new(s3::S3Store::new(&cfg, bucket)?))
        }
        Selection::Account { tool, config } => {
            let cfg = tool.load(config)?;
            Ok(Box::new(s3::S3Store::new(&cfg, bucket)?))
        }
    }
}

/// `*` glob matching (as s3cmd applies to wildcard URIs): `*` matches any run of characters,
/// `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("webserverips/10.0.0.1").is_ok());
        assert!(validate_key("a/../b").is_err());
        assert!(validate_key("..").is_err());
        assert!(validate_key("a b").is_err());
        assert!(validate_key("a\tb").is_err());
        assert!(validate_key("a..b").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("a/./b").is_err());
        assert!(validate_key("./b").is_err());
        assert!(validate_key(".hidden").is_ok());
        assert!(validate_key("webserverips/").is_ok());
        assert!(validate_object_key("webserverips/").is_err());
        assert!(validate_key(&"k".repeat(1024)).is_ok());
        let e = validate_key(&"k".repeat(1025)).unwrap_err().to_string();
        assert!(e.contains("1025 bytes") && e.contains("1024"), "{e}");
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn long_keys_are_cut_in_messages() {
        assert_eq!(show_key("short"), "short");
        let k = "é".repeat(100);
        assert_eq!(show_key(&k), format!("{}…", "é".repeat(80)));
    }

    #[test]
    fn secrets() {
        for k in [
            "credentials/shit",
            "shit",
            "keys/id_rsa",
            "keys/anything",
            "x/id_ed25519",
            "id_ecdsa",
            "b/X1234X_AGILE_DEPLOYMENT_BUILD_KEY",
            "ssl/privkey.pem",
            "ssl/server.key",
            "credentials/x.pub",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "keys/id_rsa.pub",
            "b/X1234X_AGILE_DEPLOYMENT_BUILD_KEY.pub",
            "webserverips/10.0.0.1",
            "scalingprofile/profile.cnf",
            "id_rsa_notes.txt",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("webserverips/*", "webserverips/1.2.3.4"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c", "abbbc"));
        assert!(!glob_match("a*c", "abbbd"));
        assert!(glob_match("beenonline/1.2.3.?", "beenonline/1.2.3.4"));
    }
}
