/* Server-Sent Events: a clock that ticks every second for ?n= ticks (default 10).
   The body streams as it is produced; the guest sleeps between ticks while the
   server serves everyone else. */
#include "wasm_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ws_response *clock_stream(const ws_request *req) {
    int ticks = 10, interval = 1000;
    ws_bytes q = ws_request_query(req);
    char query[64] = {0};
    if (q.len < sizeof query) memcpy(query, q.ptr, q.len);
    char *n = strstr(query, "n="), *ms = strstr(query, "ms=");
    if (n) ticks = atoi(n + 2);
    if (ms) interval = atoi(ms + 3);
    if (ticks < 1 || ticks > 3600 || interval < 0 || interval > 60000)
        return ws_response_plain(400, "n must be 1..3600 and ms 0..60000\n");

    ws_pair headers[] = {
        {{(const uint8_t *)"content-type", 12}, {(const uint8_t *)"text/event-stream", 17}},
        {{(const uint8_t *)"cache-control", 13}, {(const uint8_t *)"no-cache", 8}},
    };
    if (ws_stream_start(200, headers, 2) != WS_OK) return ws_response_plain(500, "cannot stream\n");
    for (int i = 1; i <= ticks; i++) {
        char event[128];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        int len = snprintf(event, sizeof event, "id: %d\nevent: tick\ndata: %04d-%02d-%02dT%02d:%02d:%02dZ\n\n", i,
                           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (ws_stream_write(event, (size_t)len) != WS_OK) break; /* the client went away */
        if (i < ticks) ws_sleep_ms((uint32_t)interval);
    }
    return ws_response_streamed();
}

WASM_SERVER_HTTP(clock_stream)
