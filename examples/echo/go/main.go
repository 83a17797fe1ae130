// Echo a request back (method, target, x-test-* headers, body), fetch a URL
// with net/http's client through the host, and echo WebSocket messages: the
// parity example (tests/e2e/parity/CONTRACT.md).
package main

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func echo(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Echo-Method", r.Method)
	h.Set("X-Echo-Url", r.RequestURI)
	h.Set("X-Echo-Path", wasmserver.PathInfo(r))
	for name, values := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-test-") {
			h.Set("X-Echo-"+name, strings.Join(values, ", "))
		}
	}
	ctype := r.Header.Get("Content-Type")
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Write(body)
}

func fetch(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Fetch-Url")
	if target == "" {
		http.Error(w, "send the URL in x-fetch-url", http.StatusBadRequest)
		return
	}
	// http.Get uses http.DefaultTransport, which the SDK points at the host
	resp, err := http.Get(target)
	if errors.Is(err, wasmserver.ErrDenied) {
		http.Error(w, "denied: "+oneLine(err), http.StatusForbidden)
		return
	}
	if err != nil {
		http.Error(w, "fetch failed: "+oneLine(err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("X-Upstream-Status", strconv.Itoa(resp.StatusCode))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, resp.Body)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func main() {
	// dispatch on the manifest route, not the path, so the component works
	// wherever an app mounts it (r.URL.Path is the full path)
	wasmserver.HandleFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := wasmserver.Info(r); info != nil && info.Route == "/fetch" {
			fetch(w, r)
			return
		}
		echo(w, r)
	})
	wasmserver.HandleWebSocket(nil, func(ws wasmserver.WebSocket, data []byte, binary bool) error {
		if binary {
			return ws.SendBinary(data)
		}
		return ws.SendText(string(data))
	}, nil)
}
