// Package variables reads the component's variables from the manifest.
package variables

import "github.com/wasm-server/wasm-server/sdk/go/internal/host"

// Get returns the variable name; an undefined one is an error matching wasmserver.ErrNotFound.
func Get(name string) (string, error) {
	b, err := host.VarGet(name)
	return string(b), err
}
