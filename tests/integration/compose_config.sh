#!/usr/bin/env bash
# No Docker engine runs here, so the compose stack is checked statically:
# the file parses, every service it names exists as a build target, and
# the topics it creates are the topics the code uses.
. "$(dirname "$0")/../lib/harness.sh"
f=$XW_SRC_DIR/compose/docker-compose.yml
command -v docker-compose >/dev/null || xw_die "docker-compose is not installed (scripts/install-deps)"
xw_check "compose file is valid" env XW_TOKENS=u:t docker-compose -f "$f" config -q
for s in "${XW_SERVICES[@]}"; do
    xw_check "compose runs xw-$s" grep -q "command: \[\"xw-$s\"\]" "$f"
    xw_check "xw-$s is a build target" test -f "$XW_SRC_DIR/services/$s/main.c"
done
topics=$(grep -o 'for t in [a-z ]*;' "$f" | sed 's/for t in //; s/;//')
code_topics=$(grep -o '"[a-z]*"' <(sed -n '/suffixes\[XW_TOPIC_COUNT\]/,/};/p' "$XW_SRC_DIR/common/xw_topics.c") | tr -d '"' | tr '\n' ' ')
xw_expect_eq "compose topics match xw_topics.c" "$(echo $topics)" "$(echo $code_topics)"
xw_pass
