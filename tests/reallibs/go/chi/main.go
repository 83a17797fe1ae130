// A chi service: middleware (RequestID, Logger, Recoverer), URL params, a sub-router
// mounted under /api, and a panic that the Recoverer turns into a 500.
package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	wasmserver "github.com/wasm-server/wasm-server/sdk/go"
)

func main() {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Logger, middleware.Recoverer)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "chi root")
	})
	r.Route("/api", func(api chi.Router) {
		api.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Api", "v1")
				next.ServeHTTP(w, r)
			})
		})
		api.Get("/users/{id:[0-9]+}", func(w http.ResponseWriter, r *http.Request) {
			log.Printf("chi user %s", chi.URLParam(r, "id"))
			fmt.Fprintf(w, "user %s\n", chi.URLParam(r, "id"))
		})
		api.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 1024)
			n, _ := r.Body.Read(buf)
			w.WriteHeader(http.StatusCreated)
			w.Write(buf[:n])
		})
	})
	r.Get("/panic", func(w http.ResponseWriter, r *http.Request) { panic("chi handler panicked") })
	wasmserver.Handle(r)
}
