package wasmserver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// PacketConn is a net.PacketConn over the component's UDP listeners
// ([[component.udp]]): ReadFrom returns the datagrams the host delivers (from
// every listener, in arrival order) and WriteTo sends from the listener that
// last heard from that peer, else from one of the peer's address family. Hand
// it to libraries that take a net.PacketConn (pion/stun, pion/ice's UDP mux).
//
// ReadFrom blocks its goroutine until a datagram, the read deadline or Close;
// the SDK runs the goroutines a datagram wakes before the event returns and
// asks the host to call the guest again when a deadline is due (see TimerTick).
// WriteTo never blocks. Datagrams beyond 1024 unread ones are dropped.
type PacketConn struct {
	q        *queue[datagram]
	mu       sync.Mutex
	peers    map[netip.AddrPort]route // peer → the listener that last heard from it
	wdl      time.Time                // write deadline
	sockets  []host.Listener          // the component's listeners, once the host told them
	fallback [2]uint32                // last listener that received from an IPv4 [0] / IPv6 [1] peer
}

// route is how to reach a peer: the listener and the address as that socket saw it
// (an IPv4 peer of a dual-stack listener is [::ffff:a.b.c.d]:port there).
type route struct {
	socket uint32
	wire   string
}

type datagram struct {
	socket uint32
	peer   netip.AddrPort
	data   []byte
}

// maxPeers bounds the peer → listener map (it starts over when full).
const maxPeers = 4096

var packetConn *PacketConn

// ListenPacket returns the component's PacketConn (one per instance; every
// call returns the same one until it is closed). Once it exists, datagrams go
// to it and not to a HandleUDP handler.
func ListenPacket() *PacketConn {
	if packetConn == nil || packetConn.q.closed {
		packetConn = &PacketConn{q: newQueue[datagram](1024), peers: map[netip.AddrPort]route{}}
		settleHook = settle
	}
	return packetConn
}

var _ net.PacketConn = (*PacketConn)(nil)

var packetSetup func(pc *PacketConn)

// HandlePacketConn registers setup, which runs once, in the UDP listener's
// instance, when its first datagram arrives: the PacketConn it gets already
// holds that datagram. Use it instead of calling ListenPacket in main when
// the socket's users (pion's ICE mux, a server loop) must exist only in the
// UDP listener's instance and not in the component's HTTP or connection
// instances, which run main too.
func HandlePacketConn(setup func(pc *PacketConn)) { packetSetup = setup }

// UDPAddrs lists the bound addresses of the component's UDP listeners (after
// --map-port), from any instance of the component — an HTTP handler too,
// e.g. to put an ICE host candidate in an SDP answer. It asks the host each time.
func UDPAddrs() ([]net.Addr, error) {
	socks, err := host.UDPListeners()
	if err != nil {
		return nil, err
	}
	out := make([]net.Addr, 0, len(socks))
	for _, l := range socks {
		if ap, err := netip.ParseAddrPort(l.Local); err == nil {
			out = append(out, net.UDPAddrFromAddrPort(ap))
		}
	}
	return out, nil
}

func (c *PacketConn) deliver(socket uint32, peer string, data []byte) {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return // the host always sends ip:port; nothing to answer otherwise
	}
	ap = unmap(ap)
	c.mu.Lock()
	if len(c.peers) >= maxPeers {
		clear(c.peers)
	}
	c.peers[ap] = route{socket, peer}
	c.fallback[family(ap.Addr())] = socket
	c.mu.Unlock()
	c.q.put(datagram{socket, ap, data})
}

func family(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return 0
	}
	return 1
}

// ReadFrom reads one datagram into p (the rest of a longer one is dropped, as
// for a UDP socket) and returns its length and sender (*net.UDPAddr).
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	d, err := c.q.get()
	if err != nil {
		return 0, nil, c.opError("read", nil, err)
	}
	return copy(p, d.data), net.UDPAddrFromAddrPort(d.peer), nil
}

// WriteTo sends p as one datagram to addr (a *net.UDPAddr, or any net.Addr
// whose String is ip:port).
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ap, err := addrPort(addr)
	if err != nil {
		return 0, c.opError("write", addr, err)
	}
	c.mu.Lock()
	wdl := c.wdl
	r, ok := c.peers[ap]
	if !ok {
		r.wire = ap.String()
		r.socket, ok = c.socketFor(ap.Addr())
	}
	c.mu.Unlock()
	if c.q.closed {
		return 0, c.opError("write", addr, errClosed)
	}
	if !wdl.IsZero() && !time.Now().Before(wdl) {
		return 0, c.opError("write", addr, os.ErrDeadlineExceeded)
	}
	if !ok {
		return 0, c.opError("write", addr, errors.New("no UDP listener of this component is open (is there a [[component.udp]]?)"))
	}
	if err := host.UDPSend(r.socket, r.wire, p); err != nil {
		return 0, c.opError("write", addr, err)
	}
	return len(p), nil
}

// socketFor picks a listener for a peer no listener heard from yet. c.mu is held.
func (c *PacketConn) socketFor(a netip.Addr) (uint32, bool) {
	if s := c.fallback[family(a)]; s != 0 {
		return s, true
	}
	socks := c.listeners()
	for _, l := range socks {
		if ap, err := netip.ParseAddrPort(l.Local); err == nil && family(ap.Addr()) == family(a) {
			return l.Socket, true
		}
	}
	if len(socks) > 0 {
		return socks[0].Socket, true
	}
	return 0, false
}

// listeners asks the host once it has some (at pre-initialisation there are none yet).
func (c *PacketConn) listeners() []host.Listener {
	if c.sockets == nil {
		if socks, err := host.UDPListeners(); err == nil && len(socks) > 0 {
			c.sockets = socks
		}
	}
	return c.sockets
}

// LocalAddr is the address of the component's first UDP listener as bound
// (after any --map-port), or 0.0.0.0:0 outside a server.
func (c *PacketConn) LocalAddr() net.Addr {
	c.mu.Lock()
	socks := c.listeners()
	c.mu.Unlock()
	for _, l := range socks {
		if ap, err := netip.ParseAddrPort(l.Local); err == nil {
			return net.UDPAddrFromAddrPort(ap)
		}
	}
	return &net.UDPAddr{IP: net.IPv4zero}
}

// LocalAddrs lists every UDP listener's bound address.
func (c *PacketConn) LocalAddrs() []net.Addr {
	c.mu.Lock()
	socks := c.listeners()
	c.mu.Unlock()
	var out []net.Addr
	for _, l := range socks {
		if ap, err := netip.ParseAddrPort(l.Local); err == nil {
			out = append(out, net.UDPAddrFromAddrPort(ap))
		}
	}
	return out
}

// Close unblocks readers and stops delivery to this PacketConn (the host's
// listeners stay open: a later ListenPacket gets a new one).
func (c *PacketConn) Close() error {
	c.q.close()
	return nil
}

// SetDeadline sets the read and write deadlines.
func (c *PacketConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

// SetReadDeadline makes blocked and future ReadFroms fail with an error
// matching os.ErrDeadlineExceeded (Timeout() true) once t has passed; zero: none.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	c.q.setDeadline(t)
	return nil
}

// SetWriteDeadline makes WriteTo fail once t has passed (writes never block).
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return nil
}

// Dropped is how many datagrams arrived while 1024 were unread (or after Close).
func (c *PacketConn) Dropped() int {
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	return c.q.dropped
}

func (c *PacketConn) opError(op string, addr net.Addr, err error) error {
	if errors.Is(err, errClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "udp", Source: c.LocalAddr(), Addr: addr, Err: err}
}

func unmap(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }

// addrPort turns a net.Addr into ip:port (IPv4-mapped IPv6 as plain IPv4).
func addrPort(addr net.Addr) (netip.AddrPort, error) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		if a != nil {
			if ap := a.AddrPort(); ap.Addr().IsValid() {
				return unmap(ap), nil
			}
		}
	case nil:
	default:
		ap, err := netip.ParseAddrPort(a.String())
		return unmap(ap), err
	}
	return netip.AddrPort{}, errors.New("missing address")
}
