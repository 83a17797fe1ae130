/*
 * wasm_server.c — the C SDK of wasm-server (ABI v1, docs/abi.md).
 *
 * The codec part compiles anywhere (the SDK's tests build it natively with
 * gcc); the exports and host imports exist only when compiling for wasm.
 */
#include "wasm_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers -------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort(); /* out of memory: the host turns the trap into a 500 */
    return q;
}

int ws_bytes_eq(ws_bytes b, const char *s) {
    size_t n = strlen(s);
    return b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

static int ieq(ws_bytes b, const char *s) {
    size_t n = strlen(s);
    if (b.len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b.ptr[i];
        uint8_t d = (uint8_t)s[i];
        if (c >= 'A' && c <= 'Z') c = (uint8_t)(c + 32);
        if (d >= 'A' && d <= 'Z') d = (uint8_t)(d + 32);
        if (c != d) return 0;
    }
    return 1;
}

/* ---- decoding --------------------------------------------------------------- */

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    int bad;
} reader;

static uint32_t r_u32(reader *r) {
    if (r->bad || r->len - r->pos < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = rd32(r->buf + r->pos);
    r->pos += 4;
    return v;
}

static ws_bytes r_bytes(reader *r) {
    ws_bytes b = {0, 0};
    uint32_t n = r_u32(r);
    if (r->bad || r->len - r->pos < n) {
        r->bad = 1;
        return b;
    }
    b.ptr = r->buf + r->pos;
    b.len = n;
    r->pos += n;
    return b;
}

static ws_pair *r_pairs(reader *r, size_t *count) {
    uint32_t n = r_u32(r);
    *count = 0;
    if (r->bad || (size_t)n * 8 > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    ws_pair *pairs = n ? xrealloc(NULL, n * sizeof(ws_pair)) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        pairs[i].name = r_bytes(r);
        pairs[i].value = r_bytes(r);
    }
    if (r->bad) {
        free(pairs);
        return NULL;
    }
    *count = n;
    return pairs;
}

int ws_decode_request(const uint8_t *buf, size_t len, ws_request *out) {
    reader r = {buf, len, 0, 0};
    memset(out, 0, sizeof *out);
    out->flags = r_u32(&r);
    out->method = r_bytes(&r);
    out->url = r_bytes(&r);
    out->route = r_bytes(&r);
    out->base = r_bytes(&r);
    out->path_info = r_bytes(&r);
    out->client = r_bytes(&r);
    out->params = r_pairs(&r, &out->param_count);
    out->headers = r_pairs(&r, &out->header_count);
    out->body = r_bytes(&r);
    if (r.bad || r.pos != len) {
        ws_request_release(out);
        return WS_INVALID;
    }
    return WS_OK;
}

void ws_request_release(ws_request *req) {
    free(req->params);
    free(req->headers);
    req->params = req->headers = NULL;
    req->param_count = req->header_count = 0;
}

int ws_decode_response(const uint8_t *buf, size_t len, ws_http_response *out) {
    reader r = {buf, len, 0, 0};
    out->status = (int)r_u32(&r);
    (void)r_u32(&r); /* flags */
    out->headers = r_pairs(&r, &out->header_count);
    out->body = r_bytes(&r);
    if (r.bad || r.pos != len) {
        free(out->headers);
        out->headers = NULL;
        out->header_count = 0;
        return WS_INVALID;
    }
    return WS_OK;
}

ws_bytes ws_request_path(const ws_request *req) {
    ws_bytes p = req->url;
    const uint8_t *q = p.len ? memchr(p.ptr, '?', p.len) : NULL;
    if (q) p.len = (size_t)(q - p.ptr);
    return p;
}

ws_bytes ws_request_query(const ws_request *req) {
    ws_bytes p = req->url, empty = {p.ptr, 0};
    const uint8_t *q = p.len ? memchr(p.ptr, '?', p.len) : NULL;
    if (!q) return empty;
    ws_bytes out = {q + 1, p.len - (size_t)(q + 1 - p.ptr)};
    return out;
}

int ws_request_header(const ws_request *req, const char *name, ws_bytes *out) {
    for (size_t i = 0; i < req->header_count; i++) {
        if (ieq(req->headers[i].name, name)) {
            *out = req->headers[i].value;
            return 1;
        }
    }
    return 0;
}

int ws_request_param(const ws_request *req, const char *name, ws_bytes *out) {
    for (size_t i = 0; i < req->param_count; i++) {
        if (ws_bytes_eq(req->params[i].name, name)) {
            *out = req->params[i].value;
            return 1;
        }
    }
    return 0;
}

/* ---- responses ------------------------------------------------------------------ */

typedef struct {
    uint8_t *ptr;
    size_t len, cap;
} growbuf;

static void gb_put(growbuf *g, const void *data, size_t n) {
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        while (cap < g->len + n) cap *= 2;
        g->ptr = xrealloc(g->ptr, cap);
        g->cap = cap;
    }
    if (n) memcpy(g->ptr + g->len, data, n);
    g->len += n;
}

static void gb_u32(growbuf *g, uint32_t v) {
    uint8_t b[4];
    wr32(b, v);
    gb_put(g, b, 4);
}

static void gb_bytes(growbuf *g, const void *data, size_t n) {
    gb_u32(g, (uint32_t)n);
    gb_put(g, data, n);
}

struct ws_response {
    int status;
    uint32_t header_count;
    growbuf headers; /* already encoded name/value pairs */
    growbuf body;
};

ws_response *ws_response_new(int status) {
    ws_response *res = xrealloc(NULL, sizeof *res);
    memset(res, 0, sizeof *res);
    res->status = status;
    return res;
}

void ws_response_set_status(ws_response *res, int status) { res->status = status; }

void ws_response_header_bytes(ws_response *res, ws_bytes name, ws_bytes value) {
    gb_bytes(&res->headers, name.ptr, name.len);
    gb_bytes(&res->headers, value.ptr, value.len);
    res->header_count++;
}

void ws_response_header(ws_response *res, const char *name, const char *value) {
    ws_bytes n = {(const uint8_t *)name, strlen(name)}, v = {(const uint8_t *)value, strlen(value)};
    ws_response_header_bytes(res, n, v);
}

void ws_response_write(ws_response *res, const void *data, size_t len) { gb_put(&res->body, data, len); }

void ws_response_text(ws_response *res, const char *text) { gb_put(&res->body, text, strlen(text)); }

void ws_response_printf(ws_response *res, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        gb_put(&res->body, small, (size_t)n);
        return;
    }
    char *big = xrealloc(NULL, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    gb_put(&res->body, big, (size_t)n);
    free(big);
}

ws_response *ws_response_plain(int status, const char *text) {
    ws_response *res = ws_response_new(status);
    ws_response_header(res, "content-type", "text/plain; charset=utf-8");
    ws_response_text(res, text);
    return res;
}

void ws_response_free(ws_response *res) {
    if (!res) return;
    free(res->headers.ptr);
    free(res->body.ptr);
    free(res);
}

uint8_t *ws_encode_response(const ws_response *res, size_t *len) {
    growbuf g = {0, 0, 0};
    gb_u32(&g, (uint32_t)res->status);
    gb_u32(&g, 0);
    gb_u32(&g, res->header_count);
    gb_put(&g, res->headers.ptr, res->headers.len);
    gb_bytes(&g, res->body.ptr, res->body.len);
    *len = g.len;
    return g.ptr;
}

void ws_buf_free(ws_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
}

void ws_kv_keys_free(ws_buf *keys, size_t count) {
    for (size_t i = 0; i < count; i++) free(keys[i].ptr);
    free(keys);
}

void ws_http_response_free(ws_http_response *res) {
    free(res->headers);
    ws_buf_free(&res->raw);
    res->headers = NULL;
    res->header_count = 0;
}

/* ---- host calls (wasm only) ------------------------------------------------------ */

static char ws__error[512];

const char *ws_last_error(void) { return ws__error; }

#ifdef __wasm__

#define IMPORT(name) __attribute__((import_module("wasm_server"), import_name(#name)))

IMPORT(result_read) int32_t ws__result_read(uint8_t *ptr, int32_t len);
IMPORT(log) void ws__log(int32_t level, const char *ptr, int32_t len);
IMPORT(var_get) int64_t ws__var_get(const char *ptr, int32_t len);
IMPORT(kv_get) int64_t ws__kv_get(const char *s, int32_t sl, const void *k, int32_t kl);
IMPORT(kv_set) int32_t ws__kv_set(const char *s, int32_t sl, const void *k, int32_t kl, const void *v, int32_t vl);
IMPORT(kv_delete) int32_t ws__kv_delete(const char *s, int32_t sl, const void *k, int32_t kl);
IMPORT(kv_exists) int32_t ws__kv_exists(const char *s, int32_t sl, const void *k, int32_t kl);
IMPORT(kv_keys) int64_t ws__kv_keys(const char *s, int32_t sl, const void *p, int32_t pl);
IMPORT(kv_incr) int32_t ws__kv_incr(const char *s, int32_t sl, const void *k, int32_t kl, int64_t d, int64_t *out);
IMPORT(http_send) int64_t ws__http_send(const uint8_t *ptr, int32_t len);
IMPORT(conn_send) int32_t ws__conn_send(int32_t conn, const void *p, int32_t len);
IMPORT(ws_send) int32_t ws__ws_send(int32_t conn, int32_t flags, const void *p, int32_t len);
IMPORT(conn_close) int32_t ws__conn_close(int32_t conn, int32_t code, const char *p, int32_t len);
IMPORT(conn_peer) int64_t ws__conn_peer(int32_t conn);
IMPORT(udp_send) int32_t ws__udp_send(int32_t sock, const uint8_t *pp, int32_t pl, const void *dp, int32_t dl);
IMPORT(publish) int32_t ws__publish(const char *c, int32_t cl, const void *p, int32_t len);
IMPORT(subscribe) int32_t ws__subscribe(int32_t conn, const char *c, int32_t cl);
IMPORT(sleep_ms) int32_t ws__sleep_ms(int32_t ms);
IMPORT(stream_start) int32_t ws__stream_start(const uint8_t *p, int32_t len);
IMPORT(stream_write) int32_t ws__stream_write(const void *p, int32_t len);
IMPORT(tcp_connect) int64_t ws__tcp_connect(const char *h, int32_t hl, int32_t port);
IMPORT(udp_connect) int64_t ws__udp_connect(const char *h, int32_t hl, int32_t port);
IMPORT(sock_send) int32_t ws__sock_send(int32_t s, const void *p, int32_t len);
IMPORT(sock_recv) int64_t ws__sock_recv(int32_t s, int32_t max, int32_t timeout_ms);
IMPORT(sock_close) int32_t ws__sock_close(int32_t s);

/* Record the message of a failed call; returns the code. */
static int fail(int64_t code) {
    int32_t n = ws__result_read((uint8_t *)ws__error, (int32_t)sizeof ws__error - 1);
    if (n > (int32_t)sizeof ws__error - 1) n = (int32_t)sizeof ws__error - 1;
    ws__error[n < 0 ? 0 : n] = 0;
    if (code == WS_NOT_FOUND && n <= 0) strcpy(ws__error, "not found");
    return (int)code;
}

/* Copy a result of `len` bytes out of the slot into a new NUL-terminated buffer. */
static void take(int64_t len, ws_buf *out) {
    out->ptr = xrealloc(NULL, (size_t)len + 1);
    ws__result_read(out->ptr, (int32_t)len);
    out->ptr[len] = 0;
    out->len = (size_t)len;
}

void ws_log(int level, const char *message) { ws__log(level, message, (int32_t)strlen(message)); }

void ws_logf(int level, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ws_log(level, line);
}

int ws_var_get(const char *name, ws_buf *out) {
    int64_t n = ws__var_get(name, (int32_t)strlen(name));
    if (n < 0) return fail(n);
    take(n, out);
    return WS_OK;
}

#define STORE(s) s, (int32_t)strlen(s)

int ws_kv_get(const char *store, const void *key, size_t key_len, ws_buf *out) {
    int64_t n = ws__kv_get(STORE(store), key, (int32_t)key_len);
    if (n < 0) return fail(n);
    take(n, out);
    return WS_OK;
}

int ws_kv_set(const char *store, const void *key, size_t key_len, const void *value, size_t value_len) {
    int32_t rc = ws__kv_set(STORE(store), key, (int32_t)key_len, value, (int32_t)value_len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_kv_delete(const char *store, const void *key, size_t key_len) {
    int32_t rc = ws__kv_delete(STORE(store), key, (int32_t)key_len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_kv_exists(const char *store, const void *key, size_t key_len) {
    int32_t rc = ws__kv_exists(STORE(store), key, (int32_t)key_len);
    return rc < 0 ? fail(rc) : rc;
}

int ws_kv_keys(const char *store, const void *prefix, size_t prefix_len, ws_buf **keys, size_t *count) {
    *keys = NULL;
    *count = 0;
    int64_t n = ws__kv_keys(STORE(store), prefix, (int32_t)prefix_len);
    if (n < 0) return fail(n);
    ws_buf raw;
    take(n, &raw);
    reader r = {raw.ptr, raw.len, 0, 0};
    uint32_t c = r_u32(&r);
    ws_buf *list = c ? xrealloc(NULL, c * sizeof(ws_buf)) : NULL;
    for (uint32_t i = 0; i < c && !r.bad; i++) {
        ws_bytes k = r_bytes(&r);
        list[i].ptr = xrealloc(NULL, k.len + 1);
        if (k.len) memcpy(list[i].ptr, k.ptr, k.len);
        list[i].ptr[k.len] = 0;
        list[i].len = k.len;
        *count = i + 1;
    }
    ws_buf_free(&raw);
    *keys = list;
    return WS_OK;
}

int ws_kv_incr(const char *store, const void *key, size_t key_len, int64_t delta, int64_t *out) {
    int32_t rc = ws__kv_incr(STORE(store), key, (int32_t)key_len, delta, out);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_http_send(const ws_http_request *req, ws_http_response *out) {
    growbuf g = {0, 0, 0};
    memset(out, 0, sizeof *out);
    gb_u32(&g, 0);
    gb_bytes(&g, req->method, strlen(req->method));
    gb_bytes(&g, req->url, strlen(req->url));
    gb_u32(&g, (uint32_t)req->header_count);
    for (size_t i = 0; i < req->header_count; i++) {
        gb_bytes(&g, req->headers[i].name.ptr, req->headers[i].name.len);
        gb_bytes(&g, req->headers[i].value.ptr, req->headers[i].value.len);
    }
    gb_bytes(&g, req->body.ptr, req->body.len);
    int64_t n = ws__http_send(g.ptr, (int32_t)g.len);
    free(g.ptr);
    if (n < 0) return fail(n);
    take(n, &out->raw);
    if (ws_decode_response(out->raw.ptr, out->raw.len, out) != WS_OK) {
        ws_buf_free(&out->raw);
        strcpy(ws__error, "host returned a malformed response");
        return WS_INVALID;
    }
    return WS_OK;
}

int ws_tcp_connect(const char *host, uint16_t port, int32_t *sock) {
    int64_t h = ws__tcp_connect(host, (int32_t)strlen(host), port);
    if (h < 0) return fail(h);
    *sock = (int32_t)h;
    return WS_OK;
}

int ws_udp_connect(const char *host, uint16_t port, int32_t *sock) {
    int64_t h = ws__udp_connect(host, (int32_t)strlen(host), port);
    if (h < 0) return fail(h);
    *sock = (int32_t)h;
    return WS_OK;
}

int ws_sock_send(int32_t sock, const void *data, size_t len) {
    int32_t rc = ws__sock_send(sock, data, (int32_t)len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_sock_recv(int32_t sock, void *buf, size_t cap, int timeout_ms, size_t *n) {
    int64_t got = ws__sock_recv(sock, (int32_t)cap, timeout_ms);
    *n = 0;
    if (got < 0) return fail(got);
    ws__result_read(buf, (int32_t)got);
    *n = (size_t)got;
    return WS_OK;
}

int ws_sock_close(int32_t sock) {
    int32_t rc = ws__sock_close(sock);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_conn_send(uint32_t conn, const void *data, size_t len) {
    int32_t rc = ws__conn_send((int32_t)conn, data, (int32_t)len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_conn_close(uint32_t conn) {
    int32_t rc = ws__conn_close((int32_t)conn, 1000, "", 0);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_conn_peer(uint32_t conn, ws_buf *out) {
    int64_t n = ws__conn_peer((int32_t)conn);
    if (n < 0) return fail(n);
    take(n, out);
    return WS_OK;
}

int ws_udp_send(uint32_t socket, ws_bytes peer, const void *data, size_t len) {
    int32_t rc = ws__udp_send((int32_t)socket, peer.ptr, (int32_t)peer.len, data, (int32_t)len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_websocket_send(uint32_t conn, int binary, const void *data, size_t len) {
    int32_t rc = ws__ws_send((int32_t)conn, binary ? 1 : 0, data, (int32_t)len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_websocket_close(uint32_t conn, int code, const char *reason) {
    int32_t rc = ws__conn_close((int32_t)conn, code, reason, (int32_t)strlen(reason));
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_publish(const char *channel, const void *data, size_t len) {
    int32_t rc = ws__publish(channel, (int32_t)strlen(channel), data, (int32_t)len);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_subscribe(uint32_t conn, const char *channel) {
    int32_t rc = ws__subscribe((int32_t)conn, channel, (int32_t)strlen(channel));
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_sleep_ms(uint32_t ms) {
    int32_t rc = ws__sleep_ms((int32_t)ms);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_stream_start(int status, const ws_pair *headers, size_t header_count) {
    growbuf g = {0, 0, 0};
    gb_u32(&g, (uint32_t)status);
    gb_u32(&g, 0);
    gb_u32(&g, (uint32_t)header_count);
    for (size_t i = 0; i < header_count; i++) {
        gb_bytes(&g, headers[i].name.ptr, headers[i].name.len);
        gb_bytes(&g, headers[i].value.ptr, headers[i].value.len);
    }
    gb_u32(&g, 0); /* empty body: it follows through ws_stream_write */
    int32_t rc = ws__stream_start(g.ptr, (int32_t)g.len);
    free(g.ptr);
    return rc < 0 ? fail(rc) : WS_OK;
}

int ws_stream_write(const void *data, size_t len) {
    int32_t rc = ws__stream_write(data, (int32_t)len);
    return rc < 0 ? fail(rc) : WS_OK;
}

/* The response of a handler whose body was streamed: flags bit 0 tells the
   host the head and body are already on their way. */
static int ws__streamed_marker;
ws_response *ws_response_streamed(void) { return (ws_response *)&ws__streamed_marker; }

/* ---- exports ------------------------------------------------------------------------ */

ws_handler ws__http_handler = 0;
ws_tcp_handlers ws__tcp = {0, 0, 0};
ws_websocket_handlers ws__websocket = {0, 0, 0};
ws_udp_handler ws__udp = 0;
static uint8_t *last_response = 0;
static uint8_t streamed_response[16] = {200, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

/* Decode the connection events (docs/abi.md, kinds 2–8). */
static int64_t connection_event(int32_t kind, const uint8_t *ptr, size_t len) {
    reader r = {ptr, len, 0, 0};
    uint32_t id = r_u32(&r);
    if (r.bad) return -1;
    switch (kind) {
    case 2: { /* TCP_CONNECT */
        ws_bytes peer = r_bytes(&r), local = r_bytes(&r);
        return ws__tcp.on_connect ? ws__tcp.on_connect(id, peer, local) : 0;
    }
    case 3: { /* TCP_DATA */
        ws_bytes data = r_bytes(&r);
        return ws__tcp.on_data ? ws__tcp.on_data(id, data) : 0;
    }
    case 4: /* TCP_CLOSE */
        if (ws__tcp.on_close) ws__tcp.on_close(id);
        return 0;
    case 5: { /* UDP_DATAGRAM */
        ws_bytes peer = r_bytes(&r), data = r_bytes(&r);
        if (ws__udp) ws__udp(id, peer, data);
        return 0;
    }
    case 6: { /* WS_OPEN: conn id, then a request encoding */
        ws_request req;
        if (ws_decode_request(ptr + 4, len - 4, &req) != WS_OK) return -1;
        int rc = ws__websocket.on_open ? ws__websocket.on_open(id, &req) : 0;
        ws_request_release(&req);
        return rc;
    }
    case 7: { /* WS_MESSAGE */
        uint32_t flags = r_u32(&r);
        ws_bytes data = r_bytes(&r);
        return ws__websocket.on_message ? ws__websocket.on_message(id, (int)(flags & 1), data) : 0;
    }
    case 8: { /* WS_CLOSE */
        uint32_t code = r_u32(&r);
        ws_bytes reason = r_bytes(&r);
        if (ws__websocket.on_close) ws__websocket.on_close(id, (int)code, reason);
        return 0;
    }
    }
    return -1;
}

__attribute__((export_name("wasm_server_abi_version"))) int32_t wasm_server_abi_version(void) {
    return WS_ABI_VERSION;
}

__attribute__((export_name("wasm_server_alloc"))) void *wasm_server_alloc(int32_t size) {
    return malloc(size > 0 ? (size_t)size : 1);
}

/* The optional reusable request buffer (docs/abi.md): the host writes most
   events here and skips a call to wasm_server_alloc. Never freed by handle. */
static uint8_t *request_buffer = 0;
static size_t request_capacity = 0;

__attribute__((export_name("wasm_server_request_buffer"))) void *wasm_server_request_buffer(int32_t size) {
    size_t want = size > 0 ? (size_t)size : 1;
    if (want > request_capacity) {
        free(request_buffer);
        request_buffer = malloc(want);
        request_capacity = request_buffer ? want : 0;
    }
    return request_buffer;
}

static void release_payload(uint8_t *ptr) {
    if (ptr != request_buffer) free(ptr);
}

static int64_t handle_event(int32_t kind, uint8_t *ptr, int32_t len);

/* Guest stdout/stderr reach the server log through WASI as lines; a reactor
   never exits, so whatever stdio still buffers when an event ends (a printf
   without a newline) would wait for a later event or be lost with the
   instance: flush it before returning to the host. */
__attribute__((export_name("wasm_server_handle"))) int64_t wasm_server_handle(int32_t kind, uint8_t *ptr, int32_t len) {
    int64_t rc = handle_event(kind, ptr, len);
    fflush(stdout);
    fflush(stderr);
    return rc;
}

static int64_t handle_event(int32_t kind, uint8_t *ptr, int32_t len) {
    free(last_response); /* the host has copied it by now */
    last_response = 0;
    if (kind != 1) {
        int64_t rc = connection_event(kind, ptr, (size_t)(len > 0 ? len : 0));
        release_payload(ptr);
        return rc;
    }
    if (!ws__http_handler) {
        release_payload(ptr);
        return -1;
    }
    ws_request req;
    if (ws_decode_request(ptr, (size_t)len, &req) != WS_OK) {
        release_payload(ptr);
        return -1;
    }
    ws_response *res = ws__http_handler(&req);
    ws_request_release(&req);
    release_payload(ptr);
    if (res == ws_response_streamed()) {
        return ((int64_t)(uintptr_t)streamed_response << 32) | (int64_t)sizeof streamed_response;
    }
    if (!res) res = ws_response_plain(500, "handler returned no response\n");
    size_t out_len;
    last_response = ws_encode_response(res, &out_len);
    ws_response_free(res);
    return ((int64_t)(uintptr_t)last_response << 32) | (int64_t)out_len;
}

#else /* native builds (tests): host calls are unavailable */

void ws_log(int level, const char *message) { fprintf(stderr, "[%d] %s\n", level, message); }
void ws_logf(int level, const char *fmt, ...) {
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#endif
