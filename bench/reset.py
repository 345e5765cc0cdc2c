#!/usr/bin/env python3
"""Benchmark: emptying a config bucket of N keys, the way the build machine does at each build:
our PurgeDatastore (batch deletes, 1000 keys a call) vs legacy's `s3cmd --recursive --force del`
(s3cmd 2.x also batches), on one local s3s-fs. The keys are seeded as files in s3s-fs's directory.
Timings are reported, never asserted. Usage: bench/reset.py [-n KEYS] [-r ROUNDS] [--adt BINARY]
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AK, SK = "AKBENCH", "SKbenchSecret0123456789"
BUCKET = "wwwexacom-config"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def seed(root, n):
    d = os.path.join(root, BUCKET)
    shutil.rmtree(d, ignore_errors=True)
    for i in range(n):
        p = os.path.join(d, "webrootsynctunnel", "d%02d" % (i % 50), "f%05d" % i)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").close()


def count(root):
    return sum(len(f) for _, _, f in os.walk(os.path.join(root, BUCKET)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-r", type=int, default=3)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--adt", default=next((p for p in [os.path.join(target, "release/adt"),
                                                        os.path.join(target, "debug/adt")]
                                           if os.path.exists(p)), None))
    a = ap.parse_args()
    s3s = shutil.which("s3s-fs") or os.path.expanduser("~/.cargo/bin/s3s-fs")
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "s3"); os.makedirs(root)
        home = os.path.join(tmp, "home"); os.makedirs(home)
        port = free_port()
        srv = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", AK,
                                "--secret-key", SK, root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close(); break
                except OSError:
                    time.sleep(0.05)
            cfg = os.path.join(home, ".s3cfg")
            with open(cfg, "w") as f:
                f.write(f"[default]\naccess_key = {AK}\nsecret_key = {SK}\nhost_base = 127.0.0.1:{port}\n"
                        f"host_bucket = 127.0.0.1:{port}\nuse_https = False\nbucket_location = us-east-1\n")
            subprocess.run([a.adt, "layout", "install", "--home", home, "--machine", "build", "--bin", a.adt],
                           check=True, stdout=subprocess.DEVNULL)
            homedir = os.path.join(tmp, "homedir.dat")
            open(homedir, "w").write(home + "\n")
            env = dict(PATH="/usr/bin:/bin", HOME=home, ADT_HOMEDIR_FILE=homedir)
            purge = os.path.join(home, "providerscripts/datastore/PurgeDatastore.sh")
            ways = {
                "adt PurgeDatastore (sourced)": ["/bin/sh", "-c", f"WEBSITE_URL=www.example.com DATASTORE_CHOICE=linode; . {purge}"],
                "s3cmd --recursive --force del": ["s3cmd", "-c", cfg, "--recursive", "--force", "del", f"s3://{BUCKET}"],
            }
            res = {}
            for name, argv in ways.items():
                ts = []
                for _ in range(a.r):
                    seed(root, a.n)
                    t = time.perf_counter()
                    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    ts.append(time.perf_counter() - t)
                    left = count(root)
                    if left:
                        print(f"{name}: {left} keys left!", file=sys.stderr)
                res[name] = statistics.median(ts)
            print(f"emptying {a.n} keys, median of {a.r} (s3s-fs on 127.0.0.1, {os.path.relpath(a.adt, target) if a.adt.startswith(target) else a.adt}):")
            for name, t in res.items():
                print(f"  {name:32} {t:8.2f} s")
            names = list(res)
            print(f"  ratio {res[names[1]] / res[names[0]]:.1f}x")
        finally:
            srv.kill(); srv.wait()


if __name__ == "__main__":
    main()
