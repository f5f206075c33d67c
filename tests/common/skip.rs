//! Saying a test was skipped where it shows: the harness captures
//! `println!` and `eprintln!` of passing tests, so the line goes straight
//! to the stderr descriptor.
//!
//! Included with `#[path = "common/skip.rs"] mod skip;`.

use std::fmt::Display;
use std::io::Write;

/// Prints `SKIPPED: <why>` on the test process's stderr, uncaptured.
pub fn skipped(why: impl Display) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}
