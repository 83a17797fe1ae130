//! A small JSON API over the KV store, built from crates.io's serde, serde_json and matchit.
//!
//! - `GET /items?name=SUBSTRING&limit=N`: the items, oldest first, optionally filtered
//! - `GET /items/{id}`: one item, or 404
//! - `POST /items` with `{"name": "...", "price_cents": 350, "tags": ["..."]}`: 201 and the item;
//!   400 for a body that is not that JSON, 422 for values out of range
//! - `DELETE /items/{id}`: 204, or 404
//!
//! Every error is JSON too: `{"error": "..."}`. Paths are matched on `path_info`, so the
//! API works alone and mounted under a prefix (the gallery serves it at /api/rust).

use std::sync::LazyLock;

use matchit::{Params, Router};
use serde::{Deserialize, Serialize};
use wasm_server::kv::Store;
use wasm_server::{Request, Response, log};

#[derive(Debug, Serialize, Deserialize)]
struct Item {
    id: u64,
    name: String,
    price_cents: u64,
    tags: Vec<String>,
}

/// What a client may send: anything else in the body is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    name: String,
    price_cents: u64,
    #[serde(default)]
    tags: Vec<String>,
}

/// A failed request: its status and the message that goes into `{"error": ...}`.
struct ApiError(u16, String);

impl From<wasm_server::Error> for ApiError {
    fn from(e: wasm_server::Error) -> Self {
        log::error(&format!("kv store: {e}"));
        ApiError(500, "the store failed".into())
    }
}

type Handler = fn(&Request, &Params) -> Result<Response, ApiError>;

static ROUTES: LazyLock<Router<(&'static str, Handler)>> = LazyLock::new(|| {
    let mut r = Router::new();
    r.insert("/items", ("GET POST", items as Handler)).expect("route");
    r.insert("/items/{id}", ("GET DELETE", item as Handler)).expect("route");
    r
});

const PREFIX: &[u8] = b"item:";

fn json(status: u16, value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).expect("our types serialize");
    Response::new(status).header("content-type", "application/json").body(body)
}

fn error(status: u16, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

fn key(id: u64) -> Vec<u8> {
    format!("item:{id}").into_bytes()
}

fn id_param(params: &Params) -> Result<u64, ApiError> {
    let raw = params.get("id").unwrap_or("");
    raw.parse().map_err(|_| ApiError(404, format!("no item {raw:?}")))
}

/// `name=` and `limit=` from the query string (values are not percent-decoded: enough here).
fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query().split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn items(req: &Request, _: &Params) -> Result<Response, ApiError> {
    let store = Store::open("default")?;
    if req.method() == "POST" {
        return create(req, &store);
    }
    let limit = match query(req, "limit") {
        Some(v) => v.parse().map_err(|_| ApiError(400, format!("limit must be a number, not {v:?}")))?,
        None => usize::MAX,
    };
    let mut found: Vec<Item> = Vec::new();
    for k in store.keys(PREFIX)? {
        if let Some(raw) = store.get(&k)? {
            found.push(serde_json::from_slice(&raw).map_err(|e| ApiError(500, format!("stored item: {e}")))?);
        }
    }
    found.sort_by_key(|i| i.id);
    if let Some(part) = query(req, "name") {
        found.retain(|i| i.name.contains(part));
    }
    found.truncate(limit);
    Ok(json(200, &found))
}

fn create(req: &Request, store: &Store) -> Result<Response, ApiError> {
    let new: NewItem = serde_json::from_slice(req.body())
        .map_err(|e| ApiError(400, format!("invalid JSON: {e}")))?;
    if new.name.trim().is_empty() || new.name.len() > 100 {
        return Err(ApiError(422, "name must be 1 to 100 characters".into()));
    }
    let id = store.incr(b"next-id", 1)? as u64;
    let item = Item { id, name: new.name, price_cents: new.price_cents, tags: new.tags };
    store.set(&key(id), &serde_json::to_vec(&item).expect("our types serialize"))?;
    log::info(&format!("created item {id}"));
    println!("item {id} is {:?}", item.name); // stdout reaches the server log too
    Ok(json(201, &item).header("location", format!("{}/items/{id}", req.base())))
}

fn item(req: &Request, params: &Params) -> Result<Response, ApiError> {
    let id = id_param(params)?;
    let store = Store::open("default")?;
    let Some(raw) = store.get(&key(id))? else {
        return Err(ApiError(404, format!("no item {id}")));
    };
    if req.method() == "DELETE" {
        store.delete(&key(id))?;
        eprintln!("deleted item {id}"); // and so does stderr
        return Ok(Response::new(204));
    }
    let item: Item = serde_json::from_slice(&raw).map_err(|e| ApiError(500, format!("stored item: {e}")))?;
    Ok(json(200, &item))
}

fn handle(req: Request) -> Response {
    let Ok(found) = ROUTES.at(req.path_info()) else {
        return error(404, &format!("no route for {}", req.path_info()));
    };
    let (methods, handler) = *found.value;
    let method = if req.method() == "HEAD" { "GET" } else { req.method() };
    if !methods.split(' ').any(|m| m == method) {
        return error(405, &format!("{} is not allowed here", req.method())).header("allow", methods.replace(' ', ", "));
    }
    match handler(&req, &found.params) {
        Ok(resp) => resp,
        Err(ApiError(status, message)) => error(status, &message),
    }
}

wasm_server::http_handler!(handle);
