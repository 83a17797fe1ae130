// A persistent counter in the KV store: POST increments, GET reads. Any path
// works: the manifest decides where the counter lives.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
	"github.com/wasm-server/wasm-server/sdk/go/kv"
)

var store = kv.Open("default")

func counter(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch r.Method {
	case http.MethodPost:
		n, err := store.Incr("counter", 1)
		if err != nil {
			slog.Error("increment failed", "err", err)
			http.Error(w, "the counter is unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%d\n", n)
	case http.MethodGet, http.MethodHead:
		value, err := store.Get("counter")
		switch {
		case errors.Is(err, wasmserver.ErrNotFound):
			value = []byte("0")
		case err != nil:
			slog.Error("read failed", "err", err)
			http.Error(w, "the counter is unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%s\n", value)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
	}
}

func main() {
	wasmserver.HandleFunc(counter)
}
