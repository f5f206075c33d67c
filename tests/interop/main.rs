//! Interoperability with real CPython interpreters (`tests/py/peer.py`).
//!
//! Every Python 3 found (`python3` on `PATH`, and every `pyenv` version but
//! 2.x) is paired with ipcwire both ways (Rust `Listener` with a Python
//! `Client`, Python `Listener` with a Rust `Client`) over a Unix path, an
//! abstract name and TCP, with no key, the same key, different keys and a
//! key on the Rust side only; plus a Python `Connection(fd)` over an
//! inherited socketpair end, the 12-byte escape header read by Python, and
//! descriptors passed both ways with `multiprocessing.reduction`. Batches
//! of messages both ways with every Python, 2.x included
//! (`tests/py/batches.py`). A duplex connection over two pipes with every
//! Python, 2.x included, Python holding its ends as `Connection(r,
//! writable=False)` and `Connection(w, readable=False)`
//! (`tests/py/two_pipes.py`). And a message over 2 GiB, Rust to Rust.
//!
//! One module per theme: `pairings`, `escape` (the escape header),
//! `descriptors`, `batches`, `two_pipes`, `big` (the message over 2 GiB);
//! this file has what they share.
//!
//! Without any Python the tests print `SKIPPED: ...` and pass, unless
//! `IPCWIRE_NO_SKIPS=1` makes that a failure (see `tests/common/skip.rs`).
//!
//! Every Python process is killed and reaped on every path: after
//! [`LIMIT`] by a watchdog, and whenever its [`Peer`] guard is dropped.

#[path = "../common/bytes.rs"]
mod bytes;
#[path = "../common/faults.rs"]
mod faults;
#[path = "../common/fds.rs"]
mod fds;
#[path = "../common/paths.rs"]
mod paths;
#[path = "../common/python.rs"]
mod python;
#[path = "../common/serial.rs"]
mod serial;
#[path = "../common/skip.rs"]
mod skip;

mod batches;
mod big;
mod descriptors;
mod escape;
mod pairings;
mod parallel;
mod two_pipes;

use bytes::compare;

use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ipcwire::sys::{self, PollFd, PollFlags};
use ipcwire::{Address, Listener};

use paths::{unique, TempPath};
use python::{Peer, Python, LIMIT};

/// The Python peer script.
const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/peer.py");

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
        other => Err(format!("{other} is not an address peer.py takes")),
    }
}

// ---------------------------------------------------------------------------
// Messages and peers

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

/// Spawns `peer.py pipe 0 ARGS...` with one end of a socketpair as its
/// stdin; returns the process and the other end.
fn spawn_pipe_peer(python: &Python, args: &[String]) -> Result<(Peer, sys::OwnedFd), String> {
    let (ours, theirs) = sys::socketpair().map_err(|e| format!("socketpair: {e:?}"))?;
    let mut cmd = python.script(PEER);
    cmd.args(["pipe", "0"])
        .args(args)
        .stdin(Stdio::from(theirs));
    // Consumed: the parent's copy of Python's end is closed right away.
    let peer = Peer::spawn(cmd)?;
    Ok((peer, ours))
}
