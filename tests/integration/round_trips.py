"""The listener's Redis round trips per request type, from its own
counters: each request is made N times, the median of the change of
xw_redis_round_trips_total (less xw_api_redis_deferred_reads_total: the
replies of writes not waited for, read after the answer) must not exceed
what docs/performance.md states ("Round trips per request"). A check that
the work of issue 7's session 5 stays done: a handler that reads again
what it already has, or waits for a reply it need not, fails here.

argv: the listener's admin port.
"""
import os
import statistics
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, Checks, load  # noqa: E402

api = Api()
check = Checks()
admin = sys.argv[1]
N = 7
COUNTERS = ("xw_redis_round_trips_total", "xw_api_redis_deferred_reads_total")

# request -> (blocking round trips, deferred reads), at most
LIMITS = {
    "POST production": (1, 0),
    "POST production, key": (1, 1),
    "POST production, key, retried": (1, 0),
    "POST packages": (2, 0),
    "POST packages, key": (2, 1),
    "POST deploy": (2, 0),
    "POST deploy, key": (2, 1),
    "POST basket": (2, 0),
    "POST basket, key": (2, 1),
    "GET request": (1, 0),
    "GET package": (2, 0),
    "GET package, summary": (1, 0),
    "GET packages": (2, 0),
}
seen = {}


def counters():
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % admin,
                                timeout=5) as r:
        m = dict(line.split()[:2] for line in r.read().decode().splitlines()
                 if line.startswith("xw_"))
    return [float(m.get(k, 0)) for k in COUNTERS]


def measured(name, want, user, method, path, body=None, key=None):
    a = counters()
    st, ans = api.call(user, method, path, body,
                       {"Idempotency-Key": key} if key else None)
    b = counters()
    check(st == want, "%s: %s %s" % (name, st, ans))
    rt, deferred = b[0] - a[0], b[1] - a[1]
    seen.setdefault(name, []).append((rt - deferred, deferred))
    return ans


api.write("root", "PUT", "/v1/workspaces/dev", load("ws-dev.json"))
api.write("root", "PUT", "/v1/workspaces/prod", load("ws-prod.json"))
api.write("alice", "POST", "/v1/workspaces/dev/environments",
          load("env-to-prod.json"))
obj = load("objects.json")["objects"][0]
for i in range(N):
    for keyed in (False, True):
        sfx = ", key" if keyed else ""

        def key(step):
            return "rt-%d-%s" % (i, step) if keyed else None
        o = dict(obj, id="rt-%d-%d" % (i, keyed))
        a = measured("POST production" + sfx, 202, "olga", "POST",
                     "/v1/workspaces/dev/production", {"objects": [o]},
                     key("p"))
        api.wait("olga", (202, a))
        if keyed:
            measured("POST production, key, retried", 202, "olga", "POST",
                     "/v1/workspaces/dev/production", {"objects": [o]},
                     key("p"))
        measured("GET request", 200, "olga", "GET",
                 "/v1/requests/" + a["request_id"])
        a = measured("POST packages" + sfx, 202, "dave", "POST",
                     "/v1/workspaces/dev/packages",
                     {"environment": "to-prod", "object_ids": [o["id"]]},
                     key("c"))
        check(api.wait("dave", (202, a))["status"] == "done", a)
        pkg = a["package_id"]
        measured("POST deploy" + sfx, 202, "olga", "POST",
                 "/v1/packages/%s/deploy" % pkg, {}, key("d"))
        p = api.wait_package("vic", pkg)
        check(p["status"] == "succeeded", p)
        measured("GET package", 200, "vic", "GET", "/v1/packages/" + pkg)
        measured("GET package, summary", 200, "vic", "GET",
                 "/v1/packages/%s?objects=false" % pkg)
        measured("GET packages", 200, "vic", "GET",
                 "/v1/workspaces/dev/packages?limit=5")
        a = measured("POST basket" + sfx, 202, "dave", "POST",
                     "/v1/workspaces/dev/basket", {"object_ids": [o["id"]]},
                     key("b"))
        api.wait("dave", (202, a))

print("%-32s %9s %9s" % ("median per request", "blocking", "deferred"))
for name, (rt_max, deferred_max) in LIMITS.items():
    rt = statistics.median(x[0] for x in seen[name])
    deferred = statistics.median(x[1] for x in seen[name])
    print("%-32s %9.1f %9.1f" % (name, rt, deferred))
    check(rt <= rt_max and deferred <= deferred_max,
          "%s: %.1f blocking round trips and %.1f deferred reads, at most "
          "%d and %d" % (name, rt, deferred, rt_max, deferred_max))
print("%d checks" % check.n)
