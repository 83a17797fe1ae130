/* An authoritative DNS server over UDP: A, AAAA and TXT records for names in
   the manifest's variables ("NAME TYPE" = "value") or in the KV store
   (key "dns:NAME TYPE"). Unknown names get NXDOMAIN; known names without
   that type get an empty NOERROR answer; malformed queries get FORMERR. */
#include "wasm_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_A 1
#define T_TXT 16
#define T_AAAA 28
#define TTL 300

/* Read a (possibly compressed) name at *pos into out as "a.b.c"; advances *pos
   past the name in the message. Returns 0 on success, -1 if malformed. */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, char *out, size_t cap) {
    size_t p = *pos, o = 0;
    int jumped = 0, hops = 0;
    for (;;) {
        if (p >= len) return -1;
        uint8_t l = msg[p];
        if ((l & 0xC0) == 0xC0) { /* compression pointer */
            if (p + 1 >= len || ++hops > 16) return -1;
            size_t target = ((size_t)(l & 0x3F) << 8) | msg[p + 1];
            if (!jumped) *pos = p + 2;
            jumped = 1;
            p = target;
            continue;
        }
        if (l & 0xC0) return -1;
        p++;
        if (l == 0) break;
        if (p + l > len || o + l + 2 > cap) return -1;
        if (o) out[o++] = '.';
        for (uint8_t i = 0; i < l; i++) {
            char c = (char)msg[p + i];
            out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        p += l;
    }
    out[o] = 0;
    if (!jumped) *pos = p;
    return 0;
}

static int parse_a(const char *s, uint8_t out[4]) {
    unsigned a, b, c, d;
    char extra;
    if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4 || a > 255 || b > 255 || c > 255 || d > 255) return -1;
    out[0] = (uint8_t)a; out[1] = (uint8_t)b; out[2] = (uint8_t)c; out[3] = (uint8_t)d;
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 4291 text form, "::" allowed once (no embedded IPv4). */
static int parse_aaaa(const char *s, uint8_t out[16]) {
    uint16_t head[8], tail[8];
    int nh = 0, nt = 0, gap = 0;
    const char *p = s;
    if (p[0] == ':' && p[1] == ':') { gap = 1; p += 2; }
    while (*p) {
        int v = 0, digits = 0, h;
        while ((h = hexval(*p)) >= 0 && digits < 5) { v = v * 16 + h; p++; digits++; }
        if (digits == 0 || digits > 4) return -1;
        if (gap) { if (nt == 8) return -1; tail[nt++] = (uint16_t)v; }
        else { if (nh == 8) return -1; head[nh++] = (uint16_t)v; }
        if (*p == ':') {
            p++;
            if (*p == ':') { if (gap) return -1; gap = 1; p++; }
            else if (!*p) return -1;
        } else if (*p) return -1;
    }
    if ((gap && nh + nt > 7) || (!gap && nh != 8)) return -1;
    memset(out, 0, 16);
    for (int i = 0; i < nh; i++) { out[2 * i] = (uint8_t)(head[i] >> 8); out[2 * i + 1] = (uint8_t)head[i]; }
    for (int i = 0; i < nt; i++) {
        int k = 8 - nt + i;
        out[2 * k] = (uint8_t)(tail[i] >> 8); out[2 * k + 1] = (uint8_t)tail[i];
    }
    return 0;
}

/* The record value for (name, type) from variables, then KV; 0 if found. */
static int lookup(const char *name, const char *type, ws_buf *out) {
    char key[300];
    snprintf(key, sizeof key, "%s %s", name, type);
    if (ws_var_get(key, out) == WS_OK) return 0;
    char kv[310];
    int n = snprintf(kv, sizeof kv, "dns:%s", key);
    return ws_kv_get("default", kv, (size_t)n, out) == WS_OK ? 0 : -1;
}

static int name_exists(const char *name) {
    static const char *types[] = {"A", "AAAA", "TXT"};
    for (int i = 0; i < 3; i++) {
        ws_buf b;
        if (lookup(name, types[i], &b) == 0) { ws_buf_free(&b); return 1; }
    }
    return 0;
}

static size_t put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return 2; }

static void reply_error(uint32_t sock, ws_bytes peer, const uint8_t *q, size_t qlen, int rcode) {
    uint8_t out[12] = {0};
    if (qlen >= 2) { out[0] = q[0]; out[1] = q[1]; }
    out[2] = (uint8_t)(0x80 | (qlen > 2 ? (q[2] & 0x79) : 0)); /* QR, opcode, RD */
    out[3] = (uint8_t)rcode;
    ws_udp_send(sock, peer, out, sizeof out);
}

static void on_datagram(uint32_t sock, ws_bytes peer, ws_bytes data) {
    const uint8_t *q = data.ptr;
    size_t len = data.len, pos = 12;
    if (len < 12) return;                     /* not even a header: nothing to answer */
    if (q[2] & 0x80) return;                  /* a response, not a query */
    int opcode = (q[2] >> 3) & 0xF;
    if (opcode != 0) { reply_error(sock, peer, q, len, 4); return; }             /* NOTIMP */
    if (((q[4] << 8) | q[5]) != 1) { reply_error(sock, peer, q, len, 1); return; } /* FORMERR */
    char name[256];
    if (read_name(q, len, &pos, name, sizeof name) != 0 || pos + 4 > len) { reply_error(sock, peer, q, len, 1); return; }
    unsigned qtype = ((unsigned)q[pos] << 8) | q[pos + 1];
    unsigned qclass = ((unsigned)q[pos + 2] << 8) | q[pos + 3];
    size_t qend = pos + 4;

    uint8_t out[1024];
    size_t o = 0;
    o += put16(out + o, ((unsigned)q[0] << 8) | q[1]);   /* ID */
    out[o++] = (uint8_t)(0x84 | (q[2] & 0x01));          /* QR=1, AA=1, RD copied */
    out[o++] = 0;                                        /* RA=0, RCODE set below */
    o += put16(out + o, 1);                              /* QDCOUNT */
    o += put16(out + o, 0);                              /* ANCOUNT (patched) */
    o += put16(out + o, 0);                              /* NSCOUNT */
    o += put16(out + o, 0);                              /* ARCOUNT */
    /* the question, re-encoded uncompressed so the answer's pointer (0xC00C) is valid */
    size_t qname_at = o;
    const char *label = name;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t l = dot ? (size_t)(dot - label) : strlen(label);
        out[o++] = (uint8_t)l;
        memcpy(out + o, label, l);
        o += l;
        label += l + (dot ? 1 : 0);
    }
    out[o++] = 0;
    o += put16(out + o, qtype);
    o += put16(out + o, qclass);
    (void)qend;

    const char *type = qtype == T_A ? "A" : qtype == T_AAAA ? "AAAA" : qtype == T_TXT ? "TXT" : NULL;
    ws_buf value = {0, 0};
    int answers = 0;
    if (qclass == 1 && type && lookup(name, type, &value) == 0) {
        uint8_t rdata[300];
        size_t rdlen = 0;
        if (qtype == T_A && parse_a((char *)value.ptr, rdata) == 0) rdlen = 4;
        else if (qtype == T_AAAA && parse_aaaa((char *)value.ptr, rdata) == 0) rdlen = 16;
        else if (qtype == T_TXT && value.len <= 255) {
            rdata[0] = (uint8_t)value.len;
            memcpy(rdata + 1, value.ptr, value.len);
            rdlen = value.len + 1;
        }
        if (rdlen) {
            o += put16(out + o, 0xC000 | (unsigned)qname_at); /* compression pointer to the question */
            o += put16(out + o, qtype);
            o += put16(out + o, 1);
            out[o++] = 0; out[o++] = 0; o += put16(out + o, TTL);
            o += put16(out + o, (unsigned)rdlen);
            memcpy(out + o, rdata, rdlen);
            o += rdlen;
            answers = 1;
        } else {
            ws_logf(WS_WARN, "bad %s record for %s: %s", type, name, (char *)value.ptr);
        }
        ws_buf_free(&value);
    }
    if (!answers && !name_exists(name)) out[3] = 3;   /* NXDOMAIN */
    put16(out + 6, (unsigned)answers);
    ws_udp_send(sock, peer, out, o);
}

WASM_SERVER_UDP(on_datagram)
