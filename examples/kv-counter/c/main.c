/* A persistent counter in the KV store: POST increments, GET reads.
   Any path works: the manifest decides where the counter lives. */
#include "wasm_server.h"

#include <stdlib.h>

#define STORE "default"
#define KEY "counter"

static ws_response *counter(const ws_request *req) {
    if (ws_bytes_eq(req->method, "POST")) {
        int64_t value;
        if (ws_kv_incr(STORE, KEY, sizeof KEY - 1, 1, &value) != WS_OK) {
            ws_logf(WS_ERROR, "increment failed: %s", ws_last_error());
            return ws_response_plain(503, "the counter is unavailable\n");
        }
        ws_response *res = ws_response_plain(200, "");
        ws_response_printf(res, "%lld\n", (long long)value);
        return res;
    }
    if (ws_bytes_eq(req->method, "GET") || ws_bytes_eq(req->method, "HEAD")) {
        ws_buf value;
        int rc = ws_kv_get(STORE, KEY, sizeof KEY - 1, &value);
        if (rc == WS_NOT_FOUND) return ws_response_plain(200, "0\n");
        if (rc != WS_OK) return ws_response_plain(503, "the counter is unavailable\n");
        ws_response *res = ws_response_plain(200, "");
        ws_response_write(res, value.ptr, value.len);
        ws_response_text(res, "\n");
        ws_buf_free(&value);
        return res;
    }
    ws_response *res = ws_response_plain(405, "use GET or POST\n");
    ws_response_header(res, "allow", "GET, POST");
    return res;
}

WASM_SERVER_HTTP(counter)
