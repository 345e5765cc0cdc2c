//! SyncToDatastoreTunnel (webserver): publish new and changed webroot files to
//! `webrootsynctunnel/` so that other webservers pick them up with SyncFromDatastoreTunnel.
//!
//! As the legacy script: nothing happens until `credentials/shit` exists in the datastore; a
//! checklist of `md5sum` lines (`<md5>  <path>`) is kept in `runtime/checklist.chk(.new)`; the
//! first run only records the checklist; later runs upload the files whose line is new
//! (written to `runtime/newandmodfiles.dat`), after running
//! `applicationscripts/CleanApplicationTunnel.sh` if present. Directories named in
//! DIRECTORIESTOMOUNT (dots for slashes) are left out unless PERSISTASSETSTOCLOUD:0 is set.
//! Difference: the legacy compared the two checklists with `diff` in find's order, so a mere
//! reordering re-uploaded files; here the comparison is by line, order-independent.

use crate::error::{Error, Result};
use crate::fsutil;
use md5::{Digest, Md5};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

fn md5_file(p: &Path) -> Result<String> {
    let mut f = std::fs::File::open(p).map_err(|e| Error::io(p.display(), e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(p.display(), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn walk(dir: &Path, excluded: &[PathBuf], out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir.display(), e)),
    };
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir.display(), e))?;
        let p = ent.path();
        if excluded.contains(&p) {
            continue;
        }
        let ft = ent.file_type().map_err(|e| Error::io(p.display(), e))?;
        if ft.is_dir() {
            walk(&p, excluded, out)?;
        } else if ft.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// The checklist of a webroot: sorted `md5sum`-format lines.
pub fn checklist(webroot: &Path, excluded: &[PathBuf]) -> Result<String> {
    let mut files = Vec::new();
    walk(webroot, excluded, &mut files)?;
    files.sort();
    let mut out = String::new();
    for f in files {
        out.push_str(&md5_file(&f)?);
        out.push_str("  ");
        out.push_str(&f.to_string_lossy());
        out.push('\n');
    }
    Ok(out)
}

/// The webroot files that are new or changed since the last run (absolute paths), from the
/// checklists under `<home>/runtime/` (`checklist.chk`, `checklist.chk.new`), which this call
/// moves on. The first run only records the checklist. Directories in DIRECTORIESTOMOUNT are
/// left out unless PERSISTASSETSTOCLOUD:0. The application's own
/// `applicationscripts/CleanApplicationTunnel.sh` runs once changes are known.
pub fn changed_files(home: &Path, webroot: &Path, settings: &str) -> Result<Vec<String>> {
    let runtime = home.join("runtime");
    std::fs::create_dir_all(&runtime).map_err(|e| Error::io(runtime.display(), e))?;
    let chk = runtime.join("checklist.chk");
    let chk_new = runtime.join("checklist.chk.new");
    if chk_new.is_file() {
        std::fs::rename(&chk_new, &chk).map_err(|e| Error::io(chk_new.display(), e))?;
    }
    let mut excluded = Vec::new();
    let persist_all = crate::config::check_value(settings, "PERSISTASSETSTOCLOUD:0") == "1\n";
    if !persist_all {
        for line in crate::config::extract_values(settings, "DIRECTORIESTOMOUNT", true).lines() {
            for d in line.split_whitespace() {
                excluded.push(webroot.join(d.replace('.', "/")));
            }
        }
    }
    let new = checklist(webroot, &excluded)?;
    fsutil::write_atomic(&chk_new, new.as_bytes(), None)?;
    let old = std::fs::read_to_string(&chk).unwrap_or_default();
    if old.trim().is_empty() {
        fsutil::write_atomic(&chk, new.as_bytes(), None)?;
        return Ok(Vec::new());
    }
    let old: BTreeSet<&str> = old.lines().collect();
    let changed: Vec<String> = new
        .lines()
        .filter(|l| !old.contains(l))
        .filter_map(|l| l.split_once("  ").map(|(_, p)| p.to_string()))
        .collect();
    let mut list = changed.join("\n");
    if !list.is_empty() {
        list.push('\n');
    }
    fsutil::write_atomic(&runtime.join("newandmodfiles.dat"), list.as_bytes(), None)?;
    let clean = home
        .join("applicationscripts")
        .join("CleanApplicationTunnel.sh");
    if clean.is_file() {
        let _ = crate::process::Run::new(&clean).inherit_stdout().output();
    }
    Ok(changed)
}
