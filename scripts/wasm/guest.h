// Small helpers over wit-bindgen's C bindings for wasi:http guests (scripts/build-wasm.sh).
// Used by the examples' functions and the cloudlet-functions test fixtures.
#ifndef CLOUDLET_GUEST_H
#define CLOUDLET_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_function.h"

typedef wasi_http_types_own_outgoing_body_t guest_body_t;
typedef wasi_http_types_own_output_stream_t guest_stream_t;

static inline void guest_header(wasi_http_types_own_fields_t fields, const char *name, const uint8_t *value, size_t len) {
    http_function_string_t key;
    http_function_string_dup(&key, name);
    wasi_http_types_field_value_t field = {(uint8_t *)value, len};
    wasi_http_types_header_error_t error;
    wasi_http_types_method_fields_append(wasi_http_types_borrow_fields(fields), &key, &field, &error);
    http_function_string_free(&key);
}

// Sends the response head; returns its body and the stream to write it to.
static inline guest_body_t guest_respond(wasi_http_types_own_response_outparam_t out, uint16_t status,
                                         wasi_http_types_own_fields_t headers, guest_stream_t *stream) {
    wasi_http_types_own_outgoing_response_t response = wasi_http_types_constructor_outgoing_response(headers);
    wasi_http_types_method_outgoing_response_set_status_code(wasi_http_types_borrow_outgoing_response(response), status);
    guest_body_t body;
    wasi_http_types_method_outgoing_response_body(wasi_http_types_borrow_outgoing_response(response), &body);
    wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(body), stream);
    wasi_http_types_result_own_outgoing_response_error_code_t result = {.is_err = false, .val.ok = response};
    wasi_http_types_static_response_outparam_set(out, &result);
    return body;
}

// Writes all of `data`, in the 4096-byte pieces blocking-write-and-flush accepts.
static inline bool guest_write(guest_stream_t stream, const uint8_t *data, size_t len) {
    while (len > 0) {
        size_t piece = len < 4096 ? len : 4096;
        http_function_list_u8_t chunk = {(uint8_t *)data, piece};
        wasi_io_streams_stream_error_t error;
        if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(wasi_io_streams_borrow_output_stream(stream), &chunk, &error))
            return false;
        data += piece;
        len -= piece;
    }
    return true;
}

static inline void guest_finish(guest_body_t body, guest_stream_t stream) {
    wasi_io_streams_output_stream_drop_own(stream);
    wasi_http_types_error_code_t error;
    wasi_http_types_static_outgoing_body_finish(body, NULL, &error);
}

// A whole response in one call.
static inline void guest_reply(wasi_http_types_own_response_outparam_t out, uint16_t status, const char *content_type,
                               const char *text) {
    wasi_http_types_own_fields_t headers = wasi_http_types_constructor_fields();
    guest_header(headers, "content-type", (const uint8_t *)content_type, strlen(content_type));
    guest_stream_t stream;
    guest_body_t body = guest_respond(out, status, headers, &stream);
    guest_write(stream, (const uint8_t *)text, strlen(text));
    guest_finish(body, stream);
}

// The request's path and query as a NUL-terminated string (caller frees).
static inline char *guest_path(wasi_http_types_own_incoming_request_t request) {
    http_function_string_t path;
    if (!wasi_http_types_method_incoming_request_path_with_query(wasi_http_types_borrow_incoming_request(request), &path))
        return strdup("/");
    char *text = malloc(path.len + 1);
    memcpy(text, path.ptr, path.len);
    text[path.len] = 0;
    http_function_string_free(&path);
    return text;
}

// The value of `name=` in a query string, or NULL (caller frees).
static inline char *guest_query(const char *path, const char *name) {
    const char *query = strchr(path, '?');
    size_t name_len = strlen(name);
    while (query) {
        query++;
        if (strncmp(query, name, name_len) == 0 && query[name_len] == '=') {
            const char *start = query + name_len + 1;
            size_t len = strcspn(start, "&");
            char *value = malloc(len + 1);
            memcpy(value, start, len);
            value[len] = 0;
            return value;
        }
        query = strchr(query, '&');
    }
    return NULL;
}

// A wasi:keyvalue error as text ("no-such-store", "access-denied", or the store's message).
static inline void guest_kv_error(const wasi_keyvalue_store_error_t *error, char *text, size_t size) {
    switch (error->tag) {
    case WASI_KEYVALUE_STORE_ERROR_NO_SUCH_STORE: snprintf(text, size, "no-such-store"); break;
    case WASI_KEYVALUE_STORE_ERROR_ACCESS_DENIED: snprintf(text, size, "access-denied"); break;
    default: snprintf(text, size, "other: %.*s", (int)error->val.other.len, (const char *)error->val.other.ptr);
    }
}

// Opens the bucket named `name` ("" for the function's default store).
static inline bool guest_kv_open(const char *name, wasi_keyvalue_store_own_bucket_t *bucket,
                                 wasi_keyvalue_store_error_t *error) {
    http_function_string_t identifier;
    http_function_string_dup(&identifier, name);
    bool ok = wasi_keyvalue_store_open(&identifier, bucket, error);
    http_function_string_free(&identifier);
    return ok;
}

#endif
