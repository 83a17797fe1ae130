// Package host wraps the raw wasm_server imports in Go-typed calls: byte
// slices and strings in, byte slices and *abi.Error out. Results come back
// through the result slot (docs/abi.md): an import returns a length, and
// result_read copies the data out.
package host

import (
	"unsafe"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
)

// Log levels of the log import.
const (
	LevelTrace int32 = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

func bp(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func sp(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// take copies n bytes out of the result slot.
func take(n int64) []byte {
	buf := make([]byte, n)
	if n > 0 {
		resultRead(bp(buf), int32(n))
	}
	return buf
}

// check turns a negative return value into an *abi.Error carrying the slot's message.
func check(op string, rc int64) (int64, error) {
	if rc >= 0 {
		return rc, nil
	}
	var msg string
	if n := resultRead(nil, 0); n > 0 {
		msg = string(take(int64(n)))
	}
	return rc, &abi.Error{Op: op, Code: int32(rc), Message: msg}
}

func check32(op string, rc int32) error {
	_, err := check(op, int64(rc))
	return err
}

// data is check plus take: the call's result bytes.
func data(op string, rc int64) ([]byte, error) {
	n, err := check(op, rc)
	if err != nil {
		return nil, err
	}
	return take(n), nil
}

// Log writes one line to the server log.
func Log(level int32, line []byte) { logLine(level, bp(line), int32(len(line))) }

// VarGet reads a manifest variable.
func VarGet(name string) ([]byte, error) {
	return data("var_get", varGet(sp(name), int32(len(name))))
}

// KVGet reads a key.
func KVGet(store, key string) ([]byte, error) {
	return data("kv_get", kvGet(sp(store), int32(len(store)), sp(key), int32(len(key))))
}

// KVSet writes a key.
func KVSet(store, key string, value []byte) error {
	return check32("kv_set", kvSet(sp(store), int32(len(store)), sp(key), int32(len(key)), bp(value),
		int32(len(value))))
}

// KVDelete removes a key (no error when absent).
func KVDelete(store, key string) error {
	return check32("kv_delete", kvDelete(sp(store), int32(len(store)), sp(key), int32(len(key))))
}

// KVExists reports whether a key is present.
func KVExists(store, key string) (bool, error) {
	rc, err := check("kv_exists", int64(kvExists(sp(store), int32(len(store)), sp(key), int32(len(key)))))
	return rc == 1, err
}

// KVKeys lists the keys starting with prefix, sorted.
func KVKeys(store, prefix string) ([][]byte, error) {
	raw, err := data("kv_keys", kvKeys(sp(store), int32(len(store)), sp(prefix), int32(len(prefix))))
	if err != nil {
		return nil, err
	}
	return abi.DecodeKeyList(raw)
}

// KVIncr adds delta to a decimal counter and returns the new value.
func KVIncr(store, key string, delta int64) (int64, error) {
	var out int64
	rc := kvIncr(sp(store), int32(len(store)), sp(key), int32(len(key)), delta, unsafe.Pointer(&out))
	return out, check32("kv_incr", rc)
}

// HTTPSend sends an encoded outbound request and returns the encoded response.
func HTTPSend(req []byte) ([]byte, error) {
	return data("http_send", httpSend(bp(req), int32(len(req))))
}

// ConnSend writes bytes to a TCP connection (a binary message on a WebSocket).
func ConnSend(conn uint32, b []byte) error {
	return check32("conn_send", connSend(int32(conn), bp(b), int32(len(b))))
}

// WSSend sends a WebSocket message (binary when flags bit 0 is set).
func WSSend(conn uint32, flags int32, b []byte) error {
	return check32("ws_send", wsSend(int32(conn), flags, bp(b), int32(len(b))))
}

// ConnClose closes a connection (WebSockets: with code and reason).
func ConnClose(conn uint32, code int32, reason string) error {
	return check32("conn_close", connClose(int32(conn), code, sp(reason), int32(len(reason))))
}

// ConnPeer is the peer address "ip:port" of a connection.
func ConnPeer(conn uint32) (string, error) {
	b, err := data("conn_peer", connPeer(int32(conn)))
	return string(b), err
}

// UDPSend sends a datagram from a UDP listener to peer.
func UDPSend(sock uint32, peer string, b []byte) error {
	return check32("udp_send", udpSend(int32(sock), sp(peer), int32(len(peer)), bp(b), int32(len(b))))
}

// Publish sends data to every subscriber of channel; returns how many got it.
func Publish(channel string, b []byte) (int, error) {
	rc, err := check("publish", int64(publish(sp(channel), int32(len(channel)), bp(b), int32(len(b)))))
	return int(rc), err
}

// Subscribe delivers the channel's messages to a connection.
func Subscribe(conn uint32, channel string) error {
	return check32("subscribe", subscribe(int32(conn), sp(channel), int32(len(channel))))
}

// SleepMs suspends the guest (the server keeps serving others).
func SleepMs(ms int32) error { return check32("sleep_ms", sleepMs(ms)) }

// StreamStart sends the response head (an encoded response whose body is ignored).
func StreamStart(head []byte) error {
	return check32("stream_start", streamStart(bp(head), int32(len(head))))
}

// StreamWrite sends one chunk of a streamed body.
func StreamWrite(b []byte) error { return check32("stream_write", streamWrite(bp(b), int32(len(b)))) }

// TCPConnect opens an outbound TCP socket.
func TCPConnect(hostname string, port int32) (int32, error) {
	rc, err := check("tcp_connect", tcpConnect(sp(hostname), int32(len(hostname)), port))
	return int32(rc), err
}

// UDPConnect opens an outbound UDP socket connected to one peer.
func UDPConnect(hostname string, port int32) (int32, error) {
	rc, err := check("udp_connect", udpConnect(sp(hostname), int32(len(hostname)), port))
	return int32(rc), err
}

// SockSend writes to an outbound socket.
func SockSend(sock int32, b []byte) error {
	return check32("sock_send", sockSend(sock, bp(b), int32(len(b))))
}

// SockRecv reads up to max bytes into buf (grown as needed); timeoutMs < 0 waits forever.
func SockRecv(sock int32, buf []byte, timeoutMs int32) (int, error) {
	n, err := check("sock_recv", sockRecv(sock, int32(len(buf)), timeoutMs))
	if err != nil {
		return 0, err
	}
	if n > 0 {
		resultRead(bp(buf), int32(min(n, int64(len(buf)))))
	}
	return int(min(n, int64(len(buf)))), nil
}

// SockClose closes an outbound socket.
func SockClose(sock int32) error { return check32("sock_close", sockClose(sock)) }

// WakeAfter asks the host for one TIMER event after ms milliseconds (ms < 0 cancels).
func WakeAfter(ms int32) error { return check32("wake_after", wakeAfter(ms)) }

// Listener is one of the component's UDP listeners: its socket id and bound address.
type Listener struct {
	Socket uint32
	Local  string
}

// UDPListeners lists the component's UDP listeners in this process.
func UDPListeners() ([]Listener, error) {
	raw, err := data("udp_listeners", udpListeners())
	if err != nil {
		return nil, err
	}
	r := abi.NewReader(raw)
	n := r.U32()
	out := make([]Listener, 0, min(n, 64))
	for i := uint32(0); i < n && r.Err() == nil; i++ {
		out = append(out, Listener{Socket: r.U32(), Local: string(r.Bytes())})
	}
	return out, r.Err()
}
