#!/usr/bin/env bash
# bench-alone.sh BUILD_DIR [PACKAGES [SIZE [BATCH_MAX]]]
#
# The packager alone, without the rest of the stack competing for the two
# cores: PACKAGES (default 300) packages of SIZE (100) objects, each as the
# benchmark sends them (ObjectsSubmitted, PackageRequested with the ids,
# DeployRequested), are produced to xw.commands before the packager of
# BUILD_DIR starts; it then drains them in consumer batches of at most
# BATCH_MAX (default 10, about what it gets under the benchmark's sat-100
# load at 24 in flight). Prints where its consumer loop spent its time per
# package (xw_kafka_loop_*_us_total), its Redis round trips per package
# and the number of batches.
#
# The commands are produced by tests/command_inject of this tree's build
# (INJECT=... to use another); only the packager comes from BUILD_DIR, so
# two builds can be compared back to back. PERF=FILE records a profile of
# the packager while it drains.
set -euo pipefail
build=$(cd "${1:?usage: bench-alone.sh BUILD_DIR [PACKAGES [SIZE [BATCH_MAX]]]}" && pwd)
n=${2:-300} size=${3:-100} batch=${4:-10}
src=$(cd "$(dirname "$0")/../.." && pwd)
INJECT=${INJECT:-$src/build/tests/command_inject}
[ -x "$INJECT" ] || { echo "bench-alone: $INJECT not built" >&2; exit 2; }
export XW_BUILD_DIR=$build
. "$src/tests/lib/harness.sh"
xw_harness_init
xw_start_redis >/dev/null
xw_start_broker
R=(redis-cli -p "$REDIS_PORT")

"${R[@]}" SET xw:ws:dev '{"id":"dev","account":"1001","region":"cn-shanghai",
 "timezone":"Asia/Shanghai","mode":"basic","datastudio":"new",
 "members":[{"user":"alice","roles":["admin","development"]}],
 "compute_resources":[{"name":"mc_dev","type":"maxcompute"}],
 "resource_groups":[{"name":"rg_sched","type":"scheduling","is_default":true,"is_shared":false}],
 "data_sources":[],"projects":[]}' >/dev/null
"${R[@]}" SET xw:ws:prod '{"id":"prod","account":"1001","region":"cn-shanghai",
 "timezone":"Asia/Shanghai","mode":"standard","datastudio":"new",
 "members":[{"user":"alice","roles":["admin"]}],
 "compute_resources":[{"name":"mc_prod","type":"maxcompute"}],
 "resource_groups":[{"name":"rg_prod","type":"scheduling","is_default":true,"is_shared":false}],
 "data_sources":[],"projects":[]}' >/dev/null
"${R[@]}" HSET xw:env:dev to-prod '{"name":"to-prod","type":"cross_workspace",
 "destination_workspace":"prod","owner_policy":"default","version":1,
 "compute_mappings":[{"source":"mc_dev","target":"mc_prod","ignore":false}],
 "resource_group_mappings":[{"source":"rg_sched","target":"rg_prod","ignore":false}],
 "dependency_mappings":[],"data_source_mappings":[],"parameter_mappings":[]}' >/dev/null

eid() { printf '0b7d2a60-%s-4c3e-9a51-%012d' "$1" "$2"; }
jq -n --argjson n "$n" --argjson size "$size" '
  def eid($k; $i): "0b7d2a60-\($k)-4c3e-9a51-\($i | tostring | ("000000000000" + .)[-12:])";
  def cmd($t; $id; $x): {type: $t, event: ({event_id: $id,
      occurred_at: 1764151200000, actor: "alice", correlation_id: $id,
      workspace_id: "dev"} + $x)};
  [range($n) as $p
   | ([range($size) as $i | "p\($p)-\($i)"]) as $ids
   | cmd("ObjectsSubmitted"; eid("1111"; $p); {objects: [$ids[] | {id: .,
        name: "\(.)_task", kind: "node", version: 1, compute_resource: "mc_dev",
        resource_group: "rg_sched", data_sources: [], dependencies: [],
        parameters: [], owner: "alice", generation_mode: "next_day",
        scheduled_time: "02:00"}]}),
     cmd("PackageRequested"; eid("2222"; $p); {package_id: "pkg-\($p)",
        environment: "to-prod", creator: "alice", object_ids: $ids,
        deploy_now: false}),
     cmd("DeployRequested"; eid("3333"; $p); {package_id: "pkg-\($p)",
        attempt: 0, executor: "alice", resource_group_override: null,
        replay: false, deploy_at: null})]' > "$XW_RUN_DIR/commands.json"
"$INJECT" "$XW_RUN_DIR/commands.json" >/dev/null

xw_start_service packager XW_BATCH_MAX="$batch" XW_LOG_LEVEL=warn
xw_wait_for "packager healthy" 20 xw_service_healthy packager
if [ -n "${PERF:-}" ]; then
    perf record -F 999 --call-graph dwarf,16384 -o "$PERF" \
        -p "$(cat "$XW_RUN_DIR/packager.pid")" 2>/dev/null &
    perf_pid=$!
fi
metric() {
    curl -fsS -m 2 "http://127.0.0.1:$(cat "$XW_RUN_DIR/packager.admin-port")/metrics" \
        | awk -v m="$1" '$1 == m { print $2 }'
}
drained() {
    [ "$(metric xw_kafka_consumed_total)" = $((3 * n)) ] \
        && [ "$("${R[@]}" HGET "xw:req:$(eid 3333 $((n - 1)))" status)" = done ]
}
xw_wait_for "the packager to drain $((3 * n)) commands" 600 drained
sleep 0.3       # the last batch's end and flush
if [ -n "${PERF:-}" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
awk -v h="$(metric xw_kafka_loop_handle_us_total)" \
    -v e="$(metric xw_kafka_loop_batch_end_us_total)" \
    -v f="$(metric xw_kafka_loop_flush_us_total)" \
    -v rt="$(metric xw_redis_round_trips_total)" \
    -v b="$(metric xw_kafka_consumer_batches_total)" -v n="$n" -v bm="$batch" 'BEGIN {
    printf "batch max %s: loop %.2f ms/package (handle %.2f, batch end %.2f, flush %.2f), %.2f Redis round trips/package, %d batches\n",
        bm, (h + e + f) / n / 1000, h / n / 1000, e / n / 1000, f / n / 1000, rt / n, b }'
