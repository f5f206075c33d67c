//! `connection_nonblocking`: see `fuzz_checks::connection_nonblocking` for the
//! property it checks.
#![no_main]

#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::connection_nonblocking(data));
