#!/usr/bin/env bash
# common/xw_http against a loopback peer (tests/helpers/http_peer.py):
# keep-alive, methods, timeout and connection refused classified retriable,
# 500/503/429 then 200 retried and succeeded, 4xx not retried, attempt and
# time budgets, body cap (with and without Content-Length), redirects and
# non-HTTP schemes refused, URL credentials kept out of messages, webhook
# signature checked by an independent implementation.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init

BIN=$XW_BUILD_DIR/tests/xw_http_check
[ -x "$BIN" ] || xw_die "helper not built: $BIN"

python3 "$XW_SRC_DIR/tests/helpers/http_peer.py" "$XW_RUN_DIR/peer.port" \
    > "$XW_RUN_DIR/peer.log" 2>&1 &
XW_PIDS+=($!)
xw_wait_for "http peer" 10 test -s "$XW_RUN_DIR/peer.port"
PORT=$(cat "$XW_RUN_DIR/peer.port")

out=$("$BIN" "http://127.0.0.1:$PORT" 2>&1) || { printf '%s\n' "$out" >&2; xw_die "xw_http_check failed"; }
last=$(printf '%s\n' "$out" | tail -n 1)
xw_log "xw_http_check: $last"
xw_expect_eq "xw_http_check failures" "$(echo "$last" | awk '{print $3}')" 0

xw_pass
