//! Small filesystem helpers: every file we replace is written to a temporary file in the same
//! directory and renamed over the destination, so a reader never sees half a file and a failure
//! never destroys the previous version.

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
    done: bool,
}

impl TempFile {
    /// Create the temporary file. `mode` applies from creation (secrets are never world-readable,
    /// not even for a moment); without it the mode of an existing `dest` is kept, else 0644.
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
            let path = dir.join(format!(".{name}.adt-tmp.{}.{n}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
            {
                Ok(file) => {
                    // create_new honours the umask; set the exact mode.
                    let _ = file.set_permissions(fs::Permissions::from_mode(mode));
                    return Ok(TempFile {
                        path,
                        dest: dest.to_path_buf(),
                        file: Some(file),
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

    /// Flush, close and rename over the destination.
    pub fn commit(mut self) -> Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()
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
