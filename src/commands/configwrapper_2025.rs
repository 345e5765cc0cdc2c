//! The 2025 generation's config datastore wrappers (wintersys-projects/adt-*-scripts,
//! `providerscripts/datastore/configwrapper/` at the end of 2025), with the arguments, stdout and
//! exit statuses their callers see. The store is the config bucket `<url with dots as
//! dashes>-config-<first 4 of SERVERUSER>` in the machine's first S3 account (see
//! `crate::datastore::accounts`); the legacy scripts ran s3cmd (or s5cmd, or rclone), and the
//! semantics here are s3cmd's, which is what a machine built with the default tool did:
//!
//! | script | arguments | stdout | status |
//! |---|---|---|---|
//! | PutToConfigDatastore | FILE [PLACE] [yes] | nothing | 0 |
//! | GetFromConfigDatastore | KEY [DEST] | `Key doesn't exist` when no key starts with KEY | 0 |
//! | ListFromConfigDatastore | PREFIX[*] | basenames of every key under PREFIX, recursively | 0 |
//! | CheckConfigDatastore | KEY | `1` when a key starts with KEY, else `0` | 0 |
//! | DeleteFromConfigDatastore | KEY[*] [yes] | s3cmd's `delete: 's3://B/K'` lines | s3cmd's |
//! | AgeOfConfigFile | KEY | seconds since KEY was written | 0 |
//! | SyncFromConfigDatastore (webserver) | KEY [DEST] | nothing (Get's placement; unchanged sizes are not fetched again) | 0 |
//!
//! - Put: FILE is uploaded to `PLACE/<basename>` (no PLACE: `<basename>`). A FILE that does not
//!   exist is a marker: without a `/` it is `/tmp/FILE`, created empty when absent (and kept,
//!   unless `yes`); with a `/` the marker is empty. `yes` removes the file afterwards.
//! - Get: KEY is fetched as `s3cmd --recursive get` does: KEY and everything under `KEY/` land
//!   in DEST (created as a directory when it is not one; default `.`), named relative to KEY's
//!   directory; an existing regular file DEST receives a single object.
//! - Delete: one trailing `*` is dropped; without `yes` one key (or a `*`/`?` glob's matches)
//!   is deleted, and a key ending in `/` is refused with s3cmd's status 64; with `yes` every key
//!   that starts with KEY.
//!
//! Differences from legacy:
//!
//! - The legacy scripts retried a failed s3cmd five times, five seconds apart, printing `An error
//!   has occured N times in script …` on stdout each time. Ours retry within one deadline
//!   (`ADT_S3_DEADLINE`) and print one line on stderr; stdout stays what callers parse.
//! - Put of a marker with a `/` in its name moved the caller's `/tmp/<dir>` aside to
//!   `/tmp/<dir>.<pid>` before creating an empty `/tmp/<dir>/<name>`: not reproduced (the
//!   marker is uploaded empty; `/tmp` is left alone). A marker never replaces an object that
//!   holds data (as in the 2022 wrappers): the object is kept, with one line on stderr.
//! - The webserver's Put with s5cmd uploaded to the key PLACE itself (its `slasher` was empty),
//!   the other machines and tools to `PLACE/<basename>`: every machine writes
//!   `PLACE/<basename>` here, the key the readers look for.
//! - The database's Put turned a PLACE with a `/` in it into its parent directory followed by
//!   `//`; no caller passes such a PLACE. Not reproduced: PLACE is used as given.
//! - A PLACE ending in `/` made s3cmd write `PLACE//<basename>` (the wrapper added another
//!   `/`); no caller passes one. Here the key is `PLACE/<basename>`.
//! - Get with an empty KEY fetched the whole bucket into DEST, and Delete with an empty KEY and
//!   `yes` emptied it: both are refused with one line on stderr (Delete: status 64).
//! - AgeOfConfigFile of a missing key printed the seconds since midnight (`date -d ""`); ours
//!   prints nothing and says why on stderr (the caller's `[ "" -le 600 ]` then fails, as it
//!   did after the first ten minutes of each day).

use super::configwrapper::{check_in, delete_each, delete_from, list_names, put_marker, uri};
use super::{arg, bounded, finish, run_on, Ctx, Outcome};
use crate::datastore::{show_key, validate_key, Backend};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The config bucket's store in the first account, for a command (one deadline for its calls).
fn store(ctx: &Ctx, url_key: Option<&str>) -> Result<Box<dyn Backend>> {
    let bucket = ctx.bucket_preferring(url_key)?;
    bounded(ctx.store_for_bucket(&bucket))
}

/// The key `s3cmd put FILE s3://B/PLACE/` writes.
fn put_key(file: &str, place: &str) -> String {
    let place = place.trim_matches('/');
    if place.is_empty() {
        basename(file).to_string()
    } else {
        format!("{place}/{}", basename(file))
    }
}

/// PutToConfigDatastore FILE [PLACE] [yes].
pub fn put_to(ctx: &Ctx, store: &dyn Backend, file: &str, place: &str, delete: bool) -> Outcome {
    let given = Path::new(file);
    if file.is_empty() || file.ends_with('/') || given.is_dir() {
        ctx.report(&Error::Usage(format!(
            "{file:?} is not a file or a marker name"
        )));
        return Outcome::ok("");
    }
    let key = put_key(file, place);
    // The local file the legacy script uploaded (and removes with `yes`).
    let (local, result): (Option<PathBuf>, Result<()>) = if given.is_file() {
        (Some(given.to_path_buf()), store.put_file(&key, given))
    } else if !file.contains('/') {
        let in_tmp = ctx.tmp.join(file);
        let touched = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&in_tmp)
            .map_err(|e| Error::io(in_tmp.display(), e));
        let r = touched.and_then(|_| {
            if std::fs::metadata(&in_tmp).map(|m| m.len()).unwrap_or(0) > 0 {
                store.put_file(&key, &in_tmp)
            } else {
                put_marker(store, &key, file, &in_tmp)
            }
        });
        (Some(in_tmp), r)
    } else {
        let in_tmp = ctx.tmp.join(file.trim_start_matches('/'));
        (None, put_marker(store, &key, file, &in_tmp))
    };
    if let Err(e) = result {
        ctx.report(&e);
    }
    if delete {
        if let Some(p) = local.filter(|p| p.is_file()) {
            if let Err(e) = std::fs::remove_file(&p) {
                ctx.report(&Error::io(p.display(), e));
            }
        }
    }
    Outcome::ok("")
}

/// Where the objects `s3cmd --recursive get s3://B/KEY DEST` fetches land: KEY itself and the
/// keys under `KEY/`, each named relative to KEY's directory.
fn fetch_plan(keys: &[String], key: &str, dest: &Path) -> Result<Vec<(String, PathBuf)>> {
    let strip = key.rfind('/').map(|i| i + 1).unwrap_or(0);
    let covered: Vec<&String> = keys
        .iter()
        .filter(|k| !k.ends_with('/') && k.starts_with(key))
        .filter(|k| key.ends_with('/') || *k == key || k[key.len()..].starts_with('/'))
        .collect();
    if dest.is_file() {
        return match covered.as_slice() {
            [one] => Ok(vec![((*one).clone(), dest.to_path_buf())]),
            [] => Ok(vec![]),
            _ => Err(Error::Usage(format!(
                "{} is a file, and {} objects are under {}",
                dest.display(),
                covered.len(),
                show_key(key)
            ))),
        };
    }
    let mut plan = Vec::new();
    for k in covered {
        let rel = &k[strip..];
        validate_key(rel)?;
        plan.push((k.clone(), dest.join(rel)));
    }
    Ok(plan)
}

/// GetFromConfigDatastore KEY [DEST].
pub fn get_from(ctx: &Ctx, store: Result<Box<dyn Backend>>, key: &str, dest: &str) -> Outcome {
    const MISSING: &str = "Key doesn't exist\n";
    if key.is_empty() {
        ctx.report(&Error::Usage(
            "a key is required (refusing to fetch the whole bucket)".into(),
        ));
        return Outcome::ok("");
    }
    let dest = Path::new(if dest.is_empty() { "." } else { dest });
    let store = match store {
        Ok(s) => s,
        Err(e) => {
            ctx.report(&e);
            return Outcome::ok(MISSING);
        }
    };
    let keys: Vec<String> = match store.list(key, false) {
        Ok(l) => l.objects.into_iter().map(|o| o.key).collect(),
        Err(e) => {
            // The legacy test was the listing's output: a failed listing printed nothing.
            ctx.report(&e);
            return Outcome::ok(MISSING);
        }
    };
    if keys.is_empty() {
        return Outcome::ok(MISSING);
    }
    if !dest.is_dir() && !dest.exists() {
        if let Err(e) = std::fs::create_dir_all(dest) {
            ctx.report(&Error::io(dest.display(), e));
            return Outcome::ok("");
        }
    }
    let plan = match fetch_plan(&keys, key, dest) {
        Ok(p) => p,
        Err(e) => {
            ctx.report(&e);
            return Outcome::ok("");
        }
    };
    for (k, path) in plan {
        if let Some(dir) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                ctx.report(&Error::io(dir.display(), e));
                continue;
            }
        }
        if let Err(e) = store.get_to_file(&k, &path) {
            ctx.report(&e);
        }
    }
    Outcome::ok("")
}

/// SyncFromConfigDatastore KEY [DEST] (webserver): `s3cmd --recursive sync s3://B/KEY DEST`,
/// the objects placed as Get places them; an object whose local copy already has its size is
/// not fetched again. Prints nothing; exit 0.
pub fn sync_from(ctx: &Ctx, store: Result<Box<dyn Backend>>, key: &str, dest: &str) -> Outcome {
    if key.is_empty() {
        ctx.report(&Error::Usage(
            "a key is required (refusing to sync the whole bucket)".into(),
        ));
        return Outcome::ok("");
    }
    let dest = Path::new(if dest.is_empty() { "." } else { dest });
    let r = (|| -> Result<()> {
        let store = store?;
        let listing = store.list(key, false)?;
        let sizes: std::collections::HashMap<String, u64> = listing
            .objects
            .iter()
            .map(|o| (o.key.clone(), o.size))
            .collect();
        let keys: Vec<String> = listing.objects.into_iter().map(|o| o.key).collect();
        if !dest.is_dir() {
            std::fs::create_dir_all(dest).map_err(|e| Error::io(dest.display(), e))?;
        }
        for (k, path) in fetch_plan(&keys, key, dest)? {
            let same = std::fs::metadata(&path).map(|m| m.len()).ok() == sizes.get(&k).copied();
            if same {
                continue;
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
            }
            store.get_to_file(&k, &path)?;
        }
        Ok(())
    })();
    if let Err(e) = r {
        ctx.report(&e);
    }
    Outcome::ok("")
}

/// ListFromConfigDatastore PREFIX[*]: the basename of every key under PREFIX (recursively).
pub fn list_from(ctx: &Ctx, store: Result<Box<dyn Backend>>, arg: &str) -> Outcome {
    let prefix = arg.strip_suffix('*').unwrap_or(arg);
    match store.and_then(|s| s.list(prefix, false)) {
        Ok(l) => Outcome::ok(list_names(&l)),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("")
        }
    }
}

/// DeleteFromConfigDatastore KEY[*] [yes].
pub fn delete_in(ctx: &Ctx, store: &dyn Backend, key: &str, recursive: bool) -> Outcome {
    let key = key.strip_suffix('*').unwrap_or(key);
    if !recursive {
        if key.is_empty() || key.ends_with('/') {
            ctx.report(&Error::Usage(format!(
                "{} names no object: expecting a key or `yes` (s3cmd: Parameter problem)",
                uri(store, key)
            )));
            return Outcome {
                stdout: String::new(),
                status: 64,
            };
        }
        return delete_from(ctx, store, key);
    }
    if key.is_empty() {
        ctx.report(&Error::Usage(
            "a key is required (refusing to empty the bucket)".into(),
        ));
        return Outcome {
            stdout: String::new(),
            status: 64,
        };
    }
    let keys = match store.list(key, false) {
        Ok(l) => l.objects.into_iter().map(|o| o.key).collect::<Vec<_>>(),
        Err(e) => {
            ctx.report(&e);
            return Outcome {
                stdout: String::new(),
                status: 1,
            };
        }
    };
    if keys.is_empty() {
        eprintln!("WARNING: Remote list is empty.");
    }
    delete_each(ctx, store, keys)
}

/// AgeOfConfigFile KEY: whole seconds since the object was last written.
pub fn age_of(ctx: &Ctx, store: Result<Box<dyn Backend>>, key: &str) -> Outcome {
    let r = (|| -> Result<u64> {
        crate::datastore::validate_object_key(key)?;
        let store = store?;
        let l = store.list(key, true)?;
        let o = l
            .objects
            .into_iter()
            .find(|o| o.key == key)
            .ok_or_else(|| Error::NotFound(uri(store.as_ref(), key)))?;
        let when = o.modified.ok_or_else(|| {
            Error::Store(format!(
                "{} has no modification time",
                uri(store.as_ref(), key)
            ))
        })?;
        Ok(std::time::SystemTime::now()
            .duration_since(when)
            .map(|d| d.as_secs())
            .unwrap_or(0))
    })();
    match r {
        Ok(age) => Outcome::ok(format!("{age}\n")),
        Err(e) => {
            ctx.report(&e);
            Outcome::ok("")
        }
    }
}

/// The 2025 PutToConfigDatastore.sh FILE [PLACE] [yes]
pub fn put(ctx: &Ctx, args: &[String]) -> i32 {
    run_on(ctx, store(ctx, None), 0, |s| {
        put_to(ctx, s, arg(args, 0), arg(args, 1), arg(args, 2) == "yes")
    })
}

/// The 2025 GetFromConfigDatastore.sh KEY [DEST]
pub fn get(ctx: &Ctx, args: &[String]) -> i32 {
    let s = store(ctx, ctx.gen.contract.get_url_override);
    finish(get_from(ctx, s, arg(args, 0), arg(args, 1)))
}

/// The 2025 ListFromConfigDatastore.sh PREFIX[*]
pub fn list(ctx: &Ctx, args: &[String]) -> i32 {
    finish(list_from(ctx, store(ctx, None), arg(args, 0)))
}

/// The 2025 CheckConfigDatastore.sh KEY (the 2022 contract: a prefix test)
pub fn check(ctx: &Ctx, args: &[String]) -> i32 {
    let key = arg(args, 0);
    let s = if key.is_empty() {
        Err(Error::Usage(String::new()))
    } else {
        store(ctx, None)
    };
    finish(check_in(ctx, s, key))
}

/// The 2025 DeleteFromConfigDatastore.sh KEY[*] [yes]
pub fn delete(ctx: &Ctx, args: &[String]) -> i32 {
    run_on(ctx, store(ctx, None), 1, |s| {
        delete_in(ctx, s, arg(args, 0), arg(args, 1) == "yes")
    })
}

/// SyncFromConfigDatastore.sh KEY [DEST] (2025 webserver)
pub fn sync_from_config_datastore(ctx: &Ctx, args: &[String]) -> i32 {
    let s = store(ctx, ctx.gen.contract.get_url_override);
    finish(sync_from(ctx, s, arg(args, 0), arg(args, 1)))
}

/// AgeOfConfigFile.sh KEY → seconds
pub fn age_of_config_file(ctx: &Ctx, args: &[String]) -> i32 {
    let s = store(ctx, ctx.gen.contract.get_url_override);
    finish(age_of(ctx, s, arg(args, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_keys() {
        assert_eq!(
            put_key("/tmp/1.2.3.4", "webserverips"),
            "webserverips/1.2.3.4"
        );
        assert_eq!(
            put_key("INSTALLED_SUCCESSFULLY", ""),
            "INSTALLED_SUCCESSFULLY"
        );
        assert_eq!(put_key("/a/f.pem", "ssl/www.x.com/"), "ssl/www.x.com/f.pem");
    }

    #[test]
    fn fetch_like_s3cmd_recursive_get() {
        let keys: Vec<String> = ["ssl/x/f1", "ssl/x/f1b", "ssl/x/f1/inner", "top"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let d = tempfile::tempdir().unwrap();
        let plan = fetch_plan(&keys, "ssl/x/f1", d.path()).unwrap();
        let names: Vec<_> = plan
            .iter()
            .map(|(k, p)| (k.as_str(), p.strip_prefix(d.path()).unwrap().to_path_buf()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("ssl/x/f1", PathBuf::from("f1")),
                ("ssl/x/f1/inner", PathBuf::from("f1/inner"))
            ]
        );
        let plan = fetch_plan(&keys, "ssl", d.path()).unwrap();
        assert_eq!(plan[0].1, d.path().join("ssl/x/f1"));
        assert_eq!(plan.len(), 3);
    }
}
