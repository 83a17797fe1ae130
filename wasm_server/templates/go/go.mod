module {{name}}

go {{go_version}}

require github.com/wasm-server/wasm-server/sdk/go {{go_sdk_version}}
