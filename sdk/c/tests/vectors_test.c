/* Native test of the C SDK's codec against sdk/abi/vectors.txt:
   decode every request vector and check each field; encode every response
   vector and compare byte for byte. Usage: vectors_test PATH/vectors.txt */
#include "wasm_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *s, uint8_t *out) {
    size_t n = 0;
    while (s[0] && s[1] && s[0] != ' ' && s[0] != '\n') {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static int same(ws_bytes b, const uint8_t *p, size_t n) { return b.len == n && (n == 0 || memcmp(b.ptr, p, n) == 0); }

#define MAXF 64
static char keys[MAXF][16];
static char vals[MAXF][4096];
static int nf;

static const char *field(const char *k) {
    for (int i = 0; i < nf; i++)
        if (!strcmp(keys[i], k)) return vals[i];
    return "";
}

static int check_pairs(const char *kind, ws_pair *pairs, size_t count) {
    size_t seen = 0;
    uint8_t a[4096], b[4096];
    for (int i = 0; i < nf; i++) {
        if (strcmp(keys[i], kind)) continue;
        char *sp = strchr(vals[i], ' ');
        size_t na = unhex(vals[i], a), nb = sp ? unhex(sp + 1, b) : 0;
        if (seen >= count || !same(pairs[seen].name, a, na) || !same(pairs[seen].value, b, nb)) return 0;
        seen++;
    }
    return seen == count;
}

int main(int argc, char **argv) {
    FILE *f = fopen(argc > 1 ? argv[1] : "vectors.txt", "r");
    if (!f) {
        perror("vectors.txt");
        return 2;
    }
    static char line[10000];
    static uint8_t enc[8192], tmp[4096];
    char kind[16] = "";
    int requests = 0, responses = 0, failures = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0]) continue;
        char *sp = strchr(line, ' ');
        if (!strncmp(line, "request ", 8) || !strncmp(line, "response ", 9)) {
            snprintf(kind, sizeof kind, "%.*s", (int)(sp - line), line);
            nf = 0;
            continue;
        }
        if (strcmp(line, "end")) {
            if (nf < MAXF) {
                snprintf(keys[nf], sizeof keys[nf], "%.*s", sp ? (int)(sp - line) : (int)strlen(line), line);
                snprintf(vals[nf], sizeof vals[nf], "%s", sp ? sp + 1 : "");
                nf++;
            }
            continue;
        }
        size_t n = unhex(field("encoded"), enc);
        if (!strcmp(kind, "request")) {
            ws_request r;
            int ok = ws_decode_request(enc, n, &r) == WS_OK;
            const char *names[] = {"method", "url", "route", "base", "path_info", "client"};
            ws_bytes got[6];
            if (ok) {
                got[0] = r.method; got[1] = r.url; got[2] = r.route;
                got[3] = r.base; got[4] = r.path_info; got[5] = r.client;
                for (int i = 0; i < 6; i++) ok = ok && same(got[i], tmp, unhex(field(names[i]), tmp));
                ok = ok && same(r.body, tmp, unhex(field("body"), tmp));
                ok = ok && check_pairs("param", r.params, r.param_count) && check_pairs("header", r.headers, r.header_count);
                ws_request_release(&r);
            }
            if (!ok) { fprintf(stderr, "request vector failed\n"); failures++; }
            requests++;
        } else {
            ws_response *res = ws_response_new(atoi(field("status")));
            uint8_t a[4096], b[4096];
            for (int i = 0; i < nf; i++) {
                if (strcmp(keys[i], "header")) continue;
                char *s2 = strchr(vals[i], ' ');
                size_t na = unhex(vals[i], a), nb = s2 ? unhex(s2 + 1, b) : 0;
                ws_bytes hn = {a, na}, hv = {b, nb};
                ws_response_header_bytes(res, hn, hv);
            }
            ws_response_write(res, tmp, unhex(field("body"), tmp));
            size_t out_len;
            uint8_t *out = ws_encode_response(res, &out_len);
            if (out_len != n || memcmp(out, enc, n)) { fprintf(stderr, "response vector failed\n"); failures++; }
            ws_http_response parsed;
            if (ws_decode_response(enc, n, &parsed) != WS_OK || parsed.status != atoi(field("status"))) failures++;
            else free(parsed.headers);
            free(out);
            ws_response_free(res);
            responses++;
        }
    }
    /* malformed input is refused, not crashed on */
    ws_request r;
    uint8_t junk[] = {0, 0, 0, 0, 255, 255, 255, 255};
    if (ws_decode_request(junk, sizeof junk, &r) == WS_OK) failures++;
    printf("checked %d request and %d response vectors, %d failures\n", requests, responses, failures);
    return failures ? 1 : 0;
}
