/* The echo protocol (RFC 862) over TCP: every byte received is sent back. */
#include "wasm_server.h"

static int on_data(uint32_t conn, ws_bytes data) {
    return ws_conn_send(conn, data.ptr, data.len) == WS_OK ? 0 : -1;
}

WASM_SERVER_TCP(NULL, on_data, NULL)
