#!/usr/bin/env bash
# Nothing lost, nothing twice, nothing stuck while services are killed:
# 2,000 objects in 5 packages of 400 (distinct versions: every deployed
# object is a real destination write; some fail, some are excluded, by
# design) go through the public API while every service is killed with
# kill -9 in turn at random moments - the packager, the mapper and the
# deployer three times each, the result-reporter twice, the
# submit-listener once - and restarted after a short pause. Then
# (tests/lib/fault.sh, fault_check): every object in exactly one final
# state with the expected outcome, no package left non-final, the
# destination's write counter of every object version exactly 1, one
# PackageFinished per (package, attempt) and one ObjectResult copy per
# object by event id on xw.outcomes.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/fault.sh"
fault_init
# Broker latency paces the pipeline (every batch waits for its events to
# be acknowledged), so that the kills land while packages are in flight.
ctl rtt 1 100
fault_run_flow
order=(packager mapper deployer result-reporter submit-listener
       deployer packager mapper result-reporter deployer mapper packager)
for s in "${order[@]}"; do
    fault_flow_running || break
    sleep "$(fault_rand_s 200 1000)"
    fault_restart "$s"
done
ctl rtt 1 0
xw_log "kills done: $FAULT_KILLS; waiting for every package to be final"
for s in packager mapper deployer result-reporter submit-listener; do
    xw_check "$s was killed during the run" test "${FAULT_KILLED[$s]:-0}" -ge 1
done
xw_check "at least 12 kills during the run" test "$FAULT_KILLS" -ge 12
fault_check fault_kill "kills $FAULT_KILLS ($(for s in "${!FAULT_KILLED[@]}"; do printf '%s %s, ' "$s" "${FAULT_KILLED[$s]}"; done | sed 's/, $//'))"
xw_pass
