//! {{name}}: a wasm-server service in Rust. Build and serve: `wasm-server up .`

use wasm_server::kv::Store;
use wasm_server::{Error, Request, Response};

fn handle(req: Request) -> Result<Response, Error> {
    // count visits in the KV store (declared in wasm-server.toml)
    let visits = Store::open("default")?.incr(b"visits", 1)?;
    Ok(Response::text(200, format!("Hello from {{name}}!\nyou asked for {} (visit {})\n", req.path_info(), visits)))
}

wasm_server::http_handler!(handle);
