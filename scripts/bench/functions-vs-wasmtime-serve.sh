#!/usr/bin/env bash
# The same wasi:http component served by Cloudlet and by `wasmtime serve` (wasmtime-cli 48.0.8, the
# same wasmtime version Cloudlet embeds), driven by the same load generator in the same run. Prints
# requests/s and p50/p99 of each and the ratio; then the time from deploy to the first successful
# response (warm compile cache, and cold for reference); then the per-request instantiation cost
# from the criterion bench.
#
#   scripts/bench/functions-vs-wasmtime-serve.sh        # ROUNDS=3 DURATION=10s CONNECTIONS=32
#
# Installs wasmtime-cli 48.0.8 from crates.io into /var/tmp/cloudlet-wasm-tools when missing (a long
# release build: ~30 min on a 2-core machine), and wrk from Debian.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
tools=${WASM_TOOLS_DIR:-/var/tmp/cloudlet-wasm-tools}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/cloudlet-target}
export PATH="$tools/bin:$PATH"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if ! wasmtime --version 2>/dev/null | grep -q '^wasmtime 48\.'; then
    echo "installing wasmtime-cli 48.0.8 from crates.io (release build, slow)…"
    cargo install wasmtime-cli --version 48.0.8 --locked --no-default-features \
        --features run,serve,cranelift,pooling-allocator,parallel-compilation,wasi-config,component-model,component-model-async --root "$tools"
fi
(cd "$root" && cargo build --release -q -p cloudlet)
cloudlet="$CARGO_TARGET_DIR/release/cloudlet"
# The test fixture's /hello answers "hello from wasm" without logging (the example prints a log line
# per request, which wasmtime serve writes to its stdout and Cloudlet to a memory ring: not comparable).
component="$root/crates/cloudlet-functions/tests/fixtures/http_fixture.wasm"

work=$(mktemp -d /tmp/cloudlet-fn-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

# --- wasmtime serve -------------------------------------------------------------------------------
wasmtime_port=$(free_port)
wasmtime serve -Scli -Sconfig -Sconfig-var=greeting=Hello --addr "127.0.0.1:$wasmtime_port" "$component" \
    >"$work/wasmtime.log" 2>&1 &
pids+=($!)

# --- Cloudlet ---------------------------------------------------------------------------------------
RUST_LOG=warn "$cloudlet" serve --data-dir "$work/data" --token bench \
    --gateway 127.0.0.1:0 --api 127.0.0.1:0 --kv 127.0.0.1:0 --cache 127.0.0.1:0 >"$work/node.out" 2>"$work/node.err" &
pids+=($!)
for _ in $(seq 300); do grep -q '^cloudlet ready' "$work/node.out" 2>/dev/null && break; sleep 0.1; done
ready=$(grep '^cloudlet ready' "$work/node.out") || { cat "$work/node.err"; exit 1; }
gateway=$(sed 's/.*gateway=\([^ ]*\).*/\1/' <<<"$ready")
api=$(sed 's/.*api=\([^ ]*\).*/\1/' <<<"$ready")
export CLOUDLET_API="http://$api" CLOUDLET_TOKEN=bench
mkdir -p "$work/app"
cp "$component" "$work/app/hello.wasm"
printf 'name = "bench"\n[[function]]\nname = "hello"\nsource = "hello.wasm"\nroute = "/fx"\nlimits = { instances = 256, queue = 1024 }\n' >"$work/app/cloudlet.toml"
"$cloudlet" deploy -f "$work/app/cloudlet.toml" >/dev/null

cloudlet_url="http://$gateway/fx/hello"
wasmtime_url="http://127.0.0.1:$wasmtime_port/fx/hello"
wait_http "$wasmtime_url" && wait_http "$cloudlet_url"

# --- throughput and latency ------------------------------------------------------------------------
to_ms() { python3 -c 'import sys,re; v=sys.argv[1]; n,u=re.match(r"([\d.]+)(\w+)",v).groups(); print(float(n)*{"us":0.001,"ms":1,"s":1000}[u])' "$1"; }
run_wrk() {
    local out; out=$(wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$2")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$1: errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")"
}
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "$cloudlet_url" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "$wasmtime_url" >/dev/null
echo "hello component ($(stat -c %s "$component") bytes, wit-bindgen C), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, alternating; $(nproc) CPUs"
printf '%-6s %-16s %12s %10s %10s\n' round server "req/s" "p50 ms" "p99 ms"
results=()
for round in $(seq "$ROUNDS"); do
    for name in cloudlet wasmtime-serve; do
        if [ "$name" = cloudlet ]; then url=$cloudlet_url; else url=$wasmtime_url; fi
        read -r rps p50 p99 < <(run_wrk "$name" "$url")
        printf '%-6s %-16s %12.0f %10.3f %10.3f\n' "$round" "$name" "$rps" "$p50" "$p99"
        results+=("$name $rps $p50 $p99")
    done
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
med = {n: [statistics.median(c) for c in zip(*[list(map(float, r[1:])) for r in rows if r[0] == n])] for n in ("cloudlet", "wasmtime-serve")}
print()
print("%-16s %12s %10s %10s" % ("median", "req/s", "p50 ms", "p99 ms"))
for n in med: print("%-16s %12.0f %10.3f %10.3f" % (n, *med[n]))
print()
print("throughput ratio cloudlet/wasmtime-serve: %.2f" % (med["cloudlet"][0] / med["wasmtime-serve"][0]))
print("p99 ratio cloudlet/wasmtime-serve: %.2f" % (med["cloudlet"][2] / med["wasmtime-serve"][2]))
'

# --- deploy to first response ----------------------------------------------------------------------
echo
python3 - "$api" "$gateway" "$component" <<'PY'
import io, json, sys, tarfile, time, urllib.request
api, gateway, component = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
def bundle(name, extra=b""):
    manifest = f'name = "{name}"\n[[function]]\nname = "f"\nsource = "f.wasm"\nroute = "/{name}"\n'.encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, data in (("cloudlet.toml", manifest), ("f.wasm", component + extra)):
            info = tarfile.TarInfo(path); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
def deploy_to_first_response(name, extra=b""):
    body = bundle(name, extra)
    started = time.perf_counter()
    request = urllib.request.Request(f"http://{api}/v1/apps", data=body, method="POST",
                                     headers={"Authorization": "Bearer bench", "Content-Type": "application/gzip"})
    urllib.request.urlopen(request).read()
    while True:
        try:
            if urllib.request.urlopen(f"http://{gateway}/{name}").status == 200:
                return (time.perf_counter() - started) * 1000
        except Exception:
            pass
def median(values): return sorted(values)[len(values) // 2]
def custom_section(i):  # appended, it makes new bytes (a cold compile) without changing the code
    name = f"bench{i}".encode()
    content = bytes([len(name)]) + name
    return b"\x00" + bytes([len(content)]) + content
cold = [deploy_to_first_response(f"cold{i}", custom_section(i)) for i in range(3)]
warm = [deploy_to_first_response(f"warm{i}") for i in range(7)]
print("deploy -> first 200, warm compile cache: median %.1f ms (min %.1f, max %.1f, %d runs)" % (median(warm), min(warm), max(warm), len(warm)))
print("deploy -> first 200, cold (compiles):    median %.1f ms (min %.1f, max %.1f, %d runs)" % (median(cold), min(cold), max(cold), len(cold)))
PY

# --- per-request instantiation ----------------------------------------------------------------------
echo
(cd "$root" && cargo bench -q -p cloudlet-functions --bench instantiate 2>/dev/null | grep -E "^instantiate/|time:")
