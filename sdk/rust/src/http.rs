//! Outbound HTTP through the host, limited by `allowed_outbound_hosts`.

use crate::codec;
use crate::host;
use crate::{Error, ErrorKind};

/// A request to send.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl OutboundRequest {
    pub fn new(method: &str, url: &str) -> OutboundRequest {
        OutboundRequest { method: method.to_string(), url: url.to_string(), headers: Vec::new(), body: Vec::new() }
    }
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> OutboundRequest {
        self.headers.push((name.to_string(), value.as_ref().to_vec()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> OutboundRequest {
        self.body = body.into();
        self
    }
}

/// A response from an outbound request.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl OutboundResponse {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v.as_slice())
    }
}

/// Send a request; a destination not allowed by the manifest is `ErrorKind::Denied`.
pub fn send(req: &OutboundRequest) -> Result<OutboundResponse, Error> {
    let headers: Vec<(Vec<u8>, Vec<u8>)> =
        req.headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.clone())).collect();
    let raw = codec::encode_outbound(req.method.as_bytes(), req.url.as_bytes(), &headers, &req.body);
    let n = unsafe { host::http_send(raw.as_ptr(), raw.len() as i32) };
    let bytes = host::take(host::check(n)?);
    let resp = codec::decode_response(&bytes)
        .ok_or(Error { kind: ErrorKind::Invalid, message: "malformed response from the host".into() })?;
    Ok(OutboundResponse { status: resp.status as u16, headers: resp.headers, body: resp.body })
}

/// `GET url`.
pub fn get(url: &str) -> Result<OutboundResponse, Error> {
    send(&OutboundRequest::new("GET", url))
}
