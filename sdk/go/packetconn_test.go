package wasmserver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// The PacketConn's queue, addresses and deadlines, natively (no host: WriteTo fails).

func newPC(t *testing.T) *PacketConn {
	packetConn = nil
	t.Cleanup(func() { packetConn, settleHook = nil, nil }) // other tests see an SDK without one
	return ListenPacket()
}

func TestReadFromReturnsDatagramsInOrderWithUDPAddrs(t *testing.T) {
	pc := newPC(t)
	pc.deliver(1, "127.0.0.1:5000", []byte("one"))
	pc.deliver(2, "[::1]:6000", []byte("two"))
	pc.deliver(3, "[::ffff:10.0.0.1]:7000", []byte("three"))
	buf := make([]byte, 2)
	want := []struct{ data, addr string }{{"on", "127.0.0.1:5000"}, {"tw", "[::1]:6000"}, {"th", "10.0.0.1:7000"}}
	for _, w := range want {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != w.data || addr.String() != w.addr {
			t.Fatalf("got %q %v %v, want %q %s", buf[:n], addr, err, w.data, w.addr)
		}
		if _, ok := addr.(*net.UDPAddr); !ok {
			t.Fatalf("addr is %T", addr)
		}
	}
	// replies go back through the listener (and address form) that heard the peer
	r := pc.peers[unmapAddr(t, "10.0.0.1:7000")]
	if r.socket != 3 || r.wire != "[::ffff:10.0.0.1]:7000" {
		t.Fatalf("route %+v", r)
	}
}

func unmapAddr(t *testing.T, s string) netip.AddrPort {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := addrPort(a)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func TestReadDeadlineAndSetReadDeadlineWakeABlockedReader(t *testing.T) {
	pc := newPC(t)
	_ = pc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := pc.ReadFrom(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v", err)
	}
	_ = pc.SetReadDeadline(time.Time{})
	done := make(chan error)
	go func() { _, _, err := pc.ReadFrom(make([]byte, 10)); done <- err }()
	time.Sleep(10 * time.Millisecond)
	if wake := nextWake(); wake >= 0 && TimerTick == 0 {
		t.Fatalf("a reader with no deadline needs no wake-up, got %v", wake)
	}
	_ = pc.SetReadDeadline(time.Now().Add(-time.Second)) // in the past: the blocked reader gives up
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestNextWakeIsTheEarliestDeadlineOfABlockedReader(t *testing.T) {
	pc := newPC(t)
	_ = pc.SetReadDeadline(time.Now().Add(time.Hour))
	go func() { _, _, _ = pc.ReadFrom(make([]byte, 10)) }()
	time.Sleep(10 * time.Millisecond)
	tick := TimerTick
	TimerTick = 0
	defer func() { TimerTick = tick }()
	if wake := nextWake(); wake < 59*time.Minute || wake > time.Hour {
		t.Fatalf("wake = %v", wake)
	}
	_ = pc.Close()
}

func TestCloseUnblocksReadersAndStopsDelivery(t *testing.T) {
	pc := newPC(t)
	done := make(chan error)
	go func() { _, _, err := pc.ReadFrom(make([]byte, 10)); done <- err }()
	time.Sleep(10 * time.Millisecond)
	_ = pc.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	if ListenPacket() == pc {
		t.Fatal("a closed PacketConn is not handed out again")
	}
}

func TestDatagramsPastTheQueueAreDropped(t *testing.T) {
	pc := newPC(t)
	for i := 0; i < 1030; i++ {
		pc.deliver(1, "127.0.0.1:1", []byte{1})
	}
	if pc.Dropped() != 6 {
		t.Fatalf("dropped %d", pc.Dropped())
	}
}

func TestWriteToWithoutAHostFails(t *testing.T) {
	pc := newPC(t)
	if _, err := pc.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err == nil {
		t.Fatal("no host, no listener: WriteTo must fail")
	}
	_ = pc.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := pc.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestHandlePacketConnRunsSetupOnTheFirstDatagramWhichItHolds(t *testing.T) {
	packetConn = nil
	t.Cleanup(func() { packetConn, settleHook, packetSetup = nil, nil, nil })
	calls := 0
	var got string
	HandlePacketConn(func(pc *PacketConn) {
		calls++
		buf := make([]byte, 10)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Error(err)
		}
		got = string(buf[:n])
	})
	datagram := func(data string) []byte {
		peer := "127.0.0.1:9"
		b := []byte{1, 0, 0, 0, byte(len(peer)), 0, 0, 0}
		b = append(b, peer...)
		b = append(b, byte(len(data)), 0, 0, 0)
		return append(b, data...)
	}
	if rc := udpEvent(datagram("first")); rc != 0 || calls != 1 || got != "first" {
		t.Fatalf("rc %d, %d calls, read %q", rc, calls, got)
	}
	if rc := udpEvent(datagram("second")); rc != 0 || calls != 1 {
		t.Fatalf("rc %d, %d calls", rc, calls)
	}
	if n, _, _ := packetConn.ReadFrom(make([]byte, 10)); n != len("second") {
		t.Fatalf("the second datagram is queued for ReadFrom, read %d", n)
	}
}
