/* benchmarks/threads.py: what pthread_create gives a C guest built by zig for wasm32-wasi.
 * Four threads each add 100,000 to one atomic counter; a thread that could not be created
 * is reported with pthread_create's error number. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int counter;

static void *work(void *arg) {
    for (int i = 0; i < 100000; i++) atomic_fetch_add(&counter, 1);
    return arg;
}

int main(void) {
    pthread_t threads[4];
    int rc[4];
    for (int i = 0; i < 4; i++) rc[i] = pthread_create(&threads[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++) {
        if (rc[i] == 0) pthread_join(threads[i], NULL);
        else printf("pthread_create %d failed: %d\n", i, rc[i]);
    }
    printf("counter=%d\n", atomic_load(&counter));
    return 0;
}
