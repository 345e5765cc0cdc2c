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
    /// Drop the statement that starts on a line containing this: that line and, when it does
    /// not hold the statement's `;`, the lines after it up to the first one that does.
    DropStatementFrom(Vec<u8>),
    /// In every line that is not a data line (`INSERT INTO …`), set the word after each
    /// occurrence of the prefix (letters, digits, `_`) to the value: `CHARSET=latin1` →
    /// `CHARSET=utf8mb4`.
    SetWordAfter(Vec<u8>, Vec<u8>),
}

/// The steps in order; applied to each line of a stream.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    steps: Vec<Step>,
    /// The start of a line whose end has not come yet.
    partial: Vec<u8>,
    /// Inside a statement a [`Step::DropStatementFrom`] is dropping.
    dropping: bool,
}

impl Scrubber {
    pub fn new(steps: Vec<Step>) -> Scrubber {
        let steps = steps
            .into_iter()
            .filter(|s| match s {
                Step::Replace(from, _) => !from.is_empty(),
                Step::DropLinesWith(p) | Step::DropStatementFrom(p) => !p.is_empty(),
                Step::SetWordAfter(p, _) => !p.is_empty(),
            })
            .collect();
        Scrubber {
            steps,
            partial: Vec::new(),
            dropping: false,
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

    /// The 2025 backup scrub (wintersys-projects/adt-database-scripts
    /// `providerscripts/database/BackupDatabase.sh` and the `StandardiseMySQLCollations.sh` it
    /// runs), in legacy's order: the filter the dump was piped through (the `SET
    /// @@SESSION.SQL_LOG_BIN= 0;` and the two `SET GLOBAL INNODB_STATS_AUTO_RECALC` lines, the
    /// `SET @@GLOBAL.GTID_PURGED=` statement), then the 2022 steps ([`Self::for_backup`]), then
    /// for MySQL/MariaDB the collations: every table option `COLLATE=<x>` becomes
    /// `COLLATE=utf8mb4_unicode_ci` and `CHARSET=<x>` becomes `CHARSET=utf8mb4`.
    ///
    /// Differences from legacy: the GTID statement ends at its own line when that line holds
    /// its `;` (sed's `/GTID_PURGED=/,/;/d` range looked for the end from the next line on and
    /// so also dropped the statement after it); the collations are set per word in the
    /// statements, not in the data lines (legacy's global `sed` also rewrote table rows
    /// holding such text, and `s/CHARSET=utf8/CHARSET=utf8mb4/g` turned an existing
    /// `CHARSET=utf8mb4` into `CHARSET=utf8mb4mb4`).
    pub fn for_backup_2025(db_user: &str, ipmask: &str, mysql: bool) -> Scrubber {
        let mut steps = Vec::new();
        if mysql {
            for l in [
                "SET @@SESSION.SQL_LOG_BIN= 0;",
                "SET GLOBAL INNODB_STATS_AUTO_RECALC=OFF;",
                "SET GLOBAL INNODB_STATS_AUTO_RECALC=@OLD_INNODB_STATS_AUTO_RECALC;",
            ] {
                steps.push(Step::DropLinesWith(l.as_bytes().to_vec()));
            }
            steps.push(Step::DropStatementFrom(
                b"SET @@GLOBAL.GTID_PURGED=".to_vec(),
            ));
        }
        steps.extend(Scrubber::for_backup(db_user, ipmask, mysql).steps);
        if mysql {
            steps.push(Step::SetWordAfter(
                b"COLLATE=".to_vec(),
                b"utf8mb4_unicode_ci".to_vec(),
            ));
            steps.push(Step::SetWordAfter(
                b"CHARSET=".to_vec(),
                b"utf8mb4".to_vec(),
            ));
        }
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

    /// Whole lines (each with its newline; the last may lack one) through every step, in order.
    /// Applying a step to a run of lines at once is applying it to each line: no pattern or
    /// replacement holds a newline, so no match spans two lines. Borrowed when nothing changes
    /// (the common case: no copy).
    pub fn lines<'a>(&mut self, lines: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        use std::borrow::Cow;
        let mut cur: Cow<'a, [u8]> = Cow::Borrowed(lines);
        let mut dropping = self.dropping;
        for s in &self.steps {
            match s {
                Step::Replace(from, to) => {
                    if let Some(first) = memchr::memmem::find(&cur, from) {
                        cur = Cow::Owned(replace_all(&cur, first, from, to));
                    }
                }
                Step::DropLinesWith(p) => {
                    if memchr::memmem::find(&cur, p).is_some() {
                        let finder = memchr::memmem::Finder::new(p);
                        let mut kept = Vec::with_capacity(cur.len());
                        for l in cur.split_inclusive(|&b| b == b'\n') {
                            if finder.find(l).is_none() {
                                kept.extend_from_slice(l);
                            }
                        }
                        cur = Cow::Owned(kept);
                    }
                }
                Step::DropStatementFrom(p) => {
                    if dropping || memchr::memmem::find(&cur, p).is_some() {
                        let finder = memchr::memmem::Finder::new(p);
                        let mut kept = Vec::with_capacity(cur.len());
                        for l in cur.split_inclusive(|&b| b == b'\n') {
                            if !dropping && finder.find(l).is_some() {
                                dropping = true;
                            }
                            if dropping {
                                if memchr::memchr(b';', l).is_some() {
                                    dropping = false;
                                }
                            } else {
                                kept.extend_from_slice(l);
                            }
                        }
                        cur = Cow::Owned(kept);
                    }
                }
                Step::SetWordAfter(p, value) => {
                    if memchr::memmem::find(&cur, p).is_some() {
                        let mut out = Vec::with_capacity(cur.len() + 16);
                        for l in cur.split_inclusive(|&b| b == b'\n') {
                            if l.starts_with(b"INSERT INTO ") {
                                out.extend_from_slice(l);
                            } else {
                                set_words_after(l, p, value, &mut out);
                            }
                        }
                        cur = Cow::Owned(out);
                    }
                }
            }
        }
        self.dropping = dropping;
        cur
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
                    out.write_all(&self.lines(&l))?;
                    chunk = &chunk[i + 1..];
                }
            }
        }
        let end = match memchr::memrchr(b'\n', chunk) {
            Some(i) => i + 1,
            None => 0,
        };
        let (lines, rest) = chunk.split_at(end);
        out.write_all(&self.lines(lines))?;
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The end of the stream: a last line without newline goes out as it is (as sed does).
    pub fn finish(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            let l = std::mem::take(&mut self.partial);
            out.write_all(&self.lines(&l))?;
        }
        Ok(())
    }
}

/// What the DB user becomes in a backup (10 X).
pub const USER_TOKEN: &str = "XXXXXXXXXX";
/// What IPMASK becomes in a backup (10 Y).
pub const IPMASK_TOKEN: &str = "YYYYYYYYYY";

/// `line` into `out` with the word after every `prefix` set to `value`.
fn set_words_after(line: &[u8], prefix: &[u8], value: &[u8], out: &mut Vec<u8>) {
    let finder = memchr::memmem::Finder::new(prefix);
    let mut rest = line;
    while let Some(i) = finder.find(rest) {
        let start = i + prefix.len();
        out.extend_from_slice(&rest[..start]);
        let word = rest[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if word > 0 {
            out.extend_from_slice(value);
        }
        rest = &rest[start + word..];
    }
    out.extend_from_slice(rest);
}

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
    fn the_2025_filter_and_collations() {
        let input = b"/*!40101 SET NAMES utf8mb4 */;\n\
            SET @@SESSION.SQL_LOG_BIN= 0;\n\
            SET GLOBAL INNODB_STATS_AUTO_RECALC=OFF;\n\
            SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\n\
            b:1-3';\n\
            DROP TABLE IF EXISTS `t`;\n\
            SET @@GLOBAL.GTID_PURGED='c:1';\n\
            CREATE TABLE `t` (`a` int) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci;\n\
            CREATE TABLE `u` (`a` int) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci;\n\
            INSERT INTO `t` VALUES ('CHARSET=latin1 http://uappusr1u@10.1.%.%');\n\
            SET GLOBAL INNODB_STATS_AUTO_RECALC=@OLD_INNODB_STATS_AUTO_RECALC;\n";
        let want = b"/*!40101 SET NAMES utf8mb4 */;\n\
            DROP TABLE IF EXISTS `t`;\n\
            CREATE TABLE `t` (`a` int) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n\
            CREATE TABLE `u` (`a` int) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n\
            INSERT INTO `t` VALUES ('CHARSET=latin1 https://XXXXXXXXXX@YYYYYYYYYY');\n";
        for chunk in [1, 5, 64, 4096] {
            let mut s = Scrubber::for_backup_2025("uappusr1u", "10.1.%.%", true);
            assert_eq!(
                String::from_utf8(run(&mut s, input, chunk)).unwrap(),
                String::from_utf8(want.to_vec()).unwrap(),
                "chunk {chunk}"
            );
        }
        // PostgreSQL: only the 2022 steps.
        let mut s = Scrubber::for_backup_2025("uappusr1u", "", false);
        assert_eq!(
            run(
                &mut s,
                b"ALTER TABLE t OWNER TO uappusr1u; -- CHARSET=x\n",
                3
            ),
            b"ALTER TABLE t OWNER TO XXXXXXXXXX; -- CHARSET=x\n".to_vec()
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
