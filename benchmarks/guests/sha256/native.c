/* The native peer of the compute benchmark: the same sha256.c, gcc -O2.
   usage: native N  → prints the digest and the best ms per hash of N rounds */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sha256.h"

static uint8_t input[SHA_INPUT_LEN];

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 50;
    sha256_fill_input(input, sizeof input);
    uint8_t d[32];
    double best = 1e9;
    for (int r = 0; r < n; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        sha256(input, sizeof input, d);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        if (ms < best) best = ms;
    }
    for (int i = 0; i < 32; i++) printf("%02x", d[i]);
    printf("\n%.4f\n", best);
    return 0;
}
