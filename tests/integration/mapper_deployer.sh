#!/usr/bin/env bash
# The mapper and the deployer as real processes between a real redis-server
# and the local broker, fed DeployStarted events as the packager would emit
# them:
#  - mapping: compute resource, resource group, dependency and data source
#    mappings and the default owner policy (source owner if a member of the
#    destination, else the executor) land in the destination catalog;
#    an object on an ignored compute resource is excluded; one on an
#    unmapped compute resource fails with compute_unmapped; an unknown
#    environment fails every object with environment_missing;
#  - timing: effective date and rule from deploy_at in the destination zone;
#  - exactly once: every count in xw:writes:prod is 1, a second delivery of the
#    same DeployStarted writes nothing and adds no result, and a kill -9 of
#    the deployer in the middle of a 1,500-object package followed by a
#    restart still writes every object exactly once;
#  - upgrade: records kept as keys by an older deployer are folded into
#    the hashes by scripts/migrate-exactly-once and still count;
#  - catalog entries are stored as Avro CatalogEntry records (read here
#    through xw-avrojson); an entry an older deployer stored as JSON is
#    read by the pre-read (the version it replaced) and pushed to the
#    history as it is;
#  - history: a new version records the version it replaced; one object
#    three times in one deployer batch (v5, v6, v6 again) is decided in
#    batch order: v6 replaces v5, the repeat is already written, every
#    write counter stays 1;
#  - package lock: a package locked by another deployer waits for it; a
#    stale fence (the lock taken over mid-delivery) refuses the write and
#    the object is left to the newer owner;
#  - HTTP target: accepted after 503s (retries with backoff), refused on a
#    4xx with status and body in the reason, target_unavailable after every
#    retry failed; the Idempotency-Key and body the peer receives; accepted
#    objects also recorded in the catalog once; a repeat posts nothing
#    accepted again;
#  - a poison message is dead-lettered and the mapper goes on; SIGTERM
#    stops both cleanly and releases the package locks.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init

INJECT=$XW_BUILD_DIR/tests/deploy_inject
RESULTS=$XW_BUILD_DIR/tests/deployer_results
AVROJSON=$XW_BUILD_DIR/tools/xw-avrojson
for b in "$INJECT" "$RESULTS" "$AVROJSON"; do [ -x "$b" ] || xw_die "helper not built: $b"; done

xw_start_redis
xw_start_broker
R=(redis-cli -p "$REDIS_PORT")
RUN=$XW_RUN_DIR

# --- state the packager would have written: two workspaces and an environment
"${R[@]}" SET xw:ws:dev '{"id":"dev","account":"1001","region":"cn-shanghai",
 "timezone":"Asia/Shanghai","mode":"basic","datastudio":"new",
 "members":[{"user":"alice","roles":["admin","development"]},{"user":"bob","roles":["om"]},
            {"user":"carol","roles":["development"]}],
 "compute_resources":[{"name":"mc_dev","type":"maxcompute"},{"name":"mc_sandbox","type":"maxcompute"},
                      {"name":"holo_dev","type":"hologres"}],
 "resource_groups":[{"name":"rg_sched","type":"scheduling","is_default":true,"is_shared":false}],
 "data_sources":[{"name":"mysql_dev","type":"mysql"}],
 "projects":[{"name":"upstream_a","category":"maxcompute"}]}' >/dev/null
"${R[@]}" SET xw:ws:prod '{"id":"prod","account":"1001","region":"cn-shanghai",
 "timezone":"Asia/Shanghai","mode":"standard","datastudio":"new",
 "members":[{"user":"alice","roles":["admin"]},{"user":"bob","roles":["om","deploy"]}],
 "compute_resources":[{"name":"mc_prod","type":"maxcompute"}],
 "resource_groups":[{"name":"rg_prod","type":"scheduling","is_default":true,"is_shared":false},
                    {"name":"rg_prod_2","type":"scheduling","is_default":false,"is_shared":false}],
 "data_sources":[{"name":"mysql_prod","type":"mysql"}],
 "projects":[{"name":"upstream_prod","category":"maxcompute"}]}' >/dev/null
"${R[@]}" HSET xw:ws:dev:roles alice admin,development bob om carol development >/dev/null
"${R[@]}" HSET xw:ws:prod:roles alice admin bob om,deploy >/dev/null
"${R[@]}" HSET xw:env:dev to-prod '{"name":"to-prod","type":"cross_workspace",
 "destination_workspace":"prod","owner_policy":"default","version":1,
 "compute_mappings":[{"source":"mc_dev","target":"mc_prod","ignore":false},
                     {"source":"mc_sandbox","target":null,"ignore":true}],
 "resource_group_mappings":[{"source":"rg_sched","target":"rg_prod","ignore":false}],
 "dependency_mappings":[{"source":"upstream_a","target":"upstream_prod","ignore":false}],
 "data_source_mappings":[{"source":"mysql_dev","target":"mysql_prod","ignore":false}],
 "parameter_mappings":[{"task":"","name":"bizdate","value":"${yyyymmdd-1}"}]}' >/dev/null

# Deploy instant: 2026-11-26 10:00 in Asia/Shanghai (02:00 UTC).
DEPLOY_AT=$(( $(date -u -d '2026-11-26T02:00:00Z' +%s) * 1000 ))

# gen_chunks FILE PKG ENV EVENT_PREFIX COUNT CHUNK EXTRA_OBJECTS_JSON: a
# package as DeployStarted chunks (API JSON): EXTRA objects, then COUNT
# nodes <pkg>-<i> on mc_dev, CHUNK objects per event.
gen_chunks() {
    jq -n --arg pkg "$2" --arg env "$3" --arg evp "$4" --argjson count "$5" \
          --argjson chunk "$6" --argjson extra "$7" --argjson at "$DEPLOY_AT" '
      ($extra + [range($count) as $i | {id: "\($pkg)-\($i)", name: "task_\($i)",
          kind: "node", version: 1, compute_resource: "mc_dev", resource_group: "rg_sched",
          data_sources: ["mysql_dev"], dependencies: [],
          parameters: [{name: "bizdate", value: "$bizdate"}], owner: "alice",
          generation_mode: "next_day", scheduled_time: "02:00"}]) as $objs
      | [range(0; $objs | length; $chunk)] as $starts
      | [$starts | to_entries[] | {event_id: "\($evp)-\(.key)", occurred_at: $at,
          actor: "bob", correlation_id: "corr-\($pkg)", package_id: $pkg, attempt: 1,
          source_workspace: "dev", destination_workspace: "prod", environment: $env,
          creator: "carol", executor: "bob", resource_group_override: null,
          deploy_at: $at, chunk: .key, chunks: ($starts | length),
          total: ($objs | length), objects: $objs[.value:.value + $chunk]}]' > "$1"
}

obj() { # id compute owner mode sched version [rg]
    printf '{"id":"%s","name":"%s_task","kind":"node","version":%s,"compute_resource":"%s",
"resource_group":"%s","data_sources":["mysql_dev"],
"dependencies":[{"project":"upstream_a","node":"ods_orders"},{"project":"dev","node":"dwd_x"}],
"parameters":[{"name":"bizdate","value":"$bizdate"}],"owner":"%s",
"generation_mode":"%s","scheduled_time":"%s"}' "$1" "$1" "$6" "$2" "${7:-rg_sched}" "$3" "$4" "$5"
}

P1_OBJECTS="[$(obj n-1 mc_dev alice next_day 02:00 3),
 $(obj n-2 mc_dev carol immediate 23:00 1),
 {\"id\":\"f-1\",\"name\":\"udf_parse\",\"kind\":\"function\",\"version\":2,
  \"compute_resource\":\"mc_dev\",\"resource_group\":null,\"data_sources\":[],
  \"dependencies\":[],\"parameters\":[],\"owner\":\"alice\",
  \"generation_mode\":\"next_day\",\"scheduled_time\":null},
 $(obj n-3 mc_sandbox alice next_day 02:00 1),
 $(obj n-4 holo_dev alice next_day 02:00 1)]"
gen_chunks "$RUN/p1.json" pkg-1 to-prod ev-p1 0 500 "$P1_OBJECTS"
gen_chunks "$RUN/p3.json" pkg-3 no-such-env ev-p3 2 500 "[]"

# Every ObjectResult on the results topic, one JSON line each, duplicates
# included (one follower for the whole test: joining a group takes seconds).
RESULTS_LOG=$RUN/results.jsonl
"$RESULTS" results-follower 120 > "$RESULTS_LOG" 2> "$RUN/results.err" &
XW_PIDS+=($!)
results_of() { # PKG: the distinct results of a package
    jq -c --arg p "$1" 'select(.package_id == $p)' "$RESULTS_LOG" | jq -sc 'unique_by(.event_id)[]'
}
count_results() { # PKG: how many arrived, duplicates included
    jq -r --arg p "$1" 'select(.package_id == $p) | .event_id' "$RESULTS_LOG" | wc -l
}
distinct_results() { # PKG
    jq -r --arg p "$1" 'select(.package_id == $p) | .event_id' "$RESULTS_LOG" | sort -u | wc -l
}
results_are() { [ "$(distinct_results "$1")" -eq "$2" ]; } # PKG N
arrived_at_least() { [ "$(count_results "$1")" -ge "$2" ]; } # PKG N
metric() { # SERVICE NAME
    curl -fsS -m 2 "http://127.0.0.1:$(cat "$RUN/$1.admin-port")/metrics" \
        | awk -v m="$2" '$1 == m { print $2 }'
}
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; } # SERVICE NAME VALUE
deployed() { "${R[@]}" HLEN xw:dest:prod:objects; }
deployed_at_least() { [ "$(deployed)" -ge "$1" ]; }
catalog() { # OBJ JQ-FILTER
    "${R[@]}" HGET xw:dest:prod:objects "$1" | "$AVROJSON" | jq -r "$2"
}
history() { # OBJ: its history entries as JSON, one a line, newest first
    local i n
    n=$("${R[@]}" LLEN "xw:dest:prod:history:$1")
    for ((i = 0; i < n; i++)); do
        "${R[@]}" LINDEX "xw:dest:prod:history:$1" "$i" | "$AVROJSON"
    done
}
hex() { od -An -v -tx1 | tr -d ' \n'; }
writes_not_one() { # how many write counts of prod are not exactly 1
    xw_write_counts prod | awk '$3 != 1' | wc -l
}
writes() { # how many object versions of prod were written, and how many
           # exactly-once records there are
    echo "$(xw_write_counts prod | wc -l) $("${R[@]}" HLEN xw:written:prod)"
}
# Small batches (so a kill lands mid-package) and a short lock TTL (so a
# killed deployer's packages are free again by the time it is replaced).
DEPLOYER_ENV=(XW_BATCH_MAX=20 XW_DEPLOY_LOCK_TTL_MS=2000 XW_DEPLOY_LOCK_IDLE_MS=500)
start_deployer() {
    xw_start_service deployer "${DEPLOYER_ENV[@]}"
    xw_wait_for "deployer healthy" 20 xw_service_healthy deployer
}

# The HTTP target's peer, for the end of the test (python starts slowly).
python3 "$XW_SRC_DIR/tests/helpers/deployer_peer.py" "$RUN/peer.port" > "$RUN/peer.log" 2>&1 &
XW_PIDS+=($!)

xw_start_service mapper
start_deployer
xw_wait_for "mapper healthy" 20 xw_service_healthy mapper

# --- package 1: mapped, excluded, failed
"$INJECT" "$RUN/p1.json" >/dev/null || xw_die "inject p1"
xw_wait_for "results of pkg-1" 30 results_are pkg-1 5
# The log grows while it is read: read it until every object is in it.
pkg1_complete() {
    results_of pkg-1 > "$RUN/r1.json" 2>/dev/null || return 1
    for o in n-1 n-2 f-1 n-3 n-4; do
        grep -q "\"object_id\":\"$o\"" "$RUN/r1.json" || return 1
    done
}
xw_wait_for "every object of pkg-1 in the results log" 30 pkg1_complete
outcome() { jq -r --arg o "$1" 'select(.object_id == $o) | .outcome + " " + (.reason_code // "-")' "$RUN/r1.json"; }
xw_expect_eq "n-1 outcome" "$(outcome n-1)" "deployed -"
xw_expect_eq "n-2 outcome" "$(outcome n-2)" "deployed -"
xw_expect_eq "f-1 outcome" "$(outcome f-1)" "deployed -"
xw_expect_eq "ignored compute resource" "$(outcome n-3)" "excluded compute_ignored"
xw_expect_eq "unmapped compute resource" "$(outcome n-4)" "failed compute_unmapped"
xw_check "failure has a sentence" \
    test -n "$(jq -r 'select(.object_id == "n-4") | .reason' "$RUN/r1.json")"

xw_expect_eq "n-1 mapped fields" \
    "$(catalog n-1 '[.compute_resource, .resource_group, .owner, .data_sources[0],
                      .dependencies[0].project, .dependencies[1].project,
                      .parameters[0].value] | join(" ")')" \
    'mc_prod rg_prod alice mysql_prod upstream_prod prod ${yyyymmdd-1}'
xw_expect_eq "owner not in destination -> executor" "$(catalog n-2 .owner)" bob
xw_expect_eq "function without resource group" \
    "$(catalog f-1 '[.kind, .compute_resource, .resource_group] | join(" ")')" "function mc_prod "
xw_expect_eq "catalog holds exactly the deployed objects" \
    "$("${R[@]}" HKEYS xw:dest:prod:objects | sort | tr '\n' ' ')" "f-1 n-1 n-2 "
timing() { jq -r --arg o "$1" 'select(.object_id == $o) | [.effective_date, .timing_rule] | join(" ")' "$RUN/r1.json"; }
xw_expect_eq "next_day before 23:30" "$(timing n-1)" "2026-11-27 next_day_before_cutoff"
xw_expect_eq "immediate, schedule later today" "$(timing n-2)" "2026-11-26 immediate_as_scheduled"
xw_expect_eq "result carries destination fields" \
    "$(jq -r 'select(.object_id == "n-1") | [.compute_resource, .resource_group, .owner] | join(" ")' "$RUN/r1.json")" \
    "mc_prod rg_prod alice"
xw_expect_eq "catalog records the effective time" \
    "$(catalog n-1 '[.effective_date, .package_id, (.attempt | tostring), (.replaced_version | tostring)] | join(" ")')" \
    "2026-11-27 pkg-1 1 null"
xw_expect_eq "catalog entries stored as Avro" \
    "$(for o in f-1 n-1 n-2; do "${R[@]}" HGET xw:dest:prod:objects "$o" | head -c 2 | hex; echo; done | sort -u)" c301
xw_expect_eq "write counters are 1" "$(writes_not_one)" 0
xw_expect_eq "three real writes, three exactly-once records" "$(writes)" "3 3"
xw_expect_eq "no key per record (the layout before xw:written)" \
    "$("${R[@]}" --scan --pattern 'xw:write:*' | wc -l)" 0

# --- the same DeployStarted again (a redelivery / a packager re-emitting)
"$INJECT" "$RUN/p1.json" >/dev/null || xw_die "inject p1 again"
xw_wait_for "deployer saw the repeat" 20 \
    metric_is deployer xw_deployer_already_written_total 3
xw_expect_eq "repeat: nothing written twice" "$(writes_not_one)" 0
xw_expect_eq "repeat: still three writes" "$(metric deployer xw_deployer_written_total)" 3
xw_wait_for "repeated results" 20 arrived_at_least pkg-1 10
sleep 0.5
xw_expect_eq "repeat: same result ids, none new" \
    "$(distinct_results pkg-1) $(count_results pkg-1)" "5 10"

# --- upgrade from a deployer that kept one key per record: n-2's records
#     as that deployer left them, and those of an object whose id holds a
#     ':' (two readings of the key; only "prod" is a registered workspace),
#     folded into the hashes by scripts/migrate-exactly-once; a second run
#     folds nothing; a redelivery then finds n-2 written: nothing written
v2=$(catalog n-2 .version)
"${R[@]}" HDEL xw:written:prod "n-2:$v2" >/dev/null
"${R[@]}" HDEL xw:writes:prod "n-2:$v2" >/dev/null
for k in "prod:n-2:$v2" prod:ns:old-1:2; do
    "${R[@]}" SET "xw:write:$k" 1 EX 315360000 >/dev/null
    "${R[@]}" SET "xw:writes:$k" 1 >/dev/null
done
migrate() { "$XW_SRC_DIR/scripts/migrate-exactly-once" -p "$REDIS_PORT" 2>&1 || echo "exit $?"; }
xw_expect_eq "migration folds the old keys" "$(migrate)" \
    "migrate-exactly-once: folded 2 exactly-once record(s) into xw:written:{ws}, 2 count(s) into xw:writes:{ws}"
xw_expect_eq "migration: records and counts in the hashes" \
    "$("${R[@]}" HMGET xw:written:prod "n-2:$v2" ns:old-1:2 | paste -sd' ') $("${R[@]}" HMGET xw:writes:prod "n-2:$v2" ns:old-1:2 | paste -sd' ')" \
    "1 1 1 1"
xw_expect_eq "migration: old keys gone" \
    "$("${R[@]}" --scan --pattern 'xw:write:*' | wc -l) $("${R[@]}" --scan --pattern 'xw:writes:*:*' | wc -l)" "0 0"
xw_expect_eq "migration again: nothing to fold" "$(migrate)" \
    "migrate-exactly-once: folded 0 exactly-once record(s) into xw:written:{ws}, 0 count(s) into xw:writes:{ws}"
"${R[@]}" HDEL xw:written:prod ns:old-1:2 >/dev/null
"${R[@]}" HDEL xw:writes:prod ns:old-1:2 >/dev/null
"$INJECT" "$RUN/p1.json" >/dev/null || xw_die "inject p1 after the migration"
xw_wait_for "deployer saw the redelivery" 20 \
    metric_is deployer xw_deployer_already_written_total 6
xw_expect_eq "after the migration: nothing written again" \
    "$(metric deployer xw_deployer_written_total) $(writes_not_one) $(writes)" "3 0 3 3"

# --- unknown environment: every object fails with a reason, nothing stuck
"$INJECT" "$RUN/p3.json" >/dev/null || xw_die "inject p3"
xw_wait_for "results of pkg-3" 20 results_are pkg-3 2
xw_expect_eq "environment missing" \
    "$(results_of pkg-3 | jq -r '.outcome + " " + .reason_code' | sort -u)" \
    "failed environment_missing"

# --- a poison message on the deploy topic is dead-lettered, the mapper goes on
"$INJECT" --raw "not avro" >/dev/null || xw_die "inject raw"
xw_wait_for "dead letter" 20 metric_is mapper xw_dead_letters_total 1

# --- n-1 v3 as an older deployer stored it: JSON (the text xw-avrojson
#     prints, tests/unit/test_deployer_entry.c); v4 (package 2) reads its
#     version from it and pushes it to the history as it is
"${R[@]}" HGET xw:dest:prod:objects n-1 | "$AVROJSON" | head -c -1 > "$RUN/n-1.v3.json"
"${R[@]}" -x HSET xw:dest:prod:objects n-1 < "$RUN/n-1.v3.json" >/dev/null
xw_expect_eq "n-1 v3 stored as JSON" "$(catalog n-1 .version)" 3

# --- package 2: 1,500 objects (and version 4 of n-1), deployer killed -9
#     in the middle, then restarted
N2=1500
gen_chunks "$RUN/p2.json" pkg-2 to-prod ev-p2 $N2 500 "[$(obj n-1 mc_dev alice next_day 02:00 4)]"
# Broker latency paces the deployer (every batch waits for its results to
# be acknowledged), so that the kill lands in the middle of the package.
ctl rtt 1 25
"$INJECT" "$RUN/p2.json" >/dev/null || xw_die "inject p2"
xw_wait_for "deployer under way" 30 deployed_at_least 203
# Freeze it first, so that what it has written is known when it dies.
kill -STOP "$(cat "$RUN/deployer.pid")"
at_kill=$(deployed)
xw_stop_service deployer KILL
xw_log "deployer killed with $((at_kill - 3)) of $((N2 + 1)) objects of pkg-2 written"
xw_check "killed mid-way ($at_kill)" test "$at_kill" -lt $((N2 + 3))
ctl rtt 1 0
start_deployer
xw_wait_for "all of pkg-2 written" 40 deployed_at_least $((N2 + 3))
xw_log "the restarted deployer found $(metric deployer xw_deployer_already_written_total) redelivered object(s) already written"
xw_wait_for "results of pkg-2" 30 results_are pkg-2 $((N2 + 1))
results_of pkg-2 > "$RUN/r2.json"
xw_expect_eq "every pkg-2 object deployed, one result each" \
    "$(jq -r '.object_id + " " + .outcome' "$RUN/r2.json" | sort -u | awk '{print $2}' | uniq -c | awk '{print $1, $2}')" \
    "$((N2 + 1)) deployed"
xw_expect_eq "after kill -9: nothing written twice" "$(writes_not_one)" 0
xw_expect_eq "after kill -9: one write per object version" \
    "$(writes)" "$((3 + N2 + 1)) $((3 + N2 + 1))"

# --- a new version replaces the old one and keeps it for rollback
xw_expect_eq "n-1 v4 replaced v3" "$(catalog n-1 '[.version, .replaced_version] | map(tostring) | join(" ")')" "4 3"
xw_expect_eq "history keeps v3" "$(history n-1 | jq -r .version | tr '\n' ' ')" "3 "
xw_expect_eq "history keeps v3 as the older deployer stored it (JSON)" \
    "$("${R[@]}" LINDEX xw:dest:prod:history:n-1 0 | head -c -1 | cmp - "$RUN/n-1.v3.json" && echo same)" same
xw_expect_eq "n-1 v4 stored as Avro" "$("${R[@]}" HGET xw:dest:prod:objects n-1 | head -c 2 | hex)" c301
xw_expect_eq "result says what was replaced" \
    "$(jq -r 'select(.package_id == "pkg-2" and .object_id == "n-1") | .replaced_version' "$RUN/r2.json")" 3

# --- a package whose lock another deployer holds waits until it is free
gen_chunks "$RUN/p4.json" pkg-4 to-prod ev-p4 2 500 "[]"
"${R[@]}" SET xw:lock:pkg:pkg-4 another-deployer PX 4000 >/dev/null
"$INJECT" "$RUN/p4.json" >/dev/null || xw_die "inject p4"
sleep 0.5
# Both read at once: the answer only counts while the lock is still held.
read -r held written < <("${R[@]}" EVAL "return {redis.call('PTTL', KEYS[1]) > 0 and 1 or 0, redis.call('HEXISTS', KEYS[2], ARGV[1])}" 2 xw:lock:pkg:pkg-4 xw:dest:prod:objects pkg-4-0 | paste -sd' ')
xw_expect_eq "lock still held at the check" "$held" 1
xw_expect_eq "locked package not written meanwhile" "$written" 0
xw_wait_for "pkg-4 once the lock expired" 20 results_are pkg-4 2
xw_expect_eq "pkg-4 deployed" "$(results_of pkg-4 | jq -r .outcome | sort -u)" deployed

# --- one object three times in ONE deployer batch: v5, (another object),
#     v6, v6 again. Each is decided against the one before it in the batch
#     (write.c's follow chain), not against the catalog read before the
#     batch: v6 replaces v5 (history keeps v5), the repeat of v6 is already
#     written (deployed, counted as already written), nothing twice.
P7_OBJECTS="[$(obj dup-1 mc_dev alice next_day 02:00 5), $(obj dup-2 mc_dev alice next_day 02:00 1),
 $(obj dup-1 mc_dev alice next_day 02:00 6), $(obj dup-1 mc_dev alice next_day 02:00 6)]"
gen_chunks "$RUN/p7.json" pkg-7 to-prod ev-p7 0 500 "$P7_OBJECTS"
mapped_is() { [ "$("$INJECT" --mapped)" = "$1" ]; } # N: messages on the mapped topic
written0=$(metric deployer xw_deployer_written_total)
already0=$(metric deployer xw_deployer_already_written_total)
batches0=$(metric deployer xw_deployer_batches_total)
mapped0=$("$INJECT" --mapped) || xw_die "count mapped"
# One batch: the deployer is frozen until the mapper's four ObjectMapped
# are all acknowledged by the broker; its next fetch then takes them at once.
kill -STOP "$(cat "$RUN/deployer.pid")"
"$INJECT" "$RUN/p7.json" >/dev/null || xw_die "inject p7"
xw_wait_for "the four ObjectMapped of pkg-7 on the broker" 20 mapped_is $((mapped0 + 4))
kill -CONT "$(cat "$RUN/deployer.pid")"
xw_wait_for "results of pkg-7" 30 results_are pkg-7 4
pkg7_in_order() { # the distinct results of pkg-7, in the order they came
    jq -c 'select(.package_id == "pkg-7")' "$RESULTS_LOG" \
        | jq -sc 'reduce .[] as $r ([]; if any(.[]; .event_id == $r.event_id) then . else . + [$r] end) | .[]' \
        > "$RUN/r7.json" && [ "$(wc -l < "$RUN/r7.json")" -eq 4 ]
}
xw_wait_for "every result of pkg-7 in the results log" 10 pkg7_in_order
xw_expect_eq "same object thrice: all in one deployer batch" \
    "$(( $(metric deployer xw_deployer_batches_total) - batches0 ))" 1
xw_expect_eq "same object thrice: results in batch order" \
    "$(jq -r '[.object_id, (.version | tostring), .outcome, (.reason_code // "-"),
              (.replaced_version // "-" | tostring), .effective_date] | join(" ")' "$RUN/r7.json")" \
    "dup-1 5 deployed - - 2026-11-27
dup-2 1 deployed - - 2026-11-27
dup-1 6 deployed - 5 2026-11-27
dup-1 6 deployed - 5 2026-11-27"
xw_expect_eq "same object thrice: three written" \
    "$(( $(metric deployer xw_deployer_written_total) - written0 ))" 3
xw_expect_eq "same object thrice: the repeat already written" \
    "$(( $(metric deployer xw_deployer_already_written_total) - already0 ))" 1
xw_expect_eq "same object thrice: catalog holds v6, replaced v5" \
    "$(catalog dup-1 '[.version, .replaced_version, .package_id] | map(tostring) | join(" ")')" "6 5 pkg-7"
xw_expect_eq "same object thrice: history keeps v5 only" \
    "$(history dup-1 | jq -r '"\(.version)/\(.replaced_version)"' | tr '\n' ' ')" \
    "5/null "
xw_expect_eq "same object thrice: one write counter per version, each 1" \
    "$(xw_write_counts prod | awk '$2 ~ /^dup-/ { print $2 "=" $3 }' | sort | tr '\n' ' ')" \
    "dup-1:5=1 dup-1:6=1 dup-2:1=1 "
xw_expect_eq "same object thrice: exactly-once records of v5 and v6" \
    "$("${R[@]}" HMGET xw:written:prod dup-1:5 dup-1:6 | grep -c .)" 2
xw_expect_eq "same object thrice: every write counter 1" "$(writes_not_one)" 0

# --- the HTTP target: retried until accepted, refused (4xx), unavailable
#     (5xx after every retry); recorded in the catalog once; a repeat
#     delivers nothing twice
xw_wait_for "http peer" 10 test -s "$RUN/peer.port"
PEER=http://127.0.0.1:$(cat "$RUN/peer.port")
xw_stop_service deployer TERM
DEPLOYER_ENV+=(XW_DEPLOY_TARGET=http "XW_DEPLOY_HTTP_URL=$PEER/deploy" XW_DEPLOY_HTTP_RETRIES=4
               XW_DEPLOY_HTTP_BACKOFF_MS=20 XW_DEPLOY_HTTP_TIMEOUT_MS=2000)
start_deployer
gen_chunks "$RUN/p5.json" pkg-5 to-prod ev-p5 0 500 "[$(obj h-1 mc_dev alice next_day 02:00 1),
  $(obj flaky-1 mc_dev alice next_day 02:00 1), $(obj reject-1 mc_dev alice next_day 02:00 1),
  $(obj down-1 mc_dev alice next_day 02:00 1)]"
"$INJECT" "$RUN/p5.json" >/dev/null || xw_die "inject p5"
xw_wait_for "results of pkg-5" 30 results_are pkg-5 4
results_of pkg-5 > "$RUN/r5.json"
outcome5() { jq -r --arg o "$1" 'select(.object_id == $o) | .outcome + " " + (.reason_code // "-")' "$RUN/r5.json"; }
xw_expect_eq "http: accepted" "$(outcome5 h-1)" "deployed -"
xw_expect_eq "http: 503 twice, then accepted" "$(outcome5 flaky-1)" "deployed -"
xw_expect_eq "http: refused" "$(outcome5 reject-1)" "failed target_rejected"
xw_expect_eq "http: refusal names status and body" \
    "$(jq -r 'select(.object_id == "reject-1") | .reason' "$RUN/r5.json")" \
    'the destination refused the object: HTTP 422: {"error": "object rejected by peer"}'
xw_expect_eq "http: unavailable says why, without the URL" \
    "$(jq -r 'select(.object_id == "down-1") | .reason' "$RUN/r5.json")" \
    'the destination did not accept the object after 4 attempt(s): HTTP 503'
xw_expect_eq "http: unavailable after retries" "$(outcome5 down-1)" "failed target_unavailable"
curl -fsS "$PEER/log" > "$RUN/peer.json"
xw_expect_eq "http: body and idempotency key" \
    "$(jq -r '.[] | select(.id == "h-1") | [.key, .body.package_id, (.body.attempt | tostring),
          .body.destination_workspace, .body.compute_resource, (.body.effective_at | type)] | join(" ")' "$RUN/peer.json")" \
    "prod:h-1:1 pkg-5 1 prod mc_prod number"
xw_expect_eq "http: attempts of flaky-1" "$(jq '[.[] | select(.id == "flaky-1")] | length' "$RUN/peer.json")" 3
xw_expect_eq "http: attempts of down-1" "$(jq '[.[] | select(.id == "down-1")] | length' "$RUN/peer.json")" 4
xw_expect_eq "http: accepted ones are in the catalog" \
    "$(for o in h-1 flaky-1 reject-1 down-1; do
           "${R[@]}" HGET xw:dest:prod:objects "$o" | "$AVROJSON" | jq -Rr 'fromjson? // "-" | if type == "object" then .compute_resource else . end'
       done | tr '\n' ' ')" \
    "mc_prod mc_prod - - "
# --- a stale fence: while an object is being delivered, a newer deployer
#     takes the package lock over; the catalog write is refused and the
#     object is left to the newer owner (no write, no result)
gen_chunks "$RUN/p6.json" pkg-6 to-prod ev-p6 0 500 "[$(obj slow-1 mc_dev alice next_day 02:00 1)]"
"$INJECT" "$RUN/p6.json" >/dev/null || xw_die "inject p6"
peer_saw() { curl -fsS "$PEER/log" | jq -e --arg o "$1" 'any(.[]; .id == $o)' >/dev/null; }
xw_wait_for "slow delivery under way" 20 peer_saw slow-1
"${R[@]}" SET xw:lock:pkg:pkg-6 newer-deployer PX 1000 >/dev/null
"${R[@]}" INCR xw:lock:pkg:pkg-6:fence >/dev/null
xw_wait_for "stale write refused" 10 metric_is deployer xw_deployer_stale_skipped_total 1
xw_expect_eq "stale: not written" "$("${R[@]}" HEXISTS xw:dest:prod:objects slow-1)" 0
xw_expect_eq "stale: no result" "$(distinct_results pkg-6)" 0
xw_check "stale: warned" grep -q "stale fence" "$RUN/deployer.log"

"$INJECT" "$RUN/p5.json" >/dev/null || xw_die "inject p5 again"
xw_wait_for "repeat of pkg-5" 20 arrived_at_least pkg-5 8
xw_expect_eq "http repeat: no result added" "$(distinct_results pkg-5)" 4
xw_expect_eq "http repeat: nothing delivered twice" \
    "$(curl -fsS "$PEER/delivered" | jq -c 'to_entries | map(select(.value != 1)) | length')" 0
xw_expect_eq "http repeat: accepted objects not posted again" \
    "$(curl -fsS "$PEER/log" | jq '[.[] | select(.id == "h-1")] | length')" 1
xw_expect_eq "write counters still 1" "$(writes_not_one)" 0

# --- clean shutdown on SIGTERM releases the package locks
xw_stop_service deployer TERM
xw_stop_service mapper TERM
xw_check "deployer stopped cleanly" grep -q "stopping" "$RUN/deployer.log"
xw_expect_eq "no package lock left behind" "$("${R[@]}" --scan --pattern 'xw:lock:pkg:*' | grep -cv fence || true)" 0
xw_pass
