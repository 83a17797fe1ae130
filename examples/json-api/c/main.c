/* A small JSON API over the KV store in C, parsing with jsmn (Debian's
 * libjsmn-dev: a header-only JSON tokenizer in /usr/include, reached with
 * -I/usr/include):
 *
 *   GET /items?name=SUBSTRING&limit=N   the items, oldest first, optionally filtered
 *   GET /items/{id}                     one item, or 404
 *   POST /items  {"name": "...", "price_cents": 350, "tags": ["..."]}
 *                                       201 and the item; 400 for a body that is not
 *                                       that JSON, 422 for a name out of range
 *   DELETE /items/{id}                  204, or 404
 *
 * Every error is JSON too: {"error": "..."}. Paths are matched on path_info, so the
 * API works alone and mounted under a prefix. Items are stored as their JSON. */
#define JSMN_STATIC /* its functions in this file, no library to link */
#define JSMN_STRICT /* primitives only where JSON allows them */
#include <jsmn.h>

#include "wasm_server.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE "default"
#define MAX_NAME 100

/* ---- a growable text buffer ------------------------------------------------------ */

typedef struct {
    char *ptr;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->ptr = realloc(t->ptr, t->cap);
        if (!t->ptr) abort();
    }
    memcpy(t->ptr + t->len, s, n);
    t->len += n;
    t->ptr[t->len] = 0;
}

static void putf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(text *t, const char *fmt, ...) {
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n > 0) put(t, small, (size_t)n < sizeof small ? (size_t)n : sizeof small - 1);
}

/* `s` as a JSON string: quotes and escapes. */
static void put_string(text *t, const char *s, size_t n) {
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(t, esc, 2);
        } else if (c < 0x20) {
            putf(t, "\\u%04x", c);
        } else {
            put(t, &s[i], 1);
        }
    }
    put(t, "\"", 1);
}

/* ---- responses ----------------------------------------------------------------------- */

/* A JSON response with t's text as body (t is freed). */
static ws_response *json(int status, text *t) {
    ws_response *res = ws_response_new(status);
    ws_response_header(res, "content-type", "application/json");
    ws_response_write(res, t->ptr, t->len);
    free(t->ptr);
    return res;
}

static ws_response *error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ws_response *error(int status, const char *fmt, ...) {
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    text t = {0, 0, 0};
    put(&t, "{\"error\":", 9);
    put_string(&t, message, strlen(message));
    put(&t, "}", 1);
    return json(status, &t);
}

static ws_response *store_failed(void) {
    ws_logf(WS_ERROR, "kv store: %s", ws_last_error());
    return error(500, "the store failed");
}

/* ---- JSON in (jsmn) -------------------------------------------------------------------- */

typedef struct {
    const char *js;
    jsmntok_t *tok;
    int count;
} parsed;

/* Tokenize `js`: 0 and *out filled (free out->tok), or -1 when it is not one JSON value. */
static int parse(const char *js, size_t len, parsed *out) {
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, NULL, 0); /* a first pass counts the tokens */
    if (n < 1) return -1;
    out->tok = malloc(sizeof(jsmntok_t) * (size_t)n);
    if (!out->tok) abort();
    jsmn_init(&p);
    out->count = jsmn_parse(&p, js, len, out->tok, (unsigned)n);
    out->js = js;
    size_t end = (size_t)out->tok[0].end;
    if (out->count != n || strspn(js + end, " \t\r\n") < len - end) { /* something after the value */
        free(out->tok);
        return -1;
    }
    return 0;
}

/* The token after token i and everything inside it. */
static int skip(const parsed *p, int i) {
    int end = p->tok[i].end;
    for (i++; i < p->count && p->tok[i].start < end; i++) {
    }
    return i;
}

static int is_key(const parsed *p, int i, const char *key) {
    size_t n = strlen(key);
    return p->tok[i].type == JSMN_STRING && (size_t)(p->tok[i].end - p->tok[i].start) == n &&
           memcmp(p->js + p->tok[i].start, key, n) == 0;
}

static int hex4(const char *s, uint32_t *out) {
    *out = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return -1;
        *out = (*out << 4) | (uint32_t)v;
    }
    return 0;
}

static size_t utf8(uint32_t c, char *buf) {
    if (c < 0x80) return buf[0] = (char)c, 1;
    if (c < 0x800) return buf[0] = (char)(0xc0 | (c >> 6)), buf[1] = (char)(0x80 | (c & 0x3f)), 2;
    if (c < 0x10000) {
        buf[0] = (char)(0xe0 | (c >> 12));
        buf[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        buf[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    buf[0] = (char)(0xf0 | (c >> 18));
    buf[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    buf[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    buf[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Decode the JSON string token i into *out; -1 when it is not a valid JSON string. */
static int unescape(const parsed *p, int i, text *out) {
    static const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *s = p->js + p->tok[i].start, *end = p->js + p->tok[i].end;
    put(out, "", 0);
    while (s < end) {
        uint32_t c = (unsigned char)*s++;
        if (c < 0x20) return -1;
        if (c != '\\') { /* UTF-8 bytes pass through as they are */
            char byte = (char)c;
            put(out, &byte, 1);
            continue;
        }
        {
            const char *plain = s < end && *s ? strchr(from, *s) : NULL;
            if (plain) {
                c = (unsigned char)to[plain - from];
                s++;
            } else if (s < end && *s == 'u' && end - s >= 5 && hex4(s + 1, &c) == 0) {
                s += 5;
                uint32_t lo;
                if (c >= 0xd800 && c < 0xdc00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &lo) == 0 &&
                    lo >= 0xdc00 && lo < 0xe000) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;
                }
            } else {
                return -1;
            }
        }
        char buf[4];
        put(out, buf, utf8(c, buf));
    }
    return 0;
}

/* A non-negative integer (no sign, fraction or exponent) that fits in 63 bits. */
static int parse_u64(const char *s, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* ---- the API ------------------------------------------------------------------------------ */

static size_t item_key(char *buf, size_t cap, uint64_t id) {
    return (size_t)snprintf(buf, cap, "item:%llu", (unsigned long long)id);
}

/* `name=` from the query (values are not percent-decoded: enough here). */
static int query_value(const ws_request *req, const char *name, ws_bytes *out) {
    ws_bytes q = ws_request_query(req);
    size_t n = strlen(name);
    const char *s = (const char *)q.ptr, *end = s + q.len;
    while (s && s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - s) > n && memcmp(s, name, n) == 0 && s[n] == '=') {
            out->ptr = (const uint8_t *)s + n + 1;
            out->len = (size_t)(stop - s) - n - 1;
            return 1;
        }
        s = amp ? amp + 1 : NULL;
    }
    return 0;
}

static int by_id(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether a stored item's name contains `part`. */
static int name_contains(const ws_buf *raw, ws_bytes part) {
    parsed p;
    if (parse((const char *)raw->ptr, raw->len, &p) != 0) return 0;
    text name = {0, 0, 0};
    int found = 0;
    for (int i = 1; i < p.count; i = skip(&p, i + 1)) {
        if (is_key(&p, i, "name") && unescape(&p, i + 1, &name) == 0) {
            found = part.len == 0 || memmem(name.ptr, name.len, part.ptr, part.len) != NULL;
        }
    }
    free(name.ptr);
    free(p.tok);
    return found;
}

static ws_response *list(const ws_request *req) {
    ws_bytes limit_text, part;
    uint64_t limit = UINT64_MAX;
    if (query_value(req, "limit", &limit_text) && parse_u64((const char *)limit_text.ptr, limit_text.len, &limit))
        return error(400, "limit must be a number, not \"%.*s\"", (int)limit_text.len, (const char *)limit_text.ptr);
    int filter = query_value(req, "name", &part);
    ws_buf *keys;
    size_t count;
    if (ws_kv_keys(STORE, "item:", 5, &keys, &count) != WS_OK) return store_failed();
    uint64_t *ids = malloc(sizeof(uint64_t) * (count ? count : 1));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (parse_u64((const char *)keys[i].ptr + 5, keys[i].len - 5, &ids[n]) == 0) n++;
    }
    ws_kv_keys_free(keys, count);
    qsort(ids, n, sizeof *ids, by_id);
    text out = {0, 0, 0};
    put(&out, "[", 1);
    uint64_t shown = 0;
    for (size_t i = 0; i < n && shown < limit; i++) {
        char key[32];
        ws_buf raw;
        int rc = ws_kv_get(STORE, key, item_key(key, sizeof key, ids[i]), &raw);
        if (rc == WS_NOT_FOUND) continue; /* deleted meanwhile */
        if (rc != WS_OK) {
            free(ids);
            free(out.ptr);
            return store_failed();
        }
        if (!filter || name_contains(&raw, part)) {
            if (shown++) put(&out, ",", 1);
            put(&out, (const char *)raw.ptr, raw.len);
        }
        ws_buf_free(&raw);
    }
    free(ids);
    put(&out, "]", 1);
    return json(200, &out);
}

/* Check a POST body and write the new item's JSON (without its id) into *fields. */
static ws_response *validate(const ws_request *req, text *name, text *fields) {
    parsed p;
    if (parse((const char *)req->body.ptr, req->body.len, &p) != 0) return error(400, "invalid JSON");
    int at[3] = {-1, -1, -1}; /* name, price_cents, tags */
    static const char *known[3] = {"name", "price_cents", "tags"};
    ws_response *bad = p.tok[0].type == JSMN_OBJECT ? NULL : error(400, "invalid JSON: expected an object");
    for (int i = 1; !bad && i < p.count; i = skip(&p, i + 1)) {
        int k = 0;
        while (k < 3 && !is_key(&p, i, known[k])) k++;
        if (k == 3) bad = error(400, "invalid JSON: unknown field %.*s", p.tok[i].end - p.tok[i].start, p.js + p.tok[i].start);
        else if (at[k] >= 0) bad = error(400, "invalid JSON: duplicate field %s", known[k]);
        else at[k] = i + 1;
    }
    if (!bad && (at[0] < 0 || at[1] < 0)) bad = error(400, "invalid JSON: name and price_cents are required");
    if (!bad && (p.tok[at[0]].type != JSMN_STRING || unescape(&p, at[0], name) != 0))
        bad = error(400, "invalid JSON: name must be a string");
    uint64_t price = 0;
    if (!bad && (p.tok[at[1]].type != JSMN_PRIMITIVE ||
                 parse_u64(p.js + p.tok[at[1]].start, (size_t)(p.tok[at[1]].end - p.tok[at[1]].start), &price)))
        bad = error(400, "invalid JSON: price_cents must be a non-negative integer");
    if (!bad) {
        putf(fields, ",\"name\":");
        put_string(fields, name->ptr, name->len);
        putf(fields, ",\"price_cents\":%llu,\"tags\":[", (unsigned long long)price);
    }
    if (!bad && at[2] >= 0 && p.tok[at[2]].type != JSMN_ARRAY) bad = error(400, "invalid JSON: tags must be an array");
    for (int i = at[2] + 1; !bad && at[2] >= 0 && i < skip(&p, at[2]); i++) {
        text tag = {0, 0, 0};
        if (p.tok[i].type != JSMN_STRING || unescape(&p, i, &tag) != 0) {
            bad = error(400, "invalid JSON: tags must be strings");
        } else {
            if (i > at[2] + 1) put(fields, ",", 1);
            put_string(fields, tag.ptr, tag.len);
        }
        free(tag.ptr);
    }
    put(fields, "]}", 2);
    free(p.tok);
    if (!bad && (name->len > MAX_NAME || strspn(name->ptr, " \t\r\n") == name->len))
        bad = error(422, "name must be 1 to 100 characters");
    return bad;
}

static ws_response *create(const ws_request *req) {
    text name = {0, 0, 0}, fields = {0, 0, 0};
    ws_response *bad = validate(req, &name, &fields);
    int64_t id = 0;
    if (!bad && ws_kv_incr(STORE, "next-id", 7, 1, &id) != WS_OK) bad = store_failed();
    text item = {0, 0, 0};
    char key[32];
    if (!bad) {
        putf(&item, "{\"id\":%lld", (long long)id);
        put(&item, fields.ptr, fields.len);
        if (ws_kv_set(STORE, key, item_key(key, sizeof key, (uint64_t)id), item.ptr, item.len) != WS_OK)
            bad = store_failed();
    }
    if (bad) {
        free(name.ptr);
        free(fields.ptr);
        free(item.ptr);
        return bad;
    }
    ws_logf(WS_INFO, "created item %lld", (long long)id);
    printf("item %lld is \"%s\"\n", (long long)id, name.ptr); /* stdout reaches the server log too */
    free(name.ptr);
    free(fields.ptr);
    ws_response *res = json(201, &item);
    char location[256];
    snprintf(location, sizeof location, "%.*s/items/%lld", (int)req->base.len, (const char *)req->base.ptr,
             (long long)id);
    ws_response_header(res, "location", location);
    return res;
}

static ws_response *one(const ws_request *req, ws_bytes raw_id) {
    uint64_t id;
    if (parse_u64((const char *)raw_id.ptr, raw_id.len, &id))
        return error(404, "no item \"%.*s\"", (int)raw_id.len, (const char *)raw_id.ptr);
    char key[32];
    size_t key_len = item_key(key, sizeof key, id);
    ws_buf raw;
    int rc = ws_kv_get(STORE, key, key_len, &raw);
    if (rc == WS_NOT_FOUND) return error(404, "no item %llu", (unsigned long long)id);
    if (rc != WS_OK) return store_failed();
    if (ws_bytes_eq(req->method, "DELETE")) {
        ws_buf_free(&raw);
        if (ws_kv_delete(STORE, key, key_len) != WS_OK) return store_failed();
        fprintf(stderr, "deleted item %llu\n", (unsigned long long)id); /* and so does stderr */
        return ws_response_new(204);
    }
    text t = {0, 0, 0};
    put(&t, (const char *)raw.ptr, raw.len);
    ws_buf_free(&raw);
    return json(200, &t);
}

static ws_response *not_allowed(const ws_request *req, const char *allow) {
    ws_response *res = error(405, "%.*s is not allowed here", (int)req->method.len, (const char *)req->method.ptr);
    ws_response_header(res, "allow", allow);
    return res;
}

static ws_response *handle(const ws_request *req) {
    ws_bytes path = req->path_info, id;
    int get = ws_bytes_eq(req->method, "GET") || ws_bytes_eq(req->method, "HEAD");
    if (ws_bytes_eq(path, "/items")) {
        if (get) return list(req);
        if (ws_bytes_eq(req->method, "POST")) return create(req);
        return not_allowed(req, "GET, POST");
    }
    if (path.len > 7 && memcmp(path.ptr, "/items/", 7) == 0 && !memchr(path.ptr + 7, '/', path.len - 7)) {
        id.ptr = path.ptr + 7;
        id.len = path.len - 7;
        if (get || ws_bytes_eq(req->method, "DELETE")) return one(req, id);
        return not_allowed(req, "GET, DELETE");
    }
    return error(404, "no route for %.*s", (int)path.len, (const char *)path.ptr);
}

WASM_SERVER_HTTP(handle)
