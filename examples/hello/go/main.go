// Hello from Go: answers every request with a greeting and the path it saw.
package main

import (
	"fmt"
	"net/http"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	wasmserver.HandleFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// PathInfo is the path below the route's prefix, so the answer is the
		// same whether this runs alone or mounted under /hello/go
		// (r.URL.Path is the full path, as net/http sees it)
		fmt.Fprintf(w, "Hello from Go\npath: %s\n", wasmserver.PathInfo(r))
	})
}
