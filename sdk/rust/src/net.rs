//! Connection-oriented services: raw TCP, UDP, WebSockets and pub/sub.
//!
//! Each TCP or WebSocket connection runs in its own instance for its whole
//! life, so a `static`/`thread_local` in the module is per-connection state.

use crate::host;
use crate::{Error, Request};

/// A live TCP or WebSocket connection (ids are unique within a server process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conn(pub u32);

impl Conn {
    /// Write bytes (a binary message on a WebSocket).
    pub fn send(&self, data: &[u8]) -> Result<(), Error> {
        let rc = unsafe { host::conn_send(self.0 as i32, data.as_ptr(), data.len() as i32) };
        host::check(rc as i64).map(|_| ())
    }
    /// Send a WebSocket text message.
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        let rc = unsafe { host::ws_send(self.0 as i32, 0, text.as_ptr(), text.len() as i32) };
        host::check(rc as i64).map(|_| ())
    }
    /// Close (WebSockets: with `code` and `reason`).
    pub fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        let rc = unsafe { host::conn_close(self.0 as i32, code as i32, reason.as_ptr(), reason.len() as i32) };
        host::check(rc as i64).map(|_| ())
    }
    /// The peer's "ip:port".
    pub fn peer(&self) -> Result<String, Error> {
        let n = host::check(unsafe { host::conn_peer(self.0 as i32) })?;
        Ok(String::from_utf8_lossy(&host::take(n)).into_owned())
    }
    /// Deliver everything published on `channel` to this connection until it closes.
    pub fn subscribe(&self, channel: &str) -> Result<(), Error> {
        let rc = unsafe { host::subscribe(self.0 as i32, channel.as_ptr(), channel.len() as i32) };
        host::check(rc as i64).map(|_| ())
    }
}

/// Publish to every connection of this component subscribed to `channel`.
pub fn publish(channel: &str, data: &[u8]) -> Result<(), Error> {
    let rc = unsafe { host::publish(channel.as_ptr(), channel.len() as i32, data.as_ptr(), data.len() as i32) };
    host::check(rc as i64).map(|_| ())
}

/// Suspend this guest for `ms` milliseconds; the server keeps serving others.
pub fn sleep_ms(ms: u32) -> Result<(), Error> {
    host::check(unsafe { host::sleep_ms(ms as i32) } as i64).map(|_| ())
}

/// A UDP listener of this component (given with each datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpSocket(pub u32);

impl UdpSocket {
    /// Send a datagram to `peer` ("ip:port") from this listener.
    pub fn send_to(&self, peer: &str, data: &[u8]) -> Result<(), Error> {
        let rc = unsafe {
            host::udp_send(self.0 as i32, peer.as_ptr(), peer.len() as i32, data.as_ptr(), data.len() as i32)
        };
        host::check(rc as i64).map(|_| ())
    }
}

/// Raw TCP handlers; every method has a default, implement what you need.
pub trait TcpHandler {
    /// A peer connected; `Err`/`false` closes the connection.
    fn on_connect(&mut self, _conn: Conn, _peer: &str) -> bool {
        true
    }
    /// Bytes arrived; return `false` to close.
    fn on_data(&mut self, conn: Conn, data: &[u8]) -> bool;
    /// The connection closed.
    fn on_close(&mut self, _conn: Conn) {}
}

/// WebSocket handlers for routes marked `websocket = true`.
pub trait WebSocketHandler {
    fn on_open(&mut self, _conn: Conn, _req: &Request) -> bool {
        true
    }
    fn on_message(&mut self, conn: Conn, data: &[u8], binary: bool) -> bool;
    fn on_close(&mut self, _conn: Conn, _code: u16, _reason: &str) {}
}

/// The UDP handler.
pub trait UdpHandler {
    fn on_datagram(&mut self, socket: UdpSocket, peer: &str, data: &[u8]);
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn bytes_at(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let n = u32_at(b, at)? as usize;
    let v = b.get(at + 4..at + 4 + n)?;
    Some((v, at + 4 + n))
}

/// The event's return value: 0 keeps the connection, -1 closes it.
fn keep(yes: bool) -> i64 {
    if yes {
        0
    } else {
        -1
    }
}

#[doc(hidden)]
pub fn dispatch_tcp<H: TcpHandler + ?Sized>(h: &mut H, kind: i32, p: &[u8]) -> i64 {
    let conn = match u32_at(p, 0) {
        Some(c) => Conn(c),
        None => return -1,
    };
    match kind {
        2 => match bytes_at(p, 4) {
            Some((peer, _)) => keep(h.on_connect(conn, std::str::from_utf8(peer).unwrap_or(""))),
            None => -1,
        },
        3 => match bytes_at(p, 4) {
            Some((data, _)) => keep(h.on_data(conn, data)),
            None => -1,
        },
        4 => {
            h.on_close(conn);
            0
        }
        _ => -1,
    }
}

#[doc(hidden)]
pub fn dispatch_udp<H: UdpHandler + ?Sized>(h: &mut H, p: &[u8]) -> i64 {
    let sock = match u32_at(p, 0) {
        Some(s) => UdpSocket(s),
        None => return -1,
    };
    if let Some((peer, next)) = bytes_at(p, 4) {
        if let Some((data, _)) = bytes_at(p, next) {
            h.on_datagram(sock, std::str::from_utf8(peer).unwrap_or(""), data);
            return 0;
        }
    }
    -1
}

#[doc(hidden)]
pub fn dispatch_ws<H: WebSocketHandler + ?Sized>(h: &mut H, kind: i32, p: &[u8]) -> i64 {
    let conn = match u32_at(p, 0) {
        Some(c) => Conn(c),
        None => return -1,
    };
    let ok = match kind {
        6 => match crate::codec::decode_request(&p[4..]) {
            Some(raw) => h.on_open(conn, &Request::from_raw(raw)),
            None => false,
        },
        7 => match (u32_at(p, 4), bytes_at(p, 8)) {
            (Some(flags), Some((data, _))) => h.on_message(conn, data, flags & 1 == 1),
            _ => false,
        },
        8 => {
            let code = u32_at(p, 4).unwrap_or(1005) as u16;
            let reason = bytes_at(p, 8).map(|(r, _)| r).unwrap_or(b"");
            h.on_close(conn, code, std::str::from_utf8(reason).unwrap_or(""));
            true
        }
        _ => false,
    };
    if ok {
        0
    } else {
        -1
    }
}
