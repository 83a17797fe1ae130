//! The raw `wasm_server` imports, and the result-slot protocol around them.

use crate::{Error, ErrorKind};

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "wasm_server")]
unsafe extern "C" {
    pub fn result_read(ptr: *mut u8, len: i32) -> i32;
    pub fn log(level: i32, ptr: *const u8, len: i32);
    pub fn var_get(ptr: *const u8, len: i32) -> i64;
    pub fn kv_get(s: *const u8, sl: i32, k: *const u8, kl: i32) -> i64;
    pub fn kv_set(s: *const u8, sl: i32, k: *const u8, kl: i32, v: *const u8, vl: i32) -> i32;
    pub fn kv_delete(s: *const u8, sl: i32, k: *const u8, kl: i32) -> i32;
    pub fn kv_exists(s: *const u8, sl: i32, k: *const u8, kl: i32) -> i32;
    pub fn kv_keys(s: *const u8, sl: i32, p: *const u8, pl: i32) -> i64;
    pub fn kv_incr(s: *const u8, sl: i32, k: *const u8, kl: i32, delta: i64, out: *mut i64) -> i32;
    pub fn http_send(ptr: *const u8, len: i32) -> i64;
    pub fn conn_send(conn: i32, ptr: *const u8, len: i32) -> i32;
    pub fn ws_send(conn: i32, flags: i32, ptr: *const u8, len: i32) -> i32;
    pub fn conn_close(conn: i32, code: i32, ptr: *const u8, len: i32) -> i32;
    pub fn conn_peer(conn: i32) -> i64;
    pub fn udp_send(sock: i32, pp: *const u8, pl: i32, dp: *const u8, dl: i32) -> i32;
    pub fn publish(c: *const u8, cl: i32, p: *const u8, pl: i32) -> i32;
    pub fn subscribe(conn: i32, c: *const u8, cl: i32) -> i32;
    pub fn sleep_ms(ms: i32) -> i32;
    pub fn stream_start(p: *const u8, l: i32) -> i32;
    pub fn stream_write(p: *const u8, l: i32) -> i32;
    pub fn tcp_connect(h: *const u8, hl: i32, port: i32) -> i64;
    pub fn udp_connect(h: *const u8, hl: i32, port: i32) -> i64;
    pub fn sock_send(s: i32, p: *const u8, l: i32) -> i32;
    pub fn sock_recv(s: i32, max: i32, timeout_ms: i32) -> i64;
    pub fn sock_close(s: i32) -> i32;
}

// Native builds (unit tests) have no host: every call fails with IO.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
mod native {
    pub unsafe fn result_read(_ptr: *mut u8, _len: i32) -> i32 {
        0
    }
    pub unsafe fn log(_level: i32, ptr: *const u8, len: i32) {
        let s = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
        eprintln!("{}", String::from_utf8_lossy(s));
    }
    pub unsafe fn var_get(_p: *const u8, _l: i32) -> i64 {
        -5
    }
    pub unsafe fn kv_get(_s: *const u8, _sl: i32, _k: *const u8, _kl: i32) -> i64 {
        -5
    }
    pub unsafe fn kv_set(_s: *const u8, _sl: i32, _k: *const u8, _kl: i32, _v: *const u8, _vl: i32) -> i32 {
        -5
    }
    pub unsafe fn kv_delete(_s: *const u8, _sl: i32, _k: *const u8, _kl: i32) -> i32 {
        -5
    }
    pub unsafe fn kv_exists(_s: *const u8, _sl: i32, _k: *const u8, _kl: i32) -> i32 {
        -5
    }
    pub unsafe fn kv_keys(_s: *const u8, _sl: i32, _p: *const u8, _pl: i32) -> i64 {
        -5
    }
    pub unsafe fn kv_incr(_s: *const u8, _sl: i32, _k: *const u8, _kl: i32, _d: i64, _o: *mut i64) -> i32 {
        -5
    }
    pub unsafe fn http_send(_p: *const u8, _l: i32) -> i64 {
        -5
    }
    pub unsafe fn conn_send(_c: i32, _p: *const u8, _l: i32) -> i32 {
        -5
    }
    pub unsafe fn ws_send(_c: i32, _f: i32, _p: *const u8, _l: i32) -> i32 {
        -5
    }
    pub unsafe fn conn_close(_c: i32, _code: i32, _p: *const u8, _l: i32) -> i32 {
        -5
    }
    pub unsafe fn conn_peer(_c: i32) -> i64 {
        -5
    }
    pub unsafe fn udp_send(_s: i32, _pp: *const u8, _pl: i32, _dp: *const u8, _dl: i32) -> i32 {
        -5
    }
    pub unsafe fn publish(_c: *const u8, _cl: i32, _p: *const u8, _pl: i32) -> i32 {
        -5
    }
    pub unsafe fn subscribe(_conn: i32, _c: *const u8, _cl: i32) -> i32 {
        -5
    }
    pub unsafe fn sleep_ms(_ms: i32) -> i32 {
        -5
    }
    pub unsafe fn stream_start(_p: *const u8, _l: i32) -> i32 {
        -5
    }
    pub unsafe fn stream_write(_p: *const u8, _l: i32) -> i32 {
        -5
    }
    pub unsafe fn tcp_connect(_h: *const u8, _hl: i32, _port: i32) -> i64 {
        -5
    }
    pub unsafe fn udp_connect(_h: *const u8, _hl: i32, _port: i32) -> i64 {
        -5
    }
    pub unsafe fn sock_send(_s: i32, _p: *const u8, _l: i32) -> i32 {
        -5
    }
    pub unsafe fn sock_recv(_s: i32, _max: i32, _t: i32) -> i64 {
        -5
    }
    pub unsafe fn sock_close(_s: i32) -> i32 {
        -5
    }
}
#[cfg(not(target_arch = "wasm32"))]
pub use native::*;

/// Copy `len` bytes out of the result slot.
pub fn take(len: i64) -> Vec<u8> {
    let mut buf = vec![0u8; len.max(0) as usize];
    unsafe { result_read(buf.as_mut_ptr(), buf.len() as i32) };
    buf
}

/// Turn a negative return code into an Error with the host's message.
pub fn error(code: i64) -> Error {
    let n = unsafe { result_read(std::ptr::null_mut(), 0) };
    let message = if n > 0 { String::from_utf8_lossy(&take(n as i64)).into_owned() } else { String::new() };
    Error { kind: ErrorKind::from_code(code), message }
}

/// `Ok(len)` for non-negative codes, the error otherwise.
pub fn check(code: i64) -> Result<i64, Error> {
    if code < 0 {
        Err(error(code))
    } else {
        Ok(code)
    }
}
