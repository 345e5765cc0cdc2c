//! The config datastore wrappers of `providerscripts/datastore/configwrapper/`, with the stdout,
//! files and exit statuses legacy callers see (see `shared/spec/config-system-2022.md`).
//!
//! stdout: the lines callers parse (List, Check, GetDBCredential) are byte-identical. s3cmd's
//! transfer lines (`upload: 'SRC' -> 's3://B/K' (N bytes in T seconds, R B/s) [1 of 1]`,
//! `download: …`, `delete: …`) are reproduced in s3cmd's shape; their timing figures are ours.
//! stderr: one clear line per failure instead of s3cmd's messages.
//!
//! Differences from legacy (stdout and exit statuses are the legacy ones, except that a refused
//! marker below fails):
//!
//! - Put of a FILE that does not exist (as given or in /tmp) uploads an empty marker, as
//!   legacy did, but only where that loses nothing: when the object is absent or already
//!   empty. A non-empty object is kept, with one line on stderr and the failure status.
//! - Get never replaces a destination this user may not write (see
//!   `crate::datastore::prepare_download`), writes secrets 0600 from their first byte (see
//!   `crate::datastore::is_secret_key`), and says so when asked for a "directory" key without
//!   `recursive` (legacy printed nothing).
//! - Keys S3 would refuse (empty, over 1024 bytes, `.` or `..` segments) are refused before
//!   anything is sent, in one line.

use super::{arg, finish, with_store, Ctx, Outcome};
use crate::datastore::tunnel;
use crate::datastore::{glob_match, object_size, show_key, validate_key, Backend, Listing};
use crate::error::{Context, Error, Result};
use crate::home::Machine;
use crate::layout::Wrappers;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// s3cmd's transfer summary: ` (N bytes in T seconds, R XB/s)`.
fn stats(bytes: u64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let (mut speed, mut unit) = if bytes == 0 || secs <= 0.0 {
        (-1.0, "")
    } else {
        (bytes as f64 / secs, "")
    };
    for u in ["K", "M", "G", "T"] {
        if speed > 2048.0 {
            speed /= 1024.0;
            unit = u;
        }
    }
    format!("({bytes} bytes in {secs:.1} seconds, {speed:.2} {unit}B/s)")
}

pub(super) fn uri(store: &dyn Backend, key: &str) -> String {
    format!("s3://{}/{}", store.bucket_name(), key)
}

/// s3cmd put's key rule: no PLACE → basename; PLACE ending in `/` → PLACE + basename.
fn put_key(source: &str, place: &str) -> String {
    let place = place.trim_start_matches('/');
    if place.is_empty() {
        basename(source).to_string()
    } else if place.ends_with('/') {
        format!("{place}{}", basename(source))
    } else {
        place.to_string()
    }
}

/// PutToConfigDatastore FILE [PLACE] [recursive]. FILE is looked up as given, then in /tmp;
/// if neither exists an empty marker object is uploaded.
pub fn put_to(ctx: &Ctx, store: &dyn Backend, file: &str, place: &str, recursive: bool) -> Outcome {
    let mut stdout = String::new();
    if recursive {
        return match put_recursive(store, Path::new(file), place, &mut stdout) {
            Ok(()) => Outcome::ok(stdout),
            Err(e) => {
                ctx.report(&e);
                Outcome { stdout, status: 1 }
            }
        };
    }
    let given = Path::new(file);
    let in_tmp = ctx.tmp.join(file.trim_start_matches('/'));
    let key = put_key(file, place);
    let started = Instant::now();
    let result = if !file.is_empty() && given.is_file() {
        store
            .put_file(&key, given)
            .map(|_| (file.to_string(), file_len(given)))
    } else if !file.is_empty() && in_tmp.is_file() {
        store
            .put_file(&key, &in_tmp)
            .map(|_| (in_tmp.display().to_string(), file_len(&in_tmp)))
    } else if file.is_empty() {
        Err(Error::Usage("no file or marker name given".into()))
    } else if key.is_empty() {
        Err(Error::Usage(format!(
            "{file:?} names no object (it ends in '/' and no PLACE was given)"
        )))
    } else {
        put_marker(store, &key, file, &in_tmp).map(|_| (in_tmp.display().to_string(), 0))
    };
    let status = match result {
        Ok((src, n)) => {
            let _ = writeln!(
                stdout,
                "upload: '{src}' -> '{}' {} [1 of 1]",
                uri(store, &key),
                stats(n, started)
            );
            0
        }
        Err(e) => {
            ctx.report(&e);
            1
        }
    };
    // The webserver's wrapper ends by touching runtime/APP_CONFIG_UPDATED; its exit status
    // is that touch's.
    if ctx.machine == Machine::Webserver {
        let runtime = ctx.home.join("runtime");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(runtime.join("APP_CONFIG_UPDATED"));
        return Outcome::ok(stdout);
    }
    Outcome { stdout, status }
}

/// Marker mode: the legacy script touched /tmp/FILE and uploaded it, so an empty object. That
/// is only ever meant to create a marker: an object that already holds data is kept.
pub(super) fn put_marker(store: &dyn Backend, key: &str, file: &str, in_tmp: &Path) -> Result<()> {
    crate::datastore::validate_object_key(key)?;
    let size = object_size(store, key).with_context(|| format!("marker {}", show_key(key)))?;
    match size {
        Some(n) if n > 0 => Err(Error::Io(format!(
            "{file} does not exist (nor {}); {} holds {n} bytes and is kept (an empty marker \
             would have replaced it)",
            in_tmp.display(),
            uri(store, &show_key(key))
        ))),
        _ => store.put_bytes(key, b""),
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn put_recursive(store: &dyn Backend, src: &Path, place: &str, stdout: &mut String) -> Result<()> {
    let s = src.to_string_lossy();
    let mut base = place.trim_start_matches('/').to_string();
    if !base.is_empty() && !base.ends_with('/') {
        base.push('/');
    }
    if src.is_file() {
        let key = put_key(&s, place);
        let started = Instant::now();
        store.put_file(&key, src)?;
        let _ = writeln!(
            stdout,
            "upload: '{s}' -> '{}' {} [1 of 1]",
            uri(store, &key),
            stats(file_len(src), started)
        );
        return Ok(());
    }
    if !src.is_dir() {
        return Err(Error::Io(format!("{s}: no such file or directory")));
    }
    // rsync-like: `dir` uploads as `dir/...`, `dir/` uploads its contents.
    if !s.ends_with('/') {
        if let Some(n) = src.file_name() {
            base.push_str(&n.to_string_lossy());
            base.push('/');
        }
    }
    let mut files = Vec::new();
    walk_files(src, "", &mut files)?;
    files.sort();
    let total = files.len();
    for (i, rel) in files.iter().enumerate() {
        let path = src.join(rel);
        let key = format!("{base}{rel}");
        let started = Instant::now();
        store.put_file(&key, &path)?;
        let _ = writeln!(
            stdout,
            "upload: '{}' -> '{}' {} [{} of {total}]",
            path.display(),
            uri(store, &key),
            stats(file_len(&path), started),
            i + 1
        );
    }
    Ok(())
}

fn walk_files(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    for ent in std::fs::read_dir(dir).map_err(|e| Error::io(dir.display(), e))? {
        let ent = ent.map_err(|e| Error::io(dir.display(), e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let r = format!("{rel}{name}");
        let ft = ent
            .file_type()
            .map_err(|e| Error::io(ent.path().display(), e))?;
        if ft.is_dir() {
            walk_files(&ent.path(), &format!("{r}/"), out)?;
        } else if ft.is_file() {
            out.push(r);
        }
    }
    Ok(())
}

/// Where a download to DEST lands (a directory gets the key's basename inside it).
fn dest_path(dest: &Path, key: &str) -> PathBuf {
    if dest.is_dir() || dest.to_string_lossy().ends_with('/') {
        dest.join(basename(key))
    } else {
        dest.to_path_buf()
    }
}

fn download(store: &dyn Backend, key: &str, dest: &Path, stdout: &mut String) -> Result<()> {
    let started = Instant::now();
    let n = store.get_to_file(key, dest)?;
    let _ = writeln!(
        stdout,
        "download: '{}' -> '{}' {}",
        uri(store, key),
        dest.display(),
        stats(n, started)
    );
    Ok(())
}

/// GetFromConfigDatastore KEY [DEST] [recursive]: always to `/tmp/<basename>`, also to DEST.
/// Exit 0 unless recursive (then the recursive fetch's status), as the legacy script.
pub fn get_from(ctx: &Ctx, store: &dyn Backend, key: &str, dest: &str, recursive: bool) -> Outcome {
    let mut stdout = String::new();
    if key.is_empty() {
        ctx.report(&Error::Usage("a key is required".into()));
        return Outcome::ok(stdout);
    }
    let is_object_key = !key.ends_with('/');
    if !is_object_key && !recursive {
        ctx.report(&Error::Usage(format!(
            "key {:?} ends in '/': it names a directory, not an object (add `recursive` to fetch \
             what is under it)",
            show_key(key)
        )));
        return Outcome::ok(stdout);
    }
    let mut first_err = None;
    if is_object_key {
        let tmp_dest = ctx.tmp.join(basename(key));
        if let Err(e) = download(store, key, &tmp_dest, &mut stdout) {
            first_err = Some(e);
        }
        if !dest.is_empty() && first_err.is_none() {
            if let Err(e) = download(store, key, &dest_path(Path::new(dest), key), &mut stdout) {
                first_err = Some(e);
            }
        }
    }
    if recursive {
        let r = get_recursive(
            store,
            key,
            Path::new(if dest.is_empty() { "." } else { dest }),
            &mut stdout,
        );
        return match r {
            Ok(_) => Outcome::ok(stdout),
            Err(e) => {
                ctx.report(&e);
                Outcome { stdout, status: 1 }
            }
        };
    }
    if let Some(e) = first_err {
        ctx.report(&e);
    }
    Outcome::ok(stdout)
}

/// Fetch every object under PREFIX into DEST (rsync-like: `a/b` lands as `DEST/b/...`,
/// `a/b/` as `DEST/...`). Returns how many objects were fetched.
pub fn get_recursive(
    store: &dyn Backend,
    prefix: &str,
    dest: &Path,
    stdout: &mut String,
) -> Result<usize> {
    let listing = store.list(prefix, false)?;
    let strip = if prefix.ends_with('/') || prefix.is_empty() {
        prefix.len()
    } else {
        prefix.rfind('/').map(|i| i + 1).unwrap_or(0)
    };
    let objects: Vec<_> = listing
        .objects
        .iter()
        .filter(|o| !o.key.ends_with('/'))
        // `a/b` covers `a/b` and `a/b/...`, not `a/bc`.
        .filter(|o| {
            prefix.ends_with('/') || o.key == prefix || o.key[prefix.len()..].starts_with('/')
        })
        .collect();
    if objects.is_empty() {
        return Err(Error::NotFound(uri(store, prefix)));
    }
    for o in &objects {
        let rel = &o.key[strip..];
        validate_key(rel)?;
        let path = dest.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        download(store, &o.key, &path, stdout)?;
    }
    Ok(objects.len())
}

/// ListFromConfigDatastore PREFIX[*]: the basenames of the objects directly under the prefix
/// (a trailing `*` is dropped, as s3cmd ls does; "directories" print nothing). Exit 0 always.
pub fn list_from(ctx: &Ctx, store: &dyn Backend, arg: &str) -> Outcome {
    let prefix = arg.strip_suffix('*').unwrap_or(arg);
    match store.list(prefix, true) {
        Ok(l) => Outcome::ok(list_names(&l)),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok(String::new())
        }
    }
}

/// The List wrapper's output for a listing.
pub fn list_names(l: &Listing) -> String {
    let mut out = String::new();
    for o in &l.objects {
        let b = basename(&o.key);
        if !b.is_empty() {
            out.push_str(b);
            out.push('\n');
        }
    }
    out
}

/// CheckConfigDatastore KEY: `1` if anything's key starts with KEY, else `0`. Exit 0.
pub fn check_in(ctx: &Ctx, store: Result<Box<dyn Backend>>, key: &str) -> Outcome {
    if key.is_empty() {
        return Outcome::ok("0\n");
    }
    let prefix = key.strip_suffix('*').unwrap_or(key);
    let hit = store.and_then(|s| s.any_with_prefix(prefix));
    match hit {
        Ok(true) => Outcome::ok("1\n"),
        Ok(false) => Outcome::ok("0\n"),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("0\n")
        }
    }
}

/// DeleteFromConfigDatastore KEY: one key, or every key matching a `*`/`?` glob (listed from
/// the prefix before the first wildcard, recursively only if the pattern has a `/` after it).
pub fn delete_from(ctx: &Ctx, store: &dyn Backend, key: &str) -> Outcome {
    if key.is_empty() {
        ctx.report(&Error::Usage(
            "a key is required (refusing to delete the bucket)".into(),
        ));
        return Outcome::failed(64);
    }
    let wild = key.find(['*', '?']);
    let keys: Result<Vec<String>> = match wild {
        None => Ok(vec![key.to_string()]),
        Some(i) => {
            let prefix = &key[..i];
            let recursive = key[i..].contains('/');
            store.list(prefix, !recursive).map(|l| {
                l.objects
                    .into_iter()
                    .map(|o| o.key)
                    .filter(|k| glob_match(key, k))
                    .collect()
            })
        }
    };
    let keys = match keys {
        Ok(k) => k,
        Err(e) => {
            ctx.report(&e);
            return Outcome::failed(1);
        }
    };
    delete_each(ctx, store, keys)
}

/// Delete each of `keys`, printing s3cmd's `delete: 'URI'` line for each one gone; a failure
/// is reported and the rest still go (status 1).
pub(super) fn delete_each(ctx: &Ctx, store: &dyn Backend, keys: Vec<String>) -> Outcome {
    let mut stdout = String::new();
    let mut status = 0;
    for k in keys {
        match store.delete(&k) {
            Ok(()) => {
                let _ = writeln!(stdout, "delete: '{}'", uri(store, &k));
            }
            Err(e) => {
                ctx.report(&e);
                status = 1;
            }
        }
    }
    Outcome { stdout, status }
}

/// GetDBCredential KEY N: fetch KEY to `/tmp/<basename>` (0600), print its line N (1-3).
/// A failed fetch leaves an existing copy in place, and that copy is read (legacy behaviour).
pub fn db_credential(ctx: &Ctx, store: Result<Box<dyn Backend>>, key: &str, n: &str) -> Outcome {
    let file = ctx.tmp.join(basename(key));
    if basename(key).is_empty() {
        // No object, and no file to read the last good copy from.
        ctx.report(
            &crate::datastore::validate_object_key(key)
                .err()
                .unwrap_or_else(|| {
                    Error::Usage(format!("key {:?} names no object", show_key(key)))
                }),
        );
        return Outcome {
            stdout: String::new(),
            status: if n == "3" { 2 } else { 0 },
        };
    }
    let fetched = store.and_then(|s| {
        s.get_to_file(key, &file)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(file.display(), e))
    });
    if let Err(e) = fetched {
        ctx.report(&e);
    }
    let line_no: usize = match n {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        _ => return Outcome::ok(String::new()),
    };
    match std::fs::read(&file) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            // sed 'Nq;d': line N with its newline if it has one.
            let line = text.split_inclusive('\n').nth(line_no - 1).unwrap_or("");
            Outcome::ok(line.to_string())
        }
        Err(e) => {
            ctx.report(&Error::io(file.display(), e));
            // sed's status for a missing file surfaces only for N=3 (the script's last command).
            Outcome {
                stdout: String::new(),
                status: if line_no == 3 { 2 } else { 0 },
            }
        }
    }
}

/// SyncFromDatastoreTunnel: fetch `webrootsynctunnel/` into the webroot, downloading objects
/// that are missing locally or differ in size (s3cmd sync without --delete-removed).
pub fn sync_from(ctx: &Ctx, store: &dyn Backend, webroot: &Path) -> Outcome {
    let mut stdout = String::new();
    let prefix = "webrootsynctunnel/";
    let r = store.list(prefix, false).and_then(|l| {
        for o in l.objects.iter().filter(|o| !o.key.ends_with('/')) {
            let rel = &o.key[prefix.len()..];
            validate_key(rel)?;
            let path = webroot.join(rel);
            if std::fs::metadata(&path)
                .map(|m| m.len() == o.size)
                .unwrap_or(false)
            {
                continue;
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
            }
            download(store, &o.key, &path, &mut stdout)?;
        }
        Ok(())
    });
    match r {
        Ok(()) => Outcome::ok(stdout),
        Err(e) => {
            ctx.report(&e);
            Outcome { stdout, status: 1 }
        }
    }
}

/// PutToConfigDatastore.sh FILE [PLACE] [recursive]
/// (build machine: PutToConfigDatastore.sh WEBSITEURL FILE [PLACE] [recursive])
pub fn put(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.gen.contract.wrappers == Wrappers::V2025 {
        return super::configwrapper_2025::put(ctx, args);
    }
    if ctx.machine == Machine::Build {
        let bucket = ctx.gen.config_bucket(arg(args, 0), "");
        return super::run_on(ctx, super::bounded(ctx.store_for_bucket(&bucket)), 1, |s| {
            put_to(
                ctx,
                s,
                arg(args, 1),
                arg(args, 2),
                arg(args, 3) == "recursive",
            )
        });
    }
    // The webserver's script ends with a `touch` (status 0); the others with the upload.
    let failed = if ctx.machine == Machine::Webserver {
        0
    } else {
        1
    };
    with_store(ctx, failed, |s| {
        put_to(
            ctx,
            s,
            arg(args, 0),
            arg(args, 1),
            arg(args, 2) == "recursive",
        )
    })
}

/// GetFromConfigDatastore.sh KEY [DEST] [recursive]
pub fn get(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.gen.contract.wrappers == Wrappers::V2025 {
        return super::configwrapper_2025::get(ctx, args);
    }
    let recursive = arg(args, 2) == "recursive";
    with_store(ctx, i32::from(recursive), |s| {
        get_from(ctx, s, arg(args, 0), arg(args, 1), recursive)
    })
}

/// ListFromConfigDatastore.sh PREFIX[*] → one basename per line
pub fn list(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.gen.contract.wrappers == Wrappers::V2025 {
        return super::configwrapper_2025::list(ctx, args);
    }
    with_store(ctx, 0, |s| list_from(ctx, s, arg(args, 0)))
}

/// CheckConfigDatastore.sh KEY → 1 or 0
pub fn check(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.gen.contract.wrappers == Wrappers::V2025 {
        return super::configwrapper_2025::check(ctx, args);
    }
    let key = arg(args, 0);
    // An empty key answers 0 without touching settings or the store.
    let store = if key.is_empty() {
        Err(Error::Usage(String::new()))
    } else {
        super::bounded(ctx.store())
    };
    finish(check_in(ctx, store, key))
}

/// DeleteFromConfigDatastore.sh KEY (a `*` glob deletes every match)
pub fn delete(ctx: &Ctx, args: &[String]) -> i32 {
    if ctx.gen.contract.wrappers == Wrappers::V2025 {
        return super::configwrapper_2025::delete(ctx, args);
    }
    with_store(ctx, 1, |s| delete_from(ctx, s, arg(args, 0)))
}

/// GetDBCredential.sh KEY N → line N (1 name, 2 password, 3 user) of the credentials object
pub fn get_db_credential(ctx: &Ctx, args: &[String]) -> i32 {
    finish(db_credential(
        ctx,
        super::bounded(ctx.store()),
        arg(args, 0),
        arg(args, 1),
    ))
}

/// SyncFromDatastoreTunnel.sh: webrootsynctunnel/ → the webroot (/var/www/html)
pub fn sync_from_tunnel(ctx: &Ctx, _args: &[String]) -> i32 {
    let webroot = ctx.webroot();
    with_store(ctx, 1, |s| sync_from(ctx, s, &webroot))
}

/// SyncToDatastoreTunnel.sh: new and changed webroot files → webrootsynctunnel/ (only once the
/// database credentials exist, as legacy).
pub fn sync_to_tunnel(ctx: &Ctx, _args: &[String]) -> i32 {
    let r = (|| -> Result<Outcome> {
        let store = ctx.store()?;
        if !store.any_with_prefix("credentials/shit")? {
            return Ok(Outcome::ok(""));
        }
        let webroot = ctx.webroot();
        let settings = ctx.settings().unwrap_or_default();
        let changed = tunnel::changed_files(&ctx.home, &webroot, &settings)?;
        let mut stdout = String::new();
        let mut status = 0;
        let root = webroot.to_string_lossy().trim_end_matches('/').to_string();
        for file in &changed {
            let dest = format!(
                "webrootsynctunnel{}",
                file.strip_prefix(&root).unwrap_or(file)
            );
            let o = put_to(ctx, store.as_ref(), file, &dest, false);
            stdout.push_str(&o.stdout);
            status = o.status;
        }
        Ok(Outcome { stdout, status })
    })();
    match r {
        Ok(o) => finish(o),
        Err(e) => {
            ctx.report(&e);
            1
        }
    }
}
