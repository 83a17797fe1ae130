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
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"
	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
	"github.com/wasm-server/wasm-server/sdk/go/variables"
)

//go:embed index.html
var page []byte

func main() {
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

// iceAddress is the host candidate the answer names: the manifest variable
// ice_address ("ip:port"); a wildcard or empty ip there means the address the
// client reached this server at (the Host header), so one manifest serves
// 127.0.0.1 and ::1 alike.
func iceAddress(r *http.Request) (string, error) {
	configured, err := variables.Get("ice_address")
	if err != nil {
		return "", fmt.Errorf("the manifest sets no variable ice_address (the UDP listener's address): %w", err)
	}
	host, port, err := net.SplitHostPort(configured)
	if err != nil {
		return "", fmt.Errorf("variable ice_address %q: %w", configured, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = requestIP(r)
	}
	return net.JoinHostPort(host, port), nil
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
