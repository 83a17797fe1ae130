package main

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// peers is the UDP instance's state: one ICE UDP mux over the listener and
// the PeerConnections it carries, by the local ICE ufrag of their session.
type peers struct {
	mux   *listenerMux
	mu    sync.Mutex
	conns map[string]*webrtc.PeerConnection
}

// listenerMux is pion's UDP mux over the listener, naming concrete local
// addresses when the listener is bound to a wildcard (pion would otherwise
// enumerate interfaces, and wasip1 has none to list).
type listenerMux struct {
	*ice.UDPMuxDefault
	addrs []net.Addr
}

func (m *listenerMux) GetListenAddresses() []net.Addr { return m.addrs }

// serve runs ICE, DTLS, SCTP and the echo over conn, the UDP listener.
func serve(conn net.PacketConn) *peers {
	p := &peers{conns: map[string]*webrtc.PeerConnection{}}
	watched := &watchConn{PacketConn: conn, peers: p}
	p.mux = &listenerMux{
		UDPMuxDefault: ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: watched, Logger: logFactory.NewLogger("ice-mux")}),
		addrs:         localAddrs(conn.LocalAddr()),
	}
	return p
}

// networkTypes are the ICE network types of addrs (pion asks the mux for a
// local candidate per type).
func networkTypes(addrs []net.Addr) []webrtc.NetworkType {
	var types []webrtc.NetworkType
	for _, a := range addrs {
		if u, ok := a.(*net.UDPAddr); ok && u.IP.To4() != nil {
			types = append(types, webrtc.NetworkTypeUDP4)
		} else {
			types = append(types, webrtc.NetworkTypeUDP6)
		}
	}
	return types
}

func localAddrs(a net.Addr) []net.Addr {
	u, ok := a.(*net.UDPAddr)
	if !ok || !u.IP.IsUnspecified() {
		return []net.Addr{a}
	}
	return []net.Addr{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: u.Port}, &net.UDPAddr{IP: net.IPv6loopback, Port: u.Port}}
}

// watchConn is the listener as the mux reads it: a STUN Binding request for a
// ufrag the mux does not know yet creates that session's PeerConnection before
// the mux sees the request, so the first ICE check is answered, not dropped.
type watchConn struct {
	net.PacketConn
	peers *peers
}

func (c *watchConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		if ufrag, ok := bindingUfrag(b[:n]); ok {
			c.peers.open(ufrag)
		}
	}
	return n, from, err
}

// bindingUfrag is the local ufrag of a STUN Binding request ("local:remote" in USERNAME).
func bindingUfrag(b []byte) (string, bool) {
	if !stun.IsMessage(b) {
		return "", false
	}
	var m stun.Message
	m.Raw = append(m.Raw[:0], b...)
	if m.Decode() != nil || m.Type != stun.BindingRequest {
		return "", false
	}
	var user stun.Username
	if user.GetFrom(&m) != nil {
		return "", false
	}
	local, _, ok := cut(string(user), ":")
	return local, ok && local != ""
}

func cut(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// open builds the PeerConnection of ufrag's session unless it exists.
func (p *peers) open(ufrag string) {
	p.mu.Lock()
	_, known := p.conns[ufrag]
	p.mu.Unlock()
	if known {
		return
	}
	s, err := loadSession(ufrag)
	if err != nil {
		return // a stray or stale check: the mux drops it
	}
	s.networks = networkTypes(p.mux.addrs)
	pc, err := s.newPeer(p.mux, logFactory)
	if err != nil {
		slog.Warn("webrtc-echo: cannot build the peer", "ufrag", ufrag, "err", err)
		return
	}
	p.mu.Lock()
	p.conns[ufrag] = pc
	live := len(p.conns)
	p.mu.Unlock()
	slog.Info("webrtc-echo: peer checking in", "ufrag", ufrag, "live", live)
	pc.OnDataChannel(echo)
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		switch state {
		case webrtc.PeerConnectionStateConnected:
			dropSession(ufrag) // the pair is chosen; see loadSession
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.forget(ufrag, pc, state.String())
		}
	})
	// a connection that is not up within the session's lifetime never will
	// be (e.g. its checks went to another worker); ICE lite has no timeout
	// of its own for a pair that is never selected
	time.AfterFunc(sessionTTL, func() {
		if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			p.forget(ufrag, pc, "never connected")
		}
	})
}

// forget drops ufrag's connection and closes it, once.
func (p *peers) forget(ufrag string, pc *webrtc.PeerConnection, why string) {
	p.mu.Lock()
	current, was := p.conns[ufrag]
	if was && current == pc {
		delete(p.conns, ufrag)
	}
	live := len(p.conns)
	p.mu.Unlock()
	if was && current == pc {
		slog.Info("webrtc-echo: peer gone", "ufrag", ufrag, "why", why, "live", live)
		go pc.Close()
	}
}

// echo sends every message of d back on d, text as text.
func echo(d *webrtc.DataChannel) {
	d.OnMessage(func(m webrtc.DataChannelMessage) {
		var err error
		if m.IsString {
			err = d.SendText(string(m.Data))
		} else {
			err = d.Send(m.Data)
		}
		if err != nil {
			slog.Warn("webrtc-echo: send failed", "channel", d.Label(), "err", err)
		}
	})
}
