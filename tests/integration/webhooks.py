"""Webhooks end to end (run by webhooks.sh, which starts the stack with
short retry settings: timeout 1.5 s, backoff 100..800 ms, give up after
8 s).

1. the subscriptions API: validation, who may filter on what, owner-only
   visibility, Idempotency-Key, update, delete; the CLI's webhook commands;
2. one package deployed with six subscriptions on four receivers:
   fast (answers at once), flaky (500, 500, then 200), slow (sleeps past
   the timeout every time), down (not listening for 3 s, then up), plus
   filters that must match nothing (status succeeded, a non-member);
3. what each receiver got, and the delivery log: same delivery id across
   retries, attempts, HTTP statuses, latencies, last errors, parking;
4. the slow receiver does not slow the fast one: enqueue-to-receipt
   latency of every fast delivery, measured while the slow one times out;
5. three verifiers (the receiver's own, examples/webhook-verify.sh and
   xw_http_verify) accept genuine deliveries and refuse a tampered body,
   a stale timestamp and a wrong secret;
6. manual redelivery (same id, fresh signature), pause and resume;
7. no secret in any API answer (webhooks.sh also greps every log).
"""
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from xwapi import Api, load, token, Checks  # noqa: E402

SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ["XW_BUILD_DIR"]
RUN = os.environ["XW_RUN_DIR"]
DIR = os.path.join(RUN, "webhooks")
CLI = os.path.join(BUILD, "tools", "xwdeploy")
VERIFY_SH = os.path.join(SRC, "examples", "webhook-verify.sh")
VERIFY_C = os.path.join(BUILD, "tests", "webhook_verify")
RECEIVER = os.path.join(SRC, "tests", "helpers", "webhook_receiver.py")
TIMEOUT_MS = int(os.environ["XW_WEBHOOK_TIMEOUT_MS"])
MAX_AGE_S = int(os.environ["XW_WEBHOOK_MAX_AGE_S"])

os.makedirs(DIR, exist_ok=True)
api = Api()
check = Checks()
answers = []       # every API answer, to look for secrets in
secrets = []
receivers = []


def call(user, method, path, body=None, headers=None):
    st, b = api.call(user, method, path, body, headers)
    answers.append(json.dumps(b))
    return st, b


def new_secret():
    s = "whsec-" + os.urandom(18).hex()
    secrets.append(s)
    with open(os.path.join(DIR, "secrets.txt"), "a") as f:
        f.write(s + "\n")
    return s


def path_token():
    """A token in a webhook URL's path (as chat webhooks have): the API
    shows the URL to its owner, but no log may carry it (webhooks.sh greps
    every log for the lines of secrets.txt)."""
    t = "pathtok-" + os.urandom(12).hex()
    with open(os.path.join(DIR, "secrets.txt"), "a") as f:
        f.write(t + "\n")
    return t


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver:
    """One webhook_receiver.py process with its own secret and record."""

    def __init__(self, name, fail=0, sleep=0, start=True):
        self.name, self.fail, self.sleep = name, fail, sleep
        self.port = free_port()
        self.secret = new_secret()
        self.secret_file = os.path.join(DIR, name + ".secret")
        self.record = os.path.join(DIR, name + ".jsonl")
        with open(os.open(self.secret_file, os.O_WRONLY | os.O_CREAT, 0o600),
                  "w") as f:
            f.write(self.secret + "\n")
        self.proc = None
        receivers.append(self)
        if start:
            self.start()

    def url(self, path=None):
        return "http://127.0.0.1:%d/%s" % (self.port, path or self.name)

    def start(self):
        log = open(os.path.join(DIR, self.name + ".log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, RECEIVER, "--port", str(self.port),
             "--secret-file", self.secret_file, "--record", self.record,
             "--fail", str(self.fail), "--sleep", str(self.sleep)],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not os.path.exists(self.record + ".ready"):
            check(time.time() < deadline and self.proc.poll() is None,
                  "receiver %s did not start" % self.name)
            time.sleep(0.02)

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def cli(user, *args):
    env = dict(os.environ, XW_TOKEN=token(user),
               XDG_CONFIG_HOME=os.path.join(DIR, "config"))
    p = subprocess.run([CLI] + list(args), env=env, capture_output=True,
                       text=True, timeout=60)
    answers.append(p.stdout)
    answers.append(p.stderr)
    return p


def deliveries(user, sub, query=""):
    st, b = call(user, "GET", "/v1/webhooks/%s/deliveries?limit=1000%s"
                 % (sub, query))
    check(st == 200, "deliveries of %s: %s %s" % (sub, st, b))
    return b["items"]


def wait_until(what, cond, timeout_s):
    deadline = time.time() + timeout_s
    while not cond():
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def verifiers(secret_file, signature, body_file):
    """Exit codes of (examples/webhook-verify.sh, xw_http_verify)."""
    out = []
    for cmd in ([VERIFY_SH], [VERIFY_C]):
        p = subprocess.run(cmd + [secret_file, signature, body_file],
                           capture_output=True, text=True, timeout=30)
        out.append(p.returncode)
    return tuple(out)


def sign(secret, t, body):
    return "t=%d,v1=%s" % (t, hmac.new(secret.encode(), b"%d." % t + body,
                                       hashlib.sha256).hexdigest())


def post_raw(rcv, body, signature, delivery="tampered"):
    import urllib.request
    import urllib.error
    req = urllib.request.Request(rcv.url(), data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Xwdeploy-Signature": signature,
        "X-Xwdeploy-Delivery": delivery, "X-Xwdeploy-Event": "package_finished"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


T0 = time.time()


def phase(name):
    print("%5.1f s  %s" % (time.time() - T0, name), file=sys.stderr)


def main():
    # ---- the sample workspaces and objects ---------------------------------
    api.write("root", "PUT", "/v1/workspaces/dev", load("ws-dev.json"))
    api.write("root", "PUT", "/v1/workspaces/prod", load("ws-prod.json"))
    api.write("alice", "POST", "/v1/workspaces/dev/environments",
              load("env-to-prod.json"))
    objects = load("objects.json")["objects"]
    api.write("olga", "POST", "/v1/workspaces/dev/production",
              {"objects": objects})

    # ---- 1. the API: validation and access --------------------------------
    fast = Receiver("fast")
    ok_body = {"url": fast.url(), "secret": fast.secret}
    bad = [
        ({"url": "ftp://127.0.0.1/x", "secret": fast.secret}, 400, "url"),
        ({"url": "http:///nohost", "secret": fast.secret}, 400, "url"),
        ({"url": fast.url(), "secret": "short"}, 400, "secret"),
        ({"url": fast.url(), "secret": "has a space in it!"}, 400, "secret"),
        ({"url": fast.url()}, 400, "secret"),
        (dict(ok_body, events=["x"]), 400, "events"),
        (dict(ok_body, filter={"status": "deployed"}), 400, "filter.status"),
        (dict(ok_body, filter={"event_types": ["audit"]}), 400,
         "filter.event_types"),
        (dict(ok_body, filter={"source_workspace": "nope"}), 422,
         "filter.source_workspace"),
    ]
    for body, status, field in bad:
        st, b = call("alice", "POST", "/v1/webhooks", body)
        check(st == status and b["error"]["field"] == field,
              "%s: %s %s (want %s %s)" % (body, st, b, status, field))
    # A filter on a workspace needs membership: vic is a visitor of dev
    # only, eve of nothing.
    st, b = call("vic", "POST", "/v1/webhooks",
                 dict(ok_body, filter={"destination_workspace": "prod"}))
    check(st == 403 and b["error"]["field"] == "filter.destination_workspace",
          (st, b))
    st, b = call("vic", "POST", "/v1/webhooks",
                 dict(ok_body, filter={"source_workspace": "dev"}))
    check(st == 201, (st, b))
    vic_sub = b["id"]
    check("secret" not in b and b["owner"] == "vic" and b["paused"] is False,
          b)
    # Idempotency-Key: the same create twice makes one subscription.
    key = {"Idempotency-Key": "wh-create-carol-1"}
    st1, a1 = call("carol", "POST", "/v1/webhooks", ok_body, key)
    st2, a2 = call("carol", "POST", "/v1/webhooks", ok_body, key)
    check(st1 == 201 and st2 == 201 and a1["id"] == a2["id"], (a1, a2))
    st, mine = call("carol", "GET", "/v1/webhooks")
    check(st == 200 and [x["id"] for x in mine["items"]] == [a1["id"]], mine)
    # Owner-only: others get 404, system admins see it.
    st, _ = call("dave", "GET", "/v1/webhooks/" + a1["id"])
    check(st == 404, "another user's subscription is invisible: %s" % st)
    st, _ = call("dave", "DELETE", "/v1/webhooks/" + a1["id"])
    check(st == 404, "and cannot be deleted: %s" % st)
    st, g = call("root", "GET", "/v1/webhooks/" + a1["id"])
    check(st == 200 and g["owner"] == "carol", g)
    st, everyone = call("root", "GET", "/v1/webhooks?owner=carol")
    check(st == 200 and everyone["total"] == 1, everyone)
    # What GET returns may be PUT back; a PUT without secret keeps it.
    g["url"] = fast.url("carol-moved")
    st, u = call("carol", "PUT", "/v1/webhooks/" + a1["id"], g)
    check(st == 200 and u["url"] == fast.url("carol-moved")
          and u["updated_at"] >= u["created_at"], (st, u))
    st, u = call("carol", "PUT", "/v1/webhooks/" + a1["id"],
                 {"url": fast.url(), "secret": new_secret(),
                  "filter": {"event_types": ["package_finished"]}})
    check(st == 200 and u["filter"] == {"event_types": ["package_finished"]},
          u)
    st, d = call("carol", "DELETE", "/v1/webhooks/" + a1["id"])
    check(st == 200 and d == {"id": a1["id"], "deleted": True}, d)
    st, _ = call("carol", "GET", "/v1/webhooks/" + a1["id"])
    check(st == 404, "deleted: %s" % st)
    st, d = call("vic", "DELETE", "/v1/webhooks/" + vic_sub)
    check(st == 200, d)

    phase("subscriptions")
    # ---- 2. subscriptions for the deliveries ------------------------------
    flaky = Receiver("flaky", fail=2)
    slow = Receiver("slow", sleep=TIMEOUT_MS / 1000 * 3)
    down = Receiver("down", start=False)

    def create(user, url, secret, flt=None):
        body = {"url": url, "secret": secret}
        if flt is not None:
            body["filter"] = flt
        st, b = call(user, "POST", "/v1/webhooks", body)
        check(st == 201 and "secret" not in b, (user, st, b))
        return b["id"]

    s_fast = create("alice", fast.url(), fast.secret,
                    {"source_workspace": "dev"})
    s_flaky = create("olga", flaky.url("hooks/" + path_token()), flaky.secret,
                     {"status": "failed", "event_types": ["package_finished"]})
    s_slow = create("alice", slow.url("hooks/" + path_token()), slow.secret,
                    {"source_workspace": "dev"})
    s_succ = create("olga", fast.url("succ"), fast.secret,
                    {"status": "succeeded", "event_types": ["package_finished"]})
    s_eve = create("eve", fast.url("eve"), fast.secret)       # member of none
    s_paul = create("paul", fast.url("paul"), fast.secret,   # prod only
                    {"event_types": ["package_finished"]})
    # The CLI: dave subscribes the receiver that is down for now.
    p = cli("dave", "webhook", "create", "--url", down.url(), "--secret-file",
            down.secret_file, "--events", "package_finished", "-q")
    check(p.returncode == 0 and p.stdout.strip().startswith("wh-"),
          (p.returncode, p.stdout, p.stderr))
    s_down = p.stdout.strip()
    p = cli("dave", "webhook", "list")
    check(p.returncode == 0 and s_down in p.stdout and "package_finished"
          in p.stdout and "PAUSED" in p.stdout, p.stdout)
    p = cli("dave", "webhook", "show", s_down, "--json")
    check(p.returncode == 0 and json.loads(p.stdout)["url"] == down.url(),
          p.stdout)
    p = cli("dave", "webhook", "show", s_fast)
    check(p.returncode == 4, "the CLI gets 404 for another's: %s"
          % p.returncode)

    phase("deploy")
    # ---- deploy one package (15 deployed, 2 failed) -----------------------
    ids = [o["id"] for o in objects if o["id"] != "n-evening-batch"]
    r = api.write("dave", "POST", "/v1/workspaces/dev/packages",
                  {"environment": "to-prod", "object_ids": ids})
    pkg = r["result"]["package_id"]
    t_deploy = time.time()
    api.write("olga", "POST", "/v1/packages/%s/deploy" % pkg, {})
    pk = api.wait_package("vic", pkg)
    check(pk["status"] == "failed", pk["status"])
    n_results = pk["deployed"] + pk["failed"]
    want_fast = n_results + 1            # object results + package_finished

    # The down receiver comes up 3 s after the deploy.
    time.sleep(max(0.0, t_deploy + 3 - time.time()))
    down.start()
    t_up = time.time()

    def all_delivered(user, sub, n):
        log = deliveries(user, sub)
        return len(log) == n and all(d["status"] == "delivered" for d in log)

    wait_until("the fast receiver's deliveries",
               lambda: all_delivered("alice", s_fast, want_fast), 30)
    wait_until("paul's delivery", lambda: all_delivered("paul", s_paul, 1),
               30)
    wait_until("the flaky receiver's third try",
               lambda: any(x["answered"] == 200 for x in flaky.records()), 30)
    wait_until("the down receiver, once up",
               lambda: any(x["answered"] == 200 for x in down.records()), 30)
    wait_until("the slow subscription parked",
               lambda: all(d["status"] == "failed"
                           for d in deliveries("alice", s_slow))
               and len(deliveries("alice", s_slow)) == want_fast,
               MAX_AGE_S + 30)

    phase("all arrived")
    # ---- 3. what arrived, and the delivery log ----------------------------
    log_fast = {d["delivery_id"]: d for d in deliveries("alice", s_fast)}
    check(len(log_fast) == want_fast
          and all(d["status"] == "delivered" and d["attempts"] == 1
                  and d["last_status"] == 200 for d in log_fast.values()),
          "fast log: %s" % list(log_fast.values())[:2])
    got = [x for x in fast.records() if x["delivery"] in log_fast]
    check(len(got) == want_fast and all(x["verified"] for x in got)
          and all(x["path"] == "/fast" for x in got),
          "fast received each delivery once, signed: %d of %d"
          % (len(got), want_fast))
    types = sorted(x["event"] for x in got)
    check(types.count("package_finished") == 1
          and types.count("object_result") == n_results, types)
    for x in got:
        body = json.loads(x["body"])
        check(body["type"] == x["event"] and body["package_id"] == pkg
              and body["source_workspace"] == "dev", body)
    pf = next(x for x in got if x["event"] == "package_finished")
    pf_body = json.loads(pf["body"])
    check(pf_body["status"] == "failed" and pf_body["deployed"] == 15
          and pf_body["failed"] == 2 and pf_body["attempt"] == 1, pf_body)

    # 500, 500, 200: three requests with one delivery id.
    fl = flaky.records()
    check([x["answered"] for x in fl] == [500, 500, 200]
          and len({x["delivery"] for x in fl}) == 1
          and [x["seen"] for x in fl] == [1, 2, 3]
          and all(x["verified"] for x in fl), fl)
    (d,) = deliveries("olga", s_flaky)
    check(d["delivery_id"] == fl[0]["delivery"] and d["status"] == "delivered"
          and d["attempts"] == 3 and d["last_status"] == 200
          and [h["status"] for h in d["history"]] == [500, 500, 200]
          and "HTTP 500" in d["history"][0]["error"], d)

    # Down for a while, then up: delivered on a later attempt.
    (d_down,) = deliveries("dave", s_down)
    check(d_down["status"] == "delivered" and d_down["attempts"] >= 2
          and d_down["history"][0]["status"] == 0
          and "onnect" in d_down["history"][0]["error"], d_down)
    dn = [x for x in down.records() if x["answered"] == 200]
    check(len(dn) == 1 and dn[0]["delivery"] == d_down["delivery_id"]
          and dn[0]["verified"], dn)
    p = cli("dave", "webhook", "deliveries", s_down)
    check(p.returncode == 0 and "delivered" in p.stdout
          and d_down["delivery_id"] in p.stdout, p.stdout)

    # Timing out every time: retried, then parked as failed.
    log_slow = deliveries("alice", s_slow)
    timed_out = [x for x in log_slow if x["attempts"] > 0]
    check(timed_out and all(x["last_status"] == 0 and all(
        h["status"] == 0 and "imed out" in h["error"] for h in x["history"])
        for x in timed_out), timed_out[:2])
    check(any(x["last_error"].startswith("expired") for x in log_slow),
          "deliveries still queued at the end of the window are parked")
    check(all(x["status"] == "failed" for x in log_slow), log_slow[:2])
    check(len(slow.records()) >= len(timed_out)
          and all(x["verified"] for x in slow.records()),
          "the slow receiver got the requests it was too slow to answer")
    attempts_slow = sum(x["attempts"] for x in log_slow)
    # The hold after each failure: a dead or slow endpoint gets one attempt
    # per backoff period, not one per queued delivery.
    check(attempts_slow <= MAX_AGE_S * 1000 // TIMEOUT_MS + 2,
          "slow attempts %d" % attempts_slow)

    # Filters: nothing for "succeeded" (the package failed) nor for eve
    # (a member of neither workspace); paul (prod only) gets the finish.
    check(deliveries("olga", s_succ) == [], "status filter")
    check(deliveries("eve", s_eve) == [], "membership scope")
    (d,) = deliveries("paul", s_paul)
    check(d["type"] == "package_finished" and d["status"] == "delivered", d)

    # ---- 4. the slow receiver did not slow the fast one -------------------
    enq_lat = [x["recv_ms"] - log_fast[x["delivery"]]["created_at"]
               for x in got]
    evt_lat = [x["recv_ms"] - json.loads(x["body"])["occurred_at"]
               for x in got]
    slow_windows = [(x["recv_ms"], x["recv_ms"] + TIMEOUT_MS)
                    for x in slow.records()]
    overlapping = sum(1 for x in got
                      if any(a <= x["recv_ms"] <= b for a, b in slow_windows))
    slow_lat = [h["latency_ms"] for x in log_slow for h in x["history"]]
    print("fast receiver: %d deliveries, enqueue->receipt median %d ms, "
          "max %d ms; event->receipt max %d ms; %d received while a slow "
          "attempt was in flight" % (len(got), statistics.median(enq_lat),
                                     max(enq_lat), max(evt_lat), overlapping))
    print("slow receiver: %d attempts over %d deliveries, each %d..%d ms "
          "(timeout %d ms), all parked after %d s"
          % (attempts_slow, len(log_slow), min(slow_lat), max(slow_lat),
             TIMEOUT_MS, MAX_AGE_S))
    print("down receiver: delivered %.1f s after it came up, on attempt %d"
          % ((dn[0]["recv_ms"] / 1000) - t_up, d_down["attempts"]))
    check(max(enq_lat) < TIMEOUT_MS * 2 // 3,
          "a fast delivery waited %d ms (slow timeout %d ms)"
          % (max(enq_lat), TIMEOUT_MS))
    check(min(slow_lat) >= TIMEOUT_MS - 100, slow_lat)

    phase("verifiers")
    # ---- 5. three verifiers agree ------------------------------------------
    body_file = os.path.join(DIR, "pf.body")
    with open(body_file, "w") as f:
        f.write(pf["body"])
    check(verifiers(fast.secret_file, pf["signature"], body_file) == (0, 0),
          "a genuine delivery verifies")
    tampered = pf["body"].replace('"status":"failed"', '"status":"succeeded"')
    check(tampered != pf["body"], "tampering changed something")
    tampered_file = os.path.join(DIR, "pf.tampered")
    with open(tampered_file, "w") as f:
        f.write(tampered)
    check(verifiers(fast.secret_file, pf["signature"], tampered_file) == (1, 1),
          "a tampered body fails")
    stale = sign(fast.secret, int(time.time()) - 600, pf["body"].encode())
    check(verifiers(fast.secret_file, stale, body_file) == (1, 1),
          "a 10-minute-old timestamp fails")
    wrong = sign(slow.secret, int(time.time()), pf["body"].encode())
    check(verifiers(fast.secret_file, wrong, body_file) == (1, 1),
          "another secret fails")
    fresh = sign(fast.secret, int(time.time()), pf["body"].encode())
    check(verifiers(fast.secret_file, fresh, body_file) == (0, 0),
          "a fresh signature by the secret verifies")
    check(post_raw(fast, tampered.encode(), pf["signature"]) == 400
          and post_raw(fast, pf["body"].encode(), stale) == 400,
          "the receiver refuses them too")
    refused = [x for x in fast.records() if x["delivery"] == "tampered"]
    check([x["reason"] for x in refused]
          == ["signature mismatch", "timestamp outside the tolerance"],
          refused)

    phase("redelivery")
    # ---- 6. redelivery, pause, resume --------------------------------------
    dlv = pf["delivery"]
    p = cli("alice", "webhook", "redeliver", s_fast, dlv)
    check(p.returncode == 0 and "queued again" in p.stdout, p.stdout)
    wait_until("the redelivery",
               lambda: any(x["delivery"] == dlv and x["seen"] == 2
                           for x in fast.records()), 10)
    again = next(x for x in fast.records()
                 if x["delivery"] == dlv and x["seen"] == 2)
    check(again["verified"] and again["body"] == pf["body"]
          and again["signature"] != "" and
          int(again["signature"].split(",")[0][2:])
          >= int(pf["signature"].split(",")[0][2:]), again)
    st, b = call("alice", "POST", "/v1/webhooks/%s/pause" % s_fast)
    check(st == 200 and b["paused"] is True, b)
    st, b = call("alice", "POST", "/v1/webhooks/%s/deliveries/%s/redeliver"
                 % (s_fast, dlv))
    check(st == 200 and b["status"] == "pending", b)
    time.sleep(1.0)
    check(not any(x["delivery"] == dlv and x["seen"] == 3
                  for x in fast.records()), "nothing sent while paused")
    st, g = call("alice", "GET", "/v1/webhooks/" + s_fast)
    check(g["paused"] is True and g["pending"] == 1, g)
    p = cli("alice", "webhook", "resume", s_fast)
    check(p.returncode == 0 and "resumed" in p.stdout, p.stdout)
    wait_until("delivery after resume",
               lambda: any(x["delivery"] == dlv and x["seen"] == 3
                           for x in fast.records()), 10)
    d = next(x for x in deliveries("alice", s_fast)
             if x["delivery_id"] == dlv)
    check(d["status"] == "delivered" and d["attempts"] == 3
          and d["requeued_at"], d)
    st, b = call("alice", "POST", "/v1/webhooks/%s/deliveries/%s/redeliver"
                 % (s_fast, "no-such-delivery"))
    check(st == 404, (st, b))
    st, b = call("alice", "GET", "/v1/webhooks/%s/deliveries?status=failed"
                 % s_slow)
    check(st == 200 and b["total"] == want_fast, b["total"])

    # Delete takes the queue and the log with it.
    p = cli("alice", "webhook", "delete", s_slow)
    check(p.returncode == 0 and "deleted" in p.stdout, p.stdout)
    st, _ = call("alice", "GET", "/v1/webhooks/%s/deliveries" % s_slow)
    check(st == 404, st)
    keys = subprocess.run(["redis-cli", "-p", os.environ["REDIS_PORT"],
                           "EXISTS", "xw:wh:q:" + s_slow, "xw:wh:log:" + s_slow,
                           "xw:wh:secret:" + s_slow, "xw:wh:sub:" + s_slow,
                           "xw:wh:d:" + log_slow[0]["delivery_id"]],
                          capture_output=True, text=True).stdout.strip()
    check(keys == "0", "keys left after delete: %s" % keys)

    phase("done")
    # ---- 7. no secret in any answer ----------------------------------------
    leaked = [s for s in secrets if any(s in a for a in answers)]
    check(not leaked and len(answers) > 50,
          "%d secret(s) appear in API or CLI answers" % len(leaked))
    print("%d checks" % check.n)


try:
    main()
finally:
    for rcv in receivers:
        rcv.stop()
