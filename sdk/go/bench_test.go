package wasmserver

import (
	"fmt"
	"net/http"
	"testing"
)

func BenchmarkHello(b *testing.B) {
	httpHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello from Go\npath: %s\n", PathInfo(r))
	})
	defer func() { httpHandler = nil }()
	payload := request("GET", "/api/hello/x?y=1", nil, "host", "127.0.0.1:8080", "user-agent", "wrk", "accept", "*/*")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dispatch(kindHTTPRequest, payload)
	}
}
