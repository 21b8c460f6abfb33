#!/usr/bin/env bash
# Runs redis-benchmark's default suite (Debian's redis-tools) against a node's data listeners and
# fails on any error reply. Used by .ci/run; run it by hand the same way.
#   scripts/ci/redis-benchmark-suite.sh [REQUESTS]
set -euo pipefail
requests=${1:-2000}
root=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/cloudlet-target}
command -v redis-benchmark >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-tools >/dev/null
}
(cd "$root" && cargo build -q -p cloudlet)
work=$(mktemp -d)
"$CARGO_TARGET_DIR/debug/cloudlet" serve --data-dir "$work/data" --token ci --cache-max-memory 256MiB \
    --gateway 127.0.0.1:0 --api 127.0.0.1:0 --kv 127.0.0.1:0 --cache 127.0.0.1:0 >"$work/out" 2>"$work/err" &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do grep -q '^cloudlet ready' "$work/out" && break; sleep 0.1; done
ready=$(grep '^cloudlet ready' "$work/out") || { cat "$work/err"; exit 1; }
failed=0
for listener in kv cache; do
    address=$(sed "s/.* $listener=\([^ ]*\).*/\1/" <<<"$ready")
    port=${address##*:}
    echo "== redis-benchmark default suite against the $listener listener ($address), $requests requests per test"
    output=$(redis-benchmark -h 127.0.0.1 -p "$port" -n "$requests" -q 2>&1 | tr '\r' '\n' | grep -v '^$' | grep -v 'rps=' || true)
    echo "$output" | grep "requests per second" || true
    if grep -qiE "error|ERR |WRONGTYPE|NOAUTH|CROSSSLOT" <<<"$output"; then
        echo "error replies from the $listener listener:"
        grep -iE "error|ERR |WRONGTYPE|NOAUTH|CROSSSLOT" <<<"$output"
        failed=1
    fi
    tests=$(grep -c "requests per second" <<<"$output" || true)
    if [ "$tests" -lt 20 ]; then
        echo "only $tests of the 20 default tests completed against the $listener listener"
        failed=1
    fi
done
exit $failed
