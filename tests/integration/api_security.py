"""Authentication, authorization and bad input through the public API.

1. every endpoint without a token, or with a wrong one, answers 401;
2. every operation x role-in-source x role-in-destination cell answers
   2xx/4xx-but-not-403 exactly where the rule module's table allows it
   (the table is printed by tests/helpers/xw_permit_table);
3. a table of malformed requests each gets a 4xx JSON error naming the
   field, the service keeps serving, and nothing already accepted is lost.
"""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, load, Checks  # noqa: E402

api = Api()
ROLES = ["none", "admin", "development", "om", "deploy", "visitor"]
check = Checks()


def user(rs, rd):
    return "u-%s-%s" % (rs, rd)


# -- workspaces whose members hold every combination of roles -----------
src, dst = load("ws-dev.json"), load("ws-prod.json")
src["id"], dst["id"] = "sec-src", "sec-dst"
src["members"], dst["members"] = [], []
for rs in ROLES:
    for rd in ROLES:
        if rs != "none":
            src["members"].append({"user": user(rs, rd), "roles": [rs]})
        if rd != "none":
            dst["members"].append({"user": user(rs, rd), "roles": [rd]})
api.write("root", "PUT", "/v1/workspaces/sec-src", src)
api.write("root", "PUT", "/v1/workspaces/sec-dst", dst)
env = load("env-to-prod.json")
env["destination_workspace"] = "sec-dst"
api.write(user("admin", "admin"), "POST", "/v1/workspaces/sec-src/environments", env)
objects = load("objects.json")["objects"][:3]
api.write(user("om", "none"), "POST", "/v1/workspaces/sec-src/production",
          {"objects": objects})
r = api.write(user("development", "none"), "POST", "/v1/workspaces/sec-src/packages",
              {"environment": "to-prod", "object_ids": [objects[0]["id"]]})
pkg = r["result"]["package_id"]

# -- 1. authentication on every endpoint ---------------------------------
ROUTES = [
    ("PUT", "/v1/workspaces/sec-src"), ("GET", "/v1/workspaces/sec-src"),
    ("GET", "/v1/workspaces/sec-src/environment-info"),
    ("POST", "/v1/workspaces/sec-src/environments"),
    ("GET", "/v1/workspaces/sec-src/environments"),
    ("GET", "/v1/workspaces/sec-src/environments/to-prod"),
    ("PUT", "/v1/workspaces/sec-src/environments/to-prod"),
    ("DELETE", "/v1/workspaces/sec-src/environments/to-prod"),
    ("POST", "/v1/workspaces/sec-src/production"),
    ("DELETE", "/v1/workspaces/sec-src/production/x"),
    ("GET", "/v1/workspaces/sec-src/nodes-to-deploy"),
    ("GET", "/v1/workspaces/sec-src/basket"), ("POST", "/v1/workspaces/sec-src/basket"),
    ("DELETE", "/v1/workspaces/sec-src/basket"),
    ("DELETE", "/v1/workspaces/sec-src/basket/x"),
    ("POST", "/v1/workspaces/sec-src/packages"), ("GET", "/v1/workspaces/sec-src/packages"),
    ("GET", "/v1/workspaces/sec-dst/deployed-objects"),
    ("GET", "/v1/packages/" + pkg), ("POST", "/v1/packages/%s/deploy" % pkg),
    ("POST", "/v1/packages/%s/replay" % pkg), ("GET", "/v1/requests/x"),
    ("POST", "/v1/parameters/resolve"),
    ("POST", "/v1/webhooks"), ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/wh-x"), ("PUT", "/v1/webhooks/wh-x"),
    ("DELETE", "/v1/webhooks/wh-x"), ("POST", "/v1/webhooks/wh-x/pause"),
    ("POST", "/v1/webhooks/wh-x/resume"),
    ("GET", "/v1/webhooks/wh-x/deliveries"),
    ("POST", "/v1/webhooks/wh-x/deliveries/d-1/redeliver"),
]
for method, path in ROUTES:
    st, body = api.call(None, method, path, {})
    check(st == 401 and body["error"]["field"] == "Authorization",
          "%s %s without a token: %s %s" % (method, path, st, body))
    st, body = api.call(None, method, path, {},
                        headers={"Authorization": "Bearer not-a-valid-token-at-all"})
    check(st == 401, "%s %s with a bad token: %s" % (method, path, st))
st, body = api.call(None, "GET", "/health")
check(st == 200, "health needs no token")

# -- 2. authorization: every cell of the rule module's table --------------
helper = os.path.join(os.environ["XW_BUILD_DIR"], "tests", "xw_permit_table")
table = [json.loads(l) for l in subprocess.check_output([helper]).decode().splitlines()]
OPS = {
    "env_create": ("POST", "/v1/workspaces/sec-src/environments?dry_run=true", env),
    "env_edit": ("PUT", "/v1/workspaces/sec-src/environments/to-prod?dry_run=true", env),
    "env_delete": ("DELETE", "/v1/workspaces/sec-src/environments/no-such-env", None),
    "env_view": ("GET", "/v1/workspaces/sec-src/environments", None),
    "source_deploy": ("POST", "/v1/workspaces/sec-src/production", {"objects": []}),
    "source_terminate": ("DELETE", "/v1/workspaces/sec-src/production/no-such", None),
    "basket_edit": ("POST", "/v1/workspaces/sec-src/basket", {"object_ids": []}),
    "package_create": ("POST", "/v1/workspaces/sec-src/packages", {"environment": "no-such"}),
    "deploy_all": ("POST", "/v1/workspaces/sec-src/packages",
                   {"environment": "to-prod", "deploy_now": True,
                    "object_ids": ["no-such-object"]}),
    "package_deploy": ("POST", "/v1/packages/%s/deploy" % pkg, {"unknown": 1}),
    "rg_override": ("POST", "/v1/packages/%s/deploy" % pkg,
                    {"resource_group_override": "rg_sched_prod", "unknown": 1}),
    "result_view": ("GET", "/v1/packages/" + pkg, None),
    "replay": ("POST", "/v1/packages/%s/replay" % pkg, None),
}
allow = {(c["op"], c["source"], c["destination"]): c["allow"] for c in table}
# deploy_all creates a package first: the request needs both rows.
for rs in ROLES:
    for rd in ROLES:
        allow[("deploy_all", rs, rd)] = (allow[("deploy_all", rs, rd)]
                                         and allow[("package_create", rs, rd)])
cells = 0
for op, (method, path, body) in OPS.items():
    for rs in ROLES:
        for rd in ROLES:
            st, b = api.call(user(rs, rd), method, path, body)
            want = allow[(op, rs, rd)]
            got = st != 403
            check(got == want and st < 500 and st != 202,
                  "%s as %s/%s: %s %s (table says %s)" % (op, rs, rd, st, b, want))
            if st == 403:
                check(b["error"]["rule"] == "permission" and b["error"]["findings"],
                      b)
            cells += 1
check(cells == len(OPS) * 36, cells)

# -- 3. bad input ---------------------------------------------------------
admin, om = user("admin", "admin"), user("om", "none")
st, before = api.call(admin, "GET", "/v1/workspaces/sec-src/nodes-to-deploy")
BAD = [
    ("malformed JSON", om, "POST", "/v1/workspaces/sec-src/production",
     b'{"objects": [', 400, "body"),
    ("not an object", om, "POST", "/v1/workspaces/sec-src/production",
     b'[1,2]', 400, "body"),
    ("wrong type", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": "many"}).encode(), 400, "objects"),
    ("missing field", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [{k: v for k, v in objects[0].items()
                              if k != "compute_resource"}]}).encode(),
     400, "objects[0].compute_resource"),
    ("unknown field", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [dict(objects[0], colour="red")]}).encode(),
     400, "objects[0].colour"),
    ("bad enum", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [dict(objects[0], kind="table")]}).encode(),
     400, "objects[0].kind"),
    ("invalid UTF-8", om, "POST", "/v1/workspaces/sec-src/production",
     b'{"objects": [{"id": "\xff\xfe"}]}', 400, "body"),
    ("too many items", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [objects[0]] * 10001}).encode(), 400, "objects"),
    ("huge string", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [dict(objects[0], name="x" * 5000)]}).encode(),
     400, "objects[0].name"),
    ("bad object id", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [dict(objects[0], id="../../etc")]}).encode(),
     400, "objects[0].id"),
    ("bad schedule", om, "POST", "/v1/workspaces/sec-src/production",
     json.dumps({"objects": [dict(objects[0], scheduled_time="25:61")]}).encode(),
     400, "objects[0].scheduled_time"),
    ("oversized body", om, "POST", "/v1/workspaces/sec-src/production",
     b'{"objects": "' + b"a" * (9 * 1024 * 1024) + b'"}', 413, "body"),
    ("path traversal", admin, "GET", "/v1/workspaces/..%2F..%2Fetc/environments",
     None, 404, "path"),
    ("encoded id", admin, "GET", "/v1/workspaces/a%20b/environments", None, 400,
     "path"),
    ("dot-dot id", admin, "GET", "/v1/workspaces/../environments", None, 400, "path"),
    ("huge id", admin, "GET", "/v1/workspaces/" + "w" * 65, None, 400, "path"),
    ("bad param expression", admin, "POST", "/v1/parameters/resolve",
     json.dumps({"expression": "${yyyymmdq}", "bizdate": "2026-01-01",
                 "cyctime": "2026-01-01T00:00:00"}).encode(), 422, "expression"),
    ("bad environment", admin, "POST", "/v1/workspaces/sec-src/environments",
     json.dumps(dict(env, name="e2", compute_mappings=[])).encode(),
     422, "compute_mappings"),
    ("fixed deploy time refused in production", admin, "POST",
     "/v1/packages/%s/deploy" % pkg, None, None, None),
]
for name, who, method, path, raw, want, field in BAD:
    if want is None:
        continue
    st, b = api.call(who, method, path, raw=raw)
    check(st == want, "%s: status %s, want %s: %s" % (name, st, want, b))
    check(isinstance(b, dict) and b["error"]["field"].startswith(field),
          "%s: field %r, want %r" % (name, b["error"]["field"] if isinstance(b, dict) else b, field))
    check(b["error"]["rule"] and b["error"]["message"], name)
st, _ = api.call(None, "GET", "/health")
check(st == 200, "still serving")
st, after = api.call(admin, "GET", "/v1/workspaces/sec-src/nodes-to-deploy")
check(after["total"] == before["total"] == 3, "nothing accepted was lost")
print("%d checks, %d authorization cells" % (check.n, cells))
