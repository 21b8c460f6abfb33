#!/usr/bin/env bash
# Cloudlet's data listeners and redis-server side by side, driven by the same redis-benchmark in the
# same run; prints requests/s per command for each, medians over rounds, and the ratio.
#
#   scripts/bench/kv-vs-redis.sh                    # defaults below; override with environment variables
#   ROUNDS=5 REQUESTS=200000 scripts/bench/kv-vs-redis.sh
#
# Two comparisons (issue 4's goals):
#   cache  Cloudlet's cache  vs redis-server without persistence (save "", appendonly no),
#          pipelined: -P 16 -c 50                                  goal >= 1.0x on GET and SET
#   kv     Cloudlet's KV     vs redis-server with appendonly yes, appendfsync always (every write
#          fsynced before its reply, as the KV does), -c 50 without pipelining   goal >= 1.0x on SET
# Keys are spread with -r 100000 on both sides (Cloudlet's KV shards by slot). Cloudlet: release
# build. Needs redis-server and redis-benchmark (installed with apt-get when missing).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
KV_REQUESTS=${KV_REQUESTS:-50000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
CACHE_TESTS=${CACHE_TESTS:-set,get,incr,lpush,rpop,sadd,hset}
KV_TESTS=${KV_TESTS:-set,get,incr,lpush,hset}
root=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
fi
source "$root/scripts/bench/lib.sh"
wait_for_ping() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

start_node --cache-max-memory 2GiB

redis_plain=$(free_port)
mkdir -p "$work/plain" "$work/aof"
redis-server --port "$redis_plain" --bind 127.0.0.1 --dir "$work/plain" --save "" --appendonly no \
    --daemonize no --logfile "$work/plain.log" &
pids+=($!)
redis_aof=$(free_port)
redis-server --port "$redis_aof" --bind 127.0.0.1 --dir "$work/aof" --save "" --appendonly yes \
    --appendfsync always --daemonize no --logfile "$work/aof.log" &
pids+=($!)
wait_for_ping "$redis_plain" && wait_for_ping "$redis_aof" && wait_for_ping "$cache_port" && wait_for_ping "$kv_port"

# bench NAME PORT TESTS REQUESTS EXTRA... : appends "NAME,TEST,RPS,P50,P99" lines to $work/results
bench() {
    local name=$1 port=$2 tests=$3 requests=$4
    shift 4
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$requests" -r 100000 -t "$tests" --csv "$@" 2>/dev/null |
        tail -n +2 | tr -d '"' | awk -F, -v name="$name" '{ print name "," $1 "," $2 "," $5 "," $7 }' >>"$work/results"
}

: >"$work/results"
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS"
    bench cloudlet-cache "$cache_port" "$CACHE_TESTS" "$REQUESTS" -P "$PIPELINE"
    bench redis "$redis_plain" "$CACHE_TESTS" "$REQUESTS" -P "$PIPELINE"
    bench cloudlet-kv "$kv_port" "$KV_TESTS" "$KV_REQUESTS"
    bench redis-aof "$redis_aof" "$KV_TESTS" "$KV_REQUESTS"
    redis-cli -p "$cache_port" flushall >/dev/null
    redis-cli -p "$redis_plain" flushall >/dev/null
done

python3 - "$work/results" "$ROUNDS" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, test, rps, p50, p99 = line.strip().split(",")
    rows[(name, test)].append((float(rps), float(p50), float(p99)))
def median(name, test, column):
    values = [row[column] for row in rows.get((name, test), [])]
    return statistics.median(values) if values else float("nan")
def table(title, ours, theirs):
    tests = [test for (name, test) in rows if name == ours]
    print(f"\n{title}")
    print(f"{'command':<28}{ours + ' rps':>20}{theirs + ' rps':>18}{'ratio':>8}{'p99 ms (ours/theirs)':>24}")
    for test in dict.fromkeys(tests):
        a, b = median(ours, test, 0), median(theirs, test, 0)
        print(f"{test:<28}{a:>20.0f}{b:>18.0f}{a / b:>8.2f}{median(ours, test, 2):>12.2f} / {median(theirs, test, 2):<8.2f}")
table(f"cache vs redis-server (no persistence), -P 16 -c 50, medians of {sys.argv[2]} rounds", "cloudlet-cache", "redis")
table(f"KV vs redis-server (appendfsync always), -c 50, medians of {sys.argv[2]} rounds", "cloudlet-kv", "redis-aof")
PY
