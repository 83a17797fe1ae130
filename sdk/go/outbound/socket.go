package outbound

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/wasm-server/wasm-server/sdk/go/internal/abi"
	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// Conn is an outbound TCP or UDP socket; it implements net.Conn. Read waits
// in the host (the guest is suspended, the server keeps serving others) until
// data arrives, the peer closes (io.EOF, TCP) or the read deadline passes (an
// error with Timeout() true that matches os.ErrDeadlineExceeded). Sockets
// belong to the instance that opened them and close when it is discarded.
type Conn struct {
	sock     int32
	udp      bool
	remote   addr
	mu       sync.Mutex
	deadline time.Time
	closed   bool
}

var _ net.Conn = (*Conn)(nil)

// DialTCP connects to host:port (allowed by a tcp://host:port entry).
func DialTCP(hostname string, port int) (*Conn, error) {
	sock, err := host.TCPConnect(hostname, int32(port))
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	return &Conn{sock: sock, remote: addr{"tcp", net.JoinHostPort(hostname, strconv.Itoa(port))}}, nil
}

// DialUDP opens a UDP socket connected to host:port (allowed by a udp://host:port entry).
// Each Write is one datagram; each Read one datagram (truncated to the buffer).
func DialUDP(hostname string, port int) (*Conn, error) {
	sock, err := host.UDPConnect(hostname, int32(port))
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "udp", Err: err}
	}
	return &Conn{sock: sock, udp: true, remote: addr{"udp", net.JoinHostPort(hostname, strconv.Itoa(port))}}, nil
}

// timeoutError is a read deadline that passed.
type timeoutError struct{ err error }

func (e timeoutError) Error() string   { return "i/o timeout" }
func (e timeoutError) Timeout() bool   { return true }
func (e timeoutError) Temporary() bool { return true }
func (e timeoutError) Unwrap() []error { return []error{os.ErrDeadlineExceeded, e.err} }

// Read reads what arrived, waiting until the read deadline (none: forever).
func (c *Conn) Read(b []byte) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	timeout := int32(-1)
	if d := c.readDeadline(); !d.IsZero() {
		left := time.Until(d)
		if left <= 0 {
			return 0, timeoutError{abi.ErrTimeout}
		}
		timeout = int32(min((left+time.Millisecond-1)/time.Millisecond, 1<<31-1))
	}
	buf := b
	if len(buf) > 1<<20 {
		buf = buf[:1<<20]
	}
	n, err := host.SockRecv(c.sock, buf, timeout)
	if err != nil {
		if errors.Is(err, abi.ErrTimeout) {
			return 0, timeoutError{err}
		}
		return 0, &net.OpError{Op: "read", Net: c.remote.net, Addr: c.remote, Err: err}
	}
	if n == 0 && !c.udp {
		return 0, io.EOF
	}
	return n, nil
}

// Write sends b (TCP: waits while the peer is slow; UDP: one datagram).
func (c *Conn) Write(b []byte) (int, error) {
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	if err := host.SockSend(c.sock, b); err != nil {
		return 0, &net.OpError{Op: "write", Net: c.remote.net, Addr: c.remote, Err: err}
	}
	return len(b), nil
}

// Close closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.mu.Unlock()
	return host.SockClose(c.sock)
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *Conn) readDeadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline
}

// LocalAddr is not known to the guest; it reports the network only.
func (c *Conn) LocalAddr() net.Addr { return addr{c.remote.net, ""} }

// RemoteAddr is the host:port dialled.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read deadline (writes have no deadline: the host's applies).
func (c *Conn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline bounds each Read (it becomes sock_recv's timeout); zero: no deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline is accepted and ignored.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

type addr struct{ net, s string }

func (a addr) Network() string { return a.net }
func (a addr) String() string  { return a.s }
