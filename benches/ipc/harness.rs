//! The frame every Rust implementation is measured in: the message
//! protocol, the child's checks and report, and the parent's clock.
//!
//! Message `i` is `i` as 8 little-endian bytes followed by [`FILL`] up to
//! the message size. The child checks order, length and fill of every
//! message and sums the sequence numbers; at end of stream it reports on a
//! separate control pipe, and the parent's clock stops only when that
//! report has arrived. So every implementation is timed until its data
//! was received and checked, not merely handed to the kernel.
//!
//! The pickle workloads (`pickled.rs`) carry Python objects instead; their
//! receivers check each object themselves and count it with
//! [`Checker::accept`], so they report and are verified alike.
//!
//! A confined measurement ([`measure_confined`]) runs the sender in a
//! second child as well, so that both sides can confine themselves (a
//! seccomp filter binds a process for good, and this one goes on to
//! measure more), and times it the same way.

use std::fs::File;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::os::{self, Fork};
use crate::workload::{Payload, Spec};
use crate::BoxResult;

/// Every payload byte after the sequence number.
pub const FILL: u8 = 0xA5;
const SEQ_LEN: usize = 8;

/// A reusable outgoing message: an optional prefix (a frame header), then
/// the sequence number, then fill. Only the sequence number changes per send.
pub struct Message {
    buf: Vec<u8>,
    prefix: usize,
}

impl Message {
    /// A bare payload of `size` bytes.
    pub fn new(size: usize) -> Message {
        assert!(size >= SEQ_LEN, "messages carry an 8-byte sequence number");
        Message {
            buf: vec![FILL; size],
            prefix: 0,
        }
    }

    /// A whole frame in Python's format: 4-byte big-endian length, payload.
    pub fn framed(size: usize) -> Message {
        let len = u32::try_from(size).expect("frames here stay below 4 GiB");
        let mut msg = Message::new(size + 4);
        msg.buf[..4].copy_from_slice(&len.to_be_bytes());
        msg.prefix = 4;
        msg
    }

    pub fn set_seq(&mut self, seq: u64) {
        self.buf[self.prefix..self.prefix + SEQ_LEN].copy_from_slice(&seq.to_le_bytes());
    }

    /// Prefix and payload together.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn payload(&self) -> &[u8] {
        &self.buf[self.prefix..]
    }
}

/// Why a receiver gave up. The discriminant is the report's status byte.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    Length = 1,
    Order = 2,
    Fill = 3,
    Recv = 4,
    Send = 5,
    Value = 6,
    Decode = 7,
}

impl Fault {
    fn describe(status: u8) -> &'static str {
        match status {
            1 => "a message of the wrong length",
            2 => "a message out of order",
            3 => "a message with wrong fill bytes",
            4 => "a receive error",
            5 => "a send error",
            6 => "a message with a wrong value",
            7 => "a message that did not decode as expected",
            _ => "an unknown status",
        }
    }
}

/// Checks a stream of received messages against the protocol.
pub struct Checker {
    next: u64,
    sum: u64,
    /// What every payload must hold after its sequence number.
    fill: Vec<u8>,
}

impl Checker {
    pub fn new(size: usize) -> Checker {
        Checker {
            next: 0,
            sum: 0,
            fill: vec![FILL; size - SEQ_LEN],
        }
    }

    /// The checker a child of `spec` starts with. Pickles vary in size, so
    /// for them it only counts what their receivers [`accept`](Self::accept).
    fn for_spec(spec: &Spec) -> Checker {
        match spec.payload {
            Payload::Frames => Checker::new(spec.size),
            Payload::Ints | Payload::Dicts => Checker {
                next: 0,
                sum: 0,
                fill: Vec::new(),
            },
        }
    }

    /// The size every message must have.
    pub fn size(&self) -> usize {
        self.fill.len() + SEQ_LEN
    }

    /// Accepts `msg` if it is the next message, whole and well filled.
    pub fn check(&mut self, msg: &[u8]) -> Result<(), Fault> {
        if msg.len() != self.size() {
            return Err(Fault::Length);
        }
        let (seq, rest) = msg.split_at(SEQ_LEN);
        if *seq != self.next.to_le_bytes() {
            return Err(Fault::Order);
        }
        // A slice comparison is one memcmp, so checking costs every
        // implementation the same small, fixed amount per byte.
        if rest != self.fill {
            return Err(Fault::Fill);
        }
        self.count_next();
        Ok(())
    }

    /// The sequence number the next message must carry.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Accepts message `seq`, whose contents the caller has checked, if it
    /// is the next one.
    pub fn accept(&mut self, seq: u64) -> Result<(), Fault> {
        if seq != self.next {
            return Err(Fault::Order);
        }
        self.count_next();
        Ok(())
    }

    fn count_next(&mut self) {
        self.sum = self.sum.wrapping_add(self.next);
        self.next += 1;
    }

    fn report(&self, result: Result<(), Fault>) -> [u8; REPORT_LEN] {
        let status = result.err().map_or(0, |f| f as u8);
        let mut out = [status; REPORT_LEN];
        out[1..9].copy_from_slice(&self.next.to_le_bytes());
        out[9..].copy_from_slice(&self.sum.to_le_bytes());
        out
    }
}

/// Status byte, message count and wrapping sum of sequence numbers (both
/// little-endian `u64`), as the Python script packs them (`"<BQQ"`).
const REPORT_LEN: usize = 17;

/// Fails unless the child saw exactly the messages `spec` sends.
fn verify(report: &[u8; REPORT_LEN], spec: &Spec) -> BoxResult<()> {
    let field = |at: usize| u64::from_le_bytes(report[at..at + 8].try_into().unwrap());
    let (status, count, sum) = (report[0], field(1), field(9));
    if status != 0 {
        let what = Fault::describe(status);
        return Err(format!("{}: child stopped at message {count}: {what}", spec.name).into());
    }
    if count != spec.count || sum != expected_sum(spec.count) {
        let want = spec.count;
        return Err(format!(
            "{}: child got {count} messages (sum {sum}), want {want}",
            spec.name
        )
        .into());
    }
    Ok(())
}

/// 0 + 1 + ... + (count - 1), wrapping at 2^64 as the receivers sum.
fn expected_sum(count: u64) -> u64 {
    let n = u128::from(count);
    (n * n.saturating_sub(1) / 2) as u64
}

/// Forks; the child runs `child` on `child_end` and reports, the parent
/// runs `parent` on `parent_end`. Returns the time from the parent's first
/// send until the child's report arrived.
///
/// `parent` must close (drop) its end when done, so the child sees end of
/// stream. Each process closes the other's end right after the fork.
pub fn measure<P, C>(
    spec: &Spec,
    parent_end: P,
    child_end: C,
    parent: impl FnOnce(P) -> BoxResult<()>,
    child: impl FnOnce(C, &mut Checker) -> Result<(), Fault>,
) -> BoxResult<Duration> {
    measure_with(spec, parent_end, child_end, parent, child, &|| true)
}

/// How the two children of [`measure_confined`] confine themselves: each
/// step runs in its child after the child is placed on its CPU and before
/// it says it is ready, so the clock never includes it. `false` means it
/// failed, and the child exits with code 1.
pub struct Confine<'a> {
    pub sender: &'a dyn Fn() -> bool,
    pub receiver: &'a dyn Fn() -> bool,
}

/// The calls a confined child makes on its control pipes besides its
/// implementation's own, as the inventory entries that name them: `read`
/// (the sender's start), `write` (ready, the receiver's report, a failing
/// sender's message on stderr) and `close`.
pub const CONTROL: [&str; 3] = ["sys::read", "sys::write", "drop(OwnedFd)"];

/// [`measure`] with the sender in a forked child too, each side confining
/// itself first (`confine`).
///
/// The sender is forked first, confines itself, says it is ready and waits
/// for one byte; the receiver is then forked and measured as in
/// [`measure`], the parent's part being to send that byte. So the clock
/// starts at the same point (the receiver ready) and stops at the same
/// report; it adds one wake-up of the sender, a few microseconds.
pub fn measure_confined<S, R>(
    spec: &Spec,
    sender_end: S,
    receiver_end: R,
    send: impl FnOnce(S) -> BoxResult<()>,
    receive: impl FnOnce(R, &mut Checker) -> Result<(), Fault>,
    confine: &Confine<'_>,
) -> BoxResult<Duration> {
    let (go_rx, go_tx) = os::pipe(None)?;
    let (ready_rx, ready_tx) = os::pipe(None)?;
    let (go_rx, go_tx) = (File::from(go_rx), File::from(go_tx));
    let (mut ready_rx, ready_tx) = (File::from(ready_rx), File::from(ready_tx));
    // SAFETY: the benchmark is single-threaded, so the child may do anything.
    let sender = match unsafe { os::fork() }? {
        Fork::Child => {
            drop((receiver_end, go_tx, ready_rx));
            let run =
                AssertUnwindSafe(|| run_sender(sender_end, send, confine.sender, ready_tx, go_rx));
            os::exit(catch_unwind(run).unwrap_or(101))
        }
        Fork::Parent(pid) => pid,
    };
    drop((sender_end, go_rx, ready_tx));
    let mut ready = [0; 1];
    let timed = match ready_rx.read_exact(&mut ready) {
        Ok(()) => {
            // Not to be inherited by the receiver.
            drop(ready_rx);
            let start = |mut go: File| Ok(go.write_all(b"G")?);
            measure_with(spec, go_tx, receiver_end, start, receive, confine.receiver)
        }
        Err(e) => Err(format!("sender never got ready: {e}").into()),
    };
    if timed.is_err() {
        os::kill(sender);
    }
    let waited = os::wait(sender);
    match (timed, waited) {
        (Ok(elapsed), Ok(())) => Ok(elapsed),
        (Ok(_), Err(e)) => Err(format!("sender: {e}").into()),
        (Err(e), Ok(())) => Err(e),
        // Killed here, or dead first (of SIGSYS, 0x1f, if its filter refused a call).
        (Err(e), Err(w)) => Err(format!("{e} (sender: {w})").into()),
    }
}

/// The sender of [`measure_confined`]: confines itself, says ready, waits
/// for the start, sends. Its status is its exit code.
fn run_sender<S>(
    end: S,
    send: impl FnOnce(S) -> BoxResult<()>,
    confine: &dyn Fn() -> bool,
    mut ready: File,
    mut go: File,
) -> i32 {
    let mut start = [0; 1];
    if !confine() || ready.write_all(b"R").is_err() || go.read_exact(&mut start).is_err() {
        return 1;
    }
    match send(end) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sender: {e}");
            1
        }
    }
}

/// [`measure`], the child confining itself with `confine` before it says
/// it is ready.
fn measure_with<P, C>(
    spec: &Spec,
    parent_end: P,
    child_end: C,
    parent: impl FnOnce(P) -> BoxResult<()>,
    child: impl FnOnce(C, &mut Checker) -> Result<(), Fault>,
    confine: &dyn Fn() -> bool,
) -> BoxResult<Duration> {
    let (ctl_rx, ctl_tx) = os::pipe(None)?;
    let (ctl_rx, ctl_tx) = (File::from(ctl_rx), File::from(ctl_tx));
    // SAFETY: the benchmark is single-threaded, so the child may do anything.
    match unsafe { os::fork() }? {
        Fork::Child => {
            drop((parent_end, ctl_rx));
            let run = AssertUnwindSafe(|| run_child(spec, child_end, child, confine, ctl_tx));
            // A panic must not unwind into the parent's copied stack.
            os::exit(catch_unwind(run).unwrap_or(101))
        }
        Fork::Parent(pid) => {
            drop((child_end, ctl_tx));
            let timed = time_parent(parent_end, parent, ctl_rx);
            if timed.is_err() {
                os::kill(pid);
            }
            let waited = os::wait(pid);
            let (elapsed, report) = timed?;
            waited?;
            verify(&report, spec)?;
            Ok(elapsed)
        }
    }
}

/// The child: prepares (and confines itself), says ready, receives until
/// end of stream, reports.
fn run_child<C>(
    spec: &Spec,
    end: C,
    receive: impl FnOnce(C, &mut Checker) -> Result<(), Fault>,
    confine: &dyn Fn() -> bool,
    mut ctl: File,
) -> i32 {
    if let Some(cpu) = spec.cpus.child() {
        if os::run_only_on(cpu).is_err() {
            return 1;
        }
    }
    let mut checker = Checker::for_spec(spec);
    if !confine() || ctl.write_all(b"R").is_err() {
        return 1;
    }
    let result = receive(end, &mut checker);
    match ctl.write_all(&checker.report(result)) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The parent: waits for ready, then times `send` up to the child's report.
fn time_parent<P>(
    end: P,
    send: impl FnOnce(P) -> BoxResult<()>,
    mut ctl: File,
) -> BoxResult<(Duration, [u8; REPORT_LEN])> {
    let mut ready = [0; 1];
    ctl.read_exact(&mut ready)
        .map_err(|e| format!("child never got ready: {e}"))?;
    let start = Instant::now();
    send(end)?;
    let mut report = [0; REPORT_LEN];
    ctl.read_exact(&mut report)
        .map_err(|e| format!("child sent no report: {e}"))?;
    Ok((start.elapsed(), report))
}
