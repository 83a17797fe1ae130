// {{name}}: a wasm-server service in Go. Build and serve: wasm-server up .
//
// Handlers are plain net/http handlers; r.URL.Path is the full request path.
package main

import (
	"fmt"
	"log/slog"
	"net/http"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
	"github.com/wasm-server/wasm-server/sdk/go/kv"
)

func hello(w http.ResponseWriter, r *http.Request) {
	// count visits in the KV store (declared in wasm-server.toml)
	visits, err := kv.Open("default").Incr("visits", 1)
	if err != nil {
		slog.Warn("could not count the visit", "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Hello from {{name}}!\nyou asked for %s (visit %d)\n", wasmserver.PathInfo(r), visits)
}

func user(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "user %s\n", r.PathValue("id"))
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", user)
	mux.HandleFunc("/", hello)
	wasmserver.Handle(mux)
}
