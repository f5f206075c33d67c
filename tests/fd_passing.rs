//! Passing open descriptors over Unix socket connections: to forked
//! children that use them, many at once, cut short by the kernel, mixed
//! with plain messages, thousands of times, and never leaking one.
//!
//! Every test takes `serial::lock()`: they fork and count this process's
//! descriptors, so they must not overlap.

#[path = "common/fds.rs"]
mod fds;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/paths.rs"]
mod paths;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use fds::{count_fds, fd_flags, read_to_end, O_CLOEXEC};
use fork::with_child;
use ipcwire::sys::{self, BorrowedFd, Errno, OwnedFd};
use ipcwire::{pipe, Access, Client, Connection, Direction, Error, ExitStatus};
use ipcwire::{Listener, ReceivedFds, MAX_FDS};
use paths::TempPath;
use serial::lock;

/// What a descriptor refers to, as `/proc` names it: `pipe:[1234]`,
/// `socket:[5678]`, a path.
fn identity(fd: BorrowedFd<'_>) -> String {
    let link = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("readlink");
    link.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------
// To a forked child, which uses what it got.

#[test]
fn child_uses_a_pipe_end_a_file_and_a_socket_it_was_sent() {
    let _g = lock();
    let path = TempPath::new("file");
    let ((from_pipe, from_socket), status) = with_child(
        Direction::Duplex,
        |mut conn| {
            let mut fds = ReceivedFds::new();
            match conn.recv_bytes_with_fds(&mut fds) {
                Ok(msg) if msg == b"pipe, file, socket" && fds.len() == 3 => {}
                _ => return 2,
            }
            let mut it = fds.into_iter();
            let (Some(pipe_end), Some(file), Some(socket)) = (it.next(), it.next(), it.next())
            else {
                return 3;
            };
            if sys::write(pipe_end.as_fd(), b"written through the pipe").is_err() {
                return 4;
            }
            let mut file = File::from(file);
            if file.write_all(b"written into the file").is_err() {
                return 5;
            }
            let Ok(mut socket) = Connection::from_fd(socket, Access::Duplex) else {
                return 6;
            };
            match socket.send_bytes(b"sent over the socket") {
                Ok(()) => 0,
                Err(_) => 7,
            }
        },
        |mut conn| {
            // Made after the fork: the child can only have them from us.
            let (r, w) = sys::pipe().expect("pipe");
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path.path())
                .expect("temp file");
            let (ours, theirs) = sys::socketpair().expect("socketpair");
            let file_fd: BorrowedFd<'_> = std::os::fd::AsFd::as_fd(&file);
            conn.send_bytes_with_fds(b"pipe, file, socket", &[w.as_fd(), file_fd, theirs.as_fd()])
                .expect("send with fds");
            drop((w, theirs));
            let from_pipe = read_to_end(r.as_fd()).expect("read");
            let mut socket = Connection::from_fd(ours, Access::Duplex).expect("from_fd");
            let from_socket = socket.recv_bytes().expect("recv over the passed socket");
            (from_pipe, from_socket)
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(from_pipe, b"written through the pipe");
    assert_eq!(from_socket, b"sent over the socket");
    let mut file = File::open(path.path()).expect("reopen");
    let mut text = String::new();
    file.rewind().unwrap();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "written into the file");
}

#[test]
fn child_sends_back_what_it_received_thousands_of_times() {
    let _g = lock();
    const ROUNDS: usize = 2000;
    let before = count_fds();
    let (mismatches, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            let mut fds = ReceivedFds::new();
            loop {
                match conn.recv_bytes_with_fds(&mut fds) {
                    Ok(msg) => {
                        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().collect();
                        if conn.send_bytes_with_fds(&msg, &borrowed).is_err() {
                            return 2;
                        }
                    }
                    Err(Error::Eof) => return 0,
                    Err(_) => return 3,
                }
            }
        },
        |mut conn| {
            let (r, w) = sys::pipe().expect("pipe");
            let (r_id, w_id) = (identity(r.as_fd()), identity(w.as_fd()));
            let mut fds = ReceivedFds::new();
            let mut mismatches = 0;
            for i in 0..ROUNDS {
                let sent: &[BorrowedFd<'_>] = match i % 3 {
                    0 => &[],
                    1 => &[r.as_fd()],
                    _ => &[w.as_fd(), r.as_fd()],
                };
                let msg = i.to_string();
                conn.send_bytes_with_fds(msg.as_bytes(), sent)
                    .expect("send");
                let echo = conn.recv_bytes_with_fds(&mut fds).expect("recv");
                let ids: Vec<String> = fds.iter().map(identity).collect();
                let want: Vec<String> = match i % 3 {
                    0 => vec![],
                    1 => vec![r_id.clone()],
                    _ => vec![w_id.clone(), r_id.clone()],
                };
                mismatches += usize::from(echo != msg.as_bytes() || ids != want);
            }
            mismatches
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(mismatches, 0);
    assert_eq!(count_fds(), before, "descriptors before and after");
}

// ---------------------------------------------------------------------------
// The bound.

#[test]
fn as_many_as_max_fds_in_one_message() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let pipes: Vec<(OwnedFd, OwnedFd)> = (0..MAX_FDS).map(|_| sys::pipe().unwrap()).collect();
    let writers: Vec<BorrowedFd<'_>> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
    a.send_bytes_with_fds(b"all of them", &writers).unwrap();
    let mut fds = ReceivedFds::new();
    assert_eq!(b.recv_bytes_with_fds(&mut fds).unwrap(), b"all of them");
    assert_eq!(fds.len(), MAX_FDS);
    for (i, fd) in fds.iter().enumerate() {
        sys::write(fd, &[i as u8]).unwrap();
        let mut byte = [0];
        assert_eq!(sys::read(pipes[i].0.as_fd(), &mut byte).unwrap(), 1);
        assert_eq!(byte[0], i as u8, "descriptor {i} is the {i}th pipe");
    }
}

#[test]
fn more_than_max_fds_are_refused_before_sending() {
    let _g = lock();
    let (mut a, b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let many = vec![r.as_fd(); MAX_FDS + 1];
    assert_eq!(
        a.send_bytes_with_fds(b"too many", &many),
        Err(Error::Io(Errno::INVAL))
    );
    assert_eq!(a.send_fds(&many), Err(Error::Io(Errno::INVAL)));
    assert_eq!(a.send_fds(&[]), Err(Error::Io(Errno::INVAL)));
    assert!(!b.poll(Some(Duration::ZERO)).unwrap(), "nothing was sent");
}

/// Fills this process's descriptor table with `/dev/null`, then frees
/// `free` slots; returns the rest (dropping them frees the table).
fn fill_descriptor_table(free: usize) -> Vec<File> {
    let mut held = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        held.push(f);
    }
    held.truncate(held.len() - free);
    held
}

/// How many descriptors can still be opened (each closed again at once).
fn free_slots() -> usize {
    let opened: Vec<File> = std::iter::from_fn(|| File::open("/dev/null").ok())
        .take(100)
        .collect();
    opened.len()
}

#[test]
fn out_of_descriptor_numbers_the_kernel_cuts_short_and_nothing_leaks() {
    let _g = lock();
    let (_, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            let held = fill_descriptor_table(2);
            if free_slots() != 2 {
                return 2;
            }
            if conn.send_bytes(b"ready").is_err() {
                return 3;
            }
            let mut fds = ReceivedFds::new();
            // Five were sent and two numbers are free: the kernel installs
            // two and says MSG_CTRUNC; both must be closed again.
            if conn.recv_bytes_with_fds(&mut fds) != Err(Error::ControlTruncated) {
                return 4;
            }
            if !fds.is_empty() || free_slots() != 2 {
                return 5;
            }
            // The message is lost and receiving stays failed.
            if conn.recv_bytes_with_fds(&mut fds) != Err(Error::ControlTruncated) {
                return 6;
            }
            drop(held);
            0
        },
        |mut conn| {
            assert_eq!(conn.recv_bytes().unwrap(), b"ready");
            let (r, w) = sys::pipe().unwrap();
            let five = [r.as_fd(), w.as_fd(), r.as_fd(), w.as_fd(), r.as_fd()];
            conn.send_bytes_with_fds(b"five descriptors", &five)
                .unwrap();
            conn.send_bytes(b"after").unwrap();
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
}

#[test]
fn out_of_descriptor_numbers_recv_handle_stays_usable() {
    let _g = lock();
    let (_, status) = with_child(
        Direction::Duplex,
        |mut conn| {
            let held = fill_descriptor_table(1);
            if conn.send_bytes(b"ready").is_err() {
                return 2;
            }
            let mut fds = ReceivedFds::new();
            if conn.recv_fds(&mut fds) != Err(Error::ControlTruncated) || free_slots() != 1 {
                return 3;
            }
            // The count byte was taken: the next message is intact.
            match conn.recv_bytes_with_fds(&mut fds) {
                Ok(msg) if msg == b"still in step" => {}
                _ => return 4,
            }
            drop(held);
            0
        },
        |mut conn| {
            assert_eq!(conn.recv_bytes().unwrap(), b"ready");
            let (r, w) = sys::pipe().unwrap();
            conn.send_fds(&[r.as_fd(), w.as_fd(), r.as_fd()]).unwrap();
            conn.send_bytes(b"still in step").unwrap();
        },
    );
    assert_eq!(status, ExitStatus::Exited(0));
}

// ---------------------------------------------------------------------------
// Riding with the frame.

#[test]
fn each_message_gets_its_own_descriptors_even_when_all_are_waiting() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, w) = sys::pipe().unwrap();
    let (x, y) = sys::socketpair().unwrap();
    let sends: [(&[u8], Vec<BorrowedFd<'_>>); 5] = [
        (b"one", vec![r.as_fd()]),
        (b"", vec![]),
        (b"three", vec![w.as_fd(), x.as_fd()]),
        (&[7; 100_000], vec![y.as_fd()]),
        (b"five", vec![]),
    ];
    // All of them are in the socket before the first receive.
    let sender = std::thread::scope(|s| {
        let t = s.spawn(|| {
            for (msg, fds) in &sends {
                a.send_bytes_with_fds(msg, fds).unwrap();
            }
            a
        });
        std::thread::sleep(Duration::from_millis(50));
        let mut fds = ReceivedFds::new();
        for (msg, sent) in &sends {
            let got = b.recv_bytes_with_fds(&mut fds).unwrap();
            assert_eq!(got.len(), msg.len());
            let want: Vec<String> = sent.iter().map(|fd| identity(*fd)).collect();
            let ids: Vec<String> = fds.iter().map(identity).collect();
            assert_eq!(ids, want);
        }
        t.join().unwrap()
    });
    drop(sender);
    let mut fds = ReceivedFds::new();
    assert_eq!(b.recv_bytes_with_fds(&mut fds), Err(Error::Eof));
}

#[test]
fn received_descriptors_are_close_on_exec() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, w) = sys::pipe().unwrap();
    a.send_bytes_with_fds(b"m", &[r.as_fd()]).unwrap();
    a.send_handle(w.as_fd()).unwrap();
    let mut fds = ReceivedFds::new();
    b.recv_bytes_with_fds(&mut fds).unwrap();
    let handle = b.recv_handle().unwrap();
    for fd in [fds.get(0).unwrap(), handle.as_fd()] {
        assert_ne!(
            fd_flags(fd) & O_CLOEXEC,
            0,
            "fd {} close-on-exec",
            fd.as_raw_fd()
        );
    }
}

#[test]
fn buffer_too_small_keeps_the_message_and_its_descriptors() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    a.send_bytes_with_fds(b"twelve bytes", &[r.as_fd()])
        .unwrap();
    let mut fds = ReceivedFds::new();
    let mut small = [0; 4];
    assert_eq!(
        b.recv_bytes_into_with_fds(&mut small, &mut fds),
        Err(Error::BufferTooSmall { needed: 12 })
    );
    assert_eq!(fds.len(), 1, "they came with the header");
    let mut buf = [0; 12];
    assert_eq!(b.recv_bytes_into_with_fds(&mut buf, &mut fds), Ok(12));
    assert_eq!(&buf, b"twelve bytes");
    assert_eq!(identity(fds.get(0).unwrap()), identity(r.as_fd()));
}

#[test]
fn too_long_keeps_the_message_and_its_descriptors() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    a.send_bytes_with_fds(&[1; 100], &[r.as_fd()]).unwrap();
    b.set_max_len(10);
    let mut fds = ReceivedFds::new();
    assert_eq!(
        b.recv_bytes_with_fds(&mut fds),
        Err(Error::TooLong { len: 100, max: 10 })
    );
    b.set_max_len(100);
    assert_eq!(b.recv_bytes_with_fds(&mut fds).unwrap(), [1; 100]);
    assert_eq!(fds.len(), 1);
}

#[test]
fn a_pause_keeps_the_message_and_its_descriptors() {
    let _g = lock();
    let (a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    b.set_nonblocking(true).unwrap();
    let mut fds = ReceivedFds::new();
    assert_eq!(
        b.recv_bytes_with_fds(&mut fds),
        Err(Error::Io(Errno::AGAIN))
    );
    // The header and half the payload, with the descriptor; then a pause.
    let frame = [&[0, 0, 0, 8][..], b"abcdefgh"].concat();
    sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(&frame[..8])], &[r.as_fd()]).unwrap();
    assert_eq!(
        b.recv_bytes_with_fds(&mut fds),
        Err(Error::Io(Errno::AGAIN))
    );
    assert_eq!(fds.len(), 1);
    sys::send(a.as_fd(), &frame[8..]).unwrap();
    assert_eq!(b.recv_bytes_with_fds(&mut fds).unwrap(), b"abcdefgh");
    assert_eq!(identity(fds.get(0).unwrap()), identity(r.as_fd()));
    // The same with a receive timeout, into a buffer.
    b.set_nonblocking(false).unwrap();
    b.set_recv_timeout(Some(Duration::from_millis(20)));
    sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(&frame[..6])], &[r.as_fd()]).unwrap();
    let mut buf = [0; 8];
    let timed_out = b.recv_bytes_into_with_fds(&mut buf, &mut fds);
    assert_eq!(timed_out, Err(Error::Io(Errno::TIMEDOUT)));
    sys::send(a.as_fd(), &frame[6..]).unwrap();
    assert_eq!(b.recv_bytes_into_with_fds(&mut buf, &mut fds), Ok(8));
    assert_eq!((&buf, fds.len()), (b"abcdefgh", 1));
}

#[test]
fn a_large_message_sent_part_way_goes_out_whole_with_its_descriptors() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let big = vec![9; 4 << 20];
    a.set_nonblocking(true).unwrap();
    // Far larger than the socket buffer: sendmsg takes a part, with the
    // descriptor, and the rest waits for the reader.
    assert_eq!(
        a.send_bytes_with_fds(&big, &[r.as_fd()]),
        Err(Error::Io(Errno::AGAIN))
    );
    let (got, ids) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut fds = ReceivedFds::new();
            let msg = b.recv_bytes_with_fds(&mut fds).unwrap();
            (msg, fds.iter().map(identity).collect::<Vec<_>>())
        });
        loop {
            match a.send_bytes_with_fds(&big, &[r.as_fd()]) {
                Ok(()) => break,
                Err(Error::Io(Errno::AGAIN)) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("{e:?}"),
            }
        }
        reader.join().unwrap()
    });
    assert!(got == big, "the message arrives whole");
    assert_eq!(ids, [identity(r.as_fd())], "its descriptor once");
}

/// A message paused by a plain send left without descriptors: finishing it
/// with `send_bytes_with_fds` would report descriptors sent that never
/// went. It is `SendIncomplete`, nothing written; a plain send finishes it,
/// and the peer gets the message with no descriptor.
#[test]
fn descriptors_never_ride_on_the_rest_of_a_plain_message() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let big = vec![7; 4 << 20];
    a.set_nonblocking(true).unwrap();
    assert_eq!(a.send_bytes(&big), Err(Error::Io(Errno::AGAIN)));
    assert_eq!(
        a.send_bytes_with_fds(&big, &[r.as_fd()]),
        Err(Error::SendIncomplete),
        "the paused message carries no descriptors"
    );
    let (got, arrived) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut fds = ReceivedFds::new();
            let msg = b.recv_bytes_with_fds(&mut fds).unwrap();
            (msg, fds.len())
        });
        loop {
            match a.send_bytes(&big) {
                Ok(()) => break,
                Err(Error::Io(Errno::AGAIN)) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("{e:?}"),
            }
        }
        reader.join().unwrap()
    });
    assert!(got == big, "the message arrives whole");
    assert_eq!(arrived, 0, "with no descriptor");
}

// ---------------------------------------------------------------------------
// Descriptors where none were asked for.

#[test]
fn a_plain_receive_closes_and_counts_the_descriptors_of_what_it_takes() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    for _ in 0..100 {
        a.send_bytes_with_fds(b"with a descriptor", &[r.as_fd()])
            .unwrap();
        assert_eq!(b.recv_bytes().unwrap(), b"with a descriptor");
    }
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 100);
}

#[test]
fn a_message_read_ahead_by_a_plain_receive_keeps_its_descriptors() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    // Both are in the socket before the first receive, which reads ahead.
    a.send_bytes(b"plain").unwrap();
    a.send_bytes_with_fds(b"with one", &[r.as_fd()]).unwrap();
    a.send_bytes(b"plain again").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"plain");
    let mut fds = ReceivedFds::new();
    assert_eq!(b.recv_bytes_with_fds(&mut fds).unwrap(), b"with one");
    assert_eq!(fds.len(), 1, "the descriptor came with its message");
    assert_eq!(identity(fds.get(0).unwrap()), identity(r.as_fd()));
    assert_eq!(b.recv_bytes_with_fds(&mut fds).unwrap(), b"plain again");
    assert!(fds.is_empty(), "released when the next message began");
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 0);
}

#[test]
fn a_receive_that_finds_nothing_keeps_the_last_descriptors() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    a.send_bytes_with_fds(b"m", &[r.as_fd()]).unwrap();
    let mut fds = ReceivedFds::new();
    assert_eq!(b.recv_bytes_with_fds(&mut fds).unwrap(), b"m");
    b.set_nonblocking(true).unwrap();
    let again = b.recv_bytes_with_fds(&mut fds);
    assert_eq!(again, Err(Error::Io(Errno::AGAIN)));
    assert_eq!(fds.len(), 1, "EAGAIN closed the last message's descriptors");
    let mut buf = [0; 8];
    let again = b.recv_bytes_into_with_fds(&mut buf, &mut fds);
    assert_eq!(again, Err(Error::Io(Errno::AGAIN)));
    assert_eq!(fds.len(), 1);
    // With a timeout instead, the same.
    b.set_nonblocking(false).unwrap();
    b.set_recv_timeout(Some(Duration::from_millis(10)));
    let late = b.recv_bytes_with_fds(&mut fds);
    assert_eq!(late, Err(Error::Io(Errno::TIMEDOUT)));
    assert_eq!(identity(fds.get(0).unwrap()), identity(r.as_fd()));
}

#[test]
fn descriptors_in_the_middle_of_a_message_are_closed_and_fail_it() {
    let _g = lock();
    let (a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    b.set_nonblocking(true).unwrap();
    let mut fds = ReceivedFds::new();
    // The header and the first two bytes are taken; the descriptor comes
    // with the third, where no message begins.
    sys::send(a.as_fd(), &[0, 0, 0, 6, b'a', b'b']).unwrap();
    let paused = b.recv_bytes_with_fds(&mut fds);
    assert_eq!(paused, Err(Error::Io(Errno::AGAIN)));
    sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(b"cdef")], &[r.as_fd()]).unwrap();
    assert_eq!(b.recv_bytes_with_fds(&mut fds), Err(Error::UnexpectedFds));
    assert_eq!(b.recv_bytes_with_fds(&mut fds), Err(Error::UnexpectedFds));
    assert_eq!(
        b.recv_bytes(),
        Err(Error::UnexpectedFds),
        "plain receives too"
    );
    assert!(fds.is_empty());
    assert_eq!(count_fds(), before);
}

/// `sendmsg` of `bytes` with `fds` attached, past ipcwire's own limit of
/// `MAX_FDS` (Linux allows 253; Python's `sendfds` sends whatever it gets).
fn sendmsg_raw(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
    let raw: Vec<i32> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    // SAFETY: arithmetic only.
    let space = unsafe { libc::CMSG_SPACE((raw.len() * 4) as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut _,
        iov_len: bytes.len(),
    };
    // SAFETY: an all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `control` has room for one SCM_RIGHTS message of `raw.len()`
    // descriptors; the iovec covers `bytes`.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN((raw.len() * 4) as u32) as _;
        std::ptr::copy_nonoverlapping(raw.as_ptr(), libc::CMSG_DATA(c).cast(), raw.len());
        assert_eq!(
            libc::sendmsg(sock.as_raw_fd(), &msg, 0),
            bytes.len() as isize
        );
    }
}

#[test]
fn a_plain_receive_is_not_failed_by_descriptors_it_never_asked_for() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    // Seventy: more than a receive takes, so the kernel cuts them short.
    sendmsg_raw(a.as_fd(), b"\x00\x00\x00\x07seventy", &[r.as_fd(); 70]);
    a.send_bytes(b"after").unwrap();
    assert_eq!(b.recv_bytes().unwrap(), b"seventy");
    assert_eq!(b.recv_bytes().unwrap(), b"after");
    assert_eq!(count_fds(), before);
    // A descriptor receive of the same is told, and fails for good.
    sendmsg_raw(a.as_fd(), b"\x00\x00\x00\x07seventy", &[r.as_fd(); 70]);
    let mut fds = ReceivedFds::new();
    assert_eq!(
        b.recv_bytes_with_fds(&mut fds),
        Err(Error::ControlTruncated)
    );
    assert_eq!(count_fds(), before);
}

#[test]
fn descriptors_of_a_message_lost_inside_its_payload_are_closed() {
    let _g = lock();
    let (a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    // Ten bytes declared, three sent, then the end.
    let cut = sys::IoSlice::new(b"\x00\x00\x00\x0aabc");
    sys::send_with_fds(a.as_fd(), &[cut], &[r.as_fd()]).unwrap();
    drop(a);
    let before = before - 1;
    let (mut fds, mut buf) = (ReceivedFds::new(), [0; 10]);
    let lost = b.recv_bytes_into_with_fds(&mut buf, &mut fds);
    assert_eq!(lost, Err(Error::Truncated));
    assert!(fds.is_empty(), "the lost message's descriptor was kept");
    assert_eq!(b.recv_bytes_into_with_fds(&mut buf, &mut fds), lost);
    assert_eq!(count_fds(), before);
}

#[test]
fn descriptors_of_a_message_lost_before_its_payload_are_closed() {
    let _g = lock();
    // The end comes inside the header, then right after it.
    for wire in [&b"\x00\x00"[..], &b"\x00\x00\x00\x0a"[..]] {
        let (a, mut b) = pipe(true).unwrap();
        let (r, _w) = sys::pipe().unwrap();
        sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(wire)], &[r.as_fd()]).unwrap();
        drop((a, r));
        let (mut fds, mut buf) = (ReceivedFds::new(), [0; 10]);
        let lost = b.recv_bytes_into_with_fds(&mut buf, &mut fds);
        assert_eq!(lost, Err(Error::Truncated));
        assert!(
            fds.is_empty(),
            "{wire:?}: the lost message's descriptor was kept"
        );
    }
}

#[test]
fn a_descriptor_receive_that_fails_counts_nothing_as_discarded() {
    let _g = lock();
    let (a, mut b) = pipe(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    sys::send(a.as_fd(), b"\x00\x00\x00\x06ab").unwrap();
    let mut fds = ReceivedFds::new();
    let paused = b.recv_bytes_with_fds(&mut fds);
    assert_eq!(paused, Err(Error::Io(Errno::AGAIN)));
    sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(b"cdef")], &[r.as_fd()]).unwrap();
    assert_eq!(b.recv_bytes_with_fds(&mut fds), Err(Error::UnexpectedFds));
    assert_eq!(b.discarded_fds(), 0, "only plain receives discard");
}

#[test]
fn recv_handle_after_a_plain_receive_gets_the_handle() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, _w) = sys::pipe().unwrap();
    let before = count_fds();
    a.send_bytes(b"first").unwrap();
    a.send_handle(r.as_fd()).unwrap();
    a.send_bytes(b"then").unwrap();
    // The plain receive reads the count byte ahead, with its descriptor.
    assert_eq!(b.recv_bytes().unwrap(), b"first");
    let handle = b.recv_handle().unwrap();
    assert_eq!(identity(handle.as_fd()), identity(r.as_fd()));
    assert_eq!(b.recv_bytes().unwrap(), b"then", "still in step");
    drop(handle);
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 0);
    // A plain receive where the handle is: it is closed, and counted.
    a.send_handle(r.as_fd()).unwrap();
    a.send_bytes(b"last").unwrap();
    drop(a);
    let before = count_fds();
    // The count byte starts a header declaring 16 MiB, cut short by the end.
    assert_eq!(b.recv_bytes(), Err(Error::Truncated));
    assert_eq!(count_fds(), before);
    assert_eq!(b.discarded_fds(), 1);
}

#[test]
fn recv_handle_wants_exactly_one() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, w) = sys::pipe().unwrap();
    let before = count_fds();
    a.send_fds(&[r.as_fd(), w.as_fd()]).unwrap();
    assert_eq!(
        b.recv_handle().err(),
        Some(Error::FdCount {
            announced: 2,
            arrived: 2
        })
    );
    assert_eq!(count_fds(), before, "both closed");
    // A count byte that lies.
    sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(&[3])], &[r.as_fd()]).unwrap();
    let mut fds = ReceivedFds::new();
    assert_eq!(
        b.recv_fds(&mut fds),
        Err(Error::FdCount {
            announced: 3,
            arrived: 1
        })
    );
    assert!(fds.is_empty());
    assert_eq!(count_fds(), before);
    a.send_fds(&[w.as_fd(), r.as_fd(), w.as_fd()]).unwrap();
    assert_eq!(b.recv_fds(&mut fds), Ok(3));
    drop(a);
    assert_eq!(b.recv_handle().err(), Some(Error::Eof));
}

#[test]
fn thousands_of_passes_leak_nothing() {
    let _g = lock();
    let (mut a, mut b) = pipe(true).unwrap();
    let (r, w) = sys::pipe().unwrap();
    let before = count_fds();
    let mut fds = ReceivedFds::new();
    for i in 0..5000 {
        match i % 4 {
            0 => {
                a.send_bytes_with_fds(b"m", &[r.as_fd(), w.as_fd()])
                    .unwrap();
                b.recv_bytes_with_fds(&mut fds).unwrap();
            }
            1 => {
                a.send_handle(w.as_fd()).unwrap();
                drop(b.recv_handle().unwrap());
            }
            2 => {
                a.send_bytes_with_fds(b"plain receive", &[r.as_fd()])
                    .unwrap();
                b.recv_bytes().unwrap();
            }
            _ => {
                a.send_fds(&[r.as_fd(), w.as_fd(), r.as_fd()]).unwrap();
                b.recv_fds(&mut fds).unwrap();
            }
        }
    }
    drop(fds);
    assert_eq!(count_fds(), before);
}

// ---------------------------------------------------------------------------
// Where descriptors cannot go.

#[test]
fn pipes_and_tcp_carry_no_descriptors() {
    let _g = lock();
    let (r, _w) = sys::pipe().unwrap();
    let (mut reader, mut writer) = pipe(false).unwrap();
    assert_eq!(
        writer.send_bytes_with_fds(b"x", &[r.as_fd()]),
        Err(Error::Io(Errno::NOTSOCK))
    );
    writer.send_bytes(b"x").unwrap();
    let mut fds = ReceivedFds::new();
    assert_eq!(
        reader.recv_bytes_with_fds(&mut fds),
        Err(Error::Io(Errno::NOTSOCK))
    );
    let mut listener = Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = *listener.local_addr();
    let mut client = Client::new().connect(&addr).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    // The kernel would send the message and drop the descriptors unsaid.
    assert_eq!(
        client.send_bytes_with_fds(b"x", &[r.as_fd()]),
        Err(Error::Io(Errno::OPNOTSUPP))
    );
    assert_eq!(
        client.send_handle(r.as_fd()),
        Err(Error::Io(Errno::OPNOTSUPP))
    );
    // Without descriptors the exact receive works on TCP too.
    client.send_bytes(b"over tcp").unwrap();
    assert_eq!(server.recv_bytes_with_fds(&mut fds).unwrap(), b"over tcp");
}

#[test]
fn a_handle_sent_right_after_the_handshake_arrives() {
    let _g = lock();
    let path = TempPath::new("handshake");
    let addr = path.address();
    let mut listener = Listener::bind(&addr).unwrap().authkey(b"key");
    for round in 0..50 {
        let (r, w) = sys::pipe().unwrap();
        let client = std::thread::spawn(move || {
            let mut conn = Client::new().authkey(b"key").connect(&addr).unwrap();
            // At once: the listener's last handshake read may still be to come.
            conn.send_handle(w.as_fd()).unwrap();
            conn.send_bytes(b"and a message").unwrap();
            conn
        });
        let (mut conn, _) = listener.accept().unwrap();
        let handle = conn
            .recv_handle()
            .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        let mut none = ReceivedFds::new();
        assert_eq!(
            conn.recv_bytes_with_fds(&mut none).unwrap(),
            b"and a message"
        );
        sys::write(handle.as_fd(), b"!").unwrap();
        assert_eq!(sys::read(r.as_fd(), &mut [0; 2]).unwrap(), 1);
        drop(client.join().unwrap());
    }
}

/// Sends a hundred descriptors with Python's `reduction.sendfds`, a
/// message, then a frame carrying seventy: more than ipcwire takes.
const PYTHON_FLOOD: &str = r#"
import array, os, socket, sys
from multiprocessing import reduction
from multiprocessing.connection import Connection
conn = Connection(0)
sock = socket.fromfd(0, socket.AF_UNIX, socket.SOCK_STREAM)
r, w = os.pipe()
reduction.sendfds(sock, [w] * 100)
conn.send_bytes(b"in step")
fds = array.array("i", [w] * 70)
sock.sendmsg([b"\x00\x00\x00\x07seventy"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
sys.exit(0 if conn.recv_bytes() == b"done" else 1)
"#;

#[test]
fn more_than_max_fds_from_python_are_all_closed() {
    let _g = lock();
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_err()
    {
        skip::skipped("more_than_max_fds_from_python_are_all_closed: no python3");
        return;
    }
    let (ours, theirs) = sys::socketpair().unwrap();
    let mut python = std::process::Command::new("python3")
        .args(["-I", "-c", PYTHON_FLOOD])
        .stdin(theirs)
        .spawn()
        .expect("python3");
    let mut conn = Connection::from_fd(ours, Access::Duplex).unwrap();
    let before = count_fds();
    let mut fds = ReceivedFds::new();
    assert_eq!(conn.recv_fds(&mut fds), Err(Error::ControlTruncated));
    assert_eq!(count_fds(), before, "the 64 that fit were closed");
    assert_eq!(conn.recv_bytes_with_fds(&mut fds).unwrap(), b"in step");
    assert_eq!(
        conn.recv_bytes_with_fds(&mut fds),
        Err(Error::ControlTruncated)
    );
    assert_eq!(
        conn.recv_bytes_with_fds(&mut fds),
        Err(Error::ControlTruncated)
    );
    assert_eq!(count_fds(), before);
    conn.send_bytes(b"done").unwrap();
    assert!(python.wait().unwrap().success());
}
