/* Echo a request back (method, target, x-test-* headers, body), fetch a URL
   through the host, and echo WebSocket messages: the parity example. */
#include "wasm_server.h"

#include <stdio.h>
#include <string.h>

static int starts_with(ws_bytes b, const char *prefix) {
    size_t n = strlen(prefix);
    return b.len >= n && memcmp(b.ptr, prefix, n) == 0;
}

static ws_response *echo(const ws_request *req) {
    ws_response *res = ws_response_new(200);
    ws_response_header_bytes(res, (ws_bytes){(const uint8_t *)"x-echo-method", 13}, req->method);
    ws_response_header_bytes(res, (ws_bytes){(const uint8_t *)"x-echo-url", 10}, req->url);
    ws_response_header_bytes(res, (ws_bytes){(const uint8_t *)"x-echo-path", 11}, req->path_info);
    for (size_t i = 0; i < req->header_count; i++) {
        ws_pair h = req->headers[i];
        if (!starts_with(h.name, "x-test-")) continue;
        char name[256];
        int n = snprintf(name, sizeof name, "x-echo-%.*s", (int)h.name.len, (const char *)h.name.ptr);
        if (n > 0 && (size_t)n < sizeof name) ws_response_header_bytes(res, (ws_bytes){(uint8_t *)name, (size_t)n}, h.value);
    }
    ws_bytes type;
    if (ws_request_header(req, "content-type", &type))
        ws_response_header_bytes(res, (ws_bytes){(const uint8_t *)"content-type", 12}, type);
    else
        ws_response_header(res, "content-type", "application/octet-stream");
    ws_response_write(res, req->body.ptr, req->body.len);
    return res;
}

static ws_response *fetch(const ws_request *req) {
    ws_bytes target;
    if (!ws_request_header(req, "x-fetch-url", &target)) return ws_response_plain(400, "send the URL in x-fetch-url\n");
    char url[2048];
    if (target.len >= sizeof url) return ws_response_plain(400, "URL too long\n");
    memcpy(url, target.ptr, target.len);
    url[target.len] = 0;
    ws_http_request out = {.method = "GET", .url = url};
    ws_http_response up;
    int rc = ws_http_send(&out, &up);
    if (rc == WS_DENIED) {
        ws_response *res = ws_response_plain(403, "denied: ");
        ws_response_printf(res, "%s\n", ws_last_error());
        return res;
    }
    if (rc != WS_OK) {
        ws_response *res = ws_response_plain(502, "fetch failed: ");
        ws_response_printf(res, "%s\n", ws_last_error());
        return res;
    }
    ws_response *res = ws_response_new(200);
    char status[16];
    snprintf(status, sizeof status, "%d", up.status);
    ws_response_header(res, "x-upstream-status", status);
    ws_response_write(res, up.body.ptr, up.body.len);
    ws_http_response_free(&up);
    return res;
}

static ws_response *handle(const ws_request *req) {
    if (ws_bytes_eq(req->route, "/fetch")) return fetch(req);
    return echo(req);
}

static int on_message(uint32_t conn, int binary, ws_bytes data) {
    return ws_websocket_send(conn, binary, data.ptr, data.len) == WS_OK ? 0 : -1;
}

WASM_SERVER_HTTP(handle)
WASM_SERVER_WEBSOCKET(NULL, on_message, NULL)
