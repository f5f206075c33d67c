//! What is measured: the named workloads W1–W4, the size sweep, and the
//! implementations that run them.

use std::time::Duration;

use crate::{os, python, raw, stdframe, with_ipcwire, BoxResult};

/// How messages flow between the parent and its forked child.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Parent sends every message over a pipe, child receives and checks.
    OneWay,
    /// Parent sends over a socket pair, child echoes, parent checks each echo.
    PingPong,
}

/// One measurable exchange: who sends what, how often, over which channel.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The label used in output (`w1`, `w3-bigpipe`, `sweep-4096`).
    pub name: String,
    pub pattern: Pattern,
    /// Bytes per message, header excluded.
    pub size: usize,
    /// Messages (one-way) or round trips (ping-pong).
    pub count: u64,
    /// Pipe capacity to ask for with `F_SETPIPE_SZ`; `None` keeps the default.
    pub pipe_size: Option<usize>,
    /// Run parent and child on one CPU (see [`named`] for why W4 does).
    pub one_cpu: bool,
}

impl Spec {
    /// Payload bytes that cross in one direction.
    pub fn bytes(&self) -> u64 {
        self.count * self.size as u64
    }

    /// `--quick`: a tenth of the messages, for everyone alike.
    pub fn quick(mut self) -> Spec {
        self.count = (self.count / 10).max(1);
        self
    }
}

/// The pipe size the `-bigpipe` variants ask for: Linux's unprivileged
/// maximum (`/proc/sys/fs/pipe-max-size`), large enough for a whole 1 MiB
/// message.
pub const BIG_PIPE: usize = 1 << 20;

/// The named workloads, in table order.
pub const NAMES: [&str; 5] = ["w1", "w2", "w3", "w3-bigpipe", "w4"];

/// The named workload `name` at full size, or `None` if there is no such.
///
/// W4 runs parent and child on one CPU. Left to the scheduler, the two
/// processes of a ping-pong share a CPU in some runs and not in others, and
/// where a wake-up across CPUs is slow (about 60 µs against 5 µs on a small
/// virtual machine) the round trip time then jumps twelvefold from run to
/// run, drowning every difference between implementations. On one CPU each
/// round trip costs two context switches plus the implementation's own work.
pub fn named(name: &str) -> Option<Spec> {
    let (pattern, size, count, pipe_size) = match name {
        "w1" => (Pattern::OneWay, 64, 1_000_000, None),
        "w2" => (Pattern::OneWay, 4 << 10, 200_000, None),
        "w3" => (Pattern::OneWay, 1 << 20, 1024, None),
        "w3-bigpipe" => (Pattern::OneWay, 1 << 20, 1024, Some(BIG_PIPE)),
        "w4" => (Pattern::PingPong, 64, 200_000, None),
        _ => return None,
    };
    Some(Spec {
        name: name.to_string(),
        pattern,
        size,
        count,
        pipe_size,
        one_cpu: pattern == Pattern::PingPong,
    })
}

/// Message sizes of the sweep: 64 B to 4 MiB, every factor of four.
pub const SWEEP_SIZES: [usize; 9] = [
    64,
    256,
    1 << 10,
    4 << 10,
    16 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
];

/// One sweep point: one-way over a default pipe, at most 200,000 messages
/// and at most 256 MiB, so small and large sizes each take a moment.
pub fn sweep(size: usize) -> Spec {
    let count = (256 << 20) / size as u64;
    Spec {
        name: format!("sweep-{size}"),
        pattern: Pattern::OneWay,
        size,
        count: count.min(200_000),
        pipe_size: None,
        one_cpu: false,
    }
}

/// The implementations compared.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `Connection::send_bytes` / `recv_bytes_into`.
    Ipcwire,
    /// One `libc::write` per frame, large `libc::read`s parsed in place.
    Raw,
    /// `write_all` of header then payload; `BufReader` + `read_exact`.
    Std,
    /// CPython's `multiprocessing.Pipe`.
    Python,
}

impl Impl {
    pub const ALL: [Impl; 4] = [Impl::Ipcwire, Impl::Raw, Impl::Std, Impl::Python];

    pub fn name(self) -> &'static str {
        match self {
            Impl::Ipcwire => "ipcwire",
            Impl::Raw => "raw",
            Impl::Std => "std",
            Impl::Python => "python",
        }
    }

    pub fn from_name(name: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Runs `spec` once and returns the time on the parent's clock.
    pub fn run(self, spec: &Spec) -> BoxResult<Duration> {
        // Pinned before the fork (or the python3 start), so both sides inherit it.
        let _pinned = match spec.one_cpu {
            true => Some(os::pin_to_one_cpu()?),
            false => None,
        };
        match self {
            Impl::Ipcwire => with_ipcwire::run(spec),
            Impl::Raw => raw::run(spec),
            Impl::Std => stdframe::run(spec),
            Impl::Python => python::run(spec),
        }
    }
}
