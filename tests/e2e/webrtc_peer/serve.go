package main

import (
	"encoding/json"
	"net"
	"net/http"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// serveNative is the echo service built natively, for benchmarks/webrtc_echo.py's
// baseline: the same pion settings as examples/webrtc-echo/go (ICE lite, one UDP
// mux on one port, mDNS off), one process, no wasm and no KV session.
func serveNative(httpAddr, udpAddr, page string) error {
	conn, err := net.ListenPacket("udp", udpAddr)
	if err != nil {
		return err
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
	var s webrtc.SettingEngine
	s.SetICEUDPMux(mux)
	s.SetLite(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetIncludeLoopbackCandidate(true)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(s))
	if page != "" { // the example's page, for Chromium
		http.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, page) })
	}
	http.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		var offer webrtc.SessionDescription
		if err := json.NewDecoder(r.Body).Decode(&offer); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		pc.OnDataChannel(func(d *webrtc.DataChannel) {
			d.OnMessage(func(m webrtc.DataChannelMessage) {
				if m.IsString {
					_ = d.SendText(string(m.Data))
				} else {
					_ = d.Send(m.Data)
				}
			})
		})
		pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateClosed || st == webrtc.PeerConnectionStateFailed {
				go pc.Close()
			}
		})
		if err := pc.SetRemoteDescription(offer); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(answer); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		<-gathered
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(pc.LocalDescription())
	})
	return http.ListenAndServe(httpAddr, nil)
}
