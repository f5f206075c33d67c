//! Python runs side by side: each interpreter and case is a job for one
//! of a few threads, and one summary reports them all.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use crate::python::{versions, Python};
use crate::serial::guard;

/// Runs at once: the machine has two cores, and each run mostly waits for
/// a Python to start.
const PARALLEL: usize = 4;

/// Runs `run` on each of `jobs` on [`PARALLEL`] threads, a panic counting
/// as an error; the results come in the order of the jobs.
pub fn run_parallel<J: Send, T: Send>(
    jobs: Vec<J>,
    run: impl Fn(&J) -> Result<T, String> + Sync,
) -> Vec<(J, Result<T, String>)> {
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let Some((n, job)) = guard(&queue).pop_front() else {
                    return;
                };
                let result = catch_unwind(AssertUnwindSafe(|| run(&job))).unwrap_or_else(|panic| {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    Err(format!("panicked: {msg}"))
                });
                guard(&results).push((n, job, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| r.0);
    results.into_iter().map(|(_, job, r)| (job, r)).collect()
}

/// Prints, on stdout and stderr, how many of `total` `runs` passed across
/// `pythons` since `start`; fails listing `failures`, if any.
pub fn report(
    runs: &str,
    (passed, total): (usize, usize),
    failures: &[String],
    pythons: &[Python],
    start: Instant,
) {
    let summary = format!(
        "interop: {passed} of {total} {runs} passed across {} interpreters ({}) in {:.1?}",
        pythons.len(),
        versions(pythons),
        start.elapsed()
    );
    eprintln!("{summary}");
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{} of {total} {runs} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
