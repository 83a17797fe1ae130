package main

// serveUDP hands the UDP listener to pion. TODO: the Go SDK's net.PacketConn (udp-go).
func serveUDP() {}
