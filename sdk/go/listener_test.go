package wasmserver

import (
	"io"
	"net"
	"testing"
)

// The Listener's connections, natively: connect, data and close events become
// Accept, Read and io.EOF.
func TestListenerAcceptsAndReadsUntilEOF(t *testing.T) {
	listener, conns.byID, conns.last = nil, nil, nil
	t.Cleanup(func() { listener, settleHook = nil, nil })
	ln := Listen()
	if rc, ok := listenerEvent(kindTCPConnect, 7, "[::1]:4000", "[::1]:7", nil); !ok || rc != 0 {
		t.Fatalf("connect: %d %v", rc, ok)
	}
	listenerEvent(kindTCPData, 7, "", "", []byte("hello "))
	listenerEvent(kindTCPData, 7, "", "", []byte("world"))
	listenerEvent(kindTCPClose, 7, "", "", nil)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAddr().String() != "[::1]:4000" || c.LocalAddr().String() != "[::1]:7" || ln.Addr().String() != "[::1]:7" {
		t.Fatalf("addresses %v %v %v", c.RemoteAddr(), c.LocalAddr(), ln.Addr())
	}
	if _, ok := c.RemoteAddr().(*net.TCPAddr); !ok {
		t.Fatalf("RemoteAddr is %T", c.RemoteAddr())
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("read %q %v", got, err)
	}
	_ = ln.Close()
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Accept after Close must fail")
	}
}
