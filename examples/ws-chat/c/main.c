/* A broadcast chat room over WebSockets: every message from anyone reaches
   everyone connected. The host's pub/sub fans messages out, so one message
   costs one guest call, however many people are in the room. */
#include "wasm_server.h"

#include <stdio.h>
#include <string.h>

#define ROOM "room"

static char nick[64]; /* per connection: each connection has its own instance */

static int on_open(uint32_t conn, const ws_request *req) {
    ws_bytes q = ws_request_query(req);
    if (q.len > 5 && memcmp(q.ptr, "nick=", 5) == 0 && q.len - 5 < sizeof nick) {
        memcpy(nick, q.ptr + 5, q.len - 5);
        nick[q.len - 5] = 0;
    } else {
        snprintf(nick, sizeof nick, "guest%u", (unsigned)conn);
    }
    if (ws_subscribe(conn, ROOM) != WS_OK) return -1;
    char line[128];
    int n = snprintf(line, sizeof line, "* %s joined", nick);
    ws_publish(ROOM, line, (size_t)n);
    return 0;
}

static int on_message(uint32_t conn, int binary, ws_bytes data) {
    (void)conn;
    if (binary) return 0; /* text only in this room */
    char line[4200];
    if (data.len > 4096) return 0;
    int n = snprintf(line, sizeof line, "%s: %.*s", nick, (int)data.len, (const char *)data.ptr);
    return ws_publish(ROOM, line, (size_t)n) == WS_OK ? 0 : -1;
}

static void on_close(uint32_t conn, int code, ws_bytes reason) {
    (void)conn; (void)code; (void)reason;
    char line[128];
    int n = snprintf(line, sizeof line, "* %s left", nick);
    ws_publish(ROOM, line, (size_t)n);
}

WASM_SERVER_WEBSOCKET(on_open, on_message, on_close)
