#!/usr/bin/env bash
# Builds every WebAssembly binary in this repository from its C source:
#   examples/hello-function/hello.wasm       wasi:http component
#   examples/counter-function/counter.wasm   wasi:http component with wasi:keyvalue
#   examples/wagi-function/hello.wasm        WAGI (WASI preview 1 command module)
#   crates/cloudlet-functions/tests/fixtures/http_fixture.wasm, kv_fixture.wasm, http_v0_2_0.wasm, wagi_fixture.wasm,
#   command_component.wasm
# The built files are committed, so neither `cloudlet up` nor the tests need a guest toolchain.
#
# Tools, all from the package registries: Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32;
# wit-bindgen-cli from crates.io (C bindings for wasi:http); tools/componentize (wit-component plus
# the WASI preview1 adapter wasmtime 48 ships, from crates.io) to turn a core module into a component.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${WASM_TOOLS_DIR:-/var/tmp/cloudlet-wasm-tools}
export PATH="$tools/bin:$PATH"

if ! command -v clang >/dev/null || [ ! -d /usr/lib/wasm32-wasi ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang lld wasi-libc libclang-rt-dev-wasm32
fi
command -v wit-bindgen >/dev/null || cargo install --locked wit-bindgen-cli --version 0.63.0 --root "$tools"
CARGO_TARGET_DIR="$tools/componentize-target" cargo build --release -q --manifest-path "$root/tools/componentize/Cargo.toml"
componentize="$tools/componentize-target/release/componentize"

# The WIT of wasi:http 0.2.12 and wasi:config, as wasmtime 48 implements them, from the crates' sources;
# wasi:keyvalue's from the host's own copy (crates/cloudlet-functions/wit).
(cd "$root" && cargo fetch -q)
registry=$(dirname "$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name 'wasmtime-wasi-http-48.0.8' | head -n 1)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wit/deps"
cp -r "$registry/wasmtime-wasi-http-48.0.8/wit/deps/." "$work/wit/deps/"
cp -r "$registry/wasmtime-wasi-config-48.0.8/wit/deps/config" "$work/wit/deps/config"
mkdir -p "$work/wit/deps/keyvalue"
cp "$root/crates/cloudlet-functions/wit/keyvalue.wit" "$work/wit/deps/keyvalue/"
cp "$root/scripts/wasm/worlds.wit" "$work/wit/"
wit-bindgen c "$work/wit" --world cloudlet:guests/http-function --out-dir "$work/bindings" >/dev/null

cflags=(--target=wasm32-wasi -O2 -Wall -Wno-unused-function -Wl,--strip-all)
http_component() { # source.c output.wasm
    clang "${cflags[@]}" -mexec-model=reactor -I"$work/bindings" -I"$root/scripts/wasm" \
        "$1" "$work/bindings/http_function.c" "$work/bindings/http_function_component_type.o" -o "$work/core.wasm"
    "$componentize" reactor "$work/core.wasm" "$2"
    echo "built $2 ($(stat -c %s "$2") bytes)"
}
wagi_module() { # source.c output.wasm
    clang "${cflags[@]}" "$1" -o "$2"
    echo "built $2 ($(stat -c %s "$2") bytes)"
}

http_component "$root/examples/hello-function/hello.c" "$root/examples/hello-function/hello.wasm"
http_component "$root/examples/counter-function/counter.c" "$root/examples/counter-function/counter.wasm"
wagi_module "$root/examples/wagi-function/hello.c" "$root/examples/wagi-function/hello.wasm"
fixtures="$root/crates/cloudlet-functions/tests/fixtures"
http_component "$fixtures/src/http_fixture.c" "$fixtures/http_fixture.wasm"
http_component "$fixtures/src/kv_fixture.c" "$fixtures/kv_fixture.wasm"
wagi_module "$fixtures/src/wagi_fixture.c" "$fixtures/wagi_fixture.wasm"
# The oldest 0.2 minor: the same WIT with every version pinned to 0.2.0, a handler with only the proxy adapter.
mkdir -p "$work/wit020/deps"
cp -r "$registry/wasmtime-wasi-http-48.0.8/wit/deps/." "$work/wit020/deps/"
sed -i -e 's/@0\.2\.12/@0.2.0/g' -e 's/@since(version = 0\.2\.[0-9]*)/@since(version = 0.2.0)/g' "$work/wit020/deps/"*.wit
printf 'package cloudlet:old;\nworld handler {\n  include wasi:http/proxy@0.2.0;\n}\n' >"$work/wit020/world.wit"
wit-bindgen c "$work/wit020" --world cloudlet:old/handler --out-dir "$work/bindings020" >/dev/null
clang "${cflags[@]}" -mexec-model=reactor -I"$work/bindings020" "$fixtures/src/http_v0_2_0.c" \
    "$work/bindings020/handler.c" "$work/bindings020/handler_component_type.o" -o "$work/core020.wasm"
"$componentize" proxy "$work/core020.wasm" "$fixtures/http_v0_2_0.wasm"
echo "built $fixtures/http_v0_2_0.wasm"
# A component that is not a wasi:http handler (it exports wasi:cli/run), for the wrong-executor test.
"$componentize" command "$fixtures/wagi_fixture.wasm" "$fixtures/command_component.wasm"
echo "built $fixtures/command_component.wasm"
