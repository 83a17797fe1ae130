package wasmserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// Conn is a live TCP connection or WebSocket of this component. Each one
// runs in its own instance for its whole life, so package-level variables
// are per-connection state.
type Conn struct{ id uint32 }

// ID is the connection id (unique within a server process).
func (c Conn) ID() uint32 { return c.id }

// Send writes bytes to the peer (a binary message on a WebSocket).
func (c Conn) Send(data []byte) error { return host.ConnSend(c.id, data) }

// Close closes the connection (WebSockets: with code 1000).
func (c Conn) Close() error { return host.ConnClose(c.id, 1000, "") }

// Peer is the peer's address "ip:port".
func (c Conn) Peer() (string, error) { return host.ConnPeer(c.id) }

// Subscribe delivers every message published on channel to this connection
// until it closes (text messages on a WebSocket, bytes on TCP).
func (c Conn) Subscribe(channel string) error { return host.Subscribe(c.id, channel) }

// WebSocket is a WebSocket connection: Conn plus message types and close codes.
type WebSocket struct{ Conn }

// SendText sends a text message.
func (ws WebSocket) SendText(text string) error { return host.WSSend(ws.id, 0, []byte(text)) }

// SendBinary sends a binary message.
func (ws WebSocket) SendBinary(data []byte) error { return host.WSSend(ws.id, 1, data) }

// Close closes with a close code and reason.
func (ws WebSocket) Close(code int, reason string) error {
	return host.ConnClose(ws.id, int32(code), reason)
}

// UDPSocket is a UDP listener of this component (given with each datagram).
type UDPSocket struct{ id uint32 }

// SendTo sends a datagram from this listener to peer ("ip:port").
func (s UDPSocket) SendTo(peer string, data []byte) error { return host.UDPSend(s.id, peer, data) }

// Publish sends data to every connection of this component subscribed to
// channel and returns how many received it.
func Publish(channel string, data []byte) (int, error) { return host.Publish(channel, data) }

// Sleep suspends this guest for d while the server keeps serving others.
// time.Sleep works too: the host's poll_oneoff suspends only this guest.
func Sleep(d time.Duration) error { return host.SleepMs(int32(d / time.Millisecond)) }

// TCP handlers; nil ones are skipped.
var tcp struct {
	connect func(c Conn, peer, local string) error
	data    func(c Conn, data []byte) error
	close   func(c Conn)
}

// HandleTCP registers the raw TCP handlers of the component's [[component.tcp]]
// listeners. onConnect (may be nil) gets the peer and local addresses; an
// error from onConnect or onData closes the connection. onClose may be nil.
func HandleTCP(onConnect func(c Conn, peer, local string) error, onData func(c Conn, data []byte) error,
	onClose func(c Conn)) {
	tcp.connect, tcp.data, tcp.close = onConnect, onData, onClose
}

var ws struct {
	open    func(ws WebSocket, r *http.Request) error
	message func(ws WebSocket, data []byte, binary bool) error
	close   func(ws WebSocket, code int, reason string)
}

// HandleWebSocket registers the handlers of the component's WebSocket routes
// ({ path = "...", websocket = true }). onOpen (may be nil) gets the upgrade
// request as net/http would build it; an error refuses the connection
// (close 1008). An error from onMessage closes it (1011). onClose may be nil.
// The host answers pings and runs the close handshake.
func HandleWebSocket(onOpen func(ws WebSocket, r *http.Request) error,
	onMessage func(ws WebSocket, data []byte, binary bool) error, onClose func(ws WebSocket, code int, reason string)) {
	ws.open, ws.message, ws.close = onOpen, onMessage, onClose
}

var udp func(s UDPSocket, peer string, data []byte)

// HandleUDP registers the handler of the component's UDP listeners; one
// instance serves every datagram in order.
func HandleUDP(onDatagram func(s UDPSocket, peer string, data []byte)) { udp = onDatagram }

// keep is the event's return value: 0 keeps the connection, -1 closes it.
func keep(err error) int64 {
	if err != nil {
		return -1
	}
	return 0
}

// guard runs f, turning a panic into a logged error (the connection closes).
func guard(what string, f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			logPanic(what, v)
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return f()
}

func tcpEvent(kind int32, payload []byte) int64 {
	if listener != nil {
		if rc, ok := tcpListenerEvent(kind, payload); ok {
			return rc
		}
	}
	if tcp.data == nil && tcp.connect == nil && tcp.close == nil {
		return rcNotHandled
	}
	r := abi.NewReader(payload)
	c := Conn{r.U32()}
	switch kind {
	case kindTCPConnect:
		peer, local := string(r.Bytes()), string(r.Bytes())
		if r.Err() != nil {
			return rcMalformed
		}
		if tcp.connect == nil {
			return 0
		}
		return keep(guard("a TCP connect", func() error { return tcp.connect(c, peer, local) }))
	case kindTCPData:
		data := r.Bytes()
		if r.Err() != nil {
			return rcMalformed
		}
		if tcp.data == nil {
			return 0
		}
		return keep(guard("TCP data", func() error { return tcp.data(c, data) }))
	default:
		if r.Err() == nil && tcp.close != nil {
			_ = guard("a TCP close", func() error { tcp.close(c); return nil })
		}
		return 0
	}
}

// tcpListenerEvent decodes a TCP event for the Listener (false: no Listener is open).
func tcpListenerEvent(kind int32, payload []byte) (int64, bool) {
	r := abi.NewReader(payload)
	id := r.U32()
	var peer, local string
	var data []byte
	switch kind {
	case kindTCPConnect:
		peer, local = string(r.Bytes()), string(r.Bytes())
	case kindTCPData:
		data = r.Bytes()
	}
	if r.Err() != nil {
		return rcMalformed, true
	}
	return listenerEvent(kind, id, peer, local, data)
}

func udpEvent(payload []byte) int64 {
	if udp == nil && (packetConn == nil || packetConn.q.closed) && packetSetup == nil {
		return rcNotHandled
	}
	r := abi.NewReader(payload)
	s := UDPSocket{r.U32()}
	peer, data := string(r.Bytes()), r.Bytes()
	if r.Err() != nil {
		return rcMalformed
	}
	if packetConn == nil && packetSetup != nil {
		setup := packetSetup
		packetSetup = nil // once: the first datagram, in the listener's instance
		pc := ListenPacket()
		pc.deliver(s.id, peer, data)
		_ = guard("the PacketConn setup", func() error { setup(pc); return nil })
		return 0
	}
	if packetConn != nil && !packetConn.q.closed {
		packetConn.deliver(s.id, peer, data)
		return 0
	}
	_ = guard("a UDP datagram", func() error { udp(s, peer, data); return nil })
	return 0
}

func wsEvent(kind int32, payload []byte) int64 {
	if ws.open == nil && ws.message == nil && ws.close == nil {
		return rcNotHandled
	}
	r := abi.NewReader(payload)
	c := WebSocket{Conn{r.U32()}}
	if r.Err() != nil {
		return rcMalformed
	}
	switch kind {
	case kindWSOpen:
		raw, err := abi.DecodeRequest(r.Rest())
		if err != nil {
			return rcMalformed
		}
		req, err := newRequest(context.Background(), raw, r.Rest())
		if err != nil {
			return -1
		}
		if ws.open == nil {
			return 0
		}
		return keep(guard("a WebSocket open", func() error { return ws.open(c, req) }))
	case kindWSMessage:
		flags, data := r.U32(), r.Bytes()
		if r.Err() != nil {
			return rcMalformed
		}
		if ws.message == nil {
			return 0
		}
		return keep(guard("a WebSocket message", func() error { return ws.message(c, data, flags&1 == 1) }))
	default:
		code, reason := r.U32(), string(r.Bytes())
		if r.Err() == nil && ws.close != nil {
			_ = guard("a WebSocket close", func() error { ws.close(c, int(code), reason); return nil })
		}
		return 0
	}
}
