#!/usr/bin/env bash
# Nothing lost, nothing twice, nothing stuck under broker faults: the
# workload of fault_kill.sh (2,000 objects in 5 packages, through the
# public API) while the local broker's control port injects, at random
# moments, request errors on Produce, Fetch, OffsetCommit, Heartbeat,
# JoinGroup and SyncGroup (retriable codes: NOT_LEADER_FOR_PARTITION,
# REQUEST_TIMED_OUT, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
# REBALANCE_IN_PROGRESS to force every group through JoinGroup/SyncGroup
# again), and takes the broker off the network for 2 and 3 seconds.
# Same checks as fault_kill.sh (tests/lib/fault.sh, fault_check).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/fault.sh"
fault_init
ctl rtt 1 100
FAULTS=0
REQUEST_ERRORS=0
OUTAGES=0
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
fault_run_flow
plan=(
    "inject Produce NOT_LEADER_FOR_PARTITION 3"
    "inject Fetch NOT_LEADER_FOR_PARTITION 4"
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
fault_check fault_broker "broker faults $FAULTS ($REQUEST_ERRORS failed requests in $((FAULTS - OUTAGES)) injections, $OUTAGES outages of 2-3 s)"
xw_pass
