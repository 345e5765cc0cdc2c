#!/usr/bin/env python3
"""Benchmark: health sweeps over N local webservers of which D are dead (dropped): consecutive
sweeps of ours (and, with --base, of another adt binary on the same lab, side by side in one
run), against the legacy DeadOrAlive timing model (sequential; an unreachable server costs ssh's
ConnectTimeout=10 x ConnectionAttempts=3 = 30 s). Servers are 127.0.x.y addresses inside a
network namespace (tests/support/sweeplab.py); this host plays every server. Reports each
binary's first sweep (new SSH connections) and the following ones (kept connections), as wall
time and as a multiple of one check's timeout, how many servers each sweep left unchecked (no
verdict: its time ran out before their first SSH connection was up), and every wrong verdict: a
healthy server reported down, or a dead one reported alive. Timings are reported, never asserted.
Needs root, sshd, curl.
Usage: bench/health.py [-n 100] [-d 10] [--timeout 3] [--parallel 0] [--sweeps 10]
                       [--base BINARY [--base-parallel 32]]
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, "tests", "support", "sweeplab.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("-d", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=3)
    ap.add_argument("--parallel", type=int, default=0, help="ours: servers at once (0: all, paced)")
    ap.add_argument("--sweeps", type=int, default=10)
    ap.add_argument("--base", help="another adt binary to sweep the same lab with")
    ap.add_argument("--base-parallel", type=int, default=32)
    ap.add_argument("--adt", default=os.path.join(ROOT, "target", "release", "adt"))
    a = ap.parse_args()
    if not os.path.exists(a.adt):
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    ips = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(a.n)]
    dead = set(ips[:: max(1, a.n // a.d)][: a.d]) if a.d else set()
    ns = f"adthbench{os.getpid()}"
    work = tempfile.mkdtemp(prefix="adt-hbench-")
    try:
        subprocess.check_call([sys.executable, LAB, "up", ns, f"{work}/lab", "--dead", ",".join(sorted(dead))])
        runs = [("ours", a.adt, a.parallel)]
        if a.base:
            runs.insert(0, ("base", a.base, a.base_parallel))
        results = {}
        for label, adt, parallel in runs:
            home = f"{work}/{label}/home"
            os.makedirs(f"{home}/.ssh")
            os.makedirs(f"{home}/runtime")
            open(f"{home}/runtime/WEBSERVER_READY", "w").close()
            shutil.copy(f"{work}/lab/key", f"{home}/.ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY")
            os.chmod(f"{home}/.ssh/id_ed25519_AGILE_DEPLOYMENT_BUILD_KEY", 0o600)
            open(f"{home}/.ssh/autoscaler_configuration_settings.dat", "w").write(
                "WEBSITEURL:www.example.com\nSSHPORT:2222\nSERVERUSER:root\nALGORITHM:ed25519\n")
            open(f"{work}/{label}/homedir.dat", "w").write(home + "\n")
            env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ADT_HOMEDIR_FILE": f"{work}/{label}/homedir.dat",
                   "HOME": home}
            base = ["ip", "netns", "exec", ns, adt, "--adt-machine=autoscaler", "health-sweep", "--timeout",
                    str(a.timeout), "--parallel", str(parallel)]
            walls, unchecked, false_down, false_alive = [], [], 0, 0
            for _ in range(a.sweeps):
                t = time.perf_counter()
                out = subprocess.run(base + ips, env=env, capture_output=True, text=True).stdout
                walls.append(time.perf_counter() - t)
                unchecked.append(0)
                for line in out.splitlines():
                    ip, verdict = line.split(" ", 1)
                    if verdict.startswith("unchecked"):
                        unchecked[-1] += 1
                    elif verdict == "alive" and ip in dead:
                        false_alive += 1
                    elif verdict != "alive" and ip not in dead:
                        false_down += 1
            results[label] = (parallel, walls, unchecked, false_down, false_alive, env, base)
            # Its kept connections go before the next binary's sweeps: each has the lab's sshd
            # (which plays every server) to itself.
            subprocess.run(["pkill", "-f", f"ControlPath={home}/runtime/ssh-mux/"])
            time.sleep(1)
        # One healthy server's cost, sequentially (what legacy pays per healthy server, minus
        # its ping phase and sleeps), with a new connection each time as legacy had.
        env, base = results["ours"][5], results["ours"][6]
        one = [ip for ip in ips if ip not in dead][:5]
        t = time.perf_counter()
        for ip in one:
            subprocess.run(base + [ip], env=dict(env, ADT_SSH_PERSIST_SECS="0"), capture_output=True)
        one_alive = (time.perf_counter() - t) / len(one)
        legacy = (a.n - a.d) * one_alive + a.d * 30.0
        print(f"health sweeps: {a.n} servers, {a.d} dead (dropped), check timeout {a.timeout:g} s, "
              f"{a.sweeps} sweeps each, this host playing every server")
        print(f"{'binary':6} {'parallel':>8} {'first':>8} {'then median':>12} {'all max':>8} "
              f"{'max/timeout':>12} {'unchecked per sweep':>20} {'healthy reported down':>22} {'dead reported alive':>20}")
        for label, (parallel, walls, unchecked, fd, fa, _, _) in results.items():
            rest = walls[1:] or walls
            print(f"{label:6} {parallel if parallel else 'all':>8} {walls[0]:7.2f}s {statistics.median(rest):11.2f}s "
                  f"{max(walls):7.2f}s {max(walls) / a.timeout:11.2f}x {'/'.join(map(str, unchecked)):>20} {fd:>22} {fa:>20}")
        print(f"legacy: {legacy:6.0f} s model = {a.n - a.d} x {one_alive:.2f} s (healthy, sequential) + {a.d} x 30 s "
              f"(ssh ConnectTimeout 10 x 3 attempts)")
    finally:
        subprocess.run([sys.executable, LAB, "down", ns, f"{work}/lab"])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
