#!/usr/bin/env bash
# common/xw_redis against a real redis-server (free port, temp dir):
# in-process self test, then several processes racing for locks, wrong-token
# release, expiry, fencing with a stale token, batch fenced writes (stale
# batch, duplicates, two racing writers), the idempotency marker,
# a 1000-command pipeline, reconnect after CLIENT KILL and after a redis
# restart (and a bounded failure while it is down), password + unix socket.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init

BIN=$XW_BUILD_DIR/tests/xw_redis_race
[ -x "$BIN" ] || xw_die "helper not built: $BIN"

xw_start_redis
URL=$XW_REDIS_URL
RCLI=(redis-cli -p "$REDIS_PORT")

# --- in-process checks (commands, pipelines, marker, lock, fences, timeouts,
#     reconnect on idle and in-flight kills, URL errors)
out=$("$BIN" selftest "$URL" 2>&1) || { printf '%s\n' "$out" >&2; xw_die "selftest failed"; }
xw_log "selftest: $(printf '%s\n' "$out" | tail -n 1)"
xw_expect_eq "selftest failures" "$(printf '%s\n' "$out" | tail -n 1 | awk '{print $3}')" 0

# --- N processes race for the same lock, several rounds: exactly one wins,
#     and the winners' fences strictly increase from round to round
N=8
prev_fence=0
for round in 1 2 3 4 5; do
    go=$XW_RUN_DIR/go.$round
    pids=()
    for i in $(seq $N); do
        "$BIN" race "$URL" xw:race:lock 30000 "$go" > "$XW_RUN_DIR/race.$round.$i" &
        pids+=($!)
    done
    sleep 0.3            # every racer is connected and polling for $go
    touch "$go"
    for p in "${pids[@]}"; do wait "$p" || xw_die "racer failed"; done
    winners=$(cat "$XW_RUN_DIR"/race.$round.* | grep -c '^won ' || true)
    losers=$(cat "$XW_RUN_DIR"/race.$round.* | grep -c '^lost$' || true)
    xw_expect_eq "round $round winners" "$winners" 1
    xw_expect_eq "round $round losers" "$losers" $((N - 1))
    read -r _ fence token < <(cat "$XW_RUN_DIR"/race.$round.* | grep '^won ')
    [ "$fence" -gt "$prev_fence" ] || xw_die "fence did not increase: $fence after $prev_fence"
    prev_fence=$fence
    xw_expect_eq "holder token" "$("${RCLI[@]}" get xw:race:lock)" "$token"
    xw_expect_eq "winner releases" "$("$BIN" release "$URL" xw:race:lock "$token")" 1
done
xw_log "lock race: 5 rounds x $N processes, one winner each, fences up to $prev_fence"

# --- release with the wrong token (another process) leaves the lock held
read -r ok fence token < <("$BIN" acquire "$URL" xw:lock:a 30000)
xw_expect_eq "acquire" "$ok" 1
xw_expect_eq "second acquire refused" "$("$BIN" acquire "$URL" xw:lock:a 30000)" 0
xw_expect_eq "wrong-token release" \
    "$("$BIN" release "$URL" xw:lock:a 0123456789abcdef0123456789abcdef)" 0
xw_expect_eq "still held by the owner" "$("${RCLI[@]}" get xw:lock:a)" "$token"
xw_expect_eq "owner release" "$("$BIN" release "$URL" xw:lock:a "$token")" 1
xw_expect_eq "lock gone" "$("${RCLI[@]}" exists xw:lock:a)" 0

# --- an expired lock can be taken by another process, with a newer fence;
#     the old holder's fenced write is then refused, the new one's accepted
# (2 s: long enough for the next two process starts even under ASan on a
# loaded machine, short enough to wait out)
read -r ok f1 t1 < <("$BIN" acquire "$URL" xw:lock:pkg 2000)
xw_expect_eq "acquire short lock" "$ok" 1
xw_expect_eq "held before expiry" "$("$BIN" acquire "$URL" xw:lock:pkg 30000)" 0
xw_expect_eq "first holder writes" \
    "$("$BIN" fenced "$URL" xw:lock:pkg:fence "$f1" xw:fw obj1:1 obj1 from-1)" written
sleep 2.2
read -r ok f2 t2 < <("$BIN" acquire "$URL" xw:lock:pkg 30000)
xw_expect_eq "expired lock taken" "$ok" 1
[ "$f2" -gt "$f1" ] || xw_die "fence $f2 not above $f1"
xw_expect_eq "stale fence refused" \
    "$("$BIN" fenced "$URL" xw:lock:pkg:fence "$f1" xw:fw obj1:2 obj1 from-1-late)" stale
xw_expect_eq "destination untouched" "$("${RCLI[@]}" hget xw:fw:val obj1)" from-1
xw_expect_eq "current fence accepted" \
    "$("$BIN" fenced "$URL" xw:lock:pkg:fence "$f2" xw:fw obj1:2 obj1 from-2)" written
xw_expect_eq "exactly-once write repeated" \
    "$("$BIN" fenced "$URL" xw:lock:pkg:fence "$f2" xw:fw obj1:2 obj1 from-2)" duplicate
xw_expect_eq "destination value" "$("${RCLI[@]}" hget xw:fw:val obj1)" from-2
xw_expect_eq "destination writes" "$("${RCLI[@]}" hgetall xw:fw:writes | paste -sd' ')" "obj1:1 1 obj1:2 1"
xw_expect_eq "exactly-once records: the fences" \
    "$("${RCLI[@]}" hmget xw:fw:written obj1:1 obj1:2 | paste -sd' ')" "$f1 $f2"
xw_expect_eq "old token cannot release" "$("$BIN" release "$URL" xw:lock:pkg "$t1")" 0
xw_expect_eq "new holder releases" "$("$BIN" release "$URL" xw:lock:pkg "$t2")" 1

# --- batch fenced writes (the deployer's catalog record): a batch with the
#     stale fence is refused as a whole; duplicates inside a batch are
#     written once; two processes racing over the same 1,000 objects
#     (opposite orders, interleaved round trips) write each exactly once
counts() { # PREFIX: the counts of PREFIX:writes, and how many are not 1
    echo "$("${RCLI[@]}" hlen "$1:writes") $("${RCLI[@]}" hvals "$1:writes" | grep -cvx 1 || true)"
}
keys_of() { "${RCLI[@]}" --scan --pattern "$1" | wc -l; }
xw_expect_eq "stale batch refused" \
    "$("$BIN" batch "$URL" xw:lock:pkg:fence "$f1" xw:bs 300 300 up)" stale
xw_expect_eq "stale batch: nothing written" "$(keys_of 'xw:bs:*')" 0
xw_expect_eq "duplicates inside a batch" \
    "$("$BIN" batch "$URL" xw:lock:pkg:fence "$f2" xw:bd 10 5 up)" "written 5 duplicate 5"
xw_expect_eq "duplicates: counters" "$(counts xw:bd)" "5 0"
xw_expect_eq "duplicates: the first write of each object" "$("${RCLI[@]}" hget xw:bd:val 3)" 3
xw_expect_eq "batch repeated: all duplicates" \
    "$("$BIN" batch "$URL" xw:lock:pkg:fence "$f2" xw:bd 10 5 down)" "written 0 duplicate 10"
pids=()
for dir in up down; do
    "$BIN" batch "$URL" xw:lock:pkg:fence "$f2" xw:br 1000 1000 $dir "$XW_RUN_DIR/go.batch" \
        > "$XW_RUN_DIR/batch.$dir" &
    pids+=($!)
done
sleep 0.3
touch "$XW_RUN_DIR/go.batch"
for p in "${pids[@]}"; do wait "$p" || xw_die "batch racer failed"; done
read -r _ w_up _ d_up < "$XW_RUN_DIR/batch.up"
read -r _ w_down _ d_down < "$XW_RUN_DIR/batch.down"
xw_expect_eq "racing batches: each object written once" "$((w_up + w_down)) $((d_up + d_down))" "1000 1000"
xw_expect_eq "racing batches: counters" "$(counts xw:br)" "1000 0"
xw_log "racing batches: $w_up + $w_down written"

# --- idempotency marker: the second handling of an event id is a no-op,
#     also when 6 processes get the same event at the same moment
xw_expect_eq "first handling" "$("$BIN" handle "$URL" evt-1 xw:handled)" handled
xw_expect_eq "redelivery" "$("$BIN" handle "$URL" evt-1 xw:handled)" skipped
xw_expect_eq "effects applied once" "$("${RCLI[@]}" get xw:handled)" 1
pids=()
for i in $(seq 6); do
    "$BIN" handle "$URL" evt-2 xw:handled2 "$XW_RUN_DIR/go.evt" > "$XW_RUN_DIR/evt.$i" &
    pids+=($!)
done
sleep 0.3
touch "$XW_RUN_DIR/go.evt"
for p in "${pids[@]}"; do wait "$p" || xw_die "handler failed"; done
xw_expect_eq "concurrent handlers: one handled" "$(cat "$XW_RUN_DIR"/evt.* | grep -c '^handled$')" 1
xw_expect_eq "concurrent handlers: rest skipped" "$(cat "$XW_RUN_DIR"/evt.* | grep -c '^skipped$')" 5
xw_expect_eq "concurrent effects once" "$("${RCLI[@]}" get xw:handled2)" 1

# --- a pipeline of 1000 commands gets 1000 replies
xw_expect_eq "pipeline" "$("$BIN" pipeline "$URL" 1000)" "1000 replies"
xw_expect_eq "pipeline effects" "$("${RCLI[@]}" get xw:pipe:999)" xw:pipe:999

# --- reconnect after redis-cli client kill type normal
rm -f "$XW_RUN_DIR/ready" "$XW_RUN_DIR/go"
"$BIN" survive "$URL" "$XW_RUN_DIR/ready" "$XW_RUN_DIR/go" > "$XW_RUN_DIR/survive.out" &
sp=$!
xw_wait_for "survivor ready" 10 test -e "$XW_RUN_DIR/ready"
killed=$("${RCLI[@]}" client kill type normal)
[ "$killed" -ge 1 ] || xw_die "client kill killed $killed clients"
touch "$XW_RUN_DIR/go"
wait $sp || xw_die "survivor failed after client kill: $(cat "$XW_RUN_DIR/survive.out")"
xw_expect_eq "after client kill" "$(cat "$XW_RUN_DIR/survive.out")" "ok reconnects=1"
xw_expect_eq "non-idempotent INCR ran once" "$("${RCLI[@]}" get xw:survive:ctr)" 1

# --- reconnect after a redis restart (AOF keeps the data and the fences)
restart_redis() {
    local dir=$XW_RUN_DIR/redis pid
    pid=$(cat "$dir/redis.pid")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    redis-server "$dir/redis.conf" >> "$dir/redis.log" 2>&1 &
    XW_PIDS+=($!)
    echo $! > "$dir/redis.pid"
    xw_wait_for "redis back on $REDIS_PORT" 10 "${RCLI[@]}" ping
}
rm -f "$XW_RUN_DIR/ready" "$XW_RUN_DIR/go"
"$BIN" survive "$URL" "$XW_RUN_DIR/ready" "$XW_RUN_DIR/go" > "$XW_RUN_DIR/survive.out" &
sp=$!
xw_wait_for "survivor ready" 10 test -e "$XW_RUN_DIR/ready"
restart_redis
touch "$XW_RUN_DIR/go"
wait $sp || xw_die "survivor failed after restart: $(cat "$XW_RUN_DIR/survive.out")"
xw_expect_eq "after restart" "$(cat "$XW_RUN_DIR/survive.out")" "ok reconnects=1"
xw_expect_eq "counter kept by AOF" "$("${RCLI[@]}" get xw:survive:ctr)" 2
read -r ok f3 t3 < <("$BIN" acquire "$URL" xw:lock:pkg 30000)
xw_expect_eq "acquire after restart" "$ok" 1
[ "$f3" -gt "$f2" ] || xw_die "fence went back after restart: $f3 <= $f2"

# --- while redis is down a command fails within the reconnect budget, and
#     the same handle works once it is back
rm -f "$XW_RUN_DIR/ready" "$XW_RUN_DIR/go1" "$XW_RUN_DIR/go2"
"$BIN" outage "$URL" "$XW_RUN_DIR/ready" "$XW_RUN_DIR/go1" "$XW_RUN_DIR/go2" > "$XW_RUN_DIR/outage.out" &
op=$!
xw_wait_for "outage helper ready" 10 test -e "$XW_RUN_DIR/ready"
pid=$(cat "$XW_RUN_DIR/redis/redis.pid")
kill "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
touch "$XW_RUN_DIR/go1"
xw_wait_for "outage helper saw the failure" 10 grep -q '^down-failed' "$XW_RUN_DIR/outage.out"
redis-server "$XW_RUN_DIR/redis/redis.conf" >> "$XW_RUN_DIR/redis/redis.log" 2>&1 &
XW_PIDS+=($!)
echo $! > "$XW_RUN_DIR/redis/redis.pid"
xw_wait_for "redis back" 10 "${RCLI[@]}" ping
touch "$XW_RUN_DIR/go2"
wait $op || xw_die "outage helper: $(cat "$XW_RUN_DIR/outage.out")"
down_ms=$(awk '/^down-failed/{print $2}' "$XW_RUN_DIR/outage.out")
[ "$down_ms" -lt 3000 ] || xw_die "failure while down took ${down_ms} ms"
xw_expect_eq "up again" "$(tail -n 1 "$XW_RUN_DIR/outage.out")" up-ok
xw_log "while down: failed after ${down_ms} ms; recovered"

# --- password (percent-encoded) and unix socket; the password never shows
SAVED_PORT=$REDIS_PORT
unset REDIS_PORT
xw_start_redis redis-auth "requirepass s3cr@t" "unixsocket $XW_RUN_DIR/redis-auth/redis.sock" "unixsocketperm 700"
AUTH_PORT=$REDIS_PORT
REDIS_PORT=$SAVED_PORT
sock=$XW_RUN_DIR/redis-auth/redis.sock
xw_wait_for "unix socket" 10 test -S "$sock"
out=$("$BIN" ping "redis://:s3cr%40t@127.0.0.1:$AUTH_PORT/2" 2>&1)
xw_expect_eq "password over TCP" "$out" "pong redis://127.0.0.1:$AUTH_PORT/2"
out=$("$BIN" ping "unix://:s3cr%40t@$sock?db=1" 2>&1)
xw_expect_eq "password over unix socket" "$out" "pong unix://$sock?db=1"
out=$("$BIN" ping "redis://default:s3cr%40t@127.0.0.1:$AUTH_PORT" 2>&1)
xw_expect_eq "user + password" "$out" "pong redis://default@127.0.0.1:$AUTH_PORT/0"
out=$("$BIN" ping "redis://:wr0ngpass@127.0.0.1:$AUTH_PORT/0" 2>&1) && xw_die "wrong password accepted"
case $out in *AUTH\ failed*) ;; *) xw_die "wrong password: unexpected '$out'" ;; esac
case $out in *wr0ngpass*) xw_die "password leaked: $out" ;; esac
out=$("$BIN" ping "redis://127.0.0.1:$AUTH_PORT/0" 2>&1) && xw_die "no password accepted"
case $out in *NOAUTH*) ;; *) xw_die "no password: unexpected '$out'" ;; esac
XW_CHECKS=$((XW_CHECKS + 2))
if grep -rq 's3cr' "$XW_RUN_DIR"/*.out 2>/dev/null; then xw_die "password in helper output"; fi

# --- a Redis still reading its AOF answers LOADING: a reconnect waits for it
# (a stand-in server answers the first connection LOADING, then PONG)
xw_expect_eq "LOADING is retried" "$("$BIN" loading - 2>&1)" "ok connections=2"

xw_pass
