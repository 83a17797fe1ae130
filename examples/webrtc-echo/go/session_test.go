package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// The design rests on this: two PeerConnections built from one session (the
// HTTP instance's and, after a JSON round trip through the KV store, the UDP
// instance's) write answers that agree on everything the peer keeps.
func TestTwoBuildsOfOneSessionAgree(t *testing.T) {
	offerer, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer offerer.Close()
	if _, err := offerer.CreateDataChannel("echo", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSession(offer.SDP, "127.0.0.1:3479")
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3479}
	first := answerOf(t, s, addr)

	stored, _ := json.Marshal(s)
	var again session
	if err := json.Unmarshal(stored, &again); err != nil {
		t.Fatal(err)
	}
	again.networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6} // as the UDP instance sets them
	second := answerOf(t, &again, addr)

	for _, attr := range []string{"a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:", "a=sctp-port:", "a=mid:", "a=ice-lite"} {
		a, b := lines(first, attr), lines(second, attr)
		if a == "" || a != b {
			t.Errorf("%s differs or is missing: %q vs %q", attr, a, b)
		}
	}
	if got := lines(first, "a=ice-ufrag:"); got != "a=ice-ufrag:"+s.Ufrag {
		t.Errorf("ufrag %q, want the session's %q", got, s.Ufrag)
	}
	if !strings.Contains(first, " 127.0.0.1 3479 typ host") {
		t.Errorf("the answer does not name the listener:\n%s", first)
	}
}

func answerOf(t *testing.T, s *session, addr *net.UDPAddr) string {
	t.Helper()
	pc, err := s.newPeer(answerMux{addr}, answerLogFactory)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalDescription().SDP
}

// lines are the SDP lines starting with prefix, joined.
func lines(sdp, prefix string) string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "|")
}

func TestBindingUfrag(t *testing.T) {
	// a Binding request with USERNAME "local:remote" (RFC 5389 header + one attribute)
	user := "abcd1234:wxyz"
	msg := []byte{0x00, 0x01, 0x00, byte(4 + 16), 0x21, 0x12, 0xa4, 0x42}
	msg = append(msg, make([]byte, 12)...)
	msg = append(msg, 0x00, 0x06, 0x00, byte(len(user)))
	msg = append(msg, user...)
	msg = append(msg, 0, 0, 0) // pad 13 to 16
	if got, ok := bindingUfrag(msg); !ok || got != "abcd1234" {
		t.Fatalf("bindingUfrag = %q, %v", got, ok)
	}
	if _, ok := bindingUfrag([]byte("not stun at all, a DTLS record perhaps")); ok {
		t.Fatal("a non-STUN datagram gave a ufrag")
	}
}
