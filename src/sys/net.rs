//! `socket`, `bind`, `listen`, `accept4`, `connect`, socket names and options.

use core::mem::{size_of, MaybeUninit};
use core::time::Duration;

use super::{check, poll, retry, BorrowedFd, Errno, OwnedFd, PollFd, PollFlags, SockAddr};
use super::{AsRawFd, FromRawFd};

/// The type of every socket ipcwire creates: a stream, close-on-exec from
/// birth where the system can do that (not macOS: see [`finish_socket`]).
#[cfg(not(target_vendor = "apple"))]
pub(super) const STREAM: libc::c_int = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
#[cfg(target_vendor = "apple")]
pub(super) const STREAM: libc::c_int = libc::SOCK_STREAM;

/// `socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)`: a new stream socket of
/// the address's family (`AF_UNIX`, `AF_INET` or `AF_INET6`).
///
/// # Platforms
/// macOS has no `SOCK_CLOEXEC` and no `MSG_NOSIGNAL`: the socket is marked
/// close-on-exec right after with `fcntl` (a `fork`+`exec` in another
/// thread in between can inherit it) and gets `SO_NOSIGPIPE` from a
/// `setsockopt`.
///
/// # Errors
/// `EAFNOSUPPORT` where the family is missing, `EMFILE`.
///
/// # System calls
/// `socket`.
pub fn socket(family: libc::sa_family_t) -> Result<OwnedFd, Errno> {
    // SAFETY: socket takes plain integers; bad values are reported.
    let fd = check(unsafe { libc::socket(libc::c_int::from(family), STREAM, 0) })?;
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    #[cfg(target_vendor = "apple")]
    finish_socket(super::AsFd::as_fd(&fd))?;
    Ok(fd)
}

/// Gives a socket macOS created what flags give it elsewhere: close-on-exec
/// (`SOCK_CLOEXEC`) and no `SIGPIPE` on sends (`MSG_NOSIGNAL`).
#[cfg(target_vendor = "apple")]
pub(super) fn finish_socket(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    super::fd::set_cloexec(fd)?;
    set_nosigpipe(fd)
}

/// `setsockopt(SOL_SOCKET, SO_NOSIGPIPE, 1)`: a send to a peer that is gone
/// fails with `EPIPE` instead of raising `SIGPIPE` (macOS only).
///
/// macOS has no `MSG_NOSIGNAL`, so [`send`](super::send) relies on this
/// option: every socket ipcwire creates or accepts has it. Set it on a
/// socket from elsewhere before sending on it.
///
/// # System calls
/// `setsockopt`.
#[cfg(target_vendor = "apple")]
pub fn set_nosigpipe(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1)
}

/// `bind(fd, addr)`: gives the socket its local address.
///
/// # Errors
/// `EADDRINUSE`, `EACCES`, `ENOENT` (missing directory), `EADDRNOTAVAIL`.
///
/// # System calls
/// `bind`.
pub fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> Result<(), Errno> {
    // SAFETY: `addr` points at `addr.len()` initialised bytes of a sockaddr.
    check(unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.len()) }).map(drop)
}

/// `listen(fd, backlog)`: makes a bound socket accept connections.
///
/// # Errors
/// `EADDRINUSE` (a TCP port taken since `bind`), `EOPNOTSUPP`.
///
/// # System calls
/// `listen`.
pub fn listen(fd: BorrowedFd<'_>, backlog: i32) -> Result<(), Errno> {
    // SAFETY: listen takes plain integers.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map(drop)
}

/// `accept4(fd, SOCK_CLOEXEC)`: takes the next pending connection and
/// returns its socket, close-on-exec from birth, and the peer's address.
///
/// # Platforms
/// macOS has no `accept4`: the socket comes from `accept` and is marked
/// close-on-exec right after with `fcntl` (a `fork`+`exec` in another
/// thread in between can inherit it), and gets `SO_NOSIGPIPE` from a
/// `setsockopt`. Unlike `accept4`, `accept` gives the new socket the
/// listener's `O_NONBLOCK`, which `fcntl` then clears, so the new socket
/// blocks as it does elsewhere.
///
/// # Errors
/// `EAGAIN` on a non-blocking listener with nobody waiting, `EMFILE`,
/// `ECONNABORTED`. `EINTR` never surfaces.
///
/// # System calls
/// `accept4` (repeated on `EINTR`).
#[doc(alias = "accept4")]
pub fn accept(fd: BorrowedFd<'_>) -> Result<(OwnedFd, SockAddr), Errno> {
    let mut peer = SockAddr::empty();
    let new = retry(|| {
        let (ptr, len) = peer.as_mut_ptr();
        // SAFETY: `ptr` and `len` describe writable room for any address.
        check(unsafe { raw_accept(fd.as_raw_fd(), ptr, len) })
    })?;
    // SAFETY: `new` is a new descriptor that nothing else owns.
    let new = unsafe { OwnedFd::from_raw_fd(new) };
    #[cfg(target_vendor = "apple")]
    {
        use super::AsFd;
        finish_socket(new.as_fd())?;
        super::fd::set_nonblocking(new.as_fd(), false)?;
    }
    Ok((new, peer))
}

/// `accept4(fd, addr, len, SOCK_CLOEXEC)`.
///
/// # Safety
/// `addr` and `len` must describe writable room for an address.
#[cfg(not(target_vendor = "apple"))]
unsafe fn raw_accept(
    fd: libc::c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> libc::c_int {
    // SAFETY: the caller provides room for the address.
    unsafe { libc::accept4(fd, addr, len, libc::SOCK_CLOEXEC) }
}

/// `accept(fd, addr, len)`: macOS has no `accept4`; [`accept`] finishes the
/// socket.
///
/// # Safety
/// `addr` and `len` must describe writable room for an address.
#[cfg(target_vendor = "apple")]
unsafe fn raw_accept(
    fd: libc::c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> libc::c_int {
    // SAFETY: the caller provides room for the address.
    unsafe { libc::accept(fd, addr, len) }
}

/// `connect(fd, addr)`: connects a socket, waiting until it is done.
///
/// A signal that interrupts a blocking connect means different things by
/// family. On a Unix socket (waiting for room in a full backlog) no
/// connection was made, so this connects again. On TCP the kernel goes on
/// connecting, and calling `connect` again would fail with `EALREADY`, so
/// this waits for the socket to become writable and reads the outcome from
/// `SO_ERROR` instead, as [`finish_connect`] does.
///
/// # Errors
/// `ECONNREFUSED` (nobody listens), `ENOENT` (no such socket file),
/// `ETIMEDOUT`, `ENETUNREACH`, `EAGAIN` (a Unix listener's backlog is full),
/// and on a non-blocking socket `EINPROGRESS`.
///
/// # System calls
/// `connect`, again after `EINTR` on a Unix socket; after `EINTR` on TCP,
/// `poll`, `getsockopt(SO_ERROR)` and `getpeername`.
pub fn connect(fd: BorrowedFd<'_>, addr: &SockAddr) -> Result<(), Errno> {
    loop {
        // SAFETY: `addr` points at `addr.len()` initialised bytes of a sockaddr.
        match check(unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len()) }) {
            Err(Errno::INTR) if addr.family() == libc::AF_UNIX as libc::sa_family_t => {}
            Err(Errno::INTR) => return finish_connect(fd, None),
            other => return other.map(drop),
        }
    }
}

/// Waits up to `timeout` for a connect in progress and returns its outcome.
///
/// Success is never taken on trust: after `SO_ERROR` reports none,
/// `getpeername` confirms the socket is connected (a Unix socket whose
/// connect was interrupted is writable at once, with no error, yet not
/// connected: that is `ENOTCONN`).
///
/// # Errors
/// `ETIMEDOUT` when the time runs out; the connect's own error otherwise;
/// `ENOTCONN` if no connection was made.
///
/// # System calls
/// `poll`, `clock_gettime`, `getsockopt(SO_ERROR)`, `getpeername`.
pub fn finish_connect(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> Result<(), Errno> {
    let mut fds = [PollFd::new(fd, PollFlags::OUT)];
    if poll(&mut fds, timeout)? == 0 {
        return Err(Errno::TIMEDOUT);
    }
    match socket_error(fd)? {
        None => getpeername(fd).map(drop),
        Some(e) => Err(e),
    }
}

/// `getsockopt(SO_TYPE)`: whether the socket is a stream socket, the only
/// kind that carries frames (a datagram socket would cut and splice them).
///
/// # System calls
/// `getsockopt`.
pub fn is_stream(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    let kind: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, libc::SO_TYPE)?;
    Ok(kind == libc::SOCK_STREAM)
}

/// `getsockopt(SO_ERROR)`: takes the socket's pending error, if any.
///
/// # System calls
/// `getsockopt`.
pub fn socket_error(fd: BorrowedFd<'_>) -> Result<Option<Errno>, Errno> {
    let err: libc::c_int = getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
    Ok((err != 0).then_some(Errno::from_raw(err)))
}

/// `getsockname(fd)`: the socket's own address.
///
/// # System calls
/// `getsockname`.
pub fn getsockname(fd: BorrowedFd<'_>) -> Result<SockAddr, Errno> {
    let mut addr = SockAddr::empty();
    let (ptr, len) = addr.as_mut_ptr();
    // SAFETY: `ptr` and `len` describe writable room for any address.
    check(unsafe { libc::getsockname(fd.as_raw_fd(), ptr, len) })?;
    Ok(addr)
}

/// `getpeername(fd)`: the connected peer's address.
///
/// # Errors
/// `ENOTCONN` if the socket is not connected.
///
/// # System calls
/// `getpeername`.
pub fn getpeername(fd: BorrowedFd<'_>) -> Result<SockAddr, Errno> {
    let mut addr = SockAddr::empty();
    let (ptr, len) = addr.as_mut_ptr();
    // SAFETY: `ptr` and `len` describe writable room for any address.
    check(unsafe { libc::getpeername(fd.as_raw_fd(), ptr, len) })?;
    Ok(addr)
}

/// `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`: lets a TCP listener bind a
/// port whose old connections linger in `TIME_WAIT`.
///
/// # System calls
/// `setsockopt`.
pub fn set_reuseaddr(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
}

/// `setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)`: sends small messages at once
/// instead of waiting to batch them (Nagle's algorithm).
///
/// # System calls
/// `setsockopt`.
pub fn set_nodelay(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// `getsockopt(IPPROTO_TCP, TCP_NODELAY)`: whether Nagle's algorithm is off.
///
/// # System calls
/// `getsockopt`.
pub fn nodelay(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    let on: libc::c_int = getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY)?;
    Ok(on != 0)
}

/// Credentials of the process at the other end of a Unix socket, as the
/// kernel recorded them when the connection was made.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeerCred {
    /// The peer's process id; `0` on FreeBSD 12 and older, which do not
    /// record it.
    pub pid: i32,
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
}

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`: who is at the other end of a
/// connected Unix socket.
///
/// # Platforms
/// - FreeBSD: `getsockopt(SOL_LOCAL, LOCAL_PEERCRED)`, a `struct xucred`
///   whose first group is the effective gid (as `getpeereid` reports). Its
///   pid field exists from FreeBSD 13 on; older kernels leave it 0.
/// - macOS: the same `LOCAL_PEERCRED`, then the pid from
///   `getsockopt(SOL_LOCAL, LOCAL_PEERPID)`.
///
/// Both record the credentials when the connection is made, as Linux does.
///
/// # Errors
/// `ENOPROTOOPT` when the kernel holds no credentials for the socket, as on
/// TCP (where Linux reports pid 0 and the BSDs read IP options rather than
/// failing; there an IPv6 socket may give the IP layer's own error);
/// `ENOTSOCK` on a pipe.
///
/// # System calls
/// `getsockopt`; on macOS twice.
pub fn peer_cred(fd: BorrowedFd<'_>) -> Result<PeerCred, Errno> {
    read_peer_cred(fd)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_peer_cred(fd: BorrowedFd<'_>) -> Result<PeerCred, Errno> {
    let cred: libc::ucred = getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    if cred.pid == 0 {
        return Err(Errno::NOPROTOOPT);
    }
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

#[cfg(target_os = "freebsd")]
fn read_peer_cred(fd: BorrowedFd<'_>) -> Result<PeerCred, Errno> {
    let cred = local_peercred(fd)?;
    // SAFETY: both members of the union are plain data, and `getsockopt`
    // started from zeroed memory, so every byte of it is initialised; a
    // kernel older than 13 leaves the bytes zero.
    let pid = unsafe { cred.cr_pid__c_anonymous_union.cr_pid };
    Ok(PeerCred {
        pid,
        uid: cred.cr_uid,
        gid: cred.cr_groups[0],
    })
}

#[cfg(target_vendor = "apple")]
fn read_peer_cred(fd: BorrowedFd<'_>) -> Result<PeerCred, Errno> {
    let cred = local_peercred(fd)?;
    let pid: libc::pid_t = getsockopt(fd, libc::SOL_LOCAL, libc::LOCAL_PEERPID)?;
    Ok(PeerCred {
        pid,
        uid: cred.cr_uid,
        gid: cred.cr_groups[0],
    })
}

/// `getsockopt(SOL_LOCAL, LOCAL_PEERCRED)`, checked to be a whole `xucred`
/// of the version this crate reads, with at least the effective group.
///
/// `SOL_LOCAL` is 0, which on an IP socket is `IPPROTO_IP`: there the same
/// call reads IP options and succeeds with an empty reply, which must not
/// pass for the credentials of uid 0.
#[cfg(any(target_os = "freebsd", target_vendor = "apple"))]
fn local_peercred(fd: BorrowedFd<'_>) -> Result<libc::xucred, Errno> {
    let (cred, len) = getsockopt_len::<libc::xucred>(fd, libc::SOL_LOCAL, libc::LOCAL_PEERCRED)?;
    let whole = len == size_of::<libc::xucred>();
    if !whole || cred.cr_version != libc::XUCRED_VERSION || cred.cr_ngroups < 1 {
        return Err(Errno::NOPROTOOPT);
    }
    Ok(cred)
}

/// Sets an `int` socket option.
fn setsockopt(fd: BorrowedFd<'_>, level: i32, name: i32, value: libc::c_int) -> Result<(), Errno> {
    let len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` is a readable int and `len` is its size.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            len,
        )
    })
    .map(drop)
}

/// Reads a socket option of plain-data type `T` (an int or a C struct).
fn getsockopt<T: Copy>(fd: BorrowedFd<'_>, level: i32, name: i32) -> Result<T, Errno> {
    getsockopt_len(fd, level, name).map(|(value, _)| value)
}

/// Reads a socket option of plain-data type `T`, and how many bytes of it
/// the kernel wrote.
fn getsockopt_len<T: Copy>(fd: BorrowedFd<'_>, level: i32, name: i32) -> Result<(T, usize), Errno> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is writable room of `len` bytes.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    // SAFETY: only used with ints and C structs, for which zeroed memory
    // that the kernel may have partly overwritten is a valid value.
    Ok((unsafe { value.assume_init() }, len as usize))
}
