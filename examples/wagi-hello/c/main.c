/* A plain WASI program: no SDK, just stdio and the CGI environment (WAGI). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *path = getenv("PATH_INFO");
    printf("Content-Type: text/plain; charset=utf-8\n\n");
    printf("Hello from C (WAGI)\n");
    printf("path: %s\n", path ? path : "");
    return 0;
}
