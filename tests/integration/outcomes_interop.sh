#!/usr/bin/env bash
# Interoperability of xw.outcomes: a package is deployed through the API,
# a stock tool (kcat) reads the topic, and another Avro implementation
# (the distribution's python3-avro, under /usr/bin/python3) decodes every
# message with the schema files alone - the README's "Subscribing to
# results" recipe, checked against what the API says.
. "$(dirname "$0")/../lib/harness.sh"
command -v kcat >/dev/null || xw_die "kcat is not installed (scripts/install-deps)"
/usr/bin/python3 -c "import avro.io, avro.schema" 2>/dev/null \
    || xw_die "python3-avro is not installed (scripts/install-deps)"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
export XW_SYSTEM_ADMINS=root
xw_start_services

# The sample package: 17 objects, 15 deployed and 2 failed.
XW_SRC_DIR=$XW_SRC_DIR python3 - "$XW_RUN_DIR/package.json" <<'PY' || xw_die "deploying the sample package failed"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["XW_SRC_DIR"], "tests", "lib"))
from xwapi import Api, load
api = Api()
api.write("root", "PUT", "/v1/workspaces/dev", load("ws-dev.json"))
api.write("root", "PUT", "/v1/workspaces/prod", load("ws-prod.json"))
api.write("alice", "POST", "/v1/workspaces/dev/environments", load("env-to-prod.json"))
objects = load("objects.json")["objects"]
api.write("olga", "POST", "/v1/workspaces/dev/production", {"objects": objects})
ids = [o["id"] for o in objects if o["id"] != "n-evening-batch"]
r = api.write("dave", "POST", "/v1/workspaces/dev/packages",
              {"environment": "to-prod", "object_ids": ids})
pkg = r["result"]["package_id"]
api.write("olga", "POST", "/v1/packages/%s/deploy" % pkg, {})
p = api.wait_package("vic", pkg)
with open(sys.argv[1], "w") as f:
    json.dump(p, f)
PY
XW_CHECKS=$((XW_CHECKS + 1))

# kcat: every message of xw.outcomes, each as "<key> <size>" and the raw
# bytes (binary-safe framing). PackageFinished is published after the
# copies, so once the package is final everything is there.
kcat -b "$XW_KAFKA_BROKERS" -C -t xw.outcomes -o beginning -e -q \
    -f '%k %S\n%s' > "$XW_RUN_DIR/outcomes.kcat" 2> "$XW_RUN_DIR/kcat.log" \
    || xw_die "kcat failed: $(cat "$XW_RUN_DIR/kcat.log")"
[ -s "$XW_RUN_DIR/outcomes.kcat" ] || xw_die "kcat read nothing from xw.outcomes"
XW_CHECKS=$((XW_CHECKS + 1))

/usr/bin/python3 "$XW_SRC_DIR/tests/integration/outcomes_interop.py" \
    "$XW_SRC_DIR/schemas" "$XW_RUN_DIR/outcomes.kcat" "$XW_RUN_DIR/package.json" \
    || xw_die "python3-avro could not read xw.outcomes as documented"
XW_CHECKS=$((XW_CHECKS + 1))

# The README's recipe as written: kcat piped into the example decoder.
decoded=$(kcat -b "$XW_KAFKA_BROKERS" -C -t xw.outcomes -e -q -f '%k %S\n%s' \
          | /usr/bin/python3 "$XW_SRC_DIR/examples/outcomes_decode.py" "$XW_SRC_DIR/schemas")
xw_expect_eq "PackageFinished decoded by the example" \
    "$(grep -c '"schema": "PackageFinished"' <<< "$decoded")" 1
xw_expect_eq "ObjectResults decoded by the example" \
    "$(grep -c '"schema": "ObjectResult"' <<< "$decoded")" 17
xw_pass
