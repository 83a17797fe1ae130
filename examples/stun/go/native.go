//go:build !wasip1

// The same server as a native program, for comparison
// (go run . -listen 127.0.0.1:3478).
package main

import (
	"flag"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:3478", "UDP address to serve on")
	flag.Parse()
	pc, err := net.ListenPacket("udp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("stun: serving on %s", pc.LocalAddr())
	log.Fatal(serve(pc))
}
