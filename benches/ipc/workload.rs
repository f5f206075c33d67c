//! What is measured: the named workloads W1–W5, the size sweep, the batch
//! sweep, and the implementations that run them.

use std::time::Duration;

use crate::{os, pickled, python, raw, stdframe, with_ipcwire, BoxResult};

/// How messages flow between the parent and its forked child.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Parent sends every message over a pipe, child receives and checks.
    OneWay,
    /// Parent sends each message over the channel, child echoes it, parent
    /// checks each echo before it sends the next.
    PingPong(Duplex),
}

/// What carries a ping-pong both ways.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Duplex {
    /// A Unix stream socket pair: each side reads and writes one socket.
    SocketPair,
    /// Two pipes, one each way: each side reads one and writes the other.
    TwoPipes,
}

/// What the messages carry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `size` bytes: a sequence number, then fill (see `harness.rs`).
    Frames,
    /// Message `i` is the Python int `i`, pickled (see `pickled.rs`).
    Ints,
    /// Message `i` is a dict of ten str→int fields that depend on `i`.
    Dicts,
}

/// One measurable exchange: who sends what, how often, over which channel.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The label used in output (`w1`, `w3-bigpipe`, `sweep-4096`).
    pub name: String,
    pub pattern: Pattern,
    pub payload: Payload,
    /// Bytes per message, header excluded; 0 for pickles, whose sizes vary.
    pub size: usize,
    /// Messages (one-way) or round trips (ping-pong).
    pub count: u64,
    /// Pipe capacity to ask for with `F_SETPIPE_SZ`; `None` keeps the default.
    pub pipe_size: Option<usize>,
    /// Where parent and child run.
    pub cpus: Cpus,
    /// Whether both sides run in forked children, each confined by a
    /// seccomp filter before the clock starts (`-seccomp` workloads, ipcwire
    /// only; see `with_ipcwire.rs`).
    pub seccomp: bool,
    /// Messages per `send_bytes_batch`, the receiver borrowing each
    /// (`w1b` workloads, ipcwire only; see `with_ipcwire.rs`). `None`: one
    /// send per message, as every implementation does.
    pub batch: Option<usize>,
    /// Whether raw's frames go out with `pwritev2(RWF_NOSIGNAL)`, as
    /// ipcwire's pipe sends do on Linux 6.18 and later, instead of `write`
    /// (`-nosignal` workloads, raw only; see `raw.rs`).
    pub nosignal_writes: bool,
}

impl Spec {
    /// Payload bytes that cross in one direction. For pickles, those of
    /// ipcwire's (Python's own are framed and a little longer).
    pub fn bytes(&self) -> u64 {
        match self.payload {
            Payload::Frames => self.count * self.size as u64,
            Payload::Ints | Payload::Dicts => pickled::total_len(self),
        }
    }

    /// `--quick`: a tenth of the messages, for everyone alike.
    pub fn quick(mut self) -> Spec {
        self.count = (self.count / 10).max(1);
        self
    }

    /// The same workload with both sides confined, named `NAME-seccomp`.
    fn confined(mut self) -> Spec {
        self.name += SECCOMP_SUFFIX;
        self.seccomp = true;
        self
    }

    /// The workload this one confines (`w1` for `w1-seccomp`).
    pub fn unconfined_name(&self) -> Option<&str> {
        self.name
            .strip_suffix(SECCOMP_SUFFIX)
            .filter(|_| self.seccomp)
    }

    /// The same workload sent `batch` messages at a time, named `name`.
    fn batched(mut self, name: &str, batch: usize) -> Spec {
        self.name = name.to_string();
        self.batch = Some(batch);
        self
    }

    /// The same ping-pong over two pipes, named `name`.
    fn over_two_pipes(mut self, name: &str) -> Spec {
        self.name = name.to_string();
        self.pattern = Pattern::PingPong(Duplex::TwoPipes);
        self
    }

    /// The same workload with raw writing through `pwritev2(RWF_NOSIGNAL)`,
    /// named `NAME-nosignal`.
    fn nosignal(mut self) -> Spec {
        self.name += NOSIGNAL_SUFFIX;
        self.nosignal_writes = true;
        self
    }

    /// The workload this one writes with `write` (`w4p` for `w4p-nosignal`).
    pub fn plain_writes_name(&self) -> Option<&str> {
        self.name
            .strip_suffix(NOSIGNAL_SUFFIX)
            .filter(|_| self.nosignal_writes)
    }

    /// The workload in whose rotation this one is measured (see `main.rs`):
    /// the one it varies, whose ratio to it is what matters (`w1` for
    /// `w1-seccomp` and every `w1b`, `w4` for `w4p` and `w4p-nosignal`),
    /// or its own name.
    pub fn rotation(&self) -> &str {
        match (self.unconfined_name(), self.batch, self.pattern) {
            (Some(name), _, _) => name,
            (None, Some(_), _) => BATCHED,
            (None, None, Pattern::PingPong(Duplex::TwoPipes)) => PING_PONG,
            (None, None, _) => &self.name,
        }
    }
}

const SECCOMP_SUFFIX: &str = "-seccomp";
const NOSIGNAL_SUFFIX: &str = "-nosignal";

/// The workload the `w1b` workloads send in batches.
pub const BATCHED: &str = "w1";
/// Messages per batch in `w1b`; `w1b-N` sends `N` at a time.
pub const BATCH: usize = 64;

/// The socket pair ping-pong that `w4p` runs over two pipes.
pub const PING_PONG: &str = "w4";

/// The pipe size the `-bigpipe` variants ask for: Linux's unprivileged
/// maximum (`/proc/sys/fs/pipe-max-size`), large enough for a whole 1 MiB
/// message.
pub const BIG_PIPE: usize = 1 << 20;

/// The named workloads of bytes, in table order. `w1-seccomp` and `w1b`
/// are measured together with `w1`, and `w4p` and `w4p-nosignal` with `w4`
/// (see `main.rs`), since what matters is their ratio to it; each follows
/// the one it varies.
pub const FRAME_NAMES: [&str; 9] = [
    "w1",
    "w1-seccomp",
    "w1b",
    "w2",
    "w3",
    "w3-bigpipe",
    "w4",
    "w4p",
    "w4p-nosignal",
];
/// The named workloads of Python objects, in table order.
pub const PICKLE_NAMES: [&str; 2] = ["w5", "w5-dict"];

/// Every named workload.
pub fn names() -> impl Iterator<Item = &'static str> {
    FRAME_NAMES.into_iter().chain(PICKLE_NAMES)
}

/// Which CPUs the parent and the child of a measurement run on.
///
/// Left to the scheduler, the two processes share a CPU in some runs and
/// not in others, and where a wake-up across CPUs is slow (about 60 µs
/// against 5 µs for a switch on one CPU, on a small virtual machine) the
/// same run then takes anywhere from 1× to 12× as long, drowning every
/// difference between implementations. So placement is fixed:
///
/// - one-way: sender and receiver on two CPUs, working in parallel as a
///   producer and a consumer do; each time the pipe fills or empties, one
///   wakes the other across CPUs, which is what a larger pipe saves;
/// - ping-pong: both on one CPU, where the two cannot overlap anyway; each
///   round trip costs two context switches plus the implementation's work,
///   and not twice the cross-CPU wake-up, which would hide that work.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cpus {
    /// Wherever the scheduler puts them (when the affinity mask is unknown).
    Free,
    /// Both on this CPU.
    Same(usize),
    /// The parent on the first, the child on the second.
    Split(usize, usize),
}

impl Cpus {
    /// The placement for `pattern`, on the highest-numbered CPUs this
    /// process may use (CPU 0 tends to take the device interrupts).
    fn for_pattern(pattern: Pattern) -> Cpus {
        let Ok(cpus) = os::allowed_cpus() else {
            return Cpus::Free;
        };
        match (pattern, cpus.as_slice()) {
            (_, []) => Cpus::Free,
            (Pattern::OneWay, [.., a, b]) => Cpus::Split(*a, *b),
            (_, [.., last]) => Cpus::Same(*last),
        }
    }

    pub fn parent(self) -> Option<usize> {
        match self {
            Cpus::Free => None,
            Cpus::Same(cpu) | Cpus::Split(cpu, _) => Some(cpu),
        }
    }

    pub fn child(self) -> Option<usize> {
        match self {
            Cpus::Free => None,
            Cpus::Same(cpu) | Cpus::Split(_, cpu) => Some(cpu),
        }
    }
}

/// The named workload `name` at full size, or `None` if there is no such.
/// Besides the [`names`], `w1b-N` is `w1b` in batches of `N` (`N` ≥ 1).
pub fn named(name: &str) -> Option<Spec> {
    use Duplex::SocketPair;
    use Payload::{Dicts, Frames, Ints};
    let (pattern, payload, size, count, pipe_size) = match name {
        "w1" => (Pattern::OneWay, Frames, 64, 1_000_000, None),
        "w2" => (Pattern::OneWay, Frames, 4 << 10, 200_000, None),
        "w3" => (Pattern::OneWay, Frames, 1 << 20, 1024, None),
        "w3-bigpipe" => (Pattern::OneWay, Frames, 1 << 20, 1024, Some(BIG_PIPE)),
        "w4" => (Pattern::PingPong(SocketPair), Frames, 64, 200_000, None),
        "w5" => (Pattern::OneWay, Ints, 0, 1_000_000, None),
        // About a second for Python, as w1 takes.
        "w5-dict" => (Pattern::OneWay, Dicts, 0, 200_000, None),
        "w1-seccomp" => return named("w1").map(Spec::confined),
        "w1b" => return named(BATCHED).map(|spec| spec.batched(name, BATCH)),
        "w4p" => return named(PING_PONG).map(|spec| spec.over_two_pipes(name)),
        "w4p-nosignal" => return named("w4p").map(Spec::nosignal),
        _ => {
            let batch: usize = name.strip_prefix("w1b-")?.parse().ok().filter(|&n| n > 0)?;
            let name = format!("w1b-{batch}");
            return named(BATCHED).map(|spec| spec.batched(&name, batch));
        }
    };
    Some(Spec {
        name: name.to_string(),
        pattern,
        payload,
        size,
        count,
        pipe_size,
        cpus: Cpus::for_pattern(pattern),
        seccomp: false,
        batch: None,
        nosignal_writes: false,
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
        payload: Payload::Frames,
        size,
        count: count.min(200_000),
        pipe_size: None,
        cpus: Cpus::for_pattern(Pattern::OneWay),
        seccomp: false,
        batch: None,
        nosignal_writes: false,
    }
}

/// Batch sizes of the batch sweep: one message per send (what batching
/// starts from) to four times `w1b`'s 64.
pub const BATCH_SIZES: [usize; 5] = [1, 4, 16, 64, 256];

/// One point of the batch sweep: `w1b-N`, `w1`'s messages `batch` at a time.
pub fn batch_sweep(batch: usize) -> Spec {
    named(&format!("w1b-{batch}")).expect("every batch size above 0 names a workload")
}

/// The implementations compared.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `Connection::send_bytes` / `recv_bytes_into`; for Python objects,
    /// `send` / `recv`.
    Ipcwire,
    /// For Python objects only: `send_bytes` / `recv_bytes_into` of the
    /// same pickles, made before the clock starts and never decoded.
    IpcwireBytes,
    /// One `libc::write` per frame (`pwritev2(RWF_NOSIGNAL)` in `-nosignal`
    /// workloads), large `libc::read`s parsed in place.
    Raw,
    /// `write_all` of header then payload; `BufReader` + `read_exact`.
    Std,
    /// CPython's `multiprocessing.Pipe`.
    Python,
}

impl Impl {
    pub const ALL: [Impl; 5] = [
        Impl::Ipcwire,
        Impl::Raw,
        Impl::Std,
        Impl::Python,
        Impl::IpcwireBytes,
    ];
    /// Those that move frames of bytes, in table order.
    pub const FRAMES: [Impl; 4] = [Impl::Ipcwire, Impl::Raw, Impl::Std, Impl::Python];
    /// Those that move Python objects, in table order.
    pub const PICKLES: [Impl; 3] = [Impl::Ipcwire, Impl::IpcwireBytes, Impl::Python];

    pub fn name(self) -> &'static str {
        match self {
            Impl::Ipcwire => "ipcwire",
            Impl::IpcwireBytes => "ipcwire-bytes",
            Impl::Raw => "raw",
            Impl::Std => "std",
            Impl::Python => "python",
        }
    }

    pub fn from_name(name: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Whether this implementation takes part in `spec`: raw and std
    /// frame bytes and know no pickles; the pickle baseline has nothing to
    /// add to workloads of bytes; confinement and batches are ipcwire's,
    /// `RWF_NOSIGNAL` writes raw's (ipcwire's pipe sends have them already).
    pub fn runs(self, spec: &Spec) -> bool {
        if spec.nosignal_writes {
            return self == Impl::Raw;
        }
        if spec.seccomp || spec.batch.is_some() {
            return self == Impl::Ipcwire && spec.payload == Payload::Frames;
        }
        match spec.payload {
            Payload::Frames => Impl::FRAMES.contains(&self),
            Payload::Ints | Payload::Dicts => Impl::PICKLES.contains(&self),
        }
    }

    /// Runs `spec` once and returns the time on the parent's clock.
    pub fn run(self, spec: &Spec) -> BoxResult<Duration> {
        if !self.runs(spec) {
            return Err(format!("{} does not run {}", self.name(), spec.name).into());
        }
        // The parent's placement, for the length of the run; each child
        // places itself after the fork.
        let _pinned = spec.cpus.parent().map(os::pin).transpose()?;
        match (self, spec.payload) {
            (Impl::Ipcwire, Payload::Frames) => with_ipcwire::run(spec),
            (Impl::Ipcwire, _) => pickled::run_objects(spec),
            (Impl::IpcwireBytes, _) => pickled::run_bytes(spec),
            (Impl::Raw, _) => raw::run(spec),
            (Impl::Std, _) => stdframe::run(spec),
            (Impl::Python, _) => python::run(spec),
        }
    }
}
