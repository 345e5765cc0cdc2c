//! Import a SQL file into a database, as the restore (`applicationdb/InstallApplicationDB.sh`)
//! and the baselines do: `mysql … < file` / `psql … -f file`, the file streamed, never read
//! into memory; the password by file as for the dump.
//!
//! Differences from legacy: the import's exit status is checked (PostgreSQL with
//! `ON_ERROR_STOP`), and the password is not on argv.

use super::{client, Connection, Engine, Secret};
use crate::error::{Error, Result};
use std::path::Path;

/// Import `sql` into the database of `c`.
pub fn import(c: &Connection, work: &Path, sql: &Path) -> Result<()> {
    let secret = Secret::new(c, work)?;
    let run = match c.engine {
        Engine::MySql => client(c, &secret)?.stdin_file(sql),
        Engine::Postgres => client(c, &secret)?
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(sql),
    };
    let o = run.deadline(super::deadline()).output()?;
    if o.timed_out {
        return Err(Error::Io(format!(
            "importing {} did not finish in time",
            sql.display()
        )));
    }
    if !o.success() {
        return Err(Error::Io(format!(
            "importing {} failed: {}",
            sql.display(),
            o.first_error_line()
        )));
    }
    Ok(())
}

/// Run `sql` (statements on stdin from a file created 0600 in `work`, never on argv) and return
/// the client's output: MySQL/MariaDB `-N -B` (tab-separated, no header), PostgreSQL `-A -t`
/// (`|`-separated, tuples only), stopping at the first error.
pub fn query(c: &Connection, work: &Path, sql: &str) -> Result<String> {
    use std::io::Write;
    let secret = Secret::new(c, work)?;
    let mut f = crate::fsutil::TempFile::new(&work.join("query.sql"), Some(0o600))?;
    f.file()
        .write_all(sql.as_bytes())
        .map_err(|e| Error::io(work.display(), e))?;
    let run = match c.engine {
        Engine::MySql => client(c, &secret)?.args(["-N", "-B"]),
        Engine::Postgres => client(c, &secret)?.args(["-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]),
    }
    .stdin_file(f.path());
    let o = run.deadline(std::time::Duration::from_secs(300)).output()?;
    if o.timed_out || !o.success() {
        return Err(Error::Io(format!(
            "a query on {} failed: {}",
            c.name,
            o.first_error_line()
        )));
    }
    Ok(o.stdout)
}
