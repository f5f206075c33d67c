//! `frame_roundtrip`: see `checks::frame_roundtrip` for the property it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::frame_roundtrip(data));
