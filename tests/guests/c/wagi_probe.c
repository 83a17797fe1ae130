/* A WAGI test program: ?redirect → Location only; ?teapot → Status 418;
   ?env → prints selected CGI variables; otherwise echoes stdin. Always
   writes one line to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *q = getenv("QUERY_STRING");
    fprintf(stderr, "wagi probe ran with %d args\n", argc);
    if (q && !strcmp(q, "redirect")) {
        printf("Location: /elsewhere\n\n");
        return 0;
    }
    if (q && !strcmp(q, "teapot")) {
        printf("Status: 418 I'm a teapot\nContent-Type: text/plain\n\nshort and stout\n");
        return 0;
    }
    if (q && !strcmp(q, "fail")) return 3;
    printf("Content-Type: text/plain\n\n");
    if (q && !strcmp(q, "env")) {
        const char *names[] = {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "HTTP_X_TEST",
                               "X_MATCHED_ROUTE", "CONTENT_LENGTH", 0};
        for (int i = 0; names[i]; i++) printf("%s=%s\n", names[i], getenv(names[i]) ? getenv(names[i]) : "");
        printf("argv1=%s\n", argc > 1 ? argv[1] : "");
        return 0;
    }
    int c;
    while ((c = getchar()) != EOF) putchar(c);
    return 0;
}
