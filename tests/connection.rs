//! Connections over real pipes and socket pairs, talking to real forked
//! processes.
//!
//! Every test takes `serial::lock()` first: the tests fork and count this
//! process's descriptors, so they must not overlap. While one test holds
//! it, the harness's other threads are parked on the lock, and the children
//! only do simple work (on glibc, allocating after `fork` is safe) before
//! leaving through the closure's return code.

#[path = "common/fds.rs"]
mod fds;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/serial.rs"]
mod serial;

use std::time::{Duration, Instant};

use fds::{fd_flags, O_CLOEXEC};
use fork::with_child;
use ipcwire::sys::{self, Errno};
use ipcwire::{pipe, Access, Connection, Direction, Error, ExitStatus};
use serial::lock;

const MIB: usize = 1 << 20;

/// The byte at `i` of a test message of `len` bytes.
fn byte(i: usize, len: usize) -> u8 {
    (i * 7 + len) as u8
}

/// A test message of `len` bytes.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| byte(i, len)).collect()
}

/// Whether `msg` is exactly the test message of `len` bytes.
fn is_pattern(msg: &[u8], len: usize) -> bool {
    msg.len() == len && msg.iter().enumerate().all(|(i, &b)| b == byte(i, len))
}

/// The `seq`-th message of a long stream: its length varies over 0..=300
/// and its content depends on `seq`, so a lost, repeated or reordered
/// message is noticed.
fn numbered(seq: usize) -> Vec<u8> {
    let len = (seq * 131) % 301;
    (0..len).map(|i| (i * 7 + len + seq) as u8).collect()
}

/// Sizes of several messages: around the one-`write` limit for small
/// messages (256 B), and the read-ahead buffer and pipe buffer (64 KiB).
const SIZES: [usize; 16] = [
    0, 1, 3, 4, 5, 100, 255, 256, 257, 4096, 65531, 65532, 65535, 65536, 65537, 200_000,
];

// ---------------------------------------------------------------------------
// Messages both ways between parent and child.
// ---------------------------------------------------------------------------

#[test]
fn simplex_parent_to_child_several_sizes() {
    let _g = lock();
    let (sent, status) = with_child(
        Direction::ToChild,
        |mut conn| {
            assert_eq!(conn.access(), Access::Read);
            for (k, &len) in SIZES.iter().enumerate() {
                match conn.recv_bytes() {
                    Ok(msg) if is_pattern(&msg, len) => {}
                    _ => return 10 + k as i32,
                }
            }
            match conn.recv_bytes() {
                Err(Error::Eof) => 0,
                _ => 2,
            }
        },
        |mut conn| {
            assert_eq!(conn.access(), Access::Write);
            for &len in &SIZES {
                conn.send_bytes(&pattern(len)).unwrap();
            }
            SIZES.len()
        },
    );
    assert_eq!(sent, SIZES.len());
    assert_eq!(status, ExitStatus::Exited(0));
}

#[test]
fn simplex_child_to_parent_several_sizes() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::FromChild,
        |mut conn| {
            for &len in &SIZES {
                if conn.send_bytes(&pattern(len)).is_err() {
                    return 1;
                }
            }
            0
        },
        |mut conn| {
            assert_eq!(conn.access(), Access::Read);
            let mut got = Vec::new();
            for _ in &SIZES {
                got.push(conn.recv_bytes().unwrap());
            }
            (got, conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    let (msgs, end) = got;
    for (msg, &len) in msgs.iter().zip(&SIZES) {
        assert!(is_pattern(msg, len), "message of {len} bytes corrupted");
    }
    assert_eq!(end, Err(Error::Eof));
}

#[test]
fn duplex_socketpair_both_ways() {
    let _g = lock();
    let (replies, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            if conn.access() != Access::Duplex {
                return 3;
            }
            if conn.send_bytes(b"ready").is_err() {
                return 4;
            }
            let mut count = 0;
            loop {
                match conn.recv_bytes() {
                    Ok(msg) => {
                        if !is_pattern(&msg, msg.len()) {
                            return 5;
                        }
                        // Reply with a different message of a different size.
                        if conn.send_bytes(&pattern(msg.len() * 2 + 1)).is_err() {
                            return 6;
                        }
                        count += 1;
                    }
                    Err(Error::Eof) => break,
                    Err(_) => return 7,
                }
            }
            if count == SIZES.len() {
                0
            } else {
                8
            }
        },
        |mut conn| {
            assert_eq!(conn.access(), Access::Duplex);
            assert_eq!(conn.recv_bytes().unwrap(), b"ready");
            let mut replies = Vec::new();
            for &len in &SIZES {
                conn.send_bytes(&pattern(len)).unwrap();
                replies.push(conn.recv_bytes().unwrap());
            }
            replies
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(replies.len(), SIZES.len());
    for (reply, &len) in replies.iter().zip(&SIZES) {
        assert!(
            is_pattern(reply, len * 2 + 1),
            "reply to {len} bytes corrupted"
        );
    }
}

// ---------------------------------------------------------------------------
// Zero-length messages.
// ---------------------------------------------------------------------------

const WITH_EMPTY: [&[u8]; 8] = [b"", b"a", b"", b"", b"bc", b"", b"defg", b""];

#[test]
fn zero_length_messages_in_process() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        for msg in WITH_EMPTY {
            w.send_bytes(msg).unwrap();
        }
        for (k, msg) in WITH_EMPTY.iter().enumerate() {
            if k % 2 == 0 {
                assert_eq!(r.recv_bytes().unwrap(), *msg, "duplex={duplex} #{k}");
            } else {
                let mut buf = [0xAAu8; 8];
                let n = r.recv_bytes_into(&mut buf).unwrap();
                assert_eq!(&buf[..n], *msg, "duplex={duplex} #{k}");
            }
        }
        // An empty message fits an empty buffer.
        w.send_bytes(b"").unwrap();
        assert_eq!(r.recv_bytes_into(&mut []), Ok(0));
        // ... and a non-empty one does not.
        w.send_bytes(b"x").unwrap();
        assert_eq!(
            r.recv_bytes_into(&mut []),
            Err(Error::BufferTooSmall { needed: 1 })
        );
        assert_eq!(r.recv_bytes().unwrap(), b"x");
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false));
        drop(w);
        assert_eq!(r.recv_bytes(), Err(Error::Eof));
    }
}

#[test]
fn zero_length_messages_across_fork() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            // Receive the interleaved sequence, check it, send it back.
            for (k, msg) in WITH_EMPTY.iter().enumerate() {
                match conn.recv_bytes() {
                    Ok(m) if m == *msg => {}
                    _ => return 10 + k as i32,
                }
            }
            for msg in WITH_EMPTY {
                if conn.send_bytes(msg).is_err() {
                    return 1;
                }
            }
            0
        },
        |mut conn| {
            for msg in WITH_EMPTY {
                conn.send_bytes(msg).unwrap();
            }
            let got: Vec<Vec<u8>> = WITH_EMPTY
                .iter()
                .map(|_| conn.recv_bytes().unwrap())
                .collect();
            (got, conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    let (msgs, end) = got;
    let expected: Vec<Vec<u8>> = WITH_EMPTY.iter().map(|m| m.to_vec()).collect();
    assert_eq!(msgs, expected);
    assert_eq!(end, Err(Error::Eof));
}

// ---------------------------------------------------------------------------
// Messages larger than the pipe buffer, with a concurrent reader.
// ---------------------------------------------------------------------------

#[test]
fn large_messages_parent_to_child() {
    let _g = lock();
    let ((), status) = with_child(
        Direction::ToChild,
        |mut conn| {
            match conn.recv_bytes() {
                Ok(msg) if is_pattern(&msg, MIB) => {}
                Ok(_) => return 2,
                Err(_) => return 3,
            }
            let mut buf = vec![0u8; 5 * MIB];
            match conn.recv_bytes_into(&mut buf) {
                Ok(n) if n == 5 * MIB && is_pattern(&buf, 5 * MIB) => {}
                Ok(_) => return 4,
                Err(_) => return 5,
            }
            // Into a buffer larger than the message.
            let mut buf = vec![0u8; 6 * MIB];
            match conn.recv_bytes_into(&mut buf) {
                Ok(n) if n == MIB + 1 && is_pattern(&buf[..n], MIB + 1) => {}
                Ok(_) => return 6,
                Err(_) => return 7,
            }
            match conn.recv_bytes() {
                Err(Error::Eof) => 0,
                _ => 8,
            }
        },
        |mut conn| {
            conn.send_bytes(&pattern(MIB)).unwrap();
            conn.send_bytes(&pattern(5 * MIB)).unwrap();
            conn.send_bytes(&pattern(MIB + 1)).unwrap();
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
}

#[test]
fn large_messages_child_to_parent() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::FromChild,
        |mut conn| {
            for len in [MIB, 5 * MIB, 5 * MIB, 3] {
                if conn.send_bytes(&pattern(len)).is_err() {
                    return 1;
                }
            }
            0
        },
        |mut conn| {
            let mut buf = vec![0u8; 5 * MIB];
            let n1 = conn.recv_bytes_into(&mut buf).unwrap();
            let ok1 = is_pattern(&buf[..n1], MIB);
            let n2 = conn.recv_bytes_into(&mut buf).unwrap();
            let ok2 = is_pattern(&buf[..n2], 5 * MIB);
            let m3 = conn.recv_bytes().unwrap();
            let m4 = conn.recv_bytes().unwrap();
            (
                n1,
                ok1,
                n2,
                ok2,
                is_pattern(&m3, 5 * MIB),
                m4,
                conn.recv_bytes(),
            )
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    let (n1, ok1, n2, ok2, ok3, m4, end) = got;
    assert_eq!(n1, MIB);
    assert!(ok1, "1 MiB message corrupted");
    assert_eq!(n2, 5 * MIB);
    assert!(ok2, "5 MiB message (recv_bytes_into) corrupted");
    assert!(ok3, "5 MiB message (recv_bytes) corrupted");
    assert_eq!(m4, pattern(3));
    assert_eq!(end, Err(Error::Eof));
}

#[test]
fn large_messages_duplex_echo() {
    let _g = lock();
    let (echoes, status) = with_child(
        Direction::Duplex,
        |mut conn| loop {
            match conn.recv_bytes() {
                Ok(msg) => {
                    if conn.send_bytes(&msg).is_err() {
                        return 1;
                    }
                }
                Err(Error::Eof) => return 0,
                Err(_) => return 2,
            }
        },
        |mut conn| {
            let mut ok = Vec::new();
            for len in [MIB, 5 * MIB] {
                conn.send_bytes(&pattern(len)).unwrap();
                let echo = conn.recv_bytes().unwrap();
                ok.push(is_pattern(&echo, len));
            }
            ok
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(echoes, [true, true]);
}

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
// Buffers and limits.
// ---------------------------------------------------------------------------

#[test]
fn buffer_too_small_keeps_the_message() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        w.send_bytes(&pattern(100)).unwrap();
        w.send_bytes(&pattern(7)).unwrap();
        let mut small = [0u8; 10];
        assert_eq!(
            r.recv_bytes_into(&mut small),
            Err(Error::BufferTooSmall { needed: 100 })
        );
        assert_eq!(
            r.recv_bytes_into(&mut [0u8; 99]),
            Err(Error::BufferTooSmall { needed: 100 })
        );
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true));
        let mut buf = [0u8; 100];
        assert_eq!(r.recv_bytes_into(&mut buf), Ok(100), "duplex={duplex}");
        assert!(is_pattern(&buf, 100));
        // The next message is intact.
        assert_eq!(r.recv_bytes().unwrap(), pattern(7));
        // After BufferTooSmall, recv_bytes takes the message whole.
        w.send_bytes(&pattern(50)).unwrap();
        assert_eq!(
            r.recv_bytes_into(&mut small),
            Err(Error::BufferTooSmall { needed: 50 })
        );
        assert_eq!(r.recv_bytes().unwrap(), pattern(50));
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false));
    }
}

#[test]
fn buffer_too_small_for_large_message_from_child() {
    let _g = lock();
    let len = 200_000;
    let (got, status) = with_child(
        Direction::FromChild,
        move |mut conn| {
            for l in [len, 5] {
                if conn.send_bytes(&pattern(l)).is_err() {
                    return 1;
                }
            }
            0
        },
        move |mut conn| {
            let mut small = [0u8; 10];
            let e1 = conn.recv_bytes_into(&mut small);
            let e2 = conn.recv_bytes_into(&mut small);
            let mut buf = vec![0u8; len];
            let n = conn.recv_bytes_into(&mut buf);
            let next = conn.recv_bytes();
            (e1, e2, n, is_pattern(&buf, len), next, conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    let needed = len as u64;
    assert_eq!(got.0, Err(Error::BufferTooSmall { needed }));
    assert_eq!(got.1, Err(Error::BufferTooSmall { needed }));
    assert_eq!(got.2, Ok(len));
    assert!(got.3, "message corrupted after BufferTooSmall");
    assert_eq!(got.4, Ok(pattern(5)));
    assert_eq!(got.5, Err(Error::Eof));
}

#[test]
fn max_len_refuses_then_accepts() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        assert_eq!(r.max_len(), ipcwire::DEFAULT_MAX_LEN);
        assert_eq!(ipcwire::DEFAULT_MAX_LEN, 64 << 20);
        r.set_max_len(10);
        assert_eq!(r.max_len(), 10);
        w.send_bytes(&pattern(11)).unwrap();
        w.send_bytes(&pattern(10)).unwrap();
        let too_long = Error::TooLong { len: 11, max: 10 };
        assert_eq!(r.recv_bytes(), Err(too_long), "duplex={duplex}");
        assert_eq!(r.recv_bytes(), Err(too_long));
        let mut buf = [0u8; 64];
        assert_eq!(r.recv_bytes_into(&mut buf), Err(too_long));
        // Nothing of the payload was consumed.
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true));
        r.set_max_len(11);
        assert_eq!(r.recv_bytes().unwrap(), pattern(11));
        assert_eq!(r.recv_bytes().unwrap(), pattern(10));
        // The limit is inclusive.
        w.send_bytes(&pattern(11)).unwrap();
        assert_eq!(r.recv_bytes_into(&mut buf), Ok(11));
        assert!(is_pattern(&buf[..11], 11));
    }
}

#[test]
fn default_max_len_refuses_larger_header() {
    let _g = lock();
    let (mut r, w) = pipe(false).unwrap();
    let len = ipcwire::DEFAULT_MAX_LEN + 1;
    let head = u32::try_from(len).unwrap().to_be_bytes();
    assert_eq!(sys::write(w.as_fd(), &head), Ok(4));
    let want = Err(Error::TooLong {
        len,
        max: ipcwire::DEFAULT_MAX_LEN,
    });
    assert_eq!(r.recv_bytes(), want);
    assert_eq!(r.recv_bytes(), want);
    // An escaped header with a huge length is refused too, before any
    // memory is reserved for it.
    let (mut r, w) = pipe(true).unwrap();
    let mut raw = vec![0xff; 4];
    raw.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(sys::write(w.as_fd(), &raw), Ok(12));
    assert_eq!(
        r.recv_bytes(),
        Err(Error::TooLong {
            len: u64::MAX,
            max: ipcwire::DEFAULT_MAX_LEN
        })
    );
}

#[test]
fn max_len_with_large_message_from_child() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::FromChild,
        |mut conn| {
            for len in [MIB, 1] {
                if conn.send_bytes(&pattern(len)).is_err() {
                    return 1;
                }
            }
            0
        },
        |mut conn| {
            conn.set_max_len(1000);
            let e1 = conn.recv_bytes();
            let e2 = conn.recv_bytes();
            conn.set_max_len(MIB as u64);
            let m = conn.recv_bytes().unwrap();
            (
                e1,
                e2,
                is_pattern(&m, MIB),
                conn.recv_bytes(),
                conn.recv_bytes(),
            )
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    let want = Err(Error::TooLong {
        len: MIB as u64,
        max: 1000,
    });
    assert_eq!(got.0, want);
    assert_eq!(got.1, want);
    assert!(got.2, "message corrupted after TooLong");
    assert_eq!(got.3, Ok(pattern(1)));
    assert_eq!(got.4, Err(Error::Eof));
}

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

// ---------------------------------------------------------------------------
// Descriptors.
// ---------------------------------------------------------------------------

#[test]
fn every_descriptor_is_close_on_exec() {
    let _g = lock();
    let mut fds = Vec::new();
    let (a, b) = pipe(true).unwrap();
    let (c, d) = pipe(false).unwrap();
    let (e, f) = sys::pipe().unwrap();
    let (g, h) = sys::socketpair().unwrap();
    for conn in [&a, &b, &c, &d] {
        fds.push(conn.as_fd().as_raw_fd());
    }
    for fd in [&e, &f, &g, &h] {
        fds.push(fd.as_raw_fd());
    }
    for fd in fds {
        let flags = fd_flags(fd);
        assert_ne!(
            flags & O_CLOEXEC,
            0,
            "fd {fd} flags {flags:o} lack O_CLOEXEC"
        );
    }
    // The parent's end from fork_with_pipe, in every direction.
    for direction in [Direction::ToChild, Direction::FromChild, Direction::Duplex] {
        let (flags, status) =
            with_child(direction, |_| 0, |conn| fd_flags(conn.as_fd().as_raw_fd()));
        assert_eq!(status, ExitStatus::Exited(0));
        assert_ne!(flags & O_CLOEXEC, 0, "{direction:?}: flags {flags:o}");
    }
}

#[test]
fn no_descriptor_leaks() {
    let _g = lock();
    let before = fds::count_fds();
    for i in 0..1000 {
        let msg = pattern(i % 50);
        let (mut a, mut b) = pipe(true).unwrap();
        a.send_bytes(&msg).unwrap();
        assert_eq!(b.recv_bytes().unwrap(), msg);
        b.send_bytes(&msg).unwrap();
        assert_eq!(a.recv_bytes().unwrap(), msg);

        let (mut r, mut w) = pipe(false).unwrap();
        w.send_bytes(&msg).unwrap();
        assert_eq!(r.recv_bytes().unwrap(), msg);

        let (rfd, wfd) = sys::pipe().unwrap();
        let mut r = Connection::from_fd(rfd, Access::Read).unwrap();
        let mut w = Connection::from_fd(wfd, Access::Write).unwrap();
        w.send_bytes(&msg).unwrap();
        assert_eq!(r.recv_bytes().unwrap(), msg);

        let (s1, s2) = sys::socketpair().unwrap();
        let mut s1 = Connection::from_fd(s1, Access::Duplex).unwrap();
        let mut s2 = Connection::from_fd(s2, Access::Duplex).unwrap();
        s1.send_bytes(&msg).unwrap();
        assert_eq!(s2.recv_bytes().unwrap(), msg);
        drop(s2);
        assert_eq!(s1.recv_bytes(), Err(Error::Eof));
        assert_eq!(s1.send_bytes(&msg), Err(Error::Io(Errno::PIPE)));

        let (x, y) = sys::socketpair().unwrap();
        sys::close(x).unwrap();
        drop(y);
    }
    for i in 0..20 {
        let direction = [Direction::ToChild, Direction::FromChild, Direction::Duplex][i % 3];
        let ((), status) = with_child(direction, |_| 0, drop);
        assert_eq!(status, ExitStatus::Exited(0));
    }
    let after = fds::count_fds();
    assert_eq!(before, after, "descriptors before and after");
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

// ---------------------------------------------------------------------------
// Long streams.
// ---------------------------------------------------------------------------

const STREAM: usize = 10_000;

#[test]
fn many_small_messages_from_child_arrive_in_order() {
    let _g = lock();
    let (bad, status) = with_child(
        Direction::FromChild,
        |mut conn| {
            for seq in 0..STREAM {
                if conn.send_bytes(&numbered(seq)).is_err() {
                    return 1;
                }
            }
            0
        },
        |mut conn| {
            let mut bad = Vec::new();
            for seq in 0..STREAM {
                match conn.recv_bytes() {
                    Ok(m) if m == numbered(seq) => {}
                    other => {
                        bad.push((seq, other.map(|m| m.len())));
                        break;
                    }
                }
            }
            (bad, conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert!(bad.0.is_empty(), "first bad message: {:?}", bad.0);
    assert_eq!(bad.1, Err(Error::Eof));
}

#[test]
fn many_small_messages_to_child_arrive_in_order() {
    let _g = lock();
    let (reply, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            let mut buf = [0u8; 300];
            for seq in 0..STREAM {
                match conn.recv_bytes_into(&mut buf) {
                    Ok(n) if buf[..n] == numbered(seq)[..] => {}
                    _ => {
                        let _ = conn.send_bytes(&(seq as u32).to_be_bytes());
                        return 1;
                    }
                }
            }
            match conn.send_bytes(b"all good") {
                Ok(()) => 0,
                Err(_) => 2,
            }
        },
        |mut conn| {
            for seq in 0..STREAM {
                conn.send_bytes(&numbered(seq)).unwrap();
            }
            conn.recv_bytes()
        },
    );
    assert_eq!(reply, Ok(b"all good".to_vec()));
    assert_eq!(status, ExitStatus::Exited(0));
}

// ---------------------------------------------------------------------------
// Pipe capacity and the read-ahead boundaries.
// ---------------------------------------------------------------------------

#[test]
fn pipe_with_capacity_holds_a_whole_large_message() {
    let _g = lock();
    let (mut reader, mut writer) = ipcwire::pipe_with_capacity(MIB).expect("pipe");
    assert!(writer.pipe_size().expect("size") >= MIB);
    assert_eq!(reader.pipe_size(), writer.pipe_size());
    // Non-blocking, a send that did not fit would fail instead of hanging.
    sys::set_nonblocking(writer.as_fd(), true).expect("nonblocking");
    let msg = pattern(MIB - 4);
    writer
        .send_bytes(&msg)
        .expect("a whole 1 MiB frame fits the pipe");
    assert_eq!(writer.send_bytes(b"x"), Err(Error::Io(Errno::AGAIN)));
    assert_eq!(reader.recv_bytes().expect("recv"), msg);
}

#[test]
fn set_pipe_size_grows_and_reports_the_grant() {
    let _g = lock();
    let (reader, writer) = pipe(false).expect("pipe");
    assert_eq!(writer.pipe_size(), Ok(64 * 1024));
    let granted = reader.set_pipe_size(100_000).expect("grow");
    assert!(granted >= 100_000, "granted {granted}");
    assert_eq!(writer.pipe_size(), Ok(granted));
}

#[test]
fn pipe_size_on_a_socket_is_an_error() {
    let _g = lock();
    let (a, _b) = pipe(true).expect("socketpair");
    assert_eq!(a.pipe_size(), Err(Error::Io(Errno::BADF)));
    assert_eq!(a.set_pipe_size(MIB), Err(Error::Io(Errno::BADF)));
}

/// Messages queued back to back whose frames end just before, on and just
/// after the 64 KiB read-ahead boundary, so the rest of a payload and the
/// frames after it arrive in one vectored read; received alternately into a
/// caller's buffer and into a `Vec`.
#[test]
fn queued_messages_straddling_the_read_ahead_arrive_whole() {
    let _g = lock();
    let sizes = [
        65_000, 530, 531, 532, 3, 65_528, 65_536, 0, 70_000, 1, 2, 65_532, 300, 4, 5,
    ];
    let (mut reader, mut writer) = ipcwire::pipe_with_capacity(MIB).expect("pipe");
    for &len in &sizes {
        writer.send_bytes(&pattern(len)).expect("send");
    }
    drop(writer);
    let mut buf = vec![0; 70_000];
    for (k, &len) in sizes.iter().enumerate() {
        if k % 2 == 0 {
            let n = reader.recv_bytes_into(&mut buf).expect("recv_bytes_into");
            assert!(is_pattern(&buf[..n], len), "message {k} of {len} bytes");
        } else {
            let msg = reader.recv_bytes().expect("recv_bytes");
            assert!(is_pattern(&msg, len), "message {k} of {len} bytes");
        }
    }
    assert_eq!(reader.recv_bytes(), Err(Error::Eof));
}
