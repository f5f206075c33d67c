//! The syscall audit: real scenarios run under `strace -f`, and every system
//! call ipcwire made is checked against `ipcwire::sys::inventory` for the
//! functions that were running, together with the flags and counts the docs
//! promise.
//!
//! The scenarios (`scenarios.rs`) are the ignored test `scenarios`, which
//! `syscalls_match_the_inventory` runs again under strace; `strace.rs` reads
//! the trace. Each scenario starts with a marker write to stderr
//! (`@audit scenario <name>`) and declares the inventory functions it
//! calls; each piece of work is bracketed by marker writes (`@audit begin
//! <functions>` ... `@audit end`), per process; a forked child starts
//! inside its parent's bracket. The functions bracketed in a scenario must
//! be exactly those it declares. Reproduce by hand with:
//!
//! ```sh
//! cargo test --test audit --no-run   # prints the test binary's path
//! strace -f -o trace.txt target/debug/deps/audit-* --exact scenarios --ignored --nocapture
//! ```
//!
//! `seccomp.rs` runs every scenario again in a forked child confined by a
//! seccomp filter built from exactly its declared functions' entries and
//! `seccomp::RUNTIME` (no markers then: they are not ipcwire's calls), so
//! that a call the inventory misses kills it with `SIGSYS`; a run under
//! `Action::Trap` then names the call (`tests/common/sigsys.rs`). Scenario
//! code makes no system call of its own besides, except where it says so.
//!
//! `coverage.rs` fails when an inventory entry is declared by no scenario.

#[path = "../common/confine.rs"]
mod confine;
#[path = "../common/fork.rs"]
mod fork;
#[path = "../common/kernels.rs"]
mod kernels;
#[path = "../common/serial.rs"]
mod serial;
#[path = "../common/sigsys.rs"]
mod sigsys;
#[path = "../common/skip.rs"]
mod skip;

mod coverage;
mod scenarios;
mod seccomp;
mod strace;

use std::process::Command;

use ipcwire::sys::inventory;

#[test]
fn syscalls_match_the_inventory() {
    // The seccomp tests fork; none while strace starts.
    let _serial = serial::lock();
    if Command::new("strace").arg("-V").output().is_err() {
        skip::skipped("syscalls_match_the_inventory: strace is not installed");
        return;
    }
    let trace = std::env::temp_dir().join(format!("ipcwire-audit-{}.trace", std::process::id()));
    let out = Command::new("strace")
        .args(["-f", "-qq", "-s", "200", "-o"])
        .arg(&trace)
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "scenarios",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("run strace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unmarked: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with("@audit "))
        .collect();
    assert!(
        out.status.success(),
        "scenarios failed under strace:\n{}",
        unmarked.join("\n")
    );
    let text = std::fs::read_to_string(&trace).expect("read the trace");
    let _ = std::fs::remove_file(&trace);
    let report = strace::check_trace(&text);
    eprintln!(
        "audit: {} system calls in {} brackets of {} scenarios checked",
        report.calls, report.brackets, report.scenarios
    );
    assert!(report.problems.is_empty(), "{}", report.problems.join("\n"));
    assert!(
        report.brackets >= 30,
        "too few brackets ran: {}",
        report.brackets
    );
}

#[test]
#[ignore = "run under strace by syscalls_match_the_inventory"]
fn scenarios() {
    for scenario in scenarios::SCENARIOS {
        scenarios::run(scenario, true);
    }
}

#[test]
fn docs_table_is_the_inventory() {
    // Shown in the `sys::inventory` docs.
    assert_eq!(
        include_str!("../../src/sys/syscalls.md"),
        inventory::MarkdownTable.to_string(),
        "regenerate with: cargo run --example syscalls -- --markdown > src/sys/syscalls.md"
    );
}
