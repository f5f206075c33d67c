//! `pickle_roundtrip`: see `pickle_checks::pickle_roundtrip` for the property it checks.
#![no_main]

#[path = "../pickle_checks.rs"]
mod pickle_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| pickle_checks::pickle_roundtrip(data));
