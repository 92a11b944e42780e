#!/usr/bin/env bash
# Nothing lost, nothing twice, nothing stuck across Redis restarts: the
# workload of fault_kill.sh (2,000 objects in 5 packages, through the
# public API) while redis-server (AOF, appendfsync always) is stopped -
# kill -9 or SIGTERM - at random moments and started again on the same
# port and data dir after a pause of 1-2 s, four times. Every service
# rides it out: batches are retried, the API answers 503 meanwhile (the
# client retries with the same Idempotency-Key), scripts are reloaded.
# Same checks as fault_kill.sh (tests/lib/fault.sh, fault_check). Then two
# deterministic cases of Redis refusing a command (see below).
export XW_REDIS_FSYNC=always
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/fault.sh"
fault_init
ctl rtt 1 100
RESTARTS=0
fault_run_flow
for sig in KILL TERM KILL KILL; do
    fault_flow_running || break
    sleep "$(fault_rand_s 500 2000)"
    pause=$(fault_rand_s 1000 2000)
    xw_log "restart #$((RESTARTS + 1)) of redis-server: SIG$sig, down for $pause s"
    xw_restart_redis "$sig" "$pause"
    RESTARTS=$((RESTARTS + 1))
done
ctl rtt 1 0
xw_log "restarts done: $RESTARTS; waiting for every package to be final"
xw_check "every Redis restart happened during the run" test "$RESTARTS" -eq 4
fault_check fault_redis "Redis restarts $RESTARTS (kill -9 and SIGTERM, down 1-2 s each)"

# Two deterministic cases of Redis refusing a command for a moment, made
# with ACLs (the packager and the mapper run as their own Redis users):
#  - the packager is refused EXPIRE, used only in the transaction that marks
#    a DeployRequested applied and its request done, not in the attempt
#    script before it: the attempt starts, the transaction is refused
#    (NOPERM, EXECABORT), the retried command finds its attempt started. It
#    must still finish the request ("done", not "pending" for ever) and
#    start no second attempt;
#  - the mapper is refused HGET (the environment) when the attempt reaches
#    it: an error reply that is not WRONGTYPE (like LOADING from a Redis
#    reading its AOF) is Redis' state, not the package's: retried, not the
#    whole package failed with environment_invalid.
# The package must then deploy once, every object.
R=(redis-cli -p "$REDIS_PORT")
API=(python3 "$XW_SRC_DIR/tests/integration/fault_api.py")
P=$("${API[@]}" package t 50) || xw_die "package t"
for s in packager mapper; do
    "${R[@]}" ACL SETUSER "$s" on '>pw-0123456789' '~*' '&*' +@all >/dev/null
    xw_stop_service "$s"
    xw_start_service "$s" "XW_REDIS_URL=redis://$s:pw-0123456789@127.0.0.1:$REDIS_PORT/0"
done
for s in packager mapper; do xw_wait_for "$s healthy" 20 xw_service_healthy "$s"; done
"${R[@]}" ACL SETUSER packager -expire >/dev/null
"${R[@]}" ACL SETUSER mapper -hget >/dev/null
XW_FAULT_PENDING_S=30 "${API[@]}" deploy "$P" > "$XW_RUN_DIR/deploy.out" 2>&1 &
deploy_pid=$!
xw_wait_for "the attempt started without its transaction" 20 \
    grep -q "NOPERM" "$XW_RUN_DIR/packager.log"
sleep 1
"${R[@]}" ACL SETUSER packager +expire >/dev/null
wait "$deploy_pid" || xw_die "the deploy request never finished: $(tail -3 "$XW_RUN_DIR/deploy.out")"
XW_CHECKS=$((XW_CHECKS + 1))
xw_wait_for "the mapper refused its environment" 20 grep -q "NOPERM" "$XW_RUN_DIR/mapper.log"
sleep 1
"${R[@]}" ACL SETUSER mapper +hget >/dev/null
"${API[@]}" wait "$P" 1 30 > "$XW_RUN_DIR/p.json" || xw_die "package t not final"
xw_expect_eq "refused commands: one attempt, every object deployed" \
    "$(jq -c '[.status, .attempt, .deployed]' "$XW_RUN_DIR/p.json")" '["succeeded",1,50]'
xw_expect_eq "refused commands: the packager started one attempt" \
    "$("${R[@]}" HGET "xw:pkg:$P" attempt)" 1
xw_pass
