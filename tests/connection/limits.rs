//! Buffers and limits: a buffer too small keeps the message, `max_len`
//! refuses and then accepts, and pipe capacity and the read-ahead
//! boundaries.

use std::os::fd::AsFd;
use std::time::Duration;

use ipcwire::sys::{self, Errno};
use ipcwire::{pipe, Direction, Error, ExitStatus};

use crate::fork::with_child;
use crate::serial::lock;
use crate::{is_pattern, pattern, MIB};

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
