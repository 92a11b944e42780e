#!/usr/bin/env bash
# The deployer's HTTP target fails, then recovers (tests/helpers/
# target_peer.py, an idempotent peer that fails on command), through the
# public API:
#  A. while a package of 160 objects is being delivered the target answers
#     503, then hangs past the client's timeout (having applied the
#     object), then refuses connections (port closed), each for most of a
#     second, recovering in between: every object is retried until it is
#     accepted, every object ends deployed, the peer applied each key
#     once, the catalog wrote each object version once;
#  B. the target is down for longer than the deployer's retries: the
#     package's objects fail with target_unavailable and a reason that
#     says why (without the URL), the package is failed, not stuck; the
#     target comes back, a replay deploys exactly those objects, each
#     applied and written once.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/fault.sh"
fault_stack
RUN=$XW_RUN_DIR
# 25 ms per accepted object: package A takes ~4 s, the faults land in it.
XW_PEER_DELAY_MS=25 python3 "$XW_SRC_DIR/tests/helpers/target_peer.py" "$RUN" > "$RUN/peer.log" 2>&1 &
XW_PIDS+=($!)
xw_wait_for "target peer" 10 test -s "$RUN/control.port"
PEER=http://127.0.0.1:$(cat "$RUN/peer.port")
CTL=http://127.0.0.1:$(cat "$RUN/control.port")
# 12 attempts, backoff from 50 ms doubling to 800 ms (full jitter): a few
# seconds of patience per object, far more than each outage below.
export XW_DEPLOY_TARGET=http "XW_DEPLOY_HTTP_URL=$PEER/deploy" XW_DEPLOY_HTTP_TIMEOUT_MS=500 \
    XW_DEPLOY_HTTP_BACKOFF_MS=50 XW_DEPLOY_HTTP_RETRIES=12 XW_DEPLOY_LOCK_TTL_MS=10000
fault_services
R=(redis-cli -p "$REDIS_PORT")
API=(python3 "$XW_SRC_DIR/tests/integration/fault_api.py")
"${API[@]}" setup || xw_die "setup"
mode() { curl -fsS -m 5 -X POST "$CTL/mode/$1" >/dev/null || xw_die "peer mode $1"; xw_log "target: $1"; }
stats() { curl -fsS -m 5 "$CTL/stats"; }
applied_at_least() { [ "$(stats | jq .keys)" -ge "$1" ]; }
metric() { # NAME
    curl -fsS -m 2 "http://127.0.0.1:$(cat "$RUN/deployer.admin-port")/metrics" \
        | awk -v m="$1" '$1 == m { print $2 }'
}
writes_not_one() { # PREFIX -> counters of that prefix that are not 1, and how many
    xw_write_counts prod | awk -v p="$1-" 'index($2, p) == 1' > "$RUN/wcounts"
    echo "$(awk '$3 != 1' "$RUN/wcounts" | wc -l) $(wc -l < "$RUN/wcounts")"
}

# A. Failing and recovering within the retries.
NA=160
xw_log "A: package of $NA objects"
A=$("${API[@]}" package a $NA) || xw_die "package a"
"${API[@]}" deploy "$A" || xw_die "deploy a"
xw_wait_for "a under way" 30 applied_at_least 20
mode 5xx; sleep 0.8; mode ok; sleep 0.5
mode slow; sleep 0.8; mode ok; sleep 0.5
mode down; sleep 0.8; mode up
xw_log "A: waiting for the package"
"${API[@]}" wait "$A" 1 60 > "$RUN/a.json" || xw_die "a not final: $(jq -c '{status, deployed, failed, pending}' "$RUN/a.json")"
xw_expect_eq "A: every object deployed" "$(jq -c '[.status, .deployed, .failed]' "$RUN/a.json")" "[\"succeeded\",$NA,0]"
stats > "$RUN/stats-a.json"
xw_expect_eq "A: the peer applied each object once" \
    "$(jq -c '[.keys, ([.applied[]] | max)]' "$RUN/stats-a.json")" "[$NA,1]"
xw_expect_eq "A: the catalog wrote each object version once" "$(writes_not_one a)" "0 $NA"
answers503=$(jq '.answers["503"] // 0' "$RUN/stats-a.json")
requests=$(jq '.requests' "$RUN/stats-a.json")
attempts=$(metric xw_deployer_http_attempts_total)
refused=$((attempts - requests))
xw_check "A: 503s were retried ($answers503)" test "$answers503" -gt 0
xw_check "A: timeouts were retried ($requests requests for $NA objects)" \
    test "$((requests - answers503))" -gt $NA
xw_check "A: refused connections were retried ($refused)" test "$refused" -gt 0
xw_log "A: $attempts attempts: $answers503 answered 503, $((requests - answers503 - NA)) timed out, $refused refused"

# B. Down for longer than the retries (now 3 attempts): failed, not stuck;
#    then a replay once the target is back.
xw_log "B: deployer with 3 attempts per object"
xw_stop_service deployer
xw_start_service deployer XW_DEPLOY_HTTP_RETRIES=3
xw_wait_for "deployer healthy" 20 xw_service_healthy deployer
B=$("${API[@]}" package b 20) || xw_die "package b"
mode down
"${API[@]}" deploy "$B" || xw_die "deploy b"
"${API[@]}" wait "$B" 1 60 > "$RUN/b.json" || xw_die "b not final"
xw_expect_eq "B: every object failed, unavailable" \
    "$(jq -c '[.status, .failed, ([.objects[].reason_code] | unique)]' "$RUN/b.json")" \
    '["failed",20,["target_unavailable"]]'
xw_expect_eq "B: the reason says why, without the URL" \
    "$(jq -r '.objects[0].reason' "$RUN/b.json")" \
    "the destination did not accept the object after 3 attempt(s): could not connect"
xw_expect_eq "B: nothing written while down" "$(writes_not_one b)" "0 0"
mode up
xw_log "B: replay"
"${API[@]}" deploy "$B" replay || xw_die "replay b"
"${API[@]}" wait "$B" 2 60 > "$RUN/b2.json" || xw_die "b replay not final"
xw_expect_eq "B: the replay deployed them" "$(jq -c '[.status, .total, .deployed]' "$RUN/b2.json")" '["succeeded",20,20]'
xw_expect_eq "B: the catalog wrote each once" "$(writes_not_one b)" "0 20"
xw_expect_eq "B: the peer applied each once" \
    "$(stats | jq -c '[.applied | to_entries[] | select(.key | test(":b-")) | .value] | [length, max]')" "[20,1]"
printf 'fault_http_target: A %s objects through 503s, timeouts and refused connections (%s attempts): deployed %s, applied/written once; B 20 objects with the target down: failed target_unavailable, replayed: deployed 20, written once\n' "$NA" "$attempts" "$NA"
xw_pass
