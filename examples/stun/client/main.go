// A STUN client on pion/stun (built natively): sends -n Binding requests to
// -server one after another and checks that every XOR-MAPPED-ADDRESS is this
// client's own source address and port. Prints one JSON line: the local and
// mapped addresses and the requests per second. Exits 1 on any mismatch.
//
//	go run . -server 127.0.0.1:3478 -n 1000
//	go run . -server '[::1]:3478'
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/pion/stun/v3"
)

func main() {
	server := flag.String("server", "127.0.0.1:3478", "STUN server host:port")
	n := flag.Int("n", 1, "Binding requests to send, one after another")
	timeout := flag.Duration("timeout", 5*time.Second, "how long to wait for each answer")
	flag.Parse()
	if err := run(*server, *n, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "stun client:", err)
		os.Exit(1)
	}
}

func run(server string, n int, timeout time.Duration) error {
	conn, err := net.Dial("udp", server)
	if err != nil {
		return err
	}
	client, err := stun.NewClient(conn, stun.WithRTO(timeout))
	if err != nil {
		return err
	}
	defer client.Close()
	local := conn.LocalAddr().(*net.UDPAddr)
	var mapped stun.XORMappedAddress
	start := time.Now()
	for i := 0; i < n; i++ {
		var failed error
		err := client.Do(stun.MustBuild(stun.TransactionID, stun.BindingRequest), func(e stun.Event) {
			if e.Error != nil {
				failed = e.Error
				return
			}
			if e.Message.Type != stun.BindingSuccess {
				failed = fmt.Errorf("answer is %s, not a Binding success", e.Message.Type)
				return
			}
			failed = mapped.GetFrom(e.Message)
		})
		if err == nil {
			err = failed
		}
		if err != nil {
			return fmt.Errorf("request %d: %w", i+1, err)
		}
		if !mapped.IP.Equal(local.IP) || mapped.Port != local.Port {
			return fmt.Errorf("request %d: XOR-MAPPED-ADDRESS %s is not this client's address %s", i+1, &mapped, local)
		}
	}
	secs := time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"local": local.String(), "mapped": mapped.String(), "requests": n,
		"seconds": secs, "per_second": float64(n) / secs,
	})
}
