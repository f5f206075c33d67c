//! The example programs, built for the tests that run them as processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// An example binary, built for the profile these tests were built with.
///
/// `cargo test` builds the examples, but `cargo test --test NAME` does not:
/// so each is built here once per test process (a no-op when up to date),
/// and the tests never run a missing or stale binary.
pub fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.iter().any(|b| b == name) {
        return path;
    }
    let target_dir = profile_dir.parent().expect("target dir");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut build = Command::new(cargo);
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--offline", "--quiet", "--example", name])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") | None => {}
        Some(other) => {
            build.args(["--profile", other]);
        }
    }
    let out = build.output().expect("run cargo build --example");
    assert!(
        out.status.success(),
        "cargo build --example {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    built.push(name.to_owned());
    path
}
