"""GET /v1/packages/{id}: the summary form, pages of objects, the long-poll
(wait_ms, changed_from), their bad values, and who may use them; and the
request long-poll's bounds. Runs after flow.py on its stack (flow.sh): the
package flow.py deployed three times is final (succeeded, attempt 3)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, Checks  # noqa: E402

api = Api()
check = Checks()


def get(user, path):
    t = time.time()
    st, body = api.call(user, "GET", path)
    return st, body, time.time() - t


st, hist = api.call("vic", "GET", "/v1/workspaces/dev/packages?status=succeeded")
check(st == 200 and hist["items"], hist)
pkg = hist["items"][0]["package_id"]
base = "/v1/packages/" + pkg

# -- the full view, and the same objects in pages --------------------------
st, full, _ = get("vic", base)
check(st == 200 and full["status"] == "succeeded", full.get("status"))
check("objects_page" not in full, "no paging asked, none answered")
ids = [o["id"] for o in full["objects"]]
check(ids == sorted(ids) and len(ids) == len(set(ids)), "objects by id, once")
check(any(o["outcome"] == "excluded" for o in full["objects"]),
      "excluded objects are rows too")
rows = []
for off in range(0, len(ids) + 7, 7):
    st, page, _ = get("vic", "%s?offset=%d&limit=7" % (base, off))
    check(st == 200, (st, page))
    check(page["objects_page"] == {"offset": off, "limit": 7,
                                   "total": len(ids)}, page["objects_page"])
    check(len(page["objects"]) == max(0, min(7, len(ids) - off)),
          (off, len(page["objects"])))
    rows += page["objects"]
check(rows == full["objects"], "the pages put together are the full answer")
st, page, _ = get("vic", base + "?limit=3")
check(st == 200 and [o["id"] for o in page["objects"]] == ids[:3], page)
st, page, _ = get("vic", base + "?objects=true&offset=%d" % (len(ids) - 1))
check(st == 200 and [o["id"] for o in page["objects"]] == ids[-1:], page)

# -- the summary form ------------------------------------------------------
st, s, _ = get("vic", base + "?objects=false")
check(st == 200 and not isinstance(s.get("objects"), list), s)
for k in ("package_id", "status", "attempt", "total", "deployed", "failed",
          "excluded", "source_workspace", "destination_workspace"):
    check(s.get(k) == full.get(k), (k, s.get(k), full.get(k)))
check(s["status"] == "succeeded" and s["attempt"] == 3, s)
st, s0, _ = get("vic", base + "?objects=0")
check(st == 200 and s0 == s, "objects=0 is objects=false")

# -- the long-poll -----------------------------------------------------------
st, s1, dt = get("vic", base + "?objects=false&wait_ms=20000")
check(st == 200 and s1["status"] == "succeeded" and dt < 2,
      "a final package answers at once (%.2f s)" % dt)
st, s1, dt = get("vic", base + "?objects=false&wait_ms=20000&changed_from=failed")
check(st == 200 and dt < 2, "already changed from failed: at once (%.2f s)" % dt)
st, s1, dt = get("vic", base + "?objects=false&wait_ms=400&changed_from=succeeded:3")
check(st == 200 and s1["status"] == "succeeded" and 0.35 <= dt < 5,
      "unchanged: answered at the deadline (%.2f s)" % dt)
# A new attempt wakes a waiter that gave the old state: deploying:4 (or,
# if it was that fast, its end), well before the 20 s.
api.write("olga", "POST", base + "/deploy", {})
st, s2, dt = get("vic", base + "?objects=false&wait_ms=20000&changed_from=succeeded:3")
check(st == 200 and s2["attempt"] == 4 and dt < 10, (s2, dt))
while s2["status"] not in ("succeeded", "failed"):
    st, s2, dt = get("vic", base + "?objects=false&wait_ms=20000&changed_from=%s:%d"
                     % (s2["status"], s2["attempt"]))
    check(st == 200 and s2["attempt"] == 4 and dt < 19, (s2, dt))
check(s2["status"] == "succeeded", s2)
# The full form waits the same way (here: final already).
st, f2, dt = get("vic", base + "?wait_ms=5000&limit=2")
check(st == 200 and f2["attempt"] == 4 and len(f2["objects"]) == 2 and dt < 2,
      (f2.get("attempt"), dt))

# -- bad values: 400 naming the parameter and the rule -----------------------
bad = [
    ("objects=maybe", "objects", "boolean"),
    ("objects=", None, None),  # empty is the default, not an error
    ("limit=0", "limit", "range"),
    ("limit=10001", "limit", "range"),
    ("limit=ten", "limit", "range"),
    ("offset=-1", "offset", "range"),
    ("offset=1x", "offset", "range"),
    ("wait_ms=-1", "wait_ms", "range"),
    ("wait_ms=30001", "wait_ms", "range"),
    ("wait_ms=soon", "wait_ms", "range"),
    ("wait_ms=100&changed_from=done", "changed_from", "format"),
    ("wait_ms=100&changed_from=failed:x", "changed_from", "format"),
    ("changed_from=failed", "changed_from", "requires"),
    ("objects=false&limit=5", "objects", "conflict"),
]
for q, field, rule in bad:
    st, e, _ = get("vic", base + "?" + q)
    if field is None:
        check(st == 200, (q, st, e))
        continue
    check(st == 400 and e["error"]["field"] == field and e["error"]["rule"] == rule
          and e["error"]["message"], (q, st, e))
for q in ("wait_ms=30001", "wait_ms=x", "wait_ms=-5"):
    st, e, _ = get("olga", "/v1/requests/00000000-0000-0000-0000-000000000000?" + q)
    check(st == 400 and e["error"]["field"] == "wait_ms"
          and e["error"]["rule"] == "range", (q, st, e))

# -- who: every form needs a token and membership of either workspace --------
for q in ("", "?objects=false", "?offset=0&limit=1", "?objects=false&wait_ms=3000",
          "?wait_ms=3000&changed_from=succeeded:4"):
    st, _, dt = get(None, base + q)
    check(st == 401, ("no token", q, st))
    st, e, dt = get("eve", base + q)
    check(st == 403 and dt < 2, ("a member of neither workspace", q, st, dt))
    for u in ("vic", "paul"):  # a visitor of the source; deploy in the destination
        st, _, _ = get(u, base + q)
        check(st == 200, (u, q, st))
st, _, _ = get("vic", "/v1/packages/pkg-nope?objects=false&wait_ms=3000")
check(st == 404, "unknown package: 404 at once")

# -- the request long-poll answers as soon as the write is applied -----------
some = next(o["id"] for o in full["objects"] if o["outcome"] == "deployed")
st, acc = api.call("dave", "POST", "/v1/workspaces/dev/basket", {"object_ids": [some]})
check(st == 202, acc)
st, r, dt = get("dave", acc["status_url"] + "?wait_ms=10000")
check(st == 200 and r["status"] in ("done", "rejected") and dt < 5, (r, dt))
st, e, dt = get("olga", acc["status_url"] + "?wait_ms=5000")
check(st == 404 and dt < 2, "somebody else's request: 404 at once (%s, %.2f s)" % (st, dt))
print("%d checks" % check.n)
