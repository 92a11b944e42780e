"""The listener's role cache (services/submit-listener/access.c) never
honours a role that Redis no longer has, and honours a new one at once.

1. the cache is used: repeated checks are answered from memory (metrics);
2. through the API: a workspace re-registered without a member's role
   refuses that member's very next request (403), and re-registered with
   it allows the very next one; an unregistered workspace answers 404 and
   is found by the very next request once registered;
3. behind the API's back: a role changed in Redis directly (one command
   on a raw connection, the HTTP request sent as soon as Redis answered)
   is honoured by the very next request, both ways, many times;
4. with the tracking connections killed: a change made while they are
   down, or before they are back, is honoured (the cache is off while
   tracking is not confirmed, and emptied when it comes back).

argv: Redis port, the listener's admin port, the listener's log file.
"""
import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, Checks, load  # noqa: E402

api = Api()
check = Checks()
redis_port, admin_port, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Redis:
    """Just enough RESP to send one command and read a simple reply."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        line = self.f.readline()
        assert line[:1] != b"-", line
        if line[:1] == b"$" and int(line[1:]) >= 0:
            return self.f.read(int(line[1:]) + 2)[:-2]
        return line.rstrip()


def metric(name):
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % admin_port,
                                timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
    return 0


WS = "rc-src"
ws = load("ws-dev.json")
ws["id"] = WS


def register(ann_roles):
    ws["members"] = [{"user": "ann", "roles": ann_roles},
                     {"user": "bob", "roles": ["development"]}]
    api.write("root", "PUT", "/v1/workspaces/" + WS, ws)


def production(user="ann"):
    """Step 2 with an empty list: refused (403) without O&M, Deploy or
    Workspace Administrator, else 400 (at least one object): nothing is
    emitted either way."""
    st, body = api.call(user, "POST", "/v1/workspaces/%s/production" % WS,
                        {"objects": []})
    check(st in (400, 403, 404), (st, body))
    return st


# -- 1. the cache is used ------------------------------------------------
st, _ = api.call("ann", "POST", "/v1/workspaces/%s/production" % WS,
                 {"objects": []})
check(st == 404, "not registered yet: %s" % st)
register(["om"])
check(production() == 400, "om may deploy to production")
hits = metric("xw_api_role_cache_hits_total")
for _ in range(5):
    check(production() == 400, "om, again")
check(metric("xw_api_role_cache_hits_total") >= hits + 5,
      "five checks of a warm entry came from the cache")

# -- 2. through the API --------------------------------------------------
for _ in range(3):
    register(["visitor"])
    check(production() == 403, "revoked: the very next request is refused")
    check(production("bob") == 403, "development may not deploy either")
    register(["om"])
    check(production() == 400, "granted: the very next request is allowed")
st, _ = api.call("ann", "POST", "/v1/workspaces/rc-late/production",
                 {"objects": []})
check(st == 404, "an unknown workspace: %s" % st)
late = dict(ws, id="rc-late", members=[{"user": "ann", "roles": ["deploy"]}])
api.write("root", "PUT", "/v1/workspaces/rc-late", late)
st, _ = api.call("ann", "POST", "/v1/workspaces/rc-late/production",
                 {"objects": []})
check(st == 400, "registered: found by the very next request (%s)" % st)

# -- 3. behind the API's back ----------------------------------------------
r = Redis(redis_port)
roles_key = "xw:ws:%s:roles" % WS
for i in range(50):
    production()                      # warm
    r.cmd("HSET", roles_key, "ann", "visitor")
    check(production() == 403, "round %d: revoked in Redis, next refused" % i)
    r.cmd("HSET", roles_key, "ann", "om")
    check(production() == 400, "round %d: granted in Redis, next allowed" % i)
r.cmd("DEL", "xw:ws:rc-late")
st, _ = api.call("ann", "POST", "/v1/workspaces/rc-late/production",
                 {"objects": []})
check(st == 404, "deleted in Redis: the very next request says 404 (%s)" % st)


# -- 4. tracking connections killed ----------------------------------------
def notifications_on():
    with open(log_path) as f:
        return f.read().count("change notification on")


def kill_tracking():
    """Kills the notifier's connections: the subscribers, and those that
    turned tracking on (flag t); two of each (the waits', the cache's)."""
    killed = 0
    for line in r.cmd("CLIENT", "LIST").decode().splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "t" in fields.get("flags", "") or fields.get("sub", "0") != "0":
            r.cmd("CLIENT", "KILL", "ID", fields["id"])
            killed += 1
    return killed


for i, revoke_while_down in enumerate([True, False, True]):
    check(production() == 400, "warm before kill %d" % i)
    before = notifications_on()
    check(kill_tracking() == 4, "the four tracking connections found")
    if revoke_while_down:
        r.cmd("HSET", roles_key, "ann", "visitor")
        check(production() == 403, "kill %d: revoked while down" % i)
    deadline = time.time() + 10
    while notifications_on() == before and time.time() < deadline:
        time.sleep(0.05)
    check(notifications_on() > before, "tracking came back")
    if not revoke_while_down:
        r.cmd("HSET", roles_key, "ann", "visitor")
    check(production() == 403, "kill %d: refused once tracking is back" % i)
    hits = metric("xw_api_role_cache_hits_total")
    check(production() == 403 and production() == 403, "still refused")
    r.cmd("HSET", roles_key, "ann", "om")
    check(production() == 400, "kill %d: granted again" % i)
check(metric("xw_api_role_cache_hits_total") > hits,
      "the cache is in use again after the reconnects")
print("%d checks" % check.n)
