"""Small steps of the public API for the fault tests' shell scripts, on
top of fault_flow.FaultApi (retries through faults, Idempotency-Keys).

    fault_api.py setup                      workspaces and environment
    fault_api.py package TAG N              N new objects (versions 1..N)
                                            submitted and frozen into a
                                            package; prints its id
    fault_api.py deploy PKG [replay]        deploys (or replays) PKG, waits
                                            until the packager applied it
    fault_api.py wait PKG ATTEMPT TIMEOUT_S waits until PKG's attempt
                                            ATTEMPT is final; prints the
                                            package view (JSON)
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_flow import FaultApi  # noqa: E402
from xwapi import load  # noqa: E402


def main(argv):
    api = FaultApi()
    cmd = argv[1]
    if cmd == "setup":
        api.write_idem("root", "PUT", "/v1/workspaces/dev",
                       load("ws-dev.json"), "t-ws-dev")
        api.write_idem("root", "PUT", "/v1/workspaces/prod",
                       load("ws-prod.json"), "t-ws-prod")
        api.write_idem("alice", "POST", "/v1/workspaces/dev/environments",
                       load("env-to-prod.json"), "t-env")
    elif cmd == "package":
        tag, n = argv[2], int(argv[3])
        template = load("objects.json")["objects"][0]
        objs = [dict(template, id="%s-%04d" % (tag, i),
                     name="%s_%04d" % (tag, i), version=i + 1,
                     data_sources=[], dependencies=[]) for i in range(n)]
        api.write_idem("olga", "POST", "/v1/workspaces/dev/production",
                       {"objects": objs}, tag + "-prod")
        acc, _ = api.write_idem("dave", "POST", "/v1/workspaces/dev/packages",
                                {"environment": "to-prod",
                                 "object_ids": [o["id"] for o in objs]},
                                tag + "-pkg")
        print(acc["package_id"])
    elif cmd == "deploy":
        pkg = argv[2]
        replay = len(argv) > 3 and argv[3] == "replay"
        api.write_idem("olga", "POST", "/v1/packages/%s/%s"
                       % (pkg, "replay" if replay else "deploy"), {},
                       "%s-%s-%d" % (pkg, argv[3] if replay else "deploy",
                                     int(time.time() * 1000)))
    elif cmd == "wait":
        pkg, att, timeout = argv[2], int(argv[3]), float(argv[4])
        deadline = time.time() + timeout
        while True:
            s, p = api.call("vic", "GET", "/v1/packages/" + pkg)
            if s == 200 and p.get("attempt") == att \
                    and p.get("status") in ("succeeded", "failed"):
                print(json.dumps(p))
                return 0
            if time.time() > deadline:
                print(json.dumps(p))
                return 1
            time.sleep(0.2)
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
