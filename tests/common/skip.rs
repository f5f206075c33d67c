//! Tests that cannot run here, said where it shows, and the switches that
//! decide what runs:
//!
//! - `IPCWIRE_NO_SKIPS=1`: a skip is a failure, with the reason the test
//!   would have been skipped for. CI sets it, so a missing interpreter,
//!   tracer or target fails the run instead of passing it unnoticed.
//! - `IPCWIRE_FULL_TESTS=1`: the big and long tests run in full (messages
//!   over 2 GiB, the 20-second soak). Without it the big ones are skipped
//!   and the long ones run a short version. CI sets it.
//!
//! The harness captures `println!` and `eprintln!` of passing tests, so
//! these lines go straight to the stderr descriptor.
//!
//! Included with `#[path = "common/skip.rs"] mod skip;`.
#![allow(dead_code)] // each test binary uses a part

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether the switch `name` is on: set, and neither empty nor `0`.
fn switch(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Prints `SKIPPED: <why>` on the test process's stderr, uncaptured; with
/// `IPCWIRE_NO_SKIPS=1`, fails the test with `why` instead.
pub fn skipped(why: impl Display) {
    if switch("IPCWIRE_NO_SKIPS") {
        panic!("IPCWIRE_NO_SKIPS=1, and this test would be skipped: {why}");
    }
    say(format_args!("SKIPPED: {why}"));
}

/// Whether the big and long tests run in full (`IPCWIRE_FULL_TESTS=1`).
pub fn full() -> bool {
    switch("IPCWIRE_FULL_TESTS")
}

/// For a test too big or too long for a default run: `true` with
/// `IPCWIRE_FULL_TESTS=1`; otherwise skips it (see [`skipped`]), saying
/// what it needs, and returns `false`.
pub fn full_or_skip(test: &str, what: impl Display) -> bool {
    if full() {
        return true;
    }
    skipped(format_args!(
        "{test}: {what}; set IPCWIRE_FULL_TESTS=1 to run it"
    ));
    false
}

/// `relative` (to the crate's root) when it is there; otherwise skips
/// `test` (see [`skipped`]): the repository has files that the published
/// package leaves out (`fuzz/`, the separate crate `examples/minimal/`).
pub fn in_repository(test: &str, relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if path.exists() {
        return Some(path);
    }
    skipped(format_args!(
        "{test}: {relative} is not in the published package; run from the repository"
    ));
    None
}

/// Prints `line` on the test process's stderr, uncaptured.
pub fn say(line: impl Display) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
