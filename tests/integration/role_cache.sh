#!/usr/bin/env bash
# The listener's role cache: revoked roles refused and new ones honoured on
# the very next request, through the API, behind its back, and across lost
# tracking connections (role_cache.py).
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(['root', 'ann', 'bob']))")
export XW_SYSTEM_ADMINS=root
# Registration needs the packager; nothing behind it is used.
XW_START_ONLY="packager submit-listener" xw_start_services
python3 "$XW_SRC_DIR/tests/integration/role_cache.py" "$REDIS_PORT" \
    "$(cat "$XW_RUN_DIR/submit-listener.admin-port")" \
    "$XW_RUN_DIR/submit-listener.log" \
    || xw_die "role cache (logs in $XW_RUN_DIR)"
XW_CHECKS=$((XW_CHECKS + 1))
xw_pass
