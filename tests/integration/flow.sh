#!/usr/bin/env bash
# The five steps through the public API against the real services.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
export XW_SYSTEM_ADMINS=root XW_ALLOW_FIXED_DEPLOY_TIME=true
xw_start_services
python3 "$XW_SRC_DIR/tests/integration/flow.py" || xw_die "flow failed (logs in $XW_RUN_DIR)"
# Step 5's other forms (summary, pages, long-poll) on the package flow.py left.
python3 "$XW_SRC_DIR/tests/integration/package_views.py" || xw_die "package views failed (logs in $XW_RUN_DIR)"
# A retry whose first answer was lost gets that answer, not a refusal from
# the state the first attempt created (the deployer paused meanwhile).
kill -STOP "$(cat "$XW_RUN_DIR/deployer.pid")"
python3 "$XW_SRC_DIR/tests/integration/lost_answer.py" "$REDIS_PORT" ||
    { kill -CONT "$(cat "$XW_RUN_DIR/deployer.pid")"; xw_die "lost answer (logs in $XW_RUN_DIR)"; }
kill -CONT "$(cat "$XW_RUN_DIR/deployer.pid")"
# The listener's waits are told of changes by Redis (not a polling sleep).
xw_check "change notification on" grep -q "change notification on" "$XW_RUN_DIR/submit-listener.log"
# Every destination write happened exactly once.
counts=$(xw_write_counts | awk '{ print $3 }' | sort -u | tr '\n' ' ')
xw_expect_eq "destination write counts" "$counts" "1 "
xw_expect_eq "an exactly-once record per write" \
    "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'xw:written:*' | xargs -r -n 1 redis-cli -p "$REDIS_PORT" hlen | awk '{ n += $1 } END { print n + 0 }')" \
    "$(xw_write_counts | wc -l)"
# Every service serves health and Prometheus metrics on its admin port.
for s in "${XW_SERVICES[@]}"; do
    port=$(cat "$XW_RUN_DIR/$s.admin-port")
    xw_check "$s health" curl -fsS -m 2 "http://127.0.0.1:$port/health" -o /dev/null
    metrics=$(curl -fsS -m 2 "http://127.0.0.1:$port/metrics")
    xw_check "$s metrics" grep -q "^process_resident_memory_bytes [0-9]" <<< "$metrics"
done
port=$(cat "$XW_RUN_DIR/deployer.admin-port")
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E "^xw_" | head -20 >&2
xw_pass
