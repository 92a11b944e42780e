#!/usr/bin/env bash
# webhook-verify.sh - checks the signature of an xwdeploy webhook delivery.
#
#   examples/webhook-verify.sh SECRET_FILE SIGNATURE BODY_FILE [TOLERANCE_S]
#
#   SECRET_FILE  the subscription's secret (a trailing newline is ignored)
#   SIGNATURE    the X-Xwdeploy-Signature header: "t=<unix seconds>,v1=<hex>"
#                (several v1= are accepted, e.g. while a secret is rotated)
#   BODY_FILE    the request body exactly as received (not re-encoded JSON)
#   TOLERANCE_S  how far t may be from now, either side (default 300)
#
# Exit 0 if some v1 equals hex(HMAC-SHA256(secret, "<t>.<body>")) and t is
# within the tolerance, 1 if not (why on stderr), 2 on a usage error.
#
# Needs bash, openssl and od. The secret never appears on a command line
# (other local users can read those in ps): HMAC is computed as RFC 2104
# spells it, from two SHA-256 passes of `openssl dgst` over files in a
# private temporary directory, and the comparison looks at every hex digit
# whatever the first difference (constant time, as far as a shell can).
set -euo pipefail
umask 077

usage() { echo "usage: $0 SECRET_FILE SIGNATURE BODY_FILE [TOLERANCE_S]" >&2; exit 2; }
fail() { echo "webhook-verify: $*" >&2; exit 1; }

[ $# -ge 3 ] && [ $# -le 4 ] || usage
secret_file=$1 header=$2 body_file=$3 tolerance=${4:-300}
[ -r "$secret_file" ] && [ -r "$body_file" ] || usage
[[ $tolerance =~ ^[0-9]{1,9}$ ]] || usage

# -- the header: one t=, one or more v1= ---------------------------------
t="" sigs=()
IFS=',' read -r -a parts <<< "$header"
for p in "${parts[@]}"; do
    p=${p# }
    case $p in
        t=*) [ -z "$t" ] || fail "malformed signature header (two t=)"; t=${p#t=} ;;
        v1=*) sigs+=("$(tr 'A-F' 'a-f' <<< "${p#v1=}")") ;;
    esac
done
[[ $t =~ ^[0-9]{1,18}$ ]] || fail "malformed signature header (no t=)"
[ ${#sigs[@]} -gt 0 ] || fail "malformed signature header (no v1=)"

# -- the timestamp -----------------------------------------------------
now=$(date +%s)
age=$((now - 10#$t))
[ ${age#-} -le "$tolerance" ] || fail "timestamp $t is ${age}s from now (tolerance ${tolerance}s)"

# -- HMAC-SHA256(secret, "t.body") -------------------------------------
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
secret=$(<"$secret_file")
# The key: the secret's bytes, or their SHA-256 if longer than a block.
if [ ${#secret} -gt 64 ]; then
    key_hex=$(printf '%s' "$secret" | openssl dgst -sha256 -binary \
              | od -An -v -tx1 | tr '\n' ' ')
else
    key_hex=$(printf '%s' "$secret" | od -An -v -tx1 | tr '\n' ' ')
fi
unset secret
read -r -a key <<< "$key_hex"
ipad="" opad=""
for ((i = 0; i < 64; i++)); do
    b=0
    [ $i -lt ${#key[@]} ] && b=$((16#${key[i]}))
    printf -v x '\\x%02x' $((b ^ 0x36)); ipad+=$x
    printf -v x '\\x%02x' $((b ^ 0x5c)); opad+=$x
done
printf "$ipad" > "$dir/ipad"
printf "$opad" > "$dir/opad"
{ cat "$dir/ipad"; printf '%s.' "$t"; cat "$body_file"; } \
    | openssl dgst -sha256 -binary > "$dir/inner"
want=$(cat "$dir/opad" "$dir/inner" | openssl dgst -sha256 -binary \
       | od -An -v -tx1 | tr -d ' \n')

# -- compare every digit, then decide ----------------------------------
for got in "${sigs[@]}"; do
    [ ${#got} -eq 64 ] && [[ $got =~ ^[0-9a-f]+$ ]] || continue
    diff=0
    for ((i = 0; i < 64; i++)); do
        diff=$((diff | (16#${want:i:1} ^ 16#${got:i:1})))
    done
    [ $diff -eq 0 ] && exit 0
done
fail "signature mismatch (wrong secret, or the body was changed)"
