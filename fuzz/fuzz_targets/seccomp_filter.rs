//! `seccomp_filter`: see `fuzz_seccomp_checks::seccomp_filter` for the property it checks.
#![no_main]

#[path = "../../tests/common/bpf.rs"]
mod bpf;
#[path = "../../tests/common/fuzz_seccomp_checks.rs"]
mod fuzz_seccomp_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_seccomp_checks::seccomp_filter(data));
