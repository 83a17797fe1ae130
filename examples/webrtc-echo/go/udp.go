package main

import (
	"net"
	"net/netip"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

// running is the UDP instance's state, made on its first datagram.
var running *peers

// serveUDP starts pion in the UDP instance only: main runs in every instance,
// and the HTTP ones have no use for an ICE mux. The first datagram reaches the
// HandleUDP handler, which opens the PacketConn (every later datagram goes to
// it) and hands it the first one too.
func serveUDP() {
	wasmserver.HandleUDP(func(_ wasmserver.UDPSocket, peer string, data []byte) {
		if running != nil {
			return
		}
		ap, err := netip.ParseAddrPort(peer)
		if err != nil {
			return
		}
		first := &datagram{data: data, from: net.UDPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))}
		running = serve(wasmserver.ListenPacket(), first)
	})
}

type datagram struct {
	data []byte
	from net.Addr
}
