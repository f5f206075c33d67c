//! The descriptors behind connections: all close-on-exec, none leaked.

use ipcwire::sys::{self, Errno};
use ipcwire::{pipe, Access, Connection, Direction, Error, ExitStatus};
use std::os::fd::{AsFd, AsRawFd};

use crate::fds::{count_fds, fd_flags, O_CLOEXEC};
use crate::fork::with_child;
use crate::pattern;
use crate::serial::lock;

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
    let before = count_fds();
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
    let after = count_fds();
    assert_eq!(before, after, "descriptors before and after");
}
