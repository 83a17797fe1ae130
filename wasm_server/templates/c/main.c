/* {{name}}: a wasm-server service in C. Build and serve: wasm-server up . */
#include "wasm_server.h"

static ws_response *handle(const ws_request *req) {
    /* count visits in the KV store (declared in wasm-server.toml) */
    int64_t visits = 0;
    if (ws_kv_incr("default", "visits", 6, 1, &visits) != WS_OK) {
        ws_logf(WS_WARN, "could not count the visit: %s", ws_last_error());
    }
    ws_response *res = ws_response_new(200);
    ws_response_header(res, "content-type", "text/plain; charset=utf-8");
    ws_response_printf(res, "Hello from {{name}}!\nyou asked for %.*s (visit %lld)\n",
                       (int)req->path_info.len, (const char *)req->path_info.ptr, (long long)visits);
    return res;
}

WASM_SERVER_HTTP(handle)
