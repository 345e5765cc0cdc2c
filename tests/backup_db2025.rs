//! The 2025 database machine's backup end to end (spec §1.11; wintersys-projects/
//! adt-database-scripts b9ed9e1): a real MariaDB / PostgreSQL server with data in several
//! tables, a trigger, a routine and binary data; two S3 accounts (two s3s-fs servers, the
//! machine's `/root/.s3cfg-1` and `.s3cfg-2`); our launchers at the 2025 paths run by `/bin/sh`
//! as cron and the shutdown script run them. The archive is restored the way the 2025 restore
//! (`application/db/InstallApplicationDB.sh`) reads it: Get `<url->-db-<p>/<name>-DB-backup.tar.gz`
//! with s3cmd, untar, `applicationDB.sql` / `applicationDB.psql` whose last line names `zzzz`,
//! tokens back, import into a fresh database; table contents compared.
//!
//! Faults: the dump killed midway, the upload to the second account cut: the previous archive
//! and its `.BACKUP` survive byte for byte where the new one could not be made, the run exits 1
//! with one line and legacy's `<p> database backup FAILED` mail.

mod common;
use adt::database::{self, scrub::Scrubber, Connection, Engine};
use common::db::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const IPMASK: &str = "127.0.%.%";
const CONFIG: &str = "www-example-com-config-x123";
const BUCKET_DAILY: &str = "www-example-com-db-daily";
const OBJECT: &str = "example-DB-backup.tar.gz";

struct Machine {
    accounts: [S3Server; 2],
    host: Host,
    root: PathBuf,
    db: DbServer,
}

fn put(home: &Path, rel: &str, text: &str, mode: u32) {
    let p = home.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn s3cfg(port: u16) -> String {
    format!(
        "[default]\naccess_key = {ACCESS}\nsecret_key = {SECRET}\nbucket_location = us-east-1\n\
         host_base = 127.0.0.1:{port}\nhost_bucket = 127.0.0.1:{port}\nuse_https = False\n\
         signature_v2 = False\n"
    )
}

/// A 2025 database machine: settings under `runtime/`, two S3 accounts, our launchers
/// installed by the real installer, legacy's GetIP (here: the database is local) and mailer.
fn machine(kind: DbKind) -> Machine {
    // s3s-fs whatever ADT_TEST_S3 says: the test reads the stored objects from its directory.
    let accounts = [
        S3Server::start_kind(S3Impl::S3sFs),
        S3Server::start_kind(S3Impl::S3sFs),
    ];
    accounts[0].make_bucket(CONFIG);
    let host = Host::new("database", accounts[0].port);
    let home = host.home.clone();
    std::fs::remove_dir_all(home.join(".ssh")).unwrap();
    let db = DbServer::start(kind);
    db.fill(APP_DB, 5, 2000);
    put(
        &home,
        "runtime/database_configuration_settings.dat",
        &format!(
            "WEBSITEURL:www.example.com\nSERVERUSER:X1234X\nBUILDOS:debian:12\nSSHPORT:1035\n\
             S3ACCESSKEY:AKONE|AKTWO\nDATABASEINSTALLATIONTYPE:{}\nDBPORT:{}\nDBNAME:{APP_DB}\n\
             DBUSERNAME:{APP_USER}\nDBPASSWORD:{APP_PASSWORD}\nIPMASK:{IPMASK}\n\
             BUILDARCHIVECHOICE:virgin\nCLOUDHOST:linode\nMULTIREGION:0\nPRIMARYREGION:1\n",
            kind.setting(),
            db.port
        ),
        0o600,
    );
    put(
        &home,
        "runtime/buildstyles.dat",
        "DATASTORETOOL:s3cmd\n",
        0o644,
    );
    let root = host.dir.path().join("root");
    for (n, a) in accounts.iter().enumerate() {
        put(&root, &format!(".s3cfg-{}", n + 1), &s3cfg(a.port), 0o600);
    }
    put(
        &home,
        "utilities/processing/GetIP.sh",
        "#!/bin/sh\necho 127.0.0.1\n",
        0o755,
    );
    put(
        &home,
        "providerscripts/email/SendEmail.sh",
        &format!(
            "#!/bin/sh\necho \"$1|$2\" >> '{}'\n",
            host.dir.path().join("mail.log").display()
        ),
        0o755,
    );
    // What the legacy tree has at the paths we take over.
    for p in [
        "application/backupscripts/Backup.sh",
        "cron/BackupFromCron.sh",
    ] {
        put(&home, p, "#!/bin/sh\necho legacy\n", 0o755);
    }
    let o = Command::new(adt_bin())
        .args(["layout", "install", "--home"])
        .arg(&home)
        .args(["--machine", "database", "--generation", "2025"])
        .output()
        .unwrap();
    assert!(o.status.success(), "install: {}", stderr(&o));
    let m = Machine {
        accounts,
        host,
        root,
        db,
    };
    m.objects_with_code(kind);
    m
}

impl Machine {
    fn conn(&self, db: &str) -> Connection {
        Connection {
            engine: match self.db.kind {
                DbKind::Maria => Engine::MySql,
                DbKind::Postgres => Engine::Postgres,
            },
            host: "127.0.0.1".into(),
            port: self.db.port.to_string(),
            user: APP_USER.into(),
            password: APP_PASSWORD.into(),
            name: db.into(),
        }
    }

    /// A trigger, a routine and a binary column, made by the application user (so the
    /// restore, as that user, may make them again): what `--routines --triggers --hex-blob`
    /// are for.
    fn objects_with_code(&self, kind: DbKind) {
        let sql = match kind {
            DbKind::Maria => "CREATE TABLE wp_blob (id INT PRIMARY KEY, b LONGBLOB);\n\
                 INSERT INTO wp_blob VALUES (1, UNHEX('00FF0A0D5C27220900E9')), (2, NULL);\n\
                 CREATE TRIGGER wp_note BEFORE INSERT ON wp_table_0 FOR EACH ROW SET NEW.note = 'by trigger';\n\
                 CREATE PROCEDURE wp_count() SELECT COUNT(*) FROM wp_table_1;\n"
                .to_string(),
            DbKind::Postgres => "CREATE TABLE wp_blob (id INT PRIMARY KEY, b BYTEA);\n\
                 INSERT INTO wp_blob VALUES (1, '\\x00ff0a0d5c27220900e9'::bytea), (2, NULL);\n\
                 CREATE FUNCTION wp_note() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN NEW.note := 'by trigger'; RETURN NEW; END $f$;\n\
                 CREATE TRIGGER wp_note BEFORE INSERT ON wp_table_0 FOR EACH ROW EXECUTE FUNCTION wp_note();\n"
                .to_string(),
        };
        let work = tempfile::tempdir().unwrap();
        database::import::query(&self.conn(APP_DB), work.path(), &sql).unwrap();
    }

    /// A 2025 path run by `/bin/sh` as cron runs it.
    fn run_with(&self, bin: Option<&Path>, script: &str, args: &[&str]) -> Output {
        let mut path = String::new();
        if let Some(b) = bin {
            path.push_str(&format!("{}:", b.display()));
        }
        path.push_str("/usr/local/bin:/usr/bin:/bin");
        self.host
            .cmd("/bin/sh")
            .arg(self.host.path(script))
            .args(args)
            .env("PATH", path)
            .env("ADT_ROOT_DIR", &self.root)
            .env("ADT_BACKUP_LOCK_SETTLE_MS", "20")
            .env("ADT_BACKUP_LOCK_WAIT_SECS", "3")
            .env("ADT_BACKUP_LOCK_POLL_SECS", "1")
            .env("ADT_S3_ATTEMPTS", "2")
            .output()
            .unwrap()
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.run_with(None, script, args)
    }

    fn mails(&self) -> String {
        std::fs::read_to_string(self.host.dir.path().join("mail.log")).unwrap_or_default()
    }

    /// An object of account `n` (0 or 1), as the S3 server stores it.
    fn object(&self, n: usize, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.accounts[n].root.path().join(bucket).join(key)).ok()
    }

    /// Both accounts' current archive and `.BACKUP` of a bucket.
    fn snapshot(&self, bucket: &str) -> Vec<Option<Vec<u8>>> {
        (0..2)
            .flat_map(|n| {
                [
                    self.object(n, bucket, OBJECT),
                    self.object(n, bucket, &format!("{OBJECT}.BACKUP")),
                ]
            })
            .collect()
    }

    fn set(&self, key: &str, value: &str) {
        let p = self
            .host
            .path("runtime/database_configuration_settings.dat");
        let text: String = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with(&format!("{key}:")))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&p, format!("{text}{key}:{value}\n")).unwrap();
    }

    /// The 2025 restore's reading of the archive in `bucket` of account `n`: s3cmd get,
    /// untar, the engine's member whose last line names `zzzz`, the tokens back (and, for
    /// MariaDB, the lines legacy's maria/InstallApplicationDB.sh drops), import into a fresh
    /// database `db`. Returns the dump as it was archived.
    fn restore(&self, n: usize, bucket: &str, db: &str) -> String {
        let work = tempfile::tempdir().unwrap();
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let install = work.path().join("installDB");
        std::fs::create_dir_all(&install).unwrap();
        let o = Command::new("s3cmd")
            .arg(format!(
                "--config={}",
                self.root.join(format!(".s3cfg-{}", n + 1)).display()
            ))
            .args(["--force", "get", &format!("s3://{bucket}/{OBJECT}")])
            .arg(format!("{}/", install.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "s3cmd get: {}", stderr(&o));
        let o = Command::new("tar")
            .arg("xzf")
            .arg(install.join(OBJECT))
            .arg("-C")
            .arg(&install)
            .output()
            .unwrap();
        assert!(o.status.success(), "untar: {}", stderr(&o));
        std::fs::remove_file(install.join(OBJECT)).unwrap();
        let (member, other) = match self.db.kind {
            DbKind::Maria => ("applicationDB.sql", "applicationDB.psql"),
            DbKind::Postgres => ("applicationDB.psql", "applicationDB.sql"),
        };
        let names: Vec<String> = std::fs::read_dir(&install)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [member], "the one member 2025's restore looks for");
        assert!(!install.join(other).exists());
        let dump = std::fs::read_to_string(install.join(member)).unwrap();
        assert!(
            dump.lines().last().unwrap().contains("zzzz"),
            "the restore's `tail -n 1 | grep zzzz`"
        );
        let branded = install.join("exampleDB.sql");
        Scrubber::for_restore(APP_USER, IPMASK, self.db.kind == DbKind::Maria)
            .file(&install.join(member), &branded)
            .unwrap();
        self.db.create_app_database(db);
        database::import::import(&self.conn(db), work.path(), &branded).unwrap();
        dump
    }

    /// Every table's rows (md5 and count) in `a` and its restore `b` are the same, `zzzz`
    /// restored; the trigger, the routine and the binary data came back.
    fn same_tables(&self, a: &str, b: &str) {
        let rows = |db: &str| -> std::collections::BTreeMap<String, String> {
            self.db
                .table_checksums(db)
                .into_iter()
                .map(|(t, s)| {
                    // MariaDB's CHECKSUM TABLE changes with the table's character set, which
                    // 2025's backup sets to utf8mb4: compare the rows themselves.
                    let rows: Vec<&str> = s.split('/').take(2).collect();
                    (t, rows.join("/"))
                })
                .collect()
        };
        let before = rows(a);
        let mut after = rows(b);
        assert!(after.remove("zzzz").is_some(), "the zzzz sentinel");
        assert_eq!(before.len(), 6);
        assert_eq!(before, after, "{a} and its restore {b} differ");
        let q = |db: &str, sql: &str| self.db.sql(db, sql).trim().to_string();
        match self.db.kind {
            DbKind::Maria => {
                assert_eq!(
                    q(b, "SELECT HEX(b) FROM wp_blob WHERE id = 1;"),
                    "00FF0A0D5C27220900E9"
                );
                assert_eq!(
                    q(b, &format!("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{b}';")),
                    "wp_count"
                );
                assert_eq!(
                    q(b, &format!("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{b}';")),
                    "wp_note"
                );
                assert_eq!(
                    q(b, &format!("SELECT DISTINCT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{b}' AND TABLE_NAME <> 'zzzz';")),
                    "utf8mb4_unicode_ci",
                    "2025's StandardiseMySQLCollations"
                );
            }
            DbKind::Postgres => {
                assert_eq!(
                    q(b, "SELECT encode(b, 'hex') FROM wp_blob WHERE id = 1;"),
                    "00ff0a0d5c27220900e9"
                );
                assert_eq!(
                    q(b, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal;"),
                    "wp_note"
                );
            }
        }
        // The trigger works in the restored database.
        self.db.sql(
            b,
            "INSERT INTO wp_table_0 (id, title) VALUES (999999, 'new');",
        );
        assert_eq!(
            q(b, "SELECT note FROM wp_table_0 WHERE id = 999999;"),
            "by trigger"
        );
    }

    fn change_data(&self, what: &str) {
        self.db.sql(
            APP_DB,
            &format!("UPDATE wp_table_1 SET title = '{what}' WHERE id < 100;"),
        );
    }
}

/// The installed dump tool (a wrapper of that name goes first on PATH).
fn real_tool(tool: &str) -> PathBuf {
    ["/usr/bin/", "/usr/local/bin/"]
        .iter()
        .map(|d| PathBuf::from(format!("{d}{tool}")))
        .find(|p| p.is_file())
        .unwrap()
}

/// What the 2025 legacy scripts write as the archive's member, on the same database: a model
/// of BackupDatabase.sh's steps (framing `echo`s, the dump with 2025's flags piped through its
/// `sed` filter, the `sed -i` scrubs, StandardiseMySQLCollations' `grep`/`sed` loop), run
/// with the real tools. The password goes in through the environment (legacy put it on argv
/// unquoted, which this test's password would break).
fn legacy_2025_member(m: &Machine) -> String {
    let d = tempfile::tempdir().unwrap();
    let script = match m.db.kind {
        DbKind::Maria => format!(
            "set -e; f=applicationDB.sql\n\
             echo 'SET SESSION sql_require_primary_key = 0;' > $f\n\
             echo 'DROP TABLE IF EXISTS `zzzz`;' >> $f\n\
             {} --ssl --skip-lock-tables --single-transaction --hex-blob --routines --triggers --force -y \
               --port={} --host=127.0.0.1 -u {APP_USER} -p\"$PW\" {APP_DB} | sed -e '/SET @@SESSION.SQL_LOG_BIN= 0;/d' \
               -e '/SET GLOBAL INNODB_STATS_AUTO_RECALC=OFF;/d' \
               -e '/SET GLOBAL INNODB_STATS_AUTO_RECALC=@OLD_INNODB_STATS_AUTO_RECALC;/d' \
               -e '/SET @@GLOBAL.GTID_PURGED=/,/;/d' -e '/SET @@GLOBAL.GTID_PURGED=.*;/d' >> $f\n\
             echo 'DROP TABLE IF EXISTS `zzzz`;' >> $f\n\
             echo 'CREATE TABLE `zzzz` ( `idxx` int(10) unsigned NOT NULL, PRIMARY KEY (`idxx`) ) Engine=INNODB CHARSET=utf8mb4;' >> $f\n\
             sed -i -- 's/http:\\/\\//https:\\/\\//g' $f\n\
             sed -i 's/{APP_USER}/XXXXXXXXXX/g' $f\n\
             sed -i '/SESSION.SQL_LOG_BIN/d' $f\n\
             sed -i 's/{IPMASK}/YYYYYYYYYY/g' $f\n\
             for c in `grep -o 'COLLATE=.*' $f | cut -d' ' -f1 | sed 's/;$//g' | sort -u`; do \
               sed -i \"s/$c/COLLATE=utf8mb4_unicode_ci/g\" $f; done\n\
             for c in `grep -o 'CHARSET=.* ' $f | cut -d' ' -f1 | sort -u`; do \
               sed -i \"s/$c/CHARSET=utf8mb4/g\" $f; done\n\
             cat $f\n",
            real_tool("mariadb-dump").display(),
            m.db.port
        ),
        DbKind::Postgres => format!(
            "set -e; f=applicationDB.psql\n\
             PGPASSWORD=\"$PW\" {} -U {APP_USER} -h 127.0.0.1 -p {} -d {APP_DB} > $f\n\
             echo 'DROP TABLE IF EXISTS public.zzzz;' >> $f\n\
             echo 'CREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );' >> $f\n\
             sed -i -- 's/http:\\/\\//https:\\/\\//g' $f\n\
             sed -i 's/{APP_USER}/XXXXXXXXXX/g' $f\n\
             sed -i 's/{IPMASK}/YYYYYYYYYY/g' $f\n\
             cat $f\n",
            real_tool("pg_dump").display(),
            m.db.port
        ),
    };
    let o = Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .env("PW", APP_PASSWORD)
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "the legacy model: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// A dump without what differs between two dumps of the same data: mariadb-dump's date line,
/// pg_dump's random `\restrict` key.
fn undated(dump: &str) -> String {
    dump.lines()
        .filter(|l| {
            !l.starts_with("-- Dump completed on")
                && !l.starts_with("\\restrict ")
                && !l.starts_with("\\unrestrict ")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn backup_and_restore(kind: DbKind) {
    let m = machine(kind);
    // Legacy's lines (stdout, status 0) and its silence before INSTALLED_SUCCESSFULLY.
    let o = m.run("application/backupscripts/Backup.sh", &[]);
    ok(&o);
    assert_eq!(
        stdout(&o),
        "This script requires the <Build periodicity> parameter to be set\n"
    );
    let o = m.run("cron/BackupFromCron.sh", &["DAILY"]);
    ok(&o);
    assert_eq!(stdout(&o), "");
    assert!(m.object(0, BUCKET_DAILY, OBJECT).is_none(), "not installed");
    std::fs::write(
        m.accounts[0]
            .root
            .path()
            .join(CONFIG)
            .join("INSTALLED_SUCCESSFULLY"),
        "",
    )
    .unwrap();
    let o = m.run("application/backupscripts/Backup.sh", &["manual"]);
    ok(&o);
    assert_eq!(stdout(&o), "Invalid periodicity passed to backup script\n");

    // Cron's run: one archive in <url->-db-daily of both accounts. The dump tool is the real
    // one behind a wrapper that records its arguments.
    let tools = tempfile::tempdir().unwrap();
    let argv = tools.path().join("argv");
    let tool = match kind {
        DbKind::Maria => "mariadb-dump",
        DbKind::Postgres => "pg_dump",
    };
    put(
        tools.path(),
        tool,
        &format!(
            "#!/bin/sh
echo \"$@\" >> '{}'\nexec {} \"$@\"\n",
            argv.display(),
            real_tool(tool).display()
        ),
        0o755,
    );
    let o = m.run_with(Some(tools.path()), "cron/BackupFromCron.sh", &["DAILY"]);
    ok(&o);
    assert_eq!(stdout(&o), "");
    let argv = std::fs::read_to_string(&argv).unwrap();
    assert_eq!(argv.lines().count(), 1, "{argv}");
    assert!(
        !argv.contains(APP_PASSWORD) && !argv.contains("Pa$s"),
        "{argv}"
    );
    if kind == DbKind::Maria {
        for flag in [
            "--ssl",
            "--skip-lock-tables",
            "--single-transaction",
            "--hex-blob",
            "--routines",
            "--triggers",
            "--force",
            " -y ",
        ] {
            assert!(argv.contains(flag), "{flag} in {argv}");
        }
    }
    let first = m.object(0, BUCKET_DAILY, OBJECT).expect("account 1");
    assert_eq!(
        m.object(1, BUCKET_DAILY, OBJECT).as_ref(),
        Some(&first),
        "account 2"
    );
    assert!(m
        .object(0, BUCKET_DAILY, &format!("{OBJECT}.BACKUP"))
        .is_none());
    let dump = m.restore(1, BUCKET_DAILY, "nfromtwon");
    m.same_tables(APP_DB, "nfromtwon");
    // Framing and scrub as 2025's BackupDatabase.sh.
    let last: Vec<&str> = dump.lines().rev().take(2).collect();
    match kind {
        DbKind::Maria => {
            assert!(dump.starts_with(
                "SET SESSION sql_require_primary_key = 0;\nDROP TABLE IF EXISTS `zzzz`;\n"
            ));
            assert_eq!(
                last,
                [
                    "CREATE TABLE `zzzz` ( `idxx` int(10) unsigned NOT NULL, PRIMARY KEY (`idxx`) ) Engine=INNODB CHARSET=utf8mb4;",
                    "DROP TABLE IF EXISTS `zzzz`;"
                ]
            );
            assert!(!dump.contains("SQL_LOG_BIN") && !dump.contains("GTID_PURGED"));
            assert!(dump.contains("DEFINER=`XXXXXXXXXX`@"), "the user scrubbed");
            assert!(dump.contains("CREATE DEFINER") && dump.contains("TRIGGER"));
            assert!(dump.contains("0x00FF0A0D5C27220900E9"), "--hex-blob");
        }
        DbKind::Postgres => {
            assert_eq!(
                last,
                [
                    "CREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );",
                    "DROP TABLE IF EXISTS public.zzzz;"
                ]
            );
            assert!(dump.contains("OWNER TO XXXXXXXXXX;"), "the user scrubbed");
        }
    }
    assert!(!dump.contains(APP_USER) && !dump.contains(APP_PASSWORD));
    // Byte for byte what 2025's scripts write from the same database (but for the dump's date).
    let legacy = legacy_2025_member(&m);
    assert!(legacy.contains("CREATE TABLE") && legacy.contains("zzzz"));
    assert_eq!(undated(&dump), undated(&legacy), "ours and legacy's member");
    assert!(!dump.contains("127.0.%.%"));
    // Nothing left behind in <H>/backups: no dump, no option file.
    let left: Vec<_> = std::fs::read_dir(m.host.path("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The next run: the first archive becomes .BACKUP in both accounts.
    m.change_data("second");
    ok(&m.run("application/backupscripts/Backup.sh", &["daily"]));
    for n in 0..2 {
        assert_eq!(
            m.object(n, BUCKET_DAILY, &format!("{OBJECT}.BACKUP"))
                .as_ref(),
            Some(&first)
        );
        assert_ne!(m.object(n, BUCKET_DAILY, OBJECT).as_ref(), Some(&first));
    }
    m.restore(0, BUCKET_DAILY, "nsecondn");
    m.same_tables(APP_DB, "nsecondn");

    // 2025's ShutdownThisDatabase runs Backup.sh "shutdown" (its backup step; the rest is
    // legacy's): here a stand-in with that one call.
    put(
        &m.host.home,
        "utilities/housekeeping/ShutdownThisDatabase.sh",
        "#!/bin/sh\necho \"Shutting down a database\"\n${HOME}/application/backupscripts/Backup.sh \"shutdown\"\n",
        0o755,
    );
    let o = m.run("utilities/housekeeping/ShutdownThisDatabase.sh", &[]);
    ok(&o);
    assert_eq!(stdout(&o), "Shutting down a database\n");
    for n in 0..2 {
        assert!(m.object(n, "www-example-com-db-shutdown", OBJECT).is_some());
    }
    m.restore(1, "www-example-com-db-shutdown", "nshutn");
    m.same_tables(APP_DB, "nshutn");
    assert_eq!(m.mails(), "", "no mail on success");
}

#[test]
fn mariadb_2025_backup_restores_through_the_2025_restore() {
    backup_and_restore(DbKind::Maria);
}

#[test]
fn postgres_2025_backup_restores_through_the_2025_restore() {
    backup_and_restore(DbKind::Postgres);
}

/// `DB_BACKUP_RUNNING` is taken only with `MULTIREGION:1` (then by conditional create, and
/// released); a machine already on the same period makes the run do nothing, silently as
/// legacy's exit; a secondary region writes to `<url->-db-<p>-<CLOUDHOST>`.
#[test]
fn the_2025_lock_and_regions() {
    let m = machine(DbKind::Maria);
    std::fs::write(
        m.accounts[0]
            .root
            .path()
            .join(CONFIG)
            .join("INSTALLED_SUCCESSFULLY"),
        "",
    )
    .unwrap();
    let lock = m.accounts[0]
        .root
        .path()
        .join(CONFIG)
        .join("DB_BACKUP_RUNNING");
    // Held by another machine for this period, not expired.
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    std::fs::write(&lock, format!("db-other/4242/boot-x {expiry} DAILY")).unwrap();
    // Without MULTIREGION the lock is not legacy's concern: the backup runs.
    ok(&m.run("cron/BackupFromCron.sh", &["DAILY"]));
    assert!(m.object(0, BUCKET_DAILY, OBJECT).is_some());
    let before = m.snapshot(BUCKET_DAILY);
    m.set("MULTIREGION", "1");
    m.change_data("locked");
    let o = m.run("cron/BackupFromCron.sh", &["DAILY"]);
    ok(&o);
    assert_eq!(stdout(&o), "");
    assert_eq!(m.snapshot(BUCKET_DAILY), before, "another machine is on it");
    assert!(lock.exists(), "not ours to release");
    // Another period holds it past our wait: status 1, one line, the failure mail.
    std::fs::write(&lock, format!("db-other/4242/boot-x {expiry} HOURLY")).unwrap();
    let err = failed_with_one_line(&m.run("cron/BackupFromCron.sh", &["DAILY"]));
    assert!(err.contains("DB_BACKUP_RUNNING"), "{err}");
    assert!(m.mails().starts_with("daily database backup FAILED|"));
    assert_eq!(m.snapshot(BUCKET_DAILY), before);
    // Free: taken, backed up, released.
    std::fs::remove_file(&lock).unwrap();
    ok(&m.run("cron/BackupFromCron.sh", &["DAILY"]));
    assert!(!lock.exists(), "released");
    assert_eq!(
        m.object(0, BUCKET_DAILY, &format!("{OBJECT}.BACKUP")),
        before[0]
    );
    // A secondary region.
    m.set("PRIMARYREGION", "0");
    ok(&m.run("cron/BackupFromCron.sh", &["WEEKLY"]));
    for n in 0..2 {
        assert!(m
            .object(n, "www-example-com-db-weekly-linode", OBJECT)
            .is_some());
    }
    assert!(m.object(0, "www-example-com-db-weekly", OBJECT).is_none());
    // Fewer than 4 tables: nothing replaced, status 1, the failure mail (legacy moved the
    // archive to .BACKUP, put nothing and mailed).
    let before = m.snapshot("www-example-com-db-weekly-linode");
    m.db.sql(APP_DB, "DROP TABLE wp_table_2, wp_table_3, wp_table_4;");
    let err = failed_with_one_line(&m.run("cron/BackupFromCron.sh", &["WEEKLY"]));
    assert!(err.contains("tables are not there"), "{err}");
    assert_eq!(m.snapshot("www-example-com-db-weekly-linode"), before);
    assert!(m
        .mails()
        .lines()
        .last()
        .unwrap()
        .starts_with("weekly database backup FAILED|"));
}

/// The dump killed midway and the upload to the second account cut: where no new archive
/// could be made, the previous one and its `.BACKUP` are there byte for byte.
fn faults(kind: DbKind) {
    let m = machine(kind);
    std::fs::write(
        m.accounts[0]
            .root
            .path()
            .join(CONFIG)
            .join("INSTALLED_SUCCESSFULLY"),
        "",
    )
    .unwrap();
    ok(&m.run("cron/BackupFromCron.sh", &["DAILY"]));
    m.change_data("two");
    ok(&m.run("cron/BackupFromCron.sh", &["DAILY"]));
    let good = m.snapshot(BUCKET_DAILY);
    assert!(
        good.iter().all(Option::is_some),
        "current and .BACKUP in both"
    );

    // The dump killed midway.
    m.change_data("three");
    let tools = tempfile::tempdir().unwrap();
    let tool = match kind {
        DbKind::Maria => "mariadb-dump",
        DbKind::Postgres => "pg_dump",
    };
    let real = real_tool(tool);
    put(
        tools.path(),
        tool,
        &format!(
            "#!/bin/sh\n{} \"$@\" | head -c 20000\nkill -9 $$\n",
            real.display()
        ),
        0o755,
    );
    let o = m.run_with(Some(tools.path()), "cron/BackupFromCron.sh", &["DAILY"]);
    let err = failed_with_one_line(&o);
    assert!(err.contains("killed"), "{err}");
    assert_eq!(
        m.snapshot(BUCKET_DAILY),
        good,
        "the killed dump touched nothing"
    );
    assert_eq!(
        m.mails(),
        "daily database backup FAILED|A database backup has failed (inconsistent or non existent backup)...\n"
    );

    // The upload to account 2 cut midway: account 1 gets the new archive, account 2 keeps
    // the last good one and its .BACKUP.
    let proxy = UploadCut::start(m.accounts[1].port, 30_000);
    put(&m.root, ".s3cfg-2", &s3cfg(proxy.port), 0o600);
    let o = m.run("cron/BackupFromCron.sh", &["DAILY"]);
    let err = failed_with_one_line(&o);
    assert!(err.contains("previous backup is kept"), "{err}");
    assert_eq!(m.mails().lines().count(), 2);
    put(&m.root, ".s3cfg-2", &s3cfg(m.accounts[1].port), 0o600);
    let now = m.snapshot(BUCKET_DAILY);
    assert_eq!(now[2..], good[2..], "account 2: byte for byte");
    assert_eq!(now[1], good[0], "account 1 rotated");
    assert_ne!(now[0], good[0]);
    let listed: Vec<String> = std::fs::read_dir(m.accounts[1].root.path().join(BUCKET_DAILY))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(
        listed.iter().all(|n| !n.contains("adt-upload")),
        "{listed:?}"
    );
    // The last good archive still restores from account 2.
    m.restore(1, BUCKET_DAILY, "nafterfaultsn");
}

#[test]
fn mariadb_2025_faults_keep_the_last_good_archive() {
    faults(DbKind::Maria);
}

#[test]
fn postgres_2025_faults_keep_the_last_good_archive() {
    faults(DbKind::Postgres);
}
