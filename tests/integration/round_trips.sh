#!/usr/bin/env bash
# The listener's Redis round trips per request type stay what
# docs/performance.md says (round_trips.py).
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
export XW_SYSTEM_ADMINS=root
xw_start_services
python3 "$XW_SRC_DIR/tests/integration/round_trips.py" \
    "$(cat "$XW_RUN_DIR/submit-listener.admin-port")" \
    || xw_die "round trips (logs in $XW_RUN_DIR)"
XW_CHECKS=$((XW_CHECKS + 1))
xw_pass
