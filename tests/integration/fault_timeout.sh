#!/usr/bin/env bash
# A package never gets stuck (XW_PACKAGE_TIMEOUT_S=4 for the test):
#  1. a package that keeps making progress does not time out, however long
#     it takes as a whole (paced by broker latency to last longer than the
#     timeout);
#  2. a package whose deployer is killed in the middle and stays down for
#     longer than the timeout reaches a final state: failed, every object
#     deployed or failed, the ones without a result failed with
#     reason_code "timeout" and a reason naming the setting; one
#     PackageFinished;
#  3. when the deployer comes back, the late results it produces are
#     duplicates for the reporter (first result wins): the package view
#     does not change, and every object version is written exactly once;
#  4. a replay runs only the timed-out objects again: found written, they
#     are reported deployed, nothing is written twice, the package
#     succeeds.
export XW_PACKAGE_TIMEOUT_S=4
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/fault.sh"
fault_init
R=(redis-cli -p "$REDIS_PORT")
API=(python3 "$XW_SRC_DIR/tests/integration/fault_api.py")
"${API[@]}" setup || xw_die "setup"
deployed() { "${R[@]}" HLEN xw:dest:prod:objects; }
deployed_at_least() { [ "$(deployed)" -ge "$1" ]; }
view() { jq -c "$2" "$XW_RUN_DIR/$1.json"; } # NAME JQ

# 1. Steady progress, slower than the timeout as a whole.
ctl rtt 1 150
Q=$("${API[@]}" package q 400) || xw_die "package q"
start=$(date +%s%3N)
"${API[@]}" deploy "$Q" || xw_die "deploy q"
"${API[@]}" wait "$Q" 1 90 > "$XW_RUN_DIR/q.json" || xw_die "q not final: $(cat "$XW_RUN_DIR/q.json")"
took=$(( $(date +%s%3N) - start ))
xw_log "package q: final after $took ms with steady progress"
xw_check "q took longer than the timeout ($took ms)" test "$took" -gt 5000
xw_expect_eq "q: succeeded, nothing timed out" \
    "$(view q '[.status, .deployed, .failed, ([.objects[] | select(.reason_code == "timeout")] | length)]')" \
    '["succeeded",400,0,0]'

# 2. The deployer dies mid-package and stays away longer than the timeout.
P=$("${API[@]}" package p 400) || xw_die "package p"
before=$(deployed)
"${API[@]}" deploy "$P" || xw_die "deploy p"
xw_wait_for "p under way" 30 deployed_at_least $((before + 40))
fault_kill deployer
written=$(( $(deployed) - before ))
xw_log "deployer killed with $written of 400 objects of p written"
ctl rtt 1 0
t0=$SECONDS
"${API[@]}" wait "$P" 1 40 > "$XW_RUN_DIR/p.json" || xw_die "p not final: $(jq -c '{status, deployed, failed, pending}' "$XW_RUN_DIR/p.json")"
xw_log "package p final $((SECONDS - t0)) s after the deployer died"
xw_expect_eq "p: failed, every object final" \
    "$(view p '[.status, .deployed + .failed, .pending, ([.objects[] | select(.outcome == "pending")] | length)]')" \
    '["failed",400,0,0]'
timed_out=$(view p '[.objects[] | select(.outcome == "failed")] | length')
xw_expect_eq "p: every failure is a timeout" \
    "$(view p '[.objects[] | select(.outcome == "failed") | .reason_code] | unique')" '["timeout"]'
xw_check "p: some objects timed out ($timed_out)" test "$timed_out" -gt 0
xw_expect_eq "p: a timeout result names the frozen spec (name, kind, version)" \
    "$(view p '[.objects[] | select(.outcome == "failed") | .object_name == .name and .kind == "node" and .version == ((.id | ltrimstr("p-") | tonumber) + 1)] | unique')" '[true]'
xw_check "p: the reason names the setting" \
    grep -q "XW_PACKAGE_TIMEOUT_S" <<< "$(view p '[.objects[] | select(.outcome == "failed") | .reason][0]')"
xw_check "p: the reporter logged the timeout" grep -q "made no progress for 4 s" "$XW_RUN_DIR/result-reporter.log"

# 3. The deployer comes back: late results change nothing; writes once.
xw_start_service deployer
xw_wait_for "deployer healthy" 20 xw_service_healthy deployer
xw_wait_for "every object of p written" 40 deployed_at_least $((before + 400))
sleep 2   # the late results reach the reporter
"${API[@]}" wait "$P" 1 10 > "$XW_RUN_DIR/p2.json" || xw_die "p view"
xw_expect_eq "late results: the view did not change" \
    "$(view p2 '[.status, .deployed, .failed]')" "$(view p '[.status, .deployed, .failed]')"
counts_p() { xw_write_counts prod | awk '$2 ~ /^p-/'; }
xw_expect_eq "p: one write counter per object" "$(counts_p | wc -l)" 400
xw_expect_eq "p: written once each" "$(counts_p | awk '$3 != 1' | wc -l)" 0

# 4. Replay: only the timed-out objects, found written, deployed.
"${API[@]}" deploy "$P" replay || xw_die "replay p"
"${API[@]}" wait "$P" 2 40 > "$XW_RUN_DIR/p3.json" || xw_die "replay not final"
xw_expect_eq "replay: the timed-out objects, now deployed" \
    "$(view p3 '[.status, .total, .deployed, .failed]')" "[\"succeeded\",$timed_out,$timed_out,0]"
xw_expect_eq "replay: still written once each" \
    "$(counts_p | awk '$3 != 1' | wc -l) $(counts_p | wc -l)" "0 400"
"$XW_BUILD_DIR/tests/reporter_inject" dump outcomes > "$XW_RUN_DIR/outcomes.txt"
xw_expect_eq "one PackageFinished per attempt" \
    "$(awk -v p="$P" '$1 == "PackageFinished" && $2 == p { print $3, $NF }' "$XW_RUN_DIR/outcomes.txt" | sort -u | tr '\n' ' ')" \
    "1 $(awk -v p="$P" '$1 == "PackageFinished" && $2 == p && $3 == 1 { print $NF }' "$XW_RUN_DIR/outcomes.txt" | head -1) 2 $(awk -v p="$P" '$1 == "PackageFinished" && $2 == p && $3 == 2 { print $NF }' "$XW_RUN_DIR/outcomes.txt" | head -1) "
xw_expect_eq "one ObjectResult copy per object of attempt 1" \
    "$(awk -v p="$P" '$1 == "ObjectResult" && $2 == p && $3 == 1 { print $4 }' "$XW_RUN_DIR/outcomes.txt" | sort | uniq -d | wc -l) $(awk -v p="$P" '$1 == "ObjectResult" && $2 == p && $3 == 1 { print $4 }' "$XW_RUN_DIR/outcomes.txt" | sort -u | wc -l)" \
    "0 400"
xw_expect_eq "nothing left deploying" "$("${R[@]}" ZCARD xw:deploying)" 0
printf 'fault_timeout: %s objects timed out after the deployer died (of 400; %s written before the kill), replayed: deployed %s, written twice 0, stuck 0\n' \
    "$timed_out" "$written" "$timed_out"
xw_pass
