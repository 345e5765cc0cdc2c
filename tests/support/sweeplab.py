#!/usr/bin/env python3
"""A lab of webservers for the health sweep, inside one network namespace: every 127.0.0.0/8
and 198.51.100.0/24 (TEST-NET-2, the stand-in cloud's public addresses) address is a "server" answered by one real sshd (port 2222, key auth) and one real HTTPS
server (port 443, self-signed). Dead servers are DROPped by iptables; a "notready" server's SSH
runs /bin/false (sshd Match LocalAddress); an "http500" server answers 500.

  sweeplab.py up NS DIR [--dead A,B] [--notready C] [--http500 D]
  sweeplab.py down NS DIR
Used by tests/health.rs and bench/health.py. Everything stays inside the namespace.
"""
import os, signal, subprocess, sys, time

HTTPS = r'''
import http.server, ssl, sys
bad = set(sys.argv[3].split(",")) if len(sys.argv) > 3 and sys.argv[3] else set()
class H(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(500 if self.connection.getsockname()[0] in bad else 200)
        self.end_headers()
    do_GET = do_HEAD
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # One process plays every server: a listen queue as long as 300 servers' together
    # (socketserver's default of 5 drops SYNs in a burst, and each retry costs a second).
    request_queue_size = 4096
s = S(("0.0.0.0", 443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
s.serve_forever()
'''


def run(*a):
    subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def up(ns, d, dead, notready, http500):
    os.makedirs(d, exist_ok=True)
    run("ip", "netns", "add", ns)
    run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", ns, "route", "add", "local", "198.51.100.0/24", "dev", "lo")
    for k in ("key", "hostkey"):
        if not os.path.exists(f"{d}/{k}"):
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/{k}")
    os.chmod(f"{d}/key", 0o600)
    with open(f"{d}/authorized_keys", "w") as f:
        f.write(open(f"{d}/key.pub").read())
    os.makedirs("/run/sshd", exist_ok=True)
    cfg = (f"Port 2222\nListenAddress 0.0.0.0\nHostKey {d}/hostkey\nAuthorizedKeysFile {d}/authorized_keys\n"
           f"PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
           f"UsePAM no\nUseDNS no\nStrictModes no\nPidFile {d}/sshd.pid\nMaxStartups 200:30:400\nMaxSessions 200\n")
    for ip in notready:
        cfg += f"Match LocalAddress {ip}\n  ForceCommand /bin/false\n"
    open(f"{d}/sshd_config", "w").write(cfg)
    # sshd runs remote commands through root's shell, which reads root's rc files (on build
    # images they may start pyenv and the like): the lab's sshd sees empty ones, in a mount
    # namespace of its own (ip netns exec gives every command one).
    rc = [f for f in ("/root/.bashrc", "/root/.profile", "/root/.bash_profile") if os.path.exists(f)]
    binds = "; ".join(f"mount --bind /dev/null {f}" for f in rc)
    run("ip", "netns", "exec", ns, "sh", "-c", f"{binds + '; ' if binds else ''}exec /usr/sbin/sshd -f {d}/sshd_config")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/tls.key",
        "-out", f"{d}/tls.crt", "-days", "1", "-subj", "/CN=adt-sweep-lab")
    open(f"{d}/https.py", "w").write(HTTPS)
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, f"{d}/https.py", f"{d}/tls.crt", f"{d}/tls.key",
                          ",".join(http500)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    open(f"{d}/https.pid", "w").write(str(p.pid))
    for ip in dead:
        run("ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-d", ip, "-j", "DROP")
    for _ in range(100):
        r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                            "https://127.0.0.1/"], capture_output=True, text=True)
        if r.stdout == "200" and os.path.exists(f"{d}/sshd.pid"):
            return
        time.sleep(0.05)
    sys.exit("sweep lab did not come up")


def down(ns, d):
    for pidfile in ("sshd.pid", "https.pid"):
        try:
            pid = int(open(f"{d}/{pidfile}").read())
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
    subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    for pid in r.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def opt(name):
    if name in sys.argv:
        v = sys.argv[sys.argv.index(name) + 1]
        return [x for x in v.split(",") if x]
    return []


if __name__ == "__main__":
    cmd, ns, d = sys.argv[1:4]
    if cmd == "up":
        up(ns, d, opt("--dead"), opt("--notready"), opt("--http500"))
    else:
        down(ns, d)
