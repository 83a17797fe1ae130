/* TCP test guest: answers "<n>:<data>" where n counts this connection's
   messages (state lives in the instance, one per connection); "trap" traps;
   "peer" answers the peer address; "bye" closes from the guest side. */
#include "wasm_server.h"

#include <stdio.h>
#include <string.h>

static int count;

static int on_data(uint32_t conn, ws_bytes data) {
    if (data.len >= 4 && memcmp(data.ptr, "trap", 4) == 0) __builtin_trap();
    if (data.len >= 3 && memcmp(data.ptr, "bye", 3) == 0) return ws_conn_close(conn) == WS_OK ? 0 : -1;
    char out[256];
    if (data.len >= 4 && memcmp(data.ptr, "peer", 4) == 0) {
        ws_buf peer;
        if (ws_conn_peer(conn, &peer) != WS_OK) return -1;
        int n = snprintf(out, sizeof out, "peer %s\n", (char *)peer.ptr);
        ws_buf_free(&peer);
        return ws_conn_send(conn, out, (size_t)n) == WS_OK ? 0 : -1;
    }
    int n = snprintf(out, sizeof out, "%d:%.*s", ++count, (int)(data.len > 200 ? 200 : data.len), (const char *)data.ptr);
    return ws_conn_send(conn, out, (size_t)n) == WS_OK ? 0 : -1;
}

WASM_SERVER_TCP(NULL, on_data, NULL)
