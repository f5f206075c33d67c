//! Duplex connections over two pipes, one each way (`duplex_pipes`,
//! `Direction::DuplexPipes`, `Connection::from_pipes`): the guarantees of a
//! socket pair's ends, apart from descriptor passing and `peer_cred`, which
//! are `Io(ENOTSOCK)` with nothing sent or taken; and the two descriptors
//! each end holds, which its drop, `fork_with_pipe` and the conversions
//! must each account for.
//!
//! Each test is written to fail if the two descriptors were mixed up: a
//! send written to the read end, a `poll` on the write end, a drop or a
//! fork that closes one of the two and leaves the other open.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use ipcwire::sys::{self, Ends, Errno, PollFd, PollFlags};
use ipcwire::{duplex_pipes, pipe, Access, Connection, Direction, Error, ExitStatus, ReceivedFds};

use crate::faults::{
    die_after, frame, is_default_action, members, pending, queued, signal_mask, write_all,
};
use crate::fds::{count_fds, fd_flags, is_open, O_CLOEXEC, O_NONBLOCK};
use crate::fork::{fork, with_child};
use crate::serial::lock;
use crate::{is_pattern, pattern, MIB};

/// How long a receive that must end in [`Error::Eof`] may wait: a copy of
/// the peer's write end left open somewhere makes it `Io(ETIMEDOUT)`
/// instead of a hang.
const EOF_PATIENCE: Duration = Duration::from_secs(5);

/// Long enough to tell "waits" from "returns at once".
const SHORT: Duration = Duration::from_millis(50);

/// Messages both ways: empty, around the one-`write` limit (256 B), and
/// larger than a pipe holds (64 KiB), up to 1 MiB.
const SIZES: [usize; 12] = [
    0, 1, 4, 255, 256, 257, 4096, 65_535, 65_536, 65_537, 200_000, MIB,
];

/// Whether `fd` is writable within `timeout` (`poll` for `POLLOUT`). A
/// pipe's read end never is.
fn writable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> bool {
    sys::poll(&mut [PollFd::new(fd, PollFlags::OUT)], timeout).expect("poll") > 0
}

/// The read end and the write end of `conn`, as numbers.
fn raw_ends(conn: &Connection) -> (i32, i32) {
    (conn.as_fd().as_raw_fd(), conn.as_write_fd().as_raw_fd())
}

/// `recv_bytes` where end of stream is due: a copy of the peer's write end
/// left open makes it `Io(ETIMEDOUT)` after [`EOF_PATIENCE`], not a hang.
fn recv_at_end(conn: &mut Connection) -> Result<Vec<u8>, Error> {
    conn.set_recv_timeout(Some(EOF_PATIENCE));
    let got = conn.recv_bytes();
    conn.set_recv_timeout(None);
    got
}

/// In a child: echoes every message until end of stream, which must come
/// within [`EOF_PATIENCE`]; 0, or a code saying what went wrong.
fn echo_until_eof(conn: &mut Connection) -> i32 {
    conn.set_recv_timeout(Some(EOF_PATIENCE));
    loop {
        match conn.recv_bytes() {
            Ok(msg) => {
                if conn.send_bytes(&msg).is_err() {
                    return 2;
                }
            }
            Err(Error::Eof) => return 0,
            // A copy of the parent's write end is open in this process.
            Err(Error::Io(Errno::TIMEDOUT)) => return 3,
            Err(_) => return 4,
        }
    }
}

// ---------------------------------------------------------------------------
// Messages both ways.
// ---------------------------------------------------------------------------

#[test]
fn messages_both_ways_with_fork_with_pipe() {
    let _g = lock();
    let (echoes, status) = with_child(
        Direction::DuplexPipes,
        |mut conn| {
            if conn.access() != Access::Duplex {
                return 1;
            }
            echo_until_eof(&mut conn)
        },
        |mut conn| {
            assert_eq!(conn.access(), Access::Duplex);
            let mut echoes = Vec::new();
            for &len in &SIZES {
                conn.send_bytes(&pattern(len)).expect("send");
                echoes.push(conn.recv_bytes().expect("echo"));
            }
            // A batch, then messages read ahead together come back in order.
            let batch = [&b"one"[..], b"", b"three"];
            conn.send_bytes_batch(&batch).expect("batch");
            for want in batch {
                assert_eq!(conn.recv_bytes().expect("echo of the batch"), want);
            }
            echoes
        },
    );
    assert_eq!(
        status,
        ExitStatus::Exited(0),
        "Exited(3): the child never saw Eof"
    );
    for (echo, &len) in echoes.iter().zip(&SIZES) {
        assert!(is_pattern(echo, len), "echo of {len} bytes corrupted");
    }
}

/// `duplex_pipes` and a plain `fork`: the child's end moves into the
/// child's closure, so the parent drops its copy unrun, and the parent sees
/// end of stream when the child exits.
#[test]
fn messages_both_ways_over_duplex_pipes_and_a_plain_fork() {
    let _g = lock();
    let (mut parent, child_end) = duplex_pipes().expect("duplex_pipes");
    let mut child = fork(move || {
        let mut conn = child_end;
        // This process holds a copy of the parent's end too, so it must not
        // wait for end of stream: it takes as many messages as it expects.
        for (k, &len) in SIZES.iter().enumerate() {
            match conn.recv_bytes() {
                Ok(msg) if is_pattern(&msg, len) => {}
                _ => return 10 + k as i32,
            }
            if conn.send_bytes(&pattern(len + 1)).is_err() {
                return 30 + k as i32;
            }
        }
        0
    });
    for &len in &SIZES {
        parent.send_bytes(&pattern(len)).expect("send");
        let reply = parent.recv_bytes().expect("reply");
        assert!(is_pattern(&reply, len + 1), "reply to {len} bytes");
    }
    parent.set_recv_timeout(Some(EOF_PATIENCE));
    assert_eq!(parent.recv_bytes(), Err(Error::Eof));
    assert_eq!(child.wait(), ExitStatus::Exited(0));
}

#[test]
fn messages_both_ways_in_one_process() {
    let _g = lock();
    // Within what a pipe holds, so one thread can send before receiving.
    let (mut a, mut b) = duplex_pipes().expect("duplex_pipes");
    for len in [0, 1, 256, 257, 4096, 60_000] {
        a.send_bytes(&pattern(len)).expect("send");
        b.send_bytes(&pattern(len + 1)).expect("send");
        assert!(is_pattern(&b.recv_bytes().expect("recv"), len));
        assert!(is_pattern(&a.recv_bytes().expect("recv"), len + 1));
    }
    let mut buf = [0; 8];
    b.send_bytes(b"into").expect("send");
    assert_eq!(a.recv_bytes_into(&mut buf), Ok(4));
    assert_eq!(&buf[..4], b"into");
    b.send_bytes_batch(&[&b"x"[..], b"yz"]).expect("batch");
    assert_eq!(a.recv_bytes_borrowed(), Ok(&b"x"[..]));
    assert_eq!(a.recv_buffered(), Some(&b"yz"[..]));
}

// ---------------------------------------------------------------------------
// The descriptors each process holds, and end of stream.
// ---------------------------------------------------------------------------

/// The child holds exactly its own two ends beyond what the parent had, and
/// sees end of stream once the parent drops its connection: a parent end
/// left open in the child would keep it away.
#[test]
fn fork_with_pipe_closes_the_parents_ends_in_the_child() {
    let _g = lock();
    let before = count_fds();
    let (got, status) = with_child(
        Direction::DuplexPipes,
        move |mut conn| {
            let extra = count_fds() as i32 - before as i32;
            if extra != 2 {
                return 20 + extra;
            }
            match conn.recv_bytes() {
                Ok(msg) if msg == b"ping" => {}
                _ => return 1,
            }
            if conn.send_bytes(b"pong").is_err() {
                return 2;
            }
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            match conn.recv_bytes() {
                Err(Error::Eof) => 0,
                Err(Error::Io(Errno::TIMEDOUT)) => 3,
                _ => 4,
            }
        },
        |mut conn| {
            let held = count_fds();
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            let pong = conn.send_bytes(b"ping").and_then(|()| conn.recv_bytes());
            (held, pong)
        },
    );
    assert_eq!(
        status,
        ExitStatus::Exited(0),
        "Exited(2x): the child held x descriptors more than before, not 2; \
         Exited(3): it never saw end of stream"
    );
    let (held, pong) = got;
    assert_eq!(pong.as_deref(), Ok(&b"pong"[..]));
    assert_eq!(held, before + 2, "the parent holds its two ends only");
    assert_eq!(count_fds(), before, "after the parent dropped its end");
}

/// The parent holds exactly its own two ends, and sees end of stream when
/// the child exits: the child's write end left open in the parent would
/// keep it away.
#[test]
fn fork_with_pipe_closes_the_childs_ends_in_the_parent() {
    let _g = lock();
    let before = count_fds();
    let (got, status) = with_child(
        Direction::DuplexPipes,
        |mut conn| match conn.send_bytes(b"last words") {
            Ok(()) => 0,
            Err(_) => 1,
        },
        |mut conn| {
            let held = count_fds();
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            (
                held,
                conn.recv_bytes(),
                conn.recv_bytes(),
                conn.recv_bytes(),
            )
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, before + 2, "the parent holds its two ends only");
    assert_eq!(got.1.as_deref(), Ok(&b"last words"[..]));
    assert_eq!(got.2, Err(Error::Eof), "Io(ETIMEDOUT): a child end is open");
    assert_eq!(got.3, Err(Error::Eof));
    assert_eq!(count_fds(), before);
}

/// End of stream comes only when every copy of the peer's write end is
/// closed: a duplicate kept in this process, or the copy a plain `fork`
/// leaves in the child, holds it off (the receive times out instead).
#[test]
fn a_copy_of_the_peers_write_end_holds_off_end_of_stream() {
    let _g = lock();
    let (mut a, b) = duplex_pipes().expect("duplex_pipes");
    let copy = b.as_write_fd().try_clone_to_owned().expect("dup");
    drop(b);
    a.set_recv_timeout(Some(SHORT));
    let start = Instant::now();
    assert_eq!(a.recv_bytes(), Err(Error::Io(Errno::TIMEDOUT)));
    assert!(
        start.elapsed() >= SHORT,
        "returned after {:?}",
        start.elapsed()
    );
    // The copy still reaches `a`.
    write_all(copy.as_fd(), &frame(b"through the copy")).expect("write");
    assert_eq!(a.recv_bytes().expect("recv"), b"through the copy");
    drop(copy);
    assert_eq!(a.recv_bytes(), Err(Error::Eof));

    // A plain fork leaves the child a copy of the parent's end: the parent
    // drops its own, and the child still sees no end of stream.
    let (parent, child_end) = duplex_pipes().expect("duplex_pipes");
    let mut child = fork(move || {
        let mut conn = child_end;
        conn.set_recv_timeout(Some(SHORT));
        match conn.recv_bytes() {
            Err(Error::Io(Errno::TIMEDOUT)) => 0,
            Err(Error::Eof) => 1,
            _ => 2,
        }
    });
    drop(parent);
    assert_eq!(
        child.wait(),
        ExitStatus::Exited(0),
        "Exited(1): end of stream while this process held a copy"
    );
}

#[test]
fn dropping_a_two_pipe_connection_closes_both_descriptors() {
    let _g = lock();
    let before = count_fds();
    let (a, mut b) = duplex_pipes().expect("duplex_pipes");
    assert_eq!(count_fds(), before + 4, "two pipes, four ends");
    let (read, write) = raw_ends(&a);
    assert_ne!(read, write);
    drop(a);
    assert!(!is_open(read), "the read end {read} is still open");
    assert!(!is_open(write), "the write end {write} is still open");
    assert_eq!(count_fds(), before + 2);
    // The peer sees both gone: end of stream one way, EPIPE the other.
    assert_eq!(recv_at_end(&mut b), Err(Error::Eof));
    assert_eq!(b.send_bytes(b"x"), Err(Error::Io(Errno::PIPE)));
    drop(b);
    assert_eq!(count_fds(), before);

    // The same for a connection made by from_pipes.
    let (r1, w1) = sys::pipe().expect("pipe");
    let (r2, w2) = sys::pipe().expect("pipe");
    let conn = Connection::from_pipes(r1, w2).expect("from_pipes");
    let (read, write) = raw_ends(&conn);
    drop(conn);
    assert!(!is_open(read) && !is_open(write), "{read} or {write} open");
    drop((w1, r2));
    assert_eq!(count_fds(), before);
}

#[test]
fn no_descriptor_leaks() {
    let _g = lock();
    let before = count_fds();
    for i in 0..200 {
        let msg = pattern(i % 300);
        let (mut a, mut b) = duplex_pipes().expect("duplex_pipes");
        a.send_bytes(&msg).expect("send");
        assert_eq!(b.recv_bytes().expect("recv"), msg);
        b.send_bytes(&msg).expect("send");
        assert_eq!(a.recv_bytes().expect("recv"), msg);
        let (r, w) = a.into_fds();
        let a = Connection::from_pipes(r, w.expect("a write end")).expect("from_pipes");
        drop(OwnedFd::from(a));
        assert_eq!(recv_at_end(&mut b), Err(Error::Eof));
    }
    for _ in 0..10 {
        let ((), status) = with_child(Direction::DuplexPipes, |_| 0, drop);
        assert_eq!(status, ExitStatus::Exited(0));
    }
    assert_eq!(count_fds(), before, "descriptors before and after");
}

#[test]
fn every_descriptor_is_close_on_exec() {
    let _g = lock();
    let (a, b) = duplex_pipes().expect("duplex_pipes");
    for conn in [&a, &b] {
        for fd in [conn.as_fd(), conn.as_write_fd()] {
            let flags = fd_flags(fd.as_raw_fd());
            assert_ne!(flags & O_CLOEXEC, 0, "fd {fd:?}: flags {flags:o}");
        }
    }
    let (flags, status) = with_child(
        Direction::DuplexPipes,
        |conn| {
            let ok = [conn.as_fd(), conn.as_write_fd()]
                .iter()
                .all(|fd| fd_flags(fd.as_raw_fd()) & O_CLOEXEC != 0);
            i32::from(!ok)
        },
        |conn| [conn.as_fd(), conn.as_write_fd()].map(|fd| fd_flags(fd.as_raw_fd()) & O_CLOEXEC),
    );
    assert_eq!(status, ExitStatus::Exited(0), "a child end lacks O_CLOEXEC");
    assert!(
        flags.iter().all(|&f| f != 0),
        "a parent end lacks O_CLOEXEC"
    );
}

// ---------------------------------------------------------------------------
// Each direction is its own pipe.
// ---------------------------------------------------------------------------

/// The peer closing one of its two ends ends one direction only.
#[test]
fn each_direction_ends_on_its_own() {
    let _g = lock();
    // The peer closes its read end: sends fail, receives go on.
    let (mut a, b) = duplex_pipes().expect("duplex_pipes");
    let (peer_read, peer_write) = b.into_fds();
    let peer_write = peer_write.expect("a write end");
    drop(peer_read);
    for len in [0, 5, 300, 2 * MIB] {
        assert_eq!(
            a.send_bytes(&pattern(len)),
            Err(Error::Io(Errno::PIPE)),
            "{len} bytes"
        );
    }
    write_all(peer_write.as_fd(), &frame(b"still here")).expect("write");
    assert_eq!(a.recv_bytes().expect("recv"), b"still here");
    drop(peer_write);
    assert_eq!(recv_at_end(&mut a), Err(Error::Eof));

    // The peer closes its write end: end of stream, and sends go on.
    let (mut a, b) = duplex_pipes().expect("duplex_pipes");
    let (peer_read, peer_write) = b.into_fds();
    drop(peer_write);
    assert_eq!(recv_at_end(&mut a), Err(Error::Eof));
    a.send_bytes(b"heard")
        .expect("send after the peer's end of stream");
    let mut b = Connection::from_fd(peer_read, Access::Read).expect("from_fd");
    assert_eq!(b.recv_bytes().expect("recv"), b"heard");
}

// ---------------------------------------------------------------------------
// poll and wait: the read side.
// ---------------------------------------------------------------------------

#[test]
fn poll_looks_at_the_read_side() {
    let _g = lock();
    let (mut a, mut b) = duplex_pipes().expect("duplex_pipes");
    // The write pipe is writable; nothing is there to receive.
    assert!(writable(a.as_write_fd(), Some(Duration::ZERO)));
    assert_eq!(a.poll(Some(Duration::ZERO)), Ok(false));
    // What `a` sends is for `b`.
    a.send_bytes(b"to b").expect("send");
    assert_eq!(a.poll(Some(Duration::ZERO)), Ok(false));
    assert_eq!(b.poll(Some(Duration::ZERO)), Ok(true));
    assert_eq!(b.recv_bytes().expect("recv"), b"to b");
    assert_eq!(b.poll(Some(Duration::ZERO)), Ok(false));
    b.send_bytes(b"to a").expect("send");
    assert_eq!(a.poll(Some(Duration::ZERO)), Ok(true));
    assert_eq!(a.poll(None), Ok(true));
    assert_eq!(a.recv_bytes().expect("recv"), b"to a");
    let start = Instant::now();
    assert_eq!(a.poll(Some(SHORT)), Ok(false));
    assert!(
        start.elapsed() >= SHORT,
        "returned after {:?}",
        start.elapsed()
    );
    drop(b);
    assert_eq!(a.poll(Some(Duration::ZERO)), Ok(true), "end of stream");
    assert_eq!(recv_at_end(&mut a), Err(Error::Eof));
}

#[test]
fn poll_waits_for_a_forked_child() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::DuplexPipes,
        |mut conn| {
            match conn.recv_bytes() {
                Ok(m) if m == b"go" => {}
                _ => return 1,
            }
            std::thread::sleep(Duration::from_millis(20));
            match conn.send_bytes(b"done") {
                Ok(()) => 0,
                Err(_) => 2,
            }
        },
        |mut conn| {
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            let before = conn.poll(Some(Duration::ZERO));
            conn.send_bytes(b"go").expect("send");
            // Our own message, waiting in the other pipe, is not for us.
            let own = conn.poll(Some(Duration::ZERO));
            let after = conn.poll(Some(EOF_PATIENCE));
            let msg = conn.recv_bytes();
            let at_end = conn.poll(Some(EOF_PATIENCE));
            (before, own, after, msg, at_end, conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Ok(false));
    assert_eq!(got.1, Ok(false));
    assert_eq!(got.2, Ok(true));
    assert_eq!(got.3.as_deref(), Ok(&b"done"[..]));
    assert_eq!(got.4, Ok(true), "the child's exit is end of stream");
    assert_eq!(got.5, Err(Error::Eof));
}

#[test]
fn wait_mixes_socket_pairs_and_two_pipe_connections() {
    let _g = lock();
    let (s1, mut s2) = pipe(true).expect("socketpair");
    let (mut p1, mut p2) = duplex_pipes().expect("duplex_pipes");
    let (q1, q2) = duplex_pipes().expect("duplex_pipes");
    // What p1 sends is for p2: no reason to wake p1.
    p1.send_bytes(b"from p1").expect("send");
    assert_eq!(
        ipcwire::wait([&s1, &p1, &q1], Some(Duration::ZERO)),
        Ok(vec![])
    );
    let start = Instant::now();
    assert_eq!(ipcwire::wait([&s1, &p1, &q1], Some(SHORT)), Ok(vec![]));
    assert!(
        start.elapsed() >= SHORT,
        "returned after {:?}",
        start.elapsed()
    );
    p2.send_bytes(b"to p1").expect("send");
    assert_eq!(ipcwire::wait([&s1, &p1, &q1], None), Ok(vec![1]));
    s2.send_bytes(b"to s1").expect("send");
    assert_eq!(ipcwire::wait([&s1, &p1, &q1], None), Ok(vec![0, 1]));
    drop(q2);
    assert_eq!(
        ipcwire::wait([&s1, &p1, &q1], Some(EOF_PATIENCE)),
        Ok(vec![0, 1, 2])
    );
    // The peers see theirs too.
    assert_eq!(ipcwire::wait([&p2], Some(Duration::ZERO)), Ok(vec![0]));
    assert_eq!(p2.recv_bytes().expect("recv"), b"from p1");
    assert_eq!(p1.recv_bytes().expect("recv"), b"to p1");
}

// ---------------------------------------------------------------------------
// Receive timeouts and non-blocking mode.
// ---------------------------------------------------------------------------

#[test]
fn receive_timeout_pauses_and_resumes() {
    let _g = lock();
    let (mut a, b) = duplex_pipes().expect("duplex_pipes");
    a.set_recv_timeout(Some(SHORT));
    let start = Instant::now();
    assert_eq!(a.recv_bytes(), Err(Error::Io(Errno::TIMEDOUT)));
    assert!(
        start.elapsed() >= SHORT,
        "returned after {:?}",
        start.elapsed()
    );

    // A message that stops half-way: the timeout keeps what came.
    let wire = frame(&pattern(10_000));
    write_all(b.as_write_fd(), &wire[..5_000]).expect("write");
    assert_eq!(a.recv_bytes(), Err(Error::Io(Errno::TIMEDOUT)));
    write_all(b.as_write_fd(), &wire[5_000..]).expect("write");
    let msg = a.recv_bytes().expect("the rest");
    assert!(is_pattern(&msg, 10_000), "resumed message corrupted");

    // The same into a caller's buffer, paused inside the header too.
    let mut buf = vec![0; 10_000];
    write_all(b.as_write_fd(), &wire[..2]).expect("write");
    assert_eq!(a.recv_bytes_into(&mut buf), Err(Error::Io(Errno::TIMEDOUT)));
    write_all(b.as_write_fd(), &wire[2..7_000]).expect("write");
    assert_eq!(a.recv_bytes_into(&mut buf), Err(Error::Io(Errno::TIMEDOUT)));
    write_all(b.as_write_fd(), &wire[7_000..]).expect("write");
    assert_eq!(a.recv_bytes_into(&mut buf), Ok(10_000));
    assert!(is_pattern(&buf, 10_000));
    drop(b);
    assert_eq!(a.recv_bytes(), Err(Error::Eof));
}

#[test]
fn nonblocking_mode_covers_both_ends() {
    let _g = lock();
    let (mut a, mut b) = duplex_pipes().expect("duplex_pipes");
    a.set_nonblocking(true).expect("nonblocking");
    for fd in [a.as_fd(), a.as_write_fd()] {
        let flags = fd_flags(fd.as_raw_fd());
        assert_ne!(flags & O_NONBLOCK, 0, "fd {fd:?}: flags {flags:o}");
    }
    // The peer's ends are open files of their own.
    for fd in [b.as_fd(), b.as_write_fd()] {
        assert_eq!(fd_flags(fd.as_raw_fd()) & O_NONBLOCK, 0, "fd {fd:?}");
    }
    assert_eq!(a.recv_bytes(), Err(Error::Io(Errno::AGAIN)));

    // A message larger than the pipe leaves part-way, and the pipe is full.
    let msg = pattern(4 * 65_536 + 3);
    assert_eq!(a.send_bytes(&msg), Err(Error::Io(Errno::AGAIN)));
    let first = queued(b.as_fd());
    assert!(first > 0 && first < msg.len(), "{first} bytes queued");
    assert!(!writable(a.as_write_fd(), Some(Duration::ZERO)));
    // The peer drains, without waiting for the rest; each time the pipe is
    // writable again, the same send goes on.
    b.set_nonblocking(true).expect("nonblocking");
    let mut pauses = 1;
    let got = loop {
        match b.recv_bytes() {
            Ok(got) => break got,
            Err(Error::Io(Errno::AGAIN)) => {}
            Err(e) => panic!("recv: {e:?}"),
        }
        assert!(
            writable(a.as_write_fd(), Some(EOF_PATIENCE)),
            "the drained pipe is not writable"
        );
        match a.send_bytes(&msg) {
            Ok(()) => {}
            Err(Error::Io(Errno::AGAIN)) => pauses += 1,
            Err(e) => panic!("send: {e:?}"),
        }
        assert!(pauses < 1000, "the send never finished");
    };
    assert!(pauses >= 2, "only {pauses} pauses: the test proves nothing");
    assert!(is_pattern(&got, msg.len()), "message corrupted");

    a.set_nonblocking(false).expect("blocking");
    for fd in [a.as_fd(), a.as_write_fd()] {
        assert_eq!(fd_flags(fd.as_raw_fd()) & O_NONBLOCK, 0, "fd {fd:?}");
    }
}

// ---------------------------------------------------------------------------
// Peers that are gone: EPIPE, never a death by SIGPIPE.
// ---------------------------------------------------------------------------

#[test]
fn send_to_a_gone_peer_is_epipe() {
    let _g = lock();
    let (mut a, b) = duplex_pipes().expect("duplex_pipes");
    drop(b);
    for len in [0, 5, 300, 2 * MIB] {
        assert_eq!(a.send_bytes(&pattern(len)), Err(Error::Io(Errno::PIPE)));
    }
    assert_eq!(recv_at_end(&mut a), Err(Error::Eof));

    // A child that exited.
    let (got, status) = with_child(
        Direction::DuplexPipes,
        |_| 0,
        |mut conn| {
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            let end = conn.recv_bytes();
            if end != Err(Error::Eof) {
                // A copy of the child's read end is open here: a send
                // larger than the pipe would wait forever.
                return (end, Ok(()), Ok(()));
            }
            (
                end,
                conn.send_bytes(&pattern(2 * MIB)),
                conn.send_bytes(b"x"),
            )
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Err(Error::Eof));
    assert_eq!(got.1, Err(Error::Io(Errno::PIPE)));
    assert_eq!(got.2, Err(Error::Io(Errno::PIPE)));
}

/// In a child whose `SIGPIPE` action is the default (as in a C or `no_std`
/// program; Rust's `std` ignores it), sends to a parent that is gone are
/// `EPIPE`, and leave the mask, the action and the pending set as they
/// were: `Signaled(SIGPIPE)` is the death the guard prevents.
#[test]
fn sigpipe_default_child_sends_to_a_gone_parent_are_epipe() {
    let _g = lock();
    let ((), status) = with_child(
        Direction::DuplexPipes,
        |mut conn| {
            // SAFETY: restoring the default action of a signal, in this
            // child only.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let mask = members(&signal_mask());
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            if conn.recv_bytes() != Err(Error::Eof) {
                return 1;
            }
            for len in [5, 300, 2 * MIB] {
                if conn.send_bytes(&pattern(len)) != Err(Error::Io(Errno::PIPE)) {
                    return 2;
                }
                if members(&signal_mask()) != mask
                    || !is_default_action(libc::SIGPIPE)
                    || pending().contains(&libc::SIGPIPE)
                {
                    return 3;
                }
            }
            0
        },
        drop,
    );
    assert_eq!(status, ExitStatus::Exited(0), "Signaled(13) is SIGPIPE");
}

/// The parent goes away while the child's large send sleeps in the
/// kernel, the pipe full: `EPIPE` wakes it.
#[test]
fn sigpipe_default_parent_gone_while_a_send_sleeps() {
    let _g = lock();
    let ((), status) = with_child(
        Direction::DuplexPipes,
        |mut conn| {
            // SAFETY: as above.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            // A copy of the parent's read end left here would block the
            // send forever.
            die_after(EOF_PATIENCE);
            match conn.send_bytes(&pattern(2 * MIB)) {
                Err(Error::Io(Errno::PIPE)) => 0,
                Ok(()) => 1,
                Err(_) => 2,
            }
        },
        |conn| {
            std::thread::sleep(Duration::from_millis(30));
            drop(conn);
        },
    );
    assert_eq!(
        status,
        ExitStatus::Exited(0),
        "Signaled(13) is SIGPIPE; Signaled(14), SIGALRM, a send that never ended"
    );
}

// ---------------------------------------------------------------------------
// Descriptor passing and peer_cred: ENOTSOCK, nothing sent or taken.
// ---------------------------------------------------------------------------

#[test]
fn descriptor_passing_is_enotsock_and_nothing_moves() {
    let _g = lock();
    let notsock = Error::Io(Errno::NOTSOCK);
    let (mut a, mut b) = duplex_pipes().expect("duplex_pipes");
    let (r, w) = sys::pipe().expect("pipe");
    let before = count_fds();
    for turn in 0..2 {
        let (from, to) = if turn == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        assert_eq!(
            from.send_bytes_with_fds(b"with one", &[r.as_fd()]),
            Err(notsock)
        );
        assert_eq!(
            from.send_bytes_with_fds(b"", &[r.as_fd(), w.as_fd()]),
            Err(notsock)
        );
        assert_eq!(from.send_fds(&[r.as_fd()]), Err(notsock));
        assert_eq!(from.send_handle(&w), Err(notsock));
        assert_eq!(queued(to.as_fd()), 0, "bytes reached the peer");
        assert_eq!(to.poll(Some(Duration::ZERO)), Ok(false));
        // The next message the peer receives is the one sent after.
        from.send_bytes(b"after").expect("send");
        let mut fds = ReceivedFds::new();
        let mut buf = [0; 16];
        assert_eq!(to.recv_bytes_with_fds(&mut fds), Err(notsock));
        assert_eq!(
            to.recv_bytes_into_with_fds(&mut buf, &mut fds),
            Err(notsock)
        );
        assert_eq!(to.recv_fds(&mut fds), Err(notsock));
        assert_eq!(to.recv_handle().err(), Some(notsock));
        assert!(fds.is_empty());
        // Nothing was taken: the message is still whole in the pipe.
        assert_eq!(queued(to.as_fd()), frame(b"after").len());
        assert_eq!(to.recv_bytes().expect("recv"), b"after");
        // Without descriptors, it is a plain send.
        from.send_bytes_with_fds(b"plain", &[]).expect("send");
        assert_eq!(to.recv_bytes().expect("recv"), b"plain");
    }
    assert_eq!(a.peer_cred().err(), Some(notsock));
    assert_eq!(b.peer_cred().err(), Some(notsock));
    // Our descriptors are neither closed nor copied.
    assert_eq!(count_fds(), before);
    assert!(is_open(r.as_raw_fd()) && is_open(w.as_raw_fd()));
}

#[test]
fn descriptor_passing_refused_in_a_forked_child() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::DuplexPipes,
        |mut conn| {
            let (r, _w) = match sys::pipe() {
                Ok(ends) => ends,
                Err(_) => return 1,
            };
            if conn.send_handle(&r) != Err(Error::Io(Errno::NOTSOCK)) {
                return 2;
            }
            if conn.send_bytes_with_fds(b"fds", &[r.as_fd()]) != Err(Error::Io(Errno::NOTSOCK)) {
                return 3;
            }
            if conn.peer_cred().err() != Some(Error::Io(Errno::NOTSOCK)) {
                return 4;
            }
            match conn.send_bytes(b"next") {
                Ok(()) => 0,
                Err(_) => 5,
            }
        },
        |mut conn| {
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            (conn.recv_bytes(), conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0.as_deref(), Ok(&b"next"[..]));
    assert_eq!(got.1, Err(Error::Eof));
}

/// A message paused part-way (`Io(EAGAIN)`) is not finished by a send
/// with descriptors: that would report descriptors passed that never were.
/// Receives with descriptors are refused inside a paused message too.
#[test]
fn descriptor_passing_refused_while_a_message_is_paused() {
    let _g = lock();
    let (mut a, mut b) = duplex_pipes().expect("duplex_pipes");
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    // A blocking write end would hold the send below forever.
    assert_ne!(fd_flags(a.as_write_fd().as_raw_fd()) & O_NONBLOCK, 0);
    let (r, _w) = sys::pipe().expect("pipe");
    let msg = pattern(200_000);
    assert_eq!(a.send_bytes(&msg), Err(Error::Io(Errno::AGAIN)));
    // The peer takes what is there and pauses inside the message, so that
    // the pipe has room for whatever a send would write now.
    assert_eq!(b.recv_bytes(), Err(Error::Io(Errno::AGAIN)));
    assert_eq!(queued(b.as_fd()), 0);
    assert_eq!(
        a.send_bytes_with_fds(&msg, &[r.as_fd()]),
        Err(Error::Io(Errno::NOTSOCK))
    );
    for refused in [a.send_fds(&[r.as_fd()]), a.send_handle(&r)] {
        assert!(
            matches!(
                refused,
                Err(Error::Io(Errno::NOTSOCK) | Error::SendIncomplete)
            ),
            "{refused:?}"
        );
    }
    assert_eq!(queued(b.as_fd()), 0, "a refused send wrote bytes");
    let mut fds = ReceivedFds::new();
    assert_eq!(
        b.recv_bytes_with_fds(&mut fds),
        Err(Error::Io(Errno::NOTSOCK))
    );
    // The message finishes as it began.
    let got = loop {
        match a.send_bytes(&msg) {
            Ok(()) | Err(Error::Io(Errno::AGAIN)) => {}
            Err(e) => panic!("send: {e:?}"),
        }
        match b.recv_bytes() {
            Ok(got) => break got,
            Err(Error::Io(Errno::AGAIN)) => {}
            Err(e) => panic!("recv: {e:?}"),
        }
    };
    assert!(is_pattern(&got, msg.len()), "message corrupted");
}

// ---------------------------------------------------------------------------
// from_pipes.
// ---------------------------------------------------------------------------

/// Two pipes made with `sys::pipe`, wrapped with `Connection::from_pipes`:
/// what a program does with pipe ends it made or inherited.
struct RawPipes;

impl Ends for RawPipes {
    type End = Connection;

    fn open(self) -> Result<(Connection, Connection), Errno> {
        let (parent_reads, child_writes) = sys::pipe()?;
        let (child_reads, parent_writes) = sys::pipe()?;
        Ok((
            Connection::from_pipes(parent_reads, parent_writes)?,
            Connection::from_pipes(child_reads, child_writes)?,
        ))
    }
}

#[test]
fn from_pipes_across_a_fork() {
    let _g = lock();
    let before = count_fds();
    let (got, status) = with_child(
        RawPipes,
        move |mut conn| {
            let extra = count_fds() as i32 - before as i32;
            if extra != 2 {
                return 20 + extra;
            }
            echo_until_eof(&mut conn)
        },
        |mut conn| {
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            let held = count_fds();
            let echoes: Vec<_> = SIZES
                .iter()
                .map(|&len| {
                    conn.send_bytes(&pattern(len))
                        .and_then(|()| conn.recv_bytes())
                })
                .collect();
            (conn.access(), held, echoes)
        },
    );
    assert_eq!(
        status,
        ExitStatus::Exited(0),
        "Exited(2x): the child held x descriptors more than before, not 2; \
         Exited(3): it never saw end of stream"
    );
    let (access, held, echoes) = got;
    assert_eq!(access, Access::Duplex);
    assert_eq!(held, before + 2, "the parent holds its two ends only");
    for (echo, &len) in echoes.iter().zip(&SIZES) {
        let echo = echo.as_ref().expect("echo");
        assert!(is_pattern(echo, len), "echo of {len} bytes corrupted");
    }
    assert_eq!(count_fds(), before);
}

/// `from_pipes(reader, writer)` with `reader` and `writer` as given, which
/// must fail with `want`; both descriptors must be closed then.
fn refused(reader: OwnedFd, writer: OwnedFd, want: Errno, what: &str) {
    let raw = (reader.as_raw_fd(), writer.as_raw_fd());
    match Connection::from_pipes(reader, writer) {
        Ok(conn) => panic!("{what}: accepted, {conn:?}"),
        Err(e) => assert_eq!(e, want, "{what}"),
    }
    assert!(!is_open(raw.0), "{what}: the reader {} is open", raw.0);
    assert!(!is_open(raw.1), "{what}: the writer {} is open", raw.1);
}

/// `O_PATH` as `/proc/self/fdinfo` shows it.
const O_PATH: u32 = 0o10_000_000;

/// `/dev/null` opened `O_PATH`. Not through std's `OpenOptions`: on musl,
/// whose `O_ACCMODE` covers `O_PATH`, its `custom_flags` drop the flag.
fn path_only() -> OwnedFd {
    // SAFETY: a NUL-terminated path; no O_CREAT, so no mode argument.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open(O_PATH): {}", Errno::last());
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A new pipe: `(read end, write end)`.
fn new_pipe() -> (OwnedFd, OwnedFd) {
    sys::pipe().expect("pipe")
}

#[test]
fn from_pipes_refuses_swapped_ends_and_closes_both() {
    let _g = lock();
    let before = count_fds();
    let ((_, w1), (r2, _)) = (new_pipe(), new_pipe());
    refused(w1, r2, Errno::BADF, "both ends swapped");
    let ((r1, _), (r2, _)) = (new_pipe(), new_pipe());
    refused(r1, r2, Errno::BADF, "a read end to write to");
    let ((_, w1), (_, w2)) = (new_pipe(), new_pipe());
    refused(w1, w2, Errno::BADF, "a write end to read");
    assert_eq!(count_fds(), before);
}

#[test]
fn from_pipes_refuses_sockets_and_closes_both() {
    let _g = lock();
    let before = count_fds();
    let (s1, s2) = sys::socketpair().expect("socketpair");
    let (r, w) = new_pipe();
    refused(s1, w, Errno::INVAL, "a socket to read");
    refused(r, s2, Errno::INVAL, "a socket to write to");
    let (s1, s2) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    refused(s1.into(), s2.into(), Errno::INVAL, "two sockets");
    assert_eq!(count_fds(), before);
}

/// Both ends of one pipe, the likeliest slip: such a connection would
/// receive its own messages, and a send larger than the pipe would wait
/// forever with nobody to read it.
#[test]
fn from_pipes_refuses_both_ends_of_one_pipe_and_closes_both() {
    let _g = lock();
    let before = count_fds();
    let (r, w) = new_pipe();
    refused(r, w, Errno::INVAL, "one pipe's two ends");
    let (r, w) = new_pipe();
    let r2 = r.try_clone().expect("dup");
    drop(r);
    refused(
        r2,
        w,
        Errno::INVAL,
        "a copy of one pipe's read end and its write end",
    );
    assert_eq!(count_fds(), before);
}

/// Descriptors that are open, but not for what they would be used for.
#[test]
fn from_pipes_refuses_descriptors_not_open_for_their_use() {
    let _g = lock();
    let before = count_fds();
    let null = || std::fs::OpenOptions::new();
    let write_only = null().write(true).open("/dev/null").expect("open");
    refused(
        write_only.into(),
        new_pipe().1,
        Errno::BADF,
        "a write-only file to read",
    );
    let read_only = null().read(true).open("/dev/null").expect("open");
    refused(
        new_pipe().0,
        read_only.into(),
        Errno::BADF,
        "a read-only file to write to",
    );
    // O_PATH: open for neither reading nor writing, though on glibc its
    // access bits read O_RDONLY.
    let probe = path_only();
    assert_ne!(fd_flags(probe.as_raw_fd()) & O_PATH, 0, "not opened O_PATH");
    assert_eq!(sys::access_mode(probe.as_fd()), Ok((false, false)));
    let raw = probe.as_raw_fd();
    assert_eq!(Connection::try_from(probe).err(), Some(Errno::BADF));
    assert!(!is_open(raw), "try_from left {raw} open");
    let (r, w) = new_pipe();
    refused(path_only(), w, Errno::BADF, "an O_PATH descriptor to read");
    refused(
        r,
        path_only(),
        Errno::BADF,
        "an O_PATH descriptor to write to",
    );
    assert_eq!(count_fds(), before);
}

// ---------------------------------------------------------------------------
// Conversions, Debug and pipe capacity.
// ---------------------------------------------------------------------------

#[test]
fn conversions_give_each_descriptor_as_it_is() {
    let _g = lock();
    let (a, mut b) = duplex_pipes().expect("duplex_pipes");
    let (read, write) = raw_ends(&a);
    assert_ne!(read, write);
    assert_eq!(a.as_raw_fd(), read);
    assert_eq!(sys::access_mode(a.as_fd()), Ok((true, false)));
    assert_eq!(sys::access_mode(a.as_write_fd()), Ok((false, true)));
    let debug = format!("{a:?}");
    assert!(
        debug.contains(&format!("fd: {read},")) && debug.contains(&format!("write_fd: {write},")),
        "{debug}"
    );
    assert!(debug.contains("Duplex"), "{debug}");

    // into_fds gives both, as they are, and closes nothing.
    let before = count_fds();
    let (r, w) = a.into_fds();
    let w = w.expect("the write end");
    assert_eq!((r.as_raw_fd(), w.as_raw_fd()), (read, write));
    assert_eq!(count_fds(), before);
    write_all(w.as_fd(), &frame(b"raw")).expect("write");
    assert_eq!(b.recv_bytes().expect("recv"), b"raw");
    // And back.
    let mut a = Connection::from_pipes(r, w).expect("from_pipes");
    assert_eq!(raw_ends(&a), (read, write));
    a.send_bytes(b"again").expect("send");
    assert_eq!(b.recv_bytes().expect("recv"), b"again");

    // OwnedFd::from gives the read end and closes the write end, the only
    // copy: the peer sees end of stream.
    let fd = OwnedFd::from(a);
    assert_eq!(fd.as_raw_fd(), read);
    assert!(!is_open(write), "the write end {write} is still open");
    assert_eq!(count_fds(), before - 1);
    assert_eq!(recv_at_end(&mut b), Err(Error::Eof));

    // Over one descriptor, sends and receives share it.
    let (s, _t) = pipe(true).expect("socketpair");
    let (r, w) = pipe(false).expect("pipe");
    for conn in [&s, &r, &w] {
        assert_eq!(conn.as_write_fd().as_raw_fd(), conn.as_raw_fd());
        assert!(!format!("{conn:?}").contains("write_fd"), "{conn:?}");
    }
    let raw = s.as_raw_fd();
    let (fd, none) = s.into_fds();
    assert_eq!((fd.as_raw_fd(), none.is_none()), (raw, true));
}

#[test]
fn pipe_size_and_set_pipe_size_act_on_both_pipes() {
    let _g = lock();
    const KIB: usize = 1024;
    let (a, b) = duplex_pipes().expect("duplex_pipes");
    assert_eq!(a.pipe_size(), Ok(64 * KIB));
    // The smaller of the two: growing one pipe alone changes nothing.
    assert_eq!(sys::set_pipe_size(a.as_fd(), 256 * KIB), Ok(256 * KIB));
    assert_eq!(a.pipe_size(), Ok(64 * KIB));
    assert_eq!(b.pipe_size(), Ok(64 * KIB));
    assert_eq!(
        sys::set_pipe_size(a.as_write_fd(), 512 * KIB),
        Ok(512 * KIB)
    );
    assert_eq!(a.pipe_size(), Ok(256 * KIB));
    // Both resized.
    assert_eq!(a.set_pipe_size(128 * KIB), Ok(128 * KIB));
    for fd in [a.as_fd(), a.as_write_fd(), b.as_fd(), b.as_write_fd()] {
        assert_eq!(sys::pipe_size(fd), Ok(128 * KIB), "fd {fd:?}");
    }
    assert_eq!(b.set_pipe_size(MIB), Ok(MIB));
    assert_eq!(a.pipe_size(), Ok(MIB));
    assert_eq!(sys::pipe_size(a.as_fd()), Ok(MIB));
    assert_eq!(sys::pipe_size(a.as_write_fd()), Ok(MIB));
}

// ---------------------------------------------------------------------------
// A hostile peer: what the Failures table says, without a hang or an
// allocation of what a header declares.
// ---------------------------------------------------------------------------

/// A connection whose peer is nothing but the raw write end feeding it
/// (returned) and the read end it sends to (closed): bytes written there
/// reach the connection unframed.
fn with_raw_peer() -> (Connection, OwnedFd) {
    let (mut conn, peer) = duplex_pipes().expect("duplex_pipes");
    let (_, peer_write) = peer.into_fds();
    // A guard against a hang: an error, not a test that never ends.
    conn.set_recv_timeout(Some(EOF_PATIENCE));
    (conn, peer_write.expect("the write end"))
}

#[test]
fn hostile_headers_from_a_raw_peer() {
    let _g = lock();
    let max = ipcwire::DEFAULT_MAX_LEN;
    let too_long: [(&[u8], u64); 3] = [
        (&[0x7f, 0xff, 0xff, 0xff], 0x7fff_ffff),
        (&[0x04, 0, 0, 1], max + 1),
        (
            &[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            u64::MAX,
        ),
    ];
    for (raw, len) in too_long {
        let (mut conn, peer) = with_raw_peer();
        write_all(peer.as_fd(), &frame(b"first")).expect("write");
        write_all(peer.as_fd(), raw).expect("write");
        assert_eq!(conn.recv_bytes().expect("a message before"), b"first");
        let want = Error::TooLong { len, max };
        assert_eq!(conn.recv_bytes(), Err(want), "{raw:02x?}");
        assert_eq!(conn.recv_bytes(), Err(want), "{raw:02x?} again");
        assert_eq!(conn.recv_bytes_into(&mut [0; 16]), Err(want));
    }
    let negative: [(&[u8], i32); 2] = [
        (&[0xff, 0xff, 0xff, 0xfe], -2),
        (&[0x80, 0, 0, 0], i32::MIN),
    ];
    for (raw, n) in negative {
        let (mut conn, peer) = with_raw_peer();
        write_all(peer.as_fd(), raw).expect("write");
        assert_eq!(
            conn.recv_bytes(),
            Err(Error::NegativeLength(n)),
            "{raw:02x?}"
        );
        drop(peer);
        assert_eq!(conn.recv_bytes(), Err(Error::NegativeLength(n)));
    }
    // Cut short, in the header and in the payload.
    let short: [&[u8]; 3] = [
        &[0, 0],
        &[0, 0, 0, 10, 1, 2, 3],
        &[0xff, 0xff, 0xff, 0xff, 0, 0],
    ];
    for raw in short {
        let (mut conn, peer) = with_raw_peer();
        write_all(peer.as_fd(), raw).expect("write");
        drop(peer);
        assert_eq!(conn.recv_bytes(), Err(Error::Truncated), "{raw:02x?}");
        assert_eq!(conn.recv_bytes(), Err(Error::Truncated), "{raw:02x?} again");
    }
}

/// A header that declares a petabyte, with any length accepted: the
/// receive holds what arrives, not what was declared (reserving a
/// petabyte would abort the process), and ends `Truncated` when the peer
/// goes.
#[test]
fn a_declared_length_is_never_allocated() {
    let _g = lock();
    let (mut conn, peer) = with_raw_peer();
    conn.set_max_len(u64::MAX);
    let mut raw = vec![0xff; 4];
    raw.extend_from_slice(&(1u64 << 50).to_be_bytes());
    raw.extend_from_slice(&pattern(100_000));
    write_all(peer.as_fd(), &raw[..60_000]).expect("write");
    let start = Instant::now();
    let mut buf = [0; 64];
    assert_eq!(
        conn.recv_bytes_into(&mut buf),
        Err(Error::BufferTooSmall { needed: 1 << 50 })
    );
    // The rest comes while the receive is under way, from another thread.
    let rest = raw[60_000..].to_vec();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        write_all(peer.as_fd(), &rest).expect("write");
    });
    assert_eq!(conn.recv_bytes(), Err(Error::Truncated));
    writer.join().expect("writer");
    assert!(start.elapsed() < EOF_PATIENCE, "{:?}", start.elapsed());
}

/// A forked child that declares 1 MiB, sends 300 KiB into its write end
/// and exits.
#[test]
fn hostile_child_cuts_a_message_short() {
    let _g = lock();
    let (got, status) = with_child(
        Direction::DuplexPipes,
        |conn| {
            let mut raw = (MIB as u32).to_be_bytes().to_vec();
            raw.extend_from_slice(&pattern(300 * 1024));
            match write_all(conn.as_write_fd(), &raw) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        },
        |mut conn| {
            conn.set_recv_timeout(Some(EOF_PATIENCE));
            (conn.recv_bytes(), conn.recv_bytes())
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(got.0, Err(Error::Truncated));
    assert_eq!(got.1, Err(Error::Truncated));
}
