//! Real database servers for the tests: a private MariaDB (`mariadbd`) or PostgreSQL
//! (`postgres`) per test, from Debian's packages, never the system service.
//!
//! Each server gets its own data directory in a temporary directory, its unix socket there, and
//! TCP only on 127.0.0.1 on a free port. It is stopped when dropped (also when the test panics).
//! PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (setpriv);
//! mariadbd runs with `--user=root` then. Each server has an application user with a password
//! that needs quoting everywhere (`$ : & ; ' " #`) and a database, as a deployment's
//! `credentials/shit` names them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The application's credentials on every test server (legacy shapes: `n…n`, `u…u`).
pub const APP_DB: &str = "nappdb01n";
pub const APP_USER: &str = "uappusr1u";
pub const APP_PASSWORD: &str = "Pa$s:&w0rd;'x\"#1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Maria,
    Postgres,
}

impl DbKind {
    /// The settings value of DATABASEINSTALLATIONTYPE for this engine.
    pub fn setting(self) -> &'static str {
        match self {
            DbKind::Maria => "Maria",
            DbKind::Postgres => "Postgres",
        }
    }
}

/// Where Debian puts PostgreSQL's server binaries (the newest major version installed).
pub fn postgres_bindir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("postgres").is_file() && d.join("initdb").is_file())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

/// Whether the server binaries of `kind` are installed (apt: mariadb-server / postgresql).
pub fn available(kind: DbKind) -> bool {
    match kind {
        DbKind::Maria => {
            Path::new("/usr/sbin/mariadbd").is_file() && which("mariadb-install-db").is_some()
        }
        DbKind::Postgres => postgres_bindir().is_some(),
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(prog))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin").join(prog)])
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A private database server, stopped on drop.
pub struct DbServer {
    pub kind: DbKind,
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

impl DbServer {
    pub fn maria() -> DbServer {
        DbServer::start(DbKind::Maria)
    }

    pub fn postgres() -> DbServer {
        DbServer::start(DbKind::Postgres)
    }

    /// Start a server of `kind` with the application user and database; panics with the
    /// server's log when it does not come up.
    pub fn start(kind: DbKind) -> DbServer {
        assert!(
            available(kind),
            "{kind:?} server binaries not found: install {} (.ci/run does)",
            match kind {
                DbKind::Maria => "mariadb-server and mariadb-client",
                DbKind::Postgres => "postgresql",
            }
        );
        let dir = tempfile::Builder::new()
            .prefix("adt-db-")
            .tempdir()
            .unwrap();
        let port = super::free_port();
        let mut s = DbServer {
            kind,
            port,
            dir,
            child: None,
        };
        match kind {
            DbKind::Maria => s.start_maria(),
            DbKind::Postgres => s.start_postgres(),
        }
        s.wait_ready();
        s.create_app_database(APP_DB);
        s
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The unix socket (MariaDB) or the socket directory (PostgreSQL).
    pub fn socket(&self) -> PathBuf {
        match self.kind {
            DbKind::Maria => self.dir.path().join("mysql.sock"),
            DbKind::Postgres => self.dir.path().to_path_buf(),
        }
    }

    fn start_maria(&mut self) {
        let d = self.dir.path();
        // Two mariadb-install-db runs at once (tests run in parallel, in several processes)
        // now and then fail: one at a time on this machine (flock(1) from util-linux).
        let mut install = Command::new("flock");
        install
            .arg(std::env::temp_dir().join("adt-test-mariadb-install.lock"))
            .arg(which("mariadb-install-db").unwrap())
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data_dir().display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]);
        if is_root() {
            install.arg("--user=root");
        }
        let o = install.output().unwrap();
        assert!(
            o.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let mut c = Command::new("/usr/sbin/mariadbd");
        c.arg("--no-defaults");
        if is_root() {
            c.arg("--user=root");
        }
        c.arg(format!("--datadir={}", self.data_dir().display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--pid-file={}", d.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", self.log_path().display()))
            .arg(format!("--tmpdir={}", d.display()))
            .args([
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                "--innodb-log-file-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
                "--max-connections=50",
                "--performance-schema=OFF",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(c.spawn().unwrap());
    }

    /// A command run as the `postgres` user when we are root (PostgreSQL refuses root).
    fn pg_command(prog: &Path) -> Command {
        if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(prog);
            c
        } else {
            Command::new(prog)
        }
    }

    fn start_postgres(&mut self) {
        let bin = postgres_bindir().unwrap();
        let d = self.dir.path();
        if is_root() {
            let pg = nix::unistd::User::from_name("postgres")
                .unwrap()
                .expect("the postgres user (from the postgresql package)");
            nix::unistd::chown(d, Some(pg.uid), Some(pg.gid)).unwrap();
        }
        let o = DbServer::pg_command(&bin.join("initdb"))
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let log = std::fs::File::create(self.log_path()).unwrap();
        if is_root() {
            let pg = nix::unistd::User::from_name("postgres").unwrap().unwrap();
            nix::unistd::chown(&self.log_path(), Some(pg.uid), Some(pg.gid)).unwrap();
        }
        let mut c = DbServer::pg_command(&bin.join("postgres"));
        c.arg("-D")
            .arg(self.data_dir())
            .arg("-k")
            .arg(d)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "synchronous_commit=off", "-c", "max_connections=30"])
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(c.spawn().unwrap());
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "{:?} server exited ({status}) while starting:\n{}",
                        self.kind,
                        self.log()
                    );
                }
            }
            if self.try_admin_sql(None, "SELECT 1").is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} server did not start:\n{}",
                self.kind,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The administrator's client on the socket: `mariadb -uroot` / `psql -U postgres`,
    /// tab-separated rows without headers.
    pub fn admin_client(&self, db: Option<&str>) -> Command {
        match self.kind {
            DbKind::Maria => {
                let mut c = Command::new(which("mariadb").or(which("mysql")).unwrap());
                c.arg("--no-defaults")
                    .args(["-uroot", "-N", "-B"])
                    .arg(format!("--socket={}", self.socket().display()));
                if let Some(db) = db {
                    c.arg(db);
                }
                c
            }
            DbKind::Postgres => {
                let mut c = Command::new(which("psql").unwrap());
                c.arg("-h")
                    .arg(self.socket())
                    .args(["-p", &self.port.to_string(), "-U", "postgres"])
                    .args(["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
                    .arg("-d")
                    .arg(db.unwrap_or("postgres"));
                c
            }
        }
    }

    /// Run SQL as the administrator (fed on stdin); its output, or its error text.
    pub fn try_admin_sql(&self, db: Option<&str>, sql: &str) -> Result<String, String> {
        use std::io::Write;
        let mut child = self
            .admin_client(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .map_err(|e| e.to_string())?;
        let o = child.wait_with_output().map_err(|e| e.to_string())?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).into_owned())
        }
    }

    /// [`try_admin_sql`](Self::try_admin_sql), panicking on an error.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        self.try_admin_sql(Some(db), sql)
            .unwrap_or_else(|e| panic!("SQL failed on {db}: {e}\n{sql}"))
    }

    fn quoted_password() -> String {
        APP_PASSWORD.replace('\'', "''")
    }

    /// Create database `name` owned by / granted to the application user (the user is created
    /// the first time).
    pub fn create_app_database(&self, name: &str) {
        let pw = DbServer::quoted_password();
        match self.kind {
            DbKind::Maria => {
                self.try_admin_sql(
                    None,
                    &format!(
                        "CREATE DATABASE `{name}`;\n\
                         CREATE USER IF NOT EXISTS '{APP_USER}'@'%' IDENTIFIED BY '{pw}';\n\
                         CREATE USER IF NOT EXISTS '{APP_USER}'@'localhost' IDENTIFIED BY '{pw}';\n\
                         GRANT ALL ON `{name}`.* TO '{APP_USER}'@'%';\n\
                         GRANT ALL ON `{name}`.* TO '{APP_USER}'@'localhost';\n"
                    ),
                )
                .unwrap();
            }
            DbKind::Postgres => {
                let exists = self
                    .try_admin_sql(
                        None,
                        &format!("SELECT 1 FROM pg_roles WHERE rolname = '{APP_USER}';"),
                    )
                    .unwrap();
                if exists.trim().is_empty() {
                    self.try_admin_sql(
                        None,
                        &format!("CREATE ROLE {APP_USER} LOGIN PASSWORD '{pw}';"),
                    )
                    .unwrap();
                }
                self.try_admin_sql(None, &format!("CREATE DATABASE {name} OWNER {APP_USER};"))
                    .unwrap();
            }
        }
    }

    /// Create tables with data in `db` as the application user would own them: `tables`
    /// tables of `rows` rows each (text with `https://` links, numbers, dates, NULLs, quotes).
    pub fn fill(&self, db: &str, tables: usize, rows: usize) {
        let mut sql = String::new();
        if self.kind == DbKind::Postgres {
            sql.push_str(&format!("SET ROLE {APP_USER};\n"));
        }
        for t in 0..tables {
            let name = format!("wp_table_{t}");
            match self.kind {
                DbKind::Maria => sql.push_str(&format!(
                    "CREATE TABLE `{name}` (id INT PRIMARY KEY, title VARCHAR(200), body TEXT, \
                     amount DECIMAL(12,2), created DATETIME, note VARCHAR(50) NULL) ENGINE=InnoDB;\n"
                )),
                DbKind::Postgres => sql.push_str(&format!(
                    "CREATE TABLE {name} (id INT PRIMARY KEY, title VARCHAR(200), body TEXT, \
                     amount NUMERIC(12,2), created TIMESTAMP, note VARCHAR(50) NULL);\n"
                )),
            }
            let mut first = true;
            for r in 0..rows {
                if r % 500 == 0 {
                    if !first {
                        sql.push_str(";\n");
                    }
                    sql.push_str(&format!(
                        "INSERT INTO {name} (id, title, body, amount, created, note) VALUES "
                    ));
                    first = false;
                } else {
                    sql.push(',');
                }
                let note = if r % 7 == 0 {
                    "NULL".to_string()
                } else {
                    format!("'it''s row {r}'")
                };
                sql.push_str(&format!(
                    "({r}, 'Title {t}-{r}', 'See https://example.com/p/{r} and tab\tand unicode é', \
                     {}.{:02}, '2026-01-{:02} 10:{:02}:00', {note})",
                    r * 3,
                    r % 100,
                    1 + r % 28,
                    r % 60
                ));
            }
            if !first {
                sql.push_str(";\n");
            }
        }
        self.sql(db, &sql);
    }

    /// The application's tables in `db`, sorted.
    pub fn tables(&self, db: &str) -> Vec<String> {
        let q = match self.kind {
            DbKind::Maria => "SHOW TABLES;".to_string(),
            DbKind::Postgres => {
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1;"
                    .to_string()
            }
        };
        let mut v: Vec<String> = self.sql(db, &q).lines().map(str::to_string).collect();
        v.sort();
        v
    }

    /// Per table: the md5 of its rows in primary-key order, as the client prints them (and, on
    /// MariaDB, CHECKSUM TABLE as well).
    pub fn table_checksums(&self, db: &str) -> BTreeMap<String, String> {
        use md5::{Digest, Md5};
        let mut out = BTreeMap::new();
        for t in self.tables(db) {
            let q = match self.kind {
                DbKind::Maria => format!("SELECT * FROM `{t}` ORDER BY 1;"),
                DbKind::Postgres => format!("SELECT * FROM \"{t}\" ORDER BY 1;"),
            };
            let rows = self.sql(db, &q);
            let mut sum = format!(
                "{:x}/{}",
                Md5::digest(rows.as_bytes()),
                rows.lines().count()
            );
            if self.kind == DbKind::Maria {
                let c = self.sql(db, &format!("CHECKSUM TABLE `{t}`;"));
                sum.push('/');
                sum.push_str(c.split('\t').nth(1).unwrap_or("").trim());
            }
            out.insert(t, sum);
        }
        out
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Kill the server outright (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop it cleanly (SIGTERM; PostgreSQL: SIGINT, its fast shutdown), SIGKILL after 20 s.
    pub fn stop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        if let Some(mut c) = self.child.take() {
            let sig = match self.kind {
                DbKind::Maria => Signal::SIGTERM,
                DbKind::Postgres => Signal::SIGINT,
            };
            let _ = kill(nix::unistd::Pid::from_raw(c.id() as i32), sig);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for DbServer {
    fn drop(&mut self) {
        self.stop();
    }
}
