module reallibs/mux

go 1.24

require github.com/wasm-server/wasm-server/sdk/go v0.0.0

require github.com/gorilla/mux v1.8.1

replace github.com/wasm-server/wasm-server/sdk/go => ../../../../sdk/go
