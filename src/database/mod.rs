//! The application database: which engine, where it is, and the operations a backup and a
//! restore need (count tables, a consistent streamed dump, an import), plus the archive the
//! legacy backups carry (tar.gz of `applicationDB.sql`, 10 MiB `split -d` parts).
//!
//! Legacy: DB `providerscripts/git/utilities/BackupDatabase.sh` (sourced by `git/Backup.sh`) and
//! the import half of `applicationdb/InstallApplicationDB.sh`.
//!
//! - [`Engine::from_settings`]: CheckConfigValue on DATABASEINSTALLATIONTYPE or
//!   DATABASEDBaaSINSTALLATIONTYPE containing `Maria`/`MySQL` or `Postgres`;
//!   [`host_from_settings`]: DBaaSHOSTNAME for `DATABASEINSTALLATIONTYPE:DBaaS`, else this
//!   machine's IP; the port is DBPORT. The credentials are the three lines of
//!   `credentials/shit` (name, password, user) as GetDBCredential reads them; the command layer
//!   fetches them and hands them in.
//! - [`dump::dump`]: the dump framed as legacy frames it, scrubbed while it streams
//!   ([`scrub`]), written to a private temporary file that becomes the destination only when the
//!   dump tool exited 0 and its end marker was seen.
//! - [`archive`]: tar.gz, listing, `split -d` parts, joining, untar.
//! - [`import`]: a SQL file into a database (the restore side and baselines).
//!
//! Differences from legacy: the password never reaches argv (an option file read with
//! `--defaults-extra-file` for MariaDB/MySQL, `PGPASSFILE` for PostgreSQL, both 0600 from
//! creation and removed afterwards); the dump is `--single-transaction` (one consistent InnoDB
//! snapshot; pg_dump is one snapshot by nature); a failed dump is an error, never a partial file
//! (legacy appended each retry's output to the last, and shipped a sentinel-only PostgreSQL dump
//! when pg_dump failed); the `sudo -su postgres pg_dump` fallback is gone (it dumped as the
//! superuser over a socket, which a DBaaS never has).

pub mod archive;
pub mod dump;
pub mod import;
pub mod scrub;

use crate::config;
use crate::error::{Error, Result};
use crate::fsutil::TempFile;
use crate::process::{self, Run};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The engines legacy backs up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// MariaDB or MySQL (the same tools and dump format for our purposes).
    MySql,
    Postgres,
}

impl Engine {
    /// The engine the settings name, as legacy tests them (MySQL/Maria first).
    pub fn from_settings(settings: &str) -> Option<Engine> {
        let has = |p: &str| config::check_value(settings, p) == "1\n";
        let any = |v: &str| {
            has(&format!("DATABASEINSTALLATIONTYPE:{v}"))
                || has(&format!("DATABASEDBaaSINSTALLATIONTYPE:{v}"))
        };
        if any("Maria") || any("MySQL") {
            Some(Engine::MySql)
        } else if any("Postgres") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }
}

/// Where the dump connects: DBaaSHOSTNAME under `DATABASEINSTALLATIONTYPE:DBaaS`, else `my_ip`.
pub fn host_from_settings(settings: &str, my_ip: &str) -> String {
    if config::check_value(settings, "DATABASEINSTALLATIONTYPE:DBaaS") == "1\n" {
        // 2025 names the managed database's host DBIDENTIFIER.
        config::value(settings, "DBaaSHOSTNAME")
            .filter(|v| !v.is_empty())
            .or_else(|| config::value(settings, "DBIDENTIFIER"))
            .unwrap_or_default()
    } else {
        my_ip.to_string()
    }
}

/// Everything needed to reach the application database.
#[derive(Clone)]
pub struct Connection {
    pub engine: Engine,
    pub host: String,
    pub port: String,
    pub user: String,
    pub password: String,
    /// The database's name.
    pub name: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(
            f,
            "{:?} {}@{}:{}/{}",
            self.engine, self.user, self.host, self.port, self.name
        )
    }
}

impl Connection {
    /// The connection from settings text and the credentials object's three lines.
    pub fn from_settings(settings: &str, credentials: &str, my_ip: &str) -> Result<Connection> {
        let engine = Engine::from_settings(settings).ok_or_else(|| {
            Error::Config(
                "DATABASEINSTALLATIONTYPE names no engine to back up (Maria, MySQL or Postgres)"
                    .into(),
            )
        })?;
        let mut lines = credentials.lines();
        let name = lines.next().unwrap_or("").to_string();
        let password = lines.next().unwrap_or("").to_string();
        let user = lines.next().unwrap_or("").to_string();
        if name.is_empty() || user.is_empty() {
            return Err(Error::Config(
                "the database credentials (credentials/shit) lack a name or a user".into(),
            ));
        }
        let port = config::value(settings, "DBPORT").unwrap_or_default();
        let host = host_from_settings(settings, my_ip);
        if host.is_empty() {
            return Err(Error::Config(
                "no database host (DBaaSHOSTNAME or this machine's IP)".into(),
            ));
        }
        Ok(Connection {
            engine,
            host,
            port,
            user,
            password,
            name,
        })
    }
}

/// How long one database command may take in all: `ADT_DB_DEADLINE` seconds (default 6 h: a
/// dump of a large database; a hung server must still not hold the backup lock for ever).
pub fn deadline() -> Duration {
    Duration::from_secs(crate::knobs::env_u64("ADT_DB_DEADLINE", 6 * 3600))
}

/// The client programs, found on PATH first (MariaDB's names, then MySQL's).
fn program(names: &[&str]) -> Result<PathBuf> {
    for n in names {
        if let Some(p) = process::find_program(n, &["/usr/bin", "/usr/local/bin"]) {
            return Ok(p);
        }
    }
    Err(Error::Io(format!("{} not found", names.join(" or "))))
}

/// The connection's secret in a file of its own, mode 0600 from creation, in `work`; removed
/// when dropped. MySQL: an option file for `--defaults-extra-file`; PostgreSQL: a PGPASSFILE.
pub struct Secret(TempFile);

impl Secret {
    pub fn new(c: &Connection, work: &Path) -> Result<Secret> {
        let (name, body) = match c.engine {
            Engine::MySql => ("client.cnf", mysql_option_file(c)),
            Engine::Postgres => ("pgpass", pgpass_line(c)),
        };
        let mut t = TempFile::new(&work.join(name), Some(0o600))?;
        t.file()
            .write_all(body.as_bytes())
            .and_then(|_| t.file().sync_all())
            .map_err(|e| Error::io(t.path().display(), e))?;
        Ok(Secret(t))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// An option file value in double quotes (the client unescapes `\\` and `\"`).
fn option_quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `[client]` user and password for `--defaults-extra-file`.
pub fn mysql_option_file(c: &Connection) -> String {
    format!(
        "[client]\nuser={}\npassword={}\n",
        option_quote(&c.user),
        option_quote(&c.password)
    )
}

/// One `.pgpass` line, `:` and `\` escaped.
pub fn pgpass_line(c: &Connection) -> String {
    let e = |v: &str| v.replace('\\', "\\\\").replace(':', "\\:");
    format!(
        "{}:{}:{}:{}:{}\n",
        e(&c.host),
        e(if c.port.is_empty() { "*" } else { &c.port }),
        e(&c.name),
        e(&c.user),
        e(&c.password)
    )
}

/// The client command (`mariadb`/`mysql` or `psql`) connected to the database, secret by file.
fn client(c: &Connection, secret: &Secret) -> Result<Run> {
    Ok(match c.engine {
        Engine::MySql => {
            let mut r = Run::new(program(&["mariadb", "mysql"])?)
                .arg(format!("--defaults-extra-file={}", secret.path().display()))
                .arg(format!("--host={}", c.host));
            if !c.port.is_empty() {
                r = r.arg(format!("--port={}", c.port));
            }
            r.arg(&c.name)
        }
        Engine::Postgres => {
            let mut r = Run::new(program(&["psql"])?)
                .env("PGPASSFILE", secret.path())
                .args(["-X", "-w", "-h", &c.host, "-U", &c.user, "-d", &c.name]);
            if !c.port.is_empty() {
                r = r.args(["-p", &c.port]);
            }
            r
        }
    })
}

/// How many tables the application database has (the legacy gate: `mysql -e 'show tables'`
/// printing fewer than 5 lines, a header and the tables, means it is not there yet).
pub fn count_tables(c: &Connection, work: &Path) -> Result<usize> {
    let secret = Secret::new(c, work)?;
    let run = match c.engine {
        Engine::MySql => client(c, &secret)?.args(["-N", "-B", "-e", "SHOW TABLES"]),
        Engine::Postgres => client(c, &secret)?.args([
            "-A",
            "-t",
            "-c",
            "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        ]),
    };
    let out = run
        .deadline(Duration::from_secs(120))
        .stdout_or(Error::Io)
        .map_err(|e| e.context("listing the database's tables"))?;
    Ok(out.lines().filter(|l| !l.trim().is_empty()).count())
}

/// Whether a database with this many tables gets backed up (legacy: the client's `show tables`
/// output, header included, has at least 5 lines).
pub fn enough_tables(tables: usize) -> bool {
    tables + 1 >= 5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(engine: Engine, password: &str) -> Connection {
        Connection {
            engine,
            host: "10.0.0.5".into(),
            port: "2035".into(),
            user: "uabcdefgu".into(),
            password: password.into(),
            name: "nabcdefgn".into(),
        }
    }

    #[test]
    fn engine_and_host_from_settings() {
        assert_eq!(
            Engine::from_settings("DATABASEINSTALLATIONTYPE:Maria\n"),
            Some(Engine::MySql)
        );
        assert_eq!(
            Engine::from_settings("DATABASEINSTALLATIONTYPE:DBaaS\nDATABASEDBaaSINSTALLATIONTYPE:Postgres:DBAAS:pg:lon1\n"),
            Some(Engine::Postgres)
        );
        assert_eq!(
            Engine::from_settings("DATABASEINSTALLATIONTYPE:DBaaS\nDATABASEDBaaSINSTALLATIONTYPE:MySQL:DBAAS:mysql:lon1:1\n"),
            Some(Engine::MySql)
        );
        assert_eq!(
            Engine::from_settings("DATABASEINSTALLATIONTYPE:None\n"),
            None
        );
        let s = "DATABASEINSTALLATIONTYPE:DBaaS\nDBaaSHOSTNAME:db.example.net\nDBPORT:25060\n";
        assert_eq!(host_from_settings(s, "10.0.0.7"), "db.example.net");
        assert_eq!(
            host_from_settings("DATABASEINSTALLATIONTYPE:MySQL\n", "10.0.0.7"),
            "10.0.0.7"
        );
        let c = Connection::from_settings(
            "DATABASEINSTALLATIONTYPE:MySQL\nDBPORT:2035\n",
            "nabcn\np:w\"d\nuabcu\n",
            "10.0.0.7",
        )
        .unwrap();
        assert_eq!(
            (
                c.name.as_str(),
                c.password.as_str(),
                c.user.as_str(),
                c.port.as_str()
            ),
            ("nabcn", "p:w\"d", "uabcu", "2035")
        );
        assert!(!format!("{c:?}").contains("p:w"));
        assert!(
            Connection::from_settings("DATABASEINSTALLATIONTYPE:MySQL\n", "", "1.2.3.4").is_err()
        );
    }

    #[test]
    fn secrets_are_quoted_for_their_files() {
        let c = conn(Engine::MySql, "a\"b\\c#d");
        assert_eq!(
            mysql_option_file(&c),
            "[client]\nuser=\"uabcdefgu\"\npassword=\"a\\\"b\\\\c#d\"\n"
        );
        let c = conn(Engine::Postgres, "a:b\\c");
        assert_eq!(
            pgpass_line(&c),
            "10.0.0.5:2035:nabcdefgn:uabcdefgu:a\\:b\\\\c\n"
        );
    }

    #[test]
    fn secret_files_are_private_and_go_away() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let c = conn(Engine::MySql, "pw");
        let s = Secret::new(&c, dir.path()).unwrap();
        let p = s.path().to_path_buf();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(s);
        assert!(!p.exists());
    }

    #[test]
    fn the_table_gate_is_legacy_s_five_lines() {
        assert!(!enough_tables(3));
        assert!(enough_tables(4));
    }
}
