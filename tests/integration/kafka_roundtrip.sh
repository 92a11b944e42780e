#!/usr/bin/env bash
# Avro events (Probe, single-object encoding) produced by one process are
# decoded by another through a
# consumer group on the local broker; a handler asking for retries loses
# nothing; injected broker errors on Produce and Fetch are survived.
. "$(dirname "$0")/../lib/harness.sh"
xw_harness_init
xw_start_broker
tool=$XW_BUILD_DIR/tests/xw_kafka_tool

out=$("$tool" produce 5000) || xw_die "produce: $out"
xw_expect_eq "producer" "$out" "produced 5000"
out=$("$tool" consume grp-a 5000 60) || xw_die "consume grp-a: $out"
xw_expect_eq "consumer group gets every message once" "$out" "distinct 5000 total 5000"

# A second group reads the same log independently.
out=$("$tool" consume grp-b 5000 60) || xw_die "consume grp-b: $out"
xw_expect_eq "independent group" "$out" "distinct 5000 total 5000"

# Retries rewind the batch (asked by the handler, or a failed batch begin):
# nothing is skipped (total counts redone work).
out=$("$tool" flaky grp-c 5000 90 700) || xw_die "flaky grp-c: $out"
xw_check "retrying handler still sees every message: $out" \
    bash -c "[[ '$out' == 'distinct 5000 '* ]]"

# Broker faults: produce requests fail, then succeed on librdkafka's retry.
ctl push_errors Produce NOT_LEADER_FOR_PARTITION 5
ctl push_errors Fetch REQUEST_TIMED_OUT 3
"$tool" produce 1000 5000 >/dev/null || xw_die "produce under faults"
out=$("$tool" consume grp-d 6000 90) || xw_die "consume grp-d under faults: $out"
xw_check "after produce/fetch faults every message arrives: $out" \
    bash -c "[[ '$out' == 'distinct 6000 '* ]]"
xw_pass
