//! What a receiver sees when the stream goes wrong: end of stream,
//! truncated headers and payloads, malformed headers, an I/O error inside a
//! message, and peers that are gone.

use std::os::fd::AsFd;
use std::time::Duration;

use ipcwire::sys::{self, Errno};
use ipcwire::{pipe, Access, Connection, Direction, Error, ExitStatus};

use crate::fork::with_child;
use crate::serial::lock;
use crate::{pattern, MIB};

// ---------------------------------------------------------------------------
// End of stream, truncation and malformed headers.
// ---------------------------------------------------------------------------

#[test]
fn eof_between_messages_is_eof_and_stays_eof() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        w.send_bytes(b"one").unwrap();
        w.send_bytes(b"two").unwrap();
        drop(w);
        assert_eq!(r.recv_bytes().unwrap(), b"one");
        assert_eq!(r.recv_bytes().unwrap(), b"two");
        assert_eq!(r.recv_bytes(), Err(Error::Eof), "duplex={duplex}");
        assert_eq!(r.recv_bytes(), Err(Error::Eof), "duplex={duplex}");
        let mut buf = [0u8; 4];
        assert_eq!(r.recv_bytes_into(&mut buf), Err(Error::Eof));
    }
    // Nothing was ever sent.
    let (mut r, w) = pipe(false).unwrap();
    drop(w);
    assert_eq!(r.recv_bytes(), Err(Error::Eof));
}

#[test]
fn eof_from_exited_child() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::FromChild,
        |mut conn| match conn.send_bytes(b"last words") {
            Ok(()) => 0,
            Err(_) => 1,
        },
        |mut conn| (conn.recv_bytes(), conn.recv_bytes(), conn.recv_bytes()),
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0.as_deref(), Ok(&b"last words"[..]));
    assert_eq!(got.1, Err(Error::Eof));
    assert_eq!(got.2, Err(Error::Eof));
}

#[test]
fn truncated_payload_on_connection_writer() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, w) = pipe(duplex).unwrap();
        // A header for 10 bytes, then only 5 of them.
        let raw = [0, 0, 0, 10, 1, 2, 3, 4, 5];
        assert_eq!(sys::write(w.as_fd(), &raw), Ok(raw.len()));
        drop(w);
        assert_eq!(r.recv_bytes(), Err(Error::Truncated), "duplex={duplex}");
        assert_eq!(r.recv_bytes(), Err(Error::Truncated), "duplex={duplex}");
        let mut buf = [0u8; 16];
        assert_eq!(r.recv_bytes_into(&mut buf), Err(Error::Truncated));
    }
}

#[test]
fn truncated_payload_on_raw_pipe() {
    let _g = lock();
    let (rfd, wfd) = sys::pipe().unwrap();
    let mut r = Connection::from_fd(rfd, Access::Read).unwrap();
    assert_eq!(r.access(), Access::Read);
    let raw = [0, 0, 0, 10, 1, 2, 3, 4, 5];
    assert_eq!(sys::write(wfd.as_fd(), &raw), Ok(raw.len()));
    drop(wfd);
    let mut buf = [0u8; 10];
    assert_eq!(r.recv_bytes_into(&mut buf), Err(Error::Truncated));
    assert_eq!(r.recv_bytes_into(&mut buf), Err(Error::Truncated));
    assert_eq!(r.recv_bytes(), Err(Error::Truncated));
}

#[test]
fn truncated_header_and_header_without_payload() {
    let _g = lock();
    let cases: [&[u8]; 4] = [
        &[0, 0],                         // half a header
        &[0, 0, 0],                      // three quarters of a header
        &[0, 0, 0, 10],                  // a header and no payload
        &[0xff, 0xff, 0xff, 0xff, 0, 0], // half an escaped header
    ];
    for raw in cases {
        let (mut r, w) = pipe(false).unwrap();
        assert_eq!(sys::write(w.as_fd(), raw), Ok(raw.len()));
        drop(w);
        assert_eq!(r.recv_bytes(), Err(Error::Truncated), "{raw:02x?}");
        assert_eq!(r.recv_bytes(), Err(Error::Truncated), "{raw:02x?} again");
    }
    // A whole message, then a partial header.
    let (mut r, w) = pipe(true).unwrap();
    let raw = [0, 0, 0, 2, b'o', b'k', 0, 0];
    assert_eq!(sys::write(w.as_fd(), &raw), Ok(raw.len()));
    drop(w);
    assert_eq!(r.recv_bytes().unwrap(), b"ok");
    assert_eq!(r.recv_bytes(), Err(Error::Truncated));
    assert_eq!(r.recv_bytes(), Err(Error::Truncated));
}

#[test]
fn truncated_large_payload_from_child() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::FromChild,
        |conn| {
            // Declare 1 MiB, send 300 KiB, exit.
            let head = (MIB as u32).to_be_bytes();
            if sys::write(conn.as_fd(), &head) != Ok(4) {
                return 1;
            }
            let body = pattern(300 * 1024);
            let mut sent = 0;
            while sent < body.len() {
                match sys::write(conn.as_fd(), &body[sent..]) {
                    Ok(n) => sent += n,
                    Err(_) => return 2,
                }
            }
            0
        },
        |mut conn| (conn.recv_bytes(), conn.recv_bytes()),
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Err(Error::Truncated));
    assert_eq!(got.1, Err(Error::Truncated));
}

#[test]
fn io_error_inside_a_message_stays() {
    let _g = lock();
    // A Unix socket closed with unread data in its own receive queue resets
    // the connection: its peer's next read fails with ECONNRESET once the
    // bytes already queued for it are used up.
    let (peer, mine) = sys::socketpair().unwrap();
    let mut r = Connection::from_fd(mine, Access::Duplex).unwrap();
    r.send_bytes(b"never read").unwrap();
    // A header for 10 bytes and 5 of them, then the reset.
    let raw = [0, 0, 0, 10, 1, 2, 3, 4, 5];
    assert_eq!(sys::write(peer.as_fd(), &raw), Ok(raw.len()));
    drop(peer);
    let reset = Error::Io(Errno::CONNRESET);
    assert_eq!(r.recv_bytes(), Err(reset));
    // Half a message was taken: receiving stays failed with the same error
    // rather than go on to report a clean Truncated or Eof.
    assert_eq!(r.recv_bytes(), Err(reset));
    assert_eq!(r.recv_bytes_into(&mut [0u8; 16]), Err(reset));

    // The same into a caller's buffer.
    let (peer, mine) = sys::socketpair().unwrap();
    let mut r = Connection::from_fd(mine, Access::Duplex).unwrap();
    r.send_bytes(b"never read").unwrap();
    assert_eq!(sys::write(peer.as_fd(), &raw), Ok(raw.len()));
    drop(peer);
    let mut buf = [0u8; 10];
    assert_eq!(r.recv_bytes_into(&mut buf), Err(reset));
    assert_eq!(r.recv_bytes_into(&mut buf), Err(reset));
    assert_eq!(r.recv_bytes(), Err(reset));
}

#[test]
fn negative_length_header() {
    let _g = lock();
    let cases: [(&[u8], i32); 3] = [
        (&[0xff, 0xff, 0xff, 0xfe], -2),
        (&[0x80, 0, 0, 0], i32::MIN),
        (&[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1, b'x'], -2),
    ];
    for (raw, n) in cases {
        let (mut r, w) = pipe(false).unwrap();
        assert_eq!(sys::write(w.as_fd(), raw), Ok(raw.len()));
        assert_eq!(r.recv_bytes(), Err(Error::NegativeLength(n)), "{raw:02x?}");
        // Stays failed, whether or not the writer is still there.
        assert_eq!(r.recv_bytes(), Err(Error::NegativeLength(n)));
        drop(w);
        let mut buf = [0u8; 16];
        assert_eq!(r.recv_bytes_into(&mut buf), Err(Error::NegativeLength(n)));
    }
}

#[test]
fn escaped_long_header_decodes() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, w) = pipe(duplex).unwrap();
        let mut raw = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 5];
        raw.extend_from_slice(b"hello");
        // An escaped empty message, then a normal one.
        raw.extend_from_slice(&[0xff; 4]);
        raw.extend_from_slice(&[0; 8]);
        raw.extend_from_slice(&[0, 0, 0, 3]);
        raw.extend_from_slice(b"abc");
        assert_eq!(sys::write(w.as_fd(), &raw), Ok(raw.len()));
        drop(w);
        assert_eq!(r.recv_bytes().unwrap(), b"hello", "duplex={duplex}");
        assert_eq!(r.recv_bytes().unwrap(), b"");
        let mut buf = [0u8; 3];
        assert_eq!(r.recv_bytes_into(&mut buf), Ok(3));
        assert_eq!(&buf, b"abc");
        assert_eq!(r.recv_bytes(), Err(Error::Eof));
    }
}

#[test]
fn headers_and_payloads_split_across_writes() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::FromChild,
        |conn| {
            // An escaped header, a short one, and their payloads, written a
            // byte at a time with pauses, so the reader gets them in pieces.
            let mut raw = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2];
            raw.extend_from_slice(b"hi");
            raw.extend_from_slice(&[0, 0, 0, 1, b'!']);
            for b in raw {
                if sys::write(conn.as_fd(), &[b]) != Ok(1) {
                    return 1;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            0
        },
        |mut conn| {
            let mut buf = [0u8; 2];
            let first = conn.recv_bytes_into(&mut buf).map(|n| buf[..n].to_vec());
            (first, conn.recv_bytes(), conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Ok(b"hi".to_vec()));
    assert_eq!(got.1, Ok(b"!".to_vec()));
    assert_eq!(got.2, Err(Error::Eof));
}

// ---------------------------------------------------------------------------
// Peers that are gone.
// ---------------------------------------------------------------------------

#[test]
fn send_to_closed_socketpair_peer_is_epipe() {
    let _g = lock();
    let (mut a, b) = pipe(true).unwrap();
    drop(b);
    let big = pattern(MIB + MIB / 2);
    assert_eq!(a.send_bytes(&big), Err(Error::Io(Errno::PIPE)));
    assert_eq!(a.send_bytes(b"small"), Err(Error::Io(Errno::PIPE)));
    assert_eq!(a.send_bytes(b""), Err(Error::Io(Errno::PIPE)));
    // Still alive, and the connection still reports end of stream.
    assert_eq!(a.recv_bytes(), Err(Error::Eof));
}

#[test]
fn send_to_exited_child_is_epipe() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::Duplex,
        |mut conn| match conn.recv_bytes() {
            Ok(m) if m == b"bye" => 0,
            _ => 1,
        },
        |mut conn| {
            conn.send_bytes(b"bye").unwrap();
            // The child exits after reading "bye": wait for its end.
            assert_eq!(conn.recv_bytes(), Err(Error::Eof));
            (conn.send_bytes(&pattern(2 * MIB)), conn.send_bytes(b"x"))
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Err(Error::Io(Errno::PIPE)));
    assert_eq!(got.1, Err(Error::Io(Errno::PIPE)));
}

#[test]
fn from_fd_detects_sockets() {
    let _g = lock();
    let (s1, s2) = sys::socketpair().unwrap();
    assert_eq!(sys::fstat_is_socket(s1.as_fd()), Ok(true));
    let mut a = Connection::from_fd(s1, Access::Duplex).unwrap();
    let mut b = Connection::from_fd(s2, Access::Duplex).unwrap();
    assert_eq!(a.access(), Access::Duplex);
    a.send_bytes(b"ping").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"ping");
    b.send_bytes(b"pong").unwrap();
    assert_eq!(a.recv_bytes().unwrap(), b"pong");
    drop(b);
    // A socket end sends with MSG_NOSIGNAL: EPIPE, not death by SIGPIPE.
    assert_eq!(a.send_bytes(&pattern(2 * MIB)), Err(Error::Io(Errno::PIPE)));
    assert_eq!(a.send_bytes(b"small"), Err(Error::Io(Errno::PIPE)));
    assert_eq!(a.recv_bytes(), Err(Error::Eof));

    // A pipe is not a socket.
    let (rfd, wfd) = sys::pipe().unwrap();
    assert_eq!(sys::fstat_is_socket(rfd.as_fd()), Ok(false));
    assert_eq!(sys::fstat_is_socket(wfd.as_fd()), Ok(false));
}
