#!/usr/bin/env bash
# The mapper's contexts (services/mapper/context.c): the environment and
# workspaces of each (package, attempt), read from Redis once. Successive
# packages whose reads answer the very same bytes share one parsed
# context; any change of those bytes is parsed anew:
#  - two packages against one environment: two loads, one parse, the same
#    outcome (an object on an ignored compute resource is excluded);
#  - the environment edited (that compute resource mapped now): the next
#    package is parsed again and its object mapped;
#  - an unknown environment: parsed on its own, every object failed.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init

INJECT=$XW_BUILD_DIR/tests/deploy_inject
[ -x "$INJECT" ] || xw_die "helper not built: $INJECT"
xw_start_redis
xw_start_broker
R=(redis-cli -p "$REDIS_PORT")
RUN=$XW_RUN_DIR

xw_seed_dev_prod

# started FILE PKG ENV: one DeployStarted of one object on mc_sandbox.
started() {
    jq -n --arg pkg "$2" --arg env "$3" '{event_id: "ev-\($pkg)",
      occurred_at: 1764151200000, actor: "alice", correlation_id: "corr-\($pkg)",
      package_id: $pkg, attempt: 1, source_workspace: "dev",
      destination_workspace: "prod", environment: $env, creator: "alice",
      executor: "alice", resource_group_override: null,
      deploy_at: 1764151200000, chunk: 0, chunks: 1, total: 1,
      objects: [{id: "\($pkg)-o", name: "task", kind: "node", version: 1,
        compute_resource: "mc_sandbox", resource_group: "rg_sched",
        data_sources: [], dependencies: [], parameters: [], owner: "alice",
        generation_mode: "next_day", scheduled_time: "02:00"}]}' > "$1"
    "$INJECT" "$1" >/dev/null || xw_die "inject $1"
}
metric() {
    curl -fsS -m 2 "http://127.0.0.1:$(cat "$RUN/mapper.admin-port")/metrics" \
        | awk -v m="$1" '$1 == m { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
counts() {
    echo "loads $(metric xw_mapper_context_loads_total) parses $(metric xw_mapper_context_parses_total)" \
         "excluded $(metric xw_mapper_objects_excluded_total) mapped $(metric xw_mapper_objects_mapped_total)" \
         "failed $(metric xw_mapper_objects_failed_total)"
}

xw_start_service mapper
xw_wait_for "mapper healthy" 20 xw_service_healthy mapper

started "$RUN/p1.json" pkg-1 to-prod
xw_wait_for "pkg-1 mapped" 30 metric_is xw_mapper_chunks_total 1
started "$RUN/p2.json" pkg-2 to-prod
xw_wait_for "pkg-2 mapped" 30 metric_is xw_mapper_chunks_total 2
xw_expect_eq "same bytes: one parse, the same outcome" "$(counts)" \
    "loads 2 parses 1 excluded 2 mapped 0 failed 0"

"${R[@]}" HSET xw:env:dev to-prod "$(jq -c '.compute_mappings[1] |= {source: "mc_sandbox", target: "mc_prod", ignore: false}' <<< "$ENV")" >/dev/null
started "$RUN/p3.json" pkg-3 to-prod
xw_wait_for "pkg-3 mapped" 30 metric_is xw_mapper_chunks_total 3
xw_expect_eq "edited environment: parsed again, the object mapped" "$(counts)" \
    "loads 3 parses 2 excluded 2 mapped 1 failed 0"

started "$RUN/p4.json" pkg-4 no-such-env
xw_wait_for "pkg-4 mapped" 30 metric_is xw_mapper_chunks_total 4
xw_expect_eq "unknown environment: its own context, the object failed" "$(counts)" \
    "loads 4 parses 3 excluded 2 mapped 1 failed 1"
xw_pass
