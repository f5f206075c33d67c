//! Passing descriptors both ways with Python's `multiprocessing.reduction`.

use std::os::fd::AsFd;
use std::process::Stdio;
use std::thread;

use ipcwire::sys;
use ipcwire::{Access, Client, Connection, Error, Listener, ReceivedFds};

use crate::paths::TempPath;
use crate::python::{interpreters_or_skip, versions, Peer, Python, LIMIT, QUICK};
use crate::{faults, fds};
use crate::{rust_address, wait_for_client, Family, PEER};

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
    cmd.args(["fds", "0"]).stdin(Stdio::from(theirs));
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
