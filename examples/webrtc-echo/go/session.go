package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
	"github.com/wasm-server/wasm-server/sdk/go/kv"
)

// A session is what the HTTP instance that answered an offer leaves in the KV
// store for the UDP instance, which builds the same PeerConnection when the
// peer's first ICE check (a STUN Binding request naming Ufrag) arrives. Two
// pion PeerConnections built from one session write the same answer: same ICE
// credentials, same DTLS certificate (so the same fingerprint), same DTLS role,
// same candidate, and the offer decides the rest.
type session struct {
	Ufrag   string    `json:"ufrag"`
	Pwd     string    `json:"pwd"`
	CertPEM string    `json:"cert"`    // private key and certificate, PEM
	Offer   string    `json:"offer"`   // the peer's SDP offer
	Address string    `json:"address"` // the host candidate the answer names, "ip:port"
	Created time.Time `json:"created"`

	cert     *webrtc.Certificate  // parsed from CertPEM by api
	networks []webrtc.NetworkType // the UDP instance's; else the family of Address
}

// sessionTTL bounds how long an answered offer waits for its first ICE check.
const sessionTTL = 60 * time.Second

var store = kv.Open("default")

func sessionKey(ufrag string) string { return "webrtc-echo/session/" + ufrag }

// newSession makes fresh credentials and a DTLS certificate for one offer.
func newSession(offer, address string) (*session, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, err
	}
	pem, err := cert.PEM()
	if err != nil {
		return nil, err
	}
	// RFC 8839: ufrag at least 4 and pwd at least 22 ice-chars; these have 16 and 32
	return &session{Ufrag: randomString(16), Pwd: randomString(32), CertPEM: pem, Offer: offer,
		Address: address, Created: time.Now()}, nil
}

func (s *session) save() error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return store.Set(sessionKey(s.Ufrag), data)
}

// loadSession reads the session of ufrag. It stays in the store until a
// connection is up: with --workers N, checks from a peer's several candidates
// may reach several workers, and the one on the pair ICE selects must find it
// too. A stale one is deleted and an error.
func loadSession(ufrag string) (*session, error) {
	data, err := store.Get(sessionKey(ufrag))
	if err != nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	if time.Since(s.Created) > sessionTTL {
		dropSession(ufrag)
		return nil, errors.New("session expired before its connection was up")
	}
	return &s, nil
}

func dropSession(ufrag string) { _ = store.Delete(sessionKey(ufrag)) }

// sweepSessions deletes the sessions whose peer never connected (the HTTP
// handler runs it before adding one, so the store holds at most the offers
// of the last sessionTTL).
func sweepSessions() {
	keys, err := store.Keys(sessionKey(""))
	if err != nil {
		return
	}
	for _, k := range keys {
		_, _ = loadSession(k[len(sessionKey("")):])
	}
}

const iceChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // WASI random_get does not fail
	}
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)]
	}
	return string(b)
}

// api is the pion configuration both instances use. What each setting avoids
// under wasip1 is in docs/realtime.md (WebRTC):
//   - ICE over one UDP mux (the listener): no per-peer sockets, no interface scan;
//   - ICE lite: a server with a known address only answers checks, so the agent
//     starts no check timers of its own;
//   - mDNS off: no multicast socket (and none exists under wasip1);
//   - one network type, so the agent asks the mux for one local candidate.
func (s *session) api(mux ice.UDPMux, logs logging.LoggerFactory) (*webrtc.API, error) {
	cert, err := webrtc.CertificateFromPEM(s.CertPEM)
	if err != nil {
		return nil, fmt.Errorf("session certificate: %w", err)
	}
	addr, err := net.ResolveUDPAddr("udp", s.Address)
	if err != nil {
		return nil, err
	}
	var e webrtc.SettingEngine
	e.SetICEUDPMux(mux)
	e.SetLite(true)
	e.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	e.SetICECredentials(s.Ufrag, s.Pwd)
	switch {
	case s.networks != nil:
		e.SetNetworkTypes(s.networks)
	case addr.IP.To4() != nil:
		e.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	default:
		e.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP6})
	}
	e.SetIncludeLoopbackCandidate(true)
	e.LoggerFactory = logs
	// the certificate goes through the Configuration; remember it for newPeer
	s.cert = cert
	return webrtc.NewAPI(webrtc.WithSettingEngine(e)), nil
}

// pion's log lines reach the server log through stderr, errors only: pion
// warns on every ordinary close (a DTLS alert after its endpoint closed, a
// read on a closed candidate), and the HTTP instance closes its connection as
// soon as the answer is written (pion warns the transports it was starting
// were cancelled).
var logFactory, answerLogFactory = pionLogs(logging.LogLevelError), pionLogs(logging.LogLevelError)

func pionLogs(level logging.LogLevel) *logging.DefaultLoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = level
	return f
}

// newPeer is the PeerConnection of a session with its offer applied and the
// answer set as the local description.
func (s *session) newPeer(mux ice.UDPMux, logs logging.LoggerFactory) (*webrtc.PeerConnection, error) {
	api, err := s.api(mux, logs)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{*s.cert}})
	if err != nil {
		return nil, err
	}
	if err := s.answer(pc); err != nil {
		_ = pc.Close()
		return nil, err
	}
	return pc, nil
}

func (s *session) answer(pc *webrtc.PeerConnection) error {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.Offer}); err != nil {
		return fmt.Errorf("the offer: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return err
	}
	<-gathered // one host candidate from the mux: the answer then carries it
	return nil
}
