//! The backup archive legacy ships: `tar cvfz <name>-DB-backup.tar.gz applicationDB.sql` (one
//! member, relative name), cut by `split -b 10M -d` into `<name>-db-00`, `-01`, … for the git
//! repository, and joined back by the restore (`cat <p>/<name>-db-?? > …`).
//!
//! Differences from legacy: the archive is written to a private temporary file and renamed
//! into place only once complete, then listed back ([`verify`]) before anyone may rotate the
//! previous backup away; its mode is 0600 (legacy: the umask's 0644).

use super::program;
use crate::error::{Error, Result};
use crate::fsutil::TempFile;
use crate::process::Run;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The one member of a database backup archive.
pub const MEMBER: &str = "applicationDB.sql";

/// Legacy's part size: `split -b 10M`.
pub const PART_SIZE: u64 = 10 * 1024 * 1024;

fn tool(name: &str) -> Result<Run> {
    Ok(Run::new(program(&[name])?).deadline(super::deadline()))
}

fn checked(run: Run) -> Result<String> {
    run.stdout_or(Error::Io)
}

/// `tar -czf archive -C dir MEMBER` where `sql` is `dir/MEMBER`, written whole or not at all.
pub fn tar_gz(sql: &Path, archive: &Path) -> Result<()> {
    let dir = sql.parent().unwrap_or(Path::new("."));
    let member = sql
        .file_name()
        .ok_or_else(|| Error::Io(format!("{} names no file", sql.display())))?;
    let tmp = TempFile::new(archive, Some(0o600))?;
    checked(
        tool("tar")?
            .arg("-czf")
            .arg(tmp.path())
            .arg("-C")
            .arg(dir)
            .arg(member),
    )
    .map_err(|e| e.context(format!("archiving {}", sql.display())))?;
    tmp.commit()
}

/// The member names of a tar.gz (reading it all: gzip's checksum is checked on the way).
pub fn list(archive: &Path) -> Result<Vec<String>> {
    let out = checked(tool("tar")?.arg("-tzf").arg(archive))
        .map_err(|e| e.context(format!("listing {}", archive.display())))?;
    Ok(out.lines().map(str::to_string).collect())
}

/// The archive lists cleanly and holds exactly the dump.
pub fn verify(archive: &Path) -> Result<()> {
    let members = list(archive)?;
    if members != [MEMBER] {
        return Err(Error::Io(format!(
            "{} holds {:?}, not just {MEMBER}",
            archive.display(),
            members
        )));
    }
    Ok(())
}

/// `split -b SIZE -d archive dir/prefix`: the parts, in order.
pub fn split(archive: &Path, dir: &Path, prefix: &str, size: u64) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    checked(
        tool("split")?
            .args(["-b", &size.to_string(), "-d"])
            .arg(archive)
            .arg(dir.join(prefix)),
    )
    .map_err(|e| e.context(format!("splitting {}", archive.display())))?;
    parts(dir, prefix)
}

/// The parts `dir/prefix??…` (digits only) in name order.
pub fn parts(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir.display(), e))?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix(prefix)
                .is_some_and(|s| s.len() >= 2 && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

/// `cat parts > dest`, streamed, written whole or not at all.
pub fn join(parts: &[PathBuf], dest: &Path) -> Result<()> {
    use std::io::Write;
    let mut tmp = TempFile::new(dest, Some(0o600))?;
    for p in parts {
        let mut f = std::fs::File::open(p).map_err(|e| Error::io(p.display(), e))?;
        std::io::copy(&mut f, tmp.file()).map_err(|e| Error::io(dest.display(), e))?;
    }
    tmp.file()
        .flush()
        .map_err(|e| Error::io(dest.display(), e))?;
    tmp.commit()
}

/// `tar -xzf archive -C dir`.
pub fn untar(archive: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    checked(
        tool("tar")?
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(dir)
            .deadline(Duration::from_secs(24 * 3600)),
    )
    .map_err(|e| e.context(format!("unpacking {}", archive.display())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_split_join_untar_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let sql = d.path().join(MEMBER);
        // Incompressible enough to need several parts of 4 KiB.
        let body: Vec<u8> = (0..60_000u32)
            .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
            .collect();
        std::fs::write(&sql, &body).unwrap();
        let archive = d.path().join("example-DB-backup.tar.gz");
        tar_gz(&sql, &archive).unwrap();
        verify(&archive).unwrap();
        let parts = split(&archive, &d.path().join("daily"), "example-db-", 4096).unwrap();
        assert!(parts.len() > 3, "{parts:?}");
        let names: Vec<String> = parts
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "example-db-00");
        assert_eq!(names[1], "example-db-01");
        let joined = d.path().join("joined.tar.gz");
        join(&parts, &joined).unwrap();
        assert_eq!(
            std::fs::read(&joined).unwrap(),
            std::fs::read(&archive).unwrap()
        );
        let out = d.path().join("out");
        untar(&joined, &out).unwrap();
        assert_eq!(std::fs::read(out.join(MEMBER)).unwrap(), body);
    }

    #[test]
    fn a_cut_archive_fails_verification() {
        let d = tempfile::tempdir().unwrap();
        let sql = d.path().join(MEMBER);
        let body: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(&sql, &body).unwrap();
        let archive = d.path().join("a.tar.gz");
        tar_gz(&sql, &archive).unwrap();
        let bytes = std::fs::read(&archive).unwrap();
        std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
        assert!(verify(&archive).is_err());
    }
}
