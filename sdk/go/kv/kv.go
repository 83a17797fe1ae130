// Package kv is the key-value store of wasm-server: stores are named in the
// manifest (key_value_stores = ["default"]); using another name fails with
// wasmserver.ErrDenied. Values are bytes; counters are decimal ASCII.
package kv

import "github.com/wasm-server/wasm-server/sdk/go/internal/host"

// Store is a named store.
type Store struct{ name string }

// Open returns the store called name. It does not call the host: a store the
// manifest does not declare fails at its first use with wasmserver.ErrDenied.
func Open(name string) *Store { return &Store{name: name} }

// Name is the store's name.
func (s *Store) Name() string { return s.name }

// Get reads key; an absent key is an error matching wasmserver.ErrNotFound.
func (s *Store) Get(key string) ([]byte, error) { return host.KVGet(s.name, key) }

// Set writes key.
func (s *Store) Set(key string, value []byte) error { return host.KVSet(s.name, key, value) }

// Delete removes key (no error when it is absent).
func (s *Store) Delete(key string) error { return host.KVDelete(s.name, key) }

// Exists reports whether key is present.
func (s *Store) Exists(key string) (bool, error) { return host.KVExists(s.name, key) }

// Keys lists the keys starting with prefix ("" for all), sorted.
func (s *Store) Keys(prefix string) ([]string, error) {
	raw, err := host.KVKeys(s.name, prefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(raw))
	for i, k := range raw {
		keys[i] = string(k)
	}
	return keys, nil
}

// Incr atomically adds delta to the counter at key (absent counts as 0) and
// returns the new value; a value that is not a decimal integer is wasmserver.ErrInvalid.
func (s *Store) Incr(key string, delta int64) (int64, error) { return host.KVIncr(s.name, key, delta) }
