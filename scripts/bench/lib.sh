# Shared by the benchmark scripts: the release build, a scratch directory cleaned up on exit, and a
# Cloudlet node on free ports. Source it after setting `root` to the repository.
#
#   start_node [EXTRA SERVE FLAGS...]   sets $gateway, $api, $kv_port, $cache_port, CLOUDLET_API/TOKEN
#   pids+=($!)                          for any other background process to stop on exit
#   on_exit "COMMAND"                   for anything else to undo on exit

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/cloudlet-target}
(cd "$root" && cargo build --release -q -p cloudlet)
cloudlet="$CARGO_TARGET_DIR/release/cloudlet"

work=$(mktemp -d /tmp/cloudlet-bench.XXXXXX)
pids=()
exit_commands=()
on_exit() { exit_commands+=("$1"); }
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for command in "${exit_commands[@]}"; do eval "$command" || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_node() {
    RUST_LOG=warn "$cloudlet" serve --data-dir "$work/data" --token bench "$@" \
        --gateway 127.0.0.1:0 --api 127.0.0.1:0 --kv 127.0.0.1:0 --cache 127.0.0.1:0 >"$work/node.out" 2>"$work/node.err" &
    pids+=($!)
    for _ in $(seq 300); do grep -q '^cloudlet ready' "$work/node.out" 2>/dev/null && break; sleep 0.1; done
    local ready
    ready=$(grep '^cloudlet ready' "$work/node.out") || { cat "$work/node.err"; exit 1; }
    gateway=$(sed 's/.*gateway=\([^ ]*\).*/\1/' <<<"$ready")
    api=$(sed 's/.*api=\([^ ]*\).*/\1/' <<<"$ready")
    kv_port=$(sed 's/.* kv=[^ ]*:\([0-9]*\).*/\1/' <<<"$ready")
    cache_port=$(sed 's/.* cache=[^ ]*:\([0-9]*\).*/\1/' <<<"$ready")
    export CLOUDLET_API="http://$api" CLOUDLET_TOKEN=bench
}
