//! Borrowed receives: `recv_bytes_borrowed` returns each message as it was
//! sent, from the read-ahead buffer when it fits there and from a `Vec`
//! otherwise, in order with the other receives; `recv_buffered` takes only
//! what is wholly read ahead. Ends of stream, limits, directions and
//! descriptors behave as for every other receive.

use std::os::fd::AsFd;

use ipcwire::sys;
use ipcwire::{pipe, Connection, Direction, Error, ExitStatus, ReceivedFds};

use crate::faults::{check_numbered, frame, numbered, write_all};
use crate::fds::count_fds;
use crate::fork::with_child;
use crate::serial::lock;
use crate::MIB;

/// The read-ahead buffer's size: messages up to this long are borrowed
/// from it, longer ones come in a `Vec`.
const AHEAD: usize = 4096;

/// Where a borrowed message lay: its address and length.
type Place = (usize, usize);

/// Receives `sizes.len()` numbered messages with `recv_bytes_borrowed`;
/// returns the complaints and where each message lay.
fn receive_borrowed(conn: &mut Connection, sizes: &[usize]) -> (Vec<String>, Vec<Place>) {
    let mut complaints = Vec::new();
    let mut places = Vec::new();
    for (seq, &len) in sizes.iter().enumerate() {
        match conn.recv_bytes_borrowed() {
            Ok(msg) => {
                if let Err(e) = check_numbered(msg, seq as u64, len) {
                    complaints.push(e);
                }
                places.push((msg.as_ptr() as usize, msg.len()));
            }
            Err(e) => {
                complaints.push(format!("message {seq}: {e:?}"));
                break;
            }
        }
    }
    (complaints, places)
}

#[test]
fn borrowed_messages_of_every_size_are_what_was_sent() {
    let _g = lock();
    let sizes = [0, 1, AHEAD, AHEAD + 1, MIB, 1, 0, AHEAD, MIB, AHEAD + 1, 0];
    for direction in [Direction::FromChild, Direction::Duplex] {
        let ((complaints, places, end), status) = with_child(
            direction,
            |mut conn| {
                for (seq, &len) in sizes.iter().enumerate() {
                    if conn.send_bytes(&numbered(seq as u64, len)).is_err() {
                        return 1;
                    }
                }
                0
            },
            |mut conn| {
                let (complaints, places) = receive_borrowed(&mut conn, &sizes);
                (complaints, places, conn.recv_bytes_borrowed().err())
            },
        );
        assert_eq!(status, ExitStatus::Exited(0), "{direction:?}: the child");
        assert!(complaints.is_empty(), "{direction:?}: {complaints:?}");
        assert_eq!(end, Some(Error::Eof));
        // A message of the buffer's size fills it: where it lies is the
        // buffer. Every message that fits lies inside it; the larger ones
        // are in memory of their own.
        let whole: Vec<usize> = places
            .iter()
            .filter(|&&(_, len)| len == AHEAD)
            .map(|&(at, _)| at)
            .collect();
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0], whole[1], "{direction:?}: one read-ahead buffer");
        let buffer = whole[0]..whole[0] + AHEAD;
        for (seq, &(at, len)) in places.iter().enumerate() {
            let inside = buffer.contains(&at) || (len == 0 && at == buffer.end);
            assert_eq!(
                inside,
                len <= AHEAD,
                "{direction:?}: message {seq} of {len} bytes at {at:#x}, the buffer at {buffer:#x?}"
            );
        }
    }
}

/// The length of message `seq` of the mixed stream: mostly small, some
/// around the read-ahead buffer's size, a few large.
fn mixed_len(seq: u64) -> usize {
    match seq % 50 {
        7 => 5000 + seq as usize,
        20 => AHEAD - 1,
        30 => AHEAD,
        31 => AHEAD + 1,
        45 => 100_000,
        _ => (seq as usize * 37) % 600,
    }
}

#[test]
fn borrowed_receives_mix_with_the_others_in_order() {
    let _g = lock();
    const COUNT: u64 = 2000;
    for direction in [Direction::FromChild, Direction::Duplex] {
        let (complaints, status) = with_child(
            direction,
            |mut conn| {
                for seq in 0..COUNT {
                    if conn.send_bytes(&numbered(seq, mixed_len(seq))).is_err() {
                        return 1;
                    }
                }
                0
            },
            |mut conn| {
                let mut complaints = Vec::new();
                let mut buf = vec![0; 200_000];
                let mut seq = 0;
                let mut check = |got: Result<&[u8], Error>, seq: &mut u64| {
                    let outcome = got
                        .map_err(|e| format!("message {seq}: {e:?}"))
                        .and_then(|msg| check_numbered(msg, *seq, mixed_len(*seq)));
                    if let Err(e) = outcome {
                        complaints.push(e);
                    }
                    *seq += 1;
                };
                while seq < COUNT {
                    match seq % 4 {
                        0 => check(conn.recv_bytes_borrowed(), &mut seq),
                        1 => check(conn.recv_bytes().as_deref().map_err(|&e| e), &mut seq),
                        2 => {
                            let got = conn.recv_bytes_into(&mut buf).map(|n| &buf[..n]);
                            check(got, &mut seq);
                        }
                        _ => {
                            check(conn.recv_bytes_borrowed(), &mut seq);
                            while let Some(msg) = conn.recv_buffered() {
                                check(Ok(msg), &mut seq);
                            }
                        }
                    }
                }
                if seq != COUNT {
                    complaints.push(format!("{seq} messages received, not {COUNT}"));
                }
                if let Err(e) = conn.recv_bytes_borrowed() {
                    if e != Error::Eof {
                        complaints.push(format!("after the last: {e:?}"));
                    }
                } else {
                    complaints.push("a message after the last".into());
                }
                complaints
            },
        );
        assert_eq!(status, ExitStatus::Exited(0), "{direction:?}: the child");
        assert!(complaints.is_empty(), "{direction:?}: {complaints:?}");
    }
}

#[test]
fn borrowed_end_of_stream_is_eof_between_messages_and_truncated_inside_one() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        w.send_bytes_batch(&[&b"one"[..], b""]).unwrap();
        drop(w);
        assert_eq!(r.recv_bytes_borrowed(), Ok(&b"one"[..]));
        assert_eq!(r.recv_bytes_borrowed(), Ok(&b""[..]));
        assert_eq!(r.recv_bytes_borrowed(), Err(Error::Eof), "duplex={duplex}");
        assert_eq!(r.recv_bytes_borrowed(), Err(Error::Eof), "and again");
        assert_eq!(r.recv_buffered(), None);
        // Cut in a header, right after one, inside a payload that would be
        // borrowed, and inside one that would come in a `Vec`.
        for (len, cut) in [
            (100, 2),
            (100, 4),
            (100, 50),
            (AHEAD, 4 + AHEAD - 1),
            (10_000, 4 + 5000),
        ] {
            let (mut r, w) = pipe(duplex).unwrap();
            let mut wire = frame(b"before");
            wire.extend(&frame(&numbered(1, len))[..cut]);
            write_all(w.as_fd(), &wire).unwrap();
            drop(w);
            let what = format!("duplex={duplex}: {len} bytes cut at {cut}");
            assert_eq!(r.recv_bytes_borrowed(), Ok(&b"before"[..]), "{what}");
            assert_eq!(r.recv_buffered(), None, "{what}");
            assert_eq!(r.recv_bytes_borrowed(), Err(Error::Truncated), "{what}");
            assert_eq!(r.recv_bytes_borrowed(), Err(Error::Truncated), "{what}");
            assert_eq!(r.recv_bytes(), Err(Error::Truncated), "{what}");
            assert_eq!(r.recv_buffered(), None, "{what}");
        }
    }
}

#[test]
fn borrowed_refuses_a_header_over_max_len_until_the_limit_is_raised() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).unwrap();
        let msgs = [numbered(0, 11), numbered(1, 10), numbered(2, 5000)];
        w.send_bytes_batch(&msgs).unwrap();
        r.set_max_len(10);
        let too_long = Error::TooLong { len: 11, max: 10 };
        assert_eq!(r.recv_bytes_borrowed(), Err(too_long), "duplex={duplex}");
        assert_eq!(r.recv_bytes_borrowed(), Err(too_long), "and again");
        assert_eq!(r.recv_buffered(), None, "a refused message is not taken");
        r.set_max_len(11);
        // Both small messages were read ahead with the refused header.
        assert_eq!(r.recv_buffered(), Some(&msgs[0][..]), "duplex={duplex}");
        assert_eq!(r.recv_buffered(), Some(&msgs[1][..]));
        assert_eq!(r.recv_buffered(), None, "5000 bytes are not all read ahead");
        assert_eq!(
            r.recv_bytes_borrowed(),
            Err(Error::TooLong { len: 5000, max: 11 })
        );
        r.set_max_len(5000);
        assert_eq!(r.recv_bytes_borrowed(), Ok(&msgs[2][..]), "duplex={duplex}");
    }
}

#[test]
fn a_write_only_end_receives_nothing_borrowed() {
    let _g = lock();
    let (mut r, mut w) = pipe(false).unwrap();
    w.send_bytes(b"for the reader").unwrap();
    assert_eq!(w.recv_bytes_borrowed(), Err(Error::NotReadable));
    assert_eq!(w.recv_buffered(), None);
    assert_eq!(r.recv_bytes_borrowed(), Ok(&b"for the reader"[..]));
}

/// Over a socket pair: `count` numbered messages of 100 bytes, then one of
/// 64 zero bytes that carries a descriptor (the read end of `pipe`), then
/// one more; the receiver takes the first `count` borrowed. With 40 of them
/// the read-ahead buffer ends inside the 40th, so the read that finishes it
/// brings the message with the descriptor. `take` receives that message,
/// keeping `kept` descriptors; returns the descriptors discarded.
fn descriptor_after_borrowed(
    count: u64,
    kept: usize,
    take: impl FnOnce(&mut Connection) -> Vec<u8>,
) -> u64 {
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, w) = sys::pipe().unwrap();
    let before = count_fds();
    let msgs: Vec<Vec<u8>> = (0..count).map(|seq| numbered(seq, 100)).collect();
    a.send_bytes_batch(&msgs).unwrap();
    a.send_bytes_with_fds(&[0; 64], &[r.as_fd()]).unwrap();
    a.send_bytes(b"after").unwrap();
    for (seq, msg) in msgs.iter().enumerate() {
        assert_eq!(b.recv_bytes_borrowed(), Ok(&msg[..]), "message {seq}");
    }
    assert_eq!(take(&mut b), [0; 64], "{count} before it");
    let discarded = b.discarded_fds();
    drop(r);
    assert_eq!(
        count_fds(),
        before - 1 + kept,
        "{count} before it: a descriptor leaked"
    );
    drop(w);
    assert_eq!(b.recv_bytes_borrowed(), Ok(&b"after"[..]));
    discarded
}

#[test]
fn descriptors_taken_by_borrowed_and_buffered_receives_are_closed_and_counted() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    for _ in 0..50 {
        a.send_bytes_with_fds(b"alone", &[r.as_fd()]).unwrap();
        assert_eq!(b.recv_bytes_borrowed(), Ok(&b"alone"[..]));
    }
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 50);
    // Read ahead behind a plain message, then taken from the buffer.
    a.send_bytes(b"plain").unwrap();
    a.send_bytes_with_fds(b"two", &[r.as_fd(), r.as_fd()])
        .unwrap();
    assert_eq!(b.recv_bytes_borrowed(), Ok(&b"plain"[..]));
    assert_eq!(b.recv_buffered(), Some(&b"two"[..]));
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 52);
    // Too large to borrow from the buffer: received into a `Vec`.
    a.send_bytes_with_fds(&numbered(3, 100_000), &[r.as_fd()])
        .unwrap();
    assert_eq!(b.recv_bytes_borrowed(), Ok(&numbered(3, 100_000)[..]));
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 53);
    drop(b);
    assert_eq!(count_fds(), before - 1);
    // Wherever the read-ahead buffer ends, by either kind of receive.
    for count in 36..=44 {
        let discarded = descriptor_after_borrowed(count, 0, |b| {
            b.recv_buffered()
                .map(<[u8]>::to_vec)
                .or_else(|| b.recv_bytes_borrowed().ok().map(<[u8]>::to_vec))
                .expect("the message with the descriptor")
        });
        assert_eq!(discarded, 1, "{count} before it");
    }
}

#[test]
fn descriptors_read_ahead_by_borrowed_receives_wait_for_their_message() {
    let _g = lock();
    for count in 36..=44 {
        let mut fds = ReceivedFds::new();
        let discarded = descriptor_after_borrowed(count, 1, |b| {
            let msg = b.recv_bytes_with_fds(&mut fds).expect("with fds");
            assert_eq!(fds.len(), 1, "{count} before it: its descriptor");
            msg
        });
        assert_eq!(discarded, 0, "{count} before it");
        // The descriptor is the pipe's read end, whose write end is closed.
        let got = fds.remove(0).expect("a descriptor");
        assert_eq!(sys::read(got.as_fd(), &mut [0; 4]), Ok(0));
    }
}

/// A `recv_bytes_into` paused after the header leaves a record of its
/// buffer; a borrowed receive that finishes the message from the
/// read-ahead buffer must void that record, or every later receive into a
/// fresh buffer is refused with `Io(EINVAL)`.
#[test]
fn a_borrowed_receive_that_finishes_a_paused_message_frees_the_buffers_after() {
    let (mut rx, peer) = pipe(false).expect("pipe");
    rx.set_nonblocking(true).expect("nonblocking");
    let first = frame(b"0123456789");
    write_all(peer.as_fd(), &first[..4]).expect("write");
    let mut paused_in = [0; 64];
    let paused = rx.recv_bytes_into(&mut paused_in);
    assert_eq!(paused, Err(Error::Io(sys::Errno::AGAIN)));
    write_all(peer.as_fd(), &first[4..]).expect("write");
    for i in 0..3u8 {
        write_all(peer.as_fd(), &frame(&[i; 5])).expect("write");
    }
    assert_eq!(rx.recv_bytes_borrowed(), Ok(&b"0123456789"[..]));
    for i in 0..3u8 {
        let mut fresh = vec![0; 64];
        assert_eq!(rx.recv_bytes_into(&mut fresh), Ok(5), "message {i}");
        assert_eq!(fresh[..5], [i; 5]);
    }
}

/// A message sent without descriptors leaves the caller's set empty, even
/// when a borrowed receive read its first byte and paused, and a receive
/// that takes descriptors finishes it: the set must not keep the previous
/// message's.
#[test]
fn a_message_without_descriptors_finished_with_fds_leaves_the_set_empty() {
    let (mut rx, mut tx) = pipe(true).expect("socketpair");
    rx.set_nonblocking(true).expect("nonblocking");
    let (r, _w) = sys::pipe().expect("pipe");
    tx.send_bytes_with_fds(b"A", &[r.as_fd()]).expect("send");
    let mut fds = ReceivedFds::new();
    assert_eq!(rx.recv_bytes_with_fds(&mut fds), Ok(b"A".to_vec()));
    assert_eq!(fds.len(), 1);
    let b = frame(b"BBBB");
    write_all(tx.as_fd(), &b[..4]).expect("write");
    assert_eq!(rx.recv_bytes_borrowed(), Err(Error::Io(sys::Errno::AGAIN)));
    write_all(tx.as_fd(), &b[4..]).expect("write");
    assert_eq!(rx.recv_bytes_with_fds(&mut fds), Ok(b"BBBB".to_vec()));
    assert_eq!(fds.len(), 0, "B was sent without descriptors");
}
