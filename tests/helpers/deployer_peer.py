#!/usr/bin/env python3
"""A stand-in for a real scheduler behind the deployer's HTTP target, for
tests/integration/mapper_deployer.sh.

    deployer_peer.py PORTFILE    binds 127.0.0.1:0, writes the port to PORTFILE

POST /deploy  answers by the object id in the JSON body:
    reject-*   422 {"error":"object rejected by peer"}
    down-*     503 always
    flaky-*    503 for the first 2 requests with that Idempotency-Key, then 200
    slow-*     200 after 1.5 s
    otherwise  200
GET /log        every POST received, logged on arrival (status null until
                answered): [{"key", "id", "status", "body"}...]
GET /delivered  {"<Idempotency-Key>": 2xx answers given}: what a peer
                without idempotency would have applied (the test wants 1)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = []
HITS = {}
DELIVERED = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            if self.path == "/log":
                return self.reply(200, LOG)
            if self.path == "/delivered":
                return self.reply(200, DELIVERED)
        self.reply(404, {"error": "no such path"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        key = self.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(raw)
            oid = body.get("id", "")
        except ValueError:
            body, oid = None, ""
        entry = {"key": key, "id": oid, "status": None, "body": body}
        with LOCK:
            LOG.append(entry)
        if oid.startswith("slow-"):
            time.sleep(1.5)
        with LOCK:
            HITS[key] = HITS.get(key, 0) + 1
            if self.path != "/deploy" or body is None or not key:
                status = 400
            elif oid.startswith("reject-"):
                status = 422
            elif oid.startswith("down-"):
                status = 503
            elif oid.startswith("flaky-") and HITS[key] <= 2:
                status = 503
            else:
                status = 200
                DELIVERED[key] = DELIVERED.get(key, 0) + 1
            entry["status"] = status
        if status == 200:
            return self.reply(200, {"accepted": key})
        self.reply(status, {"error": "object rejected by peer" if status == 422
                            else "unavailable"})


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
