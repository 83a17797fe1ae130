//! A Redis-protocol (RESP2) server backed by the KV store: PING, ECHO, SET,
//! GET, DEL, EXISTS, INCR, KEYS — with pipelining and binary-safe values.
//! Each connection has its own instance, so the read buffer below is
//! per-connection state.

use wasm_server::kv::Store;
use wasm_server::net::{Conn, TcpHandler};
use wasm_server::ErrorKind;

const PREFIX: &[u8] = b"resp:";
const MAX_BULK: usize = 1 << 20;

/// One parsed command, or why the input is not RESP.
enum Frame {
    Command(Vec<Vec<u8>>),
    Incomplete,
    Invalid(&'static str),
}

fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

fn number(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parse one command at the start of `buf`; returns it and the bytes consumed.
fn parse(buf: &[u8]) -> (Frame, usize) {
    if buf.is_empty() {
        return (Frame::Incomplete, 0);
    }
    if buf[0] != b'*' {
        // inline command: "PING\r\n"
        return match line(buf, 0) {
            Some((l, next)) => {
                let parts: Vec<Vec<u8>> = l.split(|c| *c == b' ').filter(|p| !p.is_empty()).map(|p| p.to_vec()).collect();
                (Frame::Command(parts), next)
            }
            None if buf.len() > 64 * 1024 => (Frame::Invalid("inline command too long"), 0),
            None => (Frame::Incomplete, 0),
        };
    }
    let (head, mut at) = match line(buf, 1) {
        Some(x) => x,
        None => return (Frame::Incomplete, 0),
    };
    let n = match number(head) {
        Some(n) if (0..=1024 * 1024).contains(&n) => n as usize,
        _ => return (Frame::Invalid("invalid multibulk length"), 0),
    };
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        if at >= buf.len() {
            return (Frame::Incomplete, 0);
        }
        if buf[at] != b'$' {
            return (Frame::Invalid("expected '$'"), 0);
        }
        let (len, next) = match line(buf, at + 1) {
            Some(x) => x,
            None => return (Frame::Incomplete, 0),
        };
        let len = match number(len) {
            Some(l) if l >= 0 && (l as usize) <= MAX_BULK => l as usize,
            _ => return (Frame::Invalid("invalid bulk length"), 0),
        };
        if buf.len() < next + len + 2 {
            return (Frame::Incomplete, 0);
        }
        if &buf[next + len..next + len + 2] != b"\r\n" {
            return (Frame::Invalid("bulk string not terminated by CRLF"), 0);
        }
        args.push(buf[next..next + len].to_vec());
        at = next + len + 2;
    }
    (Frame::Command(args), at)
}

fn bulk(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

fn err(out: &mut Vec<u8>, msg: &str) {
    out.extend_from_slice(b"-");
    out.extend_from_slice(msg.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(format!(":{}\r\n", n).as_bytes());
}

fn key(k: &[u8]) -> Vec<u8> {
    let mut v = PREFIX.to_vec();
    v.extend_from_slice(k);
    v
}

/// Redis-style glob with `*`, `?` and `[...]` is more than needed here: `*` and `?` only.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

fn run(store: &Store, args: &[Vec<u8>], out: &mut Vec<u8>) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let arity_ok = match name.as_str() {
        "PING" => args.len() <= 2,
        "ECHO" | "GET" | "INCR" | "KEYS" => args.len() == 2,
        "SET" => args.len() == 3,
        "DEL" | "EXISTS" => args.len() >= 2,
        "COMMAND" | "CONFIG" => true,
        _ => {
            err(out, &format!("ERR unknown command '{}'", String::from_utf8_lossy(&args[0])));
            return;
        }
    };
    if !arity_ok {
        err(out, &format!("ERR wrong number of arguments for '{}' command", name.to_lowercase()));
        return;
    }
    let result: Result<(), wasm_server::Error> = (|| {
        match name.as_str() {
            "PING" if args.len() == 2 => bulk(out, &args[1]),
            "PING" => out.extend_from_slice(b"+PONG\r\n"),
            "ECHO" => bulk(out, &args[1]),
            "SET" => {
                store.set(&key(&args[1]), &args[2])?;
                out.extend_from_slice(b"+OK\r\n");
            }
            "GET" => match store.get(&key(&args[1]))? {
                Some(v) => bulk(out, &v),
                None => out.extend_from_slice(b"$-1\r\n"),
            },
            "DEL" | "EXISTS" => {
                let mut n = 0;
                for k in &args[1..] {
                    if store.exists(&key(k))? {
                        n += 1;
                        if name == "DEL" {
                            store.delete(&key(k))?;
                        }
                    }
                }
                int(out, n);
            }
            "INCR" => match store.incr(&key(&args[1]), 1) {
                Ok(v) => int(out, v),
                Err(e) if e.kind == ErrorKind::Invalid => err(out, "ERR value is not an integer or out of range"),
                Err(e) => return Err(e),
            },
            "KEYS" => {
                let pattern = &args[1];
                let literal = pattern.iter().position(|c| *c == b'*' || *c == b'?').unwrap_or(pattern.len());
                let mut found = Vec::new();
                for k in store.keys(&key(&pattern[..literal]))? {
                    let k = &k[PREFIX.len()..];
                    if glob(pattern, k) {
                        found.push(k.to_vec());
                    }
                }
                out.extend_from_slice(format!("*{}\r\n", found.len()).as_bytes());
                for k in found {
                    bulk(out, &k);
                }
            }
            // redis-cli asks for COMMAND DOCS at start-up; an empty list is a fine answer
            _ => out.extend_from_slice(b"*0\r\n"),
        }
        Ok(())
    })();
    if let Err(e) = result {
        err(out, &format!("ERR {}", e.message));
    }
}

#[derive(Default)]
struct Resp {
    buf: Vec<u8>,
}

impl TcpHandler for Resp {
    fn on_data(&mut self, conn: Conn, data: &[u8]) -> bool {
        self.buf.extend_from_slice(data);
        let store = match Store::open("default") {
            Ok(s) => s,
            Err(_) => return false,
        };
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut keep = true;
        loop {
            match parse(&self.buf[consumed..]) {
                (Frame::Command(args), used) => {
                    consumed += used;
                    if !args.is_empty() {
                        run(&store, &args, &mut out);
                    }
                }
                (Frame::Incomplete, _) => break,
                (Frame::Invalid(why), _) => {
                    err(&mut out, &format!("ERR Protocol error: {}", why));
                    keep = false; // like Redis: answer, then close
                    break;
                }
            }
        }
        self.buf.drain(..consumed);
        if !out.is_empty() && conn.send(&out).is_err() {
            return false;
        }
        keep
    }
}

wasm_server::service!(tcp: Resp::default());
