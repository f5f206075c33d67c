//! `frame_decode`: see `fuzz_checks::frame_decode` for the property it checks.
#![no_main]

#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::frame_decode(data));
