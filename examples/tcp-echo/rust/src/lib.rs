//! The echo protocol (RFC 862) over TCP: every byte received is sent back.

use wasm_server::net::{Conn, TcpHandler};

struct Echo;

impl TcpHandler for Echo {
    fn on_data(&mut self, conn: Conn, data: &[u8]) -> bool {
        conn.send(data).is_ok()
    }
}

wasm_server::service!(tcp: Echo);
