//! The Rust SDK of wasm-server (ABI v1, see `docs/abi.md`).
//!
//! ```ignore
//! use wasm_server::{Request, Response};
//!
//! fn hello(req: Request) -> Response {
//!     Response::text(200, format!("Hello from Rust\npath: {}\n", req.path_info()))
//! }
//! wasm_server::http_handler!(hello);
//! ```
//!
//! Host calls return `Result<_, Error>`; an [`Error`] carries the ABI error
//! code ([`ErrorKind`]) and the host's message.

pub mod codec;
mod host;
pub mod http;
pub mod kv;
pub mod log;
pub mod net;
pub mod outbound;
pub mod stream;
pub mod variables;

use std::fmt;

pub use codec::{RawRequest, RawResponse};

/// The ABI version this SDK implements.
pub const ABI_VERSION: i32 = 1;

/// What went wrong in a host call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Denied,
    TooLarge,
    Invalid,
    Io,
    Timeout,
    Other(i32),
}

impl ErrorKind {
    /// The kind for an ABI error code.
    pub fn from_code(code: i64) -> ErrorKind {
        match code as i32 {
            codec::NOT_FOUND => ErrorKind::NotFound,
            codec::DENIED => ErrorKind::Denied,
            codec::TOO_LARGE => ErrorKind::TooLarge,
            codec::INVALID => ErrorKind::Invalid,
            codec::IO => ErrorKind::Io,
            codec::TIMEOUT => ErrorKind::Timeout,
            other => ErrorKind::Other(other),
        }
    }

    /// The ABI error code of this kind.
    pub fn code(&self) -> i32 {
        match *self {
            ErrorKind::NotFound => codec::NOT_FOUND,
            ErrorKind::Denied => codec::DENIED,
            ErrorKind::TooLarge => codec::TOO_LARGE,
            ErrorKind::Invalid => codec::INVALID,
            ErrorKind::Io => codec::IO,
            ErrorKind::Timeout => codec::TIMEOUT,
            ErrorKind::Other(code) => code,
        }
    }
}

/// A failed host call: the code and the host's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

/// An inbound HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    raw: RawRequest,
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("")
}

impl Request {
    /// Wrap a decoded request.
    pub fn from_raw(raw: RawRequest) -> Request {
        Request { raw }
    }
    /// "GET", "POST", …
    pub fn method(&self) -> &str {
        text(&self.raw.method)
    }
    /// The target as sent: path and query.
    pub fn url(&self) -> &str {
        text(&self.raw.url)
    }
    /// The path part of the URL.
    pub fn path(&self) -> &str {
        self.url().split('?').next().unwrap_or("")
    }
    /// The query string (without '?'), empty if none.
    pub fn query(&self) -> &str {
        self.url().split_once('?').map(|(_, q)| q).unwrap_or("")
    }
    /// The manifest route that matched.
    pub fn route(&self) -> &str {
        text(&self.raw.route)
    }
    /// The literal prefix a `/...` route matched.
    pub fn base(&self) -> &str {
        text(&self.raw.base)
    }
    /// The path below `base`.
    pub fn path_info(&self) -> &str {
        text(&self.raw.path_info)
    }
    /// The peer address, "ip:port".
    pub fn client(&self) -> &str {
        text(&self.raw.client)
    }
    /// A route parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.raw.params.iter().find(|(n, _)| n == name.as_bytes()).map(|(_, v)| text(v))
    }
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| text(v))
    }
    /// The first header `name` (case-insensitive) as the bytes received
    /// (`header` gives "" for a value that is not UTF-8).
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.raw
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
    /// All headers (names lower-case), in received order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.raw.headers.iter().map(|(n, v)| (text(n), v.as_slice()))
    }
    /// The request body.
    pub fn body(&self) -> &[u8] {
        &self.raw.body
    }
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }
    /// A text/plain response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status).header("content-type", "text/plain; charset=utf-8").body(body.into())
    }
    /// Add a header.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Response {
        self.headers.push((name.to_string(), value.as_ref().to_vec()));
        self
    }
    /// The first header `name` set on this response (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
    /// Set the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }
    /// The ABI encoding of this response.
    pub fn encode(&self) -> Vec<u8> {
        if self.status == 0 {
            // stream::finished(): flags bit 0, the head and body already went out
            let mut out = codec::encode_response(200, &[], b"");
            out[4] = 1;
            return out;
        }
        let headers: Vec<(Vec<u8>, Vec<u8>)> =
            self.headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.clone())).collect();
        codec::encode_response(self.status as u32, &headers, &self.body)
    }
}

/// What a handler may return: a `Response`, or a `Result` whose error becomes a 500.
pub trait IntoResponse {
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl<E: fmt::Display> IntoResponse for Result<Response, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(r) => r,
            Err(e) => {
                log::error(&format!("handler failed: {}", e));
                Response::text(500, "internal error\n")
            }
        }
    }
}

/// Runtime glue used by [`http_handler!`]; not part of the stable API.
#[doc(hidden)]
pub mod __rt {
    use std::alloc::{alloc, dealloc, Layout};
    use std::cell::RefCell;

    thread_local! {
        static LAST: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        static REQUEST_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    /// The reusable request buffer (docs/abi.md, `wasm_server_request_buffer`).
    pub fn request_buffer(size: i32) -> *mut u8 {
        let size = if size > 0 { size as usize } else { 1 };
        REQUEST_BUFFER.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < size {
                *b = vec![0u8; size];
            }
            b.as_mut_ptr()
        })
    }

    /// Free an event payload unless it lives in the reusable request buffer.
    unsafe fn release(ptr: *mut u8, len: i32) {
        let reused = REQUEST_BUFFER.with(|b| b.borrow().as_ptr() == ptr as *const u8);
        if !reused {
            let size = if len > 0 { len as usize } else { 1 };
            unsafe { dealloc(ptr, Layout::from_size_align_unchecked(size, 1)) };
        }
    }

    pub fn alloc_bytes(size: i32) -> *mut u8 {
        let size = if size > 0 { size as usize } else { 1 };
        unsafe { alloc(Layout::from_size_align_unchecked(size, 1)) }
    }

    /// Take ownership of the event payload the host wrote at `ptr`.
    ///
    /// # Safety
    /// `ptr` must come from `alloc_bytes(len)` and hold `len` bytes.
    pub unsafe fn payload(ptr: *mut u8, len: i32) -> Vec<u8> {
        LAST.with(|l| *l.borrow_mut() = Vec::new());
        let data = unsafe { std::slice::from_raw_parts(ptr, len.max(0) as usize) }.to_vec();
        unsafe { release(ptr, len) };
        data
    }

    /// Decode an HTTP request event, run `f`, keep the encoded response until the next event.
    ///
    /// # Safety
    /// `ptr` must come from `alloc_bytes(len)` and hold `len` bytes.
    pub unsafe fn handle(kind: i32, ptr: *mut u8, len: i32, f: impl FnOnce(super::Request) -> super::Response) -> i64 {
        LAST.with(|l| *l.borrow_mut() = Vec::new()); // the host copied the previous response
        let raw = unsafe { std::slice::from_raw_parts(ptr, len.max(0) as usize) };
        let decoded = super::codec::decode_request(raw);
        unsafe { release(ptr, len) };
        if kind != 1 {
            return -1;
        }
        let req = match decoded {
            Some(r) => super::Request::from_raw(r),
            None => return super::codec::INVALID as i64, // a guest failure (500), not "kind not handled"
        };
        let bytes = f(req).encode();
        LAST.with(|l| {
            let mut l = l.borrow_mut();
            *l = bytes;
            ((l.as_ptr() as usize as i64) << 32) | l.len() as i64
        })
    }
}

/// Register connection handlers: `service!(tcp: MyTcp::new(), udp: MyUdp, websocket: MyWs)` —
/// each part optional, each a value implementing the matching trait in [`net`]. Use it
/// instead of `http_handler!` for modules without HTTP routes, or together with
/// `http = my_fn` for modules with both.
#[macro_export]
macro_rules! service {
    ($($key:ident : $value:expr),* $(,)?) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_server_abi_version() -> i32 {
            $crate::ABI_VERSION
        }
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_server_alloc(size: i32) -> *mut u8 {
            $crate::__rt::alloc_bytes(size)
        }
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_server_request_buffer(size: i32) -> *mut u8 {
            $crate::__rt::request_buffer(size)
        }
        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // the host passes what wasm_server_alloc returned
        pub extern "C" fn wasm_server_handle(kind: i32, ptr: *mut u8, len: i32) -> i64 {
            $crate::__service_dispatch!(kind, ptr, len; $($key : $value),*)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __service_dispatch {
    ($kind:ident, $ptr:ident, $len:ident; $($key:ident : $value:expr),*) => {{
        $( $crate::__service_arm!($kind, $ptr, $len, $key, $value); )*
        let _ = unsafe { $crate::__rt::payload($ptr, $len) };
        -1
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __service_arm {
    ($kind:ident, $ptr:ident, $len:ident, http, $value:expr) => {
        if $kind == 1 {
            let f = |req| $crate::IntoResponse::into_response($value(req));
            return unsafe { $crate::__rt::handle($kind, $ptr, $len, f) };
        }
    };
    ($kind:ident, $ptr:ident, $len:ident, tcp, $value:expr) => {
        if (2..=4).contains(&$kind) {
            thread_local! { static H: std::cell::RefCell<Option<Box<dyn $crate::net::TcpHandler>>> = std::cell::RefCell::new(None); }
            let p = unsafe { $crate::__rt::payload($ptr, $len) };
            return H.with(|h| {
                let mut h = h.borrow_mut();
                let handler = h.get_or_insert_with(|| Box::new($value));
                $crate::net::dispatch_tcp(handler.as_mut(), $kind, &p)
            });
        }
    };
    ($kind:ident, $ptr:ident, $len:ident, udp, $value:expr) => {
        if $kind == 5 {
            thread_local! { static H: std::cell::RefCell<Option<Box<dyn $crate::net::UdpHandler>>> = std::cell::RefCell::new(None); }
            let p = unsafe { $crate::__rt::payload($ptr, $len) };
            return H.with(|h| {
                let mut h = h.borrow_mut();
                let handler = h.get_or_insert_with(|| Box::new($value));
                $crate::net::dispatch_udp(handler.as_mut(), &p)
            });
        }
    };
    ($kind:ident, $ptr:ident, $len:ident, websocket, $value:expr) => {
        if (6..=8).contains(&$kind) {
            thread_local! { static H: std::cell::RefCell<Option<Box<dyn $crate::net::WebSocketHandler>>> = std::cell::RefCell::new(None); }
            let p = unsafe { $crate::__rt::payload($ptr, $len) };
            return H.with(|h| {
                let mut h = h.borrow_mut();
                let handler = h.get_or_insert_with(|| Box::new($value));
                $crate::net::dispatch_ws(handler.as_mut(), $kind, &p)
            });
        }
    };
}

/// Register the HTTP handler of this module: `fn(Request) -> Response` (or `Result<Response, E>`).
#[macro_export]
macro_rules! http_handler {
    ($handler:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_server_abi_version() -> i32 {
            $crate::ABI_VERSION
        }
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_server_alloc(size: i32) -> *mut u8 {
            $crate::__rt::alloc_bytes(size)
        }
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_server_request_buffer(size: i32) -> *mut u8 {
            $crate::__rt::request_buffer(size)
        }
        #[unsafe(no_mangle)]
        #[allow(clippy::not_unsafe_ptr_arg_deref)] // the host passes what wasm_server_alloc returned
        pub extern "C" fn wasm_server_handle(kind: i32, ptr: *mut u8, len: i32) -> i64 {
            let f = |req| $crate::IntoResponse::into_response($handler(req));
            unsafe { $crate::__rt::handle(kind, ptr, len, f) }
        }
    };
}
