"""A small client of the xwdeploy HTTP API for integration tests.

Uses only the standard library. Every call returns (status, body) with the
body decoded from JSON; `wait` follows an accepted write until the packager
applied it; `wait_package` polls a package until it reaches a final state.
"""
import json
import os
import time
import urllib.error
import urllib.request

TOKEN_SUFFIX = "-token-0123456789"


def token(user):
    return user + TOKEN_SUFFIX


def tokens_env(users):
    return ",".join("%s:%s" % (u, token(u)) for u in users)


class Api:
    def __init__(self, url=None):
        self.url = url or os.environ["XW_API_URL"]

    def call(self, user, method, path, body=None, headers=None, raw=None):
        h = {"Content-Type": "application/json"}
        if user:
            h["Authorization"] = "Bearer " + token(user)
        h.update(headers or {})
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def get_bytes(self, user, path):
        """GET without decoding: (status, the body's bytes)."""
        req = urllib.request.Request(self.url + path, method="GET", headers={
            "Authorization": "Bearer " + token(user)})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def wait(self, user, accepted, timeout_ms=10000):
        """Waits for an accepted (202) write to be applied; returns its status."""
        st, body = accepted
        assert st == 202, "expected 202, got %s %s" % (st, body)
        deadline = time.time() + timeout_ms / 1000
        while True:
            s, r = self.call(user, "GET", "/v1/requests/%s?wait_ms=2000"
                             % body["request_id"])
            assert s == 200, (s, r)
            if r["status"] != "pending" or time.time() > deadline:
                return r

    def write(self, user, method, path, body=None, expect="done", headers=None,
              timeout_ms=10000):
        r = self.wait(user, self.call(user, method, path, body, headers),
                      timeout_ms)
        assert r["status"] == expect, "%s %s: %s" % (method, path, r)
        return r

    def wait_package(self, user, pkg, timeout_s=60, attempt=None):
        """Follows the package's summary with the long-poll until it is final
        (in `attempt`, if given), then returns the full view once."""
        deadline = time.time() + timeout_s
        q = "?objects=false&wait_ms=1000"
        while True:
            s, p = self.call(user, "GET", "/v1/packages/" + pkg + q)
            if s == 404 and time.time() < deadline:
                time.sleep(0.1)  # accepted, not frozen yet
                continue
            assert s == 200, (s, p)
            final = p.get("status") in ("succeeded", "failed")
            if final and (attempt is None or p.get("attempt") == attempt):
                s, p = self.call(user, "GET", "/v1/packages/" + pkg)
                assert s == 200, (s, p)
                return p
            if time.time() > deadline:
                raise AssertionError("package %s not final: %s" % (
                    pkg, {k: p.get(k) for k in ("status", "attempt", "deployed",
                                                "failed", "pending")}))
            # Final in another attempt: wait for the state to change.
            q = "?objects=false&wait_ms=1000" + (
                "&changed_from=%s:%s" % (p["status"], p["attempt"]) if final else "")


class Checks:
    """The assertions of a test script: check(cond, what) raises with `what`
    when cond is false and counts the ones that held (check.n), for the
    "N checks" line the shell test prints."""

    def __init__(self):
        self.n = 0

    def __call__(self, cond, what):
        if not cond:
            raise AssertionError(what)
        self.n += 1


def load(name):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "scripts", "demo-data", name)) as f:
        return json.load(f)


DEMO_USERS = ["root", "alice", "dave", "olga", "vic", "carol", "paul", "eve"]
