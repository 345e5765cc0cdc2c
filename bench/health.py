#!/usr/bin/env python3
"""Benchmark: a health sweep over N local webservers of which D are dead (dropped), ours
(concurrent, one timeout per check) versus the legacy DeadOrAlive timing model (sequential; an
unreachable server costs ssh's ConnectTimeout=10 x ConnectionAttempts=3 = 30 s). Servers are
127.0.x.y addresses inside a network namespace (tests/support/sweeplab.py). Needs root, sshd.
Usage: bench/health.py [-n 100] [-d 10] [--timeout 3] [--parallel 16]
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, "tests", "support", "sweeplab.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-d", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=3)
    ap.add_argument("--parallel", type=int, default=16)
    a = ap.parse_args()
    adt = os.path.join(ROOT, "target", "release", "adt")
    if not os.path.exists(adt):
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    ips = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(a.n)]
    dead = ips[:: max(1, a.n // a.d)][: a.d]
    ns = f"adthbench{os.getpid()}"
    work = tempfile.mkdtemp(prefix="adt-hbench-")
    try:
        subprocess.check_call([sys.executable, LAB, "up", ns, f"{work}/lab", "--dead", ",".join(dead)])
        home = f"{work}/home"
        os.makedirs(f"{home}/.ssh")
        os.makedirs(f"{home}/runtime")
        open(f"{home}/runtime/WEBSERVER_READY", "w").close()
        shutil.copy(f"{work}/lab/key", f"{home}/.ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY")
        os.chmod(f"{home}/.ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY", 0o600)
        open(f"{home}/.ssh/autoscaler_configuration_settings.dat", "w").write(
            "WEBSITEURL:www.example.com\nSSHPORT:2222\nSERVERUSER:root\nALGORITHM:ed25519\n")
        open(f"{work}/homedir.dat", "w").write(home + "\n")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ADT_HOMEDIR_FILE": f"{work}/homedir.dat", "HOME": home}
        base = ["ip", "netns", "exec", ns, adt, "--adt-machine=autoscaler", "health-sweep", "--timeout", str(a.timeout),
                "--parallel", str(a.parallel)]
        t = time.perf_counter()
        out = subprocess.run(base + ips, env=env, capture_output=True, text=True).stdout
        ours = time.perf_counter() - t
        alive = out.count(" alive\n") - out.count("not alive\n")
        # One alive server's cost, sequentially (what legacy pays per healthy server, minus its
        # ping phase and sleeps).
        t = time.perf_counter()
        for ip in ips[1:6]:
            subprocess.run(base + [ip], env=env, capture_output=True)
        one_alive = (time.perf_counter() - t) / 5
        legacy = (a.n - a.d) * one_alive + a.d * 30.0
        print(f"health sweep: {a.n} servers, {a.d} dead (dropped), check timeout {a.timeout:g} s, {a.parallel} at a time")
        print(f"ours:   {ours:6.2f} s wall ({ours / a.timeout:.1f} x one check's timeout); {alive} alive, {a.n - alive} not")
        print(f"legacy: {legacy:6.0f} s model = {a.n - a.d} x {one_alive:.2f} s (healthy, sequential) + {a.d} x 30 s "
              f"(ssh ConnectTimeout 10 x 3 attempts); ratio {legacy / ours:.0f}x")
    finally:
        subprocess.run([sys.executable, LAB, "down", ns, f"{work}/lab"])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
