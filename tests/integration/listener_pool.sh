#!/usr/bin/env bash
# The listener's thread pool: long-polls hold no thread, idle connections
# cost no thread, and a stop answers the parked waits (listener_pool.py).
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(['root']))")
export XW_SYSTEM_ADMINS=root
# No packager: the writes stay pending, so their long-polls wait.
XW_START_ONLY="submit-listener" xw_start_services XW_API_THREADS=2
python3 "$XW_SRC_DIR/tests/integration/listener_pool.py" "$REDIS_PORT" \
    "$(cat "$XW_RUN_DIR/submit-listener.pid")" \
    || xw_die "listener pool (logs in $XW_RUN_DIR)"
XW_CHECKS=$((XW_CHECKS + 1))
xw_pass
