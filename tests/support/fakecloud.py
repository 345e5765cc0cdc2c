#!/usr/bin/env python3
"""A stand-in for a cloud host's CLI (doctl, exo, linode-cli, vultr; aws: a recorder), installed under those names
on PATH by the tests. It appends every command line to $FAKECLOUD_DIR/calls.log (arguments in
[brackets]), keeps its servers in $FAKECLOUD_DIR/state.json and answers list/create/delete in
the JSON shape of the real CLI. New servers get public 198.51.100.<50+n> (TEST-NET-2) (nothing listens there,
so SSH is refused at once) and private 10.0.0.<50+n> (Linode: 192.168.0.<50+n>, on ip-add).

Paging, as each CLI documents it: doctl fetches every page of a list itself and exo lists
everything, so their answers are whole; vultr-cli answers one page (`--per-page`, default 100)
with `meta.links.next`, a cursor that `--cursor` takes. Vultr's DNS records (state "records"),
firewall groups ("fwgroups") and rules ("fwrules", by group) are kept too, and a server's
"firewall_group_id". (linode-cli is run for real against tests/support/linodeapi.py; this
stand-in keeps answering the older linode tests.)

Errors, as the CLIs print them: state "auth" = "missing" or "bad" makes every call fail as
that CLI does without a token or with a refused one; state "fail" = [{"match", "stderr",
"code"}] makes the calls whose arguments contain "match" fail with that stderr.

Installed as `aws`, it records the command line the same way, then runs the real aws CLI
($FAKECLOUD_REAL_AWS) with it, which talks to moto's server (tests/cloud_aws.rs): moto answers
EC2, security groups and RDS in AWS's own shapes, so only the recording is this harness's
(and state "fail", for errors moto cannot be made to answer)."""
import base64
import json
import os
import sys

prog = os.path.basename(sys.argv[0])
args = sys.argv[1:]
d = os.environ["FAKECLOUD_DIR"]
with open(os.path.join(d, "calls.log"), "a") as f:
    f.write(prog + "".join(" [%s]" % a for a in args) + "\n")
path = os.path.join(d, "state.json")
if prog == "aws":
    # What moto cannot be made to do: a call that fails (state "fail", as below).
    fails = json.load(open(path)).get("fail", []) if os.path.exists(path) else []
    for f in fails:
        if f["match"] in " ".join(args):
            sys.stderr.write(f["stderr"])
            sys.exit(f.get("code", 1))
    real = os.environ["FAKECLOUD_REAL_AWS"]
    os.execv(real, [real] + args)
state = json.load(open(path)) if os.path.exists(path) else {"servers": [], "next": 1, "nets": []}


def save():
    json.dump(state, open(path, "w"))


def new(name, private=True):
    n = state["next"]
    state["next"] += 1
    s = {"id": str(1000 + n), "name": name, "public": "198.51.100.%d" % (50 + n),
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

AUTH = {
    "doctl": {
        "missing": "Error: Unable to initialize DigitalOcean API client: access token is required. (hint: run 'doctl auth init')\n",
        "bad": 'Error: GET https://api.digitalocean.com/v2/droplets?page=1&per_page=200: 401 (request "2f4c1a0e-77d9-4b7e-9e0a-3c2b1d0f9a11") Unable to authenticate you\n',
    },
    "vultr": {
        "missing": "Please export your VULTR API key as an environment variable or add `api-key` to your config file, eg:\nexport VULTR_API_KEY='<api_key_from_vultr_account>'\n",
        "bad": 'Error: error retrieving instance list : {"error":"Invalid API token.","status":401}\n',
    },
    "exo": {
        "missing": "error: no accounts configured\n",
        "bad": "error: API error: Unauthorized (401): invalid request signature\n",
    },
}
if state.get("auth") in ("missing", "bad") and prog in AUTH:
    sys.stderr.write(AUTH[prog][state["auth"]])
    sys.exit(1)
for f in state.get("fail", []):
    if f["match"] in line:
        sys.stderr.write(f["stderr"])
        sys.exit(f.get("code", 1))


def option(name, default=None):
    """A vultr-cli option's value (`--name v` or `--name=v`)."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def vultr_page(key, items):
    """One page of a vultr-cli listing, with its cursor to the next."""
    per = int(option("--per-page", option("-p", "100")))
    cur = option("--cursor", option("-c", ""))
    start = int(base64.b64decode(cur).decode().split("__")[1]) if cur else 0
    end = start + per
    nxt = base64.b64encode(("next__%d" % end).encode()).decode() if end < len(items) else ""
    prev = base64.b64encode(("prev__%d" % start).encode()).decode() if start else ""
    out({key: items[start:end], "meta": {"total": len(items), "links": {"next": nxt, "prev": prev}}})
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
    if line in ("--json linodes list", "--json linodes list --all-rows"):
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
    vu = lambda s: {"id": s["id"], "label": s["name"], "main_ip": s["public"], "internal_ip": s["private"] or "",
                    "firewall_group_id": s.get("firewall_group_id", "")}
    if line.startswith("instance list -o json"):
        vultr_page("instances", [vu(s) for s in S])
    elif line.startswith("os list -o json"):
        vultr_page("os", [{"id": 387, "name": "Ubuntu 20.04 x64"}, {"id": 1743, "name": "Ubuntu 22.04 LTS x64"}])
    elif line.startswith("dns record list"):
        vultr_page("records", state.get("records", []))
    elif line.startswith("dns record create"):
        rec = {"id": "r-%d" % state["next"], "type": option("-t"), "name": option("-n"),
               "data": option("-d"), "priority": int(option("--priority", "0")), "ttl": int(option("--ttl", "300"))}
        state["next"] += 1
        state.setdefault("records", []).append(rec)
        save()
        out({"record": rec})
    elif line.startswith("dns record delete"):
        state["records"] = [r for r in state.get("records", []) if r["id"] != args[4]]
        save()
    elif line.startswith("firewall group list"):
        vultr_page("firewall_groups", state.get("fwgroups", []))
    elif line.startswith("firewall group create"):
        g = {"id": "fwg-%d" % state["next"], "description": option("--description")}
        state["next"] += 1
        state.setdefault("fwgroups", []).append(g)
        save()
        out({"firewall_group": g})
    elif line.startswith("firewall rule list"):
        vultr_page("firewall_rules", state.get("fwrules", {}).get(args[3], []))
    elif line.startswith("firewall rule create"):
        rules = state.setdefault("fwrules", {}).setdefault(option("--id"), [])
        r = {"id": max([x["id"] for x in rules] + [0]) + 1, "ip_type": option("--type"),
             "protocol": option("--protocol"), "port": option("--port", ""),
             "subnet": option("-s"), "subnet_size": int(option("--size"))}
        rules.append(r)
        save()
    elif line.startswith("firewall rule delete"):
        rules = state.setdefault("fwrules", {}).setdefault(args[3], [])
        state["fwrules"][args[3]] = [x for x in rules if str(x["id"]) != args[4]]
        save()
    elif line.startswith("instance update-firewall-group"):
        for s in find(option("-i")):
            s["firewall_group_id"] = option("-f")
        save()
    elif line.startswith("instance create"):
        label = [a for a in args if a.startswith("--label=")][0].split("=", 1)[1]
        out({"instance": vu(new(label))})
    elif line.startswith("instance delete"):
        delete(args[2])
