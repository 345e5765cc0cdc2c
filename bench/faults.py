#!/usr/bin/env python3
"""Fault figures: how long a datastore call takes to give up against a misbehaving endpoint
(tests/support/badstore.py on 127.0.0.1), how many connections it opens, and what it says.

Usage: bench/faults.py [--cap SECS] [--only NAME,...] BINARY [BINARY ...]

Each BINARY is an `adt` build (for example the current one and an older one kept for
comparison). Every scenario runs with the default knobs (ADT_S3_ATTEMPTS, ADT_S3_DEADLINE, ...
unset) as a database machine, in its own HOME, all scenarios of one binary at once. A call still
running after --cap seconds (default 600) is killed and reported as such. Timings are reported,
never asserted.
"""
import argparse, os, shutil, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BADSTORE = os.path.join(ROOT, "tests", "support", "badstore.py")

# name, badstore mode and arguments (None: a closed port), command, arguments
SCENARIOS = [
    ("closed port", None, "GetFromConfigDatastore", ["scalingprofile/profile.cnf"]),
    ("reset at once (store down)", ["reset"], "GetFromConfigDatastore", ["scalingprofile/profile.cnf"]),
    ("accepts, never answers", ["blackhole"], "GetFromConfigDatastore", ["scalingprofile/profile.cnf"]),
    ("accepts, never answers", ["blackhole"], "ListFromConfigDatastore", ["webserverips/*"]),
    ("accepts, never answers", ["blackhole"], "CheckConfigDatastore", ["INSTALLEDSUCCESSFULLY"]),
    ("accepts, never answers", ["blackhole"], "PutToConfigDatastore", ["MARKER"]),
    ("a byte every 5 s", ["trickle", "--size", "1000", "--interval", "5"], "GetFromConfigDatastore", ["scalingprofile/profile.cnf"]),
    ("a byte every 5 s", ["trickle", "--size", "1000", "--interval", "5"], "ListFromConfigDatastore", ["webserverips/*"]),
    ("body cut in the middle", ["cut", "--size", "200000"], "GetFromConfigDatastore", ["blobs/big.bin"]),
    ("503 twice, then fine", ["flaky", "--fail", "2"], "GetFromConfigDatastore", ["blobs/b.bin"]),
]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(binary, scenario, cap):
    name, mode, command, args = scenario
    d = tempfile.mkdtemp(prefix="adt-faults-")
    home = os.path.join(d, "home")
    os.makedirs(os.path.join(home, ".ssh"))
    os.makedirs(os.path.join(d, "tmp"))
    with open(os.path.join(home, ".ssh", "database_configuration_settings.dat"), "w") as f:
        f.write("WEBSITEURL:www.example.com\nSERVERUSER:X1234X\n")
    with open(os.path.join(d, "homedir.dat"), "w") as f:
        f.write(home + "\n")
    log = os.path.join(d, "events")
    server = None
    if mode is None:
        port = free_port()
    else:
        server = subprocess.Popen(
            [sys.executable, BADSTORE] + mode + ["--log", log],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = int(server.stdout.readline())
    with open(os.path.join(home, ".s3cfg"), "w") as f:
        f.write("[default]\naccess_key = AK\nsecret_key = SK\nhost_base = 127.0.0.1:%d\n"
                "host_bucket = 127.0.0.1:%d\nuse_https = False\n" % (port, port))
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "ADT_TMP": os.path.join(d, "tmp"),
           "ADT_HOMEDIR_FILE": os.path.join(d, "homedir.dat")}
    t = time.monotonic()
    p = subprocess.Popen([binary, "--adt-machine=database", "--adt-generation=2022", command] + args,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=cap)
        took, killed = time.monotonic() - t, False
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        took, killed = time.monotonic() - t, True
    conns = "-"
    if server:
        time.sleep(0.2)
        server.kill()
        server.wait()
        try:
            conns = str(sum(1 for l in open(log) if l.startswith("conn")))
        except FileNotFoundError:
            conns = "0"
    shutil.rmtree(d, ignore_errors=True)
    return {
        "took": ("> %.0f s (killed)" % took) if killed else ("%.1f s" % took),
        "status": "-" if killed else str(p.returncode),
        "conns": conns,
        "stderr": err.strip().splitlines()[-1] if err.strip() else "",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=float, default=600)
    ap.add_argument("--only", default="")
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    scenarios = [s for s in SCENARIOS if not a.only or any(o in s[0] or o == s[2] for o in a.only.split(","))]
    for b in a.binaries:
        results = [None] * len(scenarios)

        def work(i):
            results[i] = run(b, scenarios[i], a.cap)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(scenarios))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        print("## %s\n" % b)
        print("| fault | command | gave up after | status | connections | last stderr line |")
        print("|---|---|---|---|---|---|")
        for s, r in zip(scenarios, results):
            print("| %s | %s | %s | %s | %s | %s |" % (
                s[0], s[2], r["took"], r["status"], r["conns"], r["stderr"].replace("|", "\\|")))
        print()


if __name__ == "__main__":
    main()
