"""The workload of the fault tests (fault_kill.sh, fault_broker.sh,
fault_redis.sh, fault_timeout.sh): several packages of distinct object
versions go through the five steps through the public API while the
calling test injects faults, then every package is checked object by
object.

    fault_flow.py run REPORT.json

Settings (environment): XW_FAULT_PACKAGES (5), XW_FAULT_PER_PACKAGE (400),
XW_FAULT_FINAL_S (seconds allowed for every package to be final, 150),
XW_FAULT_MARK (a file touched once the workspaces and the environment are
in place and the objects and packages start to flow, so the test knows
when to start its faults), XW_FAULT_TAG (object id prefix).

Every object id is new (tag, package, index), so each deployed object is a
real destination write. In each package, every 50th object is on a compute
resource the environment neither maps nor ignores (fails with
compute_unmapped at deploy time) and every 80th on an ignored one
(excluded when the package is frozen): the expected final state of every
object is known in advance.

The client survives faults: a connection refused or reset, a timeout or a
503 is retried (the submit-listener may be down, restarting, or unable to
reach the broker or Redis), and every write carries an Idempotency-Key, so
a retried write is the same request (same event id) and applied once.

REPORT.json: per package the expected and observed counts, the objects
not final ("lost"), objects whose outcome is wrong, and whether the
package reached a final state ("stuck" otherwise). Exit status 0 when
every package matches, 1 otherwise.
"""
import http.client
import json
import os
import socket
import sys
import time
import urllib.error

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, load  # noqa: E402

NPKG = int(os.environ.get("XW_FAULT_PACKAGES", "5"))
PER = int(os.environ.get("XW_FAULT_PER_PACKAGE", "400"))
FINAL_S = float(os.environ.get("XW_FAULT_FINAL_S", "150"))
MARK = os.environ.get("XW_FAULT_MARK")
TAG = os.environ.get("XW_FAULT_TAG", "f")
RETRY_S = 90   # how long one call keeps retrying through a fault
# How long a write may stay pending before the flow gives up on it.
PENDING_S = float(os.environ.get("XW_FAULT_PENDING_S", str(RETRY_S)))

TRANSIENT = (urllib.error.URLError, http.client.HTTPException,
             ConnectionError, socket.timeout, TimeoutError, OSError)


def log(*a):
    print(time.strftime("%H:%M:%S"), "fault_flow:", *a, file=sys.stderr,
          flush=True)


class FaultApi(Api):
    """Api whose calls ride out a restarting or degraded service."""

    def call(self, user, method, path, body=None, headers=None, raw=None):
        deadline = time.time() + RETRY_S
        while True:
            try:
                st, r = Api.call(self, user, method, path, body, headers, raw)
                if st not in (502, 503, 504):
                    return st, r
                why = "HTTP %d %s" % (st, r)
            except TRANSIENT as e:
                why = repr(e)
            if time.time() > deadline:
                raise AssertionError("%s %s: still failing after %d s: %s"
                                     % (method, path, RETRY_S, why))
            time.sleep(0.3)

    def write_idem(self, user, method, path, body, key, timeout_s=PENDING_S):
        """A write with an Idempotency-Key, waited for until applied."""
        h = {"Idempotency-Key": key}
        st, acc = self.call(user, method, path, body, h)
        assert st == 202, "%s %s: %s %s" % (method, path, st, acc)
        deadline = time.time() + timeout_s
        while True:
            s, r = self.call(user, "GET", "/v1/requests/%s?wait_ms=2000"
                             % acc["request_id"])
            # A 404 here: the request's status was dropped after a failed
            # produce; ask again with the same key (same event id).
            if s == 404:
                st, acc = self.call(user, method, path, body, h)
                assert st == 202, "%s %s: %s %s" % (method, path, st, acc)
                continue
            assert s == 200, (s, r)
            if r["status"] != "pending":
                assert r["status"] == "done", "%s %s: %s" % (method, path, r)
                return acc, r
            if time.time() > deadline:
                raise AssertionError("%s %s: request %s still pending after "
                                     "%d s" % (method, path,
                                               acc["request_id"], timeout_s))


def objects_of(template, k):
    out = []
    for i in range(PER):
        o = dict(template, id="%s-p%d-%04d" % (TAG, k, i),
                 name="%s_p%d_%04d" % (TAG, k, i), version=1000 * k + i + 1,
                 data_sources=[], dependencies=[])
        if i % 50 == 7:
            o["compute_resource"] = "emr_legacy"      # fails: unmapped
        elif i % 80 == 11:
            o["compute_resource"] = "mc_sandbox"      # excluded: ignored
        out.append(o)
    return out


def expected(o):
    return {"emr_legacy": "failed", "mc_sandbox": "excluded"}.get(
        o["compute_resource"], "deployed")


def main():
    report_path = sys.argv[2]
    api = FaultApi()
    t0 = time.time()
    api.write_idem("root", "PUT", "/v1/workspaces/dev", load("ws-dev.json"),
                   TAG + "-ws-dev")
    api.write_idem("root", "PUT", "/v1/workspaces/prod", load("ws-prod.json"),
                   TAG + "-ws-prod")
    env = load("env-to-prod.json")
    api.write_idem("alice", "POST", "/v1/workspaces/dev/environments", env,
                   TAG + "-env")
    if MARK:
        open(MARK, "w").close()
    template = load("objects.json")["objects"][0]
    pkgs = []
    for k in range(NPKG):
        objs = objects_of(template, k)
        api.write_idem("olga", "POST", "/v1/workspaces/dev/production",
                       {"objects": objs}, "%s-prod-%d" % (TAG, k))
        acc, _ = api.write_idem("dave", "POST", "/v1/workspaces/dev/packages",
                                {"environment": "to-prod",
                                 "object_ids": [o["id"] for o in objs]},
                                "%s-pkg-%d" % (TAG, k))
        pkg = acc["package_id"]
        api.write_idem("olga", "POST", "/v1/packages/%s/deploy" % pkg, {},
                       "%s-deploy-%d" % (TAG, k))
        pkgs.append((pkg, {o["id"]: expected(o) for o in objs}))
        log("package %d/%d %s deploying (%.1f s)" % (k + 1, NPKG, pkg,
                                                      time.time() - t0))

    report = {"packages": [], "objects": NPKG * PER}
    deadline = time.time() + FINAL_S
    for pkg, want in pkgs:
        while True:
            s, p = api.call("vic", "GET", "/v1/packages/" + pkg)
            final = s == 200 and p.get("status") in ("succeeded", "failed")
            if final or time.time() > deadline:
                break
            time.sleep(0.5)
        rows = {o["id"]: o for o in p.get("objects", [])} if s == 200 else {}
        got = {oid: rows.get(oid, {}).get("outcome", "missing")
               for oid in want}
        lost = sorted(o for o, g in got.items()
                      if g not in ("deployed", "failed", "excluded"))
        wrong = sorted(o for o, g in got.items()
                       if o not in lost and g != want[o])
        counts = {x: sum(1 for g in got.values() if g == x)
                  for x in ("deployed", "failed", "excluded")}
        want_counts = {x: sum(1 for g in want.values() if g == x)
                       for x in ("deployed", "failed", "excluded")}
        reasons = sorted({rows[o].get("reason_code") for o in rows
                          if rows[o].get("outcome") == "failed"} - {None})
        report["packages"].append({
            "package": pkg, "status": p.get("status"),
            "attempt": p.get("attempt"), "final": final,
            "total": len(want), "counts": counts, "expected": want_counts,
            "pending_field": p.get("pending"), "lost": lost[:20],
            "lost_n": len(lost), "wrong": wrong[:20], "wrong_n": len(wrong),
            "failure_reasons": reasons})
    s, dep = api.call("olga", "GET",
                      "/v1/workspaces/prod/deployed-objects?limit=1")
    report["destination_objects"] = dep.get("total") if s == 200 else None
    report["expected_deployed"] = sum(p["expected"]["deployed"]
                                      for p in report["packages"])
    report["seconds"] = round(time.time() - t0, 1)
    with open(report_path, "w") as f:
        json.dump(report, f, indent=1)
    ok = all(p["final"] and not p["lost_n"] and not p["wrong_n"]
             and p["counts"] == p["expected"] for p in report["packages"])
    for p in report["packages"]:
        log("%s: %s attempt %s, %s (expected %s), lost %d, wrong %d"
            % (p["package"], p["status"], p["attempt"], p["counts"],
               p["expected"], p["lost_n"], p["wrong_n"]))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "run":
        sys.exit("usage: fault_flow.py run REPORT.json")
    sys.exit(main())
