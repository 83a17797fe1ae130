package wasmserver

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// Event kinds (docs/abi.md).
const (
	kindHTTPRequest = 1
	kindTCPConnect  = 2
	kindTCPData     = 3
	kindTCPClose    = 4
	kindUDPDatagram = 5
	kindWSOpen      = 6
	kindWSMessage   = 7
	kindWSClose     = 8
	kindTimer       = 9 // the wake-up settle asked for (settle.go)
)

// What wasm_server_handle returns when it cannot answer.
const (
	rcNotHandled = -1 // no handler for this event kind
	rcMalformed  = -4 // the payload does not decode
	rcPanicked   = -5 // the handler panicked (the host answers 500)
)

var httpHandler http.Handler

// Handle serves every HTTP request of this component with h: an
// http.ServeMux, a router, any http.Handler. Call it from main.
//
// The request is the one net/http's server would build: r.URL.Path is the
// FULL path, so a component mounted under a prefix ("/api/...") sees
// "/api/x" and ServeMux patterns must include the prefix. PathInfo(r) gives
// the part below the prefix, Info(r) the manifest route, base and params.
func Handle(h http.Handler) { httpHandler = h }

// HandleFunc is Handle for a function.
func HandleFunc(f func(http.ResponseWriter, *http.Request)) { httpHandler = http.HandlerFunc(f) }

// dispatch handles one event. For kind 1 it returns the encoded response;
// otherwise (and on failure) the value for wasm_server_handle.
func dispatch(kind int32, payload []byte) ([]byte, int64) {
	switch kind {
	case kindHTTPRequest:
		if httpHandler == nil {
			return nil, rcNotHandled
		}
		return serveHTTP(payload)
	case kindTCPConnect, kindTCPData, kindTCPClose:
		return nil, tcpEvent(kind, payload)
	case kindUDPDatagram:
		return nil, udpEvent(payload)
	case kindWSOpen, kindWSMessage, kindWSClose:
		return nil, wsEvent(kind, payload)
	case kindTimer:
		return nil, timerEvent() // wasm_server_handle settles: due timers fire, their goroutines run
	}
	return nil, rcNotHandled
}

func serveHTTP(payload []byte) (resp []byte, rc int64) {
	raw, err := abi.DecodeRequest(payload)
	if err != nil {
		return nil, rcMalformed
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := newRequest(ctx, raw, payload)
	if err != nil {
		body := "400 Bad Request: malformed request target\n"
		return abi.EncodeResponse(&abi.Response{Status: 400, Headers: []abi.Pair{
			{Name: []byte("content-type"), Value: []byte("text/plain; charset=utf-8")},
		}, Body: []byte(body)}), 0
	}
	w := newResponseWriter(cancel)
	defer func() {
		if v := recover(); v != nil {
			logPanic(fmt.Sprintf("%s %s", req.Method, req.RequestURI), v)
			resp, rc = nil, rcPanicked
		}
	}()
	httpHandler.ServeHTTP(w, req)
	return w.finish(), 0
}

// logPanic reports a recovered panic to the server log (http.ErrAbortHandler quietly).
func logPanic(what string, v any) {
	if v == http.ErrAbortHandler {
		return
	}
	line := fmt.Sprintf("panic serving %s: %v\n%s", what, v, debug.Stack())
	logSink(host.LevelError, []byte(line))
}
