#!/usr/bin/env bash
# Webhooks end to end: subscriptions through the API and the CLI, signed
# deliveries from the result-reporter to receivers on loopback (fast,
# 500-then-200, timing out, down for a while), the delivery log, manual
# redelivery, pause/resume, verification of genuine, tampered and stale
# deliveries by three independent verifiers, a slow receiver not slowing a
# fast one (measured), and no secret in any log or API answer.
# Short retry settings keep it to well under a minute.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
export XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
export XW_SYSTEM_ADMINS=root
export XW_WEBHOOK_WORKERS=4 XW_WEBHOOK_POLL_MS=50 \
    XW_WEBHOOK_CONNECT_TIMEOUT_MS=500 XW_WEBHOOK_TIMEOUT_MS=1500 \
    XW_WEBHOOK_BACKOFF_MIN_MS=100 XW_WEBHOOK_BACKOFF_MAX_MS=800 \
    XW_WEBHOOK_MAX_AGE_S=8
xw_start_services
python3 "$XW_SRC_DIR/tests/integration/webhooks.py" \
    || xw_die "webhooks failed (logs in $XW_RUN_DIR)"
XW_CHECKS=$((XW_CHECKS + 1))

# No secret in any log line (services, broker, receivers).
while read -r secret; do
    if grep -rqF -- "$secret" "$XW_RUN_DIR"/*.log "$XW_RUN_DIR"/broker/*.log 2>/dev/null; then
        xw_die "a webhook secret appears in a log"
    fi
    XW_CHECKS=$((XW_CHECKS + 1))
done < "$XW_RUN_DIR/webhooks/secrets.txt"

# The delivery metrics moved.
port=$(cat "$XW_RUN_DIR/result-reporter.admin-port")
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
for m in xw_webhook_enqueued_total xw_webhook_attempts_total \
         xw_webhook_delivered_total xw_webhook_failed_attempts_total \
         xw_webhook_parked_total; do
    v=$(awk -v n="$m" '$1 == n { print $2 }' <<< "$metrics")
    [ "${v:-0}" -gt 0 ] || xw_die "metric $m is ${v:-missing}"
    XW_CHECKS=$((XW_CHECKS + 1))
done
grep -E "^xw_webhook_" <<< "$metrics" >&2
xw_pass
