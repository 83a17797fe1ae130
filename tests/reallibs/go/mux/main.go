// A gorilla/mux service: path variables with a pattern, method matching, a
// PathPrefix sub-router and query matching.
package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/gorilla/mux"
	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	r := mux.NewRouter()
	r.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "mux root") }).Methods("GET")
	items := r.PathPrefix("/items").Subrouter()
	items.HandleFunc("/{id:[0-9]+}", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("mux item %s", mux.Vars(r)["id"])
		fmt.Fprintf(w, "item %s\n", mux.Vars(r)["id"])
	}).Methods("GET")
	items.HandleFunc("/{id:[0-9]+}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}).Methods("DELETE")
	r.HandleFunc("/search", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "search %s\n", r.URL.Query().Get("q"))
	}).Queries("q", "{q}")
	wasmserver.Handle(r)
}
