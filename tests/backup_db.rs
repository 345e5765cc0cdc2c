//! The database machine's backup drop-ins end to end: a real MariaDB / PostgreSQL server with
//! data in several tables, a real S3 server (s3s-fs), the `local` git provider (bare
//! repositories over file://), our launchers at the legacy paths run as cron runs them. The
//! backups are restored the way the legacy restore (InstallApplicationDB.sh) reads them: clone
//! the period's repository and join `<p>/<name>-db-??`, or Get the datastore copy with s3cmd;
//! untar; placeholders back; import into a fresh database; per-table checksums compared.
//!
//! Faults: store down at lock time, the dump killed midway, the push rejected, the upload cut:
//! the last good backup survives each, byte for byte, and the run exits non-zero with one line
//! and legacy's failure e-mail.

mod common;
use adt::database::{self, archive, scrub::Scrubber, Connection, Engine};
use common::db::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

const IPMASK: &str = "127.0.%.%";
const ID: &str = "acme1";
const DBREPO_DAILY: &str = "www-example-db-daily-acme1";
const DB_BUCKET_DAILY: &str = "www-example-com-db-daily";
const OBJECT: &str = "example-DB-backup.tar.gz";

struct Fleet {
    s3: S3Server,
    host: Host,
    db: DbServer,
    git_root: tempfile::TempDir,
}

fn fleet(kind: DbKind) -> Fleet {
    let s3 = S3Server::start();
    s3.make_bucket(BUCKET);
    let host = Host::new("database", s3.port);
    host.install();
    let db = DbServer::start(kind);
    db.fill(APP_DB, 5, 2000);
    let git_root = tempfile::tempdir().unwrap();
    let settings = host.path(".ssh/database_configuration_settings.dat");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("DBPORT:2035", &format!("DBPORT:{}", db.port));
    std::fs::write(&settings, text).unwrap();
    host.add_settings(&format!(
        "DATABASEINSTALLATIONTYPE:{}\nMYIP:127.0.0.1\nIPMASK:{IPMASK}\n\
         APPLICATIONREPOSITORYPROVIDER:local\nAPPLICATIONREPOSITORYOWNER:{}\n\
         SUPERSAFEDB:1\nDATASTORECHOICE:digitalocean\nBUILDIDENTIFIER:{ID}\nDISABLEHOURLY:0\n",
        kind.setting(),
        git_root.path().display()
    ));
    let creds = host.dir.path().join("shit");
    std::fs::write(&creds, format!("{APP_DB}\n{APP_PASSWORD}\n{APP_USER}\n")).unwrap();
    let o = host.s3cmd(&[
        "put",
        creds.to_str().unwrap(),
        &format!("s3://{BUCKET}/credentials/shit"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    host.mark_installed();
    // Legacy's mailer, recording what it would send.
    let mailer = host.path("providerscripts/email/SendEmail.sh");
    std::fs::create_dir_all(mailer.parent().unwrap()).unwrap();
    std::fs::write(
        &mailer,
        format!(
            "#!/bin/sh\necho \"$1|$2\" >> {}\n",
            host.dir.path().join("mail.log").display()
        ),
    )
    .unwrap();
    Fleet {
        s3,
        host,
        db,
        git_root,
    }
}

impl Fleet {
    /// A legacy path run as cron runs it (git in /usr/local/bin on some machines), with parts of
    /// 64 KiB so a small database still has several.
    fn run_with(&self, bin: Option<&Path>, script: &str, args: &[&str]) -> Output {
        let mut path = String::new();
        if let Some(b) = bin {
            path.push_str(&format!("{}:", b.display()));
        }
        path.push_str("/usr/local/bin:/usr/bin:/bin");
        self.host
            .cmd(self.host.path(script))
            .env("PATH", path)
            .env("ADT_DB_PART_BYTES", "65536")
            .env("ADT_BACKUP_LOCK_SETTLE_MS", "20")
            .env("ADT_BACKUP_LOCK_WAIT_SECS", "5")
            .env("ADT_BACKUP_LOCK_POLL_SECS", "1")
            .env("ADT_S3_ATTEMPTS", "2")
            .args(args)
            .output()
            .unwrap()
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.run_with(None, script, args)
    }

    fn mails(&self) -> String {
        std::fs::read_to_string(self.host.dir.path().join("mail.log")).unwrap_or_default()
    }

    fn monitoring_log(&self) -> String {
        std::fs::read_to_string(self.host.path("logs/MonitoringLog.dat")).unwrap_or_default()
    }

    fn repo_url(&self, repo: &str) -> String {
        format!("file://{}/{repo}.git", self.git_root.path().display())
    }

    /// The repository's master as a clone gives it: file name → bytes (without .git).
    fn repo_files(&self, repo: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
        let d = tempfile::tempdir().unwrap();
        let clone = d.path().join("c");
        let o = std::process::Command::new("git")
            .args(["clone", "-q", &self.repo_url(repo)])
            .arg(&clone)
            .output()
            .unwrap();
        assert!(o.status.success(), "clone: {}", stderr(&o));
        let mut out = std::collections::BTreeMap::new();
        let mut stack = vec![clone.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.file_name().unwrap() == ".git" {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(&clone)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    fn datastore_copy(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("got");
        let o = self.host.s3cmd(&[
            "get",
            &format!("s3://{bucket}/{key}"),
            dest.to_str().unwrap(),
        ]);
        o.status.success().then(|| std::fs::read(&dest).unwrap())
    }

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

    /// InstallApplicationDB's reading of an archive: untar, tokens back, import into a fresh
    /// database `db`.
    fn import_archive(&self, tarball: &Path, db: &str) {
        let work = tempfile::tempdir().unwrap();
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let install = work.path().join("installDB");
        archive::untar(tarball, &install).unwrap();
        let sql = install.join(archive::MEMBER);
        let branded = install.join("exampleDB.sql");
        Scrubber::for_restore(APP_USER, IPMASK, self.db.kind == DbKind::Maria)
            .file(&sql, &branded)
            .unwrap();
        self.db.create_app_database(db);
        database::import::import(&self.conn(db), work.path(), &branded).unwrap();
    }

    /// The legacy restore from git: clone, `cat <p>/<name>-db-?? > archive`, import. The
    /// clone is made with git-lfs installed, as on a legacy database machine (the
    /// `.gitattributes` name the files LFS; git-lfs passes the plain blobs through).
    fn restore_from_git(&self, repo: &str, period: &str, db: &str) {
        let d = tempfile::tempdir().unwrap();
        let script = format!(
            "set -e; export HOME='{dir}'; git lfs install >/dev/null; \
             git clone -q '{}' '{dir}/clone'; cat '{dir}/clone/{period}'/example-db-?? > '{dir}/{OBJECT}'",
            self.repo_url(repo),
            dir = d.path().display()
        );
        let o = std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        self.import_archive(&d.path().join(OBJECT), db);
    }

    /// The legacy restore from the datastore copy (s3cmd get), then import.
    fn restore_from_datastore(&self, bucket: &str, db: &str) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(OBJECT);
        std::fs::write(&p, self.datastore_copy(bucket, OBJECT).unwrap()).unwrap();
        self.import_archive(&p, db);
    }

    fn same_tables(&self, a: &str, b: &str) {
        let before = self.db.table_checksums(a);
        let mut after = self.db.table_checksums(b);
        assert!(
            after.remove("zzzz").is_some(),
            "the zzzz sentinel is restored"
        );
        assert_eq!(before.len(), 5);
        assert_eq!(before, after, "{a} and its restore {b} differ");
    }

    fn change_data(&self) {
        self.db.sql(
            APP_DB,
            "UPDATE wp_table_1 SET title = 'changed' WHERE id < 100;",
        );
    }
}

fn backup_and_restore(kind: DbKind) {
    let f = fleet(kind);
    // What a run killed by SIGKILL leaves: its staging directory with the option file.
    let stale = f.host.path("backups/.adt-staging-999999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join(".client.cnf.adt-tmp.999999.0"), "password=x").unwrap();
    let o = f.run("cron/BackupFromCron.sh", &["DAILY", ID]);
    ok(&o);
    assert_eq!(stdout(&o), "");
    assert!(!stale.exists(), "a dead run's staging directory is removed");
    assert!(f.monitoring_log().contains("Backing up database"));

    // The repository's layout, as legacy's.
    let files = f.repo_files(DBREPO_DAILY);
    let names: Vec<&String> = files.keys().collect();
    assert_eq!(names[0], ".gitattributes");
    assert_eq!(names[1], "daily/example-db-00");
    assert!(files.contains_key("daily/example-db-01"), "{names:?}");
    assert!(files.contains_key(OBJECT));
    let tarball = &files[OBJECT];
    let joined: Vec<u8> = files
        .iter()
        .filter(|(k, _)| k.starts_with("daily/example-db-"))
        .flat_map(|(_, v)| v.clone())
        .collect();
    assert_eq!(&joined, tarball, "the parts join into the root archive");
    assert_eq!(
        f.datastore_copy(DB_BUCKET_DAILY, OBJECT).as_ref(),
        Some(tarball),
        "the super-safe copy is the same archive"
    );
    // Left in <H>/backups, as legacy leaves it; no secret files or work trees beside it.
    assert_eq!(
        &std::fs::read(f.host.path("backups").join(OBJECT)).unwrap(),
        tarball
    );
    let left: Vec<String> = std::fs::read_dir(f.host.path("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![OBJECT.to_string()]);
    assert_eq!(
        f.datastore_copy(BUCKET, "dbbackuplock.file"),
        None,
        "the lock is released"
    );

    // Restore both ways, compare.
    f.restore_from_git(DBREPO_DAILY, "daily", "nfromgitn");
    f.same_tables(APP_DB, "nfromgitn");
    f.restore_from_datastore(DB_BUCKET_DAILY, "nfromstoren");
    f.same_tables(APP_DB, "nfromstoren");

    // A second backup after a change: the previous archive becomes .BACKUP.
    f.change_data();
    ok(&f.run("providerscripts/git/Backup.sh", &["DAILY", ID]));
    let files2 = f.repo_files(DBREPO_DAILY);
    assert_ne!(files2[OBJECT], *tarball);
    assert_eq!(
        f.datastore_copy(DB_BUCKET_DAILY, &format!("{OBJECT}.BACKUP"))
            .as_ref(),
        Some(tarball)
    );
    f.restore_from_git(DBREPO_DAILY, "daily", "nsecondn");
    f.same_tables(APP_DB, "nsecondn");
    assert_eq!(f.mails(), "");
}

#[test]
fn mariadb_backup_restores_through_the_legacy_restore_path() {
    backup_and_restore(DbKind::Maria);
}

#[test]
fn postgres_backup_restores_through_the_legacy_restore_path() {
    backup_and_restore(DbKind::Postgres);
}

#[test]
fn legacy_gates_and_outputs() {
    let f = fleet(DbKind::Maria);
    // Missing argument: the usage line, status 0, nothing done.
    let o = f.run("providerscripts/git/Backup.sh", &["DAILY"]);
    ok(&o);
    assert_eq!(
        stdout(&o),
        "This script requires the <Build periodicity> and the <build identifier> parameters to be set\n"
    );
    // Not installed yet: silent, nothing done.
    let o = f
        .host
        .s3cmd(&["del", &format!("s3://{BUCKET}/INSTALLEDSUCCESSFULLY")]);
    assert!(o.status.success());
    let o = f.run("providerscripts/git/Backup.sh", &["DAILY", ID]);
    ok(&o);
    assert_eq!(stdout(&o), "");
    assert!(!f
        .git_root
        .path()
        .join(format!("{DBREPO_DAILY}.git"))
        .exists());
    f.host.mark_installed();

    // Hourly under DISABLEHOURLY: the archive is made, no repository, no datastore copy.
    f.host.add_settings("");
    let settings = f.host.path(".ssh/database_configuration_settings.dat");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("DISABLEHOURLY:0", "DISABLEHOURLY:1");
    std::fs::write(&settings, text).unwrap();
    ok(&f.run("cron/BackupFromCron.sh", &["HOURLY", ID]));
    assert!(f
        .monitoring_log()
        .contains("Skipping hourly backup because hourly backups are disabled"));
    assert!(f
        .monitoring_log()
        .contains("Skipping repository creation because hourly backups are disabled"));
    assert!(!f
        .git_root
        .path()
        .join("www-example-db-hourly-acme1.git")
        .exists());
    assert_eq!(f.datastore_copy("www-example-com-db-hourly", OBJECT), None);
    assert!(f.host.path("backups").join(OBJECT).is_file());

    // Manual: the archive for the build machine's scp, no push, the datastore copy.
    ok(&f.run("providerscripts/git/Backup.sh", &["MANUAL", ID]));
    let manual = f
        .host
        .tmp
        .join("backup_archive/www-example-db-manual-acme1.tar.gz");
    assert!(manual.is_file(), "{}", manual.display());
    assert!(!f
        .git_root
        .path()
        .join("www-example-db-manual-acme1.git")
        .exists());
    f.import_archive(&manual, "nmanualn");
    f.same_tables(APP_DB, "nmanualn");

    // The lock held by another machine for the same period: legacy's line, status 0, nothing
    // done.
    let lock = f.host.dir.path().join("lock");
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    std::fs::write(&lock, format!("otherdb/4242/boot-x {expiry} DAILY")).unwrap();
    assert!(f
        .host
        .s3cmd(&[
            "put",
            lock.to_str().unwrap(),
            &format!("s3://{BUCKET}/dbbackuplock.file")
        ])
        .status
        .success());
    let o = f.run("cron/BackupFromCron.sh", &["DAILY", ID]);
    ok(&o);
    assert_eq!(stdout(&o), "script already running\n");
    assert!(!f
        .git_root
        .path()
        .join(format!("{DBREPO_DAILY}.git"))
        .exists());
    std::fs::write(&lock, "").unwrap();
    assert!(f
        .host
        .s3cmd(&[
            "put",
            lock.to_str().unwrap(),
            &format!("s3://{BUCKET}/dbbackuplock.file")
        ])
        .status
        .success());
    // A legacy peer's empty lock holds for every period: a shorter wait then an error.
    let o = f.run("cron/BackupFromCron.sh", &["DAILY", ID]);
    let err = failed_with_one_line(&o);
    assert!(err.contains("dbbackuplock.file"), "{err}");
    assert!(!f
        .git_root
        .path()
        .join(format!("{DBREPO_DAILY}.git"))
        .exists());

    // Too few tables: legacy's log line, status 0, nothing pushed.
    assert!(f
        .host
        .s3cmd(&["del", &format!("s3://{BUCKET}/dbbackuplock.file")])
        .status
        .success());
    for t in 0..3 {
        f.db.sql(APP_DB, &format!("DROP TABLE wp_table_{t};"));
    }
    ok(&f.run("cron/BackupFromCron.sh", &["DAILY", ID]));
    assert!(f
        .monitoring_log()
        .contains("Failed to backup database, it seems like the tables are not there"));
    assert!(!f
        .git_root
        .path()
        .join(format!("{DBREPO_DAILY}.git"))
        .exists());
    assert_eq!(f.mails(), "");
}

/// The last good backup, both copies, as bytes.
fn snapshot(f: &Fleet) -> (std::collections::BTreeMap<String, Vec<u8>>, Option<Vec<u8>>) {
    (
        f.repo_files(DBREPO_DAILY),
        f.datastore_copy(DB_BUCKET_DAILY, OBJECT),
    )
}

fn assert_failure_reported(f: &Fleet, o: &Output, mails_before: usize) -> String {
    let err = failed_with_one_line(o);
    let mails = f.mails();
    assert_eq!(
        mails.lines().count(),
        mails_before + 1,
        "one failure e-mail: {mails}"
    );
    assert!(mails
        .lines()
        .last()
        .unwrap()
        .starts_with("FAILED TO TAKE BACKUP|"));
    err
}

fn faults(kind: DbKind) {
    let f = fleet(kind);
    ok(&f.run("cron/BackupFromCron.sh", &["DAILY", ID]));
    let good = snapshot(&f);
    assert!(good.1.is_some());
    f.change_data();

    // The dump killed midway.
    let tools = tempfile::tempdir().unwrap();
    let tool = match kind {
        DbKind::Maria => "mariadb-dump",
        DbKind::Postgres => "pg_dump",
    };
    let real = ["/usr/bin/", "/usr/local/bin/"]
        .iter()
        .map(|d| PathBuf::from(format!("{d}{tool}")))
        .find(|p| p.is_file())
        .unwrap();
    std::fs::write(
        tools.path().join(tool),
        format!(
            "#!/bin/sh\n{} \"$@\" | head -c 20000\nkill -9 $$\n",
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        tools.path().join(tool),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let o = f.run_with(Some(tools.path()), "cron/BackupFromCron.sh", &["DAILY", ID]);
    let err = assert_failure_reported(&f, &o, 0);
    assert!(err.contains("killed"), "{err}");
    assert_eq!(
        snapshot(&f),
        good,
        "the dump's failure touched the last good backup"
    );
    assert!(f
        .monitoring_log()
        .contains("Had trouble makng a backup of your database. Please investigate..."));

    // The push rejected (a hook on the remote): the repository keeps the last good backup.
    let hook = f
        .git_root
        .path()
        .join(format!("{DBREPO_DAILY}.git/hooks/pre-receive"));
    std::fs::write(&hook, "#!/bin/sh\necho rejected by policy >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = f.run("cron/BackupFromCron.sh", &["DAILY", ID]);
    let err = assert_failure_reported(&f, &o, 1);
    assert!(err.contains("git repository"), "{err}");
    assert_eq!(f.repo_files(DBREPO_DAILY), good.0);
    std::fs::remove_file(&hook).unwrap();
    // (The datastore copy, independent of the push, was replaced by the new good archive.)
    let good = snapshot(&f);

    // The upload cut: the datastore copy keeps the last good archive.
    let proxy = UploadCut::start(f.s3.port, 30_000);
    f.host.write_s3cfg(proxy.port);
    f.change_data();
    f.db.sql(
        APP_DB,
        "UPDATE wp_table_2 SET title = 'again' WHERE id < 50;",
    );
    let o = f.run("cron/BackupFromCron.sh", &["DAILY", ID]);
    let err = assert_failure_reported(&f, &o, 2);
    assert!(err.contains("datastore copy"), "{err}");
    f.host.write_s3cfg(f.s3.port);
    assert_eq!(f.datastore_copy(DB_BUCKET_DAILY, OBJECT), good.1);
    // Nothing of the cut upload is left under the object's name.
    let o = f.host.s3cmd(&["ls", &format!("s3://{DB_BUCKET_DAILY}/")]);
    assert!(!stdout(&o).contains("adt-upload"), "{}", stdout(&o));
    let good = snapshot(&f);

    // The store down at lock time: no run at all (legacy ran unlocked), nothing touched.
    f.host.write_s3cfg(free_port());
    let o = f.run("cron/BackupFromCron.sh", &["DAILY", ID]);
    let err = failed_with_one_line(&o);
    assert!(err.contains("lock"), "{err}");
    f.host.write_s3cfg(f.s3.port);
    assert_eq!(snapshot(&f), good);

    // And the last good backup still restores.
    f.restore_from_git(DBREPO_DAILY, "daily", "nafterfaultsn");
    f.restore_from_datastore(DB_BUCKET_DAILY, "nafterfaults2n");
}

#[test]
fn mariadb_faults_keep_the_last_good_backup() {
    faults(DbKind::Maria);
}

#[test]
fn postgres_faults_keep_the_last_good_backup() {
    faults(DbKind::Postgres);
}

#[test]
fn shutdown_backs_up_daily_then_shutdown_then_runs_the_legacy_shutdown() {
    let f = fleet(DbKind::Maria);
    let legacy = f
        .host
        .path("providerscripts/utilities/ShutdownThisDatabase.sh.adt-legacy");
    let record = f.host.dir.path().join("legacy-shutdown");
    std::fs::write(
        &legacy,
        format!(
            "echo \"Shutting down a database, please wait whilst I clean the place up first\"\necho \"args:[$*]\" > {}\n",
            record.display()
        ),
    )
    .unwrap();
    let o = f.run(
        "providerscripts/utilities/ShutdownThisDatabase.sh",
        &["backup"],
    );
    ok(&o);
    assert_eq!(
        stdout(&o),
        "Shutting down a database, please wait whilst I clean the place up first\n"
    );
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "args:[]\n");
    for p in ["daily", "shutdown"] {
        let files = f.repo_files(&format!("www-example-db-{p}-acme1"));
        assert!(files.contains_key(&format!("{p}/example-db-00")), "{p}");
        assert!(f
            .datastore_copy(&format!("www-example-com-db-{p}"), OBJECT)
            .is_some());
    }
    f.restore_from_git("www-example-db-shutdown-acme1", "shutdown", "nshutn");
    f.same_tables(APP_DB, "nshutn");
    // Without `backup`: straight to the legacy shutdown.
    std::fs::remove_file(&record).unwrap();
    ok(&f.run("providerscripts/utilities/ShutdownThisDatabase.sh", &[]));
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "args:[]\n");
}

/// The build machine's helper, flags and prompts. SSH is the one stand-in: an `ssh` on PATH
/// that runs the remote command on the database machine's HOME of this test (its
/// `/home/X1234X` mapped there); the Backup.sh it runs is our real drop-in.
#[test]
fn build_machine_helper_takes_a_backup_over_ssh() {
    let f = fleet(DbKind::Maria);
    let bm = Host::new("build", f.s3.port);
    bm.install();
    let conf = bm.path("buildconfiguration/digitalocean");
    std::fs::create_dir_all(conf.join("acme1-credentials")).unwrap();
    std::fs::write(
        bm.path("buildconfiguration/buildhome"),
        format!("{}\n", bm.home.display()),
    )
    .unwrap();
    std::fs::write(conf.join("acme1"), "export SSH_PORT=\"1035\"\n").unwrap();
    std::fs::write(conf.join("acme1-credentials/SERVERUSER"), "X1234X\n").unwrap();
    std::fs::write(
        conf.join("acme1-credentials/SERVERUSERPASSWORD"),
        "SudoSecret9\n",
    )
    .unwrap();
    let lister = bm.path("providerscripts/server/GetServerIPAddresses.sh");
    std::fs::create_dir_all(lister.parent().unwrap()).unwrap();
    std::fs::write(&lister, "echo 10.0.0.8\necho 10.0.0.9\n").unwrap();
    let bin = bm.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = bm.dir.path().join("ssh.log");
    let ssh = bin.join("ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do last=\"$a\"; done\necho \"$*\" >> {log}\ncat > /dev/null\n\
             cmd=$(printf '%s' \"$last\" | sed \"s#/home/X1234X#{home}#g\")\n\
             export HOME={home} ADT_HOMEDIR_FILE={hd} ADT_TMP={tmp} PATH=/usr/local/bin:/usr/bin:/bin ADT_DB_PART_BYTES=65536\n\
             exec /bin/sh -c \"$cmd\"\n",
            log = log.display(),
            home = f.host.home.display(),
            hd = f.host.homedir_file.display(),
            tmp = f.host.tmp.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let helper = bm.path("helperscripts/PerformDatabaseBackup.sh");

    // Non-interactive.
    let o = bm
        .cmd_with(&bin, "helperscripts/PerformDatabaseBackup.sh")
        .current_dir(helper.parent().unwrap())
        .args([
            "--cloudhost",
            "1",
            "--build-identifier",
            "acme1",
            "--ip",
            "10.0.0.9",
        ])
        .args(["--key", "rsa", "--period", "2", "--yes"])
        .output()
        .unwrap();
    ok(&o);
    let text = stdout(&o);
    assert!(
        text.contains("Your git repository provider is set to:\nlocal\n"),
        "{text}"
    );
    assert!(
        text.contains("Build identifier is set to: acme1\n"),
        "{text}"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("X1234X@10.0.0.9"), "{calls}");
    assert!(
        calls.contains("id_rsa_AGILE_DEPLOYMENT_BUILD_KEY_acme1"),
        "{calls}"
    );
    assert!(calls.contains("Backup.sh DAILY acme1"), "{calls}");
    assert!(
        !calls.contains("SudoSecret9"),
        "the sudo password reached argv: {calls}"
    );
    let first = f.repo_files(DBREPO_DAILY);
    assert!(first.contains_key("daily/example-db-00"));

    // Interactive: legacy's prompts, answered on stdin (the second server, WEEKLY).
    let mut child = bm
        .cmd_with(&bin, "helperscripts/PerformDatabaseBackup.sh")
        .current_dir(helper.parent().unwrap())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"1\nacme1\nN\nY\n1\n9\n3\n\n\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    ok(&o);
    let text = stdout(&o);
    for line in [
        "Which Cloudhost are you using? 1) Digital Ocean 2) Exoscale 3) Linode 4)Vultr 5)AWS. Please Enter the number for your cloudhost",
        "You have these builds to choose from: \nacme1\n",
        "1:   10.0.0.8\nPress Y/N to connect...\n2:   10.0.0.9\n",
        "Which periodicity of backup do you want to make, 1) HOURLY 2)DAILY 3) WEEKLY 4)MONTHLY 5)BIMONTHLY 6)MANUAL 7)ALL\nPlease enter one of 1,2,3,4,5,6,7\n",
        "Sorry, that's not a valid selection, please try again",
        "OK, ready to create backup - press enter to confirm",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(f
        .repo_files("www-example-db-weekly-acme1")
        .contains_key("weekly/example-db-00"));

    // Outside helperscripts/: legacy's refusal.
    let o = bm
        .cmd_with(&bin, "helperscripts/PerformDatabaseBackup.sh")
        .args(["--yes"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(
        stdout(&o),
        "Sorry, this script has to be run from the helperscripts subdirectory\n"
    );
}
