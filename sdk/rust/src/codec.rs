//! ABI v1 encodings (docs/abi.md). Pure code: tested natively against the
//! shared vectors in `sdk/abi/vectors.txt`.

/// Error codes of host calls.
pub const NOT_FOUND: i32 = -1;
pub const DENIED: i32 = -2;
pub const TOO_LARGE: i32 = -3;
pub const INVALID: i32 = -4;
pub const IO: i32 = -5;
pub const TIMEOUT: i32 = -6;

/// A decoded inbound request, borrowing nothing (owned bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawRequest {
    pub flags: u32,
    pub method: Vec<u8>,
    pub url: Vec<u8>,
    pub route: Vec<u8>,
    pub base: Vec<u8>,
    pub path_info: Vec<u8>,
    pub client: Vec<u8>,
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// A response as status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawResponse {
    pub status: u32,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let b = self.buf.get(self.pos..self.pos.checked_add(4)?)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        let b = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b.to_vec())
    }

    fn pairs(&mut self) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let n = self.u32()? as usize;
        if n.checked_mul(8)? > self.buf.len() - self.pos {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.bytes()?;
            let value = self.bytes()?;
            out.push((name, value));
        }
        Some(out)
    }

    fn done(&self) -> Option<()> {
        if self.pos == self.buf.len() {
            Some(())
        } else {
            None
        }
    }
}

/// Decode an inbound request encoding; None if malformed.
pub fn decode_request(buf: &[u8]) -> Option<RawRequest> {
    let mut r = Reader { buf, pos: 0 };
    let req = RawRequest {
        flags: r.u32()?,
        method: r.bytes()?,
        url: r.bytes()?,
        route: r.bytes()?,
        base: r.bytes()?,
        path_info: r.bytes()?,
        client: r.bytes()?,
        params: r.pairs()?,
        headers: r.pairs()?,
        body: r.bytes()?,
    };
    r.done()?;
    Some(req)
}

/// Decode a response encoding (outbound HTTP results); None if malformed.
pub fn decode_response(buf: &[u8]) -> Option<RawResponse> {
    let mut r = Reader { buf, pos: 0 };
    let status = r.u32()?;
    let _flags = r.u32()?;
    let headers = r.pairs()?;
    let body = r.bytes()?;
    r.done()?;
    Some(RawResponse { status, headers, body })
}

/// Decode a `kv_keys` result.
pub fn decode_key_list(buf: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader { buf, pos: 0 };
    let n = r.u32()? as usize;
    let mut keys = Vec::new();
    for _ in 0..n {
        keys.push(r.bytes()?);
    }
    r.done()?;
    Some(keys)
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

fn put_pairs(out: &mut Vec<u8>, pairs: &[(Vec<u8>, Vec<u8>)]) {
    put_u32(out, pairs.len() as u32);
    for (n, v) in pairs {
        put_bytes(out, n);
        put_bytes(out, v);
    }
}

/// Encode a response (what the guest returns).
pub fn encode_response(status: u32, headers: &[(Vec<u8>, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + body.len());
    put_u32(&mut out, status);
    put_u32(&mut out, 0);
    put_pairs(&mut out, headers);
    put_bytes(&mut out, body);
    out
}

/// Encode an inbound request (used by tests and tools).
pub fn encode_request(r: &RawRequest) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, r.flags);
    for f in [&r.method, &r.url, &r.route, &r.base, &r.path_info, &r.client] {
        put_bytes(&mut out, f);
    }
    put_pairs(&mut out, &r.params);
    put_pairs(&mut out, &r.headers);
    put_bytes(&mut out, &r.body);
    out
}

/// Encode an outbound request for `http_send`.
pub fn encode_outbound(method: &[u8], url: &[u8], headers: &[(Vec<u8>, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, 0);
    put_bytes(&mut out, method);
    put_bytes(&mut out, url);
    put_pairs(&mut out, headers);
    put_bytes(&mut out, body);
    out
}
