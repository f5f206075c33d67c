//! One lock per test binary for the tests that fork or count this process's
//! descriptors, so they never overlap: while one test holds it, the
//! harness's other threads are parked on it, so none of them opens or
//! closes a descriptor or holds a lock a forked child would need.
//!
//! Included with `#[path = "common/serial.rs"] mod serial;` (from a test
//! directory, `"../common/serial.rs"`), as every module here is.
#![allow(dead_code)] // each test binary uses a part

use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

/// Takes this binary's lock, also after a test panicked holding it.
pub fn lock() -> MutexGuard<'static, ()> {
    guard(&LOCK)
}

/// Locks `m`, whether or not a thread panicked holding it.
pub fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
