package abi

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// vector is one block of sdk/abi/vectors.txt.
type vector struct {
	kind, name string
	fields     map[string][]byte
	status     uint32
	params     []Pair
	headers    []Pair
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "abi", "vectors.txt"))
	if err != nil {
		t.Fatalf("the shared vectors: %v", err)
	}
	defer f.Close()
	var out []vector
	var cur *vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, " ", 3)
		switch parts[0] {
		case "request", "response":
			out = append(out, vector{kind: parts[0], name: parts[1], fields: map[string][]byte{}})
			cur = &out[len(out)-1]
		case "end":
			cur = nil
		case "status":
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			cur.status = uint32(n)
		case "param", "header":
			p := Pair{Name: unhex(t, parts[1]), Value: unhex(t, parts[2])}
			if parts[0] == "param" {
				cur.params = append(cur.params, p)
			} else {
				cur.headers = append(cur.headers, p)
			}
		default:
			if cur == nil || len(parts) != 2 {
				t.Fatalf("unexpected line %q", line)
			}
			cur.fields[parts[0]] = unhex(t, parts[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func samePairs(a, b []Pair) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Name, b[i].Name) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func TestSharedVectors(t *testing.T) {
	var requests, responses int
	for _, v := range loadVectors(t) {
		encoded := v.fields["encoded"]
		switch v.kind {
		case "request":
			req, err := DecodeRequest(encoded)
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			got := map[string][]byte{"method": req.Method, "url": req.URL, "route": req.Route, "base": req.Base,
				"path_info": req.PathInfo, "client": req.Client, "body": req.Body}
			for k, want := range got {
				if !bytes.Equal(v.fields[k], want) {
					t.Errorf("%s: %s = %q, want %q", v.name, k, want, v.fields[k])
				}
			}
			if !samePairs(req.Params, v.params) || !samePairs(req.Headers, v.headers) {
				t.Errorf("%s: params/headers differ", v.name)
			}
			if !bytes.Equal(EncodeRequest(req), encoded) {
				t.Errorf("%s: request does not re-encode byte for byte", v.name)
			}
			requests++
		case "response":
			resp := &Response{Status: v.status, Headers: v.headers, Body: v.fields["body"]}
			if !bytes.Equal(EncodeResponse(resp), encoded) {
				t.Errorf("%s: encodes as %x, want %x", v.name, EncodeResponse(resp), encoded)
			}
			back, err := DecodeResponse(encoded)
			if err != nil || back.Status != v.status || !samePairs(back.Headers, v.headers) ||
				!bytes.Equal(back.Body, v.fields["body"]) {
				t.Errorf("%s: decodes wrong: %+v %v", v.name, back, err)
			}
			responses++
		}
	}
	if requests == 0 || responses == 0 {
		t.Fatalf("no vectors read")
	}
	fmt.Printf("checked %d request and %d response vectors\n", requests, responses)
}

func TestTruncatedAndOverlongInputsAreMalformed(t *testing.T) {
	for _, v := range loadVectors(t) {
		encoded := v.fields["encoded"]
		decode := func(b []byte) error { _, err := DecodeRequest(b); return err }
		if v.kind == "response" {
			decode = func(b []byte) error { _, err := DecodeResponse(b); return err }
		}
		for n := 0; n < len(encoded); n++ {
			if err := decode(encoded[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s truncated to %d: %v", v.name, n, err)
			}
		}
		if err := decode(append(append([]byte{}, encoded...), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s with a trailing byte: %v", v.name, err)
		}
	}
	// a pair count far beyond the buffer must not allocate
	if _, err := DecodeRequest([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}); err == nil {
		t.Fatal("huge length accepted")
	}
}

func TestKeyListAndOutbound(t *testing.T) {
	list := AppendBytes(AppendBytes(AppendU32(nil, 2), []byte("a")), []byte("bc"))
	keys, err := DecodeKeyList(list)
	if err != nil || len(keys) != 2 || string(keys[0]) != "a" || string(keys[1]) != "bc" {
		t.Fatalf("%q %v", keys, err)
	}
	if _, err := DecodeKeyList(list[:len(list)-1]); err == nil {
		t.Fatal("truncated key list accepted")
	}
	out := EncodeOutbound("GET", "http://x/", []Pair{{[]byte("a"), []byte("b")}}, []byte("hi"))
	r := NewReader(out)
	if r.U32() != 0 || string(r.Bytes()) != "GET" || string(r.Bytes()) != "http://x/" || len(r.Pairs()) != 1 ||
		string(r.Bytes()) != "hi" || r.Done() != nil {
		t.Fatalf("outbound encoding: %x", out)
	}
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	err := error(&Error{Op: "kv_get", Code: CodeDenied, Message: "store 'x' is not declared"})
	if !errors.Is(err, ErrDenied) || errors.Is(err, ErrNotFound) {
		t.Fatal("errors.Is does not match by code")
	}
	if err.Error() != "wasm-server kv_get: denied: store 'x' is not declared" {
		t.Fatal(err.Error())
	}
	if (&Error{Op: "x", Code: -99}).Unwrap() != nil {
		t.Fatal("unknown code has a sentinel")
	}
}
