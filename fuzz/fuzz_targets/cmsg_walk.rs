//! `cmsg_walk`: see `checks::cmsg_walk` for the property it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::cmsg_walk(data));
