//! Thin wrappers over the raw system calls ipcwire makes.
//!
//! This module is the only place in the crate with `unsafe` code or calls
//! into `libc`. Each function makes one system call (or one call retried on
//! `EINTR`, where that is documented), maps `-1` to an [`Errno`] through one
//! shared helper, and wraps every new descriptor as an [`OwnedFd`] at once,
//! so no descriptor can leak on an early return.
//!
//! Every descriptor created here is close-on-exec from birth (`O_CLOEXEC`,
//! `SOCK_CLOEXEC`, `MSG_CMSG_CLOEXEC`): a program that forks and execs
//! never hands ipcwire's descriptors to a stranger by accident (macOS is
//! the exception, see [Platforms](#platforms)).
//!
//! # Auditing
//!
//! ipcwire has 105 `unsafe` blocks, all in this module (`src/sys/`), each
//! with a `// SAFETY:` comment naming the precondition it relies on.
//! Everything outside `src/sys/` is safe code (`#![deny(unsafe_code)]`) and
//! makes no `libc::` call. `.ci/check-unsafe` fails the build if `unsafe`
//! or `libc::` appears elsewhere, if a block lacks its comment, or if this
//! count or the map below is stale.
//!
//! Every public function of the crate that makes system calls lists them
//! under `# System calls` in its docs; functions without that section make
//! none. [`inventory`] lists them all, by function; a
//! [`seccomp::Filter`](crate::seccomp::Filter) is built from it, and the
//! tests run real scenarios against it, traced by `strace` and confined by
//! such a filter. The calls that move bytes, wait
//! or accept are repeated on `EINTR` (each wrapper's docs say so); `close`
//! never is.
//!
//! | `src/sys/` file | wraps |
//! |---|---|
//! | `mod.rs` | the one `-1` → `Errno` check and the `EINTR` retry every wrapper uses |
//! | `errno.rs` | `errno` as the [`Errno`] newtype (named constants, `Display`) |
//! | `fd.rs` | std's descriptor types and traits re-exported (a look-alike without `std`), `close`, `close_range`, `fstat`, `fcntl` (access mode, `O_NONBLOCK`) |
//! | `fs.rs` | `lstat`, `unlink` (Unix socket files) |
//! | `random.rs` | `getrandom` (handshake challenges; `getentropy` on macOS) |
//! | `addr.rs` | `sockaddr_un` (paths, abstract names), `sockaddr_in`, `sockaddr_in6` |
//! | `net.rs` | `socket(SOCK_CLOEXEC)`, `bind`, `listen`, `accept4(SOCK_CLOEXEC)`, `connect`, `getsockname`, `getpeername`, `setsockopt`/`getsockopt` (`SO_REUSEADDR`, `TCP_NODELAY`, `SO_ERROR`, `SO_PEERCRED`) |
//! | `io.rs` | `read`, `write`, `readv`, `writev` |
//! | `pipe.rs` | `pipe2(O_CLOEXEC)`, `fcntl(F_GETPIPE_SZ/F_SETPIPE_SZ)` |
//! | `socket.rs` | `socketpair(SOCK_CLOEXEC)`, `send`/`sendmsg` with `MSG_NOSIGNAL`, `shutdown` |
//! | `signal.rs` | `sigaction` (reading `SIGPIPE`'s action) before pipe sends; `pthread_sigmask`, `sigpending`, `sigtimedwait` around them when it is not ignored |
//! | `rights.rs` | `sendmsg`/`recvmsg` with `SCM_RIGHTS` and `MSG_CMSG_CLOEXEC` (passing descriptors) |
//! | `cmsg.rs` | building and walking control-message buffers, every length bounded (fuzzed) |
//! | `poll.rs` | `poll` |
//! | `time.rs` | `clock_gettime(CLOCK_MONOTONIC)` |
//! | `process.rs` | `fork`, `waitpid` (waiting or `WNOHANG`), `_exit`, `getpid`, `kill`, the [`Signal`] numbers |
//! | `child.rs` | [`fork_with_pipe`]: a pipe, `fork`, and closing the unused ends |
//! | `seccomp.rs` | `prctl(PR_SET_NO_NEW_PRIVS)`, `seccomp(SECCOMP_SET_MODE_FILTER)` (installing a [`Filter`](crate::seccomp::Filter)) |
//! | `inventory.rs` | no `unsafe`: the system call [`inventory`], with `libc::SYS_*` numbers |
//!
//! # Platforms
//!
//! Linux is the reference: the tests, the system call audit, fuzzing and
//! Miri run on x86_64 Linux with glibc, and the test suite and audit also
//! with musl (static). aarch64 and 32-bit x86 Linux, macOS and FreeBSD are
//! compiled, not run. The pure modules ([`frame`](crate::frame),
//! [`digest`](crate::digest), [`handshake`](crate::handshake),
//! [`Address`](crate::Address) and [`pickle`](crate::pickle)) build for
//! targets without an operating system, where this module and
//! [`Connection`](crate::Connection) do not exist. The oldest supported
//! Rust is 1.81.
//!
//! The C library and the architecture change which system calls do the
//! work (musl's `fork` blocks signals around the call; aarch64 has `ppoll`
//! and `clone` for `poll` and `fork`; 32-bit targets have `fcntl64` and
//! 64-bit-time calls, and 32-bit x86 `socketcall` for socket calls), not
//! what the functions do: [`inventory`] lists every alternative. Other
//! systems differ from Linux in these ways, each also said by the items
//! concerned, under `# Platforms` for the wrappers here:
//!
//! - **Close-on-exec on macOS.** It has no `pipe2`, `accept4`,
//!   `SOCK_CLOEXEC` or `MSG_CMSG_CLOEXEC`: pipes, sockets, socket pairs,
//!   accepted sockets and received descriptors are created without the flag
//!   and marked `FD_CLOEXEC` by `fcntl` at once. In between, another
//!   thread's `fork`+`exec` hands the descriptor to the new program, which
//!   then also holds a pipe's writing end open (its reader sees no end of
//!   stream until that program exits). Single-threaded programs, and
//!   programs that never `exec`, are not affected.
//! - **`SIGPIPE` on macOS.** It has no `MSG_NOSIGNAL`: every socket
//!   ipcwire creates or accepts gets `SO_NOSIGPIPE` (one `setsockopt`
//!   more), and sends pass no flags;
//!   [`Connection::from_fd`](crate::Connection::from_fd) sets it on a
//!   socket from elsewhere (`set_nosigpipe` does it for a bare descriptor).
//!   Pipes use the same `SIGPIPE` guard as Linux kernels before 6.18 (and
//!   Android): Linux 6.18's `RWF_NOSIGNAL` ([`writev_nosignal`]) is
//!   Linux's alone.
//! - **Accepted sockets on macOS** inherit the listener's `O_NONBLOCK`.
//! - **Passing descriptors on macOS**: after Python's `sendfds` exchange the
//!   receiver sends an `A` back, as Python does there; ipcwire does the same.
//!   BSD-derived kernels hand descriptors over at the head of a read (see
//!   [`Connection`](crate::Connection#descriptors-and-read-ahead)).
//! - **[`peer_cred`].** FreeBSD and macOS have no `SO_PEERCRED`; both read
//!   `LOCAL_PEERCRED` (uid and effective gid, recorded at connect time).
//!   The pid comes from `LOCAL_PEERPID` on macOS and from FreeBSD 13 on;
//!   FreeBSD 12 and older do not record it and `pid` is 0. On a TCP socket
//!   it is an error everywhere, never anyone's credentials.
//! - **Abstract socket names** are Linux's alone. `abstract:` addresses
//!   parse everywhere; binding or connecting to one elsewhere is
//!   `EAFNOSUPPORT`.
//! - **Unix socket paths** hold at most 103 bytes on macOS and FreeBSD
//!   (`sun_path` is 104 bytes there), 107 on Linux; a longer path is an
//!   error, never cut short.
//! - **Handshake randomness.** macOS has no `getrandom`; `getentropy` fills
//!   the challenge, 256 bytes per call at most.
//! - **Pipe capacity** ([`pipe_with_capacity`](crate::pipe_with_capacity),
//!   `pipe_size`, `set_pipe_size`) is Linux's `F_SETPIPE_SZ`, and absent
//!   elsewhere.
//! - **System call names.** `# System calls` sections and the [`inventory`]
//!   name Linux's calls, as the kernel names them; what other systems call
//!   instead is told under `# Platforms` or in the item's description.
//!   [`inventory::number`] is `None` on other systems.
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
#[cfg(target_os = "linux")]
mod seccomp;
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
pub use fs::{fstat_id, lstat, unlink, FileId};
pub use io::{read, readv, write, writev, IoSlice, IoSliceMut, IoSlices, MAX_IOV};
#[cfg(target_vendor = "apple")]
pub use net::set_nosigpipe;
pub use net::{
    accept, bind, connect, finish_connect, getpeername, getsockname, is_stream, listen, nodelay,
    peer_cred, set_nodelay, set_reuseaddr, socket, socket_error, PeerCred,
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
#[cfg(target_os = "linux")]
pub use seccomp::{set_no_new_privs, set_seccomp_filter};
#[cfg(target_os = "linux")]
pub use signal::writev_nosignal;
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
