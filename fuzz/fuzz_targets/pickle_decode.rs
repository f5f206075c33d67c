//! `pickle_decode`: see `fuzz_pickle_checks::pickle_decode` for the property it checks.
#![no_main]

#[path = "../../tests/common/fuzz_pickle_checks.rs"]
mod fuzz_pickle_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_pickle_checks::pickle_decode(data));
