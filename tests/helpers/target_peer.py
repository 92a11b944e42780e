#!/usr/bin/env python3
"""A deploy target (a stand-in for a real scheduler behind the deployer's
HTTP target) that can be made to fail on command, for
tests/integration/fault_http_target.sh.

    target_peer.py DIR      serves POST /deploy on 127.0.0.1, a control
                            port beside it; writes DIR/peer.port and
                            DIR/control.port

POST /deploy is idempotent like a real target should be: the first request
with an Idempotency-Key that is answered 2xx applies the object; a repeat
of the key is answered 2xx without applying it again. Modes (control):

    POST /mode/ok      200 after XW_PEER_DELAY_MS (default 20)
    POST /mode/5xx     503 to everything
    POST /mode/slow    applies, but answers only after 3 s (the client has
                       timed out: it will repeat the key)
    POST /mode/down    the deploy port is closed (connection refused) and
                       open keep-alive connections are shut down
    POST /mode/up      the deploy port listens again (same port), mode ok
    GET  /stats        {"requests": n, "answers": {"200": n, "503": n, ...},
                        "applied": {key: times applied}, "keys": n}
"""
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"mode": "ok", "requests": 0, "answers": {}, "applied": {}}
DELAY = int(os.environ.get("XW_PEER_DELAY_MS", "20")) / 1000.0


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timed out): fine


OPEN = set()   # connections of the deploy port (keep-alive)


class Deploy(Quiet):
    def setup(self):
        super().setup()
        with LOCK:
            OPEN.add(self.connection)

    def finish(self):
        with LOCK:
            OPEN.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        key = self.headers.get("Idempotency-Key", "")
        with LOCK:
            STATE["requests"] += 1
            mode = STATE["mode"]
        try:
            json.loads(raw)
            ok = self.path == "/deploy" and bool(key)
        except ValueError:
            ok = False
        if not ok:
            code = 400
        elif mode == "5xx":
            code = 503
        else:
            with LOCK:   # idempotent: applied once per key
                if key not in STATE["applied"]:
                    STATE["applied"][key] = 1
            time.sleep(3.0 if mode == "slow" else DELAY)
            code = 200
        with LOCK:
            STATE["answers"][str(code)] = STATE["answers"].get(str(code), 0) + 1
        self.reply(code, {"accepted": key} if code == 200 else
                   {"error": "unavailable" if code == 503 else "bad request"})


class Server:
    def __init__(self, port=0):
        self.port = port
        self.srv = None

    def up(self):
        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), Deploy)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def down(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None
        # Kept-alive connections too: a peer that is down answers nothing.
        with LOCK:
            conns = list(OPEN)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


DEPLOY = Server()


class Control(Quiet):
    def do_GET(self):
        if self.path != "/stats":
            return self.reply(404, {"error": "no such path"})
        with LOCK:
            s = {"mode": STATE["mode"], "requests": STATE["requests"],
                 "answers": dict(STATE["answers"]),
                 "applied": dict(STATE["applied"]),
                 "keys": len(STATE["applied"])}
        self.reply(200, s)

    def do_POST(self):
        mode = self.path.rsplit("/", 1)[-1]
        if mode not in ("ok", "5xx", "slow", "down", "up"):
            return self.reply(404, {"error": "no such mode"})
        if mode == "down":
            DEPLOY.down()
        elif mode == "up":
            if not DEPLOY.srv:
                DEPLOY.up()
            mode = "ok"
        with LOCK:
            STATE["mode"] = mode
        self.reply(200, {"mode": mode})


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def main():
    d = sys.argv[1]
    DEPLOY.up()
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    write(os.path.join(d, "control.port"), str(ctl.server_address[1]))
    write(os.path.join(d, "peer.port"), str(DEPLOY.port))
    ctl.serve_forever()


if __name__ == "__main__":
    main()
