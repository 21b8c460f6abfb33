// A WAGI function: a plain C program, compiled to a WASI command module, run like a CGI script.
// The request comes in environment variables and stdin; the response goes out on stdout.
// Build: scripts/build-wasm.sh (clang --target=wasm32-wasi, from Debian's clang + wasi-libc).
#include <stdio.h>
#include <stdlib.h>

static const char *env(const char *name) {
    const char *value = getenv(name);
    return value ? value : "";
}

int main(void) {
    printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
    printf("%s from a WAGI function (C compiled to WebAssembly)!\n\n", env("GREETING"));
    printf("method:  %s\n", env("REQUEST_METHOD"));
    printf("path:    %s%s\n", env("SCRIPT_NAME"), env("PATH_INFO"));
    printf("query:   %s\n", env("QUERY_STRING"));
    printf("client:  %s\n", env("REMOTE_ADDR"));
    printf("agent:   %s\n", env("HTTP_USER_AGENT"));
    return 0;
}
