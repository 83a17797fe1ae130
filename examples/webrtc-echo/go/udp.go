package main

import wasmserver "github.com/wasm-server/wasm-server/sdk/go"

// serveUDP starts pion in the UDP listener's instance only: main runs in
// every instance, and the HTTP ones have no use for an ICE mux. The SDK runs
// the setup on that instance's first datagram, with the datagram already
// queued in the PacketConn.
func serveUDP() {
	wasmserver.HandlePacketConn(func(pc *wasmserver.PacketConn) { serve(pc) })
}
