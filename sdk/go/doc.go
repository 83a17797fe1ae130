// Package wasmserver is the Go SDK of wasm-server (ABI v1, docs/abi.md):
// a component is an ordinary net/http handler.
//
//	func main() {
//		mux := http.NewServeMux()
//		mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
//			fmt.Fprintf(w, "user %s\n", r.PathValue("id"))
//		})
//		wasmserver.Handle(mux)
//	}
//
// Build with `wasm-server go-build -o app.wasm` (GOOS=wasip1 GOARCH=wasm,
// -buildmode=c-shared). Importing this package adds the module's exports,
// runs main before the first event, points http.DefaultTransport at the host
// (package outbound) and slog's default logger at the server log.
//
// r.URL.Path is the full request path; PathInfo(r) is the path below the
// prefix the manifest route matched. Raw TCP, UDP and WebSocket services
// register with HandleTCP, HandleUDP and HandleWebSocket; the key-value store
// is package kv, manifest variables package variables.
package wasmserver
