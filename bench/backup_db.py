#!/usr/bin/env python3
"""Benchmark: a database backup of about a million rows, ours (the DB machine's
providerscripts/git/Backup.sh drop-in: consistent streamed dump, literal scrub while streaming,
tar.gz, 10 MiB parts, one verified push) against the legacy approach on the same server and the
same data (mysqldump with -p on argv appended to the framing lines, four `sed -i` passes, `tar
cvfz`, `split -b 10M -d`, `git init/add/commit/push -f`), both pushing to a local bare
repository over file://. Both remotes keep pushes as packs (`receive.unpackLimit 1`, as hosting
services do and as the local provider configures the repositories it creates).

Prints wall time and peak RSS (the backup process itself, sampled from /proc VmHWM, and the
largest process of the whole run, from getrusage), and the archive sizes. Timings are reported,
never asserted.

Usage: bench/backup_db.py [--rows N] [--rounds R] [--adt BINARY] [--postgres]
Needs: target/release/adt (built if missing), mariadb-server + mariadb-client (or postgresql
with --postgres), git, tar, split, sed.
"""
import argparse, os, resource, shutil, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER, PASSWORD, DB = "uappusr1u", "Bench:pw&1", "nappdb01n"
IPMASK = "127.0.%.%"
URL = "www.example.com"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


class Maria:
    def __init__(self, d):
        self.d, self.port = d, free_port()
        self.sock = os.path.join(d, "mysql.sock")
        data = os.path.join(d, "data")
        root = ["--user=root"] if os.geteuid() == 0 else []
        sh(["mariadb-install-db", "--no-defaults", "--datadir=" + data,
            "--auth-root-authentication-method=normal", "--skip-test-db"] + root,
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.p = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults"] + root +
            ["--datadir=" + data, "--socket=" + self.sock, "--port=%d" % self.port,
             "--bind-address=127.0.0.1", "--log-error=" + os.path.join(d, "err.log"),
             "--tmpdir=" + d, "--skip-log-bin", "--innodb-buffer-pool-size=256M",
             "--innodb-log-file-size=128M", "--innodb-flush-log-at-trx-commit=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if self.admin("SELECT 1", db="mysql", check=False).returncode == 0:
                break
            time.sleep(0.1)
        pw = PASSWORD.replace("'", "''")
        self.admin("CREATE DATABASE %s; CREATE USER '%s'@'%%' IDENTIFIED BY '%s'; "
                   "GRANT ALL ON %s.* TO '%s'@'%%';" % (DB, USER, pw, DB, USER), db="mysql")
        self.setting = "Maria"

    def admin(self, sql, db=DB, check=True):
        return subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", self.sock, "-N", "-B", db],
                              input=sql.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=check)

    def fill(self, rows):
        per = rows // 4
        sql = []
        for t in range(4):
            sql.append(
                "CREATE TABLE wp_t%d (id INT PRIMARY KEY, title VARCHAR(200), body TEXT, "
                "link VARCHAR(200), amount DECIMAL(12,2)) ENGINE=InnoDB;" % t)
            sql.append(
                "INSERT INTO wp_t%d SELECT seq, CONCAT('Title ', seq), REPEAT('lorem ipsum ', 8), "
                "CONCAT('http://www.example.com/p/', seq), seq / 7 FROM seq_1_to_%d;" % (t, per))
        self.admin("\n".join(sql))

    def legacy_dump(self):
        # Legacy's command line: the password on argv.
        return ("mysqldump --lock-tables=false --no-tablespaces -y --host=127.0.0.1 --port=%d "
                "-u %s -p'%s' %s" % (self.port, USER, PASSWORD, DB))

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=60)


class Postgres:
    def __init__(self, d):
        self.d, self.port = d, free_port()
        bindir = sorted(
            (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")),
            key=lambda p: int(p.split("/")[-2]))[-1]
        pre = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] \
            if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
        data = os.path.join(d, "data")
        sh(pre + [os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"],
           stdout=subprocess.DEVNULL, cwd=d)
        self.p = subprocess.Popen(pre + [os.path.join(bindir, "postgres"), "-D", data, "-k", d, "-h",
                                         "127.0.0.1", "-p", str(self.port), "-c", "fsync=off"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
        for _ in range(300):
            if self.admin("SELECT 1", db="postgres", check=False).returncode == 0:
                break
            time.sleep(0.1)
        pw = PASSWORD.replace("'", "''")
        self.admin("CREATE ROLE %s LOGIN PASSWORD '%s';" % (USER, pw), db="postgres")
        self.admin("CREATE DATABASE %s OWNER %s;" % (DB, USER), db="postgres")
        self.setting = "Postgres"

    def admin(self, sql, db=DB, check=True):
        return subprocess.run(["psql", "-h", self.d, "-p", str(self.port), "-U", "postgres", "-X",
                               "-q", "-v", "ON_ERROR_STOP=1", "-d", db], input=sql.encode(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=check)

    def fill(self, rows):
        per = rows // 4
        sql = ["SET ROLE %s;" % USER]
        for t in range(4):
            sql.append("CREATE TABLE wp_t%d (id INT PRIMARY KEY, title VARCHAR(200), body TEXT, "
                       "link VARCHAR(200), amount NUMERIC(12,2));" % t)
            sql.append("INSERT INTO wp_t%d SELECT g, 'Title ' || g, repeat('lorem ipsum ', 8), "
                       "'http://www.example.com/p/' || g, g / 7.0 FROM generate_series(1, %d) g;"
                       % (t, per))
        self.admin("\n".join(sql))

    def legacy_dump(self):
        return ("PGPASSWORD='%s' pg_dump -U %s -h 127.0.0.1 -p %d -d %s"
                % (PASSWORD, USER, self.port, DB))

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=60)


def measure(argv, env=None, cwd=None, shell=False):
    """Run a command; (seconds, its own peak RSS in KiB sampled from VmHWM, the largest peak RSS
    of any process of the run in KiB). Each run in a fresh Python child so getrusage's
    children figure covers only this run."""
    probe = r"""
import os, resource, subprocess, sys, threading, time, json
argv, env, cwd, shell = json.loads(sys.argv[1])
t = time.perf_counter()
p = subprocess.Popen(argv, env=env, cwd=cwd, shell=shell, stdout=subprocess.DEVNULL,
                     stderr=subprocess.PIPE)
hwm = [0]
def watch():
    while p.poll() is None:
        try:
            for l in open("/proc/%d/status" % p.pid):
                if l.startswith("VmHWM:"):
                    hwm[0] = max(hwm[0], int(l.split()[1]))
        except OSError:
            pass
        time.sleep(0.02)
w = threading.Thread(target=watch); w.start()
err = p.stderr.read()
p.wait(); w.join()
el = time.perf_counter() - t
if p.returncode != 0:
    sys.stderr.write(err.decode(errors="replace")); sys.exit(1)
print(json.dumps([el, hwm[0], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))
"""
    import json
    out = subprocess.run([sys.executable, "-c", probe, json.dumps([argv, env, cwd, shell])],
                         stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(out.stdout)


def legacy_script(server, home, repo_url, name):
    # The legacy steps (BackupDatabase.sh + Backup.sh + GitPushDB.sh), without the sleeps,
    # the repository API calls and the datastore copy.
    framing = ""
    trailer = ""
    drop_logbin = ""
    if server.setting == "Maria":
        framing = ("echo 'SET SESSION sql_require_primary_key = 0;' > applicationDB.sql; "
                   "echo 'DROP TABLE IF EXISTS `zzzz`;' >> applicationDB.sql; ")
        trailer = ("echo 'CREATE TABLE `zzzz` ( `idxx` int(10) unsigned NOT NULL, PRIMARY KEY "
                   "(`idxx`) ) Engine=INNODB CHARSET=utf8;' >> applicationDB.sql; ")
        drop_logbin = "sed -i '/SESSION.SQL_LOG_BIN/d' applicationDB.sql; "
        dump = framing + server.legacy_dump() + " >> applicationDB.sql; " + trailer
    else:
        dump = (server.legacy_dump() + " > applicationDB.sql; "
                "echo 'CREATE TABLE public.zzzz ( idxx serial PRIMARY KEY );' >> applicationDB.sql; ")
    return (
        "set -e; cd %s; rm -rf ./* .git; " % os.path.join(home, "backups") + dump +
        "sed -i -- 's/http:\\/\\//https:\\/\\//g' applicationDB.sql; "
        "sed -i 's/%s/XXXXXXXXXX/g' applicationDB.sql; " % USER + drop_logbin +
        "sed -i 's/%s/YYYYYYYYYY/g' applicationDB.sql; " % IPMASK +
        "tar cfz %s-DB-backup.tar.gz applicationDB.sql; rm applicationDB.sql; " % name +
        "split -b 10M -d %s-DB-backup.tar.gz %s-db-; " % (name, name) +
        "git init -q; mkdir -p daily; mv *%s-db* daily/; " % name +
        "git add .; git -c user.name=a -c user.email=b commit -q -m 'Automated Backup'; "
        "git push -q -u -f %s master" % repo_url)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--adt", default=os.path.join(ROOT, "target", "release", "adt"))
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--phases", action="store_true", help="one more run of ours with adt's phase times (RUST_LOG=debug)")
    a = ap.parse_args()
    if not os.access(a.adt, os.X_OK):
        sh(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    work = tempfile.mkdtemp(prefix="adt-bench-db-")
    os.chmod(work, 0o711)  # PostgreSQL runs as its own user below it
    try:
        dbdir = os.path.join(work, "db")
        os.mkdir(dbdir)
        server = Postgres(dbdir) if a.postgres else Maria(dbdir)
        t = time.perf_counter()
        server.fill(a.rows)
        print("engine %s, %d rows in 4 tables (filled in %.1f s)"
              % (server.setting, a.rows, time.perf_counter() - t))

        # The database machine, our side: HOME with settings, the local datastore, launchers.
        home = os.path.join(work, "home")
        os.makedirs(os.path.join(home, ".ssh"))
        os.makedirs(os.path.join(home, "backups"))
        gitroot = os.path.join(work, "git")
        os.makedirs(gitroot)
        with open(os.path.join(home, ".ssh", "database_configuration_settings.dat"), "w") as f:
            f.write("WEBSITEURL:%s\nDBPORT:%d\nDATABASEINSTALLATIONTYPE:%s\nMYIP:127.0.0.1\n"
                    "IPMASK:%s\nAPPLICATIONREPOSITORYPROVIDER:local\nAPPLICATIONREPOSITORYOWNER:%s\n"
                    "SUPERSAFEDB:0\nBUILDIDENTIFIER:acme1\nSERVERUSER:X1234X\n"
                    % (URL, server.port, server.setting, IPMASK, gitroot))
        store = os.path.join(work, "store", "wwwexacom-config")
        os.makedirs(os.path.join(store, "credentials"))
        with open(os.path.join(store, "credentials", "shit"), "w") as f:
            f.write("%s\n%s\n%s\n" % (DB, PASSWORD, USER))
        open(os.path.join(store, "INSTALLEDSUCCESSFULLY"), "w").close()
        homedir = os.path.join(work, "homedir.dat")
        with open(homedir, "w") as f:
            f.write(home + "\n")
        sh([a.adt, "layout", "install", "--home", home, "--machine", "database", "Backup"],
           stdout=subprocess.DEVNULL)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": homedir,
               "ADT_DATASTORE": "local:" + os.path.join(work, "store"),
               "ADT_TMP": os.path.join(work, "tmp")}
        os.makedirs(env["ADT_TMP"])
        ours = [os.path.join(home, "providerscripts/git/Backup.sh"), "DAILY", "acme1"]

        # The legacy approach: its own HOME and repository.
        lhome = os.path.join(work, "legacy")
        os.makedirs(os.path.join(lhome, "backups"))
        lrepo = os.path.join(work, "legacy-remote.git")
        sh(["git", "init", "-q", "--bare", lrepo])
        # Configured as the local provider configures ours (src/git/local.rs): pushes kept as
        # packs, as the hosting services keep them.
        sh(["git", "--git-dir", lrepo, "config", "receive.unpackLimit", "1"])
        legacy = legacy_script(server, lhome, "file://" + lrepo, "example")

        # The dump tool alone on the same data (to /dev/null): the floor of any approach
        # that dumps with it.
        alone = measure(["/bin/sh", "-c", server.legacy_dump() + " > /dev/null"],
                        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": lhome})
        rows = []
        for r in range(a.rounds):
            if r > 0:
                # A small change between rounds (1% of one table).
                server.admin("UPDATE wp_t1 SET title = 'changed %d' WHERE id %% 25 = 0;" % r)
            o = measure(ours, env=env)
            l = measure(["/bin/sh", "-c", legacy], env={"PATH": "/usr/local/bin:/usr/bin:/bin",
                                                        "HOME": lhome})
            rows.append((r, o, l))
        if a.phases:
            p = subprocess.run(ours, env=dict(env, RUST_LOG="debug"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
            for l in p.stderr.splitlines():
                if "db backup:" in l:
                    print("  [ours] " + l.split("] ", 1)[-1])
        sizes = (os.path.getsize(os.path.join(home, "backups", "example-DB-backup.tar.gz")),
                 os.path.getsize(os.path.join(lhome, "backups", "example-DB-backup.tar.gz")))
        print("archive: ours %.1f MB, legacy %.1f MB" % (sizes[0] / 1e6, sizes[1] / 1e6))
        print("%-6s %10s %10s %8s | %14s %14s | %16s %16s" % (
            "round", "ours s", "legacy s", "ratio", "ours RSS MiB", "legacy RSS MiB",
            "ours tree MiB", "legacy tree MiB"))
        for r, o, l in rows:
            print("%-6d %10.2f %10.2f %8.2f | %14.1f %14s | %16.1f %16.1f" % (
                r + 1, o[0], l[0], l[0] / o[0], o[1] / 1024, "(sh) %.1f" % (l[1] / 1024),
                o[2] / 1024, l[2] / 1024))
        print("the dump tool alone to /dev/null: %.2f s (legacy / dump alone: %.2f)"
              % (alone[0], sum(l[0] for _, _, l in rows) / len(rows) / alone[0]))
        print("RSS: 'ours' is the adt process itself (VmHWM); 'tree' is the largest process of "
              "the run (getrusage children: mariadb-dump/pg_dump, sed, tar, git).")
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
