// A test guest for the JS host's WASI (hosts/js/wasi.mjs) as Go's runtime
// uses it: time.Sleep goes through poll_oneoff, fmt writes stdout and
// stderr piecemeal. The studio runner's tests run it.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	wasmserver.HandleFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		fmt.Println("slept on", r.URL.Path)
		fmt.Fprint(os.Stderr, "no newline")
		fmt.Fprintln(w, "slept")
	})
}
