/* The KV benchmark's guest: every request does OPS key-value operations on
   the "default" store (SQLite), keys k0 … k49, and answers how many it did
   (or 500 on the first failure). /set: OPS sets; /get: OPS gets; any other
   path: OPS/2 sets then OPS/2 gets. */
#include "wasm_server.h"

#include <stdio.h>
#include <string.h>

#define OPS 100

static unsigned round_no;

static ws_response *kv_ops(const ws_request *req) {
    char key[16], value[32];
    int sets = OPS / 2, gets = OPS / 2;
    if (ws_bytes_eq(req->path_info, "/set")) sets = OPS, gets = 0;
    if (ws_bytes_eq(req->path_info, "/get")) sets = 0, gets = OPS;
    round_no++;
    for (int i = 0; i < sets; i++) {
        int kl = snprintf(key, sizeof key, "k%d", i % 50);
        int vl = snprintf(value, sizeof value, "v%u-%d", round_no, i);
        if (ws_kv_set("default", key, (size_t)kl, value, (size_t)vl) != WS_OK)
            return ws_response_plain(500, "set failed\n");
    }
    for (int i = 0; i < gets; i++) {
        int kl = snprintf(key, sizeof key, "k%d", i % 50);
        ws_buf got;
        if (ws_kv_get("default", key, (size_t)kl, &got) != WS_OK)
            return ws_response_plain(500, "get failed\n");
        ws_buf_free(&got);
    }
    ws_response *res = ws_response_new(200);
    ws_response_printf(res, "%d\n", OPS);
    return res;
}

WASM_SERVER_HTTP(kv_ops)
