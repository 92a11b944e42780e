#!/usr/bin/env bash
# The result-reporter on its own: a real redis-server, the local broker and
# xw-result-reporter, fed by tests/helpers/reporter_inject (every event is
# produced twice with the same id, the second round in reverse order).
#
#  1. results of attempt 1 arrive BEFORE the package and its DeployStarted:
#     they are kept, and DeployStarted finds the attempt complete;
#  2. the summary says failed with 3 deployed / 1 failed / 1 excluded, the
#     latest-result hash has 5 entries, both workspaces list the package;
#  3. exactly one PackageFinished reached xw.outcomes, and one copy of
#     each result; an empty attempt (total 0) is succeeded at once;
#  4. an undecodable event is dead-lettered and the service goes on;
#  5. a replay (attempt 2, the failed object now deployed) makes the
#     package succeeded; xw:res holds every object's latest outcome;
#     late duplicates of attempt 1 change nothing;
#     (xw:res:{pkg} holds each result as the ObjectResult message itself,
#     Avro; tools/avrojson prints it as the JSON stored before, checked
#     byte for byte against that JSON for a deployed, a failed and an
#     excluded result)
#  6. audit records land once in xw:audit and xw:audit:{ws}; the metrics
#     count folded results, duplicates and finished attempts; a batch
#     mixing results folded before with new ones copies exactly the new
#     ones (the copy check's answers are matched to the right results);
#  7. Redis restarted mid-package: the batch is retried, the scripts are
#     reloaded, the package finishes, one PackageFinished;
#  8. a result of an attempt that is new while later attempts exist
#     becomes the latest only where no later attempt has one;
#  9. --rebuild deletes only the reporter's keys, replays the topics and
#     ends with byte-identical summaries and the same result hashes,
#     publishing nothing.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_redis
xw_start_broker
inject=$XW_BUILD_DIR/tests/reporter_inject
avrojson=$XW_BUILD_DIR/tools/xw-avrojson
[ -x "$inject" ] || xw_die "$inject is not built"
[ -x "$avrojson" ] || xw_die "$avrojson is not built"
R() { redis-cli -p "$REDIS_PORT" "$@"; }
res() { R HGET "xw:res:$1" "$2" | "$avrojson"; }   # PKG OBJ -> JSON
hex() { od -An -v -tx1 | tr -d ' \n'; }
B=1764115200000
at() { echo $((B + $1)); }

xw_start_service result-reporter XW_LOG_LEVEL=info
xw_wait_for "result-reporter healthy" 20 xw_service_healthy result-reporter

metric() { # NAME -> value
    curl -fsS "http://127.0.0.1:$(cat "$XW_RUN_DIR/result-reporter.admin-port")/metrics" |
        awk -v n="$1" '$1 == n { print $2 }'
}
status_is() { # PKG STATUS ATTEMPT
    local s
    s=$(R GET "xw:pkgsum:$1")
    [ -n "$s" ] && [ "$(jq -r '.status + " " + (.attempt|tostring)' <<<"$s")" = "$2 $3" ]
}

# 1. Results first (attempt 1: 3 deployed, 1 failed, 1 excluded).
res1=(o1=deployed@$(at 20000) o2=deployed@$(at 21000) o3=deployed@$(at 22000)
      o4=failed@$(at 23000) o5=excluded@$(at 24000))
"$inject" results P 1 5 "${res1[@]}" >/dev/null
xw_wait_for "results of attempt 1 folded" 30 \
    bash -c "[ \"\$(redis-cli -p $REDIS_PORT HLEN xw:res:P:1)\" = 5 ]"
xw_expect_eq "no summary before the package is known" "$(R EXISTS xw:pkgsum:P)" 0
xw_expect_eq "counters kept without a total" \
    "$(R HMGET xw:cnt:P:1 total deployed failed excluded | paste -sd' ')" " 3 1 1"

"$inject" created P dev prod >/dev/null
"$inject" started P 1 "$(at 10000)" o1 o2 o3 o4 o5 >/dev/null
xw_wait_for "attempt 1 final" 30 status_is P failed 1

# 2. The summary, byte for byte (fixed field order).
want='{"package_id":"P","source_workspace":"dev","destination_workspace":"prod","environment":"to-prod","creator":"dave","executor":"olga","status":"failed","attempt":1,"objects":5,"total":5,"deployed":3,"failed":1,"excluded":1,"pending":0,"created_at":'$B',"started_at":'$(at 10000)',"finished_at":'$(at 24000)',"duration_ms":14000}'
xw_expect_eq "summary after attempt 1" "$(R GET xw:pkgsum:P)" "$want"
xw_expect_eq "latest results" "$(R HLEN xw:res:P)" 5
xw_expect_eq "o4 failed with its reason" \
    "$(res P o4 | jq -r '.outcome + "/" + .reason_code')" "failed/datasource_unmapped"
# Stored as the message (Avro), read back as exactly the JSON the reporter
# stored before (the API's rows are built from that JSON).
xw_expect_eq "o4 stored as Avro" "$(R HGET xw:res:P o4 | head -c 2 | hex)" c301
xw_expect_eq "deployed result as before" "$(res P o1)" \
    '{"event_id":"8821053c-5feb-8cfb-920c-bc98663551a1","occurred_at":1764115220000,"actor":"test","correlation_id":"test","package_id":"P","attempt":1,"source_workspace":"dev","destination_workspace":"prod","total":5,"object_id":"o1","object_name":"o1","kind":"node","version":1,"outcome":"deployed","reason_code":null,"reason":null,"compute_resource":null,"resource_group":null,"owner":null,"effective_at":1764201620000,"effective_date":"2025-11-27","timing_rule":"next_day","replaced_version":null}'
xw_expect_eq "failed result as before" "$(res P o4)" \
    '{"event_id":"55eb6720-950d-81b9-88f4-bd5bc25d52ea","occurred_at":1764115223000,"actor":"test","correlation_id":"test","package_id":"P","attempt":1,"source_workspace":"dev","destination_workspace":"prod","total":5,"object_id":"o4","object_name":"o4","kind":"node","version":1,"outcome":"failed","reason_code":"datasource_unmapped","reason":"data source mysql_x is not mapped","compute_resource":null,"resource_group":null,"owner":null,"effective_at":null,"effective_date":null,"timing_rule":null,"replaced_version":null}'
xw_expect_eq "excluded result as before" "$(res P o5)" \
    '{"event_id":"e000cf78-2fb7-8167-a522-e93b94db53ff","occurred_at":1764115224000,"actor":"test","correlation_id":"test","package_id":"P","attempt":1,"source_workspace":"dev","destination_workspace":"prod","total":5,"object_id":"o5","object_name":"o5","kind":"node","version":1,"outcome":"excluded","reason_code":null,"reason":null,"compute_resource":null,"resource_group":null,"owner":null,"effective_at":null,"effective_date":null,"timing_rule":null,"replaced_version":null}'
xw_expect_eq "source history" "$(R ZSCORE xw:pkgs:dev P)" "$B"
xw_expect_eq "destination history" "$(R ZSCORE xw:pkgs:prod P)" "$B"

# An attempt without objects is final when it starts.
"$inject" created Z dev prod >/dev/null
"$inject" started Z 1 "$(at 50000)" >/dev/null
xw_wait_for "empty attempt final" 30 status_is Z succeeded 1
xw_expect_eq "empty attempt counts" \
    "$(R GET xw:pkgsum:Z | jq -c '[.total,.pending,.finished_at,.duration_ms]')" "[0,0,$(at 50000),0]"

# 3. What subscribers got.
out=$("$inject" dump outcomes)
xw_expect_eq "one PackageFinished for attempt 1" "$(grep -c '^PackageFinished P 1 ' <<<"$out")" 1
xw_check "PackageFinished fields: $(grep '^PackageFinished P 1 ' <<<"$out")" \
    grep -q "^PackageFinished P 1 failed total=5 deployed=3 failed=1 excluded=1 src=dev dst=prod env=to-prod creator=dave executor=olga started=$(at 10000) finished=$(at 24000) duration=14000 " <<<"$out"
xw_expect_eq "one PackageFinished for the empty attempt" \
    "$(grep -c '^PackageFinished Z 1 succeeded total=0 ' <<<"$out")" 1
xw_expect_eq "one copy per result" "$(grep -c '^ObjectResult P 1 ' <<<"$out")" 5
xw_expect_eq "copies are distinct" "$(grep '^ObjectResult P 1 ' <<<"$out" | sort -u | wc -l)" 5

# 4. Poison: dead-lettered, the service goes on.
"$inject" poison >/dev/null
xw_wait_for "dead letter" 20 bash -c "'$inject' dump dlq | grep -q '^DeadLetter result-reporter xw.results undecodable'"

# 5. Replay: attempt 2 runs the failed object, which now deploys; late
# duplicates of attempt 1 come along.
"$inject" started P 2 "$(at 100000)" o4 >/dev/null
"$inject" results P 2 1 o4=deployed@$(at 105000) >/dev/null
"$inject" results P 1 5 "${res1[@]}" >/dev/null
xw_wait_for "attempt 2 final" 30 status_is P succeeded 2
want='{"package_id":"P","source_workspace":"dev","destination_workspace":"prod","environment":"to-prod","creator":"dave","executor":"oscar","status":"succeeded","attempt":2,"objects":5,"total":1,"deployed":1,"failed":0,"excluded":0,"pending":0,"created_at":'$B',"started_at":'$(at 100000)',"finished_at":'$(at 105000)',"duration_ms":5000}'
xw_expect_eq "summary after the replay" "$(R GET xw:pkgsum:P)" "$want"
latest() { # PKG -> OBJ:OUTCOME:ATTEMPT of each latest result, sorted
    local o
    for o in $(R HKEYS "xw:res:$1" | sort); do
        printf '%s:%s ' "$o" "$(res "$1" "$o" | jq -r '.outcome + ":" + (.attempt|tostring)')"
    done
}
xw_expect_eq "latest outcomes" "$(latest P)" \
    "o1:deployed:1 o2:deployed:1 o3:deployed:1 o4:deployed:2 o5:excluded:1 "
xw_expect_eq "attempt 1 keeps its own outcome" "$(R HGET xw:res:P:1 o4)" failed
xw_expect_eq "attempt 2 marks only its own object" "$(R HGETALL xw:res:P:2 | paste -sd' ')" "o4 deployed"
xw_expect_eq "attempt 1 counters unchanged by late duplicates" \
    "$(R HMGET xw:cnt:P:1 deployed failed excluded status | paste -sd' ')" "3 1 1 failed"
out=$("$inject" dump outcomes)
xw_expect_eq "still one PackageFinished for attempt 1" "$(grep -c '^PackageFinished P 1 ' <<<"$out")" 1
xw_expect_eq "one PackageFinished for attempt 2" \
    "$(grep -c '^PackageFinished P 2 succeeded total=1 deployed=1 failed=0 excluded=0 ' <<<"$out")" 1
xw_expect_eq "one copy of the replayed result" "$(grep -c '^ObjectResult P 2 o4 deployed' <<<"$out")" 1
xw_expect_eq "no more copies of attempt 1" "$(grep -c '^ObjectResult P 1 ' <<<"$out")" 5

# 6. Audit, once per event id.
"$inject" audit 4 dev >/dev/null
xw_wait_for "audit recorded" 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT LLEN xw:audit)\" = 4 ]"
xw_expect_eq "workspace audit" "$(R LLEN xw:audit:dev)" 2

xw_expect_eq "metric: results folded" "$(metric xw_reporter_results_folded_total)" 6
xw_expect_eq "metric: duplicates" "$(metric xw_reporter_results_duplicate_total)" 16
xw_expect_eq "metric: packages finished" "$(metric xw_reporter_packages_finished_total)" 3
xw_expect_eq "metric: audit duplicates" "$(metric xw_reporter_audit_duplicate_total)" 4

# A batch whose results alternate between folded before (o1, o3) and new
# (o2, o4): only the new ones are copied, each once. The copy check asks
# about all of them in one HMGET; an answer matched to the wrong result
# would copy o1 or o3 again, or lose o2 or o4.
"$inject" results M 1 4 o1=deployed@$(at 400000) o3=deployed@$(at 402000) >/dev/null
xw_wait_for "first results of M folded" 30 \
    bash -c "[ \"\$(redis-cli -p $REDIS_PORT HLEN xw:res:M:1)\" = 2 ]"
"$inject" results M 1 4 o1=deployed@$(at 400000) o2=failed@$(at 401000) \
    o3=deployed@$(at 402000) o4=excluded@$(at 403000) >/dev/null
xw_wait_for "results of M folded" 30 \
    bash -c "[ \"\$(redis-cli -p $REDIS_PORT HLEN xw:res:M:1)\" = 4 ]"
xw_expect_eq "copies of M: each object once, the new ones after the old" \
    "$("$inject" dump outcomes | awk '$1 == "ObjectResult" && $2 == "M" { printf "%s=%s ", $4, $5 }')" \
    "o1=deployed o3=deployed o2=failed o4=excluded "

# 7. Redis restarts while a package is in flight: the batch is retried until
# Redis is back (with an empty script cache: reloaded on NOSCRIPT).
retries_before=$(grep -c "batch not applied" "$XW_RUN_DIR/result-reporter.log" || true)
kill "$(cat "$XW_RUN_DIR/redis/redis.pid")"
xw_wait_for "redis down" 10 bash -c "! redis-cli -p $REDIS_PORT ping"
"$inject" created Q dev prod >/dev/null
"$inject" started Q 1 "$(at 200000)" o1 o2 >/dev/null
"$inject" results Q 1 2 o1=deployed@$(at 201000) o2=failed@$(at 202000) >/dev/null
# Wait until the reporter has actually tried (and failed) to apply the batch,
# rather than sleeping: on a loaded machine it may take longer than a second.
xw_wait_for "the reporter retrying while Redis is down" 30 bash -c \
    "[ \$(grep -c 'batch not applied' '$XW_RUN_DIR/result-reporter.log') -gt $retries_before ]"
xw_start_redis >/dev/null
xw_wait_for "package Q final after the Redis restart" 40 status_is Q failed 1
xw_expect_eq "attempt 1 survived the restart (AOF)" "$(R GET xw:pkgsum:P | jq -r .status)" succeeded
xw_expect_eq "one PackageFinished for Q" "$("$inject" dump outcomes | grep -c '^PackageFinished Q 1 failed total=2 deployed=1 failed=1 ')" 1

# 8. Results of a package L, without DeployStarted: attempt 2 has o1,
# attempt 3 has o3, then attempt 1's results of o1, o2, o3 come (new in
# attempt 1). The latest stays attempt 2's for o1 and attempt 3's for o3
# (attempt 2 has none for o3: every later attempt is looked at).
"$inject" results L 2 1 o1=deployed@$(at 300000) >/dev/null
"$inject" results L 3 1 o3=deployed@$(at 301000) >/dev/null
"$inject" results L 1 3 o1=failed@$(at 302000) o2=deployed@$(at 303000) \
    o3=failed@$(at 304000) >/dev/null
xw_wait_for "late results of L folded" 30 \
    bash -c "[ \"\$(redis-cli -p $REDIS_PORT HLEN xw:res:L:1)\" = 3 ]"
xw_expect_eq "latest of L" "$(latest L)" "o1:deployed:2 o2:deployed:1 o3:deployed:3 "
xw_expect_eq "attempt 1 of L counted" \
    "$(R HMGET xw:cnt:L:1 deployed failed | paste -sd' ')" "1 2"

# 8b. The summary's strings: an id with each character ids may have
# besides letters and digits is quoted as it is; a string with characters
# JSON escapes (only in a summary stored before: ids cannot have them)
# comes out as cjson.encode writes it ('/' as '\/').
K='K.1_a:b@c-D'
"$inject" created "$K" dev prod >/dev/null
"$inject" started "$K" 1 "$(at 400000)" >/dev/null
xw_wait_for "K final" 30 status_is "$K" succeeded 1
xw_expect_eq "summary with . _ : @ - in an id" "$(R GET "xw:pkgsum:$K")" \
    '{"package_id":"'$K'","source_workspace":"dev","destination_workspace":"prod","environment":"to-prod","creator":"dave","executor":"olga","status":"succeeded","attempt":1,"objects":5,"total":0,"deployed":0,"failed":0,"excluded":0,"pending":0,"created_at":'$B',"started_at":'$(at 400000)',"finished_at":'$(at 400000)',"duration_ms":0}'
R SET xw:pkgsum:E '{"package_id":"E","executor":"a/b\"c\\d","status":"deploying","attempt":1}' >/dev/null
R HSET xw:cnt:E:1 total 2 >/dev/null
"$inject" results E 1 2 o1=deployed@$(at 401000) >/dev/null
xw_wait_for "result of E folded" 30 \
    bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET xw:cnt:E:1 deployed)\" = 1 ]"
xw_expect_eq "escaped strings as cjson writes them" "$(R GET xw:pkgsum:E)" \
    '{"package_id":"E","source_workspace":null,"destination_workspace":null,"environment":null,"creator":null,"executor":"a\/b\"c\\d","status":"deploying","attempt":1,"objects":null,"total":2,"deployed":1,"failed":0,"excluded":0,"pending":1,"created_at":null,"started_at":null,"finished_at":null,"duration_ms":null}'

# 9. Rebuild. Someone else's key must survive; a stale projection must go.
snapshot() {
    for k in xw:pkgsum:P xw:pkgsum:Z xw:pkgsum:Q; do echo "$k $(R GET $k)"; done
    # Values byte for byte (the latest results are binary: hex).
    for k in xw:res:P xw:res:P:1 xw:res:P:2 xw:res:Q xw:res:L xw:res:L:1; do
        echo "$k"
        for f in $(R HKEYS "$k" | sort); do echo "$f $(R HGET "$k" "$f" | hex)"; done
    done
    for k in xw:cnt:P:1 xw:cnt:P:2 xw:cnt:Z:1 xw:cnt:Q:1; do
        echo "$k"; R HGETALL "$k" | paste - - | grep -v '^published' | sort
    done
    for k in xw:pkgs:dev xw:pkgs:prod; do echo "$k $(R ZRANGE $k 0 -1 WITHSCORES | paste -sd' ')"; done
    echo "audit $(R LLEN xw:audit) $(R LLEN xw:audit:dev)"
}
before=$(snapshot)
outcomes_before=$("$inject" dump outcomes | wc -l)
R HSET xw:pkg:P meta '{"package_id":"P"}' >/dev/null
R SET xw:pkgsum:ghost '{"status":"pending"}' >/dev/null
xw_stop_service result-reporter
start=$SECONDS
timeout 45 "$XW_BUILD_DIR/services/xw-result-reporter" --rebuild \
    >> "$XW_RUN_DIR/rebuild.log" 2>&1 || xw_die "rebuild failed: $(tail -5 "$XW_RUN_DIR/rebuild.log")"
xw_log "rebuild took $((SECONDS - start)) s"
after=$(snapshot)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2; xw_die "rebuild changed the projections"; }
XW_CHECKS=$((XW_CHECKS + 1))
xw_expect_eq "stale reporter key deleted" "$(R EXISTS xw:pkgsum:ghost)" 0
xw_expect_eq "packager's key kept" "$(R HGET xw:pkg:P meta)" '{"package_id":"P"}'
xw_expect_eq "rebuild published nothing" "$("$inject" dump outcomes | wc -l)" "$outcomes_before"
xw_expect_eq "rebuild dead-lettered nothing" "$("$inject" dump dlq | grep -c '^DeadLetter')" 1
xw_pass
