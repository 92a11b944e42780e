#!/usr/bin/env bash
# A 10,000-object package through the five steps, timed.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
export XW_SYSTEM_ADMINS=root
xw_start_services
python3 "$XW_SRC_DIR/tests/integration/big_package.py" || xw_die "big package (logs in $XW_RUN_DIR)"
xw_pass
