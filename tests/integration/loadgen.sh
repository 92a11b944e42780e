#!/usr/bin/env bash
# The benchmark's load generator (`make bench`) on a small scale: every
# package of a saturation, a rate and a polling phase is final and
# succeeded, the JSON summary carries the figures the report prints, and
# the watcher lists only about the packages in flight (it once listed
# every package of the last 2 s on each call, so the observer's cost grew
# with the throughput it measured).
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
tokens=""
for u in root alice dave olga vic carol paul; do
    tokens+="${tokens:+,}$u:$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
done
export XW_TOKENS=$tokens XW_SYSTEM_ADMINS=root
xw_start_redis
xw_start_broker
xw_start_services
lg=$XW_BUILD_DIR/tools/xw-loadgen
out=$XW_RUN_DIR/loadgen.json

"$lg" --run-dir "$XW_RUN_DIR" --out "$out" \
    --phase s5:sat:5:40:4 --phase r10:rate:10:100:2 \
    > "$XW_RUN_DIR/loadgen.txt" 2>&1 \
    || xw_die "xw-loadgen: $(tail -5 "$XW_RUN_DIR/loadgen.txt")"
"$lg" --run-dir "$XW_RUN_DIR" --out "$out.poll" --poll-packages 2 \
    --phase p3:sat:3:6:2 > "$XW_RUN_DIR/loadgen-poll.txt" 2>&1 \
    || xw_die "xw-loadgen --poll-packages 2: $(tail -5 "$XW_RUN_DIR/loadgen-poll.txt")"

n=$(python3 - "$out" "$out.poll" <<'PY') || xw_die "loadgen summary: $n (in $XW_RUN_DIR)"
import json, sys

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print(what)
        sys.exit(1)


runs = [json.load(open(f)) for f in sys.argv[1:]]
phases = {p["name"]: p for r in runs for p in r["phases"]}
check(sorted(phases) == ["p3", "r10", "s5"], "phases: %s" % sorted(phases))
for name, p in phases.items():
    check(p["packages_ok"] == p["packages"] and p["packages_failed"] == 0
          and p["packages_error"] == 0, "%s: every package succeeded: %s"
          % (name, {k: p[k] for k in ("packages", "packages_ok",
                                      "packages_failed", "packages_error")}))
    check(p["objects_per_s"] > 0 and p["submit_to_final_ms"]["n"]
          == p["packages"], "%s: throughput and latencies: %s"
          % (name, p["submit_to_final_ms"]))
    cpu = p["cost"]["cpu_us_per_object"]
    check(all(cpu.get(s, 0) > 0 for s in ("submit-listener", "redis-server"))
          and cpu["total"] > 0, "%s: CPU per process: %s" % (name, cpu))
s5 = phases["s5"]
check(s5["watch_calls"] > 0, "s5: the watcher ran")
# 4 in flight: a call lists those, plus the ones created meanwhile.
check(s5["watch_mean_items"] <= 8, "s5: the watcher listed %.1f packages "
      "per call with 4 in flight" % s5["watch_mean_items"])
check(phases["p3"]["polls"] > 0 and phases["p3"]["watch_calls"] == 0,
      "p3: packages polled, no watcher")
print("%d checks" % checks)
PY
XW_CHECKS=$((XW_CHECKS + ${n%% *}))
xw_pass
