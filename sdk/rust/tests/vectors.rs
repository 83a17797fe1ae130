//! The shared ABI vectors (sdk/abi/vectors.txt): decode every request,
//! re-encode every response byte for byte.

use wasm_server::codec;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn shared_vectors() {
    // the manifest dir at run time (cargo test sets it): the shared target dir can hand one
    // checkout a test binary another checkout compiled, with that checkout's path baked in
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let path = format!("{dir}/../abi/vectors.txt");
    let text = std::fs::read_to_string(path).expect("vectors.txt");
    let (mut requests, mut responses) = (0, 0);
    let mut block: Vec<(String, String)> = Vec::new();
    let mut kind = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(2, ' ');
        let key = parts.next().unwrap().to_string();
        let value = parts.next().unwrap_or("").to_string();
        if key == "request" || key == "response" {
            kind = key;
            block.clear();
            continue;
        }
        if key != "end" {
            block.push((key, value));
            continue;
        }
        let get = |k: &str| block.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let pairs = |k: &str| -> Vec<(Vec<u8>, Vec<u8>)> {
            block
                .iter()
                .filter(|(a, _)| a == k)
                .map(|(_, v)| {
                    let mut it = v.splitn(2, ' ');
                    (hex(it.next().unwrap()), hex(it.next().unwrap_or("")))
                })
                .collect()
        };
        let encoded = hex(&get("encoded"));
        if kind == "request" {
            let r = codec::decode_request(&encoded).expect("decodes");
            assert_eq!(r.flags, 0);
            assert_eq!(r.method, hex(&get("method")));
            assert_eq!(r.url, hex(&get("url")));
            assert_eq!(r.route, hex(&get("route")));
            assert_eq!(r.base, hex(&get("base")));
            assert_eq!(r.path_info, hex(&get("path_info")));
            assert_eq!(r.client, hex(&get("client")));
            assert_eq!(r.params, pairs("param"));
            assert_eq!(r.headers, pairs("header"));
            assert_eq!(r.body, hex(&get("body")));
            assert_eq!(codec::encode_request(&r), encoded);
            requests += 1;
        } else {
            let status: u32 = get("status").parse().unwrap();
            let out = codec::encode_response(status, &pairs("header"), &hex(&get("body")));
            assert_eq!(out, encoded);
            let back = codec::decode_response(&encoded).expect("decodes");
            assert_eq!((back.status, back.headers, back.body), (status, pairs("header"), hex(&get("body"))));
            responses += 1;
        }
    }
    assert!(requests >= 4 && responses >= 4, "read {} requests, {} responses", requests, responses);
    println!("checked {} request and {} response vectors", requests, responses);
}

#[test]
fn malformed_requests_are_refused() {
    assert!(codec::decode_request(&[1, 2, 3]).is_none());
    let mut good = codec::encode_request(&codec::RawRequest::default());
    good.push(0);
    assert!(codec::decode_request(&good).is_none());
    assert!(codec::decode_request(&[0, 0, 0, 0, 255, 255, 255, 255]).is_none());
}
