#!/usr/bin/env bash
# Scale from zero to first response, for a process service and for a function (issue 5's goals:
# a process answers within its own start time + 50 ms; a function within 5 ms).
#
#   scripts/bench/scale-from-zero.sh            # ROUNDS=5
#
# Process: examples/hello-service's app.py (a Python http.server) deployed with scale.min = 0. Each
# round waits until the autoscaler has taken it to zero, then times one request through the gateway
# (held while the instance starts and passes its health check). Its own start time is measured the
# same way without Cloudlet: start the manifest's command (the Python interpreter on app.py, with the
# environment Cloudlet gives instances) and poll its port every millisecond until it answers. The
# difference is what Cloudlet adds. Function: the hello wasi:http component, timed on a request
# after the node sat idle (a function has no instance to keep: each request instantiates it).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/scripts/bench/lib.sh"

start_node

# The interpreter itself, not a version-manager shim (pyenv's shims run ~40 shell processes per start,
# and measured 60% slower when started by the node than from a shell: an artifact to keep out).
python=$(python3 -c 'import sys; print(sys.executable)')
mkdir -p "$work/sleepy" "$work/fn"
cp "$root/examples/hello-service/app.py" "$work/sleepy/"
cat >"$work/sleepy/cloudlet.toml" <<TOML
name = "sleepy"
[[service]]
name = "web"
command = ["$python", "app.py"]
route = "/hello"
health = "/hello/healthz"
scale = { min = 0, max = 1, zero_after = "1s", window = "6s" }
TOML
cp "$root/examples/hello-function/hello.wasm" "$root/examples/hello-function/cloudlet.toml" "$work/fn/"
"$cloudlet" deploy -f "$work/sleepy/cloudlet.toml" >/dev/null
"$cloudlet" deploy -f "$work/fn/cloudlet.toml" >/dev/null

instances() {
    "$cloudlet" status sleepy --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["workloads"][0]["instances"]))'
}
wait_for_zero() {
    for _ in $(seq 600); do [ "$(instances)" = 0 ] && return 0; sleep 0.1; done
    echo "the service never scaled to zero" >&2
    exit 1
}
ms() { python3 -c "print(round(float('$1') * 1000, 1))"; }

# The service's own start time: spawn to first answer, polled every millisecond.
own_start() {
    python3 - "$work/sleepy/app.py" "$python" <<'PY'
import os, socket, subprocess, sys, time, urllib.request
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
started = time.monotonic()
# The environment Cloudlet gives an instance (runtime/src/process.rs), so both runs start the same way.
inherited = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
env = {name: os.environ[name] for name in inherited if name in os.environ}
process = subprocess.Popen([sys.argv[2], sys.argv[1]], env={**env, "PORT": str(port)},
                           cwd=os.path.dirname(sys.argv[1]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hello", timeout=1).read()
            break
        except OSError:
            time.sleep(0.001)
    print(round((time.monotonic() - started) * 1000, 1))
finally:
    process.terminate()
    process.wait()
PY
}

process_first=() own=() function_first=()
for round in $(seq "$ROUNDS"); do
    wait_for_zero
    seconds=$(curl -s -o /dev/null -w '%{time_total}' "http://$gateway/hello/")
    process_first+=("$(ms "$seconds")")
    own+=("$(own_start)")
    sleep 1
    seconds=$(curl -s -o /dev/null -w '%{time_total}' "http://$gateway/fn/hello")
    function_first+=("$(ms "$seconds")")
    echo "round $round: process from zero ${process_first[-1]} ms (own start ${own[-1]} ms), function ${function_first[-1]} ms"
done

python3 - "${process_first[*]}" "${own[*]}" "${function_first[*]}" <<'PY'
import statistics, sys
first, own, function = ([float(x) for x in arg.split()] for arg in sys.argv[1:])
p, o, f = statistics.median(first), statistics.median(own), statistics.median(function)
print()
print(f"process: first response from zero {p:.1f} ms, its own start {o:.1f} ms, added by Cloudlet {p - o:.1f} ms (goal < 50 ms)")
print(f"function: first response after idle {f:.1f} ms (goal < 5 ms)")
PY
