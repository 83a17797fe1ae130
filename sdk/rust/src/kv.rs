//! The key-value store: `Store::open("default")?.incr(b"hits", 1)?`.

use crate::codec;
use crate::host;
use crate::{Error, ErrorKind};

/// A store declared in the component's `key_value_stores`.
#[derive(Debug, Clone)]
pub struct Store {
    label: String,
}

impl Store {
    /// A handle on store `label` (checked by the host on first use).
    pub fn open(label: &str) -> Result<Store, Error> {
        Ok(Store { label: label.to_string() })
    }

    fn s(&self) -> (*const u8, i32) {
        (self.label.as_ptr(), self.label.len() as i32)
    }

    /// The value of `key`, or `None`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let (s, sl) = self.s();
        let n = unsafe { host::kv_get(s, sl, key.as_ptr(), key.len() as i32) };
        match host::check(n) {
            Ok(len) => Ok(Some(host::take(len))),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Store `value` under `key`.
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let (s, sl) = self.s();
        let rc = unsafe { host::kv_set(s, sl, key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32) };
        host::check(rc as i64).map(|_| ())
    }

    /// Remove `key` (absent keys are fine).
    pub fn delete(&self, key: &[u8]) -> Result<(), Error> {
        let (s, sl) = self.s();
        let rc = unsafe { host::kv_delete(s, sl, key.as_ptr(), key.len() as i32) };
        host::check(rc as i64).map(|_| ())
    }

    /// Whether `key` is present.
    pub fn exists(&self, key: &[u8]) -> Result<bool, Error> {
        let (s, sl) = self.s();
        let rc = unsafe { host::kv_exists(s, sl, key.as_ptr(), key.len() as i32) };
        host::check(rc as i64).map(|v| v == 1)
    }

    /// Keys starting with `prefix`, ascending.
    pub fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let (s, sl) = self.s();
        let n = unsafe { host::kv_keys(s, sl, prefix.as_ptr(), prefix.len() as i32) };
        let raw = host::take(host::check(n)?);
        codec::decode_key_list(&raw)
            .ok_or(Error { kind: ErrorKind::Invalid, message: "malformed key list from the host".into() })
    }

    /// Atomically add `delta` to the counter at `key` (absent = 0); the new value.
    pub fn incr(&self, key: &[u8], delta: i64) -> Result<i64, Error> {
        let (s, sl) = self.s();
        let mut out: i64 = 0;
        let rc = unsafe { host::kv_incr(s, sl, key.as_ptr(), key.len() as i32, delta, &mut out) };
        host::check(rc as i64).map(|_| out)
    }
}
