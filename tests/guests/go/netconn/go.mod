module netconn

go 1.24

require github.com/wasm-server/wasm-server/sdk/go v0.0.0

replace github.com/wasm-server/wasm-server/sdk/go => ../../../../sdk/go
