#!/usr/bin/env python3
"""Benchmark: start-up and size of two adt binaries side by side (say, this checkout's and the
previous commit's), in one run: `adt --version`, and `ExtractConfigValue.sh KEY` through a
launcher at its legacy path (a real settings read, as cron calls it).

The two binaries run in turn, A B A B …, so a drift in the machine's speed hits both alike.
Prints medians in ms, the ratio B/A, and each binary's size. Timings are reported, never
asserted. Usage:
  bench/startup.py [-n RUNS] [--base PATH-OR-COMMIT] [--new PATH]
--base is a binary, or a commit to build into target/bench-base (default: HEAD~1).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

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


def home_for(work, name, adt):
    """A webserver home with the ExtractConfigValue launcher pointing at `adt`."""
    home = os.path.join(work, name, "home", "X1234X")
    os.makedirs(os.path.join(home, ".ssh"))
    with open(os.path.join(home, ".ssh", "webserver_configuration_settings.dat"), "w") as f:
        f.write("WEBSITEURL:www.example.com\nSSHPORT:1035\nBUILDOS:ubuntu:24.04\n")
    hd = os.path.join(work, name, "homedir.dat")
    with open(hd, "w") as f:
        f.write(home + "\n")
    subprocess.check_call([adt, "layout", "install", "--home", home, "--machine", "webserver",
                           "--bin", adt, "ExtractConfigValue"], stdout=subprocess.DEVNULL)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": hd}
    return os.path.join(home, "providerscripts", "utilities", "ExtractConfigValue.sh"), env


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
        cases = {}
        for label, b in bins.items():
            script, env = home_for(work, label, b)
            cases[label] = {"--version": ([b, "--version"], {"PATH": "/usr/bin:/bin"}),
                            "ExtractConfigValue.sh KEY": ([script, "BUILDOS"], env)}
        print(f"runs: {a.n} each, alternating base/new")
        print(f"{'command':28} {'base ms':>9} {'new ms':>9} {'new/base':>9}")
        for cmd in ["--version", "ExtractConfigValue.sh KEY"]:
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
            if cmd != "--version" and outs["base"] != outs["new"]:
                sys.exit(f"{cmd}: outputs differ: {outs}")
            mb, mn = (statistics.median(times[k]) * 1000 for k in ("base", "new"))
            print(f"{cmd:28} {mb:9.2f} {mn:9.2f} {mn / mb:9.2f}")
        for label, b in bins.items():
            print(f"size {label}: {os.path.getsize(b)} bytes ({os.path.getsize(b) / 1e6:.2f} MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
