#!/usr/bin/env bash
# Authentication on every endpoint, the authorization table cell by cell,
# bad input, and no secret in any log.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
users=$(python3 - <<'PY'
roles = ["none", "admin", "development", "om", "deploy", "visitor"]
print(" ".join(["root"] + ["u-%s-%s" % (s, d) for s in roles for d in roles]))
PY
)
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env('$users'.split()))")
export XW_SYSTEM_ADMINS=root
# Only what answers the API; the pipeline behind it is not needed here.
XW_START_ONLY="packager submit-listener" xw_start_services
python3 "$XW_SRC_DIR/tests/integration/api_security.py" || xw_die "api security (logs in $XW_RUN_DIR)"
# Secrets never reach a log line.
for u in $users; do
    if grep -rq -- "$u-token-0123456789" "$XW_RUN_DIR"/*.log; then
        xw_die "the token of $u appears in a log"
    fi
done
XW_CHECKS=$((XW_CHECKS + 1))
xw_pass
