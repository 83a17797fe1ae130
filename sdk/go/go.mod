module github.com/wasm-server/wasm-server/sdk/go

go 1.24
