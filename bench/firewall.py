#!/usr/bin/env python3
"""Benchmark: a firewall reconcile for a 50-webserver fleet on a database machine, first run
versus a run with nothing to change, with iptables, with ufw as one transaction (the default)
and with ufw one command per rule (ADT_UFW_APPLY=commands), side by side in one run, inside a
network namespace (rules never touch this host). Reports wall time and firewall-tool invocations, and the legacy
SetupFirewall.sh's timing model (its fixed sleeps plus one `ufw status` per check, measured
here). Needs root, iproute2, iptables, ufw; uses the local datastore backend.
Usage: bench/firewall.py [-n WEBSERVERS]
"""
import argparse, os, re, shutil, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(*a, **k):
    return subprocess.run(a, check=True, capture_output=True, text=True, **k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50)
    a = ap.parse_args()
    adt = os.path.join(ROOT, "target", "release", "adt")
    if not os.path.exists(adt):
        subprocess.check_call(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    ns = f"adtbench{os.getpid()}"
    work = tempfile.mkdtemp(prefix="adt-fwbench-")
    etc = f"/etc/netns/{ns}"
    try:
        sh("ip", "netns", "add", ns)
        os.makedirs(etc)

        def pristine_ufw():
            subprocess.run(["ip", "netns", "exec", ns, "ufw", "--force", "disable"], capture_output=True)
            shutil.rmtree(f"{etc}/ufw", ignore_errors=True)
            shutil.rmtree(f"{etc}/default", ignore_errors=True)
            sh("cp", "-a", "/etc/ufw", f"{etc}/ufw")
            sh("cp", "-a", "/etc/default", f"{etc}/default")
            with open(f"{etc}/ufw/ufw.conf", "w") as f:
                f.write("ENABLED=no\nLOGLEVEL=low\n")
            for rules in ("user.rules", "user6.rules"):
                p = f"{etc}/ufw/{rules}"
                keep = [l for l in open(p) if not l.startswith("### tuple") and not (l.startswith("-A ufw") and "-user-input" in l)]
                open(p, "w").writelines(keep)

        pristine_ufw()
        home = f"{work}/home/X1234X"
        os.makedirs(f"{home}/.ssh")
        os.makedirs(f"{home}/.adt-rs")
        os.makedirs(f"{work}/store/wwwexacom-config")
        open(f"{work}/homedir.dat", "w").write(home + "\n")
        open(f"{home}/.ssh/database_configuration_settings.dat", "w").write(
            "WEBSITEURL:www.example.com\nSSHPORT:1035\nDBPORT:2035\nBUILDCLIENTIP:192.0.2.10\nPRODUCTION:1\n")
        open(f"{home}/.adt-rs/datastore", "w").write(f"backend = local\nroot = {work}/store\n")
        b = f"{work}/store/wwwexacom-config"
        ips = {"webserverips": [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(a.n)],
               "webserverpublicips": [f"203.0.{i // 250}.{i % 250 + 1}" for i in range(a.n)],
               "autoscalerip": ["10.2.0.1", "10.2.0.2"], "autoscalerpublicip": ["198.51.100.1", "198.51.100.2"],
               "databaseip": ["10.3.0.1"], "databasepublicip": ["198.51.100.9"]}
        for prefix, lst in ips.items():
            os.makedirs(f"{b}/{prefix}", exist_ok=True)
            for ip in lst:
                open(f"{b}/{prefix}/{ip}", "w").close()
        env = {"PATH": "/usr/bin:/bin", "ADT_HOMEDIR_FILE": f"{work}/homedir.dat", "HOME": home}
        log = f"{home}/logs/firewall/FIREWALL_CONFIGURATION.log"
        n_ips = sum(len(v) for v in ips.values()) + 1
        print(f"firewall reconcile benchmark: database machine, {a.n} webservers, {n_ips} IPs")
        print(f"{'tool':14} {'run':10} {'wall':>9} {'tool calls':>11} {'rules':>6}")
        for label, tool, extra in (("iptables", "iptables", {}), ("ufw", "ufw", {}),
                                   ("ufw per rule", "ufw", {"ADT_UFW_APPLY": "commands"})):
            if label == "ufw per rule":
                pristine_ufw()
                os.remove(f"{home}/runtime/adt-firewall-lists")
            for run in ("first", "unchanged"):
                t = time.perf_counter()
                sh("ip", "netns", "exec", ns, adt, "--adt-machine=database", "SetupFirewall", "--tool", tool,
                   env=dict(env, **extra))
                dt = time.perf_counter() - t
                text = open(log).read()
                calls = re.search(r"invocations: (\d+)", text).group(1)
                if tool == "iptables":
                    rules = len(sh("ip", "netns", "exec", ns, "iptables", "-S", "ADT-FIREWALL").stdout.splitlines()) - 1
                else:
                    rules = len([l for l in open(f"{etc}/ufw/user.rules") if l.startswith("### tuple")])
                print(f"{label:14} {run:10} {dt:8.2f}s {calls:>11} {rules:>6}")
            if tool == "iptables":
                sh("ip", "netns", "exec", ns, "iptables", "-F")
                sh("ip", "netns", "exec", ns, "iptables", "-P", "INPUT", "ACCEPT")
        # The legacy DB SetupFirewall.sh, nothing to change: per IP a 2 s sleep and two
        # `ufw status | grep` checks (SSH, DB), plus 5 s of fixed sleeps.
        t = time.perf_counter()
        for _ in range(5):
            sh("ip", "netns", "exec", ns, "ufw", "status")
        status = (time.perf_counter() - t) / 5
        legacy = (n_ips - 1) * (2 + 2 * status) + 5 + status
        print(f"legacy model (unchanged run): {legacy:.0f}s = {n_ips - 1} IPs x (2 s sleep + 2 x ufw status {status:.2f}s) + 5 s; "
              f"ufw calls {2 * (n_ips - 1) + 1}")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(etc, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
