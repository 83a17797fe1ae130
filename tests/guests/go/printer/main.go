// A test guest that prints the way Go services do: fmt.Println to stdout, a
// log.Logger on os.Stderr (as chi's Recoverer writes its stack traces), and
// the log package (which the SDK sends to the host's log import). /static/
// is Go's own http.FileServer (its HEAD answers carry GET's Content-Length).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"testing/fstest"

	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	stderr := log.New(os.Stderr, "", 0) // no timestamps: the server log has its own
	files := fstest.MapFS{"f.txt": {Data: []byte("0123456789abcde\n")}}
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static", http.FileServer(http.FS(files))))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("fmt.Println says", r.URL.Path)
		stderr.Printf("stderr logger says %s", r.URL.Query().Get("q"))
		log.Printf("log.Printf says %s", r.URL.Query().Get("q"))
		if r.URL.Path == "/multi" {
			// one write, several lines, the last without its newline
			fmt.Fprint(os.Stderr, strings.Join([]string{"line one", "line two", "no newline"}, "\n"))
		}
		fmt.Fprintln(w, "printed")
	})
	wasmserver.Handle(mux)
}
