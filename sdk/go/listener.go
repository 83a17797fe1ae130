package wasmserver

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// Listener is a net.Listener over the component's TCP listeners
// ([[component.tcp]]): Accept returns each connection as a net.Conn. Hand it
// to libraries that serve a net.Listener. The host runs one instance per
// connection, so in each instance Accept returns that one connection (then
// blocks: a server loop's goroutine simply waits there).
type Listener struct {
	q *queue[*TCPConn]
}

var listener *Listener

// Listen returns the component's Listener (the same one until it is closed).
// Once it exists, connections go to it and not to HandleTCP handlers.
func Listen() *Listener {
	if listener == nil || listener.q.closed {
		listener = &Listener{q: newQueue[*TCPConn](64)}
		settleHook = settle
	}
	return listener
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.q.get()
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: net.ErrClosed}
	}
	return c, nil
}

// Close stops accepting (live connections stay open).
func (l *Listener) Close() error { l.q.close(); return nil }

// Addr is the local address of the last accepted connection (0.0.0.0:0 before one).
func (l *Listener) Addr() net.Addr {
	if conns.last != nil {
		return conns.last.local
	}
	return &net.TCPAddr{IP: net.IPv4zero}
}

// TCPConn is one TCP connection as a net.Conn: Read returns the bytes the
// host delivered (io.EOF once the peer closed), Write sends them (never
// blocks: the host queues and applies flow control).
type TCPConn struct {
	id          uint32
	local, peer *net.TCPAddr
	in          *queue[[]byte]
	mu          sync.Mutex
	rest        []byte // the unread part of the last chunk
	wdl         time.Time
	closed      bool
}

var conns struct {
	byID map[uint32]*TCPConn
	last *TCPConn
}

var _ net.Conn = (*TCPConn)(nil)

func tcpAddr(s string) *net.TCPAddr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return &net.TCPAddr{}
	}
	return net.TCPAddrFromAddrPort(unmap(ap))
}

// listenerEvent handles a TCP event for the Listener; false when there is none.
func listenerEvent(kind int32, id uint32, peer, local string, data []byte) (int64, bool) {
	if listener == nil || listener.q.closed {
		return 0, false
	}
	if conns.byID == nil {
		conns.byID = map[uint32]*TCPConn{}
	}
	switch kind {
	case kindTCPConnect:
		c := &TCPConn{id: id, local: tcpAddr(local), peer: tcpAddr(peer), in: newQueue[[]byte](1 << 16)}
		conns.byID[id], conns.last = c, c
		if !listener.q.put(c) {
			delete(conns.byID, id)
			return -1, true // no one accepts: refuse it
		}
	case kindTCPData:
		if c := conns.byID[id]; c != nil {
			c.in.put(data)
		}
	case kindTCPClose:
		if c := conns.byID[id]; c != nil {
			delete(conns.byID, id)
			c.in.close() // Read returns what is queued, then io.EOF
		}
	}
	return 0, true
}

// Read reads delivered bytes; io.EOF once the peer closed and all was read.
func (c *TCPConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		c.mu.Unlock()
		return n, nil
	}
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, c.opError("read", net.ErrClosed)
	}
	b, err := c.in.get()
	if errors.Is(err, errClosed) {
		return 0, io.EOF
	}
	if err != nil {
		return 0, c.opError("read", err)
	}
	n := copy(p, b)
	c.mu.Lock()
	c.rest = b[n:]
	c.mu.Unlock()
	return n, nil
}

// Write sends p to the peer.
func (c *TCPConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	closed, wdl := c.closed, c.wdl
	c.mu.Unlock()
	if closed {
		return 0, c.opError("write", net.ErrClosed)
	}
	if !wdl.IsZero() && !time.Now().Before(wdl) {
		return 0, c.opError("write", os.ErrDeadlineExceeded)
	}
	if err := host.ConnSend(c.id, p); err != nil {
		return 0, c.opError("write", err)
	}
	return len(p), nil
}

// Close closes the connection.
func (c *TCPConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.in.close()
	return host.ConnClose(c.id, 1000, "")
}

// LocalAddr is the listener's address the peer connected to.
func (c *TCPConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the peer's address.
func (c *TCPConn) RemoteAddr() net.Addr { return c.peer }

// SetDeadline sets the read and write deadlines.
func (c *TCPConn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

// SetReadDeadline makes blocked and future Reads fail (os.ErrDeadlineExceeded) after t.
func (c *TCPConn) SetReadDeadline(t time.Time) error { c.in.setDeadline(t); return nil }

// SetWriteDeadline makes Write fail after t (writes never block).
func (c *TCPConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return nil
}

func (c *TCPConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.peer, Err: err}
}
