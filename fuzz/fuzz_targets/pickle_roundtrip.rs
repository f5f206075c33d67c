//! `pickle_roundtrip`: see `fuzz_pickle_checks::pickle_roundtrip` for the property it checks.
#![no_main]

#[path = "../../tests/common/fuzz_pickle_checks.rs"]
mod fuzz_pickle_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_pickle_checks::pickle_roundtrip(data));
