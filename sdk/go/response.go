package wasmserver

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// The stream imports, as variables so native tests can watch them.
var (
	streamStart = host.StreamStart
	streamWrite = host.StreamWrite
)

// streamChunk: once streaming, a write buffer this large is sent without waiting for Flush.
const streamChunk = 32 << 10

// responseWriter buffers the response and encodes it when the handler
// returns; Flush switches to streaming (stream_start, then stream_write).
type responseWriter struct {
	header      http.Header
	sent        http.Header // the header as it was at WriteHeader (net/http's snapshot)
	status      int
	wroteHeader bool
	body        []byte
	streaming   bool
	err         error // set once the client has gone
	cancel      context.CancelFunc
}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
)

func newResponseWriter(cancel context.CancelFunc) *responseWriter {
	return &responseWriter{header: make(http.Header), cancel: cancel}
}

// Header is the response header map; changes after WriteHeader have no effect.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sets the status (once; informational 1xx codes other than 101 are dropped).
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader || (code < 200 && code != 101) {
		return
	}
	w.wroteHeader = true
	w.status = code
	w.sent = w.header.Clone()
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == 204 || status == 304)
}

// Write appends to the body (sends it, once the response is streaming).
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.body = append(w.body, b...)
	if w.streaming && len(w.body) >= streamChunk {
		if err := w.FlushError(); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// WriteString is Write for strings (io.StringWriter).
func (w *responseWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Flush sends what the handler wrote so far (http.Flusher).
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with the error (used by http.ResponseController): the
// first flush sends the head with stream_start, every flush the body so far
// with stream_write. Once the client has gone it fails and the request's
// context is cancelled.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if !w.streaming {
		if err := streamStart(w.encode(nil)); err != nil {
			return w.fail(err)
		}
		w.streaming = true
	}
	if len(w.body) > 0 {
		err := streamWrite(w.body)
		w.body = w.body[:0]
		if err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *responseWriter) fail(err error) error {
	w.err = err
	if w.cancel != nil {
		w.cancel()
	}
	return err
}

// encode is the response encoding of the sent header (names lower-cased and
// sorted, framing headers dropped, a sniffed content-type for a body without
// one, as net/http adds) and body. Content-Length stays when no body was
// written: that is how a HEAD answer (http.FileServer's, say) tells the length
// GET would have, and the host sends it for HEAD only.
func (w *responseWriter) encode(body []byte) []byte {
	h := w.sent
	names := make([]string, 0, len(h))
	size, count := 16+len(body), 0
	for name, values := range h {
		switch name {
		case "Transfer-Encoding", "Trailer":
			continue // the host frames the body
		case "Content-Length":
			if len(body) > 0 || w.streaming {
				continue // the host frames the body
			}
		}
		names = append(names, name)
		for _, v := range values {
			size += 8 + len(name) + len(v)
			count++
		}
	}
	sort.Strings(names)
	ctype := ""
	if _, has := h["Content-Type"]; !has && bodyAllowed(w.status) && (len(w.body) > 0 || w.streaming) {
		ctype = "text/plain; charset=utf-8"
		if len(w.body) > 0 {
			ctype = http.DetectContentType(w.body)
		}
		size += 8 + len("content-type") + len(ctype)
		count++
	}
	b := make([]byte, 0, size)
	b = abi.AppendU32(b, uint32(w.status))
	b = abi.AppendU32(b, 0)
	b = abi.AppendU32(b, uint32(count))
	if ctype != "" {
		b = abi.AppendString(abi.AppendString(b, "content-type"), ctype)
	}
	for _, name := range names {
		for _, v := range h[name] {
			b = abi.AppendU32(b, uint32(len(name)))
			for i := 0; i < len(name); i++ {
				c := name[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b = append(b, c)
			}
			b = abi.AppendString(b, v)
		}
	}
	return abi.AppendBytes(b, body)
}

// streamedResponse tells the host the response went out through the stream imports.
var streamedResponse = abi.EncodeResponse(&abi.Response{Status: 200, Flags: abi.FlagStreamed})

// finish encodes the response once the handler has returned.
func (w *responseWriter) finish() []byte {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.streaming {
		_ = w.FlushError()
		return streamedResponse
	}
	return w.encode(w.body)
}
