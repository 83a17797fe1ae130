// A WebRTC data-channel echo with pion/webrtc: POST an SDP offer to /offer,
// get the answer, and every message on every data channel comes back.
//
// The HTTP instance that answers an offer and the UDP instance that carries
// the connection are different instances, so the answer is made twice from one
// session kept in the KV store (session.go): once here, to send it, and once in
// the UDP instance when the peer's first ICE check arrives (peers.go).
package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
	"github.com/wasm-server/wasm-server/sdk/go/variables"
)

//go:embed index.html
var page []byte

func main() {
	// pion's own timers are coarse (SCTP's delayed ack 200 ms, retransmits
	// from 1 s, ICE keepalives 2 s): waking the UDP instance every 50 ms
	// instead of the SDK's 10 ms costs an idle connection a fifth of the CPU
	wasmserver.TimerTick = 50 * time.Millisecond
	wasmserver.HandleFunc(serveHTTP)
	serveUDP()
}

func serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch path := wasmserver.PathInfo(r); {
	case path == "/offer" && r.Method == http.MethodPost:
		offer(w, r)
	case path == "/offer":
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST an offer", http.StatusMethodNotAllowed)
	case path == "/" || path == "" || path == "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	default:
		http.NotFound(w, r)
	}
}

// offer reads {"type": "offer", "sdp": "..."} and answers {"type": "answer", "sdp": "..."}.
func offer(w http.ResponseWriter, r *http.Request) {
	var desc webrtc.SessionDescription
	if err := json.NewDecoder(r.Body).Decode(&desc); err != nil || desc.Type != webrtc.SDPTypeOffer || desc.SDP == "" {
		http.Error(w, `expected JSON {"type": "offer", "sdp": "v=0..."}`, http.StatusBadRequest)
		return
	}
	address, err := iceAddress(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	answer, err := answerOffer(desc.SDP, address)
	if err != nil {
		http.Error(w, "cannot answer this offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
}

// iceAddress is the host candidate the answer names: the component's UDP
// listener as bound (after any --map-port), of the request's address family
// when there are several; a wildcard listener is named by the IP the client
// reached this server at (the Host header). The manifest variable ice_address
// ("ip:port") overrides it, for peers that reach the listener at another
// address (a NAT's port forwarding).
func iceAddress(r *http.Request) (string, error) {
	if configured, err := variables.Get("ice_address"); err == nil && configured != "" {
		if _, _, err := net.SplitHostPort(configured); err != nil {
			return "", fmt.Errorf("variable ice_address %q: %w", configured, err)
		}
		return configured, nil
	}
	// the host answers this in any instance, so the HTTP one learns the
	// listener's address although the UDP instance may not exist yet
	addrs, err := wasmserver.UDPAddrs()
	if err != nil {
		return "", err
	}
	if len(addrs) == 0 {
		return "", errors.New("this component has no UDP listener for ICE (add [[component.udp]])")
	}
	clientIP := requestIP(r)
	v6 := strings.Contains(clientIP, ":")
	chosen := addrs[0].(*net.UDPAddr)
	for _, a := range addrs {
		if u := a.(*net.UDPAddr); (u.IP.To4() == nil) == v6 {
			chosen = u
			break
		}
	}
	ip := chosen.IP.String()
	if chosen.IP.IsUnspecified() {
		ip = clientIP
		if v6 != (chosen.IP.To4() == nil) { // an IPv4 wildcard listener, a client over IPv6
			ip = "127.0.0.1"
		}
	}
	return net.JoinHostPort(ip, fmt.Sprint(chosen.Port)), nil
}

// requestIP is the IP literal of the Host header, else 127.0.0.1.
func requestIP(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return "127.0.0.1"
}
