//! Thin wrappers over the raw system calls ipcwire makes.
//!
//! This module is the only place in the crate with `unsafe` code or calls
//! into `libc`. Each function makes one system call (or one call retried on
//! `EINTR`, where that is documented), maps `-1` to an [`Errno`] through one
//! shared helper, and wraps every new descriptor as an [`OwnedFd`] at once,
//! so no descriptor can leak on an early return.
//!
//! Every descriptor created here is close-on-exec from birth (`O_CLOEXEC`,
//! `SOCK_CLOEXEC`): a program that forks and execs never hands ipcwire's
//! descriptors to a stranger by accident. macOS has neither flag on these
//! calls; there `fcntl(FD_CLOEXEC)` follows each creation at once, which
//! leaves a window for another thread's `fork`+`exec` (each wrapper's
//! `# Platforms` section says where).
#![allow(unsafe_code)]

mod addr;
mod child;
pub mod cmsg;
mod errno;
mod fd;
mod fs;
pub mod inventory;
mod io;
mod net;
mod pipe;
mod poll;
mod process;
mod random;
mod rights;
mod signal;
mod socket;
mod time;

pub use addr::SockAddr;
pub use child::{fork_with_pipe, Child, Ends};
pub use errno::Errno;
pub use fd::{
    access_mode, close, close_other_fds, fstat_is_socket, set_nonblocking, AsFd, AsRawFd,
    BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd,
};
pub use fs::{lstat, unlink, FileId};
pub use io::{read, readv, write, writev, IoSlice, IoSliceMut};
#[cfg(target_vendor = "apple")]
pub use net::set_nosigpipe;
pub use net::{
    accept, bind, connect, finish_connect, getpeername, getsockname, listen, nodelay, peer_cred,
    set_nodelay, set_reuseaddr, socket, socket_error, PeerCred,
};
pub use pipe::pipe;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use pipe::{pipe_size, set_pipe_size};
pub use poll::{poll, PollFd, PollFlags};
pub use process::{
    exit, fork, getpid, kill, try_wait_any, try_waitpid, waitpid, ExitStatus, Fork, Pid, Signal,
};
pub use random::getrandom;
pub use rights::{
    is_unix_socket, recv_with_fds, send_with_fds, Received, ReceivedFds, TakeFds, MAX_FDS,
};
pub use signal::{sigpipe_is_ignored, writev_nosigpipe};
pub use socket::{recv_nowait, send, send_nowait, send_vectored, shutdown, socketpair, Shutdown};
pub use time::monotonic_now;

/// Maps the C convention "`-1` means failure, see `errno`" to a `Result`.
///
/// This is the single place where `errno` is read after a call.
fn check<T: MinusOne>(ret: T) -> Result<T, Errno> {
    if ret.is_minus_one() {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// Return types of system calls that report failure as `-1`.
trait MinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

impl MinusOne for libc::c_int {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl MinusOne for libc::ssize_t {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

/// Runs `call` again for as long as it fails with `EINTR`.
///
/// Used for calls that are safe to repeat when a signal handler ran before
/// they did anything (`read`, `write`, `waitpid`, ...). Never for `close`.
fn retry<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match call() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Converts a count the kernel returned (never negative after [`check`]).
fn to_usize(n: libc::ssize_t) -> usize {
    n.unsigned_abs()
}
