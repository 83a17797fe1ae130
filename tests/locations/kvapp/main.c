/* The two-location test's app: a value per key in the KV store.
 *   PUT /kv/<key>   stores the body (200 "stored")
 *   GET /kv/<key>   the value, or 404
 * Every location serves it from its own nodes and its own Cassandra datacenter. */
#include "wasm_server.h"

#define STORE "default"

static ws_response *kv(const ws_request *req) {
    ws_bytes key = req->path_info;
    while (key.len && key.ptr[0] == '/') { key.ptr++; key.len--; }
    if (key.len == 0) return ws_response_plain(400, "name a key: /kv/<key>\n");
    if (ws_bytes_eq(req->method, "PUT")) {
        if (ws_kv_set(STORE, key.ptr, key.len, req->body.ptr, req->body.len) != WS_OK) {
            ws_logf(WS_ERROR, "set failed: %s", ws_last_error());
            return ws_response_plain(503, "the store is unavailable\n");
        }
        return ws_response_plain(200, "stored\n");
    }
    if (ws_bytes_eq(req->method, "GET")) {
        ws_buf value;
        int rc = ws_kv_get(STORE, key.ptr, key.len, &value);
        if (rc == WS_NOT_FOUND) return ws_response_plain(404, "no such key\n");
        if (rc != WS_OK) {
            ws_logf(WS_ERROR, "get failed: %s", ws_last_error());
            return ws_response_plain(503, "the store is unavailable\n");
        }
        ws_response *res = ws_response_new(200);
        ws_response_write(res, value.ptr, value.len);
        ws_buf_free(&value);
        return res;
    }
    ws_response *res = ws_response_plain(405, "use GET or PUT\n");
    ws_response_header(res, "allow", "GET, PUT");
    return res;
}

WASM_SERVER_HTTP(kv)
