module {{name}}

go {{go_version}}

require github.com/wasm-server/wasm-server/sdk/go v0.0.0

replace github.com/wasm-server/wasm-server/sdk/go => {{sdk_dir}}/go
