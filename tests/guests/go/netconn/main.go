// A test guest for the Go SDK's net.PacketConn and net.Listener
// (tests/e2e/test_go_netconn.py). UDP, one instance for every datagram (the
// PacketConn made by HandlePacketConn on the first one):
//
//	"echo:X"  → "X" from a server loop blocked in ReadFrom
//	"later:X" → "late:X" 150 ms later, from a goroutine in time.Sleep (a timer
//	            that fires between events: the SDK's TimerTick wake-up)
//	"watch"   → "idle" once the loop's 300 ms read deadline passes with no
//	            datagram (a deadline between events: an exact wake-up)
//	"addr"    → the PacketConn's LocalAddr and the peer as ReadFrom saw it
//
// TCP: every connection is greeted with "hi <RemoteAddr> <LocalAddr>\n", then
// echoed by io.Copy until the peer closes.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	// the UDP side exists only in the listener's instance, from its first datagram on
	wasmserver.HandlePacketConn(func(pc *wasmserver.PacketConn) { go serveUDP(pc) })
	ln := wasmserver.Listen()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				fmt.Fprintf(c, "hi %s %s\n", c.RemoteAddr(), c.LocalAddr())
				_, _ = io.Copy(c, c)
			}(c)
		}
	}()
}

func serveUDP(pc net.PacketConn) {
	buf := make([]byte, 2048)
	var watcher net.Addr
	for {
		_ = pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, peer, err := pc.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if watcher != nil {
				_, _ = pc.WriteTo([]byte("idle"), watcher)
				watcher = nil
			}
			continue
		}
		if err != nil {
			return
		}
		msg := string(buf[:n])
		switch {
		case strings.HasPrefix(msg, "echo:"):
			_, _ = pc.WriteTo([]byte(msg[5:]), peer)
		case strings.HasPrefix(msg, "later:"):
			go func(text string, to net.Addr) {
				time.Sleep(150 * time.Millisecond)
				_, _ = pc.WriteTo([]byte("late:"+text), to)
			}(msg[6:], peer)
		case msg == "watch":
			watcher = peer
		case msg == "addr":
			_, _ = pc.WriteTo([]byte(fmt.Sprintf("%s %s", pc.LocalAddr(), peer)), peer)
		}
	}
}
