//! Outbound TCP and UDP sockets, limited by `allowed_outbound_hosts`
//! (`tcp://host:port`, `udp://host:port`). Calls suspend the guest while
//! the server keeps serving others.

use crate::host;
use crate::Error;

/// A socket opened by this instance (closed when dropped).
#[derive(Debug)]
pub struct Socket(i32);

impl Socket {
    /// Connect over TCP.
    pub fn tcp(host: &str, port: u16) -> Result<Socket, Error> {
        let h = unsafe { host::tcp_connect(host.as_ptr(), host.len() as i32, port as i32) };
        host::check(h).map(|h| Socket(h as i32))
    }
    /// A UDP socket that talks to one peer.
    pub fn udp(host: &str, port: u16) -> Result<Socket, Error> {
        let h = unsafe { host::udp_connect(host.as_ptr(), host.len() as i32, port as i32) };
        host::check(h).map(|h| Socket(h as i32))
    }
    /// Send bytes (TCP) or one datagram (UDP).
    pub fn send(&self, data: &[u8]) -> Result<(), Error> {
        host::check(unsafe { host::sock_send(self.0, data.as_ptr(), data.len() as i32) } as i64).map(|_| ())
    }
    /// Receive up to `max` bytes; empty means the TCP peer closed. `timeout_ms` < 0 waits forever.
    pub fn recv(&self, max: usize, timeout_ms: i32) -> Result<Vec<u8>, Error> {
        let n = host::check(unsafe { host::sock_recv(self.0, max as i32, timeout_ms) })?;
        Ok(host::take(n))
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        unsafe { host::sock_close(self.0) };
    }
}
