//! Server-Sent Events from Rust: ?n= ticks (default 10), ?ms= apart (default 1000).

use wasm_server::net::sleep_ms;
use wasm_server::{stream, Request, Response};

fn arg(query: &str, name: &str, default: u32) -> u32 {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

fn clock(req: Request) -> Response {
    let (n, ms) = (arg(req.query(), "n", 10), arg(req.query(), "ms", 1000));
    if n == 0 || n > 3600 || ms > 60_000 {
        return Response::text(400, "n must be 1..3600 and ms 0..60000\n");
    }
    if stream::start(200, &[("content-type", "text/event-stream"), ("cache-control", "no-cache")]).is_err() {
        return Response::text(500, "cannot stream\n");
    }
    for i in 1..=n {
        if stream::write(format!("id: {}\nevent: tick\ndata: tick {} of {}\n\n", i, i, n).as_bytes()).is_err() {
            break; // the client went away
        }
        if i < n {
            let _ = sleep_ms(ms);
        }
    }
    stream::finished()
}

wasm_server::http_handler!(clock);
