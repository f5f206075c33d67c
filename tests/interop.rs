//! Interoperability with real CPython interpreters (`tests/py/peer.py`).
//!
//! Every Python 3 found (`python3` on `PATH`, and every `pyenv` version but
//! 2.x) is paired with ipcwire both ways (Rust `Listener` with a Python
//! `Client`, Python `Listener` with a Rust `Client`) over a Unix path, an
//! abstract name and TCP, with no key, the same key, different keys and a
//! key on the Rust side only; plus a Python `Connection(fd)` over an
//! inherited socketpair end, the 12-byte escape header read by Python, and
//! descriptors passed both ways with `multiprocessing.reduction`.
//!
//! Without any Python the tests print `SKIPPED: no Python found` and pass,
//! unless `CI` is set, where that is a failure.
//!
//! Every Python process is killed and reaped on every path: after
//! [`LIMIT`] by a watchdog, and whenever its [`Peer`] guard is dropped.

#[path = "common/faults.rs"]
mod faults;
#[path = "common/fds.rs"]
mod fds;
#[path = "common/paths.rs"]
mod paths;
#[path = "common/python.rs"]
mod python;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Stdio;
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use ipcwire::handshake::AuthError;
use ipcwire::sys::{self, Errno, PollFd, PollFlags};
use ipcwire::{Access, Address, Client, Connection, Error, Listener, ReceivedFds};

use paths::{unique, TempPath};
use python::{interpreters_or_skip, versions, Peer, Python, LIMIT, QUICK};
use serial::guard;

/// The Python peer script.
const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/peer.py");

/// The timeout given to the Rust side when only it has a key.
const ONE_SIDED_TIMEOUT: Duration = Duration::from_secs(2);
/// Slack allowed on top of [`ONE_SIDED_TIMEOUT`] on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);
/// Pairings run at once (the machine has two cores).
const PARALLEL: usize = 4;

/// The message sizes exchanged in every successful pairing.
const SIZES: [usize; 6] = [0, 1, 16384, 16385, 1 << 20, 4 << 20];

// ---------------------------------------------------------------------------
// Addresses

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Family {
    Unix,
    Abstract,
    Tcp,
}

impl Family {
    const ALL: [Family; 3] = [Family::Unix, Family::Abstract, Family::Tcp];

    /// The FAMILY argument of peer.py.
    fn name(self) -> &'static str {
        match self {
            Family::Unix => "unix",
            Family::Abstract => "abstract",
            Family::Tcp => "tcp",
        }
    }

    /// A fresh address of this family, as peer.py's ADDR argument, with the
    /// guard that removes a socket file.
    fn fresh(self) -> (String, Option<TempPath>) {
        match self {
            Family::Unix => {
                let path = TempPath::new("py");
                (path.text().to_owned(), Some(path))
            }
            Family::Abstract => (unique("abs"), None),
            Family::Tcp => ("127.0.0.1:0".to_owned(), None),
        }
    }

    fn matches(self, addr: &Address) -> bool {
        matches!(
            (self, addr),
            (Family::Unix, Address::Unix(_))
                | (Family::Abstract, Address::Abstract(_))
                | (Family::Tcp, Address::Tcp(_))
        )
    }
}

/// The ipcwire address for peer.py's `ADDR` of `family`.
fn rust_address(family: Family, addr: &str) -> Result<Address, String> {
    let text = format!("{}:{addr}", family.name());
    text.parse().map_err(|e| format!("address {text:?}: {e}"))
}

/// peer.py's `ADDR` argument for an ipcwire address.
fn python_address(addr: &Address) -> Result<String, String> {
    match addr {
        Address::Unix(name) | Address::Abstract(name) => std::str::from_utf8(name.as_bytes())
            .map(str::to_owned)
            .map_err(|_| format!("{addr} is not UTF-8")),
        Address::Tcp(sa) => Ok(sa.to_string()),
        Address::Unnamed => Err("unnamed address".to_owned()),
    }
}

// ---------------------------------------------------------------------------
// Messages

/// Message `i` of a run and its reverse: bytes `(i + k) % 251`.
fn patterns() -> &'static [(Vec<u8>, Vec<u8>)] {
    static PATTERNS: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        SIZES
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let msg: Vec<u8> = (0..size).map(|k| ((i + k) % 251) as u8).collect();
                let mut rev = msg.clone();
                rev.reverse();
                (msg, rev)
            })
            .collect()
    })
}

fn size_args() -> Vec<String> {
    SIZES.iter().map(usize::to_string).collect()
}

/// Byte-for-byte comparison with a useful message on a difference.
fn compare(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let near = |b: &[u8]| b[at..b.len().min(at + 8)].to_vec();
    Err(format!(
        "{what}: got {} bytes, want {}; first difference at offset {at}: got {:02x?}, want {:02x?}",
        got.len(),
        want.len(),
        near(got),
        near(want)
    ))
}

/// Rust sends each message and checks Python's reply is its reverse.
fn exchange(conn: &mut Connection) -> Result<(), String> {
    for (i, (msg, rev)) in patterns().iter().enumerate() {
        let n = msg.len();
        conn.send_bytes(msg)
            .map_err(|e| format!("sending message {i} ({n} bytes): {e:?}"))?;
        let reply = conn
            .recv_bytes()
            .map_err(|e| format!("receiving reply {i} ({n} bytes): {e:?}"))?;
        compare(&format!("reply {i}"), &reply, rev)?;
    }
    Ok(())
}

/// Rust checks each message Python sends and replies with its reverse,
/// then expects a clean end of stream.
fn echo_back(conn: &mut Connection) -> Result<(), String> {
    for (i, (msg, rev)) in patterns().iter().enumerate() {
        let n = msg.len();
        let got = conn
            .recv_bytes()
            .map_err(|e| format!("receiving message {i} ({n} bytes): {e:?}"))?;
        compare(&format!("message {i}"), &got, msg)?;
        conn.send_bytes(rev)
            .map_err(|e| format!("sending reply {i} ({n} bytes): {e:?}"))?;
    }
    match conn.recv_bytes() {
        Err(Error::Eof) => Ok(()),
        Ok(m) => Err(format!("an extra message of {} bytes", m.len())),
        Err(e) => Err(format!(
            "expected end of stream after the last message, got {e:?}"
        )),
    }
}

// ---------------------------------------------------------------------------
// Pairings

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Keys {
    None,
    Same,
    Wrong,
    RustOnly,
}

impl Keys {
    const ALL: [Keys; 4] = [Keys::None, Keys::Same, Keys::Wrong, Keys::RustOnly];

    fn name(self) -> &'static str {
        match self {
            Keys::None => "no key either side",
            Keys::Same => "same key",
            Keys::Wrong => "different keys",
            Keys::RustOnly => "key on the Rust side only",
        }
    }

    fn rust(self) -> Option<&'static [u8]> {
        match self {
            Keys::None => None,
            Keys::Same | Keys::RustOnly => Some(b"interop key"),
            Keys::Wrong => Some(b"the rust key"),
        }
    }

    /// peer.py's `KEY` argument.
    fn python(self) -> &'static str {
        match self {
            Keys::None | Keys::RustOnly => "-",
            Keys::Same => "interop key",
            Keys::Wrong => "the python key",
        }
    }
}

#[derive(Copy, Clone, Debug)]
enum Pairing {
    /// A Rust `Listener` accepts a Python `Client`.
    RustListener(Family, Keys),
    /// A Rust `Client` connects to a Python `Listener`.
    RustClient(Family, Keys),
    /// Python's `Connection(fd)` over an inherited socketpair end.
    Pipe,
}

impl Pairing {
    fn all() -> Vec<Pairing> {
        let mut all = Vec::new();
        // The one-sided pairings mostly wait out a timeout: start them first
        // so they overlap with the busy ones.
        let mut keys = Keys::ALL;
        keys.rotate_right(1);
        for keys in keys {
            for family in Family::ALL {
                all.push(Pairing::RustClient(family, keys));
                all.push(Pairing::RustListener(family, keys));
            }
        }
        all.push(Pairing::Pipe);
        all
    }

    fn describe(self) -> String {
        match self {
            Pairing::RustListener(family, keys) => format!(
                "Rust Listener <- Python Client | {} | {}",
                family.name(),
                keys.name()
            ),
            Pairing::RustClient(family, keys) => format!(
                "Python Listener <- Rust Client | {} | {}",
                family.name(),
                keys.name()
            ),
            Pairing::Pipe => {
                "Rust Connection::from_fd <-> Python Connection(fd) | socketpair | no key"
                    .to_owned()
            }
        }
    }

    fn run(self, python: &Python) -> Result<(), String> {
        match self {
            Pairing::RustListener(family, keys) => rust_listener(python, family, keys),
            Pairing::RustClient(family, keys) => rust_client(python, family, keys),
            Pairing::Pipe => python_pipe(python),
        }
    }
}

/// Waits until a client is waiting to be accepted, failing if Python exits
/// first or takes longer than [`LIMIT`] (so `accept` never blocks forever).
fn wait_for_client(listener: &Listener, peer: &mut Peer) -> Result<(), String> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::IN)];
        match sys::poll(&mut fds, Some(Duration::from_millis(50))) {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(e) => return Err(peer.fail(format!("poll on the listener: {e:?}"))),
        }
        if peer.exited().is_some() {
            return Err(peer.fail("Python exited without connecting"));
        }
        if Instant::now() >= deadline {
            return Err(peer.fail(format!("Python did not connect within {LIMIT:?}")));
        }
    }
}

/// A Rust `Listener` and a Python `Client`.
fn rust_listener(python: &Python, family: Family, keys: Keys) -> Result<(), String> {
    let (addr, _path) = family.fresh();
    let addr = rust_address(family, &addr)?;
    let mut listener = Listener::bind(&addr).map_err(|e| format!("binding {addr}: {e:?}"))?;
    if let Some(key) = keys.rust() {
        listener = listener.authkey(key);
    }
    let handshake = if keys == Keys::RustOnly {
        ONE_SIDED_TIMEOUT
    } else {
        Duration::from_secs(10)
    };
    listener = listener.handshake_timeout(handshake);
    let local = *listener.local_addr();
    if !family.matches(&local) || local == Address::Tcp("127.0.0.1:0".parse().unwrap()) {
        return Err(format!("local_addr() is {local} after binding {addr}"));
    }
    let mut cmd = python.script(PEER);
    cmd.args([
        "client",
        family.name(),
        &python_address(&local)?,
        keys.python(),
    ]);
    if keys == Keys::RustOnly {
        cmd.args(["0", "1"]);
    } else {
        cmd.args(size_args());
    }
    let mut peer = Peer::spawn(cmd)?;
    wait_for_client(&listener, &mut peer)?;
    let start = Instant::now();
    let accepted = listener.accept();
    let took = start.elapsed();
    match keys {
        Keys::None | Keys::Same => {
            let (mut conn, _) = accepted.map_err(|e| peer.fail(format!("accept: {e:?}")))?;
            echo_back(&mut conn).map_err(|e| peer.fail(e))?;
            drop(conn);
            peer.expect_exit(LIMIT, 0)?;
            let want: Vec<String> = SIZES.iter().map(|n| format!("OK {n}")).collect();
            if peer.stdout != want {
                return Err(format!(
                    "Python client did not confirm every reply{}",
                    peer.report()
                ));
            }
            Ok(())
        }
        Keys::Wrong => {
            match accepted {
                Err(Error::Auth(AuthError::BadResponse)) => {}
                other => {
                    let other = other.map(|_| ());
                    return Err(peer.fail(format!(
                        "accept: expected Err(Auth(BadResponse)), got {other:?}"
                    )));
                }
            }
            if took > QUICK {
                return Err(peer.fail(format!("accept took {took:?} to fail")));
            }
            peer.expect_auth_fail()
        }
        Keys::RustOnly => {
            match accepted {
                Err(Error::Auth(_) | Error::Io(Errno::TIMEDOUT)) => {}
                other => {
                    let other = other.map(|_| ());
                    return Err(peer.fail(format!(
                        "accept: expected Err(Auth(_)) or Err(Io(ETIMEDOUT)), got {other:?}"
                    )));
                }
            }
            if took > ONE_SIDED_TIMEOUT + SLACK {
                return Err(peer.fail(format!("accept took {took:?} to fail")));
            }
            // Python without a key may still be waiting: its end is closed
            // now; give it a moment, then kill it.
            peer.finish(Duration::from_millis(500));
            Ok(())
        }
    }
}

/// A Python `Listener` and a Rust `Client`.
fn rust_client(python: &Python, family: Family, keys: Keys) -> Result<(), String> {
    let (addr, _path) = family.fresh();
    let mut cmd = python.script(PEER);
    cmd.args(["server", family.name(), &addr, keys.python()]);
    if keys != Keys::RustOnly {
        cmd.args(size_args());
    }
    let mut peer = Peer::spawn(cmd)?;
    let line = peer.next_line(LIMIT).map_err(|e| peer.fail(e))?;
    let Some(addr) = line
        .strip_prefix("READY ")
        .and_then(|a| a.parse::<Address>().ok())
    else {
        return Err(peer.fail(format!("expected `READY <address>`, got {line:?}")));
    };
    if !family.matches(&addr) || addr == Address::Tcp("127.0.0.1:0".parse().unwrap()) {
        return Err(peer.fail(format!("Python reported the address {addr}")));
    }
    let mut client = Client::new().timeout(if keys == Keys::RustOnly {
        ONE_SIDED_TIMEOUT
    } else {
        Duration::from_secs(10)
    });
    if let Some(key) = keys.rust() {
        client = client.authkey(key);
    }
    let start = Instant::now();
    let connected = client.connect(&addr);
    let took = start.elapsed();
    match keys {
        Keys::None | Keys::Same => {
            let mut conn = connected.map_err(|e| peer.fail(format!("connect: {e:?}")))?;
            exchange(&mut conn).map_err(|e| peer.fail(e))?;
            drop(conn);
            peer.expect_exit(LIMIT, 0)
        }
        Keys::Wrong => {
            match connected {
                Err(Error::Auth(AuthError::Rejected)) => {}
                other => {
                    let other = other.map(|_| ());
                    return Err(peer.fail(format!(
                        "connect: expected Err(Auth(Rejected)), got {other:?}"
                    )));
                }
            }
            if took > QUICK {
                return Err(peer.fail(format!("connect took {took:?} to fail")));
            }
            peer.expect_auth_fail()
        }
        Keys::RustOnly => {
            match connected {
                Err(Error::Io(Errno::TIMEDOUT)) => {}
                other => {
                    let other = other.map(|_| ());
                    return Err(peer.fail(format!(
                        "connect: expected Err(Io(ETIMEDOUT)), got {other:?}"
                    )));
                }
            }
            if took > ONE_SIDED_TIMEOUT + SLACK {
                return Err(peer.fail(format!(
                    "connect took {took:?} to time out (timeout {ONE_SIDED_TIMEOUT:?})"
                )));
            }
            // Python's listener had nothing to check and sees end of stream.
            peer.finish(QUICK);
            Ok(())
        }
    }
}

/// Spawns `peer.py pipe 0 ARGS...` with one end of a socketpair as its
/// stdin; returns the process and the other end.
fn spawn_pipe_peer(python: &Python, args: &[String]) -> Result<(Peer, sys::OwnedFd), String> {
    let (ours, theirs) = sys::socketpair().map_err(|e| format!("socketpair: {e:?}"))?;
    let mut cmd = python.script(PEER);
    cmd.args(["pipe", "0"])
        .args(args)
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
    // Consumed: the parent's copy of Python's end is closed right away.
    let peer = Peer::spawn(cmd)?;
    Ok((peer, ours))
}

/// A Python `Connection(fd)` on an inherited socketpair end.
fn python_pipe(python: &Python) -> Result<(), String> {
    let (mut peer, ours) = spawn_pipe_peer(python, &size_args())?;
    let mut conn =
        Connection::from_fd(ours, Access::Duplex).map_err(|e| format!("from_fd: {e:?}"))?;
    exchange(&mut conn).map_err(|e| peer.fail(e))?;
    drop(conn);
    peer.expect_exit(LIMIT, 0)
}

/// Runs `jobs` on [`PARALLEL`] threads; results in the order given.
fn run_parallel(jobs: Vec<(&Python, Pairing)>) -> Vec<(&Python, Pairing, Result<(), String>)> {
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let Some((n, (python, pairing))) = guard(&queue).pop_front() else {
                    return;
                };
                let result = catch_unwind(AssertUnwindSafe(|| pairing.run(python))).unwrap_or_else(
                    |panic| {
                        let msg = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_default();
                        Err(format!("panicked: {msg}"))
                    },
                );
                guard(&results).push((n, python, pairing, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|r| r.0);
    results
        .into_iter()
        .map(|(_, py, p, r)| (py, p, r))
        .collect()
}

#[test]
fn python_pairings() {
    let Some(pythons) = interpreters_or_skip("python_pairings") else {
        return;
    };
    let start = Instant::now();
    patterns();
    let mut jobs = Vec::new();
    for pairing in Pairing::all() {
        for python in pythons {
            jobs.push((python, pairing));
        }
    }
    let total = jobs.len();
    let results = run_parallel(jobs);
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(python, pairing, result)| {
            let err = result.as_ref().err()?;
            Some(format!(
                "  Python {} | {} : {err}",
                python.version,
                pairing.describe()
            ))
        })
        .collect();
    let passed = total - failures.len();
    let summary = format!(
        "interop: {passed} pairings passed across {} interpreters ({}) in {:.1?}",
        pythons.len(),
        versions(pythons),
        start.elapsed()
    );
    eprintln!("{summary}");
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{} of {total} pairings failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The escape header

/// Writes `msg` framed with the 12-byte escape header.
fn escape_frame(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(&[0xff; 4]);
    out.extend_from_slice(&(msg.len() as u64).to_be_bytes());
    out.extend_from_slice(msg);
}

/// Rust writes small messages with the 12-byte escape header to a Python
/// `Connection(fd)`, which must decode them, and one plain frame after them.
fn escape_to_python(python: &Python) -> Result<(), String> {
    let msgs: [&[u8]; 3] = [b"hello, escape header", b"", b"a plain frame after"];
    let (mut peer, ours) = spawn_pipe_peer(python, &[])?;
    let mut raw = Vec::new();
    escape_frame(&mut raw, msgs[0]);
    escape_frame(&mut raw, msgs[1]);
    raw.extend_from_slice(&(msgs[2].len() as u32).to_be_bytes());
    raw.extend_from_slice(msgs[2]);
    let mut stream = UnixStream::from(std::os::fd::OwnedFd::from(ours));
    stream
        .write_all(&raw)
        .map_err(|e| peer.fail(format!("writing raw frames: {e}")))?;
    let fd = sys::OwnedFd::from(std::os::fd::OwnedFd::from(stream));
    let mut conn =
        Connection::from_fd(fd, Access::Duplex).map_err(|e| format!("from_fd: {e:?}"))?;
    for (i, msg) in msgs.iter().enumerate() {
        let reply = conn
            .recv_bytes()
            .map_err(|e| peer.fail(format!("receiving reply {i}: {e:?}")))?;
        let mut want = msg.to_vec();
        want.reverse();
        compare(&format!("reply {i}"), &reply, &want).map_err(|e| peer.fail(e))?;
    }
    drop(conn);
    peer.expect_exit(LIMIT, 0)
}

#[test]
fn escape_header_read_by_python() {
    let Some(pythons) = interpreters_or_skip("escape_header_read_by_python") else {
        return;
    };
    let mut passed = Vec::new();
    let mut failures = Vec::new();
    for python in pythons {
        if !python.at_least(3, 8) {
            // Python 3.7 and older read `ffffffff` as an empty message and
            // the u64 after it as the next header: no escape form there.
            skip::skipped(format_args!(
                "escape header with Python {} (only 3.8+ decodes it)",
                python.version
            ));
            continue;
        }
        match escape_to_python(python) {
            Ok(()) => passed.push(python.version.as_str()),
            Err(e) => failures.push(format!(
                "  Python {} | escape header over socketpair : {e}",
                python.version
            )),
        }
    }
    let summary = format!(
        "interop: escape header decoded by {} interpreters ({})",
        passed.len(),
        passed.join(", ")
    );
    eprintln!("{summary}");
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "escape header:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// A message over 2 GiB, Rust to Rust

/// `MemAvailable` from /proc/meminfo, in bytes.
fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Length of the repeating chunk of the big message (a prime, so a shift
/// by a power of two shows).
const CHUNK: usize = 65_521;
/// Distance between the offset stamps and the sampled windows.
const STRIDE: usize = 1 << 20;
const WINDOW: usize = 64;

fn chunk_byte(k: usize) -> u8 {
    (k.wrapping_mul(131) ^ (k >> 7)) as u8
}

/// The big message: a repeating prime-length chunk, with each multiple of
/// [`STRIDE`] stamped with its own offset.
fn big_message(len: usize) -> Vec<u8> {
    let chunk: Vec<u8> = (0..CHUNK).map(chunk_byte).collect();
    let mut msg = vec![0u8; len];
    for piece in msg.chunks_mut(CHUNK) {
        piece.copy_from_slice(&chunk[..piece.len()]);
    }
    for at in (0..len.saturating_sub(8)).step_by(STRIDE) {
        msg[at..at + 8].copy_from_slice(&(at as u64).to_be_bytes());
    }
    msg
}

/// The byte the big message has at `at`.
fn expected_byte(at: usize, len: usize) -> u8 {
    let stamp = at - at % STRIDE;
    if stamp < len.saturating_sub(8) && at < stamp + 8 {
        (stamp as u64).to_be_bytes()[at - stamp]
    } else {
        chunk_byte(at % CHUNK)
    }
}

/// The sampled positions: a window at each stride, one in the middle of
/// each stride, and the last bytes.
fn samples(len: usize) -> impl Iterator<Item = usize> {
    let strided = (0..len).step_by(STRIDE).flat_map(move |s| {
        let mid = s + STRIDE / 2 + 333;
        (s..s + WINDOW).chain(mid..mid + WINDOW)
    });
    strided
        .chain(len.saturating_sub(WINDOW)..len)
        .filter(move |&at| at < len)
}

/// FNV-1a over the sampled bytes.
fn sampled_checksum(msg: &[u8]) -> u64 {
    samples(msg.len()).fold(0xcbf2_9ce4_8422_2325, |h, at| {
        (h ^ u64::from(msg[at])).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The big message's length: one byte over 2 GiB, so it needs the 12-byte
/// escape header.
const BIG_LEN: usize = (2 << 30) + 1;
/// How long `recv_bytes` may take for the big message. Receiving into a
/// buffer takes a few seconds here, even unoptimised.
const BIG_LIMIT: Duration = Duration::from_secs(60);

/// Serialises the big-message tests and checks there is memory for one;
/// `None` (after a visible note) when there is not.
fn big_message_slot(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    static BIG: Mutex<()> = Mutex::new(());
    const NEED: u64 = 8 << 30;
    let guard = guard(&BIG);
    match mem_available() {
        Some(have) if have >= NEED => Some(guard),
        have => {
            skip::skipped(format_args!(
                "{test} needs MemAvailable >= 8 GiB, have {:?} MiB",
                have.map(|b| b >> 20)
            ));
            None
        }
    }
}

/// Starts a thread that builds the big message, sends it on `tx`, and
/// returns its sampled checksum.
fn send_big(mut tx: Connection) -> thread::JoinHandle<Result<u64, Error>> {
    thread::spawn(move || {
        let msg = big_message(BIG_LEN);
        let checksum = sampled_checksum(&msg);
        tx.send_bytes(&msg).map(|()| checksum)
    })
}

/// Checks the received big message against the pattern and the sender's
/// checksum.
fn check_big(got: &[u8], sent: u64) {
    assert_eq!(got.len(), BIG_LEN, "received length");
    for at in samples(BIG_LEN) {
        assert_eq!(got[at], expected_byte(at, BIG_LEN), "byte at offset {at}");
    }
    assert_eq!(sampled_checksum(got), sent, "sampled checksum");
}

/// 2 GiB + 1 byte, received into a buffer the test owns.
#[test]
fn message_over_2_gib_into_buffer() {
    let Some(_slot) = big_message_slot("message_over_2_gib_into_buffer") else {
        return;
    };
    let start = Instant::now();
    let (tx, mut rx) = ipcwire::pipe(true).expect("pipe");
    let sender = send_big(tx);
    rx.set_max_len(BIG_LEN as u64);
    let mut got = vec![0u8; BIG_LEN];
    let n = match rx.recv_bytes_into(&mut got) {
        Ok(n) => n,
        Err(e) => {
            drop(rx); // so a sender still writing fails instead of blocking
            let sent = sender.join();
            panic!("recv_bytes_into: {e:?} (sender: {sent:?})");
        }
    };
    let sent = sender.join().expect("sender thread").expect("send_bytes");
    check_big(&got[..n], sent);
    drop(got);
    assert_eq!(rx.recv_bytes_into(&mut []), Err(Error::Eof));
    let line = format!(
        "interop: 2 GiB + 1 byte message received into a buffer in {:.1?}",
        start.elapsed()
    );
    eprintln!("{line}");
    println!("{line}");
}

/// 2 GiB + 1 byte, received with `recv_bytes` into a new `Vec`, within
/// [`BIG_LIMIT`]; past it the receiving socket is shut down so both
/// threads stop, and the test fails.
#[test]
fn message_over_2_gib_recv_bytes() {
    let Some(_slot) = big_message_slot("message_over_2_gib_recv_bytes") else {
        return;
    };
    let start = Instant::now();
    let (tx, mut rx) = ipcwire::pipe(true).expect("pipe");
    // A second descriptor for the receiving socket, to shut it down.
    let rx_dup = std::os::fd::AsFd::as_fd(&rx)
        .try_clone_to_owned()
        .map(UnixStream::from)
        .expect("dup");
    let sender = send_big(tx);
    let (done_tx, done) = mpsc::channel();
    let receiver = thread::spawn(move || {
        rx.set_max_len(BIG_LEN as u64);
        let got = rx.recv_bytes();
        let after = got.is_ok().then(|| rx.recv_bytes().map(|m| m.len()));
        let _ = done_tx.send(());
        (got, after)
    });
    let in_time = done.recv_timeout(BIG_LIMIT).is_ok();
    if !in_time {
        let _ = rx_dup.shutdown(std::net::Shutdown::Both);
    }
    let (got, after) = receiver.join().expect("receiver thread");
    let sent = sender.join().expect("sender thread");
    assert!(
        in_time,
        "recv_bytes of a {BIG_LEN}-byte message did not finish within {BIG_LIMIT:?} \
         (recv_bytes_into takes seconds); after shutting the socket down it \
         returned {:?}, the sender {sent:?}",
        got.map(|m| m.len())
    );
    let got = got.expect("recv_bytes");
    check_big(&got, sent.expect("send_bytes"));
    assert_eq!(after, Some(Err(Error::Eof)), "after the message");
    let line = format!(
        "interop: 2 GiB + 1 byte message received by recv_bytes in {:.1?}",
        start.elapsed()
    );
    eprintln!("{line}");
    println!("{line}");
}

// ---------------------------------------------------------------------------
// Passing descriptors with multiprocessing.reduction

/// Everything `fd` delivers until end of stream.
fn read_to_end(fd: &sys::OwnedFd) -> Result<Vec<u8>, String> {
    fds::read_to_end(fd.as_fd()).map_err(|e| format!("read: {e:?}"))
}

fn want<T: std::fmt::Debug + PartialEq>(what: &str, got: T, expected: T) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}

fn pipe_fds() -> Result<(sys::OwnedFd, sys::OwnedFd), String> {
    sys::pipe().map_err(|e| format!("pipe: {e:?}"))
}

/// `peer.py fds`: reduction's `recv_handle`, `recvfds`, `send_handle` and
/// `sendfds` against ours, over an inherited socketpair end, then more
/// descriptors than ipcwire takes, bare and with a frame.
fn python_fds(python: &Python) -> Result<(), String> {
    let (ours, theirs) = sys::socketpair().map_err(|e| format!("socketpair: {e:?}"))?;
    let mut cmd = python.script(PEER);
    cmd.args(["fds", "0"])
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
    let mut peer = Peer::spawn(cmd)?;
    let mut conn =
        Connection::from_fd(ours, Access::Duplex).map_err(|e| format!("from_fd: {e:?}"))?;
    fds_exchange(&mut conn).map_err(|e| peer.fail(e))?;
    drop(conn);
    peer.expect_exit(LIMIT, 0)?;
    let steps = [
        "OK recv_handle",
        "OK recvfds",
        "OK send_handle",
        "OK send_handle after a message",
        "OK sendfds",
        "OK truncated",
    ];
    want(
        "Python's steps",
        peer.stdout.clone(),
        steps.map(String::from).to_vec(),
    )
    .map_err(|e| format!("{e}{}", peer.report()))
}

/// The Rust half of `peer.py fds`, step by step.
fn fds_exchange(conn: &mut Connection) -> Result<(), String> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |e: Error| format!("{what}: {e:?}")
    };
    // 1. A handle between two messages; Python writes through it.
    let (r, w) = pipe_fds()?;
    conn.send_bytes(b"handle next").map_err(io("send"))?;
    conn.send_handle(w.as_fd()).map_err(io("send_handle"))?;
    conn.send_bytes(b"after the handle").map_err(io("send"))?;
    drop(w);
    want(
        "through the handle",
        read_to_end(&r)?,
        b"python wrote this".to_vec(),
    )?;
    // 2. Three at once; Python writes its index into each.
    let pipes = [pipe_fds()?, pipe_fds()?, pipe_fds()?];
    let writers: Vec<_> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
    conn.send_fds(&writers).map_err(io("send_fds"))?;
    drop(writers);
    for (i, (r, w)) in pipes.into_iter().enumerate() {
        drop(w);
        want(
            "through send_fds",
            read_to_end(&r)?,
            i.to_string().into_bytes(),
        )?;
    }
    // 3. Python's send_handle, then a message.
    let handle = conn.recv_handle().map_err(io("recv_handle"))?;
    let mut fds = ReceivedFds::new();
    let msg = conn.recv_bytes_with_fds(&mut fds).map_err(io("recv"))?;
    want(
        "message after the handle",
        (msg, fds.len()),
        (b"python sent a handle".to_vec(), 0),
    )?;
    sys::write(handle.as_fd(), b"rust wrote this").map_err(|e| format!("write: {e:?}"))?;
    drop(handle);
    // 3b. A message, Python's send_handle, a message: plain receives read
    //     ahead, and the handle waits for recv_handle all the same. All
    //     three are queued first, so the first receive meets the handle.
    let queued = faults::await_queued(conn.as_fd(), 20 + 1 + 20, QUICK);
    want("all three queued", queued, true)?;
    let msg = conn.recv_bytes().map_err(io("recv"))?;
    want(
        "message before the handle",
        msg,
        b"a handle follows".to_vec(),
    )?;
    let handle = conn
        .recv_handle()
        .map_err(io("recv_handle after a message"))?;
    let msg = conn.recv_bytes().map_err(io("recv"))?;
    want(
        "message after the handle",
        msg,
        b"after the handle".to_vec(),
    )?;
    sys::write(handle.as_fd(), b"rust wrote this").map_err(|e| format!("write: {e:?}"))?;
    drop(handle);
    // 4. Python's sendfds with three: read end, write end, read end.
    want("recv_fds", conn.recv_fds(&mut fds), Ok(3))?;
    let w = fds.get(1).ok_or("no second descriptor")?;
    sys::write(w, b"x").map_err(|e| format!("write: {e:?}"))?;
    fds.clear();
    // 5. A hundred: cut short, all closed, and the next message in step.
    want(
        "100 descriptors",
        conn.recv_fds(&mut fds),
        Err(Error::ControlTruncated),
    )?;
    let next = conn.recv_bytes_with_fds(&mut fds).map_err(io("recv"))?;
    want("after them", next, b"in step".to_vec())?;
    // 6. A frame with seventy: the message is lost, receiving stays failed.
    let truncated = Err(Error::ControlTruncated);
    want(
        "framed 70",
        conn.recv_bytes_with_fds(&mut fds),
        truncated.clone(),
    )?;
    want("then", conn.recv_bytes_with_fds(&mut fds), truncated)?;
    want("none kept", fds.len(), 0)?;
    conn.send_bytes(b"done").map_err(io("send"))
}

/// A Python `Client` with a key sends a handle the moment it is connected;
/// the Rust `Listener` receives it after its handshake.
fn python_handle_client(python: &Python) -> Result<(), String> {
    let path = TempPath::new("py");
    let addr = rust_address(Family::Unix, path.text())?;
    let mut listener = Listener::bind(&addr)
        .map_err(|e| format!("bind: {e:?}"))?
        .authkey(b"handles");
    let mut cmd = python.script(PEER);
    cmd.args(["handle-client", path.text(), "handles"]);
    let mut peer = Peer::spawn(cmd)?;
    wait_for_client(&listener, &mut peer)?;
    let (mut conn, _) = listener
        .accept()
        .map_err(|e| peer.fail(format!("accept: {e:?}")))?;
    let handle = conn
        .recv_handle()
        .map_err(|e| peer.fail(format!("recv_handle: {e:?}")))?;
    let mut fds = ReceivedFds::new();
    let msg = conn
        .recv_bytes_with_fds(&mut fds)
        .map_err(|e| peer.fail(format!("recv: {e:?}")))?;
    want("message", msg, b"after the handshake".to_vec()).map_err(|e| peer.fail(e))?;
    sys::write(handle.as_fd(), b"rust wrote this").map_err(|e| peer.fail(format!("{e:?}")))?;
    drop((handle, conn));
    peer.expect_exit(LIMIT, 0)
}

/// A Rust `Client` with a key sends a handle the moment it is connected;
/// the Python `Listener` receives it with `recv_handle`.
fn python_handle_server(python: &Python) -> Result<(), String> {
    let path = TempPath::new("py");
    let mut cmd = python.script(PEER);
    cmd.args(["handle-server", path.text(), "handles"]);
    let mut peer = Peer::spawn(cmd)?;
    peer.next_line(LIMIT).map_err(|e| peer.fail(e))?;
    let addr = rust_address(Family::Unix, path.text())?;
    let mut conn = Client::new()
        .authkey(b"handles")
        .connect(&addr)
        .map_err(|e| peer.fail(format!("connect: {e:?}")))?;
    let (r, w) = pipe_fds()?;
    conn.send_handle(w.as_fd())
        .map_err(|e| peer.fail(format!("send_handle: {e:?}")))?;
    conn.send_bytes(b"after the handshake")
        .map_err(|e| peer.fail(format!("send: {e:?}")))?;
    drop(w);
    let got = read_to_end(&r).map_err(|e| peer.fail(e))?;
    want("through the handle", got, b"python wrote this".to_vec()).map_err(|e| peer.fail(e))?;
    drop(conn);
    peer.expect_exit(LIMIT, 0)
}

#[test]
fn passing_descriptors_with_python() {
    let Some(pythons) = interpreters_or_skip("passing_descriptors_with_python") else {
        return;
    };
    type Case = fn(&Python) -> Result<(), String>;
    let cases: [(&str, Case); 3] = [
        ("reduction both ways on a socketpair", python_fds),
        (
            "Python Client with a key sends a handle",
            python_handle_client,
        ),
        (
            "Rust Client with a key sends a handle",
            python_handle_server,
        ),
    ];
    let failures: Vec<String> = thread::scope(|s| {
        let runs: Vec<_> = pythons
            .iter()
            .flat_map(|python| cases.iter().map(move |case| (python, case)))
            .map(|(python, (name, case))| {
                let run = s.spawn(move || case(python));
                (python, name, run)
            })
            .collect();
        runs.into_iter()
            .filter_map(|(python, name, run)| {
                let result = run.join().unwrap_or_else(|_| Err("panicked".to_owned()));
                result
                    .err()
                    .map(|e| format!("  Python {} | {name}: {e}", python.version))
            })
            .collect()
    });
    let line = format!(
        "interop: descriptors passed both ways with {} interpreters ({})",
        pythons.len(),
        versions(pythons)
    );
    eprintln!("{line}");
    println!("{line}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
