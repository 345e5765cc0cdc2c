#!/usr/bin/env python3
"""Benchmark: the webroot backup, ours (cron/BackupFromCron.sh through its launcher) against the
legacy approach modelled on spec §1.5/§1.7, on the same webroot: wall time and peak RSS
(/usr/bin/time -v), for a first backup and for a second one after a 1% change.

Legacy model, per run (what WS Backup.sh + GitPushSourcecode.sh do, minus the network):
  rsync -a webroot/ -> tmp/backup; one `sed -i` per file with the five placeholder expressions
  (CustomiseBackupByApplication's scrub); tar cPzf of tmp/backup (the super-safe bundle) and a
  copy of it into the local "bucket"; rm -rf .git, git init, git add ., git commit, git push -f
  to a freshly re-created bare repository (DeleteRepository + CreateRepository); then the
  verification: git clone into tmp/check and diff -r against tmp/backup.
Ours: the same settings (SUPERSAFEWEBROOT:1, local git provider over file://, the local
datastore backend), the release binary through the installed launcher.

Timings are reported, never asserted. Usage:
  bench/backup.py [--size-mb 500] [--files 20000] [--change 0.01] [--adt BINARY]
                  [--adt-before BINARY] [--phases] [--keep]
Needs: target/release/adt (built if missing), git, rsync, sed, tar, gzip, /usr/bin/time.
"""
import argparse, os, random, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB = {"user": "appuser", "password": "S3cr3tPw", "name": "appdb", "port": "2035", "host": "10.0.0.9"}


def make_webroot(root, size_mb, files):
    """About `size_mb` MB in `files` files: a third PHP text with the DB values in it, two
    thirds binary (incompressible) as uploads are; 100 files a directory."""
    rnd = random.Random(7)
    per = size_mb * 1024 * 1024 // files
    for i in range(files):
        d = os.path.join(root, "wp-content", "uploads" if i % 3 else "plugins", f"d{i // 100:04d}")
        os.makedirs(d, exist_ok=True)
        if i % 3 == 0:
            line = f"<?php $u='{DB['user']}'; $p='{DB['password']}'; $port={DB['port']}; // {i}\n"
            with open(os.path.join(d, f"f{i}.php"), "w") as f:
                f.write(line * max(1, per // len(line)))
        else:
            with open(os.path.join(d, f"img{i}.jpg"), "wb") as f:
                f.write(rnd.randbytes(per))
    with open(os.path.join(root, "index.php"), "w") as f:
        f.write("<?php require 'wp-blog-header.php';\n")
    with open(os.path.join(root, ".htaccess"), "w") as f:
        f.write("RewriteEngine On\n")


def change(root, fraction):
    """Rewrite `fraction` of the files (every n-th), keeping their sizes."""
    paths = sorted(os.path.join(d, n) for d, _, ns in os.walk(root) for n in ns)
    step = max(1, int(1 / fraction))
    n = 0
    for p in paths[::step]:
        with open(p, "r+b") as f:
            b = bytearray(f.read())
            if b:
                b[0] = (b[0] + 1) % 256
            f.seek(0)
            f.write(b)
        n += 1
    return n


PHASES = ("mirror:", "pushed", "archive:", "safecopy:", "datastore copy done")


def timed(cmd, env=None, cwd=None, label=None):
    """Run `cmd` under /usr/bin/time -v: (wall seconds, peak RSS MB). With `label`, adt's
    phase lines (RUST_LOG=debug) are printed under it."""
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"{cmd[:3]} failed:\n{p.stderr[-2000:]}")
    if label:
        for l in p.stderr.splitlines():
            if any(k in l for k in PHASES):
                print(f"  [{label}] {l.split('] ', 1)[-1]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss / 1024


LEGACY = r"""set -e
W="$1"; T="$2"; REMOTE="$3"; BUCKET="$4"
rm -rf "$T/backup" "$T/check"; mkdir -p "$T/backup"
rsync -a "$W/" "$T/backup/"
find "$T/backup" -type f -exec sed -i -e "s/appuser/XXXUSERNAMEXXX/g" -e "s/S3cr3tPw/XXXPASSWORDXXX/g" -e "s/appdb/XXXDATABASEXXX/g" -e "s/2035/XXXDBPORTXXX/g" -e "s/10.0.0.9/XXXDBHOSTXXX/g" {} \;
tar cPzf "$T/applicationsourcecode.tar.gz" "$T/backup"
mkdir -p "$BUCKET"; [ -f "$BUCKET/applicationsourcecode.tar.gz" ] && mv "$BUCKET/applicationsourcecode.tar.gz" "$BUCKET/applicationsourcecode.tar.gz.BACKUP"
cp "$T/applicationsourcecode.tar.gz" "$BUCKET/"
rm -rf "$REMOTE"; git init -q --bare "$REMOTE"; git --git-dir "$REMOTE" config receive.unpackLimit 1
cd "$T/backup"; rm -rf .git; git init -q; git add .
git -c user.name=adt -c user.email=adt@localhost commit -qm "Automated Backup"
git push -q -f "file://$REMOTE" HEAD:master
git clone -q "file://$REMOTE" "$T/check"
diff -r -x .git "$T/check" "$T/backup" > /dev/null
rm -rf "$T/backup"
"""


def setup_ours(work, adt, webroot, tag="ours"):
    work = os.path.join(work, tag)
    os.makedirs(work)
    home = os.path.join(work, "home")
    os.makedirs(os.path.join(home, ".ssh"))
    os.makedirs(os.path.join(home, "runtime"))
    open(os.path.join(home, "runtime", "WEBSERVER_READY"), "w").close()
    with open(os.path.join(home, ".ssh", "webserver_configuration_settings.dat"), "w") as f:
        f.write("WEBSITEURL:www.example.com\nDBPORT:2035\nSERVERUSER:X1234X\nBUILDIDENTIFIER:acme1\n"
                f"APPLICATIONREPOSITORYPROVIDER:local\nAPPLICATIONREPOSITORYOWNER:{work}/git-ours\n"
                "SUPERSAFEWEBROOT:1\nDATABASEINSTALLATIONTYPE:MySQL\n")
    store = os.path.join(work, "store")
    cfg = os.path.join(store, "wwwexacom-config")
    os.makedirs(os.path.join(cfg, "credentials"))
    os.makedirs(os.path.join(cfg, "databaseip"))
    with open(os.path.join(cfg, "credentials", "shit"), "w") as f:
        f.write(f"{DB['name']}\n{DB['password']}\n{DB['user']}\n")
    open(os.path.join(cfg, "databaseip", DB["host"]), "w").close()
    homedir = os.path.join(work, "homedir.dat")
    with open(homedir, "w") as f:
        f.write(home + "\n")
    subprocess.check_call([adt, "layout", "install", "--home", home, "--machine", "webserver"],
                          stdout=subprocess.DEVNULL)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": homedir,
           "ADT_TMP": os.path.join(work, "tmp-ours"), "ADT_WEBROOT": webroot,
           "ADT_DATASTORE": f"local:{store}", "ADT_BACKUP_JITTER_SECS": "0"}
    os.makedirs(env["ADT_TMP"])
    return home, env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--adt", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "adt"))
    ap.add_argument("--adt-before", help="a second adt binary (an earlier build), timed beside --adt on the same webroot")
    ap.add_argument("--skip-legacy", action="store_true", help="time adt only (the legacy column shows 0)")
    ap.add_argument("--phases", action="store_true", help="print adt's phase times (RUST_LOG=debug)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.adt):
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    work = tempfile.mkdtemp(prefix="adt-bench-backup-")
    try:
        webroot = os.path.join(work, "www", "html")
        t = time.monotonic()
        make_webroot(webroot, a.size_mb, a.files)
        du = subprocess.run(["du", "-sm", webroot], capture_output=True, text=True).stdout.split()[0]
        print(f"webroot: {a.files} files, {du} MB (made in {time.monotonic() - t:.0f} s)")
        variants = [("ours", a.adt)] + ([("before", a.adt_before)] if a.adt_before else [])
        setups = []
        for tag, binary in variants:
            home, env = setup_ours(work, binary, webroot, tag)
            if a.phases:
                env["RUST_LOG"] = "debug"
            setups.append((tag, ["/bin/sh", os.path.join(home, "cron", "BackupFromCron.sh"), "DAILY", "acme1"], env))
        legacy_sh = os.path.join(work, "legacy.sh")
        with open(legacy_sh, "w") as f:
            f.write(LEGACY)
        tmp_legacy = os.path.join(work, "tmp-legacy")
        os.makedirs(tmp_legacy)
        legacy = ["bash", legacy_sh, webroot, tmp_legacy, os.path.join(work, "git-legacy", "r.git"),
                  os.path.join(work, "bucket-legacy")]
        def run_all():
            out = [(float("nan"), 0.0) if a.skip_legacy else timed(legacy)]
            for tag, cmd, env in setups:
                subprocess.run(["sync"])
                # The webroot read once before each run, so no variant pays for the page cache
                # the one before it (legacy's copies) pushed the webroot out of.
                subprocess.run(["sh", "-c", 'find "$1" -type f -exec cat {} + > /dev/null', "sh", webroot])
                out.append(timed(cmd, env=env, label=tag if a.phases else None))
            return out
        rows = []
        subprocess.run(["sync"])
        rows.append(("first", run_all()))
        n = change(webroot, a.change)
        subprocess.run(["sync"])
        rows.append((f"after {n} files changed", run_all()))
        head = f"{'backup':<28}{'legacy s':>10}"
        for tag, _, _ in setups:
            head += f"{tag + ' s':>10}{'speed-up':>10}"
        head += f"{'legacy RSS MB':>15}" + "".join(f"{tag + ' RSS MB':>15}" for tag, _, _ in setups)
        print(head)
        for name, res in rows:
            lw, lr = res[0]
            line = f"{name:<28}{lw:>10.1f}"
            for ow, _ in res[1:]:
                line += f"{ow:>10.1f}{lw / ow:>9.1f}x"
            line += f"{lr:>15.0f}" + "".join(f"{orss:>15.0f}" for _, orss in res[1:])
            print(line)
        for i, (tag, _, _) in enumerate(setups):
            first, second = rows[0][1][i + 1][0], rows[1][1][i + 1][0]
            print(f"{tag}, first / incremental: {first / second:.1f}x")
    finally:
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
