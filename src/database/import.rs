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
