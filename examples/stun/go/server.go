package main

import (
	"errors"
	"log"
	"net"

	"github.com/pion/stun/v3"
)

// serve answers every STUN Binding request on pc with the sender's address
// (XOR-MAPPED-ADDRESS, RFC 5389) until pc is closed. Anything that is not a
// Binding request is ignored, as a STUN server does.
func serve(pc net.PacketConn) error {
	buf := make([]byte, 1500)
	req, resp := new(stun.Message), new(stun.Message)
	for {
		n, peer, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		udp, ok := peer.(*net.UDPAddr)
		if !ok || !stun.IsMessage(buf[:n]) {
			continue
		}
		req.Raw = append(req.Raw[:0], buf[:n]...)
		if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
			continue
		}
		resp.Reset()
		err = resp.Build(
			stun.NewTransactionIDSetter(req.TransactionID),
			stun.BindingSuccess,
			&stun.XORMappedAddress{IP: udp.IP, Port: udp.Port},
			software,
			stun.Fingerprint,
		)
		if err != nil {
			log.Printf("stun: cannot answer %s: %v", peer, err)
			continue
		}
		if _, err := pc.WriteTo(resp.Raw, peer); err != nil {
			log.Printf("stun: cannot send to %s: %v", peer, err)
		}
	}
}

var software = stun.NewSoftware("wasm-server stun example (pion/stun)")
