//! The legacy dump scrub, as literal replacements applied line by line while the dump streams
//! (never the whole dump in memory).
//!
//! Legacy (`providerscripts/git/utilities/BackupDatabase.sh`) ran one `sed -i` after another over
//! the finished file: `http://` → `https://`, the DB user → `XXXXXXXXXX`, (MySQL/Maria) lines
//! matching `SESSION.SQL_LOG_BIN` deleted, IPMASK → `YYYYYYYYYY`. The restore side
//! (ApplyApplicationBranding) puts the values back. [`Scrubber`] applies the same steps in the
//! same order to each line.
//!
//! Differences from legacy: the values are matched literally, not as regular expressions built
//! from them (an IPMASK `10.116.%.%` matched any character at its dots; a value with `/`, `[` or
//! `\` broke the sed command and left the dump unscrubbed); an empty value is skipped instead of
//! making sed repeat its previous pattern. Memory is bounded by the longest line (one row of a
//! PostgreSQL COPY, one extended INSERT of mariadb-dump, about 1 MB), not by the dump.

use crate::error::{Error, Result};
use crate::fsutil::TempFile;
use std::io::Write;
use std::path::Path;

/// One step of the scrub, applied to each line in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Replace every occurrence (left to right, non-overlapping, as sed's `s/…/…/g`).
    Replace(Vec<u8>, Vec<u8>),
    /// Drop the whole line when it contains this.
    DropLinesWith(Vec<u8>),
}

/// The steps in order; applied to each line of a stream.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    steps: Vec<Step>,
    /// The start of a line whose end has not come yet.
    partial: Vec<u8>,
}

impl Scrubber {
    pub fn new(steps: Vec<Step>) -> Scrubber {
        let steps = steps
            .into_iter()
            .filter(|s| match s {
                Step::Replace(from, _) => !from.is_empty(),
                Step::DropLinesWith(p) => !p.is_empty(),
            })
            .collect();
        Scrubber {
            steps,
            partial: Vec::new(),
        }
    }

    /// The backup scrub of a dump: legacy order, `drop_log_bin` for MySQL/MariaDB.
    pub fn for_backup(db_user: &str, ipmask: &str, drop_log_bin: bool) -> Scrubber {
        let mut steps = vec![
            Step::Replace(b"http://".to_vec(), b"https://".to_vec()),
            Step::Replace(db_user.as_bytes().to_vec(), USER_TOKEN.as_bytes().to_vec()),
        ];
        if drop_log_bin {
            steps.push(Step::DropLinesWith(b"SESSION.SQL_LOG_BIN".to_vec()));
        }
        steps.push(Step::Replace(
            ipmask.as_bytes().to_vec(),
            IPMASK_TOKEN.as_bytes().to_vec(),
        ));
        Scrubber::new(steps)
    }

    /// The restore side's replacements (InstallApplicationDB's branding step for the two
    /// tokens a backup carries): `XXXXXXXXXX` → user, `YYYYYYYYYY` → IPMASK; for a MariaDB
    /// target (InstallMariaDB.sh) also the lines with `SESSION.SQL_LOG_BIN` and
    /// `sql_require_primary_key` (MariaDB has no such variable) are dropped.
    pub fn for_restore(db_user: &str, ipmask: &str, maria: bool) -> Scrubber {
        let mut steps = vec![
            Step::Replace(USER_TOKEN.as_bytes().to_vec(), db_user.as_bytes().to_vec()),
            Step::Replace(IPMASK_TOKEN.as_bytes().to_vec(), ipmask.as_bytes().to_vec()),
        ];
        if maria {
            steps.push(Step::DropLinesWith(b"SESSION.SQL_LOG_BIN".to_vec()));
            steps.push(Step::DropLinesWith(b"sql_require_primary_key".to_vec()));
        }
        Scrubber::new(steps)
    }

    /// Stream file `src` through the steps into `dest` (0600, written whole or not at all).
    pub fn file(mut self, src: &Path, dest: &Path) -> Result<()> {
        use std::io::Read;
        let mut input = std::fs::File::open(src).map_err(|e| Error::io(src.display(), e))?;
        let mut tmp = TempFile::new(dest, Some(0o600))?;
        let io = |e: std::io::Error| Error::io(dest.display(), e);
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.file());
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = input
                    .read(&mut buf)
                    .map_err(|e| Error::io(src.display(), e))?;
                if n == 0 {
                    break;
                }
                self.feed(&buf[..n], &mut w).map_err(io)?;
            }
            self.finish(&mut w).map_err(io)?;
            w.flush().map_err(io)?;
        }
        tmp.commit()
    }

    /// One line (with its newline, if any) through every step; `None` when it is dropped.
    /// Borrowed when no step changes it (the common case: no copy).
    pub fn line<'a>(&self, line: &'a [u8]) -> Option<std::borrow::Cow<'a, [u8]>> {
        use std::borrow::Cow;
        let mut cur: Cow<'a, [u8]> = Cow::Borrowed(line);
        for s in &self.steps {
            match s {
                Step::Replace(from, to) => {
                    if let Some(first) = memchr::memmem::find(&cur, from) {
                        cur = Cow::Owned(replace_all(&cur, first, from, to));
                    }
                }
                Step::DropLinesWith(p) => {
                    if memchr::memmem::find(&cur, p).is_some() {
                        return None;
                    }
                }
            }
        }
        Some(cur)
    }

    /// Feed a chunk of the stream; complete lines go to `out` scrubbed.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            // Finish the line begun in an earlier chunk.
            match memchr::memchr(b'\n', chunk) {
                None => {
                    self.partial.extend_from_slice(chunk);
                    return Ok(());
                }
                Some(i) => {
                    let mut l = std::mem::take(&mut self.partial);
                    l.extend_from_slice(&chunk[..=i]);
                    if let Some(l) = self.line(&l) {
                        out.write_all(&l)?;
                    }
                    chunk = &chunk[i + 1..];
                }
            }
        }
        // The complete lines of the chunk; with no step matching anywhere in them (one search
        // per step over the whole run), they go out as they are.
        let end = match memchr::memrchr(b'\n', chunk) {
            Some(i) => i + 1,
            None => 0,
        };
        let (lines, rest) = chunk.split_at(end);
        let touched = self.steps.iter().any(|s| match s {
            Step::Replace(p, _) | Step::DropLinesWith(p) => {
                memchr::memmem::find(lines, p).is_some()
            }
        });
        if touched {
            let mut start = 0;
            for i in memchr::memchr_iter(b'\n', lines) {
                if let Some(l) = self.line(&lines[start..=i]) {
                    out.write_all(&l)?;
                }
                start = i + 1;
            }
        } else {
            out.write_all(lines)?;
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The end of the stream: a last line without newline goes out as it is (as sed does).
    pub fn finish(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            let l = std::mem::take(&mut self.partial);
            if let Some(l) = self.line(&l) {
                out.write_all(&l)?;
            }
        }
        Ok(())
    }
}

/// What the DB user becomes in a backup (10 X).
pub const USER_TOKEN: &str = "XXXXXXXXXX";
/// What IPMASK becomes in a backup (10 Y).
pub const IPMASK_TOKEN: &str = "YYYYYYYYYY";

/// `hay` with every `from` (the first at `first`) replaced by `to`, left to right.
fn replace_all(hay: &[u8], first: usize, from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len() + 16);
    out.extend_from_slice(&hay[..first]);
    out.extend_from_slice(to);
    let mut rest = &hay[first + from.len()..];
    let finder = memchr::memmem::Finder::new(from);
    while let Some(i) = finder.find(rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &mut Scrubber, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            s.feed(c, &mut out).unwrap();
        }
        s.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn legacy_steps_in_legacy_order_whatever_the_chunking() {
        let input = b"SET @@SESSION.SQL_LOG_BIN= 0;\n\
            INSERT INTO t VALUES ('http://x.org/uappusr1u','10.116.3.4','10.116.%.%');\n\
            -- owner uappusr1u\n\
            last line without newline http://";
        let want =
            b"INSERT INTO t VALUES ('https://x.org/XXXXXXXXXX','10.116.3.4','YYYYYYYYYY');\n\
            -- owner XXXXXXXXXX\n\
            last line without newline https://";
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let mut s = Scrubber::for_backup("uappusr1u", "10.116.%.%", true);
            assert_eq!(run(&mut s, input, chunk), want.to_vec(), "chunk {chunk}");
        }
    }

    #[test]
    fn values_are_literal_not_patterns() {
        // sed's regex would take the dots of the mask as "any character" and break on `/`.
        let mut s = Scrubber::for_backup("u/[x\\", "10.1.%.%", false);
        let out = run(&mut s, b"10x1y%z% 10.1.%.% u/[x\\ SESSION.SQL_LOG_BIN\n", 5);
        assert_eq!(
            out,
            b"10x1y%z% YYYYYYYYYY XXXXXXXXXX SESSION.SQL_LOG_BIN\n".to_vec()
        );
    }

    #[test]
    fn empty_values_are_skipped() {
        let mut s = Scrubber::for_backup("", "", true);
        assert_eq!(run(&mut s, b"a http://b\n", 3), b"a https://b\n".to_vec());
    }

    #[test]
    fn the_user_is_replaced_after_the_link_rewrite_as_legacy() {
        // A user that is part of "http" shows the order: links first, then the user.
        let mut s = Scrubber::for_backup("ttp", "", false);
        assert_eq!(
            run(&mut s, b"http://a ttp\n", 4),
            b"hXXXXXXXXXXs://a XXXXXXXXXX\n".to_vec()
        );
    }

    #[test]
    fn restore_puts_the_values_back() {
        let mut s = Scrubber::for_restore("unewuser1u", "10.9.%.%", true);
        assert_eq!(
            run(
                &mut s,
                b"SET SESSION sql_require_primary_key = 0;\nGRANT XXXXXXXXXX YYYYYYYYYY\n",
                3
            ),
            b"GRANT unewuser1u 10.9.%.%\n".to_vec()
        );
    }
}
