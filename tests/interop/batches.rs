//! Batches with every Python, 2.7 included (`tests/py/batches.py`), over
//! a pipe and over a socketpair, Python's `Connection` on the inherited
//! descriptor:
//!
//! - Rust to Python: `send_bytes_batch` of batches of 0 to 600 messages
//!   (more than the 512 frames one vectored write takes), of 0 to 70,000
//!   bytes, one batch far larger than a pipe or socket buffer, so its
//!   writes are partial while Python reads. Python's `recv_bytes` loop
//!   reports each message's length and SHA-256 in order, and the count.
//! - Python to Rust: `send_bytes` of about a thousand messages, taken with
//!   `recv_bytes_borrowed` and `recv_buffered`, in order and intact. The
//!   first 64 are all written before Rust reads, so `recv_buffered`
//!   surely has some to give; lengths around the 4 KiB read-ahead buffer
//!   and past Python's 16 KiB split follow.
//!
//! An interpreter whose `multiprocessing` cannot take part says so
//! (`UNSUPPORTED`, exit 6), and the test reports it as a skip.

use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Instant;

use ipcwire::digest::sha256;
use ipcwire::{sys, Access, Connection, Error};

use crate::compare;
use crate::parallel::{report, run_parallel};
use crate::python::{every_interpreter_or_skip, Peer, Python, LIMIT};
use crate::skip;

/// The Python side.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/batches.py");

/// batches.py's exit code for an interpreter that cannot take part.
const EXIT_UNSUPPORTED: i32 = 6;

/// Message `i` of a run, as batches.py's `message`: bytes `(i + k) % 251`.
fn message(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| ((i + k) % 251) as u8).collect()
}

/// `count` lengths, cycling through `lengths`.
fn cycle(count: usize, lengths: &[usize]) -> Vec<usize> {
    (0..count).map(|n| lengths[n % lengths.len()]).collect()
}

/// The batches Rust sends, message `i` of the run numbered across them,
/// and the line batches.py prints for each message.
struct ToPython {
    batches: Vec<Vec<Vec<u8>>>,
    lines: Vec<String>,
}

fn to_python_plan() -> &'static ToPython {
    static PLAN: OnceLock<ToPython> = OnceLock::new();
    PLAN.get_or_init(|| {
        let lengths = [
            cycle(1, &[300]),
            cycle(2, &[0, 1]),
            // An empty batch sends nothing.
            Vec::new(),
            cycle(64, &[0, 1, 64, 300]),
            // Past 512 frames: two vectored writes.
            cycle(600, &[0, 1, 64, 300]),
            // 13 messages of 70,000 bytes: far more than a pipe (64 KiB)
            // or a socket buffer holds, written in part many times.
            cycle(64, &[70_000, 0, 1, 64, 300]),
            // Past 512 frames with large ones among them, one on each
            // side of the 512th.
            (0..600)
                .map(|n| match n {
                    100 | 300 | 509 | 515 => 70_000,
                    n => [1, 0, 300, 64][n % 4],
                })
                .collect(),
        ];
        let mut i = 0;
        let mut lines = Vec::new();
        let batches = lengths
            .iter()
            .map(|batch| {
                batch
                    .iter()
                    .map(|&len| {
                        let msg = message(i, len);
                        let hex: String = sha256(&msg).iter().map(|b| format!("{b:02x}")).collect();
                        lines.push(format!("{len} {hex}"));
                        i += 1;
                        msg
                    })
                    .collect()
            })
            .collect();
        ToPython { batches, lines }
    })
}

/// What batches.py sends, as its PLAN words, and the length of each
/// message that makes.
struct FromPython {
    words: Vec<String>,
    lengths: Vec<usize>,
    /// Messages written before the `SENT` line.
    before_mark: usize,
}

fn from_python_plan() -> &'static FromPython {
    static PLAN: OnceLock<FromPython> = OnceLock::new();
    PLAN.get_or_init(|| {
        let steps: [Option<(usize, &[usize])>; 4] = [
            // About 6 KB, all in the pipe or socket before Rust reads: a
            // socket's buffer counts each write's overhead too, about a
            // kilobyte, so a few hundred small writes would fill it.
            Some((64, &[0, 1, 64, 300])),
            None,
            // Around the 4 KiB read-ahead buffer, which a message of up to
            // 4096 bytes is borrowed from; past Python's 16 KiB split
            // (header and payload in two writes).
            Some((
                66,
                &[70_000, 0, 1, 64, 300, 4092, 4095, 4096, 4097, 16384, 16385],
            )),
            Some((600, &[0, 1, 2, 3, 5, 8, 13])),
        ];
        let mut plan = FromPython {
            words: Vec::new(),
            lengths: Vec::new(),
            before_mark: 0,
        };
        for step in steps {
            let Some((count, lengths)) = step else {
                plan.words.push("mark".to_owned());
                plan.before_mark = plan.lengths.len();
                continue;
            };
            let list: Vec<String> = lengths.iter().map(usize::to_string).collect();
            plan.words.push(format!("{count}:{}", list.join(",")));
            plan.lengths.extend(cycle(count, lengths));
        }
        plan
    })
}

#[derive(Copy, Clone, Debug)]
enum Transport {
    Pipe,
    Socketpair,
}

impl Transport {
    const ALL: [Transport; 2] = [Transport::Pipe, Transport::Socketpair];

    /// Rust's connection (the end that sends when `rust_sends`) and
    /// Python's end.
    fn open(self, rust_sends: bool) -> Result<(Connection, OwnedFd), String> {
        match self {
            Transport::Pipe => {
                let (reader, writer) = ipcwire::pipe(false).map_err(|e| format!("pipe: {e:?}"))?;
                Ok(if rust_sends {
                    (writer, reader.into())
                } else {
                    (reader, writer.into())
                })
            }
            Transport::Socketpair => {
                let (ours, theirs) = sys::socketpair().map_err(|e| format!("socketpair: {e:?}"))?;
                let ours = Connection::from_fd(ours, Access::Duplex)
                    .map_err(|e| format!("from_fd: {e:?}"))?;
                Ok((ours, theirs))
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::Socketpair => "socketpair",
        }
    }
}

#[derive(Copy, Clone, Debug)]
enum Way {
    /// Rust's `send_bytes_batch` to Python's `recv_bytes`.
    ToPython,
    /// Python's `send_bytes` to Rust's borrowed receives.
    FromPython,
}

impl Way {
    fn describe(self) -> &'static str {
        match self {
            Way::ToPython => "Rust send_bytes_batch -> Python recv_bytes",
            Way::FromPython => "Python send_bytes -> Rust recv_bytes_borrowed/recv_buffered",
        }
    }
}

/// How a run went when nothing failed.
enum Outcome {
    Passed,
    /// The interpreter cannot take part: why, in its words.
    Unsupported(String),
}

/// Spawns batches.py with `args` and Python's end as its stdin.
fn spawn(python: &Python, theirs: OwnedFd, args: &[String]) -> Result<Peer, String> {
    let mut cmd = python.script(SCRIPT);
    cmd.args(args).stdin(Stdio::from(theirs));
    // Consumed: the parent's copy of Python's end is closed right away.
    Peer::spawn(cmd)
}

/// After a failure on the Rust side: an interpreter that said it cannot
/// take part is [`Outcome::Unsupported`]; otherwise `what` failed.
fn failed(peer: &mut Peer, what: String) -> Result<Outcome, String> {
    peer.finish(LIMIT);
    unsupported(peer).ok_or_else(|| format!("{what}{}", peer.report()))
}

/// [`Outcome::Unsupported`] if Python exited saying so.
fn unsupported(peer: &Peer) -> Option<Outcome> {
    if peer.status.and_then(|s| s.code()) != Some(EXIT_UNSUPPORTED) {
        return None;
    }
    let line = peer.stdout.iter().find(|l| l.starts_with("UNSUPPORTED"))?;
    Some(Outcome::Unsupported(line.clone()))
}

/// Python exited with 0, or said it cannot take part.
fn exited(peer: &mut Peer) -> Result<Outcome, String> {
    peer.finish(LIMIT);
    if let Some(outcome) = unsupported(peer) {
        return Ok(outcome);
    }
    peer.expect_exit(LIMIT, 0)?;
    Ok(Outcome::Passed)
}

/// Rust sends every batch; Python reports every message in order.
fn to_python(python: &Python, transport: Transport) -> Result<Outcome, String> {
    let plan = to_python_plan();
    let (mut ours, theirs) = transport.open(true)?;
    let mut peer = spawn(python, theirs, &["recv".to_owned()])?;
    for (b, batch) in plan.batches.iter().enumerate() {
        if let Err(e) = ours.send_bytes_batch(batch) {
            let what = format!(
                "send_bytes_batch of batch {b} ({} messages): {e:?}",
                batch.len()
            );
            return failed(&mut peer, what);
        }
    }
    drop(ours);
    if let Outcome::Unsupported(why) = exited(&mut peer)? {
        return Ok(Outcome::Unsupported(why));
    }
    let count = format!("COUNT {}", plan.lines.len());
    let (last, lines) = peer.stdout.split_last().unwrap_or((&count, &[]));
    if *last != count || lines.len() != plan.lines.len() {
        return Err(format!(
            "Python reported {} messages and {last:?}, want {count:?}{}",
            lines.len(),
            peer.report()
        ));
    }
    for (i, (got, want)) in lines.iter().zip(&plan.lines).enumerate() {
        if got != want {
            return Err(format!(
                "message {i}: Python got `{got}`, Rust sent `{want}` (length, SHA-256){}",
                peer.report()
            ));
        }
    }
    Ok(Outcome::Passed)
}

/// Python sends; Rust takes each message borrowed, then every one already
/// read ahead, and checks them in order.
fn from_python(python: &Python, transport: Transport) -> Result<Outcome, String> {
    let plan = from_python_plan();
    let (mut ours, theirs) = transport.open(false)?;
    ours.set_recv_timeout(Some(LIMIT));
    let mut args = vec!["send".to_owned()];
    args.extend(plan.words.iter().cloned());
    let mut peer = spawn(python, theirs, &args)?;
    let mark = format!("SENT {}", plan.before_mark);
    match peer.next_line(LIMIT) {
        Ok(line) if line == mark => {}
        Ok(line) => return failed(&mut peer, format!("expected {mark:?}, got {line:?}")),
        Err(e) => return failed(&mut peer, e),
    }
    let check = |i: usize, got: &[u8]| -> Result<(), String> {
        let Some(&len) = plan.lengths.get(i) else {
            return Err(format!("an extra message {i} of {} bytes", got.len()));
        };
        compare(&format!("message {i}"), got, &message(i, len))
    };
    let mut i = 0;
    let mut buffered = 0;
    loop {
        match ours.recv_bytes_borrowed() {
            Ok(got) => {
                if let Err(e) = check(i, got) {
                    return failed(&mut peer, e);
                }
            }
            Err(Error::Eof) => break,
            Err(e) => {
                return failed(
                    &mut peer,
                    format!("recv_bytes_borrowed of message {i}: {e:?}"),
                )
            }
        }
        i += 1;
        while let Some(got) = ours.recv_buffered() {
            if let Err(e) = check(i, got) {
                return failed(&mut peer, format!("from recv_buffered, {e}"));
            }
            i += 1;
            buffered += 1;
        }
    }
    if i != plan.lengths.len() {
        let what = format!(
            "end of stream after {i} messages, want {}",
            plan.lengths.len()
        );
        return failed(&mut peer, what);
    }
    if buffered == 0 {
        let what = format!(
            "recv_buffered gave none of the {} messages written before the first read",
            plan.before_mark
        );
        return failed(&mut peer, what);
    }
    let outcome = exited(&mut peer)?;
    let done = format!("DONE {}", plan.lengths.len());
    if matches!(outcome, Outcome::Passed) && peer.stdout.last() != Some(&done) {
        return Err(format!("Python did not say {done:?}{}", peer.report()));
    }
    Ok(outcome)
}

type Job<'p> = (&'p Python, Way, Transport);

fn run(&(python, way, transport): &Job<'_>) -> Result<Outcome, String> {
    match way {
        Way::ToPython => to_python(python, transport),
        Way::FromPython => from_python(python, transport),
    }
}

#[test]
fn batches_with_every_python() {
    let test = "batches_with_every_python";
    let Some(pythons) = every_interpreter_or_skip(test) else {
        return;
    };
    let start = Instant::now();
    to_python_plan();
    from_python_plan();
    let mut jobs = Vec::new();
    for python in pythons {
        for way in [Way::ToPython, Way::FromPython] {
            for transport in Transport::ALL {
                jobs.push((python, way, transport));
            }
        }
    }
    let total = jobs.len();
    let mut failures = Vec::new();
    let mut unsupported = Vec::new();
    let mut passed = 0;
    for ((python, way, transport), result) in run_parallel(jobs, run) {
        let what = format!(
            "Python {} | {} | {}",
            python.version,
            way.describe(),
            transport.name()
        );
        match result {
            Ok(Outcome::Passed) => passed += 1,
            Ok(Outcome::Unsupported(why)) => unsupported.push(format!("{what}: {why}")),
            Err(e) => failures.push(format!("  {what} : {e}")),
        }
    }
    report("batch runs", (passed, total), &failures, pythons, start);
    for why in unsupported {
        skip::skipped(format_args!("{test}: {why}"));
    }
}
