#!/usr/bin/env python3
"""A tiny loopback HTTP/1.1 server that misbehaves on request, for
tests/integration/http_client.sh.

    http_peer.py PORTFILE     binds 127.0.0.1:0, writes the port to PORTFILE

Paths:
    /ok                         200 "hello"
    /status/CODE                CODE with a small JSON body
    /flaky/KEY/N/CODE           the first N hits of KEY answer CODE, then 200
    /hits/KEY                   how many times KEY was hit
    /sleep/MS                   200 after MS milliseconds
    /big/N                      200 with N bytes (Content-Length)
    /chunked/N                  200 with N bytes, chunked (no length)
    /redirect                   302 to /ok
    /echo                       200 {"method","body","x_test"} of the request
    /webhook                    200 if X-Xw-Signature verifies with the
                                secret "whsec_peer" over "t.body", else 401
                                (an implementation independent of ours)
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HITS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="text/plain", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self):
        data = self.body()
        parts = self.path.split("?")[0].strip("/").split("/")
        head = parts[0]
        if head == "ok":
            return self.reply(200, b"hello")
        if head == "status":
            code = int(parts[1])
            return self.reply(code, json.dumps({"code": code}).encode(),
                              "application/json")
        if head == "flaky":
            key, n, code = parts[1], int(parts[2]), int(parts[3])
            with LOCK:
                HITS[key] = HITS.get(key, 0) + 1
                hit = HITS[key]
            if hit <= n:
                return self.reply(code, b"failing")
            return self.reply(200, b"recovered")
        if head == "hits":
            return self.reply(200, str(HITS.get(parts[1], 0)).encode())
        if head == "sleep":
            time.sleep(int(parts[1]) / 1000.0)
            return self.reply(200, b"slept")
        if head == "big":
            return self.reply(200, b"x" * int(parts[1]))
        if head == "chunked":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while n > 0:
                c = min(n, 4096)
                self.wfile.write(b"%x\r\n" % c + b"y" * c + b"\r\n")
                n -= c
            self.wfile.write(b"0\r\n\r\n")
            return None
        if head == "redirect":
            return self.reply(302, b"", extra={"Location": "/ok"})
        if head == "echo":
            return self.reply(200, json.dumps({
                "method": self.command,
                "body": data.decode("utf-8", "replace"),
                "x_test": self.headers.get("X-Test"),
            }).encode(), "application/json")
        if head == "webhook":
            sig = self.headers.get("X-Xw-Signature") or ""
            fields = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
            t = fields.get("t", "")
            want = hmac.new(b"whsec_peer", t.encode() + b"." + data,
                            hashlib.sha256).hexdigest()
            ok = t.isdigit() and abs(time.time() - int(t)) <= 300 and \
                hmac.compare_digest(want, fields.get("v1", ""))
            return self.reply(200 if ok else 401, b"ok" if ok else b"bad")
        return self.reply(404, b"no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = route


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
