#!/usr/bin/env python3
"""A local stand-in for the Linode API v4, for the real linode-cli (LINODE_CLI_API_HOST,
LINODE_CLI_API_SCHEME=http). Usage: linodeapi.py DIR. It listens on 127.0.0.1 (a free port,
written to DIR/port once it listens), keeps its state in DIR/state.json (read on every request,
so a test may rewrite it between calls) and appends every request to DIR/requests.log as one
JSON line: {"method", "path", "query", "body"}.

It answers in the API's shapes: listings are paged envelopes {"data", "page", "pages",
"results"} honouring ?page= and ?page_size= (default 100); errors are {"errors": [{"reason",
"field"?}]}. A request without `Authorization: Bearer <state.token>` (default "x") gets 401
"Invalid Token". state.fail: [{"method", "path", "status", "reason"}] makes the matching
requests fail. Linodes get public 127.0.0.<50+n>; ip-add gives private 192.168.0.<same n>.
Managed databases: state.databases = {"mysql": [...], "postgresql": [...]}, listed (paged) and
updated (PUT, e.g. the allow_list) under /v4/ and /v4beta/ alike."""
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DIR = sys.argv[1]
STATE = os.path.join(DIR, "state.json")


def load():
    s = json.load(open(STATE)) if os.path.exists(STATE) else {}
    for k, v in [("linodes", []), ("domains", []), ("records", {}), ("firewalls", []),
                 ("devices", {}), ("next", 1), ("fail", []), ("databases", {})]:
        s.setdefault(k, v)
    return s


def save(s):
    tmp = STATE + ".tmp"
    json.dump(s, open(tmp, "w"))
    os.replace(tmp, STATE)


def full_rules(rules):
    """A firewall's rules as the API answers them (every field present)."""
    r = {"inbound": [], "outbound": [], "inbound_policy": "ACCEPT", "outbound_policy": "ACCEPT",
         "fingerprint": "0", "version": 1}
    r.update(rules or {})
    return r


def new_id(s):
    n = s["next"]
    s["next"] += 1
    return n


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, reason, field=None):
        e = {"reason": reason}
        if field:
            e["field"] = field
        self.answer(status, {"errors": [e]})

    def handle_any(self, method):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = json.loads(raw) if raw else None
        with open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write(json.dumps({"method": method, "path": u.path, "query": q, "body": body}) + "\n")
        s = load()
        if self.headers.get("Authorization") != "Bearer " + s.get("token", "x"):
            return self.error(401, "Invalid Token")
        for f in s["fail"]:
            if f["method"] == method and re.fullmatch(f["path"], u.path):
                return self.error(f["status"], f["reason"], f.get("field"))
        p = u.path
        m = lambda pat: re.fullmatch(pat, p)

        def page(items):
            size = int(q.get("page_size", 100))
            no = int(q.get("page", 1))
            pages = max(1, (len(items) + size - 1) // size)
            return self.answer(200, {"data": items[(no - 1) * size:no * size], "page": no,
                                     "pages": pages, "results": len(items)})

        def find(items, i):
            return [x for x in items if x["id"] == int(i)]

        if method == "GET" and p == "/v4/linode/instances":
            return page(s["linodes"])
        if method == "POST" and p == "/v4/linode/instances":
            n = new_id(s)
            lin = {"id": 1000 + n, "label": body.get("label"), "group": body.get("group", ""),
                   "region": body.get("region"), "type": body.get("type"),
                   "image": body.get("image"), "status": "provisioning",
                   "ipv4": ["127.0.0.%d" % (50 + n)], "ipv6": None, "tags": []}
            s["linodes"].append(lin)
            save(s)
            return self.answer(200, lin)
        r = m(r"/v4/linode/instances/(\d+)(/ips|/shutdown)?")
        if r:
            lin = find(s["linodes"], r.group(1))
            if not lin:
                return self.error(404, "Not found")
            if method == "POST" and r.group(2) == "/ips":
                last = lin[0]["ipv4"][0].rsplit(".", 1)[1]
                addr = "192.168.0." + last
                lin[0]["ipv4"].append(addr)
                save(s)
                return self.answer(200, {"address": addr, "type": "ipv4", "public": False,
                                         "prefix": 17, "linode_id": lin[0]["id"],
                                         "gateway": None, "subnet_mask": "255.255.128.0",
                                         "rdns": None, "region": lin[0]["region"]})
            if method == "POST" and r.group(2) == "/shutdown":
                lin[0]["status"] = "offline"
                save(s)
                return self.answer(200, {})
            if method == "DELETE" and not r.group(2):
                s["linodes"] = [x for x in s["linodes"] if x["id"] != lin[0]["id"]]
                save(s)
                return self.answer(200, {})
        r = m(r"/v4(?:beta)?/databases/(mysql|postgresql)/instances(?:/(\d+))?")
        if r:
            dbs = s["databases"].setdefault(r.group(1), [])
            if method == "GET" and not r.group(2):
                return page(dbs)
            db = find(dbs, r.group(2)) if r.group(2) else []
            if not db:
                return self.error(404, "Not found")
            if method == "GET":
                return self.answer(200, db[0])
            if method == "PUT":
                for k, v in (body or {}).items():
                    if k != "allow_list":
                        return self.error(400, "unexpected field", k)
                    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                        return self.error(400, "must be a list of addresses", k)
                    db[0][k] = v
                save(s)
                return self.answer(200, db[0])
        if method == "GET" and p == "/v4/domains":
            return page(s["domains"])
        r = m(r"/v4/domains/(\d+)/records(?:/(\d+))?")
        if r:
            if not find(s["domains"], r.group(1)):
                return self.error(404, "Not found")
            recs = s["records"].setdefault(r.group(1), [])
            if method == "GET" and not r.group(2):
                return page(recs)
            if method == "POST" and not r.group(2):
                rec = dict(body, id=new_id(s) + 5000)
                recs.append(rec)
                save(s)
                return self.answer(200, rec)
            if method == "DELETE" and r.group(2):
                if not find(recs, r.group(2)):
                    return self.error(404, "Not found")
                s["records"][r.group(1)] = [x for x in recs if x["id"] != int(r.group(2))]
                save(s)
                return self.answer(200, {})
        if p == "/v4/networking/firewalls":
            if method == "GET":
                return page([dict(f, rules=full_rules(f.get("rules"))) for f in s["firewalls"]])
            if method == "POST":
                fw = {"id": new_id(s) + 7000, "label": body.get("label"), "status": "enabled",
                      "rules": full_rules(body.get("rules")), "tags": []}
                s["firewalls"].append(fw)
                save(s)
                return self.answer(200, fw)
        r = m(r"/v4/networking/firewalls/(\d+)/(rules|devices)")
        if r:
            fw = find(s["firewalls"], r.group(1))
            if not fw:
                return self.error(404, "Not found")
            if r.group(2) == "rules" and method == "PUT":
                fw[0]["rules"] = full_rules(dict(fw[0].get("rules") or {}, **body))
                fw[0]["rules"]["version"] += 1
                save(s)
                return self.answer(200, fw[0]["rules"])
            devs = s["devices"].setdefault(r.group(1), [])
            if r.group(2) == "devices" and method == "GET":
                return page(devs)
            if r.group(2) == "devices" and method == "POST":
                dev = {"id": new_id(s) + 9000,
                       "entity": {"id": body.get("id"), "type": body.get("type"), "label": None}}
                devs.append(dev)
                save(s)
                return self.answer(200, dev)
        return self.error(404, "Not found")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


srv = ThreadingHTTPServer(("127.0.0.1", 0), Api)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
