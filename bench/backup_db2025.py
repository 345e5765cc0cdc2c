#!/usr/bin/env python3
"""Benchmark: the 2025 generation's database backup, ours (the 2025 database machine's
application/backupscripts/Backup.sh drop-in: consistent streamed dump with 2025's flags, the
2025 filter and scrub while streaming, tar.gz, verified put with the .BACKUP rotation) against
the 2025 legacy steps on the same server and the same data (mariadb-dump with -p on argv piped
through 2025's sed filter and appended to the framing lines, four `sed -i` passes,
StandardiseMySQLCollations' grep/sed loop, `tar cvfz`, then the datastore steps: delete
.BACKUP, move the current archive there, put, get back and compare), both writing into a local
directory standing in for the bucket (one S3 account).

Prints wall time and peak RSS as bench/backup_db.py does (its servers and measuring are
reused). Timings are reported, never asserted.

Usage: bench/backup_db2025.py [--rows N] [--rounds R] [--adt BINARY] [--postgres]
Needs: target/release/adt (built if missing), mariadb-server + mariadb-client (or postgresql
with --postgres), tar, sed, grep.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backup_db import (DB, IPMASK, PASSWORD, ROOT, URL, USER, Maria, Postgres,  # noqa: E402
                       measure, sh)

BUCKET = "www-example-com-db-daily"
OBJECT = "example-DB-backup.tar.gz"
FILTER = ("sed -e '/SET @@SESSION.SQL_LOG_BIN= 0;/d' -e '/SET GLOBAL INNODB_STATS_AUTO_RECALC=OFF;/d' "
          "-e '/SET GLOBAL INNODB_STATS_AUTO_RECALC=@OLD_INNODB_STATS_AUTO_RECALC;/d' "
          "-e '/SET @@GLOBAL.GTID_PURGED=/,/;/d' -e '/SET @@GLOBAL.GTID_PURGED=.*;/d'")
COLLATIONS = (
    "for c in `grep -o 'COLLATE=.*' applicationDB.sql | grep '^[^\\s]*' | cut -d' ' -f1 | "
    "sed 's/;$//g' | sort -u | uniq`; do sed -i \"s/${c}/COLLATE=utf8mb4_unicode_ci/g\" "
    "applicationDB.sql; done; "
    "for c in `grep -o 'CHARSET=.* ' applicationDB.sql | cut -d ' ' -f1 | sort -u | uniq`; do "
    "sed -i \"s/${c}/CHARSET=utf8mb4/g\" applicationDB.sql; done; ")


def legacy_script(server, home, bucket):
    """The 2025 legacy steps (BackupDatabase.sh, StandardiseMySQLCollations.sh, Backup.sh's
    datastore part with a directory as the bucket), without the sleeps and mails."""
    if server.setting == "Maria":
        f = "applicationDB.sql"
        dump = ("echo 'SET SESSION sql_require_primary_key = 0;' > %s; "
                "echo 'DROP TABLE IF EXISTS `zzzz`;' >> %s; " % (f, f) +
                "mariadb-dump --ssl --skip-lock-tables --single-transaction --hex-blob --routines "
                "--triggers --force -y --port=%d --host=127.0.0.1 -u %s -p'%s' %s | %s >> %s; "
                % (server.port, USER, PASSWORD, DB, FILTER, f) +
                "echo 'DROP TABLE IF EXISTS `zzzz`;' >> %s; " % f +
                "echo 'CREATE TABLE `zzzz` ( `idxx` int(10) unsigned NOT NULL, PRIMARY KEY "
                "(`idxx`) ) Engine=INNODB CHARSET=utf8mb4;' >> %s; " % f)
        extra = "sed -i '/SESSION.SQL_LOG_BIN/d' %s; " % f
        after = COLLATIONS
    else:
        f = "applicationDB.psql"
        dump = ("PGPASSWORD='%s' pg_dump -U %s -h 127.0.0.1 -p %d -d %s > %s; "
                % (PASSWORD, USER, server.port, DB, f) +
                "echo 'DROP TABLE IF EXISTS public.zzzz;' >> %s; " % f +
                "echo 'CREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );' >> %s; " % f)
        extra = ""
        after = ""
    return (
        "set -e; cd %s; rm -rf ./*; " % os.path.join(home, "backups") + dump +
        "sed -i -- 's/http:\\/\\//https:\\/\\//g' %s; " % f +
        "sed -i 's/%s/XXXXXXXXXX/g' %s; " % (USER, f) + extra +
        "sed -i 's/%s/YYYYYYYYYY/g' %s; " % (IPMASK, f) + after +
        "tar cvfz %s %s >/dev/null; rm %s; " % (OBJECT, f, f) +
        "mkdir -p %s; rm -f %s/%s.BACKUP; " % (bucket, bucket, OBJECT) +
        "if [ -f %s/%s ]; then mv %s/%s %s/%s.BACKUP; fi; " % ((bucket, OBJECT) * 3) +
        "cp %s %s/; mkdir -p verify; cp %s/%s verify/; cmp %s verify/%s; rm -r verify %s"
        % (OBJECT, bucket, bucket, OBJECT, OBJECT, OBJECT, OBJECT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--adt", default=os.path.join(ROOT, "target", "release", "adt"))
    ap.add_argument("--postgres", action="store_true")
    a = ap.parse_args()
    if not os.access(a.adt, os.X_OK):
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    work = tempfile.mkdtemp(prefix="adt-bench-db25-")
    os.chmod(work, 0o711)  # PostgreSQL runs as its own user below it
    try:
        dbdir = os.path.join(work, "db")
        os.mkdir(dbdir)
        server = Postgres(dbdir) if a.postgres else Maria(dbdir)
        t = time.perf_counter()
        server.fill(a.rows)
        print("engine %s, %d rows in 4 tables (filled in %.1f s)"
              % (server.setting, a.rows, time.perf_counter() - t))

        # The 2025 database machine, our side: settings under runtime/, the local datastore
        # with the config bucket, GetIP (the database is local), the launcher.
        home = os.path.join(work, "home")
        for d in ("runtime", "utilities/processing", "application/backupscripts"):
            os.makedirs(os.path.join(home, d))
        with open(os.path.join(home, "runtime", "database_configuration_settings.dat"), "w") as f:
            f.write("WEBSITEURL:%s\nSERVERUSER:X1234X\nBUILDOS:debian:12\nS3ACCESSKEY:AK1\n"
                    "DATABASEINSTALLATIONTYPE:%s\nDBPORT:%d\nDBNAME:%s\nDBUSERNAME:%s\n"
                    "DBPASSWORD:%s\nIPMASK:%s\nMULTIREGION:0\n"
                    % (URL, server.setting, server.port, DB, USER, PASSWORD, IPMASK))
        with open(os.path.join(home, "runtime", "buildstyles.dat"), "w") as f:
            f.write("DATASTORETOOL:s3cmd\n")
        getip = os.path.join(home, "utilities", "processing", "GetIP.sh")
        with open(getip, "w") as f:
            f.write("#!/bin/sh\necho 127.0.0.1\n")
        os.chmod(getip, 0o755)
        for p in ("application/backupscripts/Backup.sh",):
            with open(os.path.join(home, p), "w") as f:
                f.write("#!/bin/sh\necho legacy\n")
        store = os.path.join(work, "store")
        os.makedirs(os.path.join(store, "www-example-com-config-x123"))
        open(os.path.join(store, "www-example-com-config-x123", "INSTALLED_SUCCESSFULLY"),
             "w").close()
        homedir = os.path.join(work, "homedir.dat")
        with open(homedir, "w") as f:
            f.write(home + "\n")
        sh([a.adt, "layout", "install", "--home", home, "--machine", "database",
            "--generation", "2025", "Backup"], stdout=subprocess.DEVNULL)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": homedir,
               "ADT_DATASTORE": "local:" + store, "ADT_TMP": os.path.join(work, "tmp")}
        os.makedirs(env["ADT_TMP"])
        ours = ["/bin/sh", os.path.join(home, "application/backupscripts/Backup.sh"), "daily"]

        lhome = os.path.join(work, "legacy")
        os.makedirs(os.path.join(lhome, "backups"))
        lbucket = os.path.join(work, "legacy-store", BUCKET)
        legacy = legacy_script(server, lhome, lbucket)
        lenv = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": lhome}

        rows = []
        for r in range(a.rounds):
            if r > 0:
                server.admin("UPDATE wp_t1 SET title = 'changed %d' WHERE id %% 25 = 0;" % r)
            o = measure(ours, env=env)
            l = measure(["/bin/sh", "-c", legacy], env=lenv)
            rows.append((r, o, l))
        sizes = (os.path.getsize(os.path.join(store, BUCKET, OBJECT)),
                 os.path.getsize(os.path.join(lbucket, OBJECT)))
        print("archive: ours %.1f MB, legacy %.1f MB" % (sizes[0] / 1e6, sizes[1] / 1e6))
        print("%-6s %10s %10s %8s | %14s %14s | %16s %16s" % (
            "round", "ours s", "legacy s", "ratio", "ours RSS MiB", "legacy RSS MiB",
            "ours tree MiB", "legacy tree MiB"))
        for r, o, l in rows:
            print("%-6d %10.2f %10.2f %8.2f | %14.1f %14s | %16.1f %16.1f" % (
                r + 1, o[0], l[0], l[0] / o[0], o[1] / 1024, "(sh) %.1f" % (l[1] / 1024),
                o[2] / 1024, l[2] / 1024))
        print("RSS: 'ours' is the adt process itself (VmHWM); 'tree' is the largest process of "
              "the run (getrusage children: mariadb-dump/pg_dump, sed, tar).")
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
