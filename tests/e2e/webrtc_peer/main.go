// webrtc_peer is a native pion/webrtc peer for tests/e2e/test_webrtc_echo.py:
// it POSTs its offer to the echo service, opens a data channel, sends n
// messages (at most -window unanswered at a time) and checks that each comes
// back in order (-serve: the echo service itself, natively, as a benchmark
// baseline). It prints one JSON line: set-up time (offer POST to channel
// open) and echoes per second. Exit status 1 and a message on any failure.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

type report struct {
	SetupMs   float64 `json:"setup_ms"`
	PerSecond float64 `json:"per_second"`
	N         int     `json:"n"`
	Window    int     `json:"window"`
	Size      int     `json:"size"`
	// ms after the offer POST: answer, ICE connected, DTLS+SCTP connected
	Phases map[string]float64 `json:"phases"`
	// the service's side of the selected ICE candidate pair, "ip:port"
	Remote string `json:"remote"`
}

func main() {
	url := flag.String("url", "", "the service's offer URL, e.g. http://127.0.0.1:8080/offer")
	n := flag.Int("n", 200, "messages to send")
	window := flag.Int("window", 1, "messages in flight at most")
	size := flag.Int("size", 32, "bytes per message (binary)")
	timeout := flag.Duration("timeout", 30*time.Second, "for the whole run")
	hold := flag.Duration("hold", 0, "keep the connection open this long after the echoes (idle cost)")
	serve := flag.String("serve", "", "instead: serve the echo natively, HTTP on this address (a baseline)")
	udp := flag.String("udp", "127.0.0.1:0", "with -serve: the ICE UDP address")
	page := flag.String("page", "", "with -serve: an HTML file to serve at /")
	flag.Parse()
	if *serve != "" {
		fmt.Fprintln(os.Stderr, "webrtc_peer:", serveNative(*serve, *udp, *page))
		os.Exit(1)
	}
	r, err := run(*url, *n, *window, *size, *timeout, *hold)
	if err != nil {
		fmt.Fprintln(os.Stderr, "webrtc_peer:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func run(url string, n, window, size int, timeout, hold time.Duration) (*report, error) {
	var s webrtc.SettingEngine
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// the service is on loopback: gather loopback candidates only, so every ICE check
	// and its answer stay on 127.0.0.1 / ::1
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	ordered := true
	dc, err := pc.CreateDataChannel("echo", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return nil, err
	}
	opened := make(chan struct{})
	echoes := make(chan []byte, window+1)
	dc.OnOpen(func() { close(opened) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) { echoes <- m.Data })
	failed := make(chan struct{})
	var t0 time.Time
	var phaseMu sync.Mutex
	phases := map[string]float64{}
	phase := func(name string) {
		phaseMu.Lock()
		defer phaseMu.Unlock()
		if _, seen := phases[name]; !seen && !t0.IsZero() {
			phases[name] = float64(time.Since(t0).Microseconds()) / 1000
		}
	}
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) { phase("ice_" + st.String()) })
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		phase("pc_" + st.String())
		if st == webrtc.PeerConnectionStateFailed {
			close(failed)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	<-gathered
	deadline := time.After(timeout)
	phaseMu.Lock()
	t0 = time.Now()
	phaseMu.Unlock()
	answer, err := post(url, *pc.LocalDescription())
	if err != nil {
		return nil, err
	}
	phase("answer")
	if os.Getenv("WEBRTC_PEER_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "answer after %v:\n%s\n", time.Since(t0), answer.SDP)
	}
	if err := pc.SetRemoteDescription(*answer); err != nil {
		return nil, fmt.Errorf("the answer: %w", err)
	}
	select {
	case <-opened:
	case <-failed:
		return nil, errors.New("ICE/DTLS connection failed")
	case <-deadline:
		return nil, fmt.Errorf("no open data channel after %v (ICE %s, connection %s)", timeout,
			pc.ICEConnectionState(), pc.ConnectionState())
	}
	setup := time.Since(t0)
	remote := ""
	if pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
		remote = net.JoinHostPort(pair.Remote.Address, fmt.Sprint(pair.Remote.Port))
	}
	t1 := time.Now()
	msg := func(i int) []byte {
		b := bytes.Repeat([]byte{byte(i)}, size)
		copy(b, fmt.Sprint(i))
		return b
	}
	sent, got := 0, 0
	for got < n {
		for sent < n && sent-got < window {
			if err := dc.Send(msg(sent)); err != nil {
				return nil, fmt.Errorf("send %d: %w", sent, err)
			}
			sent++
		}
		select {
		case data := <-echoes:
			if !bytes.Equal(data, msg(got)) {
				return nil, fmt.Errorf("echo %d: got %q", got, data)
			}
			got++
		case <-deadline:
			return nil, fmt.Errorf("%d of %d echoes after %v", got, n, timeout)
		}
	}
	elapsed := time.Since(t1)
	time.Sleep(hold)
	return &report{SetupMs: float64(setup.Microseconds()) / 1000, PerSecond: float64(n) / elapsed.Seconds(),
		N: n, Window: window, Size: size, Phases: phases, Remote: remote}, nil
}

func post(url string, offer webrtc.SessionDescription) (*webrtc.SessionDescription, error) {
	body, _ := json.Marshal(offer)
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return nil, fmt.Errorf("POST %s: %s: %s", url, res.Status, b.String())
	}
	var answer webrtc.SessionDescription
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		return nil, err
	}
	return &answer, nil
}
