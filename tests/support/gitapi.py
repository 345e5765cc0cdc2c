#!/usr/bin/env python3
"""A local stand-in for the repository endpoints of the GitHub, GitLab (v4) and Bitbucket (2.0)
APIs, for tests/git_providers.rs. Usage: gitapi.py DIR. It listens on 127.0.0.1 (a free port,
written to DIR/port once it listens) and appends every request to DIR/requests.log as one line:
`METHOD PATH | AUTH | CONTENT-TYPE | BODY` where AUTH is the decoded basic-auth `user:secret`,
or `token:<PRIVATE-TOKEN>`, or `-`.

State in DIR/state.json (read on every request): {"repos": ["owner/name", ...],
"fail": {"METHOD PATH": status}}. Answers in the APIs' shapes:
  GET  /repos/<o>/<r>            (github)     200 {"full_name"} or 404 {"message": "Not Found"}
  POST /user/repos               (github)     201, 422 when it exists (user = basic-auth user)
  GET  /projects/<o>%2F<r>       (gitlab)     200 {"path_with_namespace"} or 404
  POST /projects                 (gitlab)     201, 400 {"message": {"name": ["has already been taken"]}}
  GET  /repositories/<o>/<r>     (bitbucket)  200 or 404 {"type": "error"}
  POST /repositories/<o>/<r>     (bitbucket)  200, 400 when it exists
Standard library only."""
import base64
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, parse_qs

DIR = sys.argv[1]
STATE = os.path.join(DIR, "state.json")


def load():
    s = json.load(open(STATE)) if os.path.exists(STATE) else {}
    s.setdefault("repos", [])
    s.setdefault("fail", {})
    return s


def save(s):
    tmp = STATE + ".tmp"
    json.dump(s, open(tmp, "w"))
    os.replace(tmp, STATE)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def auth(self):
        a = self.headers.get("Authorization", "")
        if a.startswith("Basic "):
            return base64.b64decode(a[6:]).decode()
        t = self.headers.get("PRIVATE-TOKEN")
        return "token:" + t if t else "-"

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        auth = self.auth()
        ctype = self.headers.get("Content-Type", "-")
        with open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write(f"{method} {self.path} | {auth} | {ctype} | {body}\n")
        s = load()
        if f"{method} {self.path}" in s["fail"]:
            return self.answer(s["fail"][f"{method} {self.path}"], {"message": "injected failure"})
        user = auth.split(":", 1)[0]
        p = self.path
        if p.startswith("/repos/") and method == "GET":
            full = unquote(p[len("/repos/"):])
            return self.answer(200, {"full_name": full}) if full in s["repos"] else self.answer(404, {"message": "Not Found"})
        if p == "/user/repos" and method == "POST":
            name = json.loads(body)["name"]
            full = f"{user}/{name}"
            if full in s["repos"]:
                return self.answer(422, {"message": "Repository creation failed.", "errors": [{"message": "name already exists on this account"}]})
            s["repos"].append(full)
            save(s)
            return self.answer(201, {"full_name": full, "private": True})
        if p.startswith("/projects/") and method == "GET":
            full = unquote(p[len("/projects/"):])
            return self.answer(200, {"path_with_namespace": full}) if full in s["repos"] else self.answer(404, {"message": "404 Project Not Found"})
        if p == "/projects" and method == "POST":
            name = parse_qs(body)["name"][0]
            # The token's owner is "tokenuser" in this stand-in.
            full = f"tokenuser/{name}"
            if full in s["repos"]:
                return self.answer(400, {"message": {"name": ["has already been taken"]}})
            s["repos"].append(full)
            save(s)
            return self.answer(201, {"path_with_namespace": full})
        if p.startswith("/repositories/"):
            full = unquote(p[len("/repositories/"):])
            if method == "GET":
                return self.answer(200, {"full_name": full}) if full in s["repos"] else self.answer(404, {"type": "error", "error": {"message": "Repository not found"}})
            if method == "POST":
                if full in s["repos"]:
                    return self.answer(400, {"type": "error", "error": {"message": "Repository with this Slug and Owner already exists."}})
                s["repos"].append(full)
                save(s)
                return self.answer(200, {"full_name": full, "is_private": True})
        return self.answer(404, {"message": "no such endpoint"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
