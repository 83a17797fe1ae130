//! Streamed HTTP responses (chunked), e.g. Server-Sent Events.
//!
//! ```ignore
//! fn events(_req: Request) -> Response {
//!     let _ = stream::start(200, &[("content-type", "text/event-stream")]);
//!     for i in 0..10 {
//!         if stream::write(format!("data: {}\n\n", i).as_bytes()).is_err() { break; }
//!         let _ = net::sleep_ms(1000);
//!     }
//!     stream::finished()
//! }
//! ```

use crate::codec;
use crate::host;
use crate::{Error, Response};

/// Send the status and headers now; the body follows with [`write`].
pub fn start(status: u16, headers: &[(&str, &str)]) -> Result<(), Error> {
    let headers: Vec<(Vec<u8>, Vec<u8>)> =
        headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
    let head = codec::encode_response(status as u32, &headers, b"");
    host::check(unsafe { host::stream_start(head.as_ptr(), head.len() as i32) } as i64).map(|_| ())
}

/// Send one chunk; waits while the client is slow. `Err` once the client has gone.
pub fn write(data: &[u8]) -> Result<(), Error> {
    host::check(unsafe { host::stream_write(data.as_ptr(), data.len() as i32) } as i64).map(|_| ())
}

/// What the handler returns after streaming: tells the host the body was sent
/// (status 0 is never a real status; it encodes as the ABI's "streamed" flag).
pub fn finished() -> Response {
    Response::new(0)
}
