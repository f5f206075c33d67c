//! A duplex connection over two pipes with every Python, 2.7 included
//! (`tests/py/two_pipes.py`): Rust keeps one end, made by
//! `ipcwire::duplex_pipes()` or by `Connection::from_pipes` over two
//! `sys::pipe()`s, and Python takes the other end's two descriptors
//! (`into_fds()`, inherited as its stdin and stdout) as
//! `Connection(r, writable=False)` and `Connection(w, readable=False)`.
//!
//! - Rust first (`echo`): Rust sends messages one at a time (empty, small,
//!   past the 64 KiB of a pipe), a few hundred in a row, and a batch with
//!   `send_bytes_batch`; Python answers each through the other pipe,
//!   reversed behind `py:`, and Rust checks every byte. Rust then closes
//!   its write end only (`into_fds()`): Python's `recv_bytes` raises
//!   `EOFError`, Python says so with a last message and exits, and Rust's
//!   next receive is `Err(Eof)`.
//! - Python first (`talk`): Python greets, sends messages one at a time
//!   and a few hundred in a row, and `send(obj)`s pickles of small
//!   built-in values; Rust answers each message reversed behind `rs:`,
//!   decodes each pickle with `recv::<T>()` and answers with `send` of
//!   what it got. Python closes its sending end: Rust's `recv_bytes` is
//!   `Err(Eof)`; Rust drops its connection: Python's `recv_bytes` raises
//!   `EOFError`, which it reports.
//!
//! Python 2 cannot load the pickles Rust answers with (protocol 4), so
//! there it checks only their header and end; everything else is the same.
//!
//! Messages never wait on each other: an end whose answers pile up
//! unread in a pipe stops reading, so a run in a row answers with less
//! than a pipe holds, and a large message is answered only after the
//! whole batch it ends has been read.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::os::fd::OwnedFd;
use std::time::Instant;

use ipcwire::pickle::{Bytes, FromPickle, ToPickle};
use ipcwire::{sys, Access, Connection, Error};

use crate::compare;
use crate::parallel::{report, run_parallel};
use crate::python::{every_interpreter_or_skip, Peer, Python, LIMIT};

/// The Python side.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/two_pipes.py");

/// Message `i` of a run, as two_pipes.py's `message`: bytes `(i + k) % 251`.
fn message(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| ((i + k) % 251) as u8).collect()
}

/// `count` lengths, cycling through `lengths`.
fn cycle(count: usize, lengths: &[usize]) -> Vec<usize> {
    (0..count).map(|n| lengths[n % lengths.len()]).collect()
}

/// The answer to `msg`: `prefix`, then `msg` reversed.
fn answer(prefix: &[u8], msg: &[u8]) -> Vec<u8> {
    prefix.iter().chain(msg.iter().rev()).copied().collect()
}

/// Sent one at a time, each answered before the next: empty, small, around
/// the 4 KiB read-ahead buffer, and past a 64 KiB pipe.
const LOCKSTEP: [usize; 7] = [0, 5, 1, 4096, 65_536, 65_537, 200_000];

/// Sent in a row, then their answers read: under 6 KB of answers, well
/// within a pipe, so neither side waits for the other to read.
fn in_a_row() -> Vec<usize> {
    cycle(300, &[0, 1, 7, 40])
}

/// One batch: 200 small messages and one past a pipe, answered last.
fn batch() -> Vec<usize> {
    let mut lengths = cycle(200, &[0, 1, 13, 40]);
    lengths.push(70_000);
    lengths
}

#[derive(Copy, Clone, Debug)]
enum Make {
    /// `ipcwire::duplex_pipes()`.
    DuplexPipes,
    /// Two `sys::pipe()`s, each end wrapped by `Connection::from_pipes`.
    FromPipes,
}

impl Make {
    fn name(self) -> &'static str {
        match self {
            Make::DuplexPipes => "duplex_pipes",
            Make::FromPipes => "from_pipes",
        }
    }

    /// Rust's connection, and the read and write ends of Python's.
    fn open(self) -> Result<(Connection, OwnedFd, OwnedFd), String> {
        let (ours, theirs) = match self {
            Make::DuplexPipes => {
                ipcwire::duplex_pipes().map_err(|e| format!("duplex_pipes: {e:?}"))?
            }
            Make::FromPipes => {
                let (to_rust, from_python) = sys::pipe().map_err(|e| format!("pipe: {e:?}"))?;
                let (to_python, from_rust) = sys::pipe().map_err(|e| format!("pipe: {e:?}"))?;
                let wrap =
                    |r, w| Connection::from_pipes(r, w).map_err(|e| format!("from_pipes: {e:?}"));
                (wrap(to_rust, from_rust)?, wrap(to_python, from_python)?)
            }
        };
        let (reader, writer) = theirs.into_fds();
        let writer = writer.ok_or("into_fds gave no write end")?;
        Ok((ours, reader, writer))
    }
}

#[derive(Copy, Clone, Debug)]
enum Way {
    /// Rust sends, Python answers (`echo`).
    RustFirst,
    /// Python sends, Rust answers (`talk`).
    PythonFirst,
}

impl Way {
    fn describe(self) -> &'static str {
        match self {
            Way::RustFirst => "Rust first",
            Way::PythonFirst => "Python first",
        }
    }
}

/// Spawns two_pipes.py with `args` after the mode and its two ends, which
/// it takes as stdin (0) and stdout (1).
fn spawn(
    python: &Python,
    mode: &str,
    reader: OwnedFd,
    writer: OwnedFd,
    args: &[String],
) -> Result<Peer, String> {
    let mut cmd = python.script(SCRIPT);
    cmd.args([mode, "0", "1"]).args(args);
    // Consumed: the parent's copies of Python's ends are closed right away.
    Peer::spawn_on_stdio(cmd, reader, writer)
}

/// Python exited with 0, having said `last` last.
fn exited(peer: &mut Peer, last: &str) -> Result<(), String> {
    peer.expect_exit(LIMIT, 0)?;
    if peer.stdout.last().map(String::as_str) != Some(last) {
        return Err(format!("Python did not say {last:?} last{}", peer.report()));
    }
    Ok(())
}

/// Receives the answer to message `i` and checks it is `prefix` and `msg`
/// reversed.
fn expect_answer(conn: &mut Connection, i: usize, prefix: &[u8], msg: &[u8]) -> Result<(), String> {
    let got = conn
        .recv_bytes()
        .map_err(|e| format!("receiving the answer to message {i}: {e:?}"))?;
    compare(
        &format!("answer to message {i}"),
        &got,
        &answer(prefix, msg),
    )
}

/// Rust first: one at a time, in a row, a batch; then Rust closes its
/// write end, and Python's last word and exit come through the read end.
fn rust_first(python: &Python, make: Make) -> Result<(), String> {
    let (mut ours, reader, writer) = make.open()?;
    ours.set_recv_timeout(Some(LIMIT));
    let mut peer = spawn(python, "echo", reader, writer, &[])?;
    let mut i = 0;
    let mut steps = || -> Result<(), String> {
        for len in LOCKSTEP {
            let msg = message(i, len);
            ours.send_bytes(&msg)
                .map_err(|e| format!("send_bytes of message {i}: {e:?}"))?;
            expect_answer(&mut ours, i, b"py:", &msg)?;
            i += 1;
        }
        for (lengths, as_batch) in [(in_a_row(), false), (batch(), true)] {
            let first = i;
            let msgs: Vec<Vec<u8>> = lengths
                .iter()
                .enumerate()
                .map(|(n, &len)| message(first + n, len))
                .collect();
            if as_batch {
                ours.send_bytes_batch(&msgs)
                    .map_err(|e| format!("send_bytes_batch of messages {first}..: {e:?}"))?;
            } else {
                for (n, msg) in msgs.iter().enumerate() {
                    ours.send_bytes(msg)
                        .map_err(|e| format!("send_bytes of message {}: {e:?}", first + n))?;
                }
            }
            for (n, msg) in msgs.iter().enumerate() {
                expect_answer(&mut ours, first + n, b"py:", msg)?;
            }
            i += msgs.len();
        }
        Ok(())
    };
    if let Err(e) = steps() {
        // Python, at the end of stream, exits with its side of the story.
        drop(ours);
        return Err(peer.fail(e));
    }
    // Close the write end only: Python sees the end of stream and says so
    // through the pipe Rust still reads.
    let (read_end, write_end) = ours.into_fds();
    drop(write_end);
    let mut reader =
        Connection::from_fd(read_end, Access::Read).map_err(|e| format!("from_fd: {e:?}"))?;
    reader.set_recv_timeout(Some(LIMIT));
    let last = format!("EOF {i}");
    match reader.recv_bytes() {
        Ok(got) => {
            compare("Python's last message", &got, last.as_bytes()).map_err(|e| peer.fail(e))?
        }
        Err(e) => return Err(peer.fail(format!("receiving Python's last message: {e:?}"))),
    }
    match reader.recv_bytes() {
        Err(Error::Eof) => {}
        other => return Err(peer.fail(format!("after Python's exit: {other:?}, want Err(Eof)"))),
    }
    exited(&mut peer, &format!("EOF after {i} messages"))
}

/// Receives a pickle of a `T`, checks it is `want`, and answers with
/// Rust's pickle of it.
fn pickle<T>(conn: &mut Connection, n: usize, want: T) -> Result<(), String>
where
    T: FromPickle + ToPickle + PartialEq + Debug,
{
    let got: T = conn
        .recv()
        .map_err(|e| format!("recv of pickle {n}: {e:?}"))?;
    if got != want {
        return Err(format!("pickle {n}: got {got:?}, want {want:?}"));
    }
    conn.send(&got)
        .map_err(|e| format!("send of pickle {n}: {e:?}"))
}

/// two_pipes.py's `PICKLES`, in order, each as the type Rust takes it.
fn pickles(conn: &mut Connection) -> Result<usize, String> {
    pickle(conn, 0, 7_i64)?;
    pickle(conn, 1, -(1_i64 << 40))?;
    pickle(conn, 2, 1_i128 << 70)?;
    pickle(conn, 3, 1.5_f64)?;
    pickle(conn, 4, "h\u{e9}llo, w\u{f6}rld \u{2603}".to_owned())?;
    pickle(conn, 5, vec![1_i64, 2, 3])?;
    let tuple = (
        7_i64,
        "two".to_owned(),
        vec![1.5_f64, -0.25],
        true,
        None::<i64>,
    );
    pickle(conn, 6, tuple)?;
    let dict = BTreeMap::from([("a".to_owned(), 1_i64), ("b".to_owned(), -2)]);
    pickle(conn, 7, dict)?;
    pickle(conn, 8, Bytes(b"raw\x00bytes\xff".to_vec()))?;
    Ok(9)
}

/// Python first: greeting, one at a time, in a row, pickles; then Python
/// closes its sending end, and Rust drops its connection.
fn python_first(python: &Python, make: Make) -> Result<(), String> {
    let (mut ours, reader, writer) = make.open()?;
    ours.set_recv_timeout(Some(LIMIT));
    let lockstep: Vec<String> = LOCKSTEP.iter().map(usize::to_string).collect();
    let row = in_a_row();
    let burst = format!("{}:0,1,7,40", row.len());
    let args = [lockstep.join(","), burst];
    let mut peer = spawn(python, "talk", reader, writer, &args)?;
    let mut steps = || -> Result<(usize, usize), String> {
        let greeting = ours
            .recv_bytes()
            .map_err(|e| format!("receiving the greeting: {e:?}"))?;
        compare(
            "greeting",
            &greeting,
            format!("hello from Python {}", python.version).as_bytes(),
        )?;
        ours.send_bytes(format!("hello, Python {}", python.version).as_bytes())
            .map_err(|e| format!("send_bytes of the greeting: {e:?}"))?;
        let lengths = LOCKSTEP.iter().chain(&row);
        for (i, &len) in lengths.enumerate() {
            let got = ours
                .recv_bytes()
                .map_err(|e| format!("receiving message {i}: {e:?}"))?;
            compare(&format!("message {i}"), &got, &message(i, len))?;
            ours.send_bytes(&answer(b"rs:", &got))
                .map_err(|e| format!("send_bytes of the answer to message {i}: {e:?}"))?;
        }
        let count = pickles(&mut ours)?;
        match ours.recv_bytes() {
            Err(Error::Eof) => {}
            other => {
                return Err(format!(
                    "after Python closed its end: {other:?}, want Err(Eof)"
                ))
            }
        }
        Ok((LOCKSTEP.len() + row.len(), count))
    };
    let (messages, count) = match steps() {
        Ok(counts) => counts,
        Err(e) => {
            // Python, at the end of stream, exits with its side of the story.
            drop(ours);
            return Err(peer.fail(e));
        }
    };
    // Python waits in recv_bytes for the EOFError this brings.
    drop(ours);
    exited(&mut peer, "EOF")?;
    let sent = format!("SENT {messages} {count}");
    if !peer.stdout.contains(&sent) {
        return Err(format!("Python did not say {sent:?}{}", peer.report()));
    }
    Ok(())
}

type Job<'p> = (&'p Python, Way, Make);

fn run(&(python, way, make): &Job<'_>) -> Result<(), String> {
    match way {
        Way::RustFirst => rust_first(python, make),
        Way::PythonFirst => python_first(python, make),
    }
}

#[test]
fn two_pipes_with_every_python() {
    let Some(pythons) = every_interpreter_or_skip("two_pipes_with_every_python") else {
        return;
    };
    let start = Instant::now();
    let mut jobs = Vec::new();
    for python in pythons {
        for way in [Way::RustFirst, Way::PythonFirst] {
            for make in [Make::DuplexPipes, Make::FromPipes] {
                jobs.push((python, way, make));
            }
        }
    }
    let total = jobs.len();
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut by_python: Vec<(&str, usize, usize)> = Vec::new();
    for ((python, way, make), result) in run_parallel(jobs, run) {
        if by_python.last().map(|b| b.0) != Some(python.version.as_str()) {
            by_python.push((&python.version, 0, 0));
        }
        let counts = by_python.last_mut().expect("pushed");
        counts.2 += 1;
        match result {
            Ok(()) => {
                passed += 1;
                counts.1 += 1;
            }
            Err(e) => failures.push(format!(
                "  Python {} | {} | {} : {e}",
                python.version,
                way.describe(),
                make.name()
            )),
        }
    }
    for (version, ok, runs) in by_python {
        let verdict = if ok == runs { "passed" } else { "FAILED" };
        let line = format!("two_pipes: Python {version}: {ok} of {runs} runs {verdict}");
        eprintln!("{line}");
        println!("{line}");
    }
    report("two-pipe runs", (passed, total), &failures, pythons, start);
}
