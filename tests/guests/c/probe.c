/* A test guest that exercises every host capability through the C SDK.
   GET /kv/set?k=v, /kv/get?k, /kv/exists?k, /kv/delete?k, /kv/keys?prefix,
   /kv/incr?k, /kv/other?k (an undeclared store), /var?name, /fetch?url, /log?text,
   /env (the environment it sees), /read?path, /write?path (the sandbox),
   /print?text (a line on stdout and one on stderr), /flood?n (n 100-byte lines on stderr) */
#include "wasm_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static char *cstr(ws_bytes b) {
    char *s = malloc(b.len + 1);
    memcpy(s, b.ptr, b.len);
    s[b.len] = 0;
    return s;
}

static ws_response *error(int rc) {
    ws_response *res = ws_response_plain(200, "");
    ws_response_printf(res, "error %d: %s\n", rc, ws_last_error());
    return res;
}

static ws_response *probe(const ws_request *req) {
    char *path = cstr(req->path_info);
    char *q = cstr(ws_request_query(req));
    char *val = strchr(q, '=');
    if (val) *val++ = 0;
    ws_response *res = NULL;
    int rc = 0;
    ws_bytes id;
    if (ws_request_param(req, "id", &id)) { /* routed through "/users/{id}/..." */
        res = ws_response_plain(200, "");
        ws_response_printf(res, "route=%.*s base=%.*s path_info=%.*s id=%.*s params=%zu\n",
                           (int)req->route.len, (const char *)req->route.ptr, (int)req->base.len,
                           (const char *)req->base.ptr, (int)req->path_info.len, (const char *)req->path_info.ptr,
                           (int)id.len, (const char *)id.ptr, req->param_count);
    } else if (!strcmp(path, "/kv/set")) {
        rc = ws_kv_set("default", q, strlen(q), val ? val : "", val ? strlen(val) : 0);
        res = rc ? error(rc) : ws_response_plain(200, "ok\n");
    } else if (!strcmp(path, "/kv/get")) {
        ws_buf v;
        rc = ws_kv_get("default", q, strlen(q), &v);
        if (rc) res = error(rc);
        else { res = ws_response_plain(200, ""); ws_response_write(res, v.ptr, v.len); ws_buf_free(&v); }
    } else if (!strcmp(path, "/kv/exists")) {
        rc = ws_kv_exists("default", q, strlen(q));
        res = ws_response_plain(200, "");
        ws_response_printf(res, "%d\n", rc);
    } else if (!strcmp(path, "/kv/delete")) {
        rc = ws_kv_delete("default", q, strlen(q));
        res = rc ? error(rc) : ws_response_plain(200, "ok\n");
    } else if (!strcmp(path, "/kv/incr")) {
        int64_t n;
        rc = ws_kv_incr("default", q, strlen(q), val ? atoll(val) : 1, &n);
        if (rc) res = error(rc);
        else { res = ws_response_plain(200, ""); ws_response_printf(res, "%lld\n", (long long)n); }
    } else if (!strcmp(path, "/kv/keys")) {
        ws_buf *keys;
        size_t count;
        rc = ws_kv_keys("default", q, strlen(q), &keys, &count);
        if (rc) res = error(rc);
        else {
            res = ws_response_plain(200, "");
            for (size_t i = 0; i < count; i++) ws_response_printf(res, "%s\n", (char *)keys[i].ptr);
            ws_kv_keys_free(keys, count);
        }
    } else if (!strcmp(path, "/kv/other")) {
        ws_buf v;
        rc = ws_kv_get("other", q, strlen(q), &v);
        res = rc ? error(rc) : ws_response_plain(200, "unexpectedly allowed\n");
    } else if (!strcmp(path, "/var")) {
        ws_buf v;
        rc = ws_var_get(q, &v);
        if (rc) res = error(rc);
        else { res = ws_response_plain(200, (char *)v.ptr); ws_buf_free(&v); }
    } else if (!strcmp(path, "/fetch")) {
        ws_http_request out = {"GET", q, 0, NULL, {NULL, 0}};
        ws_http_response got;
        rc = ws_http_send(&out, &got);
        if (rc) res = error(rc);
        else {
            res = ws_response_plain(200, "");
            ws_response_printf(res, "status %d\n", got.status);
            ws_response_write(res, got.body.ptr, got.body.len);
            ws_http_response_free(&got);
        }
    } else if (!strcmp(path, "/tcp") || !strcmp(path, "/udp")) {
        /* q = host:port; send "ping" and answer what came back */
        char *colon = strrchr(q, ':');
        int32_t sock;
        if (!colon) return free(path), free(q), ws_response_plain(400, "host:port\n");
        *colon = 0;
        rc = (path[1] == 't' ? ws_tcp_connect : ws_udp_connect)(q, (uint16_t)atoi(colon + 1), &sock);
        if (rc) res = error(rc);
        else {
            char buf[256];
            size_t n = 0;
            rc = ws_sock_send(sock, "ping\r\n\r\n", 8);
            if (!rc) rc = ws_sock_recv(sock, buf, sizeof buf, 2000, &n);
            if (rc) res = error(rc);
            else { res = ws_response_plain(200, "got "); ws_response_write(res, buf, n); }
            ws_sock_close(sock);
        }
    } else if (!strcmp(path, "/env")) {
        res = ws_response_plain(200, "");
        size_t n = 0;
        for (char **e = environ; e && *e; e++, n++) ws_response_printf(res, "%s\n", *e);
        ws_response_printf(res, "%zu variables\n", n);
    } else if (!strcmp(path, "/read") || !strcmp(path, "/write")) {
        FILE *f = fopen(q, path[1] == 'r' ? "r" : "w");
        if (!f) {
            res = ws_response_plain(200, "");
            ws_response_printf(res, "cannot open %s: %s\n", q, strerror(errno));
        } else if (path[1] == 'r') {
            char buf[512];
            size_t n = fread(buf, 1, sizeof buf, f);
            res = ws_response_plain(200, "read: ");
            ws_response_write(res, buf, n);
            fclose(f);
        } else {
            int ok = fputs("written by the guest\n", f) >= 0;
            ok = (fclose(f) == 0) && ok;
            res = ws_response_plain(200, ok ? "wrote\n" : "write failed\n");
        }
    } else if (!strcmp(path, "/print")) {
        printf("stdout says %s\n", q);
        fflush(stdout);
        fprintf(stderr, "stderr says %s\n", q);
        res = ws_response_plain(200, "printed\n");
    } else if (!strcmp(path, "/flood")) {
        /* q = number of 100-byte lines to write to stderr */
        for (int i = 0, n = atoi(q); i < n; i++) fprintf(stderr, "flood %05d %087d\n", i, 0);
        res = ws_response_plain(200, "flooded\n");
    } else if (!strcmp(path, "/log")) {
        ws_logf(WS_WARN, "probe says %s", q);
        res = ws_response_plain(200, "logged\n");
    } else if (!strcmp(path, "/echo")) {
        res = ws_response_new(200);
        ws_response_printf(res, "%.*s %.*s\n", (int)req->method.len, (const char *)req->method.ptr,
                           (int)req->url.len, (const char *)req->url.ptr);
        for (size_t i = 0; i < req->header_count; i++)
            ws_response_printf(res, "%.*s: %.*s\n", (int)req->headers[i].name.len, (const char *)req->headers[i].name.ptr,
                               (int)req->headers[i].value.len, (const char *)req->headers[i].value.ptr);
        ws_response_write(res, req->body.ptr, req->body.len);
    } else {
        res = ws_response_plain(404, "unknown probe\n");
    }
    free(path);
    free(q);
    return res;
}

WASM_SERVER_HTTP(probe)
