# tests/lib/harness.sh - sourced by integration tests and scripts/stack.
#
# Starts the real parts (redis-server, the local Kafka broker, services) on
# free loopback ports inside one run directory, and stops everything it
# started on exit. Usage in a test:
#
#   . "$(dirname "$0")/../lib/harness.sh"
#   xw_harness_init            # temp run dir + trap cleanup
#   xw_start_redis             # sets XW_REDIS_URL, REDIS_PORT
#   xw_start_broker            # sets XW_KAFKA_BROKERS
#   ... drive things ...
#   xw_pass                    # prints "1 passed, 0 failed"
set -euo pipefail

XW_SRC_DIR=${XW_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XW_BUILD_DIR=${XW_BUILD_DIR:-$XW_SRC_DIR/build}
XW_PIDS=()
XW_CHECKS=0

xw_log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
xw_die() { printf 'FAIL: %s\n' "$*" >&2; printf '0 passed, 1 failed\n'; exit 1; }

# xw_check DESC CMD... : runs CMD, fails the test with DESC if it fails.
xw_check() {
    local desc=$1; shift
    if "$@"; then XW_CHECKS=$((XW_CHECKS + 1)); else xw_die "$desc"; fi
}
xw_expect_eq() { # DESC GOT WANT
    [ "$2" = "$3" ] || xw_die "$1: got '$2', want '$3'"
    XW_CHECKS=$((XW_CHECKS + 1))
}
xw_pass() { printf '%d checks\n1 passed, 0 failed\n' "$XW_CHECKS"; }

xw_free_port() {
    python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# Stops what was started, newest first (services before the broker and
# redis, so that no service loses its peers while it still flushes).
xw_cleanup() {
    local i pid
    for ((i = ${#XW_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${XW_PIDS[$i]}
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null || true
    done
    # A sanitizer report in any process's log fails the test, even if the
    # process itself carried on (leaks are only reported at exit).
    local reports=""
    if [ -n "${XW_RUN_DIR:-}" ]; then
        reports=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" \
                  "$XW_RUN_DIR"/*.log "$XW_RUN_DIR"/broker/*.log 2>/dev/null || true)
    fi
    if [ -n "$reports" ]; then
        for f in $reports; do
            echo "=== sanitizer report in $f ===" >&2
            grep -A 30 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" | head -60 >&2
        done
        echo "0 passed, 1 failed"
        XW_KEEP_RUN_DIR=1
        trap - EXIT
        exit 1
    fi
    if [ -n "${XW_RUN_DIR:-}" ] && [ "${XW_KEEP_RUN_DIR:-0}" != 1 ] && [ "${XW_RUN_DIR_OWNED:-0}" = 1 ]; then
        rm -rf "$XW_RUN_DIR"
    fi
}

xw_harness_init() {
    if [ -z "${XW_RUN_DIR:-}" ]; then
        XW_RUN_DIR=$(mktemp -d /tmp/xwtest.XXXXXX)
        XW_RUN_DIR_OWNED=1
    fi
    mkdir -p "$XW_RUN_DIR"
    export XW_RUN_DIR
    trap xw_cleanup EXIT
    trap 'exit 130' INT TERM
}

xw_wait_for() { # DESC TIMEOUT_S CMD...
    local desc=$1 t=$2; shift 2
    local deadline=$((SECONDS + t))
    until "$@" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || xw_die "timed out waiting for $desc"
        sleep 0.05
    done
}

# xw_start_redis [NAME] [EXTRA redis.conf lines...]
xw_start_redis() {
    local name=${1:-redis}; shift || true
    local dir=$XW_RUN_DIR/$name
    mkdir -p "$dir"
    REDIS_PORT=${REDIS_PORT:-$(xw_free_port)}
    {
        echo "bind 127.0.0.1"
        echo "port $REDIS_PORT"
        echo "dir $dir"
        echo "daemonize no"
        echo "appendonly yes"
        echo "appendfsync ${XW_REDIS_FSYNC:-everysec}"
        echo "save \"\""
        # AOF rewrites write an RDB preamble; compressing its values
        # (LZF) doubles the rewrite's CPU for ~16% less disk on our data
        # (docs/performance.md, session 4, change 14). Snapshots are off:
        # the AOF is the persistence.
        echo "rdbcompression no"
        # Hashes stay in the compact listpack form, searched entry by
        # entry, up to this many fields: 512 (this Redis' default) made
        # every HMGET / HSET field on a per-attempt result hash a scan of
        # up to 512 entries, ~35% of redis-server's time in the reporter
        # (docs/performance.md, session 5).
        echo "hash-max-listpack-entries 128"
        echo "protected-mode yes"
        for l in "$@"; do echo "$l"; done
    } > "$dir/redis.conf"
    redis-server "$dir/redis.conf" > "$dir/redis.log" 2>&1 &
    XW_PIDS+=($!)
    echo $! > "$dir/redis.pid"
    xw_wait_for "redis on $REDIS_PORT" 10 redis-cli -p "$REDIS_PORT" ping
    export XW_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export REDIS_PORT
}

# xw_restart_redis [SIGNAL] [PAUSE_S] : stops the redis-server of
# xw_start_redis (kill -SIGNAL, default KILL) and starts it again after
# PAUSE_S (default 1) with the same config: same port, same dir, so it
# reloads its AOF (XW_REDIS_FSYNC=always loses no acknowledged write).
xw_restart_redis() {
    local sig=${1:-KILL} pause=${2:-1} name=${XW_REDIS_NAME:-redis}
    local dir=$XW_RUN_DIR/$name pid
    pid=$(cat "$dir/redis.pid")
    disown "$pid" 2>/dev/null || true
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && xw_die "redis-server $pid did not stop on SIG$sig"
    sleep "$pause"
    redis-server "$dir/redis.conf" >> "$dir/redis.log" 2>&1 &
    XW_PIDS+=($!)
    echo $! > "$dir/redis.pid"
    xw_wait_for "redis on $REDIS_PORT again" 20 redis-cli -p "$REDIS_PORT" ping >/dev/null
}

# xw_start_broker : the local Kafka broker (librdkafka mock cluster).
xw_start_broker() {
    local dir=$XW_RUN_DIR/broker
    mkdir -p "$dir"
    rm -f "$dir/bootstrap"
    "$XW_BUILD_DIR/tools/xw-broker" --bootstrap-file "$dir/bootstrap" \
        --control-file "$dir/control" > "$dir/broker.log" 2>&1 &
    XW_PIDS+=($!)
    echo $! > "$dir/broker.pid"
    xw_wait_for "broker bootstrap file" 10 test -s "$dir/bootstrap"
    XW_KAFKA_BROKERS=$(cat "$dir/bootstrap")
    XW_BROKER_CONTROL=$(cat "$dir/control")
    export XW_KAFKA_BROKERS XW_BROKER_CONTROL
    # The local broker (librdkafka's mock cluster) answers a Fetch that
    # finds nothing only after the whole fetch.wait.max.ms, even if data
    # arrives meanwhile (a real broker answers at once): at librdkafka's
    # 500 ms default every hop of the pipeline waits 250 ms on average.
    # The local stack (tests, make up, demo, bench) uses 10 ms; against a
    # real cluster keep the default (docs/performance.md).
    export XW_RDKAFKA_FETCH_WAIT_MAX_MS=${XW_RDKAFKA_FETCH_WAIT_MAX_MS:-10}
}

# ctl LINE... : one command to the local broker's control port (fault
# injection, tools/broker), expecting OK.
ctl() {
    local reply
    exec 3<>"/dev/tcp/127.0.0.1/$XW_BROKER_CONTROL"
    printf '%s\n' "$*" >&3
    read -r reply <&3
    exec 3>&-
    [ "$reply" = OK ] || xw_die "broker control '$*': $reply"
}

# xw_write_counts [WS] : the deployer's count of real writes per object
# version (xw:writes:{ws}, docs/design.md) of every destination, or of
# WS: "WS OBJ:VERSION COUNT" a line. Every count must be 1.
xw_write_counts() {
    local key
    redis-cli -p "$REDIS_PORT" --scan --pattern "xw:writes:${1:-*}" | while read -r key; do
        redis-cli -p "$REDIS_PORT" HGETALL "$key" \
            | awk -v ws="${key#xw:writes:}" 'NR % 2 { f = $0; next } { print ws, f, $0 }'
    done
}

XW_SERVICES=(packager mapper deployer result-reporter submit-listener)

# xw_start_service NAME [VAR=value ...] : one service process, logs and pid
# file in the run dir; extra variables are set for that process only.
xw_start_service() {
    local name=$1; shift
    local bin=$XW_BUILD_DIR/services/xw-$name
    [ -x "$bin" ] || xw_die "$bin is not built"
    local port
    port=$(xw_free_port)
    env XW_ADMIN_PORT="$port" "$@" "$bin" >> "$XW_RUN_DIR/$name.log" 2>&1 &
    local pid=$!
    XW_PIDS+=($pid)
    echo $pid > "$XW_RUN_DIR/$name.pid"
    echo "$port" > "$XW_RUN_DIR/$name.admin-port"
}

xw_service_healthy() { # NAME
    local port
    port=$(cat "$XW_RUN_DIR/$1.admin-port")
    curl -fsS -m 1 "http://127.0.0.1:$port/health" >/dev/null
}

# xw_stop_service NAME [SIGNAL]
xw_stop_service() {
    local pidf=$XW_RUN_DIR/$1.pid sig=${2:-TERM}
    [ -f "$pidf" ] || return 0
    local pid
    pid=$(cat "$pidf")
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidf"
}

# xw_start_services [VAR=value ...] : all five (or those named in
# XW_START_ONLY), then wait until healthy.
xw_start_services() {
    export XW_API_PORT=${XW_API_PORT:-$(xw_free_port)}
    local s list
    read -r -a list <<< "${XW_START_ONLY:-${XW_SERVICES[*]}}"
    for s in "${list[@]}"; do
        xw_start_service "$s" "$@"
    done
    for s in "${list[@]}"; do
        xw_wait_for "$s healthy" 20 xw_service_healthy "$s"
    done
    export XW_API_URL="http://127.0.0.1:$XW_API_PORT"
}

# xw_seed_dev_prod : the state the packager keeps for a basic workspace dev
# (alice admin; compute mc_dev, mc_sandbox), a standard workspace prod
# and dev's environment to-prod (mc_sandbox ignored), written straight to
# Redis for tests that drive one service alone. Sets ENV to the
# environment's JSON.
xw_seed_dev_prod() {
    redis-cli -p "$REDIS_PORT" SET xw:ws:dev '{"id":"dev","account":"1001","region":"cn-shanghai",
     "timezone":"Asia/Shanghai","mode":"basic","datastudio":"new",
     "members":[{"user":"alice","roles":["admin","development"]}],
     "compute_resources":[{"name":"mc_dev","type":"maxcompute"},{"name":"mc_sandbox","type":"maxcompute"}],
     "resource_groups":[{"name":"rg_sched","type":"scheduling","is_default":true,"is_shared":false}],
     "data_sources":[],"projects":[]}' >/dev/null
    redis-cli -p "$REDIS_PORT" SET xw:ws:prod '{"id":"prod","account":"1001","region":"cn-shanghai",
     "timezone":"Asia/Shanghai","mode":"standard","datastudio":"new",
     "members":[{"user":"alice","roles":["admin"]}],
     "compute_resources":[{"name":"mc_prod","type":"maxcompute"}],
     "resource_groups":[{"name":"rg_prod","type":"scheduling","is_default":true,"is_shared":false}],
     "data_sources":[],"projects":[]}' >/dev/null
    ENV='{"name":"to-prod","type":"cross_workspace","destination_workspace":"prod",
     "owner_policy":"default","version":1,
     "compute_mappings":[{"source":"mc_dev","target":"mc_prod","ignore":false},
                         {"source":"mc_sandbox","target":null,"ignore":true}],
     "resource_group_mappings":[{"source":"rg_sched","target":"rg_prod","ignore":false}],
     "dependency_mappings":[],"data_source_mappings":[],"parameter_mappings":[]}'
    redis-cli -p "$REDIS_PORT" HSET xw:env:dev to-prod "$ENV" >/dev/null
}
