//! What confinement costs: the seccomp filters of the `-seccomp` workloads,
//! and the cost of a filter per system call alone.
//!
//! A confined process allows exactly the system calls that the inventory
//! (`ipcwire::sys::inventory`) lists for the ipcwire functions it calls,
//! those of the harness's control pipes ([`harness::CONTROL`]) and the
//! runtime's ([`Filter::allow_runtime`]: allocator, exit); any other call
//! kills it.
//!
//! The per-call probe times a forked child calling `getpid` in a loop,
//! unconfined and confined, repetitions interleaved: the difference is
//! what the filter adds to a call it allows. Linux 5.11 and later cache
//! the verdict of a filter that looks only at the number and architecture,
//! as ipcwire's do, so it may be close to nothing.

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use ipcwire::seccomp::{Action, Filter};
use ipcwire::sys::{self, inventory};

use crate::os::{self, Fork};
use crate::report::Stats;
use crate::{harness, BoxResult};

/// The filter of a process that calls `functions`, as the inventory names
/// them (`"Connection::send_bytes"`).
pub fn filter(functions: &[&str]) -> BoxResult<Filter> {
    let mut filter = Filter::native(Action::KillProcess)
        .ok_or("seccomp filters need Linux on x86_64, aarch64 or i686")?;
    filter
        .allow_functions(functions)?
        .allow_functions(&harness::CONTROL)?
        .allow_runtime()?;
    Ok(filter)
}

/// `getpid` calls in one run of the probe: a few tenths of a second.
pub const CALLS: u64 = 1_000_000;

/// Nanoseconds per `getpid`, each run's, unconfined and confined.
pub struct CallCost {
    calls: u64,
    plain: Vec<f64>,
    confined: Vec<f64>,
}

impl CallCost {
    /// The line for the reports.
    pub fn report(&self) -> String {
        let (plain, confined) = (Stats::of(&self.plain), Stats::of(&self.confined));
        format!(
            "`getpid` in a forked child, {} calls a run, {} runs each, interleaved: \
             {:.1} ns a call unconfined ({:.1}–{:.1}), {:.1} ns confined ({:.1}–{:.1}), \
             {:+.1} ns (medians).",
            self.calls,
            self.plain.len(),
            plain.median,
            plain.min,
            plain.max,
            confined.median,
            confined.min,
            confined.max,
            confined.median - plain.median,
        )
    }
}

/// Runs the probe `reps` times each way, alternating which goes first.
pub fn call_cost(calls: u64, reps: usize) -> BoxResult<CallCost> {
    let mut filter = filter(&["sys::getpid"])?;
    // `Instant::now`: the vDSO's clock, or a system call where there is none.
    for name in ["clock_gettime", "clock_gettime64"] {
        if let Some(number) = inventory::number(name).and_then(|n| u32::try_from(n).ok()) {
            filter.allow(number)?;
        }
    }
    let mut cost = CallCost {
        calls,
        plain: Vec::new(),
        confined: Vec::new(),
    };
    for rep in 0..reps {
        for confined in [rep % 2 == 1, rep % 2 == 0] {
            let ns = time_calls(calls, confined.then_some(&filter))?;
            let runs = if confined {
                &mut cost.confined
            } else {
                &mut cost.plain
            };
            runs.push(ns);
        }
    }
    Ok(cost)
}

/// Nanoseconds per `getpid` over `calls` in a forked child on the last CPU
/// this process may use, confined by `filter` if given.
fn time_calls(calls: u64, filter: Option<&Filter>) -> BoxResult<f64> {
    let cpu = os::allowed_cpus()?.last().copied();
    let (rx, tx) = os::pipe(None)?;
    let (mut rx, tx) = (File::from(rx), File::from(tx));
    // SAFETY: the benchmark is single-threaded, so the child may do anything.
    match unsafe { os::fork() }? {
        Fork::Child => {
            drop(rx);
            let run = AssertUnwindSafe(|| call_in_child(calls, cpu, filter, tx));
            // A panic must not unwind into the parent's copied stack.
            os::exit(catch_unwind(run).unwrap_or(101))
        }
        Fork::Parent(pid) => {
            drop(tx);
            let mut ns = [0; 8];
            let read = rx.read_exact(&mut ns);
            os::wait(pid).map_err(|e| format!("getpid probe: {e}"))?;
            read?;
            Ok(u64::from_le_bytes(ns) as f64 / calls as f64)
        }
    }
}

/// The probe's child: places and confines itself, calls, reports the
/// nanoseconds.
fn call_in_child(calls: u64, cpu: Option<usize>, filter: Option<&Filter>, mut tx: File) -> i32 {
    if let Some(cpu) = cpu {
        if os::run_only_on(cpu).is_err() {
            return 1;
        }
    }
    if let Some(filter) = filter {
        if filter.install().is_err() {
            return 1;
        }
    }
    let start = Instant::now();
    for _ in 0..calls {
        black_box(sys::getpid());
    }
    let ns = start.elapsed().as_nanos() as u64;
    match tx.write_all(&ns.to_le_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
