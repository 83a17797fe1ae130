package wasmserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unsafe"

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

// strtab makes the request's strings with one allocation: every field but the
// body is a substring of one copy of the encoding.
type strtab struct {
	base unsafe.Pointer
	s    string
}

func newStrtab(payload []byte, body []byte) strtab {
	head := payload[:len(payload)-len(body)]
	return strtab{unsafe.Pointer(unsafe.SliceData(head)), string(head)}
}

func (t strtab) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(t.base)
	if off > uintptr(len(t.s)) || uintptr(len(t.s))-off < uintptr(len(b)) {
		return string(b) // not from the encoding
	}
	return t.s[off : off+uintptr(len(b))]
}

// canonical names of common request headers, by the lower-case name the host sends
var canonical = map[string]string{}

func init() {
	for _, name := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization",
		"Cache-Control", "Connection", "Content-Length", "Content-Type", "Cookie", "Host", "If-Modified-Since",
		"If-None-Match", "Origin", "Referer", "Sec-Websocket-Key", "Sec-Websocket-Protocol",
		"Sec-Websocket-Version", "Upgrade", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip",
		"X-Request-Id"} {
		canonical[strings.ToLower(name)] = name
	}
}

func canonicalKey(t strtab, name []byte) string {
	if c, ok := canonical[string(name)]; ok {
		return c
	}
	return http.CanonicalHeaderKey(t.str(name))
}

// newRequest builds the *http.Request net/http's server would have built
// for the same request (see http.ReadRequest), plus the routing info.
// payload is the encoding raw was decoded from.
func newRequest(ctx context.Context, raw *abi.Request, payload []byte) (*http.Request, error) {
	t := newStrtab(payload, raw.Body)
	target := t.str(raw.URL)
	method := t.str(raw.Method)
	parse := target
	if method == "CONNECT" && !strings.HasPrefix(parse, "/") {
		parse = "http://" + parse
	}
	u, err := url.ParseRequestURI(parse)
	if err != nil {
		return nil, err
	}
	header := make(http.Header, len(raw.Headers))
	values := make([]string, len(raw.Headers)) // one backing array for the one-value headers
	host := ""
	for i, h := range raw.Headers {
		name, value := canonicalKey(t, h.Name), t.str(h.Value)
		if name == "Host" {
			if host == "" {
				host = value
			}
			continue
		}
		if prev, ok := header[name]; ok {
			header[name] = append(prev, value)
		} else {
			values[i] = value
			header[name] = values[i : i+1 : i+1]
		}
	}
	if u.Host != "" {
		host = u.Host
	}
	info := &RequestInfo{
		Route: t.str(raw.Route), Base: t.str(raw.Base), PathInfo: t.str(raw.PathInfo), Client: t.str(raw.Client),
	}
	if len(raw.Params) > 0 {
		info.Params = make([][2]string, len(raw.Params))
		for i, p := range raw.Params {
			info.Params[i] = [2]string{t.str(p.Name), t.str(p.Value)}
		}
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
