// The echo protocol (RFC 862) over TCP: every byte received is sent back.
package main

import wasmserver "github.com/wasm-server/wasm-server/sdk/go"

func main() {
	wasmserver.HandleTCP(nil, func(c wasmserver.Conn, data []byte) error {
		return c.Send(data) // an error closes the connection
	}, nil)
}
