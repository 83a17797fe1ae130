// A plain Go program run CGI-style (WAGI): no SDK, just Go's own net/http/cgi.
// The request arrives in environment variables and stdin, the response
// leaves on stdout.
package main

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
)

func main() {
	err := cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// PATH_INFO is the path below the route's prefix
		fmt.Fprintf(w, "Hello from Go (WAGI)\npath: %s\n", os.Getenv("PATH_INFO"))
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cgi:", err)
		os.Exit(1)
	}
}
