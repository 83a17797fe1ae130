module reallibs/chi

go 1.24

require github.com/wasm-server/wasm-server/sdk/go v0.0.0

require github.com/go-chi/chi/v5 v5.5.0

replace github.com/wasm-server/wasm-server/sdk/go => ../../../../sdk/go
