/* SHA-256 (FIPS 180-4), one call over a whole buffer. Plain C, no libc
   beyond <stddef.h>/<stdint.h>: the same file builds for wasm32-wasi and natively. */
#ifndef BENCH_SHA256_H
#define BENCH_SHA256_H
#include <stddef.h>
#include <stdint.h>

void sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* The benchmark's input: 1 MiB of a fixed pattern, filled once. */
#define SHA_INPUT_LEN (1u << 20)
void sha256_fill_input(uint8_t *buf, size_t len);

#endif
