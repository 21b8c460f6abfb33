// A serverless function: a wasi:http component (the same kind `wasmtime serve` and Spin run),
// written in C against wit-bindgen's bindings and compiled to WebAssembly.
// Build: scripts/build-wasm.sh (Debian's clang + wasi-libc, wit-bindgen from crates.io).
#include "guest.h"

void exports_wasi_http_incoming_handler_handle(exports_wasi_http_incoming_handler_own_incoming_request_t request,
                                               exports_wasi_http_incoming_handler_own_response_outparam_t out) {
    // Configuration comes from [function.vars] in cloudlet.toml, through wasi:config.
    http_function_string_t key;
    http_function_string_set(&key, "greeting");
    http_function_option_string_t greeting;
    wasi_config_store_error_t error;
    bool found = wasi_config_store_get(&key, &greeting, &error) && greeting.is_some;

    char *path = guest_path(request);
    char text[1024];
    snprintf(text, sizeof text, "%.*s from a WebAssembly function!\npath: %s\n",
             found ? (int)greeting.val.len : 5, found ? (const char *)greeting.val.ptr : "Hello", path);
    printf("served %s\n", path);  // lands in `cloudlet logs hello-function`
    guest_reply(out, 200, "text/plain; charset=utf-8", text);
}
