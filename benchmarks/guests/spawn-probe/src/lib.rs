//! Tries `std::thread::spawn` (benchmarks/threads.py --rust-guest, docs/conformance.md, Threads).
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// 0 when a thread was spawned and joined, 1 when spawning failed.
#[no_mangle]
pub extern "C" fn try_spawn() -> u32 {
    match std::thread::Builder::new().spawn(|| {
        COUNTER.fetch_add(1, Ordering::SeqCst);
    }) {
        Ok(handle) => {
            let _ = handle.join();
            0
        }
        Err(_) => 1,
    }
}
