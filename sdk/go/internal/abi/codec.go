// Package abi holds the pure ABI v1 encodings (docs/abi.md) and the error
// codes of host calls. It has no wasm-only code, so its tests run natively
// against the shared vectors in sdk/abi/vectors.txt.
package abi

import (
	"encoding/binary"
	"errors"
)

// Pair is one name/value pair of a pair list (headers, route parameters).
type Pair struct {
	Name, Value []byte
}

// Request is a decoded inbound request (event kind 1, and the upgrade request of kind 6).
type Request struct {
	Flags    uint32
	Method   []byte
	URL      []byte
	Route    []byte
	Base     []byte
	PathInfo []byte
	Client   []byte
	Params   []Pair
	Headers  []Pair
	Body     []byte
}

// Response is a response encoding: the guest's answer, an outbound response, a stream head.
type Response struct {
	Status  uint32
	Flags   uint32
	Headers []Pair
	Body    []byte
}

// FlagStreamed is response flags bit 0: the head and body went out through stream_start/stream_write.
const FlagStreamed = 1

// ErrMalformed is returned by the decoders for a truncated or overlong encoding.
var ErrMalformed = errors.New("wasm-server: malformed ABI encoding")

// Reader decodes the ABI's little-endian u32s and length-prefixed byte strings.
// Slices it returns alias the input buffer.
type Reader struct {
	buf []byte
	pos int
	bad bool
}

// NewReader reads from buf.
func NewReader(buf []byte) *Reader { return &Reader{buf: buf} }

// U32 reads a u32 (0 once the reader has failed).
func (r *Reader) U32() uint32 {
	if r.bad || len(r.buf)-r.pos < 4 {
		r.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.buf[r.pos:])
	r.pos += 4
	return v
}

// Bytes reads a u32 length and that many bytes.
func (r *Reader) Bytes() []byte {
	n := r.U32()
	if r.bad || uint64(len(r.buf)-r.pos) < uint64(n) {
		r.bad = true
		return nil
	}
	b := r.buf[r.pos : r.pos+int(n) : r.pos+int(n)]
	r.pos += int(n)
	return b
}

// Pairs reads a pair list.
func (r *Reader) Pairs() []Pair {
	n := r.U32()
	if r.bad || uint64(n)*8 > uint64(len(r.buf)-r.pos) {
		r.bad = true
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]Pair, n)
	for i := range out {
		out[i].Name = r.Bytes()
		out[i].Value = r.Bytes()
	}
	return out
}

// Rest returns the bytes not read yet.
func (r *Reader) Rest() []byte { return r.buf[r.pos:] }

// Err is ErrMalformed if a read ran past the end.
func (r *Reader) Err() error {
	if r.bad {
		return ErrMalformed
	}
	return nil
}

// Done is Err, and also ErrMalformed when bytes are left over.
func (r *Reader) Done() error {
	if r.bad || r.pos != len(r.buf) {
		return ErrMalformed
	}
	return nil
}

// DecodeRequest decodes a request encoding; the result aliases buf.
func DecodeRequest(buf []byte) (*Request, error) {
	r := NewReader(buf)
	req := &Request{
		Flags:    r.U32(),
		Method:   r.Bytes(),
		URL:      r.Bytes(),
		Route:    r.Bytes(),
		Base:     r.Bytes(),
		PathInfo: r.Bytes(),
		Client:   r.Bytes(),
		Params:   r.Pairs(),
		Headers:  r.Pairs(),
		Body:     r.Bytes(),
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return req, nil
}

// DecodeResponse decodes a response encoding; the result aliases buf.
func DecodeResponse(buf []byte) (*Response, error) {
	r := NewReader(buf)
	resp := &Response{Status: r.U32(), Flags: r.U32(), Headers: r.Pairs(), Body: r.Bytes()}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return resp, nil
}

// AppendU32 appends a little-endian u32.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendBytes appends a length-prefixed byte string.
func AppendBytes(b, v []byte) []byte { return append(AppendU32(b, uint32(len(v))), v...) }

// AppendString appends a length-prefixed string.
func AppendString(b []byte, v string) []byte { return append(AppendU32(b, uint32(len(v))), v...) }

// AppendPairs appends a pair list.
func AppendPairs(b []byte, pairs []Pair) []byte {
	b = AppendU32(b, uint32(len(pairs)))
	for _, p := range pairs {
		b = AppendBytes(AppendBytes(b, p.Name), p.Value)
	}
	return b
}

// EncodeRequest encodes a request (the host's direction; used by tests and tools).
func EncodeRequest(req *Request) []byte {
	b := AppendU32(nil, req.Flags)
	for _, s := range [][]byte{req.Method, req.URL, req.Route, req.Base, req.PathInfo, req.Client} {
		b = AppendBytes(b, s)
	}
	b = AppendPairs(b, req.Params)
	b = AppendPairs(b, req.Headers)
	return AppendBytes(b, req.Body)
}

// EncodeResponse encodes a response.
func EncodeResponse(resp *Response) []byte {
	size := 16 + len(resp.Body)
	for _, h := range resp.Headers {
		size += 8 + len(h.Name) + len(h.Value)
	}
	b := make([]byte, 0, size)
	b = AppendU32(b, resp.Status)
	b = AppendU32(b, resp.Flags)
	b = AppendPairs(b, resp.Headers)
	return AppendBytes(b, resp.Body)
}

// EncodeOutbound encodes an outbound request for http_send.
func EncodeOutbound(method, url string, headers []Pair, body []byte) []byte {
	size := 16 + len(method) + len(url) + len(body)
	for _, h := range headers {
		size += 8 + len(h.Name) + len(h.Value)
	}
	b := make([]byte, 0, size)
	b = AppendU32(b, 0)
	b = AppendString(b, method)
	b = AppendString(b, url)
	b = AppendPairs(b, headers)
	return AppendBytes(b, body)
}

// DecodeKeyList decodes a kv_keys result.
func DecodeKeyList(buf []byte) ([][]byte, error) {
	r := NewReader(buf)
	n := r.U32()
	if r.bad || uint64(n)*4 > uint64(len(r.Rest())) {
		return nil, ErrMalformed
	}
	keys := make([][]byte, 0, n)
	for i := uint32(0); i < n; i++ {
		keys = append(keys, r.Bytes())
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return keys, nil
}
