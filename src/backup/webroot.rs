//! The webroot backup: legacy WS `providerscripts/git/Backup.sh <P> <id>` (spec §1.5), with the
//! safety rules of §1.9/§6.
//!
//! What is made, by the legacy names ([`super::names`]) so that the legacy restore path reads
//! it unchanged (§1.10): the period's git repository `<sub>-<name>-webroot-sourcecode-<p>-<id>`
//! (branch `master`, one commit `Automated Backup`), with `SUPERSAFEWEBROOT:1` the datastore
//! copy `<url->-<p>/applicationsourcecode.tar.gz` (members `/tmp/backup/…`, previous one kept as
//! `.BACKUP`), and for `MANUAL` the archive `<tmp>/backup_archive/backup<repo>.tar.gz` (members
//! `tmp/backup/…`) instead of a repository. The webroot's database values are replaced by the
//! legacy placeholders (`XXXUSERNAMEXXX`, `XXXPASSWORDXXX`, `XXXDATABASEXXX`, `XXXDBPORTXXX`,
//! `XXXDBHOSTXXX`) that the restore side puts back.
//!
//! How (the speed): a scrubbed mirror of the webroot is kept under
//! `<H>/.adt-rs/backup/webroot/tree` with a manifest of what each file was made from (size,
//! modification time, mode); a run re-copies and re-scrubs only the files whose source changed,
//! git's index (kept beside it) rehashes only those, and a push sends only the objects the
//! period's remote lacks. Legacy rsync'ed, sed'ed (one process per file), tarred and pushed the
//! whole webroot every time.
//!
//! Differences from legacy (each a §6 fix):
//! - nothing is done to the live webroot: no `sed*` deletion, no `vendor.drupal` /
//!   `private.drupal` copies, no `.gitignore` growth, no `uploads/sess*` removal: all of that
//!   happens in the mirror (the vendor and private directories and Moodle's data directory are
//!   copied into it under legacy's names; WordPress `uploads/sess*` files are left out);
//! - top-level dot files (`.htaccess`) are included (restore tolerates them);
//! - placeholders are replaced literally (no regular expressions, so a value with `/`, `&`, `[`
//!   or `\` no longer breaks the scrub, and an empty value is skipped rather than failing every
//!   file), in text files only (a file with a NUL byte in its first 8 KiB is copied as is);
//! - a webroot that is not ready (no `runtime/WEBSERVER_READY`, or no application files) is
//!   refused instead of being pushed over the last good backup;
//! - the repository is created when missing, never deleted; the pushed commit is read back and
//!   compared; the datastore copy is uploaded, verified, then rotated ([`super::safecopy`]);
//!   any failure leaves the previous backup in place, exits non-zero, logs to
//!   `logs/BackupDeltas.log` and sends legacy's `POTENTIAL BACKUP INCONSISTENCY` e-mail;
//! - not done: PHP-serialisation-aware rewriting (no rewrite other than the placeholders is
//!   made here, so lengths in serialised data can go wrong only where a placeholder sits inside
//!   one, as in legacy); `systemd-inhibit` around the push (a shutdown during a push leaves the
//!   old backup, which is now safe).

use super::names::{self, Url, ARCHIVE_ROOT, MANUAL_DIR, WEBROOT_OBJECT};
use super::period::Period;
use crate::config;
use crate::datastore::Backend;
use crate::error::{Error, Result};
use crate::git::{self, RepoSettings};
use crate::process::Run;
use crate::site::Site;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a run did, for the command layer's messages.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Nothing to do (legacy's silent exits: no credentials yet, hourly disabled).
    pub skipped: Option<String>,
    pub repository: Option<String>,
    pub datastore: Option<String>,
    pub manual_archive: Option<PathBuf>,
    /// Files copied (changed or new) and removed in the mirror.
    pub copied: usize,
    pub removed: usize,
}

/// The database values replaced by placeholders, in legacy's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placeholders {
    pub user: String,
    pub password: String,
    pub database: String,
    pub port: String,
    pub host: String,
}

impl Placeholders {
    /// (value, token) pairs in legacy's order, empty values left out.
    pub fn pairs(&self) -> Vec<(&str, &'static str)> {
        [
            (self.user.as_str(), "XXXUSERNAMEXXX"),
            (self.password.as_str(), "XXXPASSWORDXXX"),
            (self.database.as_str(), "XXXDATABASEXXX"),
            (self.port.as_str(), "XXXDBPORTXXX"),
            (self.host.as_str(), "XXXDBHOSTXXX"),
        ]
        .into_iter()
        .filter(|(v, _)| !v.is_empty())
        .collect()
    }

    /// A fingerprint of the values (so a change of credentials re-scrubs every file), never
    /// the values themselves.
    fn fingerprint(&self) -> String {
        use md5::{Digest, Md5};
        let mut h = Md5::new();
        for (v, t) in self.pairs() {
            h.update(t.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Replace every occurrence of each value by its token, literally, in order.
pub fn scrub(data: &[u8], pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut cur = data.to_vec();
    for (value, token) in pairs {
        cur = replace_all(&cur, value.as_bytes(), token.as_bytes());
    }
    cur
}

/// Put the values back (the restore side: legacy PerformPostProcessingByApplication).
pub fn unscrub(data: &[u8], pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut cur = data.to_vec();
    for (value, token) in pairs {
        cur = replace_all(&cur, token.as_bytes(), value.as_bytes());
    }
    cur
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || hay.len() < needle.len() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    let first = needle[0];
    while i < hay.len() {
        match hay[i..].iter().position(|&b| b == first) {
            None => {
                out.extend_from_slice(&hay[i..]);
                break;
            }
            Some(off) => {
                out.extend_from_slice(&hay[i..i + off]);
                i += off;
                if hay[i..].starts_with(needle) {
                    out.extend_from_slice(with);
                    i += needle.len();
                } else {
                    out.push(hay[i]);
                    i += 1;
                }
            }
        }
    }
    out
}

/// A text file: no NUL byte in its first 8 KiB.
pub fn is_text(head: &[u8]) -> bool {
    !head[..head.len().min(8192)].contains(&0)
}

/// Where the run's state lives: `<H>/.adt-rs/backup/webroot`.
pub fn state_dir(site: &Site) -> PathBuf {
    site.home.join(".adt-rs").join("backup").join("webroot")
}

/// The source trees that make up the backup: the webroot, and (legacy §1.5.2) the vendor and
/// private directories beside it under `vendor.drupal/` and `private.drupal/`, and Moodle's data
/// directory under `moodle/moodledata/`.
#[derive(Clone, Debug)]
pub struct Plan {
    pub roots: Vec<(PathBuf, String)>,
    /// Paths (relative to the mirror) left out, with everything under them.
    pub excluded: BTreeSet<String>,
    /// Application: WordPress session files under `wp-content/uploads/` are left out.
    pub wordpress: bool,
    /// `index.php.backup` exists: it becomes `index.php`, the original `index.php.veteran`.
    pub index_swap: bool,
    pub placeholders: Placeholders,
    /// Extra files written into the mirror (Drupal's `salt`).
    pub extra: Vec<(String, Vec<u8>)>,
}

impl Plan {
    fn map(&self, rel: &str) -> String {
        if self.index_swap {
            match rel {
                "index.php" => return "index.php.veteran".into(),
                "index.php.backup" => return "index.php".into(),
                _ => {}
            }
        }
        rel.to_string()
    }

    fn is_excluded(&self, rel: &str) -> bool {
        if self
            .excluded
            .iter()
            .any(|e| rel == e || rel.starts_with(&format!("{e}/")))
        {
            return true;
        }
        if self.wordpress {
            if let Some(f) = rel.strip_prefix("wp-content/uploads/") {
                if !f.contains('/') && f.starts_with("sess") {
                    return true;
                }
            }
        }
        false
    }
}

/// One entry of the manifest: what a mirror path was made from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Made {
    size: u64,
    mtime_ns: i128,
    mode: u32,
    kind: char,
}

const MANIFEST_VERSION: &str = "adt-webroot-manifest 1";

fn load_manifest(path: &Path, fingerprint: &str) -> BTreeMap<String, Made> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let mut lines = text.lines();
    if lines.next() != Some(&format!("{MANIFEST_VERSION} {fingerprint}")) {
        return BTreeMap::new(); // other values or format: everything is made again
    }
    let mut out = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.splitn(5, '\t').collect();
        if f.len() != 5 {
            continue;
        }
        if let (Ok(size), Ok(mtime_ns), Ok(mode), Some(kind)) = (
            f[0].parse(),
            f[1].parse(),
            u32::from_str_radix(f[2], 8),
            f[3].chars().next(),
        ) {
            out.insert(
                unescape(f[4]),
                Made {
                    size,
                    mtime_ns,
                    mode,
                    kind,
                },
            );
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn save_manifest(path: &Path, fingerprint: &str, m: &BTreeMap<String, Made>) -> Result<()> {
    let mut text = format!("{MANIFEST_VERSION} {fingerprint}\n");
    for (k, v) in m {
        text.push_str(&format!(
            "{}\t{}\t{:o}\t{}\t{}\n",
            v.size,
            v.mtime_ns,
            v.mode,
            v.kind,
            escape(k)
        ));
    }
    crate::fsutil::write_atomic(path, text.as_bytes(), Some(0o600))
}

/// What a source path is.
struct Source {
    path: PathBuf,
    made: Made,
}

fn walk(dir: &Path, rel: &str, plan: &Plan, out: &mut BTreeMap<String, Source>) -> Result<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    for e in rd {
        let e = e.map_err(|e| Error::io(dir.display(), e))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            log::warn!("{}: name is not UTF-8, left out", e.path().display());
            continue;
        };
        let r = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let md = std::fs::symlink_metadata(e.path())
            .map_err(|err| Error::io(e.path().display(), err))?;
        let ft = md.file_type();
        if ft.is_dir() && name == ".git" {
            continue; // legacy removed every .git directory from its copy
        }
        let mapped = plan.map(&r);
        if plan.is_excluded(&mapped) {
            continue;
        }
        let kind = if ft.is_dir() {
            'd'
        } else if ft.is_file() {
            'f'
        } else if ft.is_symlink() {
            'l'
        } else {
            continue; // sockets, fifos, devices: not content
        };
        let made = Made {
            size: if kind == 'd' { 0 } else { md.len() },
            mtime_ns: if kind == 'd' {
                0
            } else {
                md.mtime() as i128 * 1_000_000_000 + md.mtime_nsec() as i128
            },
            mode: md.mode() & 0o7777,
            kind,
        };
        out.insert(
            mapped,
            Source {
                path: e.path(),
                made,
            },
        );
        if kind == 'd' {
            walk(&e.path(), &r, plan, out)?;
        }
    }
    Ok(())
}

/// Copy one source file into the mirror, scrubbed when it is text; through a temporary file.
fn make_file(src: &Path, dest: &Path, mode: u32, pairs: &[(&str, &str)]) -> Result<()> {
    let tmp = dest.with_file_name(format!(
        ".{}.adt-tmp",
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("f")
    ));
    let mut f = std::fs::File::open(src).map_err(|e| Error::io(src.display(), e))?;
    let mut head = vec![0u8; 8192];
    let mut n = 0;
    while n < head.len() {
        let k = f
            .read(&mut head[n..])
            .map_err(|e| Error::io(src.display(), e))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    let _ = std::fs::remove_file(&tmp);
    {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(tmp.display(), e))?;
        if !pairs.is_empty() && is_text(&head) {
            let mut all = head;
            f.read_to_end(&mut all)
                .map_err(|e| Error::io(src.display(), e))?;
            out.write_all(&scrub(&all, pairs))
                .map_err(|e| Error::io(tmp.display(), e))?;
        } else {
            out.write_all(&head)
                .map_err(|e| Error::io(tmp.display(), e))?;
            std::io::copy(&mut f, &mut out).map_err(|e| Error::io(tmp.display(), e))?;
        }
    }
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode & 0o7777))
        .map_err(|e| Error::io(tmp.display(), e))?;
    std::fs::rename(&tmp, dest).map_err(|e| Error::io(dest.display(), e))
}

fn remove_any(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// Bring the mirror up to date with the sources; (copied, removed).
pub fn sync_mirror(plan: &Plan, mirror: &Path, manifest_path: &Path) -> Result<(usize, usize)> {
    let fingerprint = plan.placeholders.fingerprint();
    let old = load_manifest(manifest_path, &fingerprint);
    let mut sources = BTreeMap::new();
    for (root, prefix) in &plan.roots {
        if prefix.is_empty() {
            walk(root, "", plan, &mut sources)?;
        } else if root.is_dir() {
            let md = std::fs::metadata(root).map_err(|e| Error::io(root.display(), e))?;
            // The prefix directories themselves.
            let mut acc = String::new();
            for part in prefix.split('/') {
                acc = if acc.is_empty() {
                    part.into()
                } else {
                    format!("{acc}/{part}")
                };
                sources.insert(
                    acc.clone(),
                    Source {
                        path: root.clone(),
                        made: Made {
                            size: 0,
                            mtime_ns: 0,
                            mode: md.mode() & 0o7777,
                            kind: 'd',
                        },
                    },
                );
            }
            walk(root, prefix, plan, &mut sources)?;
        }
    }
    if old.is_empty() && mirror.exists() {
        // No usable manifest: start the mirror afresh.
        std::fs::remove_dir_all(mirror).map_err(|e| Error::io(mirror.display(), e))?;
    }
    std::fs::create_dir_all(mirror).map_err(|e| Error::io(mirror.display(), e))?;
    let pairs = plan.placeholders.pairs();
    let mut copied = 0;
    let mut removed = 0;
    // Removed first (deepest first), so a path that changed kind is free.
    for (rel, was) in old.iter().rev() {
        let now = sources.get(rel).map(|s| s.made.kind);
        if now != Some(was.kind) {
            remove_any(&mirror.join(rel));
            removed += 1;
        }
    }
    let mut made = BTreeMap::new();
    for (rel, src) in &sources {
        let dest = mirror.join(rel);
        let same = old.get(rel) == Some(&src.made) && std::fs::symlink_metadata(&dest).is_ok();
        if !same {
            match src.made.kind {
                'd' => {
                    std::fs::create_dir_all(&dest).map_err(|e| Error::io(dest.display(), e))?;
                }
                'f' => {
                    make_file(&src.path, &dest, src.made.mode, &pairs)?;
                    copied += 1;
                }
                _ => {
                    let target = std::fs::read_link(&src.path)
                        .map_err(|e| Error::io(src.path.display(), e))?;
                    remove_any(&dest);
                    std::os::unix::fs::symlink(&target, &dest)
                        .map_err(|e| Error::io(dest.display(), e))?;
                    copied += 1;
                }
            }
        }
        made.insert(rel.clone(), src.made.clone());
    }
    for (rel, data) in &plan.extra {
        let dest = mirror.join(rel);
        if std::fs::read(&dest).ok().as_deref() != Some(data.as_slice()) {
            crate::fsutil::write_atomic(&dest, data, Some(0o644))?;
        }
    }
    // The mirror's directories take their sources' times (a file rewritten in the mirror
    // changed its directory's; the webroot's did not change), so the archive carries the
    // webroot's times and a directory's archive entry changes only when the webroot's does.
    let mut dirs: Vec<(PathBuf, &Path)> = sources
        .iter()
        .filter(|(_, s)| s.made.kind == 'd')
        .map(|(rel, s)| (mirror.join(rel), s.path.as_path()))
        .collect();
    if let Some((root, _)) = plan.roots.first() {
        dirs.push((mirror.to_path_buf(), root.as_path()));
    }
    for (dest, src) in dirs {
        if let Ok(t) = std::fs::metadata(src).and_then(|m| m.modified()) {
            let _ = std::fs::File::open(&dest).and_then(|f| f.set_modified(t));
        }
    }
    save_manifest(manifest_path, &fingerprint, &made)?;
    Ok((copied, removed))
}

/// A gzip'ed tar of the mirror whose members are under `root` (`/tmp/backup` absolute, or
/// `tmp/backup`), written through a temporary file and listed back before it counts.
pub fn tar_mirror(mirror: &Path, out: &Path, root: &str) -> Result<()> {
    let tmp = out.with_extension("adt-tmp");
    let _ = std::fs::remove_file(&tmp);
    let transform = format!("s,^\\.,{root},S");
    let o = Run::new("tar")
        .arg("-C")
        .arg(mirror)
        .args([
            "--sort=name",
            "--transform",
            &transform,
            "-I",
            "gzip -1",
            "-cPf",
        ])
        .arg(&tmp)
        .arg(".")
        .output()?;
    if !o.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io(format!(
            "cannot make {}: tar: {}",
            out.display(),
            o.first_error_line()
        )));
    }
    let list = Run::new("tar").args(["-tPzf"]).arg(&tmp).output()?;
    if !list.success() || !list.stdout.lines().all(|l| l.starts_with(root)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io(format!(
            "{}: the archive does not list cleanly",
            out.display()
        )));
    }
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(tmp.display(), e))?;
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out.display(), e))
}

/// One entry of the mirror as an archive sees it.
struct Entry {
    rel: String,
    sig: String,
    size: u64,
}

fn mirror_entries(mirror: &Path) -> Result<Vec<Entry>> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<Entry>) -> Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir.display(), e))?
            .filter_map(|e| e.ok())
            .collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let p = e.path();
            let md = std::fs::symlink_metadata(&p).map_err(|err| Error::io(p.display(), err))?;
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let link = if md.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            out.push(Entry {
                sig: format!(
                    "{rel}\0{:o}\0{}\0{}\0{}\0{}\0{}\0{link}\0",
                    md.mode(),
                    md.len(),
                    md.mtime(),
                    md.mtime_nsec(),
                    md.uid(),
                    md.gid()
                ),
                size: if md.is_file() { md.len() } else { 0 },
                rel: rel.clone(),
            });
            if md.is_dir() {
                go(root, &p, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    let md = std::fs::symlink_metadata(mirror).map_err(|e| Error::io(mirror.display(), e))?;
    out.push(Entry {
        rel: ".".into(),
        sig: format!(
            ".\0{:o}\0{}\0{}\0{}\0",
            md.mode(),
            md.mtime(),
            md.uid(),
            md.gid()
        ),
        size: 0,
    });
    go(mirror, mirror, &mut out)?;
    Ok(out)
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a file's start looks incompressible (already compressed: images, archives, video):
/// more than 7.5 bits of entropy a byte over its first 4 KiB.
fn looks_incompressible(path: &Path) -> bool {
    let mut buf = [0u8; 4096];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    if n < 1024 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in &buf[..n] {
        counts[b as usize] += 1;
    }
    let total = n as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum();
    bits > 7.5
}

/// Make one group's member: its tar entries without the end-of-archive blocks, as one gzip
/// member: compressed in-process ([`deflated_gzip`]), or stored blocks (no compression) when
/// nine tenths of its bytes look incompressible, which the compressor would only spend time
/// on. Whether it was stored.
fn make_member(
    mirror: &Path,
    cache: &Path,
    transform: &str,
    g: &[&Entry],
    member: &Path,
    worker: usize,
) -> Result<bool> {
    let list = cache.join(format!("list-{worker}.tmp"));
    let raw = cache.join(format!("group-{worker}.tar"));
    let tmp = cache.join(format!("member-{worker}.tmp"));
    let mut l = Vec::new();
    for e in g {
        if e.rel == "." {
            l.extend_from_slice(b".");
        } else {
            l.extend_from_slice(format!("./{}", e.rel).as_bytes());
        }
        l.push(0);
    }
    std::fs::write(&list, l).map_err(|e| Error::io(list.display(), e))?;
    let total: u64 = g.iter().map(|e| e.size).sum();
    let dense: u64 = g
        .iter()
        .filter(|e| e.size >= 1024 && looks_incompressible(&mirror.join(&e.rel)))
        .map(|e| e.size)
        .sum();
    let store = total > 0 && dense * 10 >= total * 9;
    // tar, then its output without the two end-of-archive blocks as one gzip member (tar's
    // own status checked first): stored, or compressed in-process.
    let o = Run::new("tar")
        .arg("-C")
        .arg(mirror)
        .args(["--no-recursion", "-b1", "--transform", transform, "-cPf"])
        .arg(&raw)
        .args(["--null", "-T"])
        .arg(&list)
        .output()?;
    if !o.success() {
        return Err(Error::Io(format!(
            "cannot make the archive of {}: {}",
            mirror.display(),
            o.first_error_line()
        )));
    }
    if store {
        stored_gzip(&raw, &tmp, 1024)?;
    } else {
        deflated_gzip(&raw, &tmp, 1024)?;
    }
    std::fs::rename(&tmp, member).map_err(|e| Error::io(member.display(), e))?;
    let _ = std::fs::remove_file(&raw);
    let _ = std::fs::remove_file(&list);
    Ok(store)
}

/// For [`deflated_gzip`] and [`stored_gzip`]: the length of `src` without its last `cut` bytes,
/// `src` opened to read that many, and `dest` created 0600.
fn open_cut(
    src: &Path,
    dest: &Path,
    cut: u64,
) -> Result<(u64, std::io::Take<std::fs::File>, std::fs::File)> {
    let len = std::fs::metadata(src)
        .map_err(|e| Error::io(src.display(), e))?
        .len()
        .saturating_sub(cut);
    let input = std::fs::File::open(src)
        .map_err(|e| Error::io(src.display(), e))?
        .take(len);
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dest)
        .map_err(|e| Error::io(dest.display(), e))?;
    Ok((len, input, out))
}

/// `src` without its last `cut` bytes as one gzip member, compressed in-process (zlib-rs level
/// 2: on PHP text as small as `gzip -1`'s output in half its time), written to `dest` (0600).
fn deflated_gzip(src: &Path, dest: &Path, cut: u64) -> Result<()> {
    let (len, mut input, out) = open_cut(src, dest, cut)?;
    let mut gz = flate2::GzBuilder::new().operating_system(3).write(
        std::io::BufWriter::with_capacity(1 << 16, out),
        flate2::Compression::new(2),
    );
    let n = std::io::copy(&mut input, &mut gz).map_err(|e| Error::io(src.display(), e))?;
    if n != len {
        return Err(Error::Io(format!(
            "{}: {n} bytes read of {len} (the file shrank)",
            src.display()
        )));
    }
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(|e| Error::io(dest.display(), e))
}

/// `src` without its last `cut` bytes as one gzip member of stored (uncompressed) deflate
/// blocks, written to `dest`.
fn stored_gzip(src: &Path, dest: &Path, cut: u64) -> Result<()> {
    let (len, mut input, out) = open_cut(src, dest, cut)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let w = |out: &mut std::io::BufWriter<std::fs::File>, b: &[u8]| {
        out.write_all(b).map_err(|e| Error::io(dest.display(), e))
    };
    // Header: magic, deflate, no flags, no time, no extra flags, OS Unix.
    w(&mut out, &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])?;
    let mut crc = crc32fast::Hasher::new();
    let mut left = len;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = left.min(65535) as usize;
        input
            .read_exact(&mut buf[..n])
            .map_err(|e| Error::io(src.display(), e))?;
        left -= n as u64;
        let last = left == 0;
        let n16 = n as u16;
        w(&mut out, &[u8::from(last)])?;
        w(&mut out, &n16.to_le_bytes())?;
        w(&mut out, &(!n16).to_le_bytes())?;
        w(&mut out, &buf[..n])?;
        crc.update(&buf[..n]);
        if last {
            break;
        }
    }
    w(&mut out, &crc.finalize().to_le_bytes())?;
    w(&mut out, &((len & 0xffff_ffff) as u32).to_le_bytes())?;
    out.flush().map_err(|e| Error::io(dest.display(), e))
}

/// [`tar_mirror`] that reuses what did not change: the archive is a series of gzip members
/// (a gzip stream may be a concatenation of members; `tar xzf` reads it as one), each holding
/// the tar entries of a group of paths without the end-of-archive blocks, and a last member
/// with those blocks. Groups end where a path's hash says so (so adding or removing a file
/// changes only its own group; about 16 entries a group) or at 4 MiB; a group whose entries (name, mode, size, time,
/// owner, link target) are unchanged is taken from `cache` as it was made last time. A run after
/// a small change so recompresses a few groups instead of the whole webroot.
pub fn tar_mirror_cached(mirror: &Path, out: &Path, root: &str, cache: &Path) -> Result<()> {
    let members = archive_members(mirror, root, cache)?;
    let t2 = std::time::Instant::now();
    let tmp = out.with_extension("adt-tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(tmp.display(), e))?;
        for m in &members {
            let mut src = std::fs::File::open(m).map_err(|e| Error::io(m.display(), e))?;
            std::io::copy(&mut src, &mut f).map_err(|e| Error::io(tmp.display(), e))?;
        }
    }
    log::debug!("archive: members joined in {:?}", t2.elapsed());
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out.display(), e))
}

/// The members of [`tar_mirror_cached`]'s archive, in order (files in `cache`, remade where
/// their entries changed; the parts no longer used are removed): the archive is their
/// concatenation.
pub fn archive_members(mirror: &Path, root: &str, cache: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(cache).map_err(|e| Error::io(cache.display(), e))?;
    let t0 = std::time::Instant::now();
    let entries = mirror_entries(mirror)?;
    let mut groups: Vec<Vec<&Entry>> = vec![Vec::new()];
    let mut bytes = 0u64;
    for e in &entries {
        if let Some(g) = groups.last_mut() {
            g.push(e);
        }
        bytes += e.size + 512;
        let h = md5_hex(e.rel.as_bytes());
        if h.ends_with('0') || bytes >= 4 << 20 {
            groups.push(Vec::new());
            bytes = 0;
        }
    }
    let transform = format!("s,^\\.,{root},S");
    let mut used = BTreeSet::new();
    let mut members = Vec::new();
    let mut todo = Vec::new();
    let t1 = std::time::Instant::now();
    for g in groups.iter().filter(|g| !g.is_empty()) {
        let mut key_text = root.to_string();
        for e in g {
            key_text.push_str(&e.sig);
        }
        let name = format!("{}.gz", md5_hex(key_text.as_bytes()));
        let member = cache.join(&name);
        if !member.is_file() {
            todo.push((g, member.clone()));
        }
        used.insert(name);
        members.push(member);
    }
    // The groups to make, on every core (each worker with its own scratch names).
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(todo.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let made: Vec<Result<usize>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (todo, next, transform) = (&todo, &next, &transform);
                sc.spawn(move || -> Result<usize> {
                    let mut stored = 0;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some((g, member)) = todo.get(i) else {
                            return Ok(stored);
                        };
                        if make_member(mirror, cache, transform, g, member, w)? {
                            stored += 1;
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Io("an archive worker panicked".into())))
            })
            .collect()
    });
    let mut stored = 0;
    for m in made {
        stored += m?;
    }
    let remade = todo.len();
    // The end of the archive: two zero blocks, as one more member.
    let end = cache.join("end.gz");
    if !end.is_file() {
        let o = Run::new("/bin/sh")
            .args(["-c", "head -c 1024 /dev/zero | gzip -1 > \"$1\"", "sh"])
            .arg(&end)
            .output()?;
        if !o.success() {
            return Err(Error::Io("cannot compress the archive's end".into()));
        }
    }
    used.insert("end.gz".into());
    members.push(end);
    log::debug!(
        "archive: {} entries listed in {:?}; {remade} of {} groups remade ({stored} stored uncompressed) in {:?} on {workers} threads",
        entries.len(),
        t1 - t0,
        members.len() - 1,
        t1.elapsed()
    );
    // Parts no longer used go.
    for e in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.ends_with(".gz") && !used.contains(&n) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(members)
}

/// Everything a run needs to know, read from the machine.
pub struct Inputs {
    pub settings: String,
    pub webroot: PathBuf,
    pub period: Period,
    pub id: String,
}

/// Whether the webroot may be backed up: `runtime/WEBSERVER_READY` and application files.
pub fn check_ready(site: &Site, webroot: &Path) -> Result<()> {
    if !site.home.join("runtime").join("WEBSERVER_READY").exists() {
        return Err(Error::Config(format!(
            "the webserver is not ready ({} is missing); the webroot is not backed up",
            site.home.join("runtime/WEBSERVER_READY").display()
        )));
    }
    let has_app = ["index.php", "index.html", "moodle"]
        .iter()
        .any(|f| webroot.join(f).exists());
    if !has_app {
        return Err(Error::Config(format!(
            "{} holds no application (no index.php, index.html or moodle/); not backed up",
            webroot.display()
        )));
    }
    Ok(())
}

/// The placeholders' values: `credentials/shit` (lines 1 name, 2 password, 3 user), DBPORT, and
/// the database host (DBaaSHOSTNAME for DBaaS, else the `databaseip/` marker).
pub fn placeholders(store: &dyn Backend, settings: &str) -> Result<Placeholders> {
    if config::check_value(settings, "DATABASEINSTALLATIONTYPE:None") == "1" {
        return Ok(Placeholders::default());
    }
    let creds = String::from_utf8_lossy(&store.get_bytes("credentials/shit")?).into_owned();
    let line = |n: usize| creds.lines().nth(n).unwrap_or("").trim().to_string();
    let host = if config::check_value(settings, "DATABASEINSTALLATIONTYPE:DBaaS") == "1" {
        config::value(settings, "DBaaSHOSTNAME").unwrap_or_default()
    } else {
        store
            .list("databaseip/", true)?
            .objects
            .first()
            .map(|o| o.key.trim_start_matches("databaseip/").to_string())
            .unwrap_or_default()
    };
    Ok(Placeholders {
        database: line(0),
        password: line(1),
        user: line(2),
        port: config::value(settings, "DBPORT").unwrap_or_default(),
        host,
    })
}

/// The plan for this machine: roots, exclusions, the application's own steps.
pub fn plan(store: &dyn Backend, inputs: &Inputs) -> Result<Plan> {
    let settings = &inputs.settings;
    let webroot = &inputs.webroot;
    let www = webroot.parent().map(Path::to_path_buf).unwrap_or_default();
    let app = config::value(settings, "APPLICATION")
        .unwrap_or_default()
        .to_lowercase();
    let mut roots = vec![(webroot.clone(), String::new())];
    let mut excluded = BTreeSet::new();
    let mut extra = Vec::new();
    for (dir, name) in [("vendor", "vendor.drupal"), ("private", "private.drupal")] {
        let p = www.join(dir);
        if p.is_dir() && p != *webroot {
            excluded.insert(name.to_string()); // whatever the live webroot has under that name
            roots.push((p, name.to_string()));
        }
    }
    if config::value(settings, "PERSISTASSETSTOCLOUD").as_deref() == Some("1") {
        for d in config::value(settings, "DIRECTORIESTOMOUNT")
            .unwrap_or_default()
            .split_whitespace()
        {
            excluded.insert(d.replace('.', "/"));
        }
    }
    if app.contains("drupal") {
        excluded.insert("sites/default/settings.php".into());
        if let Ok(b) = store.get_bytes("drupal_settings.php") {
            let text = String::from_utf8_lossy(&b);
            if let Some(salt) = text.lines().find_map(|l| {
                let l = l.trim();
                l.strip_prefix("$settings['hash_salt']")
                    .and_then(|r| r.split('\'').nth(1))
                    .map(str::to_string)
            }) {
                extra.push(("salt".to_string(), format!("{salt}\n").into_bytes()));
            }
        }
    }
    if app.contains("moodle") {
        excluded.insert("moodle/config.php".into());
        let data = www.join("moodledata");
        if data.is_dir() {
            roots.push((data, "moodle/moodledata".into()));
        }
    }
    Ok(Plan {
        roots,
        excluded,
        wordpress: app.contains("wordpress"),
        index_swap: webroot.join("index.php.backup").is_file(),
        placeholders: placeholders(store, settings)?,
        extra,
    })
}

/// The backup of the webroot for one period. `store` is the config datastore; `open_bucket`
/// opens a backup bucket by name (the super-safe copy's); `still_ours` says whether the fleet
/// lock (if any) is still surely held: asked before each step that replaces a backup.
pub fn run(
    site: &Site,
    store: &dyn Backend,
    open_bucket: &dyn Fn(&str) -> Result<Box<dyn Backend>>,
    inputs: &Inputs,
    still_ours: &dyn Fn() -> bool,
) -> Result<Report> {
    let lost = || {
        Error::Conflict("the fleet backup lock was lost (expired or taken over) before the backup could be replaced".into())
    };
    let mut report = Report::default();
    if !store.any_with_prefix("credentials/shit")? {
        report.skipped = Some("no database credentials in the datastore yet".into());
        return Ok(report);
    }
    site.log(
        "MonitoringLog.dat",
        "Performing the backup of the master webroot",
    );
    let settings = &inputs.settings;
    let p = inputs.period;
    let mode = crate::mode::Mode::from_settings(site.machine, settings);
    let hourly_off = !mode.backup_copies(p == Period::Hourly);
    let url_text = config::value(settings, "WEBSITEURL").unwrap_or_default();
    if url_text.is_empty() {
        return Err(Error::Config("WEBSITEURL is not set".into()));
    }
    let url = Url::parse(&url_text);
    let repo = names::webroot_repo(&url, p, &inputs.id);
    if hourly_off {
        site.log(
            "MonitoringLog.dat",
            &format!("Skipping hourly backup to repository {repo}"),
        );
        report.skipped = Some("DISABLEHOURLY:1".into());
        return Ok(report);
    }
    check_ready(site, &inputs.webroot)?;
    if site.gen.backups != crate::layout::BackupNaming::Repos2022 {
        return Err(Error::Config(format!(
            "webroot::run is the 2022 backup; the {} generation's is backup::webroot2025",
            site.gen.name
        )));
    }
    let state = state_dir(site);
    std::fs::create_dir_all(&state).map_err(|e| Error::io(state.display(), e))?;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(state.display(), e))?;
    // One run at a time on this machine (cron and a helper over SSH may meet).
    let _local = crate::fsutil::Lock::exclusive(&state.join("lock"))?;
    let started = std::time::Instant::now();
    let plan = plan(store, inputs)?;
    let mirror = state.join("tree");
    let (copied, removed) = sync_mirror(&plan, &mirror, &state.join("manifest"))?;
    log::debug!(
        "mirror: {copied} copied, {removed} removed in {:?}",
        started.elapsed()
    );
    report.copied = copied;
    report.removed = removed;
    let mut failures = Vec::new();
    let mut tree_id = None;
    if p == Period::Manual {
        let dir = site.tmp.join(MANUAL_DIR);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
        let out = dir.join(names::manual_webroot_archive(&url, &inputs.id));
        tar_mirror(&mirror, &out, ARCHIVE_ROOT.trim_start_matches('/'))?;
        report.manual_archive = Some(out);
    } else {
        let r = (|| -> Result<String> {
            let provider = git::provider(&RepoSettings::from_settings(settings))?;
            provider.ensure_repo(&repo)?;
            if !still_ours() {
                return Err(lost());
            }
            let git_dir = git::open_state(&state)?;
            let creds = provider.credentials();
            let pushed = git::push_snapshot(
                &git_dir,
                &mirror,
                &provider.remote_url(&repo),
                creds.as_ref(),
                if p.lower().is_empty() {
                    "unknown"
                } else {
                    p.lower()
                },
            )?;
            tree_id = Some(pushed.tree.clone());
            log::debug!("pushed {} at {:?}", pushed.commit, started.elapsed());
            Ok(repo.clone())
        })();
        match r {
            Ok(r) => report.repository = Some(r),
            Err(e) => failures.push(format!("repository {repo}: {e}")),
        }
    }
    if mode.backup_datastore_copy(p == Period::Hourly) {
        let bucket = names::webroot_bucket(site.gen, &url, p, None);
        let r = (|| -> Result<()> {
            let dest = open_bucket(&bucket)?;
            // Unchanged since the copy this bucket holds: nothing to upload.
            let tree = tree_id.clone();
            let marker = state.join(format!("uploaded-{bucket}"));
            if let Some(t) = &tree {
                if let Ok(prev) = std::fs::read_to_string(&marker) {
                    let mut it = prev.split_whitespace();
                    if let (Some(pt), Some(size)) = (it.next(), it.next()) {
                        if pt == t
                            && dest.head(WEBROOT_OBJECT)?.map(|(n, _)| n.to_string())
                                == Some(size.to_string())
                        {
                            return Ok(());
                        }
                    }
                }
            }
            let members = archive_members(&mirror, ARCHIVE_ROOT, &state.join("archive-parts"))?;
            if !still_ours() {
                return Err(lost());
            }
            super::safecopy::put_rotated_members(
                dest.as_ref(),
                WEBROOT_OBJECT,
                &members,
                &state.join(format!("layout-{bucket}")),
            )?;
            let size: u64 = members
                .iter()
                .map(|m| std::fs::metadata(m).map(|m| m.len()).unwrap_or(0))
                .sum();
            if let Some(t) = &tree {
                let _ = crate::fsutil::write_atomic(
                    &marker,
                    format!("{t} {size}\n").as_bytes(),
                    Some(0o600),
                );
            }
            log::debug!("datastore copy done at {:?}", started.elapsed());
            Ok(())
        })();
        match r {
            Ok(()) => report.datastore = Some(format!("{bucket}/{WEBROOT_OBJECT}")),
            Err(e) => failures.push(format!("datastore copy {bucket}/{WEBROOT_OBJECT}: {e}")),
        }
    }
    if failures.is_empty() {
        Ok(report)
    } else {
        Err(Error::Remote(format!(
            "backup failed, the previous backup is kept: {}",
            failures.join("; ")
        )))
    }
}

/// Tell the operator that a backup failed, as legacy did: a `####` banner, the repository and
/// date, and the error in `logs/BackupDeltas.log`, and the e-mail `POTENTIAL BACKUP
/// INCONSISTENCY` / `Check <H>/logs/BackupDelta.log on machine: <public IP>` (legacy's text,
/// misspelt file name included).
pub fn report_failure(site: &Site, what: &str, error: &str) {
    let log = site.home.join("logs").join("BackupDeltas.log");
    let _ = std::fs::create_dir_all(site.home.join("logs"));
    let date = Run::new("date")
        .output()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_default();
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
    {
        let _ = writeln!(
            f,
            "#####################################################################\n{what} {date}\n{error}"
        );
    }
    let ip = site
        .read_file(&site.home.join("runtime").join("MYPUBLICIP"))
        .unwrap_or_default();
    site.notify(
        "POTENTIAL BACKUP INCONSISTENCY",
        &format!(
            "Check {}/logs/BackupDelta.log on machine: {}",
            site.home.display(),
            ip.trim()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_literal_and_reversible() {
        let p = Placeholders {
            user: "u.ser".into(),
            password: "p&a/s[s\\".into(),
            database: "".into(),
            port: "2035".into(),
            host: "10.0.0.9".into(),
        };
        let pairs = p.pairs();
        assert_eq!(pairs.len(), 4, "the empty value is skipped");
        let text = b"define('DB_USER','u.ser'); pw='p&a/s[s\\' port 2035 host 10.0.0.9 uXser";
        let s = scrub(text, &pairs);
        assert_eq!(
            String::from_utf8(s.clone()).unwrap(),
            "define('DB_USER','XXXUSERNAMEXXX'); pw='XXXPASSWORDXXX' port XXXDBPORTXXX host XXXDBHOSTXXX uXser"
        );
        assert_eq!(unscrub(&s, &pairs), text.to_vec());
        assert!(!is_text(b"PNG\0\x01"));
        assert!(is_text(b"<?php"));
    }

    #[test]
    fn the_mirror_follows_the_webroot_and_only_changed_files_are_copied() {
        let d = tempfile::tempdir().unwrap();
        let web = d.path().join("html");
        std::fs::create_dir_all(web.join("sub/.git")).unwrap();
        std::fs::write(web.join(".htaccess"), "deny 2035").unwrap();
        std::fs::write(web.join("index.php"), "<?php port 2035").unwrap();
        std::fs::write(web.join("index.php.backup"), "<?php original").unwrap();
        std::fs::write(web.join("sub/.git/config"), "x").unwrap();
        std::fs::write(web.join("sub/img.bin"), b"2035\0bin").unwrap();
        std::os::unix::fs::symlink("index.php", web.join("link")).unwrap();
        let plan = Plan {
            roots: vec![(web.clone(), String::new())],
            excluded: BTreeSet::new(),
            wordpress: false,
            index_swap: true,
            placeholders: Placeholders {
                port: "2035".into(),
                ..Default::default()
            },
            extra: vec![],
        };
        let mirror = d.path().join("m");
        let manifest = d.path().join("manifest");
        let (copied, _) = sync_mirror(&plan, &mirror, &manifest).unwrap();
        assert_eq!(copied, 5);
        assert_eq!(
            std::fs::read(mirror.join(".htaccess")).unwrap(),
            b"deny XXXDBPORTXXX"
        );
        assert_eq!(
            std::fs::read(mirror.join("index.php")).unwrap(),
            b"<?php original"
        );
        assert_eq!(
            std::fs::read(mirror.join("index.php.veteran")).unwrap(),
            b"<?php port XXXDBPORTXXX"
        );
        assert_eq!(
            std::fs::read(mirror.join("sub/img.bin")).unwrap(),
            b"2035\0bin"
        );
        assert!(!mirror.join("sub/.git").exists());
        assert!(std::fs::symlink_metadata(mirror.join("link"))
            .unwrap()
            .file_type()
            .is_symlink());
        // Nothing changed: nothing copied. One file changed, one removed.
        assert_eq!(sync_mirror(&plan, &mirror, &manifest).unwrap(), (0, 0));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(web.join(".htaccess"), "allow").unwrap();
        std::fs::remove_file(web.join("sub/img.bin")).unwrap();
        assert_eq!(sync_mirror(&plan, &mirror, &manifest).unwrap(), (1, 1));
        assert_eq!(std::fs::read(mirror.join(".htaccess")).unwrap(), b"allow");
        assert!(!mirror.join("sub/img.bin").exists());
        // The mirror's directories carry the webroot's times (not those of our rewrites).
        let mt = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
        assert_eq!(mt(&mirror), mt(&web));
        assert_eq!(mt(&mirror.join("sub")), mt(&web.join("sub")));
        // The live webroot was not touched.
        assert_eq!(
            std::fs::read(web.join("index.php")).unwrap(),
            b"<?php port 2035"
        );
        // Other values: every file is made again.
        let mut other = plan.clone();
        other.placeholders.port = "9999".into();
        let (copied, _) = sync_mirror(&other, &mirror, &manifest).unwrap();
        assert_eq!(copied, 4);
    }

    #[test]
    fn a_cached_archive_equals_a_fresh_one_after_changes() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m");
        for i in 0..300 {
            let dir = m.join(format!("d{}", i % 7));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("f{i}")), format!("{i}").repeat(i)).unwrap();
        }
        std::fs::write(m.join(".htaccess"), "x").unwrap();
        // Incompressible files (stored, not gzip'ed), one larger than a stored block.
        let noise = |seed: usize, n: usize| -> Vec<u8> {
            let mut out = Vec::new();
            let mut h = md5_hex(seed.to_string().as_bytes()).into_bytes();
            while out.len() < n {
                use md5::{Digest, Md5};
                h = Md5::digest(&h).to_vec();
                out.extend_from_slice(&h);
            }
            out.truncate(n);
            out
        };
        std::fs::create_dir_all(m.join("up")).unwrap();
        for i in 0..5 {
            std::fs::write(m.join(format!("up/img{i}.jpg")), noise(i, 3000 + i * 40000)).unwrap();
        }
        assert!(looks_incompressible(&m.join("up/img4.jpg")));
        assert!(!looks_incompressible(&m.join("d3/f10")));
        let long = "l".repeat(120);
        std::fs::write(m.join(&long), "long name").unwrap();
        let cache = d.path().join("cache");
        let list = |a: &Path| {
            let dir = d.path().join("x");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let o = Run::new("tar")
                .arg("-C")
                .arg(&dir)
                .args(["-xPzf"])
                .arg(a)
                .args(["--transform", "s,^/tmp/backup,.,"])
                .output()
                .unwrap();
            assert!(o.success(), "{}", o.stderr);
            dir
        };
        let a = d.path().join("a.tar.gz");
        tar_mirror_cached(&m, &a, "/tmp/backup", &cache).unwrap();
        let parts = std::fs::read_dir(&cache).unwrap().count();
        assert!(parts > 3, "several parts: {parts}");
        let x = list(&a);
        assert_eq!(std::fs::read(x.join(&long)).unwrap(), b"long name");
        for i in 0..5 {
            assert_eq!(
                std::fs::read(x.join(format!("up/img{i}.jpg"))).unwrap(),
                noise(i, 3000 + i * 40000)
            );
        }
        let t = Run::new("gzip").arg("-t").arg(&a).output().unwrap();
        assert!(t.success(), "{}", t.stderr);
        assert_eq!(
            std::fs::read(x.join("d3/f10")).unwrap(),
            "10".repeat(10).as_bytes()
        );
        // Change one file, remove one, add one: the archive follows.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(m.join("d3/f10"), "changed").unwrap();
        std::fs::remove_file(m.join("d4/f11")).unwrap();
        std::fs::write(m.join("d0/new"), "new").unwrap();
        tar_mirror_cached(&m, &a, "/tmp/backup", &cache).unwrap();
        let x = list(&a);
        assert_eq!(std::fs::read(x.join("d3/f10")).unwrap(), b"changed");
        assert!(!x.join("d4/f11").exists());
        assert_eq!(std::fs::read(x.join("d0/new")).unwrap(), b"new");
        let listing = Run::new("tar").args(["-tPzf"]).arg(&a).output().unwrap();
        assert!(listing.success());
        assert_eq!(listing.stdout.lines().count(), 1 + 7 + 300 + 2 + 1 - 1 + 6);
        assert!(listing.stdout.lines().all(|l| l.starts_with("/tmp/backup")));
    }

    #[test]
    fn archives_carry_the_legacy_member_names() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m");
        std::fs::create_dir_all(m.join("sub")).unwrap();
        std::fs::write(m.join(".htaccess"), "x").unwrap();
        std::fs::write(m.join("sub/a"), "y").unwrap();
        std::os::unix::fs::symlink("./sub/a", m.join("l")).unwrap();
        let out = d.path().join("a.tar.gz");
        tar_mirror(&m, &out, "/tmp/backup").unwrap();
        let list = Run::new("tar").args(["-tvPzf"]).arg(&out).output().unwrap();
        let names: Vec<&str> = list.stdout.lines().collect();
        assert!(
            names.iter().any(|l| l.ends_with(" /tmp/backup/.htaccess")),
            "{names:?}"
        );
        assert!(
            names.iter().any(|l| l.ends_with(" /tmp/backup/sub/a")),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .any(|l| l.ends_with(" /tmp/backup/l -> ./sub/a")),
            "{names:?}"
        );
    }
}
