#!/usr/bin/env bash
# Combinations refused, owner policies, resource group override, deploy all.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
export XW_SYSTEM_ADMINS=root
xw_start_services
python3 "$XW_SRC_DIR/tests/integration/flow_variants.py" || xw_die "flow variants (logs in $XW_RUN_DIR)"
xw_pass
