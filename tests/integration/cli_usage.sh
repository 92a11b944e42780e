#!/usr/bin/env bash
# The xwdeploy CLI's own behaviour, against tests/helpers/fake_api.py (a
# loopback stand-in that answers fixed shapes and logs what it receives):
# usage errors exit 2, --help lists every command, the exit code of every
# failure class, table rendering, --json passthrough, --wait, the config
# file, the token never shown, and one Idempotency-Key across the CLI's
# retries on 503. The services themselves are tested elsewhere.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init

X=$XW_BUILD_DIR/tools/xwdeploy
[ -x "$X" ] || xw_die "$X is not built"
command -v python3 >/dev/null || xw_die "python3 is needed for the fake API"

# Nothing from the user's environment leaks in.
export HOME=$XW_RUN_DIR/home XDG_CONFIG_HOME=$XW_RUN_DIR/home/.config
mkdir -p "$XDG_CONFIG_HOME/xwdeploy"
unset XW_API_URL XW_TOKEN

# run CMD... : sets RC, OUT, ERR; never fails by itself.
run() {
    RC=0
    "$@" >"$XW_RUN_DIR/out" 2>"$XW_RUN_DIR/err" || RC=$?
    OUT=$(cat "$XW_RUN_DIR/out")
    ERR=$(cat "$XW_RUN_DIR/err")
}
# expect_rc DESC WANT CMD...
expect_rc() {
    local desc=$1 want=$2; shift 2
    run "$@"
    [ "$RC" = "$want" ] || xw_die "$desc: exit $RC, want $want; stderr: $ERR"
    XW_CHECKS=$((XW_CHECKS + 1))
}
contains() { # DESC HAYSTACK NEEDLE
    case "$2" in *"$3"*) XW_CHECKS=$((XW_CHECKS + 1)) ;;
    *) xw_die "$1: '$3' not in: $2" ;; esac
}
lacks() { # DESC HAYSTACK NEEDLE
    case "$2" in *"$3"*) xw_die "$1: '$3' should not be in: $2" ;;
    *) XW_CHECKS=$((XW_CHECKS + 1)) ;; esac
}

# ---- usage: exit 2, before any request ----------------------------------
expect_rc "no arguments" 2 "$X"
expect_rc "unknown command" 2 "$X" frobnicate
expect_rc "group without verb" 2 "$X" package
contains "group lists its verbs" "$ERR" "package deploy ID"
expect_rc "missing positional" 2 "$X" env get dev
expect_rc "too many positionals" 2 "$X" package show a b
expect_rc "unknown option" 2 "$X" workspace get dev --bogus
expect_rc "option of another command" 2 "$X" prod list dev --deploy-now
expect_rc "--wait on a read" 2 "$X" prod list dev --wait
expect_rc "--timeout without --wait" 2 "$X" package deploy p --timeout 5
expect_rc "option without value" 2 "$X" prod list dev --limit
expect_rc "limit 0" 2 "$X" prod list dev --limit 0
expect_rc "limit over 1000" 2 "$X" prod list dev --limit 1001
expect_rc "offset not a number" 2 "$X" prod list dev --offset abc
expect_rc "flag with a value" 2 "$X" prod list dev --json=yes
expect_rc "id with a slash" 2 "$X" workspace get a/b
expect_rc "id .." 2 "$X" package show ..
expect_rc "basket add without objects" 2 "$X" basket add dev
expect_rc "basket add objects and --all" 2 "$X" basket add dev o1 --all
expect_rc "filters without --all" 2 "$X" basket add dev o1 --kind node
expect_rc "package create without --env" 2 "$X" package create dev
expect_rc "--rg-override without --deploy-now" 2 \
    "$X" package create dev --env e --rg-override rg
expect_rc "param resolve without --cyctime" 2 \
    "$X" param resolve '$bizdate' --bizdate 2026-11-25
expect_rc "--since not a time" 2 "$X" package list dev --since 2026-02-30
expect_rc "missing FILE" 2 "$X" env create dev "$XW_RUN_DIR/none.json"
expect_rc "bad URL scheme" 2 "$X" --url ftp://x workspace get dev
expect_rc "idempotency key with a space" 2 \
    "$X" basket clear dev --idempotency-key "a b"
echo 'not json' > "$XW_RUN_DIR/bad.json"
expect_rc "FILE not JSON is validation" 5 "$X" env create dev "$XW_RUN_DIR/bad.json"
echo '{"account":"1"}' > "$XW_RUN_DIR/noid.json"
expect_rc "workspace without id" 5 "$X" workspace put "$XW_RUN_DIR/noid.json"

# ---- help ----------------------------------------------------------------
expect_rc "--help" 0 "$X" --help
help=$OUT
for cmd in "workspace put" "workspace get" "workspace info" "env create" \
    "env list" "env get" "env update" "env delete" "prod deploy" \
    "prod terminate" "prod list" "basket show" "basket add" \
    "basket remove" "basket clear" "package create" "package deploy" \
    "package replay" "package list" "package show" "replay ID" \
    "objects WS" "request ID" "param resolve" "audit [--workspace WS]" \
    "dlq list" "dlq replay EVENT" "health"; do
    contains "--help lists $cmd" "$help" "  $cmd"
done
for code in "0  success" "1  the package finished failed" "2  usage" \
    "3  authentication" "4  not found" "5  validation" "6  server" \
    "7  --wait timed out"; do
    contains "--help documents exit $code" "$help" "$code"
done
expect_rc "command help" 0 "$X" package create --help
contains "command help shows usage" "$OUT" "WS --env NAME [OBJ...]"
expect_rc "--version" 0 "$X" --version

# ---- the fake API ----------------------------------------------------------
LOG=$XW_RUN_DIR/api.log
python3 "$XW_SRC_DIR/tests/helpers/fake_api.py" --port-file "$XW_RUN_DIR/port" \
    --log "$LOG" --token tok-alice > "$XW_RUN_DIR/fake.out" 2>&1 &
XW_PIDS+=($!)
xw_wait_for "fake API" 10 test -s "$XW_RUN_DIR/port"
URL=http://127.0.0.1:$(cat "$XW_RUN_DIR/port")
export XW_API_URL=$URL

# The fake's request log, one line per request (see fake_api.py):
# METHOD, PATH?QUERY, KEY, AUTH, BODY, N. log COL [LINE] prints a column
# of every line (or of LINE: a number, or "$" for the last).
log() {
    if [ -n "${2:-}" ]; then sed -n "${2}p" "$LOG" | cut -f"$1"; else cut -f"$1" "$LOG"; fi
}

# ---- auth: exit 3, and the token is never shown --------------------------
expect_rc "no token" 3 "$X" prod list dev
contains "401 rendered" "$ERR" "error: 401 missing or unknown token (auth)"
contains "hint when no token" "$ERR" "no token given"
expect_rc "wrong token" 3 "$X" --token wrong-secret-123 prod list dev
lacks "token not in stderr" "$ERR" "wrong-secret-123"
lacks "token not in stdout" "$OUT" "wrong-secret-123"
expect_rc "token on a 500" 6 "$X" --token tok-alice workspace get down
lacks "token not in stderr (500)" "$ERR$OUT" "tok-alice"
XW_TOKEN=wrong-secret-123 expect_rc "token on an unreachable server" 6 \
    "$X" --url http://127.0.0.1:"$(xw_free_port)" workspace get dev
lacks "token not in network errors" "$ERR$OUT" "wrong-secret-123"

# config file: url and token; a token readable by others is refused.
cfg=$XDG_CONFIG_HOME/xwdeploy/config
printf '# test\nurl = %s\ntoken = tok-alice\n' "$URL" > "$cfg"
chmod 644 "$cfg"
XW_API_URL= expect_rc "group-readable token refused" 3 "$X" prod list dev
contains "refusal explained" "$ERR" "readable by group or others"
chmod 600 "$cfg"
XW_API_URL= expect_rc "config url and token" 0 "$X" prod list dev
XW_API_URL=http://127.0.0.1:1 expect_rc "--url beats the environment" 0 \
    "$X" --url "$URL" prod list dev
rm -f "$cfg"

export XW_TOKEN=tok-alice

# ---- exit codes of each failure class --------------------------------------
expect_rc "404" 4 "$X" package show missing
contains "404 rendered" "$ERR" "error: 404 no package missing (not_found)"
echo '{"name":"bad"}' > "$XW_RUN_DIR/env.json"
expect_rc "422" 5 "$X" env create dev "$XW_RUN_DIR/env.json"
contains "422 on one line" "$ERR" "error: 422 environment: 2 problems (compute_unmapped)"
contains "finding 1" "$ERR" "  error compute_unmapped compute_mappings: map at least one compute resource"
contains "finding 2" "$ERR" "  error rg_ignore_default resource_group_mappings[0].ignore:"
expect_rc "500" 6 "$X" workspace get down
contains "500 rendered" "$ERR" "error: 500 redis is on fire (internal)"
expect_rc "malformed JSON" 6 "$X" workspace get garbage
contains "malformed JSON explained" "$ERR" "malformed JSON"
expect_rc "connection refused" 6 "$X" --url http://127.0.0.1:"$(xw_free_port)" \
    workspace get dev
expect_rc "rejected request" 1 "$X" request req-rej

# ---- rendering ------------------------------------------------------------
expect_rc "table" 0 "$X" prod list dev
first=$(printf '%s\n' "$OUT" | head -1 | tr -s ' ')
xw_expect_eq "table header" "$first" \
    "OBJECT NAME KIND VERSION COMPUTE OWNER MODE SCHEDULED SUBMITTED"
# Aligned: KIND starts at the same column on every line.
cols=$(printf '%s\n' "$OUT" | python3 -c '
import sys, re
lines = sys.stdin.read().splitlines()
col = lines[0].index("KIND")
print(all(re.match(r"\S", l[col:]) and l[col-2:col] == "  " for l in lines))')
xw_expect_eq "columns aligned" "$cols" "True"
contains "long cell truncated with an ellipsis" "$OUT" "a_very_long_node_name_that_goes_on_and_…"
lacks "escape sequences sanitised" "$OUT" $'\e'
contains "ISO-8601 times" "$OUT" "2025-11-26T10:00:00Z"
expect_rc "-q lists ids" 0 "$X" -q prod list dev
xw_expect_eq "-q output" "$OUT" $'n-1001\nn-1002\nf-1'
expect_rc "paging note" 0 "$X" package list dev --limit 1
contains "next page hint on stderr" "$ERR" "1-1 of 75; next page: --offset 1"
expect_rc "package show" 0 "$X" package show pkg-1
contains "package route" "$OUT" "route:        dev → prod"
contains "package counts" "$OUT" "4 total, 2 deployed, 1 failed, 1 excluded"
hdr=$(printf '%s\n' "$OUT" | grep '^OBJECT' | tr -s ' ')
xw_expect_eq "package table header" "$hdr" \
    "OBJECT KIND OUTCOME REASON COMPUTE RESOURCE GROUP OWNER EFFECTIVE"
contains "effective time" "$OUT" "2025-11-28T00:00:00Z"
contains "reason truncated" "$OUT" "data source mysql_x has no mapping in environment to-prod a…"

# --json passes the server's bytes through, errors included.
expect_rc "--json" 0 "$X" --json package show pkg-1
raw=$(curl -fsS -H "Authorization: Bearer tok-alice" "$URL/v1/packages/pkg-1")
xw_expect_eq "--json is the raw answer" "$OUT" "$raw"
expect_rc "--json error" 4 "$X" --json package show missing
xw_expect_eq "--json error body on stdout" \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["status"])')" 404
expect_rc "param resolve" 0 "$X" param resolve '$[yyyymmdd-1]' \
    --bizdate 2026-11-25 --cyctime 2026-11-26T02:00:00
xw_expect_eq "resolved value" "$OUT" "20261125"

# ---- Idempotency-Key -------------------------------------------------------
: > "$LOG"
expect_rc "write survives two 503s" 0 "$X" basket add flaky o1 o2
xw_expect_eq "three attempts" "$(log 1 | wc -l)" 3
xw_expect_eq "one key across retries" "$(log 3 | sort -u | wc -l)" 1
key1=$(log 3 1)
[[ $key1 =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
    xw_die "default key is not a v4 UUID: $key1"
: > "$LOG"
expect_rc "second invocation" 0 "$X" basket add flaky o1 o2
[ "$(log 3 1)" != "$key1" ] || xw_die "key reused across invocations"
: > "$LOG"
expect_rc "given key" 0 "$X" basket add flaky o1 --idempotency-key ci-run-42
xw_expect_eq "given key on every attempt" "$(log 3 | paste -sd,)" \
    "ci-run-42,ci-run-42,ci-run-42"
: > "$LOG"
expect_rc "reads carry no key" 0 "$X" package show pkg-1
xw_expect_eq "GET without key" "$(log 3 1)" "-"
# Over the API's 10,000-item limit: chunks, keys derived stably.
: > "$LOG"
ids=$(seq -f 'o-%g' 1 10001)
expect_rc "chunked add" 0 "$X" basket add dev $ids --idempotency-key big-1
expect_rc "chunked add again" 0 "$X" basket add dev $ids --idempotency-key big-1
xw_expect_eq "chunk sizes" "$(log 6 | paste -sd,)" "10000,1,10000,1"
xw_expect_eq "first chunk: the given key" "$(log 3 1),$(log 3 3)" "big-1,big-1"
xw_expect_eq "later chunk: a derived key, the same on a re-run" "$(log 3 2)" "$(log 3 4)"
[ "$(log 3 2)" != big-1 ] || xw_die "second chunk reused the first chunk's key"
: > "$LOG"
expect_rc "basket add --all pages" 0 "$X" basket add big --all --kind node
xw_expect_eq "--all pages then one POST" "$(log 1,2,6 | tr '\t' ' ' | paste -sd,)" \
    "GET /v1/workspaces/big/nodes-to-deploy?kind=node&limit=1000&offset=0 0,GET /v1/workspaces/big/nodes-to-deploy?kind=node&limit=1000&offset=1000 0,GET /v1/workspaces/big/nodes-to-deploy?kind=node&limit=1000&offset=2000 0,POST /v1/workspaces/big/basket 2500"

# ---- every call of docs/api.md: the request each command sends -------------
echo '{"id":"dev","account":"1001"}' > "$XW_RUN_DIR/ws.json"
echo '{"name":"to-prod"}' > "$XW_RUN_DIR/env-ok.json"
echo '[{"id":"n-1","kind":"node"},{"id":"n-2","kind":"node"}]' > "$XW_RUN_DIR/objs.json"
# sends DESC "METHOD PATH?QUERY" BODY CMD... : what the command sent last.
sends() {
    local desc=$1 want=$2 body=$3; shift 3
    : > "$LOG"
    expect_rc "$desc" 0 "$@"
    xw_expect_eq "$desc sends" "$(log 1,2 '$' | tr '\t' ' ')" "$want"
    xw_expect_eq "$desc body" "$(log 5 '$')" "$body"
    if [ "${want%% *}" != GET ]; then
        [ "$(log 3 '$')" != - ] || xw_die "$desc: no Idempotency-Key"
        XW_CHECKS=$((XW_CHECKS + 1))
    fi
}
sends "workspace put" "PUT /v1/workspaces/dev" '{"account":"1001","id":"dev"}' \
    "$X" workspace put "$XW_RUN_DIR/ws.json"
sends "workspace get" "GET /v1/workspaces/dev" null "$X" workspace get dev
sends "workspace info" "GET /v1/workspaces/dev/environment-info" null \
    "$X" workspace info dev
contains "info sections" "$OUT" "COMPUTE RESOURCES (1)"
echo '{"name":"ok"}' > "$XW_RUN_DIR/ok.json"
sends "env create --dry-run" "POST /v1/workspaces/dev/environments?dry_run=true" \
    '{"name":"ok"}' "$X" env create dev "$XW_RUN_DIR/ok.json" --dry-run
contains "dry run findings" "$OUT" "di_network"
sends "env create" "POST /v1/workspaces/dev/environments" '{"name":"to-prod"}' \
    "$X" env create dev "$XW_RUN_DIR/env-ok.json"
contains "env create reported" "$OUT" "environment to-prod created in dev: accepted"
sends "env list" "GET /v1/workspaces/dev/environments?limit=10&offset=0" null \
    "$X" env list dev --offset 0 --limit 10
sends "env get" "GET /v1/workspaces/dev/environments/to-prod" null \
    "$X" env get dev to-prod
contains "env mappings" "$OUT" "COMPUTE MAPPINGS (2)"
sends "env update" "PUT /v1/workspaces/dev/environments/to-prod" '{"name":"to-prod"}' \
    "$X" env update dev to-prod "$XW_RUN_DIR/env-ok.json"
sends "env delete" "DELETE /v1/workspaces/dev/environments/to-prod" null \
    "$X" env delete dev to-prod
sends "prod deploy (array from stdin)" "POST /v1/workspaces/dev/production" \
    '{"objects":[{"id":"n-1","kind":"node"},{"id":"n-2","kind":"node"}]}' \
    "$X" prod deploy dev - < "$XW_RUN_DIR/objs.json"
contains "deploy reported" "$OUT" "2 objects deployed to dev production"
sends "prod terminate" "DELETE /v1/workspaces/dev/production/n-1" null \
    "$X" prod terminate dev n-1
sends "prod list" "GET /v1/workspaces/dev/nodes-to-deploy?kind=node&owner=alice&q=sales" null \
    "$X" prod list dev --kind node --owner alice --q sales
sends "basket show" "GET /v1/workspaces/dev/basket" null "$X" basket show dev
sends "basket add" "POST /v1/workspaces/dev/basket" '{"object_ids":["n-1","n-2"]}' \
    "$X" basket add dev n-1 n-2
sends "basket remove" "DELETE /v1/workspaces/dev/basket/n-1" null \
    "$X" basket remove dev n-1
sends "basket clear" "DELETE /v1/workspaces/dev/basket" null "$X" basket clear dev
sends "package create" "POST /v1/workspaces/dev/packages" \
    '{"deploy_now":true,"environment":"to-prod","object_ids":["n-1"],"resource_group_override":"rg2"}' \
    "$X" package create dev n-1 --env to-prod --deploy-now --rg-override rg2
sends "package create from the basket" "POST /v1/workspaces/dev/packages" \
    '{"environment":"to-prod"}' "$X" package create dev --env to-prod
contains "package id reported" "$OUT" "package: pkg-new"
sends "package deploy" "POST /v1/packages/pkg-1/deploy" \
    '{"resource_group_override":"rg2"}' "$X" package deploy pkg-1 --rg-override rg2
sends "package replay" "POST /v1/packages/pkg-1/replay" null "$X" package replay pkg-1
sends "replay alias" "POST /v1/packages/pkg-1/replay" null "$X" replay pkg-1
# --since/--until: ISO-8601 (UTC unless an offset is given) becomes the
# epoch milliseconds the API takes.
sends "package list" \
    "GET /v1/workspaces/dev/packages?creator=alice&environment=to-prod&executor=olivia&since=1761955200000&status=failed&until=1764547200000" \
    null "$X" package list dev --status failed --creator alice --executor olivia \
    --env to-prod --since 2025-11-01 --until 2025-12-01T08:00+08:00
sends "package list since ms" "GET /v1/workspaces/dev/packages?since=1761955200123" \
    null "$X" package list dev --since 1761955200123
sends "package show" "GET /v1/packages/pkg-1" null "$X" package show pkg-1
sends "objects" "GET /v1/workspaces/prod/deployed-objects?kind=node" null \
    "$X" objects prod --kind node
contains "operation center row" "$OUT" "rg_prod"
sends "request" "GET /v1/requests/req-9" null "$X" request req-9
sends "param resolve" "POST /v1/parameters/resolve" \
    '{"bizdate":"2026-11-25","cyctime":"2026-11-26T02:00:00","expression":"$bizdate"}' \
    "$X" param resolve '$bizdate' --bizdate 2026-11-25 --cyctime 2026-11-26T02:00:00
sends "audit" "GET /v1/audit?limit=5&workspace=dev" null \
    "$X" audit --workspace dev --limit 5
contains "audit row" "$OUT" "/v1/workspaces/dev/basket"
sends "dlq list" "GET /v1/dlq" null "$X" dlq list
contains "dead letter row" "$OUT" "attempt must be >= 1"
sends "dlq replay" "POST /v1/dlq/ev-9/replay" null "$X" dlq replay ev-9
xw_expect_eq "replay reported" "$OUT" "dead letter ev-9 sent back to xw.commands (2 bytes)"
XW_TOKEN= expect_rc "health needs no token" 0 "$X" -q health
xw_expect_eq "health" "$OUT" "ok"

# ---- --wait --------------------------------------------------------------
expect_rc "deploy --wait succeeded" 0 "$X" package deploy pkg-ok --wait
contains "final table" "$OUT" "status:       succeeded"
contains "progress on stderr" "$ERR" "package pkg-ok: succeeded, deployed 3/4, failed 0"
expect_rc "deploy --wait failed" 1 "$X" package deploy pkg-bad --wait
expect_rc "replay --wait ignores the stale failed state" 0 "$X" replay pkg-replay --wait
expect_rc "request pending past --timeout" 7 \
    "$X" package deploy pkg-slow --wait --timeout 2
contains "timeout explained" "$ERR" "gave up waiting after 2s"
expect_rc "rejected while waiting" 1 "$X" package deploy pkg-rej --wait
contains "rejection rendered" "$ERR" "error: 409 package: package is already deploying (state)"
expect_rc "create --deploy-now --wait -q" 0 \
    "$X" -q package create dev --env to-prod --deploy-now --wait
xw_expect_eq "-q prints the package id" "$OUT" "pkg-new"
expect_rc "write without --wait" 0 "$X" basket clear dev
contains "accepted line" "$OUT" "your basket in dev cleared: accepted (request req-"

xw_pass
