# tests/lib/fault.sh - shared by the fault tests (tests/integration/fault_*.sh),
# sourced after harness.sh.
#
#   fault_init                  redis, broker, tokens, the five services
#                               (fault_stack, then fault_services)
#   fault_run_flow              starts tests/integration/fault_flow.py in the
#                               background (FAULT_FLOW_PID), returns when the
#                               workload starts (objects, packages, deploys)
#   fault_kill NAME             kill -9 a service
#   fault_restart NAME [PAUSE]  kill -9 a service, pause, start it again
#   ctl LINE...                 (tests/lib/harness.sh) the broker's control port
#   fault_check LABEL           waits for the flow, then checks every object,
#                               the write counters and what subscribers got;
#                               prints the figures line
#
# Settings the services share in these tests: small consumer batches (a
# fault lands in the middle of a package, not between two), a short
# package-lock TTL (a killed deployer's packages are free again soon).
# FAULT_SEED makes the random moments reproducible.

FAULT_SEED=${FAULT_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$FAULT_SEED
FAULT_KILLS=0
declare -A FAULT_KILLED=()

fault_init() {
    fault_stack
    fault_services
}

# The two halves of fault_init, for a test that starts something of its
# own in between (a deploy target, say).
fault_stack() {
    # librdkafka's default fetch wait (500 ms; the local stack uses 10) keeps
    # packages in flight long enough for every planned fault to land.
    export XW_RDKAFKA_FETCH_WAIT_MAX_MS=${XW_RDKAFKA_FETCH_WAIT_MAX_MS:-500}
    xw_harness_init
    xw_start_redis >/dev/null
    xw_start_broker
}

fault_services() {
    XW_TOKENS=$(python3 -c "import sys; sys.path.insert(0,'$XW_SRC_DIR/tests/lib'); import xwapi; print(xwapi.tokens_env(xwapi.DEMO_USERS))")
    export XW_TOKENS XW_SYSTEM_ADMINS=root
    export XW_BATCH_MAX=${XW_BATCH_MAX:-20}
    export XW_DEPLOY_LOCK_TTL_MS=${XW_DEPLOY_LOCK_TTL_MS:-3000}
    export XW_DEPLOY_LOCK_IDLE_MS=${XW_DEPLOY_LOCK_IDLE_MS:-1000}
    xw_start_services
    xw_log "fault test seed $FAULT_SEED (FAULT_SEED=$FAULT_SEED to repeat)"
}

# A random whole number of milliseconds in [LO, HI], as seconds for sleep.
fault_rand_s() { # LO_MS HI_MS
    local ms=$(( $1 + RANDOM % ($2 - $1 + 1) ))
    printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

fault_run_flow() {
    rm -f "$XW_RUN_DIR/flow.started"
    XW_FAULT_MARK=$XW_RUN_DIR/flow.started \
        python3 "$XW_SRC_DIR/tests/integration/fault_flow.py" run \
        "$XW_RUN_DIR/report.json" 2> "$XW_RUN_DIR/flow.log" &
    FAULT_FLOW_PID=$!
    XW_PIDS+=($FAULT_FLOW_PID)
    xw_wait_for "the workload to start" 120 test -e "$XW_RUN_DIR/flow.started"
}

fault_flow_running() { kill -0 "$FAULT_FLOW_PID" 2>/dev/null; }

fault_kill() { # NAME: kill -9, quietly
    local pid
    pid=$(cat "$XW_RUN_DIR/$1.pid")
    disown "$pid" 2>/dev/null || true   # no "Killed" notice from bash
    xw_stop_service "$1" KILL
}

fault_restart() { # NAME [PAUSE_S]
    fault_kill "$1"
    FAULT_KILLS=$((FAULT_KILLS + 1))
    FAULT_KILLED[$1]=$(( ${FAULT_KILLED[$1]:-0} + 1 ))
    xw_log "kill -9 $1 (kill #$FAULT_KILLS)"
    sleep "${2:-$(fault_rand_s 200 800)}"
    xw_start_service "$1"
}

# fault_check LABEL [EXTRA-FIGURES]: everything that must hold after a run.
fault_check() {
    local label=$1 extra=${2:-} rc=0 R=(redis-cli -p "$REDIS_PORT")
    wait "$FAULT_FLOW_PID" || rc=$?
    for s in "${XW_SERVICES[@]}"; do
        xw_wait_for "$s healthy after the faults" 20 xw_service_healthy "$s"
    done
    local report=$XW_RUN_DIR/report.json
    [ -s "$report" ] || xw_die "no report from the flow (logs in $XW_RUN_DIR): $(tail -5 "$XW_RUN_DIR/flow.log")"
    local objects lost wrong stuck expected
    objects=$(jq '.objects' "$report")
    lost=$(jq '[.packages[].lost_n] | add' "$report")
    wrong=$(jq '[.packages[].wrong_n] | add' "$report")
    stuck=$(jq '[.packages[] | select(.final | not)] | length' "$report")
    expected=$(jq '.expected_deployed' "$report")
    if [ "$rc" != 0 ] || [ "$lost" != 0 ] || [ "$wrong" != 0 ] || [ "$stuck" != 0 ]; then
        jq -c '.packages[] | {package, status, final, counts, expected, lost_n, lost, wrong}' "$report" >&2
        XW_KEEP_RUN_DIR=1
    fi
    xw_expect_eq "$label: objects not in a final state (lost)" "$lost" 0
    xw_expect_eq "$label: objects with the wrong outcome" "$wrong" 0
    xw_expect_eq "$label: packages not final (stuck)" "$stuck" 0
    xw_expect_eq "$label: flow" "$rc" 0
    xw_expect_eq "$label: destination holds every deployed object" \
        "$(jq '.destination_objects' "$report")" "$expected"

    # The destination's write counter of every object version is 1.
    xw_write_counts > "$XW_RUN_DIR/wcounts"
    local nkeys twice
    nkeys=$(wc -l < "$XW_RUN_DIR/wcounts")
    twice=$(awk '$3 != 1' "$XW_RUN_DIR/wcounts" | wc -l)
    xw_expect_eq "$label: one write counter per deployed object" "$nkeys" "$expected"
    xw_expect_eq "$label: objects written more than once" "$twice" 0

    # What subscribers got on xw.outcomes: one PackageFinished per
    # (package, attempt) by event id (raw repeats must share the id), one
    # ObjectResult copy per (package, attempt, object) by event id.
    local dump=$XW_RUN_DIR/outcomes.txt
    "$XW_BUILD_DIR/tests/reporter_inject" dump outcomes > "$dump" \
        || xw_die "reading xw.outcomes"
    local fin_raw fin_pairs fin_ids res_pairs res_ids res_raw npkg
    npkg=$(jq '.packages | length' "$report")
    fin_raw=$(grep -c '^PackageFinished ' "$dump" || true)
    fin_pairs=$(awk '$1 == "PackageFinished" { print $2, $3 }' "$dump" | sort -u | wc -l)
    fin_ids=$(awk '$1 == "PackageFinished" { print $2, $3, $NF }' "$dump" | sort -u | wc -l)
    res_raw=$(grep -c '^ObjectResult ' "$dump" || true)
    res_pairs=$(awk '$1 == "ObjectResult" { print $2, $3, $4 }' "$dump" | sort -u | wc -l)
    res_ids=$(awk '$1 == "ObjectResult" { print $2, $3, $4, $6 }' "$dump" | sort -u | wc -l)
    xw_expect_eq "$label: PackageFinished for every package" "$fin_pairs" "$npkg"
    xw_expect_eq "$label: PackageFinished ids per (package, attempt)" "$fin_ids" "$fin_pairs"
    xw_expect_eq "$label: ObjectResult copies: one id per (package, attempt, object)" \
        "$res_ids" "$res_pairs"
    xw_expect_eq "$label: an ObjectResult copy for every object of the attempts" \
        "$res_pairs" "$(jq '[.packages[] | .counts.deployed + .counts.failed] | add' "$report")"
    FAULT_FIGURES="objects $objects, $extra; lost $lost, written twice $twice, stuck $stuck; subscribers: PackageFinished $fin_raw raw / $fin_pairs distinct, ObjectResult copies $res_raw raw / $res_pairs distinct (repeats share the event id)"
    printf '%s: %s\n' "$label" "$FAULT_FIGURES"
}
