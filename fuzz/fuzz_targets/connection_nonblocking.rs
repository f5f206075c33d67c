//! `connection_nonblocking`: see `checks::connection_nonblocking` for the
//! property it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::connection_nonblocking(data));
