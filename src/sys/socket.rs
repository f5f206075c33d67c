//! `socketpair`, `send`/`sendmsg` without `SIGPIPE`, `recv` and `send`
//! that never wait, and `shutdown`.

use core::mem::{self, MaybeUninit};

use super::io::iov_parts;
use super::{check, retry, to_usize, BorrowedFd, Errno, IoSlice, OwnedFd};
use super::{AsRawFd, FromRawFd};

/// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`: two connected
/// bidirectional stream sockets, both close-on-exec from birth.
///
/// # Platforms
/// macOS has no `SOCK_CLOEXEC` and no `MSG_NOSIGNAL`: both sockets are
/// marked close-on-exec right after with `fcntl` (a `fork`+`exec` in
/// another thread in between can inherit them) and get `SO_NOSIGPIPE` from
/// a `setsockopt` each.
///
/// # Errors
/// `EMFILE`/`ENFILE` when out of descriptors.
///
/// # System calls
/// `socketpair`.
pub fn socketpair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = MaybeUninit::<[libc::c_int; 2]>::uninit();
    let ty = super::net::STREAM;
    // SAFETY: `fds` is writable room for the two descriptors socketpair stores.
    check(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr().cast()) })?;
    // SAFETY: socketpair succeeded, so both slots hold new descriptors.
    let [a, b] = unsafe { fds.assume_init() };
    // SAFETY: each descriptor is new and owned by nobody else.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(a), OwnedFd::from_raw_fd(b)) };
    #[cfg(target_vendor = "apple")]
    {
        use super::AsFd;
        super::net::finish_socket(a.as_fd())?;
        super::net::finish_socket(b.as_fd())?;
    }
    Ok((a, b))
}

/// Send flags that keep a vanished peer from raising `SIGPIPE`. macOS has
/// no `MSG_NOSIGNAL`; there every socket ipcwire creates or accepts has
/// `SO_NOSIGPIPE` instead.
#[cfg(not(target_vendor = "apple"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const NOSIGNAL: libc::c_int = 0;

/// `send(fd, buf, MSG_NOSIGNAL)`: writes a prefix of `buf` to a socket.
///
/// If the peer is gone this fails with `EPIPE` instead of raising `SIGPIPE`.
///
/// # Platforms
/// macOS has no `MSG_NOSIGNAL`: the flags are 0, and the socket must have
/// `SO_NOSIGPIPE`, as every socket ipcwire creates or accepts does
/// (`sys::set_nosigpipe` gives it to others).
///
/// # Errors
/// `EPIPE`, `ECONNRESET`, `EAGAIN`, `ENOTSOCK` and the like. `EINTR` never
/// surfaces.
///
/// # System calls
/// `sendto` (repeated on `EINTR`).
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    retry(|| {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        check(unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), NOSIGNAL) })
    })
    .map(to_usize)
}

/// `sendmsg(fd, bufs, MSG_NOSIGNAL)`: writes a prefix of the concatenated
/// buffers to a socket in one call, without raising `SIGPIPE`.
///
/// # Platforms
/// As for [`send`]: on macOS the flags are 0 and `SO_NOSIGPIPE` does the work.
///
/// # Errors
/// As for [`send`].
///
/// # System calls
/// `sendmsg` (repeated on `EINTR`).
pub fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    let (iov, n) = iov_parts(bufs);
    // SAFETY: an all-zero msghdr is valid: no address, no control data.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = iov.cast_mut();
    msg.msg_iovlen = n as _;
    retry(|| {
        // SAFETY: `msg` points at `n` iovecs over live, readable buffers and
        // carries no address or control data.
        check(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, NOSIGNAL) })
    })
    .map(to_usize)
}

/// `send(fd, buf, MSG_NOSIGNAL | MSG_DONTWAIT)`: as [`send`], but never
/// waits, whatever the socket's blocking mode: `EAGAIN` when the socket
/// buffer is full. For stepping a handshake among others without changing
/// the socket's flags.
///
/// # Errors
/// As for [`send`], and `EAGAIN`.
///
/// # System calls
/// `sendto` (repeated on `EINTR`).
pub fn send_nowait(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    let flags = NOSIGNAL | libc::MSG_DONTWAIT;
    retry(|| {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        check(unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) })
    })
    .map(to_usize)
}

/// `recv(fd, buf, MSG_DONTWAIT)`: reads what a socket holds, up to
/// `buf.len()` bytes, without waiting, whatever the socket's blocking mode.
/// `Ok(0)` is end of stream.
///
/// On a Unix socket, descriptors that ride with the bytes read are closed
/// by the kernel (no room for them is given): read exactly what belongs to
/// the message at hand.
///
/// # Errors
/// `EAGAIN` when nothing is waiting, `ECONNRESET`, `ENOTSOCK`.
///
/// # System calls
/// `recvfrom` (repeated on `EINTR`).
pub fn recv_nowait(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    retry(|| {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        check(unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        })
    })
    .map(to_usize)
}

/// Which direction(s) of a socket [`shutdown`] closes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receiving (`SHUT_RD`).
    Read,
    /// No more sending: the peer sees end of stream (`SHUT_WR`).
    Write,
    /// Both (`SHUT_RDWR`).
    Both,
}

/// `shutdown(fd, how)`: closes one or both directions of a socket for every
/// process that shares it, without closing the descriptor.
///
/// # Errors
/// `ENOTCONN` if the socket is not connected, `ENOTSOCK`.
///
/// # System calls
/// `shutdown`.
pub fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> Result<(), Errno> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: shutdown takes plain integers; bad values are reported.
    check(unsafe { libc::shutdown(fd.as_raw_fd(), how) }).map(drop)
}
