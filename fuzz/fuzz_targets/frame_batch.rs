//! `frame_batch`: see `fuzz_batch_checks::frame_batch` for the property it checks.
#![no_main]

#[path = "../../tests/common/bytes.rs"]
mod bytes;
#[path = "../../tests/common/fuzz_batch_checks.rs"]
mod fuzz_batch_checks;
#[path = "../../tests/common/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_batch_checks::frame_batch(data));
