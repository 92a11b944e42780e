"""A write whose answer was lost: the first attempt with an Idempotency-Key
reached the log (the listener died before answering, or its producer
reported a failure for an event the broker had in fact appended, as after
a fatal producer error), but the client never saw the 202. Its retry must
get 202 with the same request id, not a refusal from the state that the
first attempt created ("package is being deployed").

Run by flow.sh with the deployer stopped (SIGSTOP), so that the package
stays "deploying" while the retry comes in; argv[1] is the Redis port."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, Checks  # noqa: E402

api = Api()
check = Checks()
redis = ["redis-cli", "-p", sys.argv[1]]

st, hist = api.call("vic", "GET", "/v1/workspaces/dev/packages?status=succeeded")
check(st == 200 and hist["items"], hist)
pkg = hist["items"][0]["package_id"]
path = "/v1/packages/%s/deploy" % pkg
key = {"Idempotency-Key": "lost-answer-1"}

st, first = api.call("olga", "POST", path, {}, key)
check(st == 202, (st, first))
r = api.wait("olga", (st, first))
check(r["status"] == "done", r)
st, pk = api.call("vic", "GET", "/v1/packages/%s?objects=false&wait_ms=10000"
                  "&changed_from=succeeded" % pkg)
check(pk["status"] == "deploying", "the deployer is stopped: %s" % pk.get("status"))

# Without a key, another deploy is refused while this one runs.
st, other = api.call("olga", "POST", path, {})
check(st == 409 and other["error"]["rule"] == "state", (st, other))

# The answer is lost: the stored answer goes, the applied request stays.
subprocess.run(redis + ["DEL", "xw:idem:olga:%s" % first["request_id"]],
               check=True, stdout=subprocess.DEVNULL)
st, again = api.call("olga", "POST", path, {}, key)
check(st == 202 and again["request_id"] == first["request_id"],
      "retry of an applied request: %s %s" % (st, again))
r = api.wait("olga", (st, again))
check(r["status"] == "done", r)
print("%d checks" % check.n)
