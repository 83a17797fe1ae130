//! A persistent counter in the KV store: POST increments, GET reads.
//! Any path works: the manifest decides where the counter lives.

use wasm_server::kv::Store;
use wasm_server::{Error, Request, Response};

const KEY: &[u8] = b"counter";

fn counter(req: Request) -> Result<Response, Error> {
    let store = Store::open("default")?;
    match req.method() {
        "POST" => {
            let value = store.incr(KEY, 1)?;
            Ok(Response::text(200, format!("{}\n", value)))
        }
        "GET" | "HEAD" => {
            let value = store.get(KEY)?.unwrap_or_else(|| b"0".to_vec());
            Ok(Response::text(200, format!("{}\n", String::from_utf8_lossy(&value))))
        }
        _ => Ok(Response::text(405, "use GET or POST\n").header("allow", "GET, POST")),
    }
}

wasm_server::http_handler!(counter);
