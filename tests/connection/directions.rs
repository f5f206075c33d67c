//! Which way a connection goes, and `poll` on it.

use std::time::{Duration, Instant};

use ipcwire::sys;
use ipcwire::{pipe, Access, Connection, Direction, Error, ExitStatus};

use crate::fork::with_child;
use crate::serial::lock;

// ---------------------------------------------------------------------------
// Directions.
// ---------------------------------------------------------------------------

#[test]
fn wrong_direction_on_simplex_ends() {
    let _g = lock();
    let (mut r, mut w) = pipe(false).unwrap();
    assert_eq!(r.access(), Access::Read);
    assert_eq!(w.access(), Access::Write);
    assert_eq!(r.send_bytes(b"x"), Err(Error::NotWritable));
    assert_eq!(r.send_bytes(b""), Err(Error::NotWritable));
    assert_eq!(w.recv_bytes(), Err(Error::NotReadable));
    assert_eq!(w.recv_bytes_into(&mut [0u8; 8]), Err(Error::NotReadable));
    assert_eq!(w.poll(Some(Duration::ZERO)), Err(Error::NotReadable));
    assert_eq!(w.poll(None), Err(Error::NotReadable));
    // Nothing went onto the wire.
    assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false));
    w.send_bytes(b"ok").unwrap();
    assert_eq!(r.recv_bytes().unwrap(), b"ok");

    // The same through from_fd.
    let (rfd, wfd) = sys::pipe().unwrap();
    let mut r = Connection::from_fd(rfd, Access::Read).unwrap();
    let mut w = Connection::from_fd(wfd, Access::Write).unwrap();
    assert_eq!(r.send_bytes(b"x"), Err(Error::NotWritable));
    assert_eq!(w.recv_bytes(), Err(Error::NotReadable));
    assert_eq!(w.poll(Some(Duration::ZERO)), Err(Error::NotReadable));
    w.send_bytes(b"ok").unwrap();
    assert_eq!(r.recv_bytes().unwrap(), b"ok");
}

#[test]
fn wrong_direction_on_forked_ends() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::ToChild,
        |mut conn| {
            if conn.send_bytes(b"x") != Err(Error::NotWritable) {
                return 1;
            }
            match conn.recv_bytes() {
                Ok(m) if m == b"go" => 0,
                _ => 2,
            }
        },
        |mut conn| {
            let r = (conn.recv_bytes(), conn.poll(Some(Duration::ZERO)));
            conn.send_bytes(b"go").unwrap();
            r
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Err(Error::NotReadable));
    assert_eq!(got.1, Err(Error::NotReadable));

    let (got, status) = with_child(
        Direction::FromChild,
        |mut conn| match conn.recv_bytes() {
            Err(Error::NotReadable) => 0,
            _ => 1,
        },
        |mut conn| conn.send_bytes(b"x"),
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got, Err(Error::NotWritable));
}

// ---------------------------------------------------------------------------
// poll.
// ---------------------------------------------------------------------------

#[test]
fn poll_reports_messages_and_end_of_stream() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false), "duplex={duplex}");
        w.send_bytes(b"abc").unwrap();
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true));
        assert_eq!(r.poll(None), Ok(true));
        // Polling consumes nothing.
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true));
        assert_eq!(r.recv_bytes().unwrap(), b"abc");
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false));
        // Two messages read ahead together: the second is still reported.
        w.send_bytes(b"1").unwrap();
        w.send_bytes(b"2").unwrap();
        assert_eq!(r.recv_bytes().unwrap(), b"1");
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true));
        assert_eq!(r.recv_bytes().unwrap(), b"2");
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false));

        let start = Instant::now();
        assert_eq!(r.poll(Some(Duration::from_millis(50))), Ok(false));
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(50),
            "poll(50ms) returned after {waited:?}"
        );

        drop(w);
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true), "duplex={duplex}");
        assert_eq!(r.poll(None), Ok(true));
        assert_eq!(r.recv_bytes(), Err(Error::Eof));
    }
}

#[test]
fn poll_waits_for_child() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            match conn.recv_bytes() {
                Ok(m) if m == b"go" => {}
                _ => return 1,
            }
            match conn.send_bytes(b"done") {
                Ok(()) => 0,
                Err(_) => 2,
            }
        },
        |mut conn| {
            let before = conn.poll(Some(Duration::ZERO));
            conn.send_bytes(b"go").unwrap();
            let after = conn.poll(None);
            let msg = conn.recv_bytes();
            // The child exits after sending: end of stream is reported too.
            let at_end = conn.poll(None);
            (before, after, msg, at_end, conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Ok(false));
    assert_eq!(got.1, Ok(true));
    assert_eq!(got.2, Ok(b"done".to_vec()));
    assert_eq!(got.3, Ok(true));
    assert_eq!(got.4, Err(Error::Eof));
}
