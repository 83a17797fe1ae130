// Package outbound is this component's way out: HTTP through the host's
// http_send import (an http.RoundTripper), and TCP/UDP sockets through
// tcp_connect/udp_connect (net.Conn). Destinations must be listed in the
// manifest's allowed_outbound_hosts; others fail with wasmserver.ErrDenied.
package outbound

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// Transport is an http.RoundTripper sending each request through the host.
// Under wasm-server the SDK installs it as http.DefaultTransport at start,
// so http.Get, http.Post and a zero http.Client use it; set it explicitly
// with &http.Client{Transport: outbound.Transport{}} or Install().
//
// The whole request body is read before sending and the whole response is
// received before RoundTrip returns (the host's outbound limit applies).
// Errors are *wasmserver.Error values (http.Client wraps them in *url.Error):
// errors.Is(err, wasmserver.ErrDenied) tells a host not allowed.
type Transport struct{}

// Install makes http.DefaultTransport (and so http.DefaultClient) send through the host.
func Install() { http.DefaultTransport = Transport{} }

// RoundTrip sends one request and returns the host's response.
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		closeBody(req)
		return nil, fmt.Errorf("outbound: unsupported URL %v (need http:// or https://)", req.URL)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	headers := make([]abi.Pair, 0, len(req.Header)+1)
	if req.Host != "" && req.Host != req.URL.Host {
		headers = append(headers, abi.Pair{Name: []byte("host"), Value: []byte(req.Host)})
	}
	for name, values := range req.Header {
		lower := []byte(strings.ToLower(name))
		for _, v := range values {
			headers = append(headers, abi.Pair{Name: lower, Value: []byte(v)})
		}
	}
	raw, err := host.HTTPSend(abi.EncodeOutbound(method, req.URL.String(), headers, body))
	if err != nil {
		return nil, err
	}
	resp, err := abi.DecodeResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("outbound: the host returned a malformed response: %w", err)
	}
	return toHTTP(req, resp), nil
}

func toHTTP(req *http.Request, resp *abi.Response) *http.Response {
	header := make(http.Header, len(resp.Headers))
	for _, h := range resp.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		header[name] = append(header[name], string(h.Value))
	}
	status := int(resp.Status)
	out := &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(resp.Body)),
		ContentLength: int64(len(resp.Body)),
		Request:       req,
	}
	if req.Method == http.MethodHead {
		out.Body = http.NoBody
	}
	return out
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
