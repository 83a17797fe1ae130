//! Hello from Rust: answers every GET with a greeting and the path it saw.

use wasm_server::{Request, Response};

fn hello(req: Request) -> Response {
    // path_info is the path below the route's prefix, so the answer is the
    // same whether this runs alone or mounted under /hello/rust
    Response::text(200, format!("Hello from Rust\npath: {}\n", req.path_info()))
}

wasm_server::http_handler!(hello);
