#!/usr/bin/env python3
"""Benchmark: the leak checker (`adt baseline check`) over a webroot-sized tree, side by side
with the nearest thing a shell script has, `grep -rnF -f PATTERNS` over the same tree with the
same secrets in plain form only (our checker also searches URL-encoded, base64, hex and
SQL/JSON-escaped forms and the generic patterns, in one pass).

The tree: FILES text files of SIZE bytes of PHP-like lines in nested directories, with a handful
of the SECRETS planted; SECRETS settings values (`KEY:value` lines). Both tools must find every
planted secret (checked); the times are reported, never asserted. Usage:
  bench/baseline_check.py [--adt PATH] [--files N] [--size BYTES] [--secrets N] [-n RUNS]
"""
import argparse, os, random, statistics, string, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adt", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "adt"))
    ap.add_argument("--files", type=int, default=4000)
    ap.add_argument("--size", type=int, default=16000)
    ap.add_argument("--secrets", type=int, default=40)
    ap.add_argument("-n", type=int, default=3)
    a = ap.parse_args()
    rnd = random.Random(7)
    word = lambda k: "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(k))
    with tempfile.TemporaryDirectory(prefix="adt-bench-check-") as t:
        secrets = [f"{word(6)}/{word(14)}" for _ in range(a.secrets)]
        settings = os.path.join(t, "settings.dat")
        with open(settings, "w") as f:
            for i, s in enumerate(secrets):
                f.write(f"SECRETKEY{i}:{s}\n")
        pats = os.path.join(t, "patterns")
        with open(pats, "w") as f:
            f.write("".join(s + "\n" for s in secrets))
        tree = os.path.join(t, "tree")
        planted = set()
        line = "<?php echo esc_html( $post->post_title ); // " + word(40) + "\n"
        for i in range(a.files):
            d = os.path.join(tree, f"d{i % 37}", f"e{i % 11}")
            os.makedirs(d, exist_ok=True)
            body = line * (a.size // len(line))
            if i % (a.files // 8) == 0:
                s = secrets[len(planted) % len(secrets)]
                planted.add(s)
                body += f"$x = '{s}';\n"
            with open(os.path.join(d, f"f{i}.php"), "w") as f:
                f.write(body)
        mb = a.files * a.size / 1e6

        def run_ours():
            o = subprocess.run([a.adt, "baseline", "check", "--no-machine", "--settings", settings, tree],
                               capture_output=True, text=True, env=dict(os.environ, HOME=t))
            assert o.returncode == 1, o.stderr
            return sum(1 for l in o.stdout.splitlines() if "(plain)" in l)

        def run_grep():
            o = subprocess.run(["grep", "-rnF", "-f", pats, tree], capture_output=True, text=True)
            assert o.returncode == 0, o.stderr
            return len(o.stdout.splitlines())

        res = {}
        for name, fn in [("adt baseline check", run_ours), ("grep -rnF -f", run_grep)]:
            times = []
            for _ in range(a.n):
                t0 = time.perf_counter()
                found = fn()
                times.append(time.perf_counter() - t0)
            assert found == len([1 for i in range(a.files) if i % (a.files // 8) == 0]), (name, found)
            res[name] = statistics.median(times)
        print(f"tree: {a.files} files, {mb:.0f} MB, {a.secrets} secrets, {len(planted)} planted; median of {a.n}")
        for name, s in res.items():
            print(f"  {name:20s} {s:7.2f} s  {mb / s:7.1f} MB/s")
        print(f"  forms searched by adt per secret: plain, url-encoded, base64 x3, hex x2, sql-escaped x3, json; plus generic patterns")


if __name__ == "__main__":
    main()
