#!/usr/bin/env python3
"""A misbehaving S3 endpoint on 127.0.0.1 for the fault-injection tests (tests/faults.rs).

Usage: badstore.py MODE [--log FILE] [--size N] [--chunk N] [--interval SECS] [--fail N]

Prints the port it listens on as its first line of stdout, then serves until killed.
With --log, appends one line per event to FILE: `conn` for every accepted connection and
`req METHOD TARGET` for every request read, so a test can count what a client really sent.

Modes:
  blackhole  accept, read the request, never answer (the socket stays open)
  reset      accept and close at once, before reading anything (a store that is down)
  trickle    answer an object GET with a --size byte body, --chunk bytes every --interval s
             (a list answer is trickled the same way)
  cut        answer an object GET with Content-Length --size, send half of it, close
  flaky      answer the first --fail requests with 503 SlowDown, then behave as `ok`
  ok         a minimal well-behaved store: GET object (--size bytes), list (one object
             `<prefix>10.0.0.1`), PUT, HEAD, DELETE
  cond501    as `ok`, but a PUT with If-Match or If-None-Match gets 501 NotImplemented
  store      a small real store in memory: objects kept as PUT, GET (404 NoSuchKey when
             absent), HEAD, DELETE, prefix listings; If-None-Match: * and If-Match enforced
  store501   as `store`, but a PUT with If-Match or If-None-Match, and a batch delete
             (POST ?delete), get 501 NotImplemented

Bodies are the bytes `i % 251` for i in 0..size, so a test can check what arrived.
Standard library only.
"""

import argparse
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
REQUESTS = [0]


def log(line):
    if ARGS.log:
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(line + "\n")


def body_bytes(n):
    return bytes(i % 251 for i in range(n))


def read_request(sock, buf):
    """One request (head and body) from the connection; (method, target, headers, rest) or None."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0") or "0")
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            return None
        rest += data
    return method, target, headers, rest[length:], rest[:length]


def response(status, reason, body=b"", headers=None, close=False):
    h = {"Content-Length": str(len(body)), "x-amz-request-id": "badstore"}
    h.update(headers or {})
    if close:
        h["Connection"] = "close"
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    head += "".join("%s: %s\r\n" % kv for kv in h.items())
    return head.encode() + b"\r\n", body


def error(status, reason, code, close=False):
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
        "<Message>badstore says %s</Message><RequestId>badstore</RequestId></Error>" % (code, code)
    ).encode()
    return response(status, reason, xml, {"Content-Type": "application/xml"}, close)


def is_list(method, target):
    path, _, query = target.partition("?")
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    parts = [p for p in path.split("/") if p]
    return method == "GET" and (len(parts) <= 1 or "list-type" in q)


def list_body(target):
    q = urllib.parse.parse_qs(target.partition("?")[2], keep_blank_values=True)
    prefix = q.get("prefix", [""])[0]
    key = prefix + "10.0.0.1"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>bucket</Name><Prefix>%s</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
        "<IsTruncated>false</IsTruncated><Contents><Key>%s</Key>"
        "<LastModified>2026-11-25T10:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag>"
        "<Size>0</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
        % (prefix, key)
    ).encode()


OBJECTS = {}


def key_of(target):
    path = urllib.parse.unquote(target.partition("?")[0])
    parts = path.lstrip("/").split("/", 1)
    return parts[1] if len(parts) > 1 else ""


def etag(b):
    import hashlib
    return '"%s"' % hashlib.md5(b).hexdigest()


def in_memory(method, target, headers, body):
    """A small real store: (head, body)."""
    if is_list(method, target):
        q = urllib.parse.parse_qs(target.partition("?")[2], keep_blank_values=True)
        prefix = q.get("prefix", [""])[0]
        delim = q.get("delimiter", [""])[0]
        with LOCK:
            keys = sorted(k for k in OBJECTS if k.startswith(prefix))
            sizes = {k: len(OBJECTS[k]) for k in keys}
        contents, prefixes = [], []
        for k in keys:
            rest = k[len(prefix):]
            if delim and delim in rest:
                p = prefix + rest.split(delim, 1)[0] + delim
                if p not in prefixes:
                    prefixes.append(p)
            else:
                contents.append(k)
        x = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
             "<Name>bucket</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>1000</MaxKeys>"
             "<IsTruncated>false</IsTruncated>" % (prefix, len(contents) + len(prefixes)))
        for k in contents:
            x += ("<Contents><Key>%s</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified>"
                  "<ETag>&quot;e&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>"
                  % (k, sizes[k]))
        for p in prefixes:
            x += "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % p
        x += "</ListBucketResult>"
        return response(200, "OK", x.encode(), {"Content-Type": "application/xml"})
    if method == "POST" and "delete" in urllib.parse.parse_qs(target.partition("?")[2], keep_blank_values=True):
        if ARGS.mode == "store501":
            return error(501, "Not Implemented", "NotImplemented")
        return error(400, "Bad Request", "InvalidRequest")
    key = key_of(target)
    if method == "HEAD" and not key:
        return response(200, "OK")
    with LOCK:
        have = OBJECTS.get(key)
        if method in ("GET", "HEAD"):
            if have is None:
                return error(404, "Not Found", "NoSuchKey")
            return response(200, "OK", have, {"ETag": etag(have), "Content-Type": "application/octet-stream",
                                               "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"})
        if method == "PUT":
            conditional = "if-match" in headers or "if-none-match" in headers
            if ARGS.mode == "store501" and conditional:
                return error(501, "Not Implemented", "NotImplemented")
            if headers.get("if-none-match") == "*" and have is not None:
                return error(412, "Precondition Failed", "PreconditionFailed")
            if "if-match" in headers and (have is None or headers["if-match"] != etag(have)):
                return error(412, "Precondition Failed", "PreconditionFailed")
            OBJECTS[key] = body
            return response(200, "OK", b"", {"ETag": etag(body)})
        if method == "DELETE":
            OBJECTS.pop(key, None)
            return response(204, "No Content")
    return error(400, "Bad Request", "InvalidRequest")


def normal(method, target, headers):
    """What a well-behaved store answers: (head, body)."""
    if is_list(method, target):
        return response(200, "OK", list_body(target), {"Content-Type": "application/xml"})
    if method == "GET":
        return response(
            200,
            "OK",
            body_bytes(ARGS.size),
            {
                "Content-Type": "application/octet-stream",
                "ETag": '"badstore"',
                "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT",
            },
        )
    if method == "PUT":
        if ARGS.mode == "cond501" and ("if-match" in headers or "if-none-match" in headers):
            return error(501, "Not Implemented", "NotImplemented")
        return response(200, "OK", b"", {"ETag": '"badstore"'})
    if method == "HEAD":
        return response(200, "OK")
    if method == "DELETE":
        return response(204, "No Content")
    return error(400, "Bad Request", "InvalidRequest")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            self.serve()
        except OSError:
            pass  # the client gave up or was killed: that is what these tests do

    def serve(self):
        sock = self.request
        log("conn")
        mode = ARGS.mode
        if mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
            return
        buf = b""
        while True:
            req = read_request(sock, buf)
            if req is None:
                return
            method, target, headers, buf, body = req
            log("req %s %s" % (method, target))
            with LOCK:
                REQUESTS[0] += 1
                nth = REQUESTS[0]
            if mode == "blackhole":
                while sock.recv(65536):
                    pass
                return
            if mode == "flaky" and nth <= ARGS.fail:
                head, body = error(503, "Slow Down", "SlowDown", close=True)
                sock.sendall(head + body)
                return
            if mode in ("store", "store501"):
                head, body = in_memory(method, target, headers, body)
            else:
                head, body = normal(method, target, headers)
            if method == "HEAD":
                body = b""
            if mode == "trickle" and method == "GET":
                sock.sendall(head)
                for i in range(0, len(body), ARGS.chunk):
                    time.sleep(ARGS.interval)
                    sock.sendall(body[i : i + ARGS.chunk])
                continue
            if mode == "cut" and method == "GET" and not is_list(method, target):
                sock.sendall(head + body[: len(body) // 2])
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                return
            sock.sendall(head + body)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument(
        "mode", choices=["blackhole", "reset", "trickle", "cut", "flaky", "ok", "cond501", "store", "store501"]
    )
    p.add_argument("--log")
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--chunk", type=int, default=1)
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--fail", type=int, default=2)
    ARGS = p.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
