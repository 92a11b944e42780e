#!/usr/bin/env python3
"""fake_api.py - a tiny stand-in for the submit-listener, for testing the
xwdeploy CLI's OWN behaviour: exit codes, rendering, --json passthrough,
--wait, and the Idempotency-Key it sends across its retries.

It is not a model of the service: it answers fixed shapes for a handful of
paths (documented in docs/api.md) and logs every request it gets, one
tab-separated line each, to --log, so a shell test can assert what the CLI
sent with cut/grep (no interpreter start per check):

  METHOD  PATH[?query, keys sorted]  IDEMPOTENCY-KEY|-  AUTH(1|0)
  BODY (compact JSON, keys sorted)|null  N (items in object_ids/objects)

The token itself is never logged, only whether a valid one came.

Usage: fake_api.py --port-file FILE --log FILE [--token TOKEN]
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = None
LOCK = threading.Lock()
# per-key attempt counters (503 then success) and per-package poll counts
ATTEMPTS = {}
POLLS = {}
DEPLOYED = set()   # packages a deploy was asked for


def nodes(n, prefix="n-"):
    return [{"id": "%s%d" % (prefix, i), "name": "node_%d" % i,
             "kind": "node", "version": 1, "compute_resource": "mc_dev",
             "owner": "alice", "generation_mode": "next_day",
             "scheduled_time": "02:00", "submitted_at": 1764151200000}
            for i in range(n)]


DEV_NODES = [
    {"id": "n-1001", "name": "daily_sales", "kind": "node", "version": 3,
     "compute_resource": "mc_dev", "owner": "alice",
     "generation_mode": "next_day", "scheduled_time": "02:00",
     "submitted_at": 1764151200000},
    {"id": "n-1002",
     "name": "a_very_long_node_name_that_goes_on_and_on_and_on_forever",
     "kind": "node", "version": 1, "compute_resource": "mc_dev",
     "owner": "bob", "generation_mode": "immediate",
     "scheduled_time": "10:30", "submitted_at": 1764151260000},
    {"id": "f-1", "name": "evil\u001b[31mred", "kind": "function",
     "version": 2, "compute_resource": "mc_dev", "owner": "alice",
     "generation_mode": None, "scheduled_time": None,
     "submitted_at": "2026-11-26T10:00:00Z"},
]
BIG_NODES = nodes(2500)

ENV = {"name": "to-prod", "type": "cross_workspace",
       "destination_workspace": "prod", "owner_policy": "default",
       "compute_mappings": [{"source": "mc_dev", "target": "mc_prod",
                             "ignore": False},
                            {"source": "mc_sandbox", "target": None,
                             "ignore": True}],
       "resource_group_mappings": [], "dependency_mappings": [],
       "data_source_mappings": [],
       "parameter_mappings": [{"task": "daily_sales", "name": "bizdate",
                               "value": "${yyyymmdd-1}"}]}


def package(pid, status, attempt, deployed, failed, total=4):
    objs = [
        {"object_id": "n-1001", "kind": "node", "outcome": "deployed",
         "reason": None, "compute_resource": "mc_prod",
         "resource_group": "rg_prod", "owner": "alice",
         "effective_at": 1764288000000},
        {"object_id": "n-1002", "kind": "node", "outcome": "failed",
         "reason_code": "data_source_unmapped",
         "reason": "data source mysql_x has no mapping in environment "
                   "to-prod and is not ignored",
         "compute_resource": None, "resource_group": None, "owner": None,
         "effective_at": None},
        {"object_id": "r-7", "kind": "resource", "outcome": "excluded",
         "reason": "compute resource mc_sandbox is ignored",
         "compute_resource": None, "resource_group": None, "owner": None},
    ]
    return {"id": pid, "environment": "to-prod", "source_workspace": "dev",
            "destination_workspace": "prod", "status": status,
            "total": total, "deployed": deployed, "failed": failed,
            "excluded": 1, "creator": "alice", "executor": "olivia",
            "attempt": attempt, "created_at": 1764151200000,
            "objects": objs}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def answer(self, status, obj=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, rule, message, field="", findings=None):
        e = {"status": status, "field": field, "rule": rule,
             "message": message}
        if findings is not None:
            e["findings"] = findings
        self.answer(status, {"error": e})

    def accepted(self, rid, **extra):
        d = {"request_id": rid, "status_url": "/v1/requests/" + rid}
        d.update(extra)
        self.answer(202, d)

    def handle_any(self, method):
        u = urlsplit(self.path)
        path, query = u.path, parse_qs(u.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<not json>"
        auth = self.headers.get("Authorization") == "Bearer " + ARGS.token
        if method == "GET" and path == "/health":   # no token, not logged
            return self.answer(200, {"service": "submit-listener",
                                     "status": "ok"})
        idem = self.headers.get("Idempotency-Key")
        q = "&".join("%s=%s" % (k, v[0]) for k, v in sorted(query.items()))
        items = body.get("object_ids", body.get("objects", [])) \
            if isinstance(body, dict) else []
        with LOCK, open(ARGS.log, "a") as f:
            f.write("\t".join([method, path + ("?" + q if q else ""),
                               idem or "-", "1" if auth else "0",
                               json.dumps(body, sort_keys=True,
                                          separators=(",", ":")),
                               str(len(items))]) + "\n")
        if not auth:
            return self.error(401, "auth", "missing or unknown token")
        return self.route(method, path, query, idem, body)

    def route(self, method, path, query, idem, body):
        off = int(query.get("offset", ["0"])[0])
        lim = int(query.get("limit", ["50"])[0])
        if method == "GET" and path == "/v1/workspaces/dev/nodes-to-deploy":
            items = DEV_NODES[off:off + lim]
            return self.answer(200, {"items": items, "total": len(DEV_NODES),
                                     "offset": off, "limit": lim})
        if method == "GET" and path == "/v1/workspaces/big/nodes-to-deploy":
            items = BIG_NODES[off:off + min(lim, 1000)]
            return self.answer(200, {"items": items, "total": len(BIG_NODES),
                                     "offset": off, "limit": lim})
        if method == "GET" and path == "/v1/workspaces/dev/packages":
            return self.answer(200, {"items": [package("pkg-1", "failed", 1,
                                                       2, 1)],
                                     "total": 75, "offset": off,
                                     "limit": lim})
        if method == "GET" and path == "/v1/workspaces/dev":
            return self.answer(200, {
                "id": "dev", "account": "1001", "region": "cn-shanghai",
                "timezone": "Asia/Shanghai", "mode": "basic",
                "datastudio": "new",
                "members": [{"user": "alice", "roles": ["admin", "om"]}],
                "compute_resources": [{"name": "mc_dev",
                                       "type": "maxcompute"}],
                "resource_groups": [{"name": "rg_sched", "type": "scheduling",
                                     "is_default": True,
                                     "is_shared": False}],
                "data_sources": [], "projects": []})
        if method == "GET" and path == "/v1/workspaces/dev/environment-info":
            return self.answer(200, {
                "compute_resources": [{"name": "mc_dev",
                                       "type": "maxcompute"}],
                "resource_groups": [], "data_sources": [], "projects": []})
        if method == "GET" and path == "/v1/workspaces/dev/environments":
            return self.answer(200, {"items": [ENV], "total": 1,
                                     "offset": off, "limit": lim})
        if method == "GET" and \
                path == "/v1/workspaces/dev/environments/to-prod":
            return self.answer(200, ENV)
        if method == "GET" and path == "/v1/workspaces/dev/basket":
            return self.answer(200, {"items": DEV_NODES[:2], "total": 2})
        if method == "GET" and path == "/v1/workspaces/prod/deployed-objects":
            return self.answer(200, {"items": [
                {"object_id": "n-1001", "name": "daily_sales",
                 "kind": "node", "version": 3, "replaced_version": 2,
                 "compute_resource": "mc_prod", "resource_group": "rg_prod",
                 "owner": "alice", "package_id": "pkg-1",
                 "deployed_at": 1764151200000,
                 "effective_at": 1764288000000}], "total": 1,
                "offset": off, "limit": lim})
        if method == "PUT":
            return self.accepted("req-put")
        if method == "GET" and path == "/v1/workspaces/garbage":
            return self.answer(200, raw=b'{"id": "garbage", oops')
        if path.startswith("/v1/workspaces/down"):
            return self.error(500, "internal", "redis is on fire")
        if method == "POST" and path == "/v1/workspaces/flaky/basket":
            with LOCK:
                n = ATTEMPTS.get(idem, 0) + 1
                ATTEMPTS[idem] = n
            if n <= 2:
                return self.error(503, "unavailable",
                                  "broker unavailable; retry with the same "
                                  "Idempotency-Key")
            return self.accepted("req-flaky")
        if method == "POST" and path in ("/v1/workspaces/dev/basket",
                                         "/v1/workspaces/big/basket",
                                         "/v1/workspaces/dev/production"):
            return self.accepted("req-" + (idem or "none")[:8])
        if method == "POST" and path == "/v1/workspaces/dev/environments":
            if not query.get("dry_run") and body.get("name") == "to-prod":
                return self.accepted("req-env")
            if query.get("dry_run") == ["true"] and body.get("name") == "ok":
                return self.answer(200, {"valid": True, "findings": [
                    {"code": "di_network", "severity": "warning",
                     "field": "resource_group_mappings[0]",
                     "message": "network settings must match"}]})
            return self.error(
                422, "compute_unmapped", "2 problems", field="environment",
                findings=[
                    {"code": "compute_unmapped", "severity": "error",
                     "field": "compute_mappings",
                     "message": "map at least one compute resource"},
                    {"code": "rg_ignore_default", "severity": "error",
                     "field": "resource_group_mappings[0].ignore",
                     "message": "the default group cannot be ignored"}])
        if method == "POST" and path == "/v1/workspaces/dev/production":
            return self.accepted("req-prod")
        if method == "POST" and path == "/v1/workspaces/dev/packages":
            if body.get("deploy_now"):
                with LOCK:
                    POLLS["pkg-new"] = 0
                    DEPLOYED.add("pkg-new")
            return self.accepted("req-new", package_id="pkg-new")
        if method == "GET" and path.startswith("/v1/requests/"):
            rid = path.rsplit("/", 1)[1]
            if rid == "req-slow":
                time.sleep(min(int(query.get("wait_ms", ["0"])[0]),
                               1000) / 1000.0)
                return self.answer(200, {"request_id": rid,
                                         "status": "pending"})
            if rid == "req-rej":
                return self.answer(200, {"request_id": rid,
                                         "status": "rejected", "error": {
                                             "status": 409,
                                             "field": "package",
                                             "rule": "state",
                                             "message": "package is "
                                                        "already deploying"}})
            if rid == "req-nope":
                return self.error(404, "not_found", "no such request")
            return self.answer(200, {"request_id": rid, "status": "done",
                                     "result": {}})
        if method == "POST" and path.startswith("/v1/packages/") and \
                path.endswith(("/deploy", "/replay")):
            pid = path.split("/")[3]
            if pid == "pkg-missing":
                return self.error(404, "not_found", "no package pkg-missing")
            with LOCK:
                POLLS[pid] = 0
                DEPLOYED.add(pid)
            rid = {"pkg-slow": "req-slow", "pkg-rej": "req-rej"}.get(
                pid, "req-" + pid)
            return self.accepted(rid)
        if method == "GET" and path.startswith("/v1/packages/"):
            pid = path.split("/")[3]
            with LOCK:
                n = POLLS.get(pid, 0)
                POLLS[pid] = n + 1
            if pid == "pkg-1":
                return self.answer(200, package(pid, "failed", 1, 2, 1))
            if pid in ("pkg-ok", "pkg-new"):
                if pid not in DEPLOYED:
                    return self.answer(200, package(pid, "created", 0, 0, 0))
                if n < 2:
                    return self.answer(200, package(pid, "deploying", 1,
                                                    n, 0))
                return self.answer(200, package(pid, "succeeded", 1, 3, 0))
            if pid == "pkg-bad":
                if n < 1:
                    return self.answer(200, package(pid, "deploying", 1,
                                                    1, 0))
                return self.answer(200, package(pid, "failed", 1, 2, 1))
            if pid == "pkg-replay":
                # the first read after the replay still shows attempt 1's
                # final status: the CLI must not stop there.
                if n <= 1:
                    return self.answer(200, package(pid, "failed", 1, 2, 1))
                if n == 2:
                    return self.answer(200, package(pid, "deploying", 2,
                                                    2, 0))
                return self.answer(200, package(pid, "succeeded", 2, 3, 0))
            return self.error(404, "not_found", "no package " + pid)
        if method == "GET" and path == "/v1/audit":
            return self.answer(200, {"items": [
                {"event_id": "a-1", "occurred_at": 1764151200000,
                 "actor": "alice", "request_id": "req-1", "method": "POST",
                 "path": "/v1/workspaces/dev/basket", "workspace": "dev",
                 "status": 202, "outcome": "accepted"}],
                "total": 1, "offset": off, "limit": lim})
        if method == "GET" and path == "/v1/dlq":
            return self.answer(200, {"items": [
                {"event_id": "ev-9", "occurred_at": 1764151200000,
                 "service": "mapper", "source_topic": "xw.commands",
                 "partition": 3, "offset": 1234, "key": "dev",
                 "payload": "wwE=", "error_code": "invalid_event",
                 "reason": "attempt must be >= 1", "replayed": False}],
                "total": 1, "offset": off, "limit": lim})
        if method == "POST" and path == "/v1/dlq/ev-9/replay":
            return self.answer(200, {"dead_letter": "ev-9",
                                     "topic": "xw.commands", "bytes": 2})
        if method == "POST" and path == "/v1/parameters/resolve":
            return self.answer(200, {"value": "20261125"})
        if method == "DELETE" and path.startswith("/v1/workspaces/dev/"):
            return self.accepted("req-del")
        return self.error(404, "not_found", "no route " + path)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--token", default="tok-alice")
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
