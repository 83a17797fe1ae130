package main

import (
	"net"
	"sync"
	"time"
)

// answerMux is the ICE UDP mux of the HTTP instance, which only writes the
// answer: it names the UDP listener's address as the one local candidate and
// hands pion a socket that never receives. The UDP instance builds the
// connection that carries traffic.
type answerMux struct{ addr *net.UDPAddr }

func (m answerMux) GetListenAddresses() []net.Addr                   { return []net.Addr{m.addr} }
func (m answerMux) GetConn(string, net.Addr) (net.PacketConn, error) { return newIdleConn(m.addr), nil }
func (m answerMux) RemoveConnByUfrag(string)                         {}
func (m answerMux) Close() error                                     { return nil }

// idleConn is a net.PacketConn that reads nothing until it is closed.
type idleConn struct {
	addr   net.Addr
	once   sync.Once
	closed chan struct{}
}

func newIdleConn(addr net.Addr) *idleConn { return &idleConn{addr: addr, closed: make(chan struct{})} }

func (c *idleConn) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.closed
	return 0, nil, net.ErrClosed
}
func (c *idleConn) WriteTo(p []byte, _ net.Addr) (int, error) { return len(p), nil }
func (c *idleConn) Close() error                              { c.once.Do(func() { close(c.closed) }); return nil }
func (c *idleConn) LocalAddr() net.Addr                       { return c.addr }
func (c *idleConn) SetDeadline(time.Time) error               { return nil }
func (c *idleConn) SetReadDeadline(time.Time) error           { return nil }
func (c *idleConn) SetWriteDeadline(time.Time) error          { return nil }

// answerOffer makes a session for offer, saves it for the UDP instance and
// returns the SDP answer.
func answerOffer(offer, address string) (string, error) {
	sweepSessions()
	s, err := newSession(offer, address)
	if err != nil {
		return "", err
	}
	addr, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return "", err
	}
	pc, err := s.newPeer(answerMux{addr}, answerLogFactory)
	if err != nil {
		return "", err
	}
	answer := pc.LocalDescription().SDP
	_ = pc.Close()
	if err := s.save(); err != nil {
		return "", err
	}
	return answer, nil
}
