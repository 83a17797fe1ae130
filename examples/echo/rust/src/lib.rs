//! Echo a request back (method, target, x-test-* headers, body), fetch a URL
//! through the host, and echo WebSocket messages: the parity example.

use wasm_server::net::{Conn, WebSocketHandler};
use wasm_server::{http, ErrorKind, Request, Response};

fn echo(req: &Request) -> Response {
    let mut res = Response::new(200)
        .header("x-echo-method", req.method())
        .header("x-echo-url", req.url())
        .header("x-echo-path", req.path_info());
    for (name, value) in req.headers() {
        if name.starts_with("x-test-") {
            res = res.header(&format!("x-echo-{}", name), value);
        }
    }
    let content_type = req.header_bytes("content-type").unwrap_or(b"application/octet-stream");
    res.header("content-type", content_type).body(req.body().to_vec())
}

fn fetch(req: &Request) -> Response {
    let url = match req.header("x-fetch-url") {
        Some(url) => url,
        None => return Response::text(400, "send the URL in x-fetch-url\n"),
    };
    match http::get(url) {
        Ok(up) => Response::new(200).header("x-upstream-status", up.status.to_string()).body(up.body),
        Err(e) if e.kind == ErrorKind::Denied => Response::text(403, format!("denied: {}\n", e.message)),
        Err(e) => Response::text(502, format!("fetch failed: {}\n", e)),
    }
}

fn handle(req: Request) -> Response {
    if req.route() == "/fetch" {
        fetch(&req)
    } else {
        echo(&req)
    }
}

struct Echo;

impl WebSocketHandler for Echo {
    fn on_message(&mut self, conn: Conn, data: &[u8], binary: bool) -> bool {
        let sent = if binary {
            conn.send(data)
        } else {
            // a text frame is valid UTF-8 (the host checks), so this never replaces anything
            conn.send_text(&String::from_utf8_lossy(data))
        };
        sent.is_ok()
    }
}

wasm_server::service!(http: handle, websocket: Echo);
