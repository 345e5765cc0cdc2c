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

/// The member of a 2025 PostgreSQL backup archive.
pub const MEMBER_PSQL: &str = "applicationDB.psql";

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

/// The member names of a tar.gz, reading it all as `tar -tzf` does, in-process: every gzip
/// member's CRC-32 and length checked, every tar header's checksum, every member's data read
/// to its declared size, the end-of-archive blocks present and nothing but zeros after them.
pub fn list(archive: &Path) -> Result<Vec<String>> {
    let f = std::fs::File::open(archive).map_err(|e| Error::io(archive.display(), e))?;
    let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, f));
    list_tar(gz).map_err(|e| Error::Io(format!("listing {}: {e}", archive.display())))
}

/// The member names of an uncompressed tar stream (ustar and GNU: `L` long names, pax `x`
/// paths), read to its end.
fn list_tar(mut r: impl std::io::Read) -> std::result::Result<Vec<String>, String> {
    use std::io::Read;
    let mut names = Vec::new();
    let mut block = [0u8; 512];
    let mut next_name: Option<String> = None;
    loop {
        r.read_exact(&mut block).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the archive ends before its end-of-archive blocks".to_string()
            } else {
                e.to_string()
            }
        })?;
        if block.iter().all(|&b| b == 0) {
            r.read_exact(&mut block)
                .map_err(|_| "the archive ends inside its end-of-archive blocks".to_string())?;
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).map_err(|e| e.to_string())?;
            if block.iter().chain(rest.iter()).any(|&b| b != 0) {
                return Err("data after the end-of-archive block".into());
            }
            return Ok(names);
        }
        let h = TarHeader::parse(&block)?;
        let mut data = (&mut r).take(h.size.div_ceil(512) * 512);
        match h.kind {
            b'L' | b'x' | b'g' => {
                let mut meta = Vec::new();
                data.read_to_end(&mut meta).map_err(|e| e.to_string())?;
                meta.truncate(h.size as usize);
                if h.kind == b'L' {
                    let end = meta.iter().position(|&b| b == 0).unwrap_or(meta.len());
                    next_name = Some(String::from_utf8_lossy(&meta[..end]).into_owned());
                } else if h.kind == b'x' {
                    next_name = pax_path(&meta).or(next_name);
                }
                if (meta.len() as u64) < h.size {
                    return Err(format!("{} ends inside its data", h.name));
                }
                continue;
            }
            _ => {
                let n =
                    std::io::copy(&mut data, &mut std::io::sink()).map_err(|e| e.to_string())?;
                if n < h.size.div_ceil(512) * 512 {
                    return Err(format!("the archive ends inside {}", h.name));
                }
            }
        }
        names.push(next_name.take().unwrap_or(h.name));
    }
}

/// The `path` record of a pax extended header (`<len> path=<value>\n` records).
fn pax_path(meta: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(meta);
    text.split('\n')
        .filter_map(|rec| rec.split_once(' ').map(|(_, kv)| kv))
        .find_map(|kv| kv.strip_prefix("path=").map(str::to_string))
}

/// What [`list`] needs of a tar header block.
struct TarHeader {
    name: String,
    size: u64,
    kind: u8,
}

impl TarHeader {
    fn parse(h: &[u8; 512]) -> std::result::Result<TarHeader, String> {
        let field = |a: usize, b: usize| {
            let f = &h[a..b];
            let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
            String::from_utf8_lossy(&f[..end]).into_owned()
        };
        let octal = |a: usize, b: usize| -> Option<u64> {
            let t = field(a, b);
            let t = t.trim_matches(|c: char| c == ' ' || c == '\0');
            if t.is_empty() {
                Some(0)
            } else {
                u64::from_str_radix(t, 8).ok()
            }
        };
        let stated = octal(148, 156).ok_or("a tar header's checksum field is not a number")?;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u64
                }
            })
            .sum();
        if sum != stated {
            return Err(format!(
                "a tar header's checksum does not match (stated {stated}, computed {sum})"
            ));
        }
        let size = if h[124] & 0x80 != 0 {
            h[125..136].iter().fold(0u64, |acc, &b| {
                acc.saturating_mul(256).saturating_add(b as u64)
            })
        } else {
            octal(124, 136).ok_or("a tar header's size field is not a number")?
        };
        let mut name = field(0, 100);
        // POSIX ustar only (GNU's magic is "ustar " and it keeps other fields there).
        if &h[257..263] == b"ustar\0" {
            let prefix = field(345, 500);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        Ok(TarHeader {
            name,
            size,
            kind: h[156],
        })
    }
}

/// The archive lists cleanly and holds exactly the dump.
pub fn verify(archive: &Path) -> Result<()> {
    verify_member(archive, MEMBER)
}

/// The archive lists cleanly and holds exactly `member`.
pub fn verify_member(archive: &Path, member: &str) -> Result<()> {
    let members = list(archive)?;
    if members != [member] {
        return Err(Error::Io(format!(
            "{} holds {:?}, not just {member}",
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

/// A tar.gz of one member written as the member's bytes stream in, without the member ever
/// being on disk: the bytes go, in stretches of 2 MiB, to compressor threads (one a core, at most
/// four; zlib-rs at legacy's `tar cvfz` level 6) while the dump runs, each stretch its own gzip
/// member, written out in order (memory: at most one stretch a core in flight; about 40 MiB in
/// all); the tar header, whose size field is known only at the end, is its own gzip member at
/// the front, and the padding and end blocks another at the end.
/// A gzip file may hold several members, read as one stream (RFC 1952 §2.2; gzip, GNU tar and
/// Python's tarfile all read it), so `tar -xzf` sees one ordinary tar.
///
/// The front member stores the 512-byte header uncompressed, so its length is fixed
/// ([`HEADER_MEMBER_LEN`]) and the space is reserved before the compressed stretches follow it.
pub struct TarGzWriter {
    tmp: TempFile,
    bytes: u64,
    /// The stretch of the member being gathered for the next compressor.
    chunk: Vec<u8>,
    pool: Pool,
}

/// The member's bytes are compressed in stretches of this size (2 MiB), each its own gzip member, by
/// one thread a core: the stream is no longer paced by one compressor.
const CHUNK: usize = 2 << 20;

/// Compressor threads working on stretches of the stream, their output written out in the order
/// the stretches came.
struct Pool {
    level: flate2::Compression,
    threads: usize,
    pending: std::collections::VecDeque<std::thread::JoinHandle<std::io::Result<Vec<u8>>>>,
}

/// One stretch as one gzip member.
fn gzip_member(data: &[u8], level: flate2::Compression) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), level);
    e.write_all(data)?;
    e.finish()
}

impl Pool {
    fn start() -> Pool {
        Pool {
            level: flate2::Compression::new(gzip_level() as u32),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, 4),
            pending: Default::default(),
        }
    }

    /// Write out the oldest stretch's compressed bytes once they are ready.
    fn write_oldest(&mut self, f: &mut std::fs::File) -> Result<()> {
        use std::io::Write;
        if let Some(h) = self.pending.pop_front() {
            let out = h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a compressor panicked")))
                .map_err(|e| Error::io("compressing the archive", e))?;
            f.write_all(&out)
                .map_err(|e| Error::io("writing the archive", e))?;
        }
        Ok(())
    }

    fn send(&mut self, data: Vec<u8>, f: &mut std::fs::File) -> Result<()> {
        let level = self.level;
        self.pending
            .push_back(std::thread::spawn(move || gzip_member(&data, level)));
        while self.pending.len() > self.threads {
            self.write_oldest(f)?;
        }
        Ok(())
    }

    fn close(&mut self, f: &mut std::fs::File) -> Result<()> {
        while !self.pending.is_empty() {
            self.write_oldest(f)?;
        }
        Ok(())
    }
}

/// 10 bytes of gzip header, 5 of stored-block header, 512 of tar header, 8 of CRC and size.
pub const HEADER_MEMBER_LEN: u64 = 10 + 5 + 512 + 8;

/// A gzip member holding `data` (at most 65535 bytes) in one stored (uncompressed) block.
fn stored_member(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut m = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    m.push(0x01); // final block, stored
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(&(!len).to_le_bytes());
    m.extend_from_slice(data);
    m.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m
}

/// A ustar header for a regular file owned by root, mode 0644 (as legacy's `tar cvfz` of a file
/// the root shell wrote). Sizes of 8 GiB and more use GNU's base-256 size field.
pub fn tar_header(name: &str, size: u64, mtime: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
    put(&mut h, 0, &name.as_bytes()[..name.len().min(100)]);
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    if size < 0o77777777777 {
        put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    } else {
        h[124] = 0x80;
        put(&mut h, 128, &size.to_be_bytes());
    }
    put(
        &mut h,
        136,
        format!("{:011o}\0", mtime.min(0o77777777777)).as_bytes(),
    );
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    put(&mut h, 265, b"root");
    put(&mut h, 297, b"root");
    put(&mut h, 329, b"0000000\0");
    put(&mut h, 337, b"0000000\0");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// The dump's compression level: legacy's `tar cvfz` level 6, or `ADT_DB_GZIP_LEVEL` (1–9).
fn gzip_level() -> u64 {
    crate::knobs::env_u64("ADT_DB_GZIP_LEVEL", 6).clamp(1, 9)
}

impl TarGzWriter {
    /// Start writing the archive `dest` (a private temporary file until [`finish`](Self::finish)).
    pub fn create(dest: &Path) -> Result<TarGzWriter> {
        use std::io::{Seek, SeekFrom};
        let mut tmp = TempFile::new(dest, Some(0o600))?;
        let io = |e: std::io::Error| Error::io(dest.display(), e);
        tmp.file()
            .seek(SeekFrom::Start(HEADER_MEMBER_LEN))
            .map_err(io)?;
        Ok(TarGzWriter {
            tmp,
            bytes: 0,
            chunk: Vec::with_capacity(CHUNK),
            pool: Pool::start(),
        })
    }

    /// The member's bytes so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Close the member `name`: wait for the compressors, then write the end and the header
    /// members.
    pub fn finish(self, name: &str) -> Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let TarGzWriter {
            mut tmp,
            bytes,
            chunk,
            mut pool,
        } = self;
        if !chunk.is_empty() {
            pool.send(chunk, tmp.file())?;
        }
        pool.close(tmp.file())?;
        let path = tmp.path().to_path_buf();
        let io = |e: std::io::Error| Error::io(path.display(), e);
        let pad = ((512 - bytes % 512) % 512) as usize;
        let f = tmp.file();
        f.write_all(&stored_member(&vec![0u8; pad + 1024]))
            .map_err(io)?;
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let head = stored_member(&tar_header(name, bytes, mtime));
        debug_assert_eq!(head.len() as u64, HEADER_MEMBER_LEN);
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&head).map_err(io)?;
        tmp.commit()
    }
}

impl std::io::Write for TarGzWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.chunk.len();
        let n = buf.len().min(room);
        self.chunk.extend_from_slice(&buf[..n]);
        self.bytes += n as u64;
        if self.chunk.len() >= CHUNK {
            let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            self.pool
                .send(full, self.tmp.file())
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

    #[test]
    fn the_streamed_archive_is_an_ordinary_tar_gz() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let archive = d.path().join("example-DB-backup.tar.gz");
        // Over ten compression stretches (2 MiB each), so their order is tested too.
        let body: Vec<u8> = (0..5_500_001u32)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> (i % 23)).to_le_bytes())
            .collect();
        let mut w = TarGzWriter::create(&archive).unwrap();
        for c in body.chunks(7777) {
            w.write_all(c).unwrap();
        }
        assert_eq!(w.bytes(), body.len() as u64);
        w.finish(MEMBER).unwrap();
        verify(&archive).unwrap();
        let out = d.path().join("out");
        untar(&archive, &out).unwrap();
        assert_eq!(std::fs::read(out.join(MEMBER)).unwrap(), body);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Empty member too.
        let w = TarGzWriter::create(&archive).unwrap();
        w.finish(MEMBER).unwrap();
        verify(&archive).unwrap();
    }

    #[test]
    fn the_listing_is_tars_for_each_format() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        let long = "l".repeat(150);
        std::fs::create_dir_all(src.join("dir/sub")).unwrap();
        std::fs::write(src.join("dir/sub/a.txt"), b"a").unwrap();
        std::fs::write(src.join(&long), vec![7u8; 70_000]).unwrap();
        std::fs::write(src.join("empty"), b"").unwrap();
        for format in ["gnu", "posix", "ustar"] {
            if format == "ustar" {
                std::fs::remove_file(src.join(&long)).unwrap();
            }
            let archive = d.path().join(format!("{format}.tar.gz"));
            let o = Run::new("tar")
                .arg(format!("--format={format}"))
                .arg("-czf")
                .arg(&archive)
                .arg("-C")
                .arg(&src)
                .arg(".")
                .output()
                .unwrap();
            assert!(o.success(), "{}", o.first_error_line());
            let theirs = checked(Run::new("tar").arg("-tzf").arg(&archive)).unwrap();
            let theirs: Vec<String> = theirs.lines().map(str::to_string).collect();
            assert!(theirs.len() >= 4, "{theirs:?}");
            assert_eq!(list(&archive).unwrap(), theirs, "{format}");
        }
    }

    #[test]
    fn a_damaged_archive_fails_the_listing() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let archive = d.path().join("a.tar.gz");
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = TarGzWriter::create(&archive).unwrap();
        w.write_all(&body).unwrap();
        w.finish(MEMBER).unwrap();
        verify(&archive).unwrap();
        let good = std::fs::read(&archive).unwrap();
        // A byte changed inside the compressed data: a CRC or the inflate fails.
        let mut bad = good.clone();
        let at = HEADER_MEMBER_LEN as usize + 2000;
        bad[at] ^= 0x55;
        std::fs::write(&archive, &bad).unwrap();
        assert!(verify(&archive).is_err());
        // The tar header's checksum no longer matches (a name byte changed, CRC fixed up).
        let mut bad = good.clone();
        bad[15] = b'b';
        let crc = crc32fast::hash(&bad[15..15 + 512]).to_le_bytes();
        bad[15 + 512..15 + 516].copy_from_slice(&crc);
        std::fs::write(&archive, &bad).unwrap();
        let e = verify(&archive).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        // Data after the end blocks.
        let mut bad = good.clone();
        bad.extend_from_slice(&stored_member(b"trailing"));
        std::fs::write(&archive, &bad).unwrap();
        assert!(verify(&archive).is_err());
        // Without the end blocks.
        let mut w = TarGzWriter::create(&archive).unwrap();
        w.write_all(&body).unwrap();
        w.finish(MEMBER).unwrap();
        let whole = std::fs::read(&archive).unwrap();
        let end = stored_member(&vec![0u8; (512 - body.len() % 512) % 512 + 1024]);
        std::fs::write(&archive, &whole[..whole.len() - end.len()]).unwrap();
        let e = verify(&archive).unwrap_err().to_string();
        assert!(e.contains("end"), "{e}");
    }

    #[test]
    fn large_sizes_use_base_256() {
        let h = tar_header(MEMBER, 9 << 30, 0);
        assert_eq!(h[124], 0x80);
        assert_eq!(&h[128..136], &(9u64 << 30).to_be_bytes());
        let h = tar_header(MEMBER, 1234, 0);
        assert_eq!(&h[124..136], b"00000002322\0");
    }
}
