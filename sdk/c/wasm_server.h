/*
 * wasm_server.h — the C SDK of wasm-server (ABI v1, see docs/abi.md).
 *
 * A service implements one function and registers it:
 *
 *     #include "wasm_server.h"
 *
 *     static ws_response *hello(const ws_request *req) {
 *         ws_response *res = ws_response_new(200);
 *         ws_response_header(res, "content-type", "text/plain");
 *         ws_response_text(res, "Hello\n");
 *         return res;
 *     }
 *     WASM_SERVER_HTTP(hello)
 *
 * Build with `wasm-server cc -o app.wasm main.c` (zig cc, wasm32-wasi).
 * Byte strings are (pointer, length) pairs: ws_bytes. Nothing here is
 * NUL-terminated unless it says so. Memory handed to you in a ws_buf is
 * yours: free it with ws_buf_free.
 */
#ifndef WASM_SERVER_H
#define WASM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WS_ABI_VERSION 1

/* Error codes of host calls (docs/abi.md). */
#define WS_OK 0
#define WS_NOT_FOUND (-1)
#define WS_DENIED (-2)
#define WS_TOO_LARGE (-3)
#define WS_INVALID (-4)
#define WS_IO (-5)
#define WS_TIMEOUT (-6)

/* Log levels. */
#define WS_TRACE 0
#define WS_DEBUG 1
#define WS_INFO 2
#define WS_WARN 3
#define WS_ERROR 4

/* A borrowed byte string. */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} ws_bytes;

/* An owned byte buffer (free with ws_buf_free). */
typedef struct {
    uint8_t *ptr;
    size_t len;
} ws_buf;

typedef struct {
    ws_bytes name;
    ws_bytes value;
} ws_pair;

/* An inbound request; valid for the duration of the handler. */
typedef struct ws_request {
    uint32_t flags;
    ws_bytes method, url, route, base, path_info, client;
    size_t param_count;
    ws_pair *params;
    size_t header_count;
    ws_pair *headers; /* names lower-case */
    ws_bytes body;
} ws_request;

typedef struct ws_response ws_response;

/* ---- requests ---------------------------------------------------------- */

/* Compare a ws_bytes with a C string. */
int ws_bytes_eq(ws_bytes b, const char *s);
/* The path part of the URL (before '?'). */
ws_bytes ws_request_path(const ws_request *req);
/* The query part of the URL (after '?', empty if none). */
ws_bytes ws_request_query(const ws_request *req);
/* First header `name` (case-insensitive): 1 and *out set, or 0. */
int ws_request_header(const ws_request *req, const char *name, ws_bytes *out);
/* Route parameter `name`: 1 and *out set, or 0. */
int ws_request_param(const ws_request *req, const char *name, ws_bytes *out);

/* ---- responses --------------------------------------------------------- */

ws_response *ws_response_new(int status);
void ws_response_set_status(ws_response *res, int status);
/* Add a header (copied; duplicates allowed). */
void ws_response_header(ws_response *res, const char *name, const char *value);
void ws_response_header_bytes(ws_response *res, ws_bytes name, ws_bytes value);
/* Append to the body (copied). */
void ws_response_write(ws_response *res, const void *data, size_t len);
void ws_response_text(ws_response *res, const char *text);
void ws_response_printf(ws_response *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A complete text/plain response in one call. */
ws_response *ws_response_plain(int status, const char *text);
void ws_response_free(ws_response *res);

/* ---- host calls ---------------------------------------------------------- */

/* Message of the last failed host call (NUL-terminated, valid until the next call). */
const char *ws_last_error(void);
void ws_buf_free(ws_buf *buf);

void ws_log(int level, const char *message);
void ws_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Manifest variable `name`: WS_OK and *out (NUL-terminated too), or WS_NOT_FOUND. */
int ws_var_get(const char *name, ws_buf *out);

/* Key-value store `store` (declared in key_value_stores). */
int ws_kv_get(const char *store, const void *key, size_t key_len, ws_buf *out);
int ws_kv_set(const char *store, const void *key, size_t key_len, const void *value, size_t value_len);
int ws_kv_delete(const char *store, const void *key, size_t key_len);
/* 1 if present, 0 if not, or an error code. */
int ws_kv_exists(const char *store, const void *key, size_t key_len);
/* Keys starting with prefix: *keys is an array of *count ws_buf; free with ws_kv_keys_free. */
int ws_kv_keys(const char *store, const void *prefix, size_t prefix_len, ws_buf **keys, size_t *count);
void ws_kv_keys_free(ws_buf *keys, size_t count);
/* Atomically add delta (absent = 0); the new value in *out. */
int ws_kv_incr(const char *store, const void *key, size_t key_len, int64_t delta, int64_t *out);

/* Outbound HTTP (allowed_outbound_hosts). */
typedef struct {
    const char *method;   /* "GET" … */
    const char *url;      /* absolute */
    size_t header_count;
    const ws_pair *headers;
    ws_bytes body;
} ws_http_request;

typedef struct {
    int status;
    size_t header_count;
    ws_pair *headers;
    ws_bytes body;
    ws_buf raw; /* owns the memory above */
} ws_http_response;

int ws_http_send(const ws_http_request *req, ws_http_response *out);
void ws_http_response_free(ws_http_response *res);

/* ---- the codec (also compiled natively for tests) ------------------------- */

/* Decode a request encoding in place (pointers refer into buf). 0 on success. */
int ws_decode_request(const uint8_t *buf, size_t len, ws_request *out);
void ws_request_release(ws_request *req);
/* Encode a response: returns a malloc'd buffer and its length in *len. */
uint8_t *ws_encode_response(const ws_response *res, size_t *len);
/* Decode a response encoding (used for outbound responses). 0 on success. */
int ws_decode_response(const uint8_t *buf, size_t len, ws_http_response *out);

/* ---- connections: raw TCP, UDP, WebSockets, pub/sub ----------------------------- */

/* Connection ids are unique within a server process. Each TCP or WebSocket
   connection runs in its own instance for its whole life, so static
   variables are per-connection state. */
typedef struct {
    int (*on_connect)(uint32_t conn, ws_bytes peer, ws_bytes local); /* <0: close */
    int (*on_data)(uint32_t conn, ws_bytes data);                    /* <0: close */
    void (*on_close)(uint32_t conn);
} ws_tcp_handlers;

typedef struct {
    int (*on_open)(uint32_t conn, const ws_request *req);            /* <0: close */
    int (*on_message)(uint32_t conn, int binary, ws_bytes data);     /* <0: close */
    void (*on_close)(uint32_t conn, int code, ws_bytes reason);
} ws_websocket_handlers;

typedef void (*ws_udp_handler)(uint32_t socket, ws_bytes peer, ws_bytes data);

/* Write bytes to a TCP connection (binary message on a WebSocket). */
int ws_conn_send(uint32_t conn, const void *data, size_t len);
/* Close a connection (WebSockets: close code 1000). */
int ws_conn_close(uint32_t conn);
/* The peer address "ip:port" (NUL-terminated). */
int ws_conn_peer(uint32_t conn, ws_buf *out);
/* Reply from UDP listener `socket` to `peer` ("ip:port"). */
int ws_udp_send(uint32_t socket, ws_bytes peer, const void *data, size_t len);
/* Send a WebSocket message (text unless binary). */
int ws_websocket_send(uint32_t conn, int binary, const void *data, size_t len);
/* Close a WebSocket with a close code and reason. */
int ws_websocket_close(uint32_t conn, int code, const char *reason);
/* Publish to a channel: every subscribed connection of this component receives it
   (as a text message on WebSockets, as bytes on TCP) without a guest call each. */
int ws_publish(const char *channel, const void *data, size_t len);
/* Subscribe a connection to a channel (until it closes). */
int ws_subscribe(uint32_t conn, const char *channel);
/* Suspend this guest for `ms` milliseconds (the server keeps serving others). */
int ws_sleep_ms(uint32_t ms);

/* ---- outbound sockets (allowed_outbound_hosts: "tcp://host:port", "udp://host:53") ---- */

/* Connect; *sock is a handle for the calls below. WS_DENIED if not allowed. */
int ws_tcp_connect(const char *host, uint16_t port, int32_t *sock);
/* A UDP socket that sends to and receives from one peer. */
int ws_udp_connect(const char *host, uint16_t port, int32_t *sock);
/* Send bytes (TCP) or one datagram (UDP); waits while the peer is slow. */
int ws_sock_send(int32_t sock, const void *data, size_t len);
/* Receive up to cap bytes into buf; *n = 0 means the TCP peer closed.
   timeout_ms < 0 waits forever; WS_TIMEOUT when it expires. */
int ws_sock_recv(int32_t sock, void *buf, size_t cap, int timeout_ms, size_t *n);
int ws_sock_close(int32_t sock);

/* ---- streaming HTTP responses ------------------------------------------------- */

/* Send status and headers now and stream the body (chunked) with
   ws_stream_write; return ws_response_streamed() from the handler. */
int ws_stream_start(int status, const ws_pair *headers, size_t header_count);
/* Write one chunk; waits while the client is slow (flow control). <0: client gone. */
int ws_stream_write(const void *data, size_t len);
/* The handler's return value after a streamed body. */
ws_response *ws_response_streamed(void);

/* ---- registration ---------------------------------------------------------- */

typedef ws_response *(*ws_handler)(const ws_request *req);
extern ws_handler ws__http_handler;
extern ws_tcp_handlers ws__tcp;
extern ws_websocket_handlers ws__websocket;
extern ws_udp_handler ws__udp;

/* Register raw TCP handlers (any may be NULL). */
#define WASM_SERVER_TCP(connect_fn, data_fn, close_fn) \
    __attribute__((constructor)) static void ws__register_tcp(void) { \
        ws__tcp.on_connect = (connect_fn); ws__tcp.on_data = (data_fn); ws__tcp.on_close = (close_fn); }

/* Register WebSocket handlers for routes marked websocket = true (any may be NULL). */
#define WASM_SERVER_WEBSOCKET(open_fn, message_fn, close_fn) \
    __attribute__((constructor)) static void ws__register_websocket(void) { \
        ws__websocket.on_open = (open_fn); ws__websocket.on_message = (message_fn); \
        ws__websocket.on_close = (close_fn); }

/* Register the UDP datagram handler. */
#define WASM_SERVER_UDP(fn) \
    __attribute__((constructor)) static void ws__register_udp(void) { ws__udp = (fn); }

/* Register the HTTP handler of this module. */
#define WASM_SERVER_HTTP(fn) \
    __attribute__((constructor)) static void ws__register_##fn(void) { ws__http_handler = (fn); }

#ifdef __cplusplus
}
#endif

#endif /* WASM_SERVER_H */
