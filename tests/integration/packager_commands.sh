#!/usr/bin/env bash
# The packager alone, fed commands on xw.commands as the submit-listener
# would produce them (tests/helpers/command_inject.c).
#
# Applied-markers, read once per consumer batch (one MGET,
# services/packager/state.c): commands produced while the packager is down
# arrive together when it starts, and
#  - a redelivered copy of a command applied earlier in the same batch is
#    seen (the basket keeps the later removal; the prefetch had said "not
#    applied" for both copies);
#  - a command whose marker was already set is not applied again;
#  - a command whose event id cannot be read ahead is checked on its own
#    (one EXISTS) and applied;
#  - no other marker costs an EXISTS.
#
# Freezing and starting, with their reads pipelined (freeze.c, deploy.c):
#  - a package of listed ids: included, excluded on an ignored compute
#    resource, excluded when not in the nodes to deploy;
#  - rejections: an unknown environment (environment_missing), one that
#    names no destination (environment_invalid), an unknown package (404);
#  - a deploy starts attempt 1 with the frozen objects;
#  - a DeployRequested whose attempt was started but whose transaction
#    never ran (a crash between the two) gets its status and marker;
#  - a redelivered DeployRequested only re-emits (same events, no new
#    attempt).
#
# Scripts (state.c, pkg_script): called by EVALSHA once Redis has them; a
# flushed script cache costs a retry, and the commands still apply. The
# environment parsed by the last freeze is reused only for the same bytes:
# an edit is seen by the next freeze.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init

INJECT=$XW_BUILD_DIR/tests/command_inject
[ -x "$INJECT" ] || xw_die "helper not built: $INJECT"
xw_start_redis
xw_start_broker
R=(redis-cli -p "$REDIS_PORT")
RUN=$XW_RUN_DIR

metric() {
    curl -fsS -m 2 "http://127.0.0.1:$(cat "$RUN/packager.admin-port")/metrics" \
        | awk -v m="$1" '$1 == m { print $2 }'
}
consumed() { [ "$(metric xw_kafka_consumed_total)" = "$1" ]; }
status_is() { [ "$("${R[@]}" HGET "xw:req:$1" status)" = "$2" ]; } # EVENT STATUS
# inject FILE ITEMS...: the commands (JSON items) as one array, produced.
inject() {
    local f=$1; shift
    { echo "["; local sep=""; for i in "$@"; do printf '%s%s\n' "$sep" "$i"; sep=","; done; echo "]"; } > "$f"
    "$INJECT" "$f" >/dev/null || xw_die "inject $f"
}
# cmd TYPE EVENT_ID FIELDS_JSON: one command of workspace dev by alice.
cmd() {
    printf '{"type": "%s", "event": {"event_id": "%s", "occurred_at": 1764151200000,
      "actor": "alice", "correlation_id": "%s", "workspace_id": "dev", %s}}' \
      "$1" "$2" "$2" "$3"
}
basket() { cmd BasketChanged "$1" "\"user\": \"alice\", \"op\": \"$2\", \"object_ids\": $3"; }
id() { printf '0b7d2a60-1111-4c3e-9a51-%012d' "$1"; }

# --- markers of one batch -------------------------------------------------
E1=$(id 1) E2=$(id 2) E4=$(id 4)
E3=odd_id.3               # not read ahead: '_' and '.' are not id characters
"${R[@]}" SET "xw:seen:packager:$E4" 1 EX 3600 >/dev/null
inject "$RUN/batch.json" \
    "$(basket "$E1" add '["o1", "o2"]')" \
    "$(basket "$E2" remove '["o1"]')" \
    "$(basket "$E1" add '["o1", "o2"]')" \
    "$(basket "$E3" add '["o3"]')" \
    "$(basket "$E4" add '["o4"]')"
"${R[@]}" CONFIG RESETSTAT >/dev/null
xw_start_service packager
xw_wait_for "packager healthy" 20 xw_service_healthy packager
xw_wait_for "the packager consumed the 5 commands" 30 consumed 5
xw_wait_for "the last command applied" 10 status_is "$E3" done
xw_log "consumer batches: $(metric xw_kafka_consumer_batches_total)"
stats=$("${R[@]}" INFO commandstats)     # before this test's own commands
calls() { sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" <<< "$stats"; }

xw_expect_eq "basket: o1 removed once and for all, o4 not applied again" \
    "$("${R[@]}" ZRANGE xw:basket:dev:alice 0 -1 | tr '\n' ' ')" "o2 o3 "
xw_expect_eq "applied" "$(metric xw_packager_commands_applied_total)" 3
xw_expect_eq "redelivered" "$(metric xw_packager_commands_redelivered_total)" 2
xw_expect_eq "no status for the command applied before" \
    "$("${R[@]}" EXISTS "xw:req:$E4")" 0
xw_expect_eq "one EXISTS: the id that could not be read ahead" "$(calls exists)" 1
xw_check "markers read ahead with MGET" test "$(calls mget)" -ge 1

# --- freezing and starting ------------------------------------------------
xw_seed_dev_prod
"${R[@]}" HSET xw:env:dev nowhere "$(jq -c 'del(.destination_workspace) | .name = "nowhere"' <<< "$ENV")" >/dev/null
obj() { # ID COMPUTE
    printf '{"id":"%s","name":"%s_task","kind":"node","version":1,"compute_resource":"%s",
"resource_group":"rg_sched","data_sources":[],"dependencies":[],"parameters":[],
"owner":"alice","generation_mode":"next_day","scheduled_time":"02:00"}' "$1" "$1" "$2"
}
package() { # EVENT PKG ENV IDS_JSON
    cmd PackageRequested "$1" "\"package_id\": \"$2\", \"environment\": \"$3\",
      \"creator\": \"alice\", \"object_ids\": $4, \"deploy_now\": false"
}
deploy() { # EVENT PKG
    cmd DeployRequested "$1" "\"package_id\": \"$2\", \"attempt\": 0, \"executor\": \"alice\",
      \"resource_group_override\": null, \"replay\": false, \"deploy_at\": null"
}
S=$(id 10) PA=$(id 11) PB=$(id 12) PC=$(id 13) DA=$(id 14) DX=$(id 15) DC=$(id 16)
produced0=$(metric xw_kafka_produced_total)
inject "$RUN/freeze.json" \
    "$(cmd ObjectsSubmitted "$S" "\"objects\": [$(obj n-1 mc_dev), $(obj n-3 mc_sandbox)]")" \
    "$(package "$PA" pkg-a to-prod '["n-1", "n-3", "n-9"]')" \
    "$(package "$PB" pkg-b no-such-env '["n-1"]')" \
    "$(package "$PC" pkg-c nowhere '["n-1"]')" \
    "$(deploy "$DA" pkg-a)" \
    "$(deploy "$DX" pkg-none)" \
    "$(deploy "$DA" pkg-a)"
xw_wait_for "the packager consumed 12 commands" 30 consumed 12
xw_wait_for "the deploy of pkg-a done" 10 status_is "$DA" done

meta=$("${R[@]}" HGET xw:pkg:pkg-a meta)
xw_expect_eq "pkg-a frozen: one object" "$(jq .object_count <<< "$meta")" 1
xw_expect_eq "pkg-a exclusions" \
    "$(jq -c '[.excluded_objects[] | [.object_id, .reason_code]]' <<< "$meta")" \
    '[["n-3","compute_ignored"],["n-9","not_in_nodes_to_deploy"]]'
xw_expect_eq "pkg-a frozen spec" "$("${R[@]}" HKEYS xw:pkg:pkg-a:avro)" n-1
reason() { "${R[@]}" HGET "xw:req:$1" error | jq -r "$2"; }
xw_check "unknown environment rejected" status_is "$PB" rejected
xw_expect_eq "its rule" "$(reason "$PB" .rule)" environment_missing
xw_check "environment without destination rejected" status_is "$PC" rejected
xw_expect_eq "its rule" "$(reason "$PC" .rule)" environment_invalid
xw_check "unknown package rejected" status_is "$DX" rejected
xw_expect_eq "its status" "$(reason "$DX" .status)" 404
xw_expect_eq "attempt 1 started, once" \
    "$("${R[@]}" HGET xw:pkg:pkg-a attempt) $("${R[@]}" HGET xw:pkg:pkg-a "deploy:$DA")" "1 1"
xw_expect_eq "its objects" "$("${R[@]}" LRANGE xw:pkg:pkg-a:att:1 0 -1)" n-1
xw_expect_eq "its request" \
    "$("${R[@]}" HGET "xw:req:$DA" result | jq -c '[.attempt, .objects, .replay]')" \
    '[1,1,false]'
# PackageCreated of pkg-a, DeployStarted of the deploy and of its copy.
xw_expect_eq "events emitted" $(( $(metric xw_kafka_produced_total) - produced0 )) 3

# A deploy whose attempt script ran but whose transaction did not: the
# field names its attempt, there is no marker and no final status.
"${R[@]}" HSET xw:pkg:pkg-a "deploy:$DC" 1 >/dev/null
inject "$RUN/resume.json" "$(deploy "$DC" pkg-a)"
xw_wait_for "the packager consumed 13 commands" 30 consumed 13
xw_wait_for "the interrupted deploy finished" 10 status_is "$DC" done
xw_expect_eq "its request" \
    "$("${R[@]}" HGET "xw:req:$DC" result | jq -c '[.attempt, .objects]')" '[1,1]'
xw_expect_eq "its marker" "$("${R[@]}" EXISTS "xw:seen:packager:$DC")" 1
xw_expect_eq "no new attempt" "$("${R[@]}" HGET xw:pkg:pkg-a attempt)" 1
xw_expect_eq "events emitted" $(( $(metric xw_kafka_produced_total) - produced0 )) 4

# --- scripts by SHA -------------------------------------------------------
# Once Redis has a script, the packager calls it by EVALSHA; a Redis that
# lost its script cache (restarted, SCRIPT FLUSH) answers NOSCRIPT, which
# costs that command one retry (EVAL again), never the command itself.
evalsha() { "${R[@]}" INFO commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p'; }
xw_check "the environment script called by EVALSHA after its first EVAL" \
    test "$(evalsha)" -ge 2
"${R[@]}" SCRIPT FLUSH >/dev/null
# The environment edited since pkg-a: mc_sandbox is mapped now. The freeze
# keeps the last environment it parsed, for as long as Redis answers the
# same bytes: n-3 (on mc_sandbox, excluded from pkg-a) must be included.
"${R[@]}" HSET xw:env:dev to-prod "$(jq -c '.compute_mappings[1] |= {source: "mc_sandbox", target: "mc_prod", ignore: false}' <<< "$ENV")" >/dev/null
PD=$(id 17) DD=$(id 18)
inject "$RUN/flushed.json" "$(package "$PD" pkg-d to-prod '["n-1", "n-3"]')" \
    "$(deploy "$DD" pkg-d)"
xw_wait_for "pkg-d frozen after the script cache was flushed" 30 status_is "$PD" done
xw_wait_for "and deployed" 30 status_is "$DD" done
xw_expect_eq "pkg-d frozen against the edited environment" \
    "$("${R[@]}" HGET xw:pkg:pkg-d meta | jq -c '[.object_count, .excluded_objects]')" '[2,[]]'
xw_expect_eq "pkg-d attempt 1 with its objects" \
    "$("${R[@]}" HGET xw:pkg:pkg-d attempt) $("${R[@]}" LRANGE xw:pkg:pkg-d:att:1 0 -1 | sort | tr '\n' ' ')" "1 n-1 n-3 "
xw_pass
