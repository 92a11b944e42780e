#!/usr/bin/env bash
# Nothing lost, nothing twice, nothing stuck under broker faults: the
# workload of fault_kill.sh (2,000 objects in 5 packages, through the
# public API) while the local broker's control port injects, at random
# moments, request errors on Produce, Fetch, OffsetCommit, Heartbeat,
# JoinGroup and SyncGroup (retriable codes: NOT_LEADER_FOR_PARTITION,
# REQUEST_TIMED_OUT, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
# REBALANCE_IN_PROGRESS to force every group through JoinGroup/SyncGroup
# again), and takes the broker off the network for 2 and 3 seconds; and
# twice a fatal producer error (OUT_OF_ORDER_SEQUENCE_NUMBER breaks the
# idempotent producer for good): whichever service produces next must fail
# its health check and exit non-zero rather than retry forever, and its
# restart must redo what it had not finished.
# Same checks as fault_kill.sh (tests/lib/fault.sh, fault_check).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/fault.sh"
fault_init
ctl rtt 1 100
FAULTS=0
REQUEST_ERRORS=0
OUTAGES=0
FATALS=0
declare -A FATAL_STOPPED=()
inject() { # ApiKey ERR N
    ctl push_errors "$1" "$2" "$3"
    FAULTS=$((FAULTS + 1))
    REQUEST_ERRORS=$((REQUEST_ERRORS + $3))
    xw_log "fault #$FAULTS: next $3 $1 request(s) fail with $2"
}
outage() { # SECONDS
    ctl broker_down 1
    xw_log "fault #$((FAULTS + 1)): broker down for $1 s"
    sleep "$1"
    ctl broker_up 1
    FAULTS=$((FAULTS + 1))
    OUTAGES=$((OUTAGES + 1))
}
fatal_scan() { # restarts a service that stopped on the fatal error; 0 if one did
    local s pid rc
    for s in "${XW_SERVICES[@]}"; do
        [ -f "$XW_RUN_DIR/$s.pid" ] || continue
        pid=$(cat "$XW_RUN_DIR/$s.pid")
        kill -0 "$pid" 2>/dev/null && continue
        rc=0; wait "$pid" || rc=$?
        xw_check "$s exited with status 1 after the fatal error (got $rc)" test "$rc" = 1
        xw_check "$s logged why it stopped" grep -q "producer fatal error: .*: stopping" "$XW_RUN_DIR/$s.log"
        FATAL_STOPPED[$s]=$(( ${FATAL_STOPPED[$s]:-0} + 1 ))
        FATALS=$((FATALS + 1))
        xw_start_service "$s"
        xw_log "$s stopped on the fatal error and was restarted"
        return 0
    done
    return 1
}
# fatal [pipeline]: a fatal producer error; the service that hits it must
# exit with status 1 (having said why); restart it. With "pipeline" the
# submit-listener is stopped meanwhile, so that the error lands on one of
# the four consumer services working through the backlog.
fatal() {
    local deadline=$((SECONDS + 15))
    if [ "${1:-}" = pipeline ]; then
        xw_stop_service submit-listener TERM
    fi
    ctl push_errors Produce OUT_OF_ORDER_SEQUENCE_NUMBER 1
    FAULTS=$((FAULTS + 1))
    xw_log "fault #$FAULTS: the next Produce request fails with OUT_OF_ORDER_SEQUENCE_NUMBER (fatal)${1:+, submit-listener paused}"
    until fatal_scan; do
        if [ $SECONDS -ge $deadline ]; then
            # Nobody produced meanwhile (no work left): take the error
            # back, and look once more in case it was taken just now.
            ctl clear_errors Produce
            sleep 1
            fatal_scan || true
            break
        fi
        sleep 0.05
    done
    [ -f "$XW_RUN_DIR/submit-listener.pid" ] || xw_start_service submit-listener
}
fault_run_flow
plan=(
    "inject Produce NOT_LEADER_FOR_PARTITION 3"
    "inject Fetch NOT_LEADER_FOR_PARTITION 4"
    "fatal pipeline"
    "inject OffsetCommit COORDINATOR_NOT_AVAILABLE 3"
    "outage 2"
    "inject Produce REQUEST_TIMED_OUT 2"
    "inject JoinGroup COORDINATOR_NOT_AVAILABLE 2"
    "inject SyncGroup NOT_COORDINATOR 2"
    "inject Heartbeat REBALANCE_IN_PROGRESS 3"
    "inject Fetch REQUEST_TIMED_OUT 3"
    "inject OffsetCommit NOT_COORDINATOR 3"
    "outage 3"
    "inject Heartbeat NOT_COORDINATOR 3"
    "inject Produce NOT_LEADER_FOR_PARTITION 5"
    "inject JoinGroup NOT_COORDINATOR 2"
    "inject Heartbeat REBALANCE_IN_PROGRESS 3"
    "inject Produce REQUEST_TIMED_OUT 3"
    "fatal"
)
# The plan, step by step at random moments, while the flow runs.
for step in "${plan[@]}"; do
    sleep "$(fault_rand_s 200 900)"
    fault_flow_running || break
    $step
done
ctl rtt 1 0
xw_log "faults done: $FAULTS; waiting for every package to be final"
xw_check "at least 12 faults during the run ($FAULTS)" test "$FAULTS" -ge 12
xw_check "the broker went down and up during the run" test "$OUTAGES" -ge 1
fault_check fault_broker "broker faults $FAULTS ($REQUEST_ERRORS failed requests in $((FAULTS - OUTAGES)) injections, $OUTAGES outages of 2-3 s, $FATALS fatal producer errors during the flow, stopped and restarted: $(for s in "${!FATAL_STOPPED[@]}"; do printf '%s ' "$s"; done | sed 's/ $//'))"
# The two injections above land wherever the traffic is (none at all if
# the flow is between phases). One more, certain to land: with the
# pipeline idle, the next Produce request is the listener's, for this
# write; the listener must stop, and answer again once restarted.
export XW_SRC_DIR
ctl push_errors Produce OUT_OF_ORDER_SEQUENCE_NUMBER 1
python3 - <<'PY' || true
import os, sys
sys.path.insert(0, os.path.join(os.environ["XW_SRC_DIR"], "tests", "lib"))
import xwapi
try:
    st, _ = xwapi.Api().call("root", "PUT", "/v1/workspaces/dev", xwapi.load("ws-dev.json"))
    print("write during the fatal error: HTTP %s" % st)
except Exception as e:  # the listener may exit before it answers
    print("write during the fatal error: no answer (%s)" % type(e).__name__)
PY
xw_wait_for "the listener to stop on the fatal error" 15 \
    bash -c "! kill -0 $(cat "$XW_RUN_DIR/submit-listener.pid")"
fatal_scan || xw_die "the listener did not stop on the fatal error"
xw_wait_for "the restarted listener healthy" 20 xw_service_healthy submit-listener
xw_check "the listener answers after its restart" python3 -c "
import os, sys
sys.path.insert(0, os.path.join(os.environ['XW_SRC_DIR'], 'tests', 'lib'))
import xwapi
st, _ = xwapi.Api().call('root', 'GET', '/v1/workspaces/dev')
sys.exit(0 if st == 200 else 1)"
xw_check "fatal producer errors stopped services ($FATALS)" test "$FATALS" -ge 1
xw_pass
