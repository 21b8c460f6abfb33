// A stateful serverless function: named hit counters kept in Cloudlet's durable KV store through
// wasi:keyvalue. Every request gets a fresh instance; the state lives in the store, in this app's
// own namespace (other apps cannot see it).
//   GET or POST /counter/NAME   counts a hit on NAME and answers its new value (an atomic increment)
//   DELETE /counter/NAME        forgets NAME
//   GET /counter                every counter, "NAME VALUE" a line
// Build: scripts/build-wasm.sh (Debian's clang + wasi-libc, wit-bindgen from crates.io).
#include "guest.h"

static void store_failed(wasi_http_types_own_response_outparam_t out, const wasi_keyvalue_store_error_t *error) {
    char text[512] = "store error: ";
    guest_kv_error(error, text + 13, sizeof text - 13);
    guest_reply(out, 500, "text/plain", text);
}

// The value at `name` as a number (0 when absent).
static bool read_count(wasi_keyvalue_store_borrow_bucket_t bucket, http_function_string_t *name, unsigned long long *count,
                       wasi_keyvalue_store_error_t *error) {
    http_function_option_list_u8_t value;
    if (!wasi_keyvalue_store_method_bucket_get(bucket, name, &value, error)) return false;
    *count = 0;
    if (value.is_some) {
        char digits[32];
        snprintf(digits, sizeof digits, "%.*s", (int)value.val.len, (const char *)value.val.ptr);
        *count = strtoull(digits, NULL, 10);
        http_function_list_u8_free(&value.val);
    }
    return true;
}

void exports_wasi_http_incoming_handler_handle(exports_wasi_http_incoming_handler_own_incoming_request_t request,
                                               exports_wasi_http_incoming_handler_own_response_outparam_t out) {
    char *path = guest_path(request);
    path[strcspn(path, "?")] = 0;
    wasi_http_types_method_t method;
    wasi_http_types_method_incoming_request_method(wasi_http_types_borrow_incoming_request(request), &method);

    wasi_keyvalue_store_own_bucket_t bucket;
    wasi_keyvalue_store_error_t error;
    if (!guest_kv_open("", &bucket, &error)) return store_failed(out, &error);
    wasi_keyvalue_store_borrow_bucket_t borrowed = wasi_keyvalue_store_borrow_bucket(bucket);
    char text[8192];

    const char *slash = strrchr(path, '/');
    const char *name_text = slash ? slash + 1 : "";
    if (strcmp(path, "/counter") == 0 || strcmp(path, "/counter/") == 0) {
        if (method.tag != WASI_HTTP_TYPES_METHOD_GET) return guest_reply(out, 405, "text/plain", "use GET /counter\n");
        size_t used = 0;
        text[0] = 0;
        uint64_t cursor = 0;
        bool more = true;
        while (more && used < sizeof text - 128) {
            wasi_keyvalue_store_key_response_t page;
            if (!wasi_keyvalue_store_method_bucket_list_keys(borrowed, cursor ? &cursor : NULL, &page, &error))
                return store_failed(out, &error);
            for (size_t i = 0; i < page.keys.len && used < sizeof text - 128; i++) {
                unsigned long long count;
                if (!read_count(borrowed, &page.keys.ptr[i], &count, &error)) return store_failed(out, &error);
                used += snprintf(text + used, sizeof text - used, "%.*s %llu\n", (int)page.keys.ptr[i].len,
                                 (const char *)page.keys.ptr[i].ptr, count);
            }
            more = page.cursor.is_some;
            cursor = page.cursor.val;
            wasi_keyvalue_store_key_response_free(&page);
        }
        guest_reply(out, 200, "text/plain; charset=utf-8", used ? text : "no counters yet: GET /counter/NAME counts one\n");
    } else if (strncmp(path, "/counter/", 9) == 0 && *name_text) {
        http_function_string_t name;
        http_function_string_dup(&name, name_text);
        unsigned long long count = 0;
        if (method.tag == WASI_HTTP_TYPES_METHOD_DELETE) {
            if (!wasi_keyvalue_store_method_bucket_delete(borrowed, &name, &error)) return store_failed(out, &error);
        } else {
            uint64_t value;
            if (!wasi_keyvalue_atomics_increment(borrowed, &name, 1, &value, &error)) return store_failed(out, &error);
            count = value;
        }
        snprintf(text, sizeof text, "%s %llu\n", name_text, count);
        printf("%s\n", text);  // lands in `cloudlet logs counter-function`
        guest_reply(out, 200, "text/plain; charset=utf-8", text);
        http_function_string_free(&name);
    } else {
        guest_reply(out, 404, "text/plain", "try GET /counter/NAME (counts a hit) or GET /counter (lists them)\n");
    }
    wasi_keyvalue_store_bucket_drop_own(bucket);
    free(path);
}
