//! Every Python paired with ipcwire both ways over a Unix path, an
//! abstract name and TCP, with every combination of keys, and over an
//! inherited socketpair end.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ipcwire::handshake::AuthError;
use ipcwire::sys::Errno;
use ipcwire::{Access, Address, Client, Connection, Error, Listener};

use crate::parallel::{report, run_parallel};
use crate::python::{interpreters_or_skip, Peer, Python, LIMIT, QUICK};
use crate::{
    compare, python_address, rust_address, spawn_pipe_peer, wait_for_client, Family, PEER,
};

/// The timeout given to the Rust side when only it has a key.
const ONE_SIDED_TIMEOUT: Duration = Duration::from_secs(2);
/// Slack allowed on top of [`ONE_SIDED_TIMEOUT`] on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);

/// The message sizes exchanged in every successful pairing.
const SIZES: [usize; 6] = [0, 1, 16384, 16385, 1 << 20, 4 << 20];

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

/// A Python `Connection(fd)` on an inherited socketpair end.
fn python_pipe(python: &Python) -> Result<(), String> {
    let (mut peer, ours) = spawn_pipe_peer(python, &size_args())?;
    let mut conn =
        Connection::from_fd(ours, Access::Duplex).map_err(|e| format!("from_fd: {e:?}"))?;
    exchange(&mut conn).map_err(|e| peer.fail(e))?;
    drop(conn);
    peer.expect_exit(LIMIT, 0)
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
    let results = run_parallel(jobs, |(python, pairing)| pairing.run(python));
    let failures: Vec<String> = results
        .iter()
        .filter_map(|((python, pairing), result)| {
            let err = result.as_ref().err()?;
            Some(format!(
                "  Python {} | {} : {err}",
                python.version,
                pairing.describe()
            ))
        })
        .collect();
    let passed = total - failures.len();
    report("pairings", (passed, total), &failures, pythons, start);
}
