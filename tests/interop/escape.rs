//! The 12-byte escape header, written by Rust and read by Python.

use std::io::Write;
use std::os::unix::net::UnixStream;

use ipcwire::{Access, Connection};

use crate::python::{interpreters_or_skip, Python, LIMIT};
use crate::skip;
use crate::{compare, spawn_pipe_peer};

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
    let mut stream = UnixStream::from(ours);
    stream
        .write_all(&raw)
        .map_err(|e| peer.fail(format!("writing raw frames: {e}")))?;
    let fd = std::os::fd::OwnedFd::from(stream);
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
    let mut older = Vec::new();
    for python in pythons {
        if !python.at_least(3, 8) {
            // Python 3.7 and older read `ffffffff` as an empty message and
            // the u64 after it as the next header: no escape form there,
            // so nothing to check (not a skip: no machine could).
            older.push(python.version.as_str());
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
    if !older.is_empty() {
        skip::say(format_args!(
            "interop: escape header not sent to Python {}: only 3.8+ decodes it",
            older.join(", ")
        ));
    }
    if passed.is_empty() && failures.is_empty() {
        skip::skipped("escape_header_read_by_python: no Python 3.8 or later found");
        return;
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
