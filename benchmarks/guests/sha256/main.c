/* The compute benchmark's guest: every request hashes the same 1 MiB with
   SHA-256 (sha256.c) and answers the digest in hex. */
#include "wasm_server.h"
#include "sha256.h"

static uint8_t input[SHA_INPUT_LEN];
static int filled;

static ws_response *hash(const ws_request *req) {
    (void)req;
    if (!filled) {
        sha256_fill_input(input, sizeof input);
        filled = 1;
    }
    uint8_t digest[32];
    sha256(input, sizeof input, digest);
    ws_response *res = ws_response_new(200);
    ws_response_header(res, "content-type", "text/plain");
    for (int i = 0; i < 32; i++) ws_response_printf(res, "%02x", digest[i]);
    ws_response_text(res, "\n");
    return res;
}

WASM_SERVER_HTTP(hash)
