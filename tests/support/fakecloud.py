#!/usr/bin/env python3
"""A stand-in for a cloud host's CLI (doctl, exo, linode-cli, vultr), installed under those names
on PATH by the tests. It appends every command line to $FAKECLOUD_DIR/calls.log (arguments in
[brackets]), keeps its servers in $FAKECLOUD_DIR/state.json and answers list/create/delete in
the JSON shape of the real CLI. New servers get public 127.0.0.<50+n> (nothing listens there,
so SSH is refused at once) and private 10.0.0.<50+n> (Linode: 192.168.0.<50+n>, on ip-add)."""
import json
import os
import sys

prog = os.path.basename(sys.argv[0])
args = sys.argv[1:]
d = os.environ["FAKECLOUD_DIR"]
with open(os.path.join(d, "calls.log"), "a") as f:
    f.write(prog + "".join(" [%s]" % a for a in args) + "\n")
path = os.path.join(d, "state.json")
state = json.load(open(path)) if os.path.exists(path) else {"servers": [], "next": 1, "nets": []}


def save():
    json.dump(state, open(path, "w"))


def new(name, private=True):
    n = state["next"]
    state["next"] += 1
    s = {"id": str(1000 + n), "name": name, "public": "127.0.0.%d" % (50 + n),
         "private": ("10.0.0.%d" % (50 + n)) if private else None}
    state["servers"].append(s)
    save()
    return s


def find(sid):
    return [s for s in state["servers"] if s["id"] == sid]


def delete(sid):
    if not find(sid):
        sys.stderr.write("no such server %s\n" % sid)
        sys.exit(1)
    state["servers"] = [s for s in state["servers"] if s["id"] != sid]
    save()


def out(v):
    print(json.dumps(v))


def after(flag):
    return args[args.index(flag) + 1]


line = " ".join(args)
S = state["servers"]
if prog == "doctl":
    do = lambda s: {"id": int(s["id"]), "name": s["name"], "networks": {"v4": [
        {"ip_address": s["public"], "type": "public"}] + ([{"ip_address": s["private"], "type": "private"}] if s["private"] else [])}}
    if line.startswith("compute droplet list"):
        out([do(s) for s in S])
    elif line.startswith("compute droplet create"):
        out([do(new(args[3]))])
    elif line.startswith("compute droplet delete"):
        delete(args[3])
elif prog == "exo":
    if "instance list" in line:
        out([{"id": s["id"], "name": s["name"], "ip_address": s["public"]} for s in S])
    elif "private-network show" in line:
        if "adt" not in state["nets"]:
            sys.stderr.write("not found\n")
            sys.exit(1)
    elif "private-network create" in line:
        state["nets"].append("adt")
        save()
    elif "instance create" in line:
        s = new(args[args.index("create") + 1], private=False)
        out({"id": s["id"], "name": s["name"], "ip_address": s["public"]})
    elif "instance delete" in line:
        delete(args[-1])
elif prog == "linode-cli":
    li = lambda s: {"id": int(s["id"]), "label": s["name"], "ipv4": [s["public"]] + ([s["private"]] if s["private"] else [])}
    if line == "--json linodes list":
        out([li(s) for s in S])
    elif line.startswith("--json linodes create"):
        out([li(new(after("--label"), private=False))])
    elif line.startswith("linodes ip-add"):
        for s in find(args[2]):
            s["private"] = "192.168.0.%s" % s["public"].rsplit(".", 1)[1]
        save()
    elif line.startswith("linodes delete"):
        delete(args[2])
elif prog == "vultr":
    vu = lambda s: {"id": s["id"], "label": s["name"], "main_ip": s["public"], "internal_ip": s["private"] or ""}
    if line == "instance list -o json":
        out({"instances": [vu(s) for s in S]})
    elif line == "os list -o json":
        out({"os": [{"id": 387, "name": "Ubuntu 20.04 x64"}, {"id": 1743, "name": "Ubuntu 22.04 LTS x64"}]})
    elif line.startswith("instance create"):
        label = [a for a in args if a.startswith("--label=")][0].split("=", 1)[1]
        out({"instance": vu(new(label))})
    elif line.startswith("instance delete"):
        delete(args[2])
