"""The five steps end to end through the public API, against the real
services: every object's outcome and destination fields, then a replay
after fixing the environment, and idempotency of package creation and
deployment."""
import calendar
import datetime
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, load, Checks  # noqa: E402

api = Api()
check = Checks()


REDIS = ["redis-cli", "-p", os.environ["REDIS_PORT"]]
AVROJSON = os.path.join(os.environ.get("XW_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build"), "tools", "xw-avrojson")


def redis_hset(key, field, value):
    subprocess.run(REDIS + ["-x", "HSET", key, field], input=value,
                   check=True, capture_output=True)


def answer_as_before(path, key, oids, start, user="vic"):
    """The answer at path is the same bytes with these fields of hash key
    stored as Avro (as the services store them now) as with the JSON
    stored before: that JSON is what xw-avrojson prints (xw_avro_json_write
    of the decoded value, as the service wrote it), put in their place for
    a second look (readers take both), then put back."""
    st, now = api.get_bytes(user, path)
    check(st == 200, (st, now))
    saved = {}
    try:
        for oid in oids:
            v = subprocess.run(REDIS + ["HGET", key, oid], check=True,
                               capture_output=True).stdout[:-1]  # its "\n"
            check(v[:2] == b"\xc3\x01", "%s: stored as Avro: %r" % (oid, v[:40]))
            saved[oid] = v
            j = subprocess.run([AVROJSON], input=v, check=True,
                               capture_output=True).stdout.rstrip(b"\n")
            check(j.startswith(start), j)
            redis_hset(key, oid, j)
        st, before = api.get_bytes(user, path)
    finally:
        for oid, v in saved.items():
            redis_hset(key, oid, v)
    check(st == 200 and now == before,
          "%s with %s as JSON differs:\n%s\n%s" % (path, oids, now, before))


def rows_as_before(pkg, oids):
    """Latest results: the ObjectResult message, formerly its JSON."""
    answer_as_before("/v1/packages/" + pkg, "xw:res:" + pkg, oids,
                     b'{"event_id":')


def ms(s):
    """UTC milliseconds of an ISO time with offset, e.g. 2026-11-26T10:00:00+08:00."""
    d = datetime.datetime.fromisoformat(s)
    return calendar.timegm(d.utctimetuple()) * 1000


# Step 0 (system admin): the two workspaces.
api.write("root", "PUT", "/v1/workspaces/dev", load("ws-dev.json"))
api.write("root", "PUT", "/v1/workspaces/prod", load("ws-prod.json"))

# Step 1 (source admin): the environment, all five mapping kinds.
env = load("env-to-prod.json")
st, body = api.call("dave", "POST", "/v1/workspaces/dev/environments", env)
check(st == 403, "a developer may not create environments: %s" % st)
r = api.write("alice", "POST", "/v1/workspaces/dev/environments", env)
check(r["result"]["version"] == 1, r)

# Step 2 (source O&M): objects to the source's production.
objects = load("objects.json")["objects"]
st, _ = api.call("dave", "POST", "/v1/workspaces/dev/production",
                 {"objects": objects})
check(st == 403, "development may not deploy to production")
api.write("olga", "POST", "/v1/workspaces/dev/production", {"objects": objects})
st, ntd = api.call("vic", "GET", "/v1/workspaces/dev/nodes-to-deploy?limit=1000")
check(st == 200 and ntd["total"] == 20, ntd)

# Step 3 (development): basket, batch add, remove one, package.
ids = [o["id"] for o in objects]
api.write("dave", "POST", "/v1/workspaces/dev/basket", {"object_ids": ids})
api.write("dave", "DELETE", "/v1/workspaces/dev/basket/n-evening-batch")
st, basket = api.call("dave", "GET", "/v1/workspaces/dev/basket")
check(basket["total"] == 19, basket)
key = {"Idempotency-Key": "flow-package-1"}
st1, a1 = api.call("dave", "POST", "/v1/workspaces/dev/packages",
                   {"environment": "to-prod"}, key)
st2, a2 = api.call("dave", "POST", "/v1/workspaces/dev/packages",
                   {"environment": "to-prod"}, key)
check(st1 == 202 and st2 == 202 and a1 == a2,
      "same Idempotency-Key, same answer: %s %s" % (a1, a2))
r = api.wait("dave", (st1, a1))
check(r["status"] == "done", r)
pkg = a1["package_id"]
check(r["result"]["objects"] == 17 and r["result"]["excluded"] == 2, r)

# Step 4 (O&M in both): deploy at a fixed instant, 10:00 in Shanghai.
deploy_at = ms("2026-11-26T10:00:00+08:00")
st, _ = api.call("paul", "POST", "/v1/packages/%s/deploy" % pkg, {})
check(st == 403, "deploy role only in the destination is not enough")
api.write("olga", "POST", "/v1/packages/%s/deploy" % pkg,
          {"deploy_at": deploy_at})
p = api.wait_package("vic", pkg)

# Step 5: the result, object by object.
rows = {o["id"]: o for o in p["objects"]}
check(p["status"] == "failed", p["status"])
check(p["deployed"] == 15 and p["failed"] == 2, p)
expect_failed = {"n-crm-extract": "ds_unmapped", "n-legacy-emr": "compute_unmapped"}
for oid, code in expect_failed.items():
    check(rows[oid]["outcome"] == "failed" and rows[oid]["reason_code"] == code,
          rows[oid])
    check(rows[oid].get("reason"), "a failure has a reason")
excluded = {e["object_id"]: e["reason_code"] for e in p["excluded_objects"]}
check(excluded == {"n-sandbox-probe": "compute_ignored",
                   "n-sandbox-scratch": "compute_ignored"}, excluded)

d = rows["n-daily-sales"]
check(d["outcome"] == "deployed" and d["compute_resource"] == "mc_prod"
      and d["resource_group"] == "rg_sched_prod" and d["owner"] == "dave", d)
check(d["effective_date"] == "2026-11-27"
      and d["effective_at"] == ms("2026-11-27T02:00:00+08:00")
      and d["timing_rule"] == "next_day_before_cutoff", d)
# owner policy default: carol is not a member of prod -> the executor.
check(rows["n-daily-users"]["owner"] == "olga", rows["n-daily-users"])
check(rows["n-intern-job"]["owner"] == "olga", rows["n-intern-job"])
# ignored resource group -> the source group is used.
check(rows["n-log-compact"]["resource_group"] == "rg_sched_spare",
      rows["n-log-compact"])
check(rows["n-order-sync"]["resource_group"] == "rg_di_prod", rows["n-order-sync"])
# Those rows are the same bytes as when the results were stored as JSON.
rows_as_before(pkg, ["n-daily-sales", "n-crm-extract", "n-legacy-emr"])
# immediate: at the scheduled time today, or the next day once passed.
h = rows["n-hourly-clicks"]
check(h["timing_rule"] == "immediate_as_scheduled"
      and h["effective_at"] == ms("2026-11-26T23:55:00+08:00"), h)
m = rows["n-morning-report"]
check(m["timing_rule"] == "immediate_time_passed"
      and m["effective_at"] == ms("2026-11-27T08:30:00+08:00"), m)

# The destination now runs them (Operation Center view).
st, dep = api.call("olga", "GET", "/v1/workspaces/prod/deployed-objects?limit=1000")
check(st == 200 and dep["total"] == 15, dep.get("total"))
live = {o["id"]: o for o in dep["items"]}
s = live["n-daily-sales"]
check(s["data_sources"] == ["mysql_orders"], s)
check(s["dependencies"] == [{"project": "shared_dim_prod", "node": "dim_date"}], s)
params = {x["name"]: x["value"] for x in s["parameters"]}
check(params == {"bizdate": "${yyyymmdd-1}", "env": "prod"}, params)
check(live["n-daily-users"]["dependencies"]
      == [{"project": "prod", "node": "n-daily-sales"}], live["n-daily-users"])
check(live["n-finance-rollup"]["dependencies"]
      == [{"project": "finance_ods", "node": "ods_ledger"}], "ignored dependency kept")
check(live["n-hourly-clicks"]["data_sources"] == ["kafka_clicks_dev"],
      "ignored data source: the source's is used")
# The list is the same bytes with the catalog entries stored as Avro
# CatalogEntry records as with the JSON the deployer stored before (some
# entries of each form side by side, then all of them as JSON).
half = sorted(live)[::2]
answer_as_before("/v1/workspaces/prod/deployed-objects?limit=1000",
                 "xw:dest:prod:objects", half, b'{"id":', "olga")
answer_as_before("/v1/workspaces/prod/deployed-objects?limit=1000",
                 "xw:dest:prod:objects", sorted(live), b'{"id":', "olga")

# Deploying the same package again writes nothing twice.
api.write("olga", "POST", "/v1/packages/%s/deploy" % pkg, {"deploy_at": deploy_at})
p2 = api.wait_package("vic", pkg, attempt=2)
check(p2["deployed"] == 15, p2)

# Fix the environment, replay: only the failed objects run again.
env["data_source_mappings"].append({"source": "pg_crm_dev", "target": None,
                                     "ignore": True})
env["compute_mappings"].append({"source": "emr_legacy", "target": None,
                                "ignore": True})
api.write("alice", "PUT", "/v1/workspaces/dev/environments/to-prod", env)
st, _ = api.call("dave", "POST", "/v1/packages/%s/replay" % pkg)
check(st == 403, "a developer may not replay")
r = api.write("olga", "POST", "/v1/packages/%s/replay" % pkg, {"deploy_at": deploy_at})
check(r["result"]["objects"] == 2 and r["result"]["replay"], r)
p3 = api.wait_package("vic", pkg, attempt=3)
rows = {o["id"]: o for o in p3["objects"]}
check(p3["status"] == "succeeded", p3["status"])
check(rows["n-crm-extract"]["outcome"] == "deployed", rows["n-crm-extract"])
check(rows["n-legacy-emr"]["outcome"] == "excluded", rows["n-legacy-emr"])
rows_as_before(pkg, ["n-crm-extract", "n-legacy-emr"])

st, hist = api.call("vic", "GET", "/v1/workspaces/dev/packages?status=succeeded")
check(st == 200 and any(x["package_id"] == pkg for x in hist["items"]), hist)
# The audit trail: accepted and refused writes, with actor and request id.
st, audit = api.call("alice", "GET", "/v1/audit?workspace=dev&limit=1000")
check(st == 200 and audit["total"] > 5, audit)
outcomes = {(a["actor"], a["outcome"]) for a in audit["items"]}
check(("olga", "accepted") in outcomes and ("dave", "refused") in outcomes,
      sorted(outcomes))
check(all(a["request_id"] for a in audit["items"] if a["outcome"] == "accepted"),
      "accepted writes carry their request id")
st, _ = api.call("dave", "GET", "/v1/audit?workspace=dev")
check(st == 403, "the audit trail is for administrators")
print("%d checks" % check.n)
