/* Hello from C: answers every GET with a greeting and the path it saw. */
#include "wasm_server.h"

static ws_response *hello(const ws_request *req) {
    ws_response *res = ws_response_new(200);
    ws_response_header(res, "content-type", "text/plain; charset=utf-8");
    ws_response_text(res, "Hello from C\n");
    /* path_info is the path below the route's prefix, so the greeting is
       the same whether this runs alone or mounted under /hello/c */
    ws_bytes path = req->path_info;
    ws_response_printf(res, "path: %.*s\n", (int)path.len, (const char *)path.ptr);
    return res;
}

WASM_SERVER_HTTP(hello)
