//! The idiomatic API over a decoded request, natively (no host needed).

use wasm_server::codec::{self, RawRequest};
use wasm_server::{Error, ErrorKind, IntoResponse, Request, Response};

fn request() -> Request {
    Request::from_raw(RawRequest {
        flags: 0,
        method: b"POST".to_vec(),
        url: b"/api/users/42?x=1&y=2".to_vec(),
        route: b"/api/users/{id}".to_vec(),
        base: b"".to_vec(),
        path_info: b"/api/users/42".to_vec(),
        client: b"127.0.0.1:5000".to_vec(),
        params: vec![(b"id".to_vec(), b"42".to_vec())],
        headers: vec![
            (b"content-type".to_vec(), b"text/plain".to_vec()),
            (b"x-dup".to_vec(), b"a".to_vec()),
            (b"x-dup".to_vec(), b"b".to_vec()),
            (b"x-latin1".to_vec(), vec![0xe9]),
        ],
        body: b"hi".to_vec(),
    })
}

#[test]
fn request_accessors() {
    let r = request();
    assert_eq!(r.method(), "POST");
    assert_eq!(r.url(), "/api/users/42?x=1&y=2");
    assert_eq!(r.path(), "/api/users/42");
    assert_eq!(r.query(), "x=1&y=2");
    assert_eq!(r.route(), "/api/users/{id}");
    assert_eq!(r.base(), "");
    assert_eq!(r.path_info(), "/api/users/42");
    assert_eq!(r.client(), "127.0.0.1:5000");
    assert_eq!(r.param("id"), Some("42"));
    assert_eq!(r.param("nope"), None);
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(r.header("X-DUP"), Some("a"));
    assert_eq!(r.header_bytes("x-latin1"), Some(&[0xe9u8][..]));
    assert_eq!(r.headers().filter(|(n, _)| *n == "x-dup").count(), 2);
    assert_eq!(r.body(), b"hi");
}

#[test]
fn url_without_query() {
    let r = Request::from_raw(RawRequest { url: b"/a/b".to_vec(), ..RawRequest::default() });
    assert_eq!((r.path(), r.query()), ("/a/b", ""));
}

#[test]
fn response_builder_encodes() {
    let r = Response::new(201).header("x-a", "1").body(&b"\x00\x01"[..]);
    let raw = codec::decode_response(&r.encode()).unwrap();
    assert_eq!(raw.status, 201);
    assert_eq!(raw.headers, vec![(b"x-a".to_vec(), b"1".to_vec())]);
    assert_eq!(raw.body, vec![0, 1]);
    let t = Response::text(200, "ok\n");
    assert_eq!(t.header_value("content-type"), Some(&b"text/plain; charset=utf-8"[..]));
}

#[test]
fn errors_become_500() {
    let failed: Result<Response, Error> = Err(Error { kind: ErrorKind::Denied, message: "store x".into() });
    assert_eq!(failed.into_response().status, 500);
    assert_eq!(Ok::<_, Error>(Response::new(204)).into_response().status, 204);
}

#[test]
fn error_codes() {
    let kinds: Vec<ErrorKind> = (-7..=-1).rev().map(ErrorKind::from_code).collect();
    assert_eq!(
        kinds,
        vec![
            ErrorKind::NotFound,
            ErrorKind::Denied,
            ErrorKind::TooLarge,
            ErrorKind::Invalid,
            ErrorKind::Io,
            ErrorKind::Timeout,
            ErrorKind::Other(-7)
        ]
    );
    assert_eq!(ErrorKind::Denied.code(), -2);
    assert_eq!(ErrorKind::Other(-9).code(), -9);
}

#[test]
fn key_lists_decode() {
    let mut buf = 2u32.to_le_bytes().to_vec();
    for k in [&b"a"[..], &b"bc"[..]] {
        buf.extend_from_slice(&(k.len() as u32).to_le_bytes());
        buf.extend_from_slice(k);
    }
    assert_eq!(codec::decode_key_list(&buf), Some(vec![b"a".to_vec(), b"bc".to_vec()]));
    assert_eq!(codec::decode_key_list(&buf[..buf.len() - 1]), None);
}
