"""A package of 10,000 objects goes through all five steps; prints how long
each step took (the figure for the closing note)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, load  # noqa: E402

N = int(os.environ.get("XW_BIG_N", "10000"))
api = Api()
api.write("root", "PUT", "/v1/workspaces/dev", load("ws-dev.json"))
api.write("root", "PUT", "/v1/workspaces/prod", load("ws-prod.json"))
api.write("alice", "POST", "/v1/workspaces/dev/environments", load("env-to-prod.json"))
template = load("objects.json")["objects"][0]
objects = [dict(template, id="n-%05d" % i, name="node_%05d" % i,
                data_sources=[], dependencies=[])
           for i in range(N)]
t0 = time.time()
# Generous waits: under the sanitizers on a busy 2-core machine a 10,000-
# object command takes several seconds (the figures printed are the point).
api.write("olga", "POST", "/v1/workspaces/dev/production", {"objects": objects},
          timeout_ms=120000)
t1 = time.time()
r = api.write("dave", "POST", "/v1/workspaces/dev/packages",
              {"environment": "to-prod", "object_ids": [o["id"] for o in objects]},
              timeout_ms=120000)
pkg = r["result"]["package_id"]
assert r["result"]["objects"] == N, r
t2 = time.time()
api.write("olga", "POST", "/v1/packages/%s/deploy" % pkg, {})
p = api.wait_package("vic", pkg, timeout_s=240)
t3 = time.time()
assert p["status"] == "succeeded" and p["deployed"] == N, {
    k: p.get(k) for k in ("status", "deployed", "failed", "pending")}
# The full view of more than 500 rows is sent as it is read (a stream,
# packages.c): the same rows, in the same order and bytes once decoded,
# as the pages of 500 that are rendered whole.
ids = [o["id"] for o in p["objects"]]
assert len(ids) == N and ids == sorted(ids), (len(ids), ids[:3])
pages = []
for off in range(0, N, 500):
    st, page = api.call("vic", "GET", "/v1/packages/%s?offset=%d&limit=500"
                        % (pkg, off))
    assert st == 200, (st, page)
    pages += page["objects"]
assert pages == p["objects"], "the streamed answer differs from its pages"
st, dep = api.call("olga", "GET", "/v1/workspaces/prod/deployed-objects?limit=1")
assert dep["total"] == N, dep["total"]
print("objects %d: submit %.2f s, package %.2f s, deploy to final %.2f s "
      "(%.0f objects/s), total %.2f s" % (N, t1 - t0, t2 - t1, t3 - t2,
                                           N / (t3 - t2), t3 - t0))
