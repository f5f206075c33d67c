//! `cmsg_walk`: see `fuzz_checks::cmsg_walk` for the property it checks.
#![no_main]

#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::cmsg_walk(data));
