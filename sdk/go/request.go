package wasmserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
)

// RequestInfo is what the host's router knows about a request beyond net/http's view.
type RequestInfo struct {
	Route    string      // the manifest route that matched, e.g. "/api/..." or "/users/{id}"
	Base     string      // the literal prefix a "/..." route matched ("/api"), else ""
	PathInfo string      // the path below Base: "/x/y" (the full path when Base is "")
	Client   string      // the peer address "ip:port" (also in Request.RemoteAddr)
	Params   [][2]string // route parameters in route order
}

type infoKey struct{}

// Info returns the host's routing information of r (nil for a request that
// did not come from wasm-server, e.g. in a test with httptest.NewRequest).
func Info(r *http.Request) *RequestInfo {
	info, _ := r.Context().Value(infoKey{}).(*RequestInfo)
	return info
}

// PathInfo is the path below the prefix the manifest route matched: for a
// component mounted at "/api/..." a request for "/api/x" has PathInfo "/x"
// while r.URL.Path (what http.ServeMux matches) stays "/api/x". Without
// routing information it is r.URL.Path.
func PathInfo(r *http.Request) string {
	if info := Info(r); info != nil {
		return info.PathInfo
	}
	return r.URL.Path
}

// Param is a route parameter of the manifest route ("/users/{id}" → Param(r, "id")).
// r.PathValue gives the same value, and ServeMux's own wildcards too.
func Param(r *http.Request, name string) string {
	if info := Info(r); info != nil {
		for _, p := range info.Params {
			if p[0] == name {
				return p[1]
			}
		}
	}
	return ""
}

// newRequest builds the *http.Request net/http's server would have built
// for the same request (see http.ReadRequest), plus the routing info.
func newRequest(ctx context.Context, raw *abi.Request) (*http.Request, error) {
	target := string(raw.URL)
	method := string(raw.Method)
	parse := target
	if method == "CONNECT" && !strings.HasPrefix(parse, "/") {
		parse = "http://" + parse
	}
	u, err := url.ParseRequestURI(parse)
	if err != nil {
		return nil, err
	}
	header := make(http.Header, len(raw.Headers))
	host := ""
	for _, h := range raw.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		if name == "Host" {
			if host == "" {
				host = string(h.Value)
			}
			continue
		}
		header[name] = append(header[name], string(h.Value))
	}
	if u.Host != "" {
		host = u.Host
	}
	info := &RequestInfo{
		Route: string(raw.Route), Base: string(raw.Base), PathInfo: string(raw.PathInfo),
		Client: string(raw.Client),
	}
	for _, p := range raw.Params {
		info.Params = append(info.Params, [2]string{string(p.Name), string(p.Value)})
	}
	var body io.ReadCloser = http.NoBody
	if len(raw.Body) > 0 {
		body = io.NopCloser(bytes.NewReader(raw.Body))
	}
	req := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          body,
		ContentLength: int64(len(raw.Body)),
		Host:          host,
		RemoteAddr:    info.Client,
		RequestURI:    target,
	}
	if method == "HEAD" || method == "GET" && len(raw.Body) == 0 {
		req.ContentLength = 0
	}
	req = req.WithContext(context.WithValue(ctx, infoKey{}, info))
	for _, p := range info.Params {
		req.SetPathValue(p[0], p[1])
	}
	return req, nil
}
