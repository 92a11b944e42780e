"""The listener serves its connections on a fixed pool of threads
(XW_API_THREADS, 2 here) and parks its long-polls (http.c, notify.c):

1. 12 long-polls on 2 threads hold none of them: requests sent while they
   wait are answered at once;
2. the parked long-polls answer as soon as the key they watch changes
   (written in Redis behind the API's back), long before their deadline;
3. a long-poll whose key does not change answers at its deadline with
   what it read;
4. 300 more keep-alive connections add no thread, and (without a
   sanitizer) little memory each;
5. a stop (SIGTERM) with waits parked answers them with what they read
   and the process exits.

argv: Redis port, the listener's pid. The packager is not running, so
every write stays pending.
"""
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from xwapi import Api, Checks, load, token  # noqa: E402

api = Api()
check = Checks()
redis_port, pid = int(sys.argv[1]), int(sys.argv[2])
host, port = api.url.split("//")[1].split(":")
port = int(port)


def proc_status(field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (field, pid))


def sanitized():
    with open("/proc/%d/maps" % pid) as f:
        return any("libasan" in line or "libubsan" in line for line in f)


def get(c, path):
    c.request("GET", path, headers={"Authorization": "Bearer " + token("root")})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")


def redis(*args):
    s = socket.create_connection(("127.0.0.1", redis_port))
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    line = s.makefile("rb").readline()
    s.close()
    assert line[:1] != b"-", line
    return line


def pending_write(ws_id):
    ws = load("ws-dev.json")
    ws["id"] = ws_id
    st, body = api.call("root", "PUT", "/v1/workspaces/" + ws_id, ws)
    check(st == 202, (st, body))
    return body["request_id"]


def long_polls(rid, n, wait_ms):
    """n long-polls in threads; returns (threads, results by index)."""
    results = {}

    def one(i):
        c = http.client.HTTPConnection(host, port, timeout=60)
        t0 = time.monotonic()
        st, body = get(c, "/v1/requests/%s?wait_ms=%d" % (rid, wait_ms))
        results[i] = (st, body, time.monotonic() - t0)
        c.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


threads_at_start = proc_status("Threads")

# 1. Twelve waits on two threads; other requests go through meanwhile.
rid = pending_write("lp-one")
waiters, results = long_polls(rid, 12, 8000)
time.sleep(0.5)
check(not results, "a long-poll answered before its key changed: %s" % results)
for _ in range(3):
    c = http.client.HTTPConnection(host, port, timeout=30)
    t0 = time.monotonic()
    st, body = get(c, "/v1/requests/" + rid)
    took = time.monotonic() - t0
    c.close()
    check(st == 200 and body["status"] == "pending", (st, body))
    check(took < 1.0, "a request behind 12 parked long-polls took %.2f s "
          "(they hold the threads)" % took)

# 2. The key changes: every wait answers at once, with the new state.
t_change = time.monotonic()
redis("HSET", "xw:req:" + rid, "status", "done")
for t in waiters:
    t.join(15)
check(len(results) == 12, "only %d of 12 long-polls answered" % len(results))
for i, (st, body, took) in sorted(results.items()):
    check(st == 200 and body["status"] == "done", (i, st, body))
    check(took < 8.0 and time.monotonic() - t_change < 3.0,
          "long-poll %d answered after %.2f s (deadline 8 s): not woken by "
          "the change" % (i, took))

# 3. Nothing changes: the wait answers at its deadline.
rid2 = pending_write("lp-two")
waiters, results = long_polls(rid2, 1, 400)
waiters[0].join(10)
st, body, took = results[0]
check(st == 200 and body["status"] == "pending", (st, body))
check(0.39 <= took < 2.5, "a 400 ms wait answered after %.2f s" % took)

# 4. Idle keep-alive connections: no thread each, little memory each.
rss_before = proc_status("VmRSS")
conns = []
for _ in range(300):
    c = http.client.HTTPConnection(host, port, timeout=30)
    st, _body = get(c, "/v1/requests/" + rid2)
    check(st == 200, st)
    conns.append(c)
time.sleep(0.3)
threads_now = proc_status("Threads")
check(threads_now <= threads_at_start + 1,
      "threads %d -> %d with 300 more connections" % (threads_at_start,
                                                       threads_now))
per_conn_kb = (proc_status("VmRSS") - rss_before) / 300.0
print("listener_pool: %d threads, %.1f KB resident per idle connection"
      % (threads_now, per_conn_kb))
if not sanitized():
    check(per_conn_kb < 40, "%.1f KB per idle connection" % per_conn_kb)
for c in conns:
    c.close()

# 5. Stop with waits parked: they answer what they read, the process ends.
rid3 = pending_write("lp-three")
waiters, results = long_polls(rid3, 5, 20000)
time.sleep(0.5)
os.kill(pid, signal.SIGTERM)
for t in waiters:
    t.join(15)
check(len(results) == 5, "only %d of 5 parked long-polls answered the stop"
      % len(results))
for i, (st, body, took) in sorted(results.items()):
    check(st == 200 and body["status"] == "pending" and took < 10,
          (i, st, body, took))
for _ in range(100):
    if not os.path.exists("/proc/%d" % pid):
        break
    with open("/proc/%d/stat" % pid) as f:
        if f.read().split(")")[1].split()[0] == "Z":
            break
    time.sleep(0.1)
else:
    raise AssertionError("the listener did not stop with waits parked")
check(True, "stopped")
print("%d checks" % check.n)
