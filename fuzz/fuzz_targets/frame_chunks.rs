//! `frame_chunks`: see `checks::frame_chunks` for the property it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::frame_chunks(data));
