package wasmserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
)

func pairs(kv ...string) []abi.Pair {
	var out []abi.Pair
	for i := 0; i < len(kv); i += 2 {
		out = append(out, abi.Pair{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

// request encodes a request the way the host does.
func request(method, url string, body []byte, headers ...string) []byte {
	path := strings.SplitN(url, "?", 2)[0]
	return abi.EncodeRequest(&abi.Request{
		Method: []byte(method), URL: []byte(url), Route: []byte("/api/..."), Base: []byte("/api"),
		PathInfo: []byte(strings.TrimPrefix(path, "/api")), Client: []byte("127.0.0.1:40000"),
		Headers: pairs(headers...), Body: body,
	})
}

// serve dispatches one HTTP event to h and decodes the response.
func serve(t *testing.T, h http.Handler, payload []byte) *abi.Response {
	t.Helper()
	httpHandler = h
	defer func() { httpHandler = nil }()
	out, rc := dispatch(kindHTTPRequest, payload)
	if rc != 0 || out == nil {
		t.Fatalf("dispatch returned %d", rc)
	}
	resp, err := abi.DecodeResponse(out)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func headerOf(resp *abi.Response, name string) string {
	var values []string
	for _, h := range resp.Headers {
		if string(h.Name) == name {
			values = append(values, string(h.Value))
		}
	}
	return strings.Join(values, "|")
}

func TestTheRequestIsWhatNetHTTPWouldBuild(t *testing.T) {
	var got *http.Request
	var body []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
	})
	serve(t, h, request("POST", "/api/users/42?x=1&y=%20z", []byte("hi"),
		"host", "example.test:8080", "x-dup", "a", "x-dup", "b", "content-type", "text/plain"))
	checks := map[string][2]string{
		"Method":     {got.Method, "POST"},
		"Path":       {got.URL.Path, "/api/users/42"},
		"RawQuery":   {got.URL.RawQuery, "x=1&y=%20z"},
		"y":          {got.URL.Query().Get("y"), " z"},
		"Host":       {got.Host, "example.test:8080"},
		"RequestURI": {got.RequestURI, "/api/users/42?x=1&y=%20z"},
		"RemoteAddr": {got.RemoteAddr, "127.0.0.1:40000"},
		"X-Dup":      {strings.Join(got.Header["X-Dup"], ","), "a,b"},
		"Type":       {got.Header.Get("Content-Type"), "text/plain"},
		"Proto":      {got.Proto, "HTTP/1.1"},
		"PathInfo":   {PathInfo(got), "/users/42"},
		"Route":      {Info(got).Route, "/api/..."},
		"Base":       {Info(got).Base, "/api"},
		"Body":       {string(body), "hi"},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
	if got.ContentLength != 2 || got.Header.Get("Host") != "" {
		t.Errorf("ContentLength %d, Host header %q", got.ContentLength, got.Header.Get("Host"))
	}
	serve(t, h, request("GET", "/", nil))
	if got.Body != http.NoBody || got.ContentLength != 0 {
		t.Errorf("a GET without a body: %v %d", got.Body, got.ContentLength)
	}
}

func TestServeMuxPatternsSeeTheFullPath(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user %s at %s", r.PathValue("id"), PathInfo(r))
	})
	resp := serve(t, mux, request("GET", "/api/users/7", nil))
	if resp.Status != 200 || string(resp.Body) != "user 7 at /users/7" {
		t.Fatalf("%d %q", resp.Status, resp.Body)
	}
	if ct := headerOf(resp, "content-type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("sniffed content-type %q", ct)
	}
	if resp := serve(t, mux, request("DELETE", "/api/users/7", nil)); resp.Status != 405 ||
		headerOf(resp, "allow") != "GET, HEAD" {
		t.Fatalf("mux 405: %d %q", resp.Status, headerOf(resp, "allow"))
	}
	if resp := serve(t, mux, request("GET", "/nope", nil)); resp.Status != 404 {
		t.Fatalf("mux 404: %d", resp.Status)
	}
}

func TestRouteParamsArePathValues(t *testing.T) {
	var id, name string
	httpHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, name = r.PathValue("id"), Param(r, "name")
	})
	defer func() { httpHandler = nil }()
	payload := abi.EncodeRequest(&abi.Request{Method: []byte("GET"), URL: []byte("/u/1/f/x"),
		Route: []byte("/u/{id}/f/{name}"), Params: pairs("id", "1", "name", "x")})
	if _, rc := dispatch(kindHTTPRequest, payload); rc != 0 || id != "1" || name != "x" {
		t.Fatalf("rc %d id %q name %q", rc, id, name)
	}
}

func TestTheResponseWriterEncodesLikeNetHTTP(t *testing.T) {
	resp := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-A", "1")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Content-Length", "999") // the host frames the body
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-Late", "ignored") // after WriteHeader, as in net/http
		w.WriteHeader(http.StatusTeapot)    // superfluous
		w.Write([]byte("<html>hi"))
	}), request("GET", "/", nil))
	if resp.Status != 201 || headerOf(resp, "x-a") != "1" || headerOf(resp, "set-cookie") != "a=1|b=2" {
		t.Fatalf("%d %q", resp.Status, resp.Headers)
	}
	if headerOf(resp, "x-late") != "" || headerOf(resp, "content-length") != "" {
		t.Fatalf("late or framing headers leaked: %q", resp.Headers)
	}
	if headerOf(resp, "content-type") != "text/html; charset=utf-8" || string(resp.Body) != "<html>hi" {
		t.Fatalf("%q %q", headerOf(resp, "content-type"), resp.Body)
	}
	empty := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), request("GET", "/", nil))
	if empty.Status != 200 || len(empty.Headers) != 0 || len(empty.Body) != 0 {
		t.Fatalf("an empty handler: %+v", empty)
	}
	var werr error
	noBody := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		_, werr = w.Write([]byte("x"))
	}), request("GET", "/", nil))
	if noBody.Status != 204 || !errors.Is(werr, http.ErrBodyNotAllowed) {
		t.Fatalf("204: %d %v", noBody.Status, werr)
	}
	big := bytes.Repeat([]byte{0, 1, 2, 255}, 1<<18)
	echo := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		io.Copy(w, r.Body)
	}), request("PUT", "/", big, "content-type", "application/x-test"))
	if !bytes.Equal(echo.Body, big) || headerOf(echo, "content-type") != "application/x-test" {
		t.Fatal("a 1 MiB binary body does not round-trip")
	}
}

func TestFlushStreamsTheResponse(t *testing.T) {
	var heads, chunks [][]byte
	clientGone := false
	start, write := streamStart, streamWrite
	defer func() { streamStart, streamWrite = start, write }()
	streamStart = func(head []byte) error { heads = append(heads, head); return nil }
	streamWrite = func(b []byte) error {
		if clientGone {
			return &abi.Error{Op: "stream_write", Code: abi.CodeIO, Message: "client gone"}
		}
		chunks = append(chunks, append([]byte{}, b...))
		return nil
	}
	var ctxErr, writeErr error
	out, rc := func() ([]byte, int64) {
		httpHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: 1\n\n")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, "data: 2\n\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
			fmt.Fprint(w, "data: 3\n\n")
			clientGone = true
			w.(http.Flusher).Flush()
			_, writeErr = fmt.Fprint(w, "data: 4\n\n")
			ctxErr = r.Context().Err()
		})
		defer func() { httpHandler = nil }()
		return dispatch(kindHTTPRequest, request("GET", "/events", nil))
	}()
	if rc != 0 {
		t.Fatal(rc)
	}
	resp, _ := abi.DecodeResponse(out)
	if resp.Flags&abi.FlagStreamed == 0 {
		t.Fatal("a streamed response without flags bit 0")
	}
	head, _ := abi.DecodeResponse(heads[0])
	if len(heads) != 1 || head.Status != 200 || headerOf(head, "content-type") != "text/event-stream" {
		t.Fatalf("heads %q", heads)
	}
	if len(chunks) != 2 || string(chunks[0]) != "data: 1\n\n" || string(chunks[1]) != "data: 2\n\n" {
		t.Fatalf("chunks %q", chunks)
	}
	if !errors.Is(writeErr, ErrIO) || ctxErr == nil {
		t.Fatalf("after the client went: write %v, context %v", writeErr, ctxErr)
	}
}

func TestFailuresAreNegative(t *testing.T) {
	var logged []string
	defer func(sink func(int32, []byte)) { logSink = sink }(logSink)
	logSink = func(level int32, line []byte) { logged = append(logged, fmt.Sprint(level, " ", string(line))) }
	if _, rc := dispatch(kindHTTPRequest, request("GET", "/", nil)); rc != rcNotHandled {
		t.Fatalf("no handler: %d", rc)
	}
	for kind := int32(2); kind <= 16; kind++ {
		if _, rc := dispatch(kind, []byte{7, 0, 0, 0, 0, 0, 0, 0}); rc != rcNotHandled {
			t.Fatalf("kind %d without handlers: %d", kind, rc)
		}
	}
	httpHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	defer func() { httpHandler = nil }()
	if _, rc := dispatch(kindHTTPRequest, []byte{0, 0, 0, 0, 0xff}); rc != rcMalformed {
		t.Fatalf("truncated: %d", rc)
	}
	if _, rc := dispatch(kindHTTPRequest, request("GET", "/x", nil)); rc >= 0 {
		t.Fatalf("a panic: %d", rc)
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "4 panic serving GET /x: boom") {
		t.Fatalf("logged %q", logged)
	}
	bad, rc := dispatch(kindHTTPRequest, request("GET", "/%zz", nil))
	if resp, _ := abi.DecodeResponse(bad); rc != 0 || resp.Status != 400 {
		t.Fatalf("a malformed target: %d %v", rc, resp)
	}
}

func TestConnectionEvents(t *testing.T) {
	var seen []string
	HandleTCP(func(c Conn, peer, local string) error {
		seen = append(seen, fmt.Sprintf("connect %d %s %s", c.ID(), peer, local))
		return nil
	}, func(c Conn, data []byte) error {
		seen = append(seen, fmt.Sprintf("data %d %s", c.ID(), data))
		if string(data) == "quit" {
			return errors.New("bye")
		}
		return nil
	}, func(c Conn) { seen = append(seen, fmt.Sprintf("close %d", c.ID())) })
	defer HandleTCP(nil, nil, nil)
	u32 := func(v uint32) []byte { return abi.AppendU32(nil, v) }
	if _, rc := dispatch(kindTCPConnect, abi.AppendString(abi.AppendString(u32(3), "1.2.3.4:5"), "0.0.0.0:7")); rc != 0 {
		t.Fatal(rc)
	}
	if _, rc := dispatch(kindTCPData, abi.AppendString(u32(3), "hi")); rc != 0 {
		t.Fatal(rc)
	}
	if _, rc := dispatch(kindTCPData, abi.AppendString(u32(3), "quit")); rc != -1 {
		t.Fatal("an error from onData keeps the connection")
	}
	dispatch(kindTCPClose, u32(3))
	want := "connect 3 1.2.3.4:5 0.0.0.0:7|data 3 hi|data 3 quit|close 3"
	if strings.Join(seen, "|") != want {
		t.Fatalf("%q", seen)
	}
	if _, rc := dispatch(kindTCPData, []byte{1, 0}); rc != rcMalformed {
		t.Fatal("a truncated event")
	}

	var events []string
	HandleWebSocket(func(ws WebSocket, r *http.Request) error {
		events = append(events, "open "+r.URL.Path+" "+r.Header.Get("Sec-Websocket-Protocol"))
		return nil
	}, func(ws WebSocket, data []byte, binary bool) error {
		events = append(events, fmt.Sprintf("message %s %v", data, binary))
		return nil
	}, func(ws WebSocket, code int, reason string) {
		events = append(events, fmt.Sprintf("close %d %s", code, reason))
	})
	defer HandleWebSocket(nil, nil, nil)
	open := append(u32(9), request("GET", "/ws", nil, "sec-websocket-protocol", "chat")...)
	if _, rc := dispatch(kindWSOpen, open); rc != 0 {
		t.Fatal(rc)
	}
	dispatch(kindWSMessage, abi.AppendString(append(u32(9), u32(1)...), "\x00\x01"))
	dispatch(kindWSClose, abi.AppendString(append(u32(9), u32(1000)...), "done"))
	if strings.Join(events, "|") != "open /ws chat|message \x00\x01 true|close 1000 done" {
		t.Fatalf("%q", events)
	}

	var datagram string
	HandleUDP(func(s UDPSocket, peer string, data []byte) { datagram = peer + " " + string(data) })
	defer HandleUDP(nil)
	dispatch(kindUDPDatagram, abi.AppendString(abi.AppendString(u32(2), "[::1]:53"), "q"))
	if datagram != "[::1]:53 q" {
		t.Fatal(datagram)
	}
}

func TestHostCallsFailClearlyOutsideWasm(t *testing.T) {
	err := Conn{1}.Send([]byte("x"))
	if !errors.Is(err, ErrIO) || !strings.Contains(err.Error(), "GOOS=wasip1") {
		t.Fatalf("%v", err)
	}
}

func TestTheLogHandlerWritesOneLinePerRecord(t *testing.T) {
	var lines []string
	defer func(sink func(int32, []byte)) { logSink = sink }(logSink)
	logSink = func(level int32, line []byte) { lines = append(lines, fmt.Sprint(level, " ", string(line))) }
	log := slog.New(NewLogHandler(slog.LevelDebug)).With("svc", "x").WithGroup("req")
	log.Debug("start", "path", "/a b", "n", 3)
	log.Error("failed", slog.Group("err", "code", -2))
	slog.New(NewLogHandler(nil)).Debug("hidden")
	want := []string{`1 start svc=x req.path="/a b" req.n=3`, `4 failed svc=x req.err.code=-2`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%q", lines)
	}
}

func TestHeadOfAFileServerFileKeepsItsLength(t *testing.T) {
	files := fstest.MapFS{"f.txt": {Data: []byte("0123456789abcde\n")}}
	h := http.FileServer(http.FS(files))
	get := serve(t, h, request("GET", "/f.txt", nil))
	head := serve(t, h, request("HEAD", "/f.txt", nil))
	if len(get.Body) != 16 || headerOf(get, "content-length") != "" {
		t.Fatalf("GET: body %q, content-length %q (the host frames a body)", get.Body, headerOf(get, "content-length"))
	}
	if len(head.Body) != 0 || headerOf(head, "content-length") != "16" {
		t.Fatalf("HEAD: body %q, content-length %q (want GET's 16)", head.Body, headerOf(head, "content-length"))
	}
}
