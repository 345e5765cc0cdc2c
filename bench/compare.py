#!/usr/bin/env python3
"""Benchmark: start-up and size of two adt binaries side by side (say, this checkout's and the
previous commit's), in one run: `adt --version`, `ExtractConfigValue.sh KEY` through a
launcher at its legacy path (a real settings read, as cron calls it), and the datastore
wrappers Put, Get, List and Check through their launchers against one local s3s-fs.

The two binaries run in turn, A B A B …, so a drift in the machine's speed hits both alike.
Prints medians in ms, the ratio B/A, and each binary's size. Timings are reported, never
asserted. Usage:
  bench/compare.py [-n RUNS] [--base PATH-OR-COMMIT] [--new PATH]
--base is a binary, or a commit to build into target/bench-base (default: HEAD~1).
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_commit(commit):
    """Build `commit`'s release binary in a temporary worktree; return the binary's path."""
    out = os.path.join(ROOT, "target", "bench-base", "adt")
    wt = tempfile.mkdtemp(prefix="adt-bench-base-")
    subprocess.check_call(["git", "worktree", "add", "--detach", wt, commit], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=wt,
                              env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target", "bench-base-build")))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, "target", "bench-base-build", "release", "adt"), out)
    finally:
        subprocess.call(["git", "worktree", "remove", "--force", wt], cwd=ROOT,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


AK, SK = "AKBENCH", "SKbenchSecret0123456789"


def start_s3(work):
    """s3s-fs on a free port of 127.0.0.1 with the config bucket; (process, port)."""
    s3s = shutil.which("s3s-fs") or os.path.expanduser("~/.cargo/bin/s3s-fs")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    os.makedirs(os.path.join(work, "s3", "wwwexacom-config", "webserverips"))
    for i in range(3):
        open(os.path.join(work, "s3", "wwwexacom-config", "webserverips", f"10.0.0.{i}"), "w").close()
    p = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", AK,
                          "--secret-key", SK, os.path.join(work, "s3")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    return p, port


def home_for(work, name, adt, port):
    """A webserver home with launchers pointing at `adt`, talking to s3s-fs on `port`."""
    home = os.path.join(work, name, "home", "X1234X")
    os.makedirs(os.path.join(home, ".ssh"))
    with open(os.path.join(home, ".ssh", "webserver_configuration_settings.dat"), "w") as f:
        f.write("WEBSITEURL:www.example.com\nSSHPORT:1035\nBUILDOS:ubuntu:24.04\n")
    hd = os.path.join(work, name, "homedir.dat")
    with open(hd, "w") as f:
        f.write(home + "\n")
    with open(os.path.join(home, ".s3cfg"), "w") as f:
        f.write(f"[default]\naccess_key = {AK}\nsecret_key = {SK}\nhost_base = 127.0.0.1:{port}\n"
                f"host_bucket = 127.0.0.1:{port}\nuse_https = False\nbucket_location = us-east-1\n")
    subprocess.check_call([adt, "layout", "install", "--home", home, "--machine", "webserver",
                           "--bin", adt], stdout=subprocess.DEVNULL)
    tmp = os.path.join(work, name, "tmp")
    os.makedirs(tmp)
    with open(os.path.join(tmp, "file.txt"), "w") as f:
        f.write("bench\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": hd, "ADT_TMP": tmp}
    return home, env


def once(argv, env):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - t, p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="runs of each command and binary")
    ap.add_argument("--base", default="HEAD~1")
    ap.add_argument("--new", default=os.path.join(ROOT, "target", "release", "adt"))
    a = ap.parse_args()
    if not os.path.exists(a.new):
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    base = a.base if os.path.isfile(a.base) else build_commit(a.base)
    work = tempfile.mkdtemp(prefix="adt-bench-startup-")
    try:
        bins = {"base": base, "new": a.new}
        s3, port = start_s3(work)
        cases = {}
        cw = os.path.join("providerscripts", "datastore", "configwrapper")
        for label, b in bins.items():
            home, env = home_for(work, label, b, port)
            j = lambda *p: os.path.join(home, *p)
            cases[label] = {
                "--version": ([b, "--version"], {"PATH": "/usr/bin:/bin"}),
                "ExtractConfigValue.sh KEY": ([j("providerscripts", "utilities", "ExtractConfigValue.sh"), "BUILDOS"], env),
                "Put": ([j(cw, "PutToConfigDatastore.sh"), os.path.join(env["ADT_TMP"], "file.txt"), f"bench/{label}.txt"], env),
                "Get": ([j(cw, "GetFromConfigDatastore.sh"), f"bench/{label}.txt"], env),
                "List": ([j(cw, "ListFromConfigDatastore.sh"), "webserverips/*"], env),
                "Check": ([j(cw, "CheckConfigDatastore.sh"), "webserverips/"], env),
            }
        print(f"runs: {a.n} each, alternating base/new")
        print(f"{'command':28} {'base ms':>9} {'new ms':>9} {'new/base':>9}")
        for cmd in ["--version", "ExtractConfigValue.sh KEY", "Put", "Get", "List", "Check"]:
            times = {"base": [], "new": []}
            outs = {}
            for _ in range(3):  # warm-up
                for label in bins:
                    once(*cases[label][cmd])
            for _ in range(a.n):
                for label in bins:
                    t, rc, out = once(*cases[label][cmd])
                    if rc != 0:
                        sys.exit(f"{label} {cmd}: exit {rc}")
                    times[label].append(t)
                    outs[label] = out
            if cmd in ("ExtractConfigValue.sh KEY", "List", "Check") and outs["base"] != outs["new"]:
                sys.exit(f"{cmd}: outputs differ: {outs}")
            mb, mn = (statistics.median(times[k]) * 1000 for k in ("base", "new"))
            print(f"{cmd:28} {mb:9.2f} {mn:9.2f} {mn / mb:9.2f}")
        for label, b in bins.items():
            print(f"size {label}: {os.path.getsize(b)} bytes ({os.path.getsize(b) / 1e6:.2f} MB)")
        s3.terminate()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
