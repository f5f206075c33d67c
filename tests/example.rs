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

/// Runs `sandbox ARGS...` with core dumps off, so that the worker the kernel
/// kills with `SIGSYS` leaves no core file in the working directory.
#[cfg(target_os = "linux")]
fn run_sandbox(args: &[&str]) -> std::process::Output {
    Command::new("sh")
        .args(["-c", "ulimit -c 0 && exec \"$0\" \"$@\""])
        .arg(example("sandbox"))
        .args(args)
        .output()
        .expect("run sandbox")
}

/// Checks that `sandbox ARGS...` printed exactly `line`, nothing on stderr
/// (the worker prints nothing either), and exited 0.
#[cfg(target_os = "linux")]
fn check_sandbox(args: &[&str], line: &str) {
    let out = run_sandbox(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        line,
        "stderr: {stderr}"
    );
    assert_eq!(stderr, "", "{args:?}");
    assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", out.status);
}

#[test]
#[cfg(target_os = "linux")]
fn sandbox_serves_every_request_from_inside_its_filter() {
    check_sandbox(&[], "sandbox: 1000 round trips, worker exited 0\n");
}

/// The filter is enforced: one call outside it, after the same exchange,
/// and the kernel kills the worker.
#[test]
#[cfg(target_os = "linux")]
fn sandbox_worker_dies_of_a_call_outside_its_filter() {
    check_sandbox(
        &["--violate"],
        "sandbox: worker killed by signal 31 (SIGSYS)\n",
    );
}

#[test]
#[cfg(target_os = "linux")]
fn sandbox_refuses_other_arguments_with_the_usage() {
    for args in [&["--violet"][..], &["--violate", "--violate"]] {
        let out = run_sandbox(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("sandbox: ") && stderr.ends_with("\nusage: sandbox [--violate]\n"),
            "{args:?}: {stderr:?}"
        );
    }
}

/// `syscalls FUNCTION...` prints those functions' inventory rows, the names
/// `seccomp::Filter::allow_function` takes; a name the inventory lacks is a
/// usage error, and `--help` explains the forms.
#[test]
fn syscalls_prints_the_functions_asked_for() {
    let run = |args: &[&str]| {
        Command::new(example("syscalls"))
            .args(args)
            .output()
            .expect("run syscalls")
    };
    let out = run(&["drop(Connection)", "Child::kill"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rows: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    let calls: Vec<(&str, &str)> = rows.iter().map(|r| (&*r[0], &*r[1])).collect();
    assert_eq!(
        calls,
        [("drop(Connection)", "close"), ("Child::kill", "kill")]
    );

    let out = run(&["Connection::set_recv_timeout"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("makes no system call") && stderr.contains("usage:"),
        "{stderr}"
    );

    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: syscalls"));
}
