//! The examples, run as real processes and compared with what they promise.

#[path = "common/examples.rs"]
mod examples;
#[path = "common/skip.rs"]
mod skip;

use std::process::Command;

use examples::example;

fn expected_pipe_fork_output() -> String {
    let mut s: String = (0..1000).map(|i| format!("{i}\n")).collect();
    s.push_str("Main process is done\n");
    s
}

#[test]
fn pipe_fork_prints_the_numbers_then_done() {
    let out = Command::new(example("pipe_fork"))
        .output()
        .expect("run pipe_fork");
    assert!(out.status.success(), "pipe_fork failed: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected_pipe_fork_output()
    );
    assert!(
        out.stderr.is_empty(),
        "unexpected stderr: {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pipe_fork_prints_what_the_python_program_prints() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/pipe_fork.py");
    let python = match Command::new("python3").arg(script).output() {
        Ok(out) => out,
        Err(e) => {
            skip::skipped(format_args!(
                "no python3 on PATH ({e}); cannot compare with Python"
            ));
            return;
        }
    };
    assert!(python.status.success(), "python program failed: {python:?}");
    let rust = Command::new(example("pipe_fork"))
        .output()
        .expect("run pipe_fork");
    assert_eq!(
        String::from_utf8_lossy(&rust.stdout),
        String::from_utf8_lossy(&python.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&python.stdout),
        expected_pipe_fork_output()
    );
}
