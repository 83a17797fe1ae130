//! Configuration values from the manifest's `variables`.

use crate::host;
use crate::{Error, ErrorKind};

/// The variable `name`, or `Ok(None)` if the manifest does not define it.
pub fn get(name: &str) -> Result<Option<String>, Error> {
    let n = unsafe { host::var_get(name.as_ptr(), name.len() as i32) };
    match host::check(n) {
        Ok(len) => Ok(Some(String::from_utf8_lossy(&host::take(len)).into_owned())),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
