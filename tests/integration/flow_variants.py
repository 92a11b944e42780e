"""Variants of the five steps: unsupported workspace combinations refused
with the rule's code, both non-default owner policies, a deploy-time
resource group override, and "deploy all" by an administrator."""
import copy
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, load, Checks  # noqa: E402

api = Api()
check = Checks()


dev, prod = load("ws-dev.json"), load("ws-prod.json")
api.write("root", "PUT", "/v1/workspaces/dev", dev)
api.write("root", "PUT", "/v1/workspaces/prod", prod)
env = load("env-to-prod.json")
objects = load("objects.json")["objects"]


def workspace(id, **changes):
    w = copy.deepcopy(prod)
    w["id"] = id
    w.update(changes)
    api.write("root", "PUT", "/v1/workspaces/" + id, w)


# -- combinations and scope: refused at environment creation ----------------
workspace("other-region", region="cn-beijing")
workspace("other-account", account="2002")
workspace("legacy-dst", datastudio="legacy")
std_src = copy.deepcopy(dev)
std_src.update(id="std-src", mode="standard")
api.write("root", "PUT", "/v1/workspaces/std-src", std_src)
for dst, code in (("other-region", "cross_region"), ("other-account", "cross_account"),
                  ("legacy-dst", "studio_version_mismatch"),
                  ("no-such-ws", "destination_missing")):
    e = dict(env, name="to-" + dst, destination_workspace=dst)
    st, b = api.call("alice", "POST", "/v1/workspaces/dev/environments", e)
    codes = [f["code"] for f in b["error"].get("findings", [])] if st == 422 else []
    check(st == 422 and code in codes, "%s: %s %s" % (dst, st, b))
st, b = api.call("alice", "POST", "/v1/workspaces/std-src/environments", env)
codes = [f["code"] for f in b["error"].get("findings", [])] if st == 422 else []
check(st == 422 and "source_not_basic" in codes, "standard source: %s" % b)
st, b = api.call("alice", "POST", "/v1/workspaces/dev/environments",
                 dict(env, name="to-region", destination_workspace="other-region"))
msg = [f["message"] for f in b["error"]["findings"] if f["code"] == "cross_region"][0]
check("not supported" in msg or "Deploy Center" in msg, msg)

# -- owner policies and a resource group override --------------------------
api.write("olga", "POST", "/v1/workspaces/dev/production", {"objects": objects})
subset = ["n-daily-sales", "n-daily-users", "n-noon-refresh", "f-parse-ua"]


bump = [10]


def deploy(policy, creator, executor, override=None):
    # A destination holds each object version once: every variant deploys
    # new versions, so that its mapping is what the destination runs.
    bump[0] += 1
    fresh = [dict(o, version=bump[0]) for o in objects if o["id"] in subset]
    api.write("olga", "POST", "/v1/workspaces/dev/production", {"objects": fresh})
    e = dict(env, name="by-" + policy, owner_policy=policy)
    st, _ = api.call("alice", "GET", "/v1/workspaces/dev/environments/" + e["name"])
    if st == 404:
        api.write("alice", "POST", "/v1/workspaces/dev/environments", e)
    r = api.write(creator, "POST", "/v1/workspaces/dev/packages",
                  {"environment": e["name"], "object_ids": subset})
    pkg = r["result"]["package_id"]
    body = {"resource_group_override": override} if override else {}
    api.write(executor, "POST", "/v1/packages/%s/deploy" % pkg, body)
    p = api.wait_package("vic", pkg)
    return pkg, p, {o["id"]: o for o in p["objects"]}


pkg, p, rows = deploy("package_creator", "dave", "olga")
check(p["status"] == "succeeded", p)
check(all(rows[i]["owner"] == "dave" for i in subset), rows)
pkg, p, rows = deploy("package_executor", "dave", "alice")
check(all(rows[i]["owner"] == "alice" for i in subset), rows)
pkg, p, rows = deploy("default", "carol", "olga", override="rg_sched_prod_big")
check(rows["n-daily-sales"]["resource_group"] == "rg_sched_prod_big"
      and rows["n-noon-refresh"]["resource_group"] == "rg_sched_prod_big", rows)
check(rows["n-daily-sales"]["owner"] == "dave" and rows["n-daily-users"]["owner"] == "olga",
      "default policy: member keeps, non-member gets the executor")
check(rows["f-parse-ua"]["outcome"] == "deployed", "no group, no override needed")
# An override of another type fails the objects that have a group.
pkg, p, rows = deploy("default", "dave", "olga", override="rg_di_prod")
check(rows["n-daily-sales"]["outcome"] == "failed"
      and rows["n-daily-sales"]["reason_code"] == "rg_override_type", rows["n-daily-sales"])
check(rows["f-parse-ua"]["outcome"] == "deployed", rows["f-parse-ua"])

# -- "deploy all": an administrator creates and deploys in one call ---------
api.write("alice", "POST", "/v1/workspaces/dev/environments", env)
st, b = api.call("dave", "POST", "/v1/workspaces/dev/packages",
                 {"environment": "to-prod", "object_ids": subset, "deploy_now": True})
check(st == 403, "deploy all is for administrators: %s %s" % (st, b))
bump[0] += 1
api.write("olga", "POST", "/v1/workspaces/dev/production",
          {"objects": [dict(o, version=bump[0]) for o in objects if o["id"] in subset]})
st, a = api.call("alice", "POST", "/v1/workspaces/dev/packages",
                 {"environment": "to-prod", "object_ids": subset, "deploy_now": True})
check(st == 202 and a["package_id"], a)
p = api.wait_package("vic", a["package_id"])
check(p["status"] == "succeeded" and p["executor"] == "alice", p)
print("%d checks" % check.n)
