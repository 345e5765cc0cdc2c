//! The backup's `applicationDB.sql`: a consistent dump of the application database, framed and
//! scrubbed as legacy's BackupDatabase.sh frames and scrubs it, streamed from the dump tool
//! through the scrub to a private temporary file, which replaces the destination only when the
//! tool exited 0 and its end marker arrived.
//!
//! Framing (byte for byte as legacy's `echo`s): MySQL/MariaDB
//! `SET SESSION sql_require_primary_key = 0;`, ``DROP TABLE IF EXISTS `zzzz`;``, the dump, then
//! the `zzzz` CREATE sentinel line; PostgreSQL the dump, then
//! `CREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );`. The 2025 generation's
//! (`providerscripts/database/BackupDatabase.sh`, [`Profile::Legacy2025`]) has its own dump
//! flags, ends with the `zzzz` drop and create (`CHARSET=utf8mb4`; PostgreSQL
//! `DROP TABLE IF EXISTS public.zzzz;` first) and names the PostgreSQL member
//! `applicationDB.psql`.
//!
//! Differences from legacy: `--single-transaction` (legacy dumped with `--lock-tables=false`
//! only: no consistent snapshot); the password in an option file / PGPASSFILE, never on argv;
//! no retries appended to a half-written file: one attempt, checked (status and end marker).

use super::archive;
use super::scrub::Scrubber;
use super::{program, Connection, Engine, Secret};
use crate::error::{Error, Result};
use crate::fsutil::TempFile;
use crate::process::Run;
use std::io::Write;
use std::path::Path;

/// Legacy's first two lines of a MySQL/MariaDB backup.
pub const MYSQL_HEADER: &str =
    "SET SESSION sql_require_primary_key = 0;\nDROP TABLE IF EXISTS `zzzz`;\n";
/// Legacy's last line of a MySQL/MariaDB backup: the sentinel the restore checks for.
pub const MYSQL_SENTINEL: &str = "CREATE TABLE `zzzz` ( `idxx` int(10) unsigned NOT NULL, PRIMARY KEY (`idxx`) ) Engine=INNODB CHARSET=utf8;\n";
/// Legacy's last line of a PostgreSQL backup.
pub const POSTGRES_SENTINEL: &str = "CREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );\n";

/// The 2025 generation's trailer of a MySQL/MariaDB backup (`CHARSET=utf8mb4`, and the
/// sentinel dropped first, as its BackupDatabase.sh echoes them).
pub const MYSQL_TRAILER_2025: &str = "DROP TABLE IF EXISTS `zzzz`;\nCREATE TABLE `zzzz` ( `idxx` int(10) unsigned NOT NULL, PRIMARY KEY (`idxx`) ) Engine=INNODB CHARSET=utf8mb4;\n";
/// The 2025 generation's trailer of a PostgreSQL backup.
pub const POSTGRES_TRAILER_2025: &str =
    "DROP TABLE IF EXISTS public.zzzz;\nCREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );\n";

/// Which generation's dump: its tool flags and its framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// 2022 `providerscripts/git/utilities/BackupDatabase.sh` (plus `--single-transaction`).
    Legacy2022,
    /// 2025 `providerscripts/database/BackupDatabase.sh`: `--skip-lock-tables
    /// --single-transaction --hex-blob --routines --triggers --force -y`; `mariadb-dump --ssl`,
    /// or MySQL's `mysqldump --set-gtid-purged=OFF --skip-column-statistics --ssl-mode=…`
    /// where there is no mariadb-dump (legacy's test). `tls_required`: a managed database
    /// (`--ssl-mode=REQUIRED`, as legacy); the server on this machine gets `PREFERRED` (legacy
    /// required TLS there too, which a server without TLS refuses). MariaDB's `--ssl` uses TLS
    /// when the server offers it and does not require it.
    Legacy2025 { tls_required: bool },
}

impl Profile {
    /// The member name of the archive (2025 PostgreSQL: `applicationDB.psql`).
    pub fn member(self, engine: Engine) -> &'static str {
        match (self, engine) {
            (Profile::Legacy2025 { .. }, Engine::Postgres) => archive::MEMBER_PSQL,
            _ => archive::MEMBER,
        }
    }

    /// What follows the dump: the `zzzz` sentinel the restore checks for on the last line.
    fn trailer(self, engine: Engine) -> &'static str {
        match (self, engine) {
            (Profile::Legacy2022, Engine::MySql) => MYSQL_SENTINEL,
            (Profile::Legacy2022, Engine::Postgres) => POSTGRES_SENTINEL,
            (Profile::Legacy2025 { .. }, Engine::MySql) => MYSQL_TRAILER_2025,
            (Profile::Legacy2025 { .. }, Engine::Postgres) => POSTGRES_TRAILER_2025,
        }
    }
}

/// What a complete dump ends with (mysqldump/mariadb-dump, pg_dump).
const MYSQL_END: &[u8] = b"-- Dump completed";
const POSTGRES_END: &[u8] = b"-- PostgreSQL database dump complete";

/// What a finished dump measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Dumped {
    /// Bytes the dump tool wrote.
    pub raw_bytes: u64,
    /// Bytes of the framed, scrubbed file.
    pub file_bytes: u64,
}

/// The dump command for `c` (its secret by file).
pub fn dump_command(c: &Connection, secret: &Secret) -> Result<Run> {
    dump_command_as(c, secret, Profile::Legacy2022)
}

/// The dump command for `c` with `profile`'s flags (its secret by file).
pub fn dump_command_as(c: &Connection, secret: &Secret, profile: Profile) -> Result<Run> {
    Ok(match c.engine {
        Engine::MySql => {
            let tool = program(&["mariadb-dump", "mysqldump"])?;
            // Must come first: the client reads the option file before anything else.
            let mut r =
                Run::new(&tool).arg(format!("--defaults-extra-file={}", secret.path().display()));
            r = match profile {
                Profile::Legacy2022 => r.args([
                    "--single-transaction",
                    "--lock-tables=false",
                    "--no-tablespaces",
                ]),
                Profile::Legacy2025 { tls_required } => {
                    let r = if tool.file_name().is_some_and(|n| n == "mariadb-dump") {
                        r.arg("--ssl")
                    } else {
                        r.args(["--set-gtid-purged=OFF", "--skip-column-statistics"])
                            .arg(if tls_required {
                                "--ssl-mode=REQUIRED"
                            } else {
                                "--ssl-mode=PREFERRED"
                            })
                    };
                    r.args([
                        "--skip-lock-tables",
                        "--single-transaction",
                        "--hex-blob",
                        "--routines",
                        "--triggers",
                        "--force",
                        "-y",
                    ])
                }
            };
            r = r.arg(format!("--host={}", c.host));
            if !c.port.is_empty() {
                r = r.arg(format!("--port={}", c.port));
            }
            r.arg(&c.name)
        }
        Engine::Postgres => {
            let mut r = Run::new(program(&["pg_dump"])?)
                .env("PGPASSFILE", secret.path())
                .args(["-w", "-h", &c.host, "-U", &c.user, "-d", &c.name]);
            if !c.port.is_empty() {
                r = r.args(["-p", &c.port]);
            }
            r
        }
    })
}

/// Counts what passes and keeps the last bytes, to see the end marker.
struct Tail {
    bytes: u64,
    last: Vec<u8>,
}

impl Tail {
    const KEEP: usize = 4096;

    fn push(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        if chunk.len() >= Tail::KEEP {
            self.last.clear();
            self.last
                .extend_from_slice(&chunk[chunk.len() - Tail::KEEP..]);
        } else {
            self.last.extend_from_slice(chunk);
            if self.last.len() > Tail::KEEP {
                let cut = self.last.len() - Tail::KEEP;
                self.last.drain(..cut);
            }
        }
    }

    fn has(&self, marker: &[u8]) -> bool {
        self.last.windows(marker.len()).any(|w| w == marker)
    }
}

/// A file writer that counts.
struct Counting<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Dump `c` framed and scrubbed into `w`; the secret file lives in `work` (a private
/// directory) while the dump runs. `Err` unless the dump tool exited 0 with its end marker.
fn dump_into(
    c: &Connection,
    work: &Path,
    scrub: &mut Scrubber,
    w: &mut dyn Write,
    profile: Profile,
) -> Result<u64> {
    let secret = Secret::new(c, work)?;
    let run = dump_command_as(c, &secret, profile)?.deadline(super::deadline());
    let name = run.name();
    let io = |e: std::io::Error| Error::io(format!("writing the dump of {}", c.name), e);
    let mut tail = Tail {
        bytes: 0,
        last: Vec::new(),
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, w);
    if c.engine == Engine::MySql {
        scrub.feed(MYSQL_HEADER.as_bytes(), &mut w).map_err(io)?;
    }
    let out = run.stream_stdout(|chunk| {
        tail.push(chunk);
        scrub.feed(chunk, &mut w).map_err(io)
    })?;
    drop(secret);
    if out.timed_out {
        return Err(Error::Io(format!(
            "{name} did not finish within ADT_DB_DEADLINE ({} s)",
            super::deadline().as_secs()
        )));
    }
    match out.code {
        Some(0) => {}
        Some(n) => {
            return Err(Error::Io(format!(
                "{name} failed (exit {n}): {}",
                out.first_error_line()
            )))
        }
        None => return Err(Error::Io(format!("{name} was killed before it finished"))),
    }
    let marker = match c.engine {
        Engine::MySql => MYSQL_END,
        Engine::Postgres => POSTGRES_END,
    };
    let sentinel = profile.trailer(c.engine);
    if !tail.has(marker) {
        return Err(Error::Io(format!(
            "{name} exited 0 but its output lacks its end marker ({:?}) after {} bytes: \
             the dump is incomplete",
            String::from_utf8_lossy(marker),
            tail.bytes
        )));
    }
    // Legacy `echo … >>` after a dump whose last line always ends in a newline.
    scrub.finish(&mut w).map_err(io)?;
    scrub.feed(sentinel.as_bytes(), &mut w).map_err(io)?;
    scrub.finish(&mut w).map_err(io)?;
    w.flush().map_err(io)?;
    Ok(tail.bytes)
}

/// Dump `c` into `dest` (0600), framed and scrubbed; the secret file lives in `work` (a private
/// directory) while the dump runs. On any failure `dest` is left as it was.
pub fn dump(c: &Connection, work: &Path, dest: &Path, mut scrub: Scrubber) -> Result<Dumped> {
    let mut tmp = TempFile::new(dest, Some(0o600))?;
    let mut w = Counting {
        inner: tmp.file(),
        bytes: 0,
    };
    let raw_bytes = dump_into(c, work, &mut scrub, &mut w, Profile::Legacy2022)?;
    let file_bytes = w.bytes;
    tmp.commit()?;
    Ok(Dumped {
        raw_bytes,
        file_bytes,
    })
}

/// Dump `c` straight into the backup archive `dest` (a tar.gz whose one member is
/// `applicationDB.sql`, [`archive::TarGzWriter`]): the dump is compressed while it streams and
/// is never on disk uncompressed. On any failure `dest` is left as it was.
pub fn dump_archive(c: &Connection, work: &Path, dest: &Path, scrub: Scrubber) -> Result<Dumped> {
    dump_archive_as(c, work, dest, scrub, Profile::Legacy2022)
}

/// [`dump_archive`] with `profile`'s flags, framing and member name
/// ([`Profile::member`]).
pub fn dump_archive_as(
    c: &Connection,
    work: &Path,
    dest: &Path,
    mut scrub: Scrubber,
    profile: Profile,
) -> Result<Dumped> {
    let mut w = archive::TarGzWriter::create(dest)?;
    let raw_bytes = dump_into(c, work, &mut scrub, &mut w, profile)?;
    let file_bytes = w.bytes();
    w.finish(profile.member(c.engine))?;
    Ok(Dumped {
        raw_bytes,
        file_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_sees_a_marker_across_chunks_and_forgets_old_bytes() {
        let mut t = Tail {
            bytes: 0,
            last: Vec::new(),
        };
        t.push(b"-- Dump comp");
        t.push(b"leted on 2026\n");
        assert!(t.has(MYSQL_END));
        t.push(&vec![b'x'; 10_000]);
        assert!(!t.has(MYSQL_END));
        assert_eq!(t.last.len(), Tail::KEEP);
        assert_eq!(t.bytes, 12 + 14 + 10_000);
    }
}
