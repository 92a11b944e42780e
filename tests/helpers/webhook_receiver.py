#!/usr/bin/env python3
"""A webhook receiver for the tests (standard library only).

    webhook_receiver.py --port P --secret-file F --record FILE
                        [--fail N] [--sleep S] [--tolerance 300]

Listens on 127.0.0.1:P (HTTP/1.1, one thread per connection). For every
POST it verifies X-Xwdeploy-Signature exactly as a subscriber should - the
scheme xw_http_sign implements: header "t=<unix seconds>,v1=<hex>", where
<hex> is HMAC-SHA256(secret, "<t>.<body>"), compared in constant time
(hmac.compare_digest), and t within --tolerance seconds of now - then
appends one JSON line to FILE:

    {"recv_ms", "path", "delivery", "event", "signature", "verified", "reason",
     "seen" (how many times this delivery id arrived so far), "answered",
     "body" (the raw body as text)}

and answers: 400 if the signature does not verify; else 500 for the first
N requests (--fail N); else 200, after sleeping S seconds (--sleep S,
to make the sender time out). Writes "ready" to FILE.ready once listening.
"""
import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
LOCK = threading.Lock()
STATE = {"requests": 0, "seen": {}}


def verify(secret, header, body, now, tolerance):
    """(True, "") or (False, why): the subscriber's side of the scheme."""
    if not header or len(header) > 1024:
        return False, "no signature header"
    ts, sigs = None, []
    for part in header.split(","):
        k, _, v = part.strip().partition("=")
        if k == "t" and v.isdigit() and ts is None:
            ts = int(v)
        elif k == "v1":
            sigs.append(v.lower())
    if ts is None or not sigs:
        return False, "malformed signature header"
    if abs(now - ts) > tolerance:
        return False, "timestamp outside the tolerance"
    want = hmac.new(secret, b"%d." % ts + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(want, s) for s in sigs):
        return False, "signature mismatch"
    return True, ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True     # headers and body leave at once

    def log_message(self, *args):
        pass

    def do_POST(self):
        opts = self.server.opts
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, MAX_BODY))
        recv_ms = int(time.time() * 1000)
        ok, why = verify(opts.secret, self.headers.get("X-Xwdeploy-Signature"),
                         body, int(time.time()), opts.tolerance)
        delivery = self.headers.get("X-Xwdeploy-Delivery", "")
        with LOCK:
            STATE["requests"] += 1
            count = STATE["requests"]
            STATE["seen"][delivery] = STATE["seen"].get(delivery, 0) + 1
            seen = STATE["seen"][delivery]
        if not ok:
            code = 400
        elif count <= opts.fail:
            code = 500
        else:
            code = 200
        rec = {"recv_ms": recv_ms, "path": self.path, "delivery": delivery,
               "event": self.headers.get("X-Xwdeploy-Event", ""),
               "signature": self.headers.get("X-Xwdeploy-Signature", ""),
               "verified": ok, "reason": why, "seen": seen, "answered": code,
               "body": body.decode("utf-8", "replace")}
        with LOCK:
            with open(opts.record, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if code == 200 and opts.sleep:
            time.sleep(opts.sleep)
        out = json.dumps({"ok": code == 200}).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass     # the sender gave up (timeout): nothing to answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--sleep", type=float, default=0)
    ap.add_argument("--tolerance", type=int, default=300)
    opts = ap.parse_args()
    with open(opts.secret_file, "rb") as f:
        opts.secret = f.read().strip()
    srv = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    srv.daemon_threads = True
    srv.opts = opts
    with open(opts.record + ".ready", "w") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
