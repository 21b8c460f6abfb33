#!/usr/bin/env bash
# Cloudlet's gateway and nginx in front of the same backend, driven by the same load generators in the
# same run:
# 1. saturation (closed loop, wrk): requests/s and p50/p99 of each, per round and as medians, and the ratio;
# 2. a fixed moderate rate (open loop, oha with latency correction, RATE requests/s): p50/p99 of the
#    backend alone and through each proxy, and the latency each proxy adds.
#
#   scripts/bench/gateway-vs-nginx.sh            # defaults below; override with environment variables
#   ROUNDS=5 DURATION=20s CONNECTIONS=128 RATE=2000 scripts/bench/gateway-vs-nginx.sh
#
# The backend is an nginx returning a 12-byte body, run by Cloudlet as a service instance; the nginx
# proxy points at that same instance. Both proxies get two workers (nginx worker_processes 2, tokio
# 2 worker threads on this 2-core machine), keep-alive to the backend, and add the same forwarding
# headers. Needs nginx and wrk (installed with apt-get when missing).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RATE=${RATE:-2000}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-16}
tools=${BENCH_TOOLS_DIR:-/var/tmp/cloudlet-bench-tools}
export PATH="$tools/bin:$PATH"
root=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx wrk >/dev/null
fi
command -v oha >/dev/null || cargo install --locked oha --version 1.16.0 --root "$tools"
source "$root/scripts/bench/lib.sh"
on_exit '[ -f "$work/proxy.pid" ] && kill "$(cat "$work/proxy.pid")"'
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"

# --- Cloudlet node and the backend app -------------------------------------------------------------
start_node

mkdir -p "$work/backend"
cat >"$work/backend/backend.conf.in" <<CONF
$user_line
worker_processes 1;
daemon off;
pid backend.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:__PORT__;
        location / { return 200 "hello world\n"; }
    }
}
CONF
cat >"$work/backend/cloudlet.toml" <<'TOML'
name = "bench"
[[service]]
name = "backend"
command = ["sh", "-c", "sed \"s/__PORT__/$PORT/\" backend.conf.in > backend.conf && exec nginx -p \"$PWD\" -e stderr -c \"$PWD/backend.conf\""]
route = "/"
TOML
"$cloudlet" deploy -f "$work/backend/cloudlet.toml" >/dev/null
backend_port=$("$cloudlet" status bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["workloads"][0]["instances"][0]["port"])')

# --- nginx as the proxy ----------------------------------------------------------------------------
proxy_port=$(free_port)
cat >"$work/proxy.conf" <<CONF
$user_line
worker_processes 2;
pid $work/proxy.pid;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backend {
        server 127.0.0.1:$backend_port;
        keepalive 256;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:$proxy_port;
        keepalive_requests 10000000;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Request-Id \$request_id;
        }
    }
}
CONF
nginx -p "$work" -e "$work/proxy-error.log" -c "$work/proxy.conf"

# --- load --------------------------------------------------------------------------------------------
to_ms() { # wrk latency like 812.00us / 1.23ms / 1.01s
    python3 -c 'import sys,re; v=sys.argv[1]; n,u=re.match(r"([\d.]+)(\w+)",v).groups(); print(float(n)*{"us":0.001,"ms":1,"s":1000}[u])' "$1"
}
run_wrk() { # name url -> "rps p50 p99"
    local out; out=$(wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$2")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$1: errors during the run:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
    echo "$rps $p50 $p99"
}
curl -sf "http://$gateway/" >/dev/null && curl -sf "http://127.0.0.1:$proxy_port/" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "http://$gateway/" >/dev/null          # warm-up
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "http://127.0.0.1:$proxy_port/" >/dev/null

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, alternating; $(nproc) CPUs, $(uname -r)"
printf '%-6s %-10s %12s %10s %10s\n' round proxy "req/s" "p50 ms" "p99 ms"
results=()
for round in $(seq "$ROUNDS"); do
    for name in cloudlet nginx; do
        if [ "$name" = cloudlet ]; then url="http://$gateway/"; else url="http://127.0.0.1:$proxy_port/"; fi
        read -r rps p50 p99 < <(run_wrk "$name" "$url")
        printf '%-6s %-10s %12.0f %10.3f %10.3f\n' "$round" "$name" "$rps" "$p50" "$p99"
        results+=("$name $rps $p50 $p99")
    done
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
med = {}
for name in ("cloudlet", "nginx"):
    mine = [list(map(float, r[1:])) for r in rows if r[0] == name]
    med[name] = [statistics.median(col) for col in zip(*mine)]
print()
print("%-10s %12s %10s %10s" % ("median", "req/s", "p50 ms", "p99 ms"))
for name in ("cloudlet", "nginx"):
    print("%-10s %12.0f %10.3f %10.3f" % (name, *med[name]))
print()
print("throughput ratio cloudlet/nginx: %.2f" % (med["cloudlet"][0] / med["nginx"][0]))
print("p99 ratio cloudlet/nginx: %.2f" % (med["cloudlet"][2] / med["nginx"][2]))
'

# --- fixed rate -------------------------------------------------------------------------------------
run_oha() { # url -> "p50 p99" in ms
    oha -z "$DURATION" -q "$RATE" -c "$RATE_CONNECTIONS" --latency-correction --no-tui --output-format json "$1" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["latencyPercentiles"]; s=d["statusCodeDistribution"]
bad = {k: v for k, v in s.items() if k != "200"}
bad.update(d["errorDistribution"])
print("%.3f %.3f%s" % (p["p50"]*1000, p["p99"]*1000, (" not-200:%s" % bad) if bad else ""))'
}
echo
echo "fixed rate: oha -z $DURATION -q $RATE -c $RATE_CONNECTIONS --latency-correction, $ROUNDS rounds"
printf '%-6s %-10s %10s %10s\n' round target "p50 ms" "p99 ms"
latencies=()
for round in $(seq "$ROUNDS"); do
    for name in backend cloudlet nginx; do
        case $name in
            backend) url="http://127.0.0.1:$backend_port/" ;;
            cloudlet) url="http://$gateway/" ;;
            nginx) url="http://127.0.0.1:$proxy_port/" ;;
        esac
        read -r p50 p99 rest < <(run_oha "$url")
        printf '%-6s %-10s %10s %10s %s\n' "$round" "$name" "$p50" "$p99" "${rest:-}"
        latencies+=("$name $p50 $p99")
    done
done
printf '%s\n' "${latencies[@]}" | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
med = {name: [statistics.median(float(r[i]) for r in rows if r[0] == name) for i in (1, 2)] for name in ("backend", "cloudlet", "nginx")}
print()
print("%-10s %10s %10s %16s" % ("median", "p50 ms", "p99 ms", "added p99 ms"))
for name in ("backend", "cloudlet", "nginx"):
    added = med[name][1] - med["backend"][1]
    print("%-10s %10.3f %10.3f %16s" % (name, med[name][0], med[name][1], "" if name == "backend" else "%.3f" % added))
'
