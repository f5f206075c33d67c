//! Replays every committed fuzz seed and regression input through the same
//! checks the fuzz targets run, on stable Rust, without cargo-fuzz.
//!
//! The filters of the `seccomp_filter` inputs for this machine's
//! architecture are also installed, each in a forked child: the kernel
//! must take them.
//!
//! Seeds: `fuzz/corpus/<target>/seed-*`. Regressions (inputs that once
//! failed, kept after the fix): `fuzz/regressions/<target>/*`. The
//! published package has no `fuzz/`: there these tests say they are
//! skipped.

#[path = "common/bpf.rs"]
mod bpf;
#[path = "common/bytes.rs"]
mod bytes;
#[cfg(target_os = "linux")]
#[path = "common/confine.rs"]
mod confine;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/fuzz_batch_checks.rs"]
mod fuzz_batch_checks;
#[path = "common/fuzz_checks.rs"]
mod fuzz_checks;
#[path = "common/fuzz_pickle_checks.rs"]
mod fuzz_pickle_checks;
#[path = "common/fuzz_seccomp_checks.rs"]
mod fuzz_seccomp_checks;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::fs;
use std::path::Path;

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 13] = [
    ("frame_decode", fuzz_checks::frame_decode),
    ("frame_chunks", fuzz_checks::frame_chunks),
    ("frame_roundtrip", fuzz_checks::frame_roundtrip),
    ("handshake", fuzz_checks::handshake),
    ("handshake_wire", fuzz_checks::handshake_wire),
    ("address_parse", fuzz_checks::address_parse),
    ("connection_recv", fuzz_checks::connection_recv),
    (
        "connection_nonblocking",
        fuzz_checks::connection_nonblocking,
    ),
    ("cmsg_walk", fuzz_checks::cmsg_walk),
    ("frame_batch", fuzz_batch_checks::frame_batch),
    ("pickle_decode", fuzz_pickle_checks::pickle_decode),
    ("pickle_roundtrip", fuzz_pickle_checks::pickle_roundtrip),
    ("seccomp_filter", fuzz_seccomp_checks::seccomp_filter),
];

/// The committed inputs of one target under `fuzz`: its seeds and its
/// regressions.
fn inputs(fuzz: &Path, target: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for (dir, committed) in [("corpus", "seed-"), ("regressions", "")] {
        let Ok(entries) = fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(committed) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_committed_input_passes_its_target_check() {
    let Some(fuzz) = skip::in_repository("every_committed_input_passes_its_target_check", "fuzz/")
    else {
        return;
    };
    let mut total = 0;
    for (target, check) in TARGETS {
        let inputs = inputs(&fuzz, target);
        assert!(!inputs.is_empty(), "no committed seeds for {target}");
        for path in &inputs {
            let data = fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target}: {} fails its check",
                path.display()
            );
        }
        total += inputs.len();
    }
    println!(
        "replayed {total} committed fuzz inputs across {} targets",
        TARGETS.len()
    );
}

#[test]
fn every_fuzz_target_is_replayed() {
    let Some(manifest) = skip::in_repository("every_fuzz_target_is_replayed", "fuzz/Cargo.toml")
    else {
        return;
    };
    let manifest = fs::read_to_string(manifest).unwrap();
    let bins = manifest
        .lines()
        .filter(|l| l.starts_with("name = ") && !l.contains("ipcwire-fuzz"))
        .count();
    assert_eq!(
        bins,
        TARGETS.len(),
        "a fuzz target is missing from the replay list"
    );
    for (target, _) in TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "{target} is not a fuzz target"
        );
    }
}

/// The kernel takes the filter of every committed `seccomp_filter` input
/// built for this machine's architecture. Each is installed in a forked
/// child that then exits: allowed or logged, its `exit_group` ends it with
/// 0; refused, `KillProcess` and `Trap` end it with `SIGSYS`, and `Errno`
/// leaves it to its C library (a fault, or `exit`).
#[cfg(target_os = "linux")]
#[test]
fn committed_seccomp_filters_are_taken_by_the_kernel() {
    use ipcwire::seccomp::{Action, Arch};
    use ipcwire::{ExitStatus, Signal};

    let test = "committed_seccomp_filters_are_taken_by_the_kernel";
    let Some(fuzz) = skip::in_repository(test, "fuzz/") else {
        return;
    };
    if let Some(why) = confine::unsupported() {
        skip::skipped(format_args!("{test}: {why}"));
        return;
    }
    let exit_group = ipcwire::sys::inventory::number("exit_group").unwrap() as u32;
    let mut installed = 0;
    for path in inputs(&fuzz, "seccomp_filter") {
        let filter = fuzz_seccomp_checks::filter_of(&fs::read(&path).unwrap());
        if Some(filter.arch()) != Arch::native() {
            continue;
        }
        let status = confine::confined(&filter, || 0);
        let status = status
            .unwrap_or_else(|e| panic!("{}: the kernel refused the filter: {e:?}", path.display()));
        let expected = match filter.action() {
            _ if filter.allows(exit_group) => Some(ExitStatus::Exited(0)),
            Action::Log => Some(ExitStatus::Exited(0)),
            Action::KillProcess | Action::Trap => Some(ExitStatus::Signaled(Signal::SYS)),
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(status, expected, "{} under {filter:?}", path.display());
        }
        installed += 1;
    }
    assert!(
        installed > 0,
        "no committed seccomp_filter input is for this architecture"
    );
    println!("the kernel took {installed} committed seccomp filters");
}
