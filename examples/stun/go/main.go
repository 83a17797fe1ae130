//go:build wasip1

// A STUN server (RFC 5389 Binding) on pion/stun, served by wasm-server on the
// manifest's UDP listener: the SDK's PacketConn is an ordinary net.PacketConn.
package main

import (
	"log"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	go func() {
		if err := serve(wasmserver.ListenPacket()); err != nil {
			log.Printf("stun: %v", err) // the log package writes to the server log
		}
	}()
}
