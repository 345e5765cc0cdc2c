#!/usr/bin/env python3
"""Benchmark: the 2025 config-datastore wrappers through our launchers vs the legacy approach
(bash + s3cmd on the machine's .s3cfg-1, compat/reference-2025), on one local moto server (s3cmd's
recursive get needs the ETags s3s-fs leaves out of listings).

Prints per-operation medians (ms) and ratios. Timings are reported, never asserted.
Usage: bench/generation_2025.py [-n ROUNDS] [--adt BINARY]
Needs: an adt binary (default: target/release/adt, else target/debug/adt, or $CARGO_TARGET_DIR's),
moto_server, s3cmd.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = "www-example-com-config-x123"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def default_adt():
    dirs = [os.environ.get("CARGO_TARGET_DIR", ""), os.path.join(ROOT, "target")]
    for d in dirs:
        for prof in ("release", "debug"):
            p = os.path.join(d, prof, "adt")
            if d and os.access(p, os.X_OK):
                return p
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--adt", default=default_adt())
    a = ap.parse_args()
    if not a.adt or not shutil.which("moto_server") or not shutil.which("s3cmd"):
        sys.exit("needs an adt binary (--adt), moto_server and s3cmd")
    port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/{BUCKET}", method="PUT")
        urllib.request.urlopen(req, timeout=5)
        run(a, port)
    finally:
        moto.kill()
        moto.wait()


def run(a, port):
    d = tempfile.mkdtemp(prefix="adt-bench-2025-")
    home = os.path.join(d, "home", "X1234X")
    tmp = os.path.join(d, "tmp")
    rootdir = os.path.join(d, "root")
    for p in (os.path.join(home, "runtime"), tmp, rootdir):
        os.makedirs(p)
    with open(os.path.join(home, "runtime", "webserver_configuration_settings.dat"), "w") as f:
        f.write("WEBSITEURL:www.example.com\nSERVERUSER:X1234X\nS3ACCESSKEY:AK\n")
    with open(os.path.join(home, "runtime", "buildstyles.dat"), "w") as f:
        f.write("DATASTORETOOL:s3cmd\n")
    with open(os.path.join(rootdir, ".s3cfg-1"), "w") as f:
        f.write(f"[default]\naccess_key = AK\nsecret_key = SK\nhost_base = 127.0.0.1:{port}\n"
                f"host_bucket = 127.0.0.1:{port}\nuse_https = False\nbucket_location = us-east-1\n")
    homedir = os.path.join(d, "homedir.dat")
    with open(homedir, "w") as f:
        f.write(home + "\n")
    subprocess.run([a.adt, "layout", "install", "--home", home, "--bin", a.adt], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(home, "runtime", "wordpress_config.php"), "w") as f:
        f.write("x" * 2000)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": homedir, "ADT_TMP": tmp,
           "ADT_ROOT_DIR": rootdir, "REF_MACHINE": "webserver"}
    w = os.path.join(home, "providerscripts/datastore/configwrapper")
    ref = os.path.join(ROOT, "compat/reference-2025")
    dest = os.path.join(d, "dest")
    ops = {
        "Put": lambda i: ["PutToConfigDatastore.sh", f"10.0.{i // 250}.{i % 250}", "webserverips", "yes"],
        "Get": lambda i: ["GetFromConfigDatastore.sh", "wordpress_config.php", dest],
        "List": lambda i: ["ListFromConfigDatastore.sh", "webserverips/*"],
        "Check": lambda i: ["CheckConfigDatastore.sh", "webserverips"],
    }
    subprocess.run([os.path.join(ref, "PutToConfigDatastore.sh"),
                    os.path.join(home, "runtime", "wordpress_config.php"), "", "no"],
                   env=env, check=True)
    rows = []
    for name, argv in ops.items():
        med = {}
        for label, base, off in (("ours", w, 0), ("bash+s3cmd", ref, 10000)):
            times = []
            for i in range(a.n):
                cmd = argv(i + off)
                t = time.perf_counter()
                subprocess.run([os.path.join(base, cmd[0])] + cmd[1:], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append((time.perf_counter() - t) * 1000)
            med[label] = statistics.median(times)
        rows.append((name, med["ours"], med["bash+s3cmd"]))
    print(f"adt: {a.adt}; moto_server on 127.0.0.1:{port}; n={a.n}")
    print("| op | ours | bash+s3cmd (2025 model) | legacy/ours |")
    print("|---|---|---|---|")
    for name, o, l in rows:
        print(f"| {name} | {o:.1f} ms | {l:.1f} ms | {l / o:.1f}x |")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
