//! Messages of every size both ways between a parent and a forked child,
//! over pipes and socket pairs: several sizes, empty messages, messages
//! larger than the pipe buffer, and long streams in order.

use std::time::Duration;

use ipcwire::{pipe, Access, Direction, Error, ExitStatus};

use crate::fork::with_child;
use crate::serial::lock;
use crate::{is_pattern, pattern, MIB};

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
