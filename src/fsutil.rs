//! Small filesystem helpers: every file we replace is written to a temporary file in the same
//! directory and renamed over the destination, so a reader never sees half a file and a failure
//! never destroys the previous version.
//!
//! Temporary files are named `.NAME.adt-tmp.PID.N` and are created 0600 whatever the file will
//! become: its final mode is set only just before the rename, so a secret is never readable by
//! others while it is being written, and a process killed mid-write (no destructor runs) leaves
//! only a private file behind, which [`temp_files_in`] finds for the next writer to remove.
//!
//! Differences from legacy: s3cmd and the shell's redirections wrote the destination in place
//! with the umask's mode (0644), readable by everyone from the first byte.

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A temporary sibling of `dest`, removed on drop unless committed.
pub struct TempFile {
    path: PathBuf,
    dest: PathBuf,
    file: Option<File>,
    /// The mode `dest` gets at commit.
    mode: u32,
    done: bool,
}

/// The infix of our temporary files' names: `.NAME.adt-tmp.PID.N`.
pub const TEMP_INFIX: &str = ".adt-tmp.";

impl TempFile {
    /// Create the temporary file, always 0600. At commit it gets `mode`; without one, the mode
    /// of an existing `dest`, else 0644.
    pub fn new(dest: &Path, mode: Option<u32>) -> Result<TempFile> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        let mode = mode.unwrap_or_else(|| {
            fs::metadata(dest)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o644)
        });
        let mut n = 0u32;
        loop {
            let path = dir.join(format!(".{name}{TEMP_INFIX}{}.{n}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        dest: dest.to_path_buf(),
                        file: Some(file),
                        mode,
                        done: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(Error::io(dest.display(), e)),
            }
        }
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("temp file open")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, give the file its final mode, close and rename it over the destination.
    pub fn commit(mut self) -> Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()
                .map_err(|e| Error::io(self.path.display(), e))?;
            // The exact mode (creation honoured the umask), set only now that it is complete.
            f.set_permissions(fs::Permissions::from_mode(self.mode))
                .map_err(|e| Error::io(self.path.display(), e))?;
        }
        fs::rename(&self.path, &self.dest).map_err(|e| Error::io(self.dest.display(), e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Our temporary files in `dir` (see [`TempFile`]), with the id of the process that made each.
pub fn temp_files_in(dir: &Path) -> Vec<(PathBuf, i32)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (_, tail) = name.strip_prefix('.')?.rsplit_once(TEMP_INFIX)?;
            let (pid, n) = tail.split_once('.')?;
            n.parse::<u32>().ok()?;
            Some((e.path(), pid.parse().ok()?))
        })
        .collect()
}

/// Replace `dest` with `bytes` atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let mut t = TempFile::new(dest, mode)?;
    t.file()
        .write_all(bytes)
        .map_err(|e| Error::io(dest.display(), e))?;
    t.commit()
}

/// An exclusive `flock` on a lock file (created when missing), held until dropped.
pub struct Lock(#[allow(dead_code)] nix::fcntl::Flock<File>);

impl Lock {
    fn open(path: &Path) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path.display(), e))
    }

    /// Wait for the lock.
    pub fn exclusive(path: &Path) -> Result<Lock> {
        nix::fcntl::Flock::lock(Self::open(path)?, nix::fcntl::FlockArg::LockExclusive)
            .map(Lock)
            .map_err(|(_, e)| Error::io(format!("locking {}", path.display()), e.into()))
    }

    /// Take the lock if it is free; `Ok(None)` when another process holds it.
    pub fn try_exclusive(path: &Path) -> Result<Option<Lock>> {
        match nix::fcntl::Flock::lock(
            Self::open(path)?,
            nix::fcntl::FlockArg::LockExclusiveNonblock,
        ) {
            Ok(f) => Ok(Some(Lock(f))),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(Error::io(format!("locking {}", path.display()), e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_are_private_until_committed() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("f");
        let mut t = TempFile::new(&dest, Some(0o644)).unwrap();
        let mode = fs::metadata(t.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        t.file().write_all(b"x").unwrap();
        let found = temp_files_in(d.path());
        assert_eq!(
            found,
            vec![(t.path().to_path_buf(), std::process::id() as i32)]
        );
        t.commit().unwrap();
        let mode = fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert!(temp_files_in(d.path()).is_empty());
        fs::write(d.path().join(".x.adt-tmp.12.notanumber"), "").unwrap();
        fs::write(d.path().join("x.adt-tmp.12.0"), "").unwrap();
        assert!(temp_files_in(d.path()).is_empty());
    }
}
