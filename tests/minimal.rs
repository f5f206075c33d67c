//! The `no_std`, `no_main` program in `examples/minimal/`, built as a static
//! musl binary and run: its exact output, its exit status, and that it has
//! no dynamic loader and needs no shared library.
//!
//! Without Rust's musl target installed, or in the published package (which
//! has no `examples/minimal/`: cargo never packages a nested crate), the
//! tests say so on stderr and pass, unless `IPCWIRE_NO_SKIPS=1` makes that a
//! failure.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

#[path = "common/skip.rs"]
mod skip;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TARGET: &str = "x86_64-unknown-linux-musl";

/// The built binary, or `None` after saying why `test` is skipped.
fn minimal(test: &str) -> Option<&'static Path> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build) {
        Ok(exe) => Some(exe),
        Err(why) => {
            skip::skipped(format_args!("{test}: {why}"));
            None
        }
    }
}

/// `cargo build --release --manifest-path examples/minimal/Cargo.toml
/// --target x86_64-unknown-linux-musl`, into `target/minimal`; why not,
/// when it cannot be built here.
fn build() -> Result<PathBuf, String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal/Cargo.toml");
    if !manifest.is_file() {
        return Err(
            "examples/minimal/ is not in the published package; run from the repository".into(),
        );
    }
    if let Err(why) = musl_target_installed() {
        return Err(format!(
            "{why}; `rustup target add {TARGET}` to build examples/minimal"
        ));
    }
    let target_dir = target_dir().join("minimal");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // --locked: never rewrite the committed Cargo.lock in the source tree.
        .args(["build", "--release", "--offline", "--locked", "--quiet"])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .expect("run cargo build for examples/minimal");
    assert!(
        out.status.success(),
        "building examples/minimal failed (after changing ipcwire's version or \
         dependencies, run `cargo update --offline --manifest-path {}`):\n{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(target_dir.join(TARGET).join("release/ipcwire-minimal"))
}

/// Whether the toolchain in use has the musl target's standard library.
///
/// Asks `rustc` for its sysroot rather than `rustup`, so a toolchain not
/// managed by rustup is judged the same way.
fn musl_target_installed() -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    if !out.status.success() {
        return Err("`rustc --print sysroot` failed".into());
    }
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let lib = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib");
    if lib.is_dir() {
        Ok(())
    } else {
        Err(format!("the {TARGET} target is not installed"))
    }
}

/// The main crate's target directory (this test runs from `<it>/<profile>/deps`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<test>")
        .to_owned()
}

#[test]
fn minimal_does_ten_round_trips_and_exits_0() {
    let Some(exe) = minimal("minimal_does_ten_round_trips_and_exits_0") else {
        return;
    };
    let out = Command::new(exe).output().expect("run ipcwire-minimal");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "minimal: 10 round trips, child exited 0\n"
    );
    assert!(
        out.stderr.is_empty(),
        "unexpected stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", out.status);
}

/// The child, not the parent, installs a seccomp filter, and does its work
/// under it: the round trips are done (the other test checks them) after
/// the one `seccomp` call, which the kernel took.
#[test]
fn minimal_confines_its_child() {
    let test = "minimal_confines_its_child";
    let Some(exe) = minimal(test) else {
        return;
    };
    if Command::new("strace").arg("-V").output().is_err() {
        skip::skipped(format_args!("{test}: strace is not installed"));
        return;
    }
    let trace = std::env::temp_dir().join(format!("ipcwire-minimal-{}.trace", std::process::id()));
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=seccomp", "-o"])
        .arg(&trace)
        .arg(exe)
        .output()
        .expect("run strace");
    let text = std::fs::read_to_string(&trace).expect("read the trace");
    let _ = std::fs::remove_file(&trace);
    assert_eq!(out.status.code(), Some(0), "{:?}\n{text}", out.status);
    let calls: Vec<&str> = text.lines().filter(|l| l.contains("seccomp(")).collect();
    assert_eq!(calls.len(), 1, "one filter, installed once:\n{text}");
    let (pid, call) = calls[0].split_once(' ').expect("a pid, then the call");
    assert!(
        call.trim_start()
            .starts_with("seccomp(SECCOMP_SET_MODE_FILTER")
            && call.ends_with("= 0"),
        "{text}"
    );
    // The parent is told of the confined process's end: it is the child.
    let ended = format!("--- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={pid},");
    assert!(
        text.lines()
            .any(|l| l.contains(&ended) && l.split_once(' ').map(|(p, _)| p) != Some(pid)),
        "the child installs the filter, the parent stays unconfined:\n{text}"
    );
}

#[test]
fn minimal_is_static() {
    let Some(exe) = minimal("minimal_is_static") else {
        return;
    };
    let elf = std::fs::read(exe).expect("read ipcwire-minimal");
    if let Err(why) = static_elf(&elf) {
        panic!("ipcwire-minimal is not static: {why}");
    }
}

/// The check above is not vacuous: this test binary, linked dynamically
/// against the host's C library, fails it.
#[test]
#[cfg(not(target_feature = "crt-static"))]
fn a_dynamic_executable_is_not_static() {
    let exe = std::env::current_exe().expect("test binary path");
    let elf = std::fs::read(exe).expect("read the test binary");
    assert!(static_elf(&elf).is_err());
}

/// Whether an ELF executable runs without a dynamic loader: it names no
/// interpreter (`PT_INTERP`) and needs no shared library (`DT_NEEDED`).
fn static_elf(elf: &[u8]) -> Result<(), String> {
    let segments = segments(elf);
    if segments.iter().any(|s| s.kind == PT_INTERP) {
        return Err("it names a dynamic loader (PT_INTERP)".into());
    }
    // A static PIE keeps a PT_DYNAMIC for its own relocations.
    for s in segments.iter().filter(|s| s.kind == PT_DYNAMIC) {
        let table = &elf[s.offset..s.offset + s.size];
        for entry in table.chunks_exact(16) {
            match u64_at(entry, 0) {
                DT_NULL => break,
                DT_NEEDED => return Err("it needs a shared library (DT_NEEDED)".into()),
                _ => {}
            }
        }
    }
    Ok(())
}

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

/// One program header of an ELF file: its type and where its bytes are.
struct Segment {
    kind: u32,
    offset: usize,
    size: usize,
}

/// The program headers of a 64-bit little-endian ELF executable.
fn segments(elf: &[u8]) -> Vec<Segment> {
    assert!(elf.len() >= 64 && elf.starts_with(b"\x7fELF"), "not ELF");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    assert_eq!(elf[5], 1, "not a little-endian ELF file");
    let phoff = to_usize(u64_at(elf, 0x20));
    let phentsize = usize::from(u16_at(elf, 0x36));
    let phnum = usize::from(u16_at(elf, 0x38));
    assert!(
        phentsize >= 56,
        "program header entries of {phentsize} bytes"
    );
    (0..phnum)
        .map(|i| {
            let ph = &elf[phoff + i * phentsize..][..phentsize];
            let segment = Segment {
                kind: u32_at(ph, 0),
                offset: to_usize(u64_at(ph, 8)),
                size: to_usize(u64_at(ph, 32)),
            };
            assert!(
                segment.offset + segment.size <= elf.len(),
                "segment outside the file"
            );
            segment
        })
        .collect()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).expect("offset fits usize")
}
