//! `sendmsg`/`recvmsg` with `SCM_RIGHTS`: passing open descriptors over a
//! Unix socket.
//!
//! Received descriptors are [`OwnedFd`]s from the moment the kernel hands
//! them over, close-on-exec from birth (`MSG_CMSG_CLOEXEC`; on Apple
//! systems, which lack it, `fcntl(FD_CLOEXEC)` right after receipt), and
//! never more than [`MAX_FDS`] per receive. Control data the kernel cut
//! short (`MSG_CTRUNC`) closes every descriptor that came with it.

use core::mem;

use super::cmsg::{encode_rights, walk_rights, CmsgFormat};
use super::io::iov_parts;
use super::{check, retry, to_usize, BorrowedFd, Errno, IoSlice, IoSliceMut, OwnedFd, RawFd};
use super::{AsFd, AsRawFd, FromRawFd, IntoRawFd};

/// The most descriptors one message may carry, sent or received: the
/// receive buffer for control data has room for this many. (Linux's own
/// limit per message, `SCM_MAX_FD`, is 253.)
pub const MAX_FDS: usize = 64;

// SAFETY: CMSG_LEN and CMSG_SPACE compute with their argument and touch no memory.
const DATA_OFFSET: usize = unsafe { libc::CMSG_LEN(0) } as usize;
// SAFETY: as above.
const ALIGN: usize = unsafe { libc::CMSG_SPACE(1) } as usize - DATA_OFFSET;

/// Width of `cmsg_len` (`size_t` in glibc, `socklen_t` elsewhere).
const fn width<T, F>(_field: fn(&T) -> &F) -> usize {
    mem::size_of::<F>()
}

impl CmsgFormat {
    /// This target's `struct cmsghdr`, as its C library lays it out.
    pub const HOST: CmsgFormat = match CmsgFormat::new(
        mem::size_of::<libc::cmsghdr>(),
        DATA_OFFSET,
        ALIGN,
        (
            mem::offset_of!(libc::cmsghdr, cmsg_len),
            width(|h: &libc::cmsghdr| &h.cmsg_len),
        ),
        mem::offset_of!(libc::cmsghdr, cmsg_level),
        mem::offset_of!(libc::cmsghdr, cmsg_type),
        (libc::SOL_SOCKET, libc::SCM_RIGHTS),
    ) {
        Some(format) => format,
        None => panic!("libc's cmsghdr is not a layout the walker knows"),
    };
}

/// Control bytes for one message of [`MAX_FDS`] descriptors.
const CONTROL_LEN: usize = match CmsgFormat::HOST.rights_space(MAX_FDS) {
    Some(len) => len,
    None => panic!("MAX_FDS overflows"),
};

/// Room for control data, aligned as `struct cmsghdr` must be.
#[repr(C, align(8))]
struct Control([u8; CONTROL_LEN]);

const _: () = assert!(mem::align_of::<Control>() >= mem::align_of::<libc::cmsghdr>());

/// Where the kernel can mark received descriptors close-on-exec itself.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "illumos"
))]
const RECV_FLAGS: libc::c_int = libc::MSG_CMSG_CLOEXEC;
/// Elsewhere (Apple systems) each is marked with `fcntl` right after
/// receipt: a thread that forks and execs in between could pass it on.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "illumos"
)))]
const RECV_FLAGS: libc::c_int = 0;

/// Apple systems have no `MSG_NOSIGNAL`; a socket there needs `SO_NOSIGPIPE`.
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// Descriptors received with a message, owned: up to [`MAX_FDS`] of them,
/// in the order the sender gave them. Whatever is still inside when it is
/// dropped (or cleared, or truncated) is closed.
///
/// ```
/// use std::os::fd::AsFd;
/// use ipcwire::sys::{self, ReceivedFds};
/// let (a, b) = sys::socketpair()?;
/// let (r, _w) = sys::pipe()?;
/// sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(b"x")], &[r.as_fd()])?;
/// let mut fds = ReceivedFds::new();
/// let got = sys::recv_with_fds(b.as_fd(), &mut [sys::IoSliceMut::new(&mut [0; 1])], &mut fds)?;
/// assert_eq!((got.len, got.fds, got.truncated), (1, 1, false));
/// let pipe_end: sys::OwnedFd = fds.remove(0).unwrap();
/// # drop(pipe_end);
/// # Ok::<(), sys::Errno>(())
/// ```
pub struct ReceivedFds {
    fds: [RawFd; MAX_FDS],
    len: usize,
}

impl ReceivedFds {
    /// An empty set.
    #[must_use]
    pub const fn new() -> ReceivedFds {
        ReceivedFds {
            fds: [-1; MAX_FDS],
            len: 0,
        }
    }

    /// How many descriptors it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Borrows descriptor `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<BorrowedFd<'_>> {
        let raw = *self.fds[..self.len].get(i)?;
        // SAFETY: `self` owns `raw` and keeps it open while the borrow lives.
        Some(unsafe { BorrowedFd::borrow_raw(raw) })
    }

    /// Borrows each descriptor in order.
    pub fn iter(&self) -> impl Iterator<Item = BorrowedFd<'_>> + '_ {
        (0..self.len).filter_map(move |i| self.get(i))
    }

    /// Takes descriptor `i` out, moving the later ones down.
    pub fn remove(&mut self, i: usize) -> Option<OwnedFd> {
        let raw = *self.fds[..self.len].get(i)?;
        self.fds.copy_within(i + 1..self.len, i);
        self.len -= 1;
        // SAFETY: `raw` was owned by `self` and is no longer listed in it.
        Some(unsafe { OwnedFd::from_raw_fd(raw) })
    }

    /// Takes the last descriptor out.
    pub fn pop(&mut self) -> Option<OwnedFd> {
        self.len.checked_sub(1).and_then(|last| self.remove(last))
    }

    /// Adds `fd` at the end; gives it back when the set is full.
    ///
    /// # Errors
    /// `Err(fd)` when it already holds [`MAX_FDS`].
    pub fn push(&mut self, fd: OwnedFd) -> Result<(), OwnedFd> {
        let Some(slot) = self.fds.get_mut(self.len) else {
            return Err(fd);
        };
        *slot = fd.into_raw_fd();
        self.len += 1;
        Ok(())
    }

    /// Closes every descriptor after the first `len`.
    ///
    /// # System calls
    /// `close`, once per descriptor closed.
    pub fn truncate(&mut self, len: usize) {
        while self.len > len {
            drop(self.pop());
        }
    }

    /// Closes every descriptor it holds.
    ///
    /// # System calls
    /// `close`, once per descriptor.
    pub fn clear(&mut self) {
        self.truncate(0);
    }
}

impl Default for ReceivedFds {
    fn default() -> Self {
        ReceivedFds::new()
    }
}

impl Drop for ReceivedFds {
    /// Closes what is left.
    ///
    /// # System calls
    /// `close`, once per descriptor.
    fn drop(&mut self) {
        self.clear();
    }
}

impl core::fmt::Debug for ReceivedFds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(&self.fds[..self.len]).finish()
    }
}

/// Takes the descriptors out front to back; those not taken are closed
/// when the iterator is dropped.
#[derive(Debug)]
pub struct TakeFds(ReceivedFds);

impl Iterator for TakeFds {
    type Item = OwnedFd;

    fn next(&mut self) -> Option<OwnedFd> {
        self.0.remove(0)
    }
}

impl IntoIterator for ReceivedFds {
    type Item = OwnedFd;
    type IntoIter = TakeFds;

    fn into_iter(self) -> TakeFds {
        TakeFds(self)
    }
}

/// What one [`recv_with_fds`] got.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes received (`0` at end of stream).
    pub len: usize,
    /// Descriptors added to the set.
    pub fds: usize,
    /// The descriptors that came with these bytes did not all arrive: the
    /// kernel cut the control data short (`MSG_CTRUNC`: more than
    /// [`MAX_FDS`], or this process is out of descriptor numbers), they did
    /// not fit the set, or the control data was malformed. Every
    /// descriptor this call received has been closed (`fds` is `0`); the
    /// bytes were received all the same.
    pub truncated: bool,
}

/// `sendmsg(fd, bufs, SCM_RIGHTS(fds), MSG_NOSIGNAL)`: writes a prefix of
/// the buffers to a Unix socket with copies of `fds` attached to its first
/// byte. The peer gets them with the receive that reads that byte.
///
/// With no descriptors it is a plain vectored send. When fewer bytes than
/// offered are written, the descriptors have gone with the ones that were.
///
/// # Errors
/// `EINVAL` for more than [`MAX_FDS`] descriptors (nothing sent); `EBADF`
/// if one is not open; `EOPNOTSUPP`/`EINVAL` on a socket that cannot carry
/// them (TCP); `ENOTSOCK`; `EPIPE` when the peer is gone, never `SIGPIPE`;
/// `EAGAIN` (nothing sent, descriptors included). `EINTR` never surfaces.
///
/// # System calls
/// `sendmsg` (repeated on `EINTR`).
pub fn send_with_fds(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    fds: &[BorrowedFd<'_>],
) -> Result<usize, Errno> {
    let mut raw = [0; MAX_FDS];
    let raw = raw.get_mut(..fds.len()).ok_or(Errno::INVAL)?;
    for (slot, fd) in raw.iter_mut().zip(fds) {
        *slot = fd.as_raw_fd();
    }
    let mut control = Control([0; CONTROL_LEN]);
    let control_len = if raw.is_empty() {
        0
    } else {
        encode_rights(&CmsgFormat::HOST, raw, &mut control.0).ok_or(Errno::INVAL)?
    };
    let (iov, n) = iov_parts(bufs);
    // SAFETY: an all-zero msghdr is valid: no address, no control data.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = iov.cast_mut();
    msg.msg_iovlen = n as _;
    if control_len > 0 {
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control_len as _;
    }
    retry(|| {
        // SAFETY: `msg` points at `n` iovecs over live, readable buffers and
        // at `control_len` bytes of well-formed control data in `control`.
        check(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, SEND_FLAGS) })
    })
    .map(to_usize)
}

/// `getsockname(fd)`: whether `fd` is a Unix socket, the only kind that
/// carries descriptors (a TCP `sendmsg` drops them without a word).
///
/// # Errors
/// `ENOTSOCK` on anything but a socket; `EBADF`.
///
/// # System calls
/// `getsockname`.
pub fn is_unix_socket(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    let family = super::getsockname(fd)?.family();
    Ok(libc::c_int::from(family) == libc::AF_UNIX)
}

/// `recvmsg(fd, bufs, MSG_CMSG_CLOEXEC)` with room for [`MAX_FDS`]
/// descriptors: fills the buffers in order and adds the descriptors that
/// came with the bytes to `fds`, owned and close-on-exec.
///
/// On a Unix stream socket one call never reads past the bytes of a send
/// that carried descriptors, so the descriptors it returns belong to the
/// last send it read from. When they did not all arrive (see
/// [`Received::truncated`]), every one this call received is closed.
///
/// # Platforms
/// Apple systems have no `MSG_CMSG_CLOEXEC`: each descriptor received is
/// marked close-on-exec right after with `fcntl` (a `fork`+`exec` in
/// another thread in between can inherit it).
///
/// # Errors
/// `EAGAIN`, `ENOTSOCK`, `ECONNRESET` and the like; nothing was received.
/// `EINTR` never surfaces.
///
/// # System calls
/// `recvmsg` (repeated on `EINTR`); `close` for each descriptor closed.
pub fn recv_with_fds(
    fd: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    fds: &mut ReceivedFds,
) -> Result<Received, Errno> {
    // Not zeroed: this runs at every receive on a Unix socket, and only the
    // bytes the kernel writes are read back.
    let mut control = mem::MaybeUninit::<Control>::uninit();
    let iovlen = bufs.len().min(1024);
    let (len, control_len, flags) = retry(|| {
        // SAFETY: an all-zero msghdr is valid: no address, no buffers yet.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_iov = bufs.as_mut_ptr().cast();
        msg.msg_iovlen = iovlen as _;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = CONTROL_LEN as _;
        // SAFETY: `IoSliceMut` is a transparent iovec over a live, writable
        // buffer; the control room is `CONTROL_LEN` writable, aligned bytes.
        let n = check(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, RECV_FLAGS) })?;
        Ok((to_usize(n), msg.msg_controllen as usize, msg.msg_flags))
    })?;
    let written = control_len.min(CONTROL_LEN);
    // SAFETY: recvmsg wrote `msg_controllen` bytes of control data at the
    // start of `control` (never more than the room it was given), so the
    // first `written` bytes are initialised.
    let control = unsafe { core::slice::from_raw_parts(control.as_ptr().cast::<u8>(), written) };
    let (added, complete) = adopt(control, fds);
    let truncated = flags & libc::MSG_CTRUNC != 0 || !complete;
    if truncated {
        fds.truncate(fds.len() - added);
    }
    Ok(Received {
        len,
        fds: if truncated { 0 } else { added },
        truncated,
    })
}

/// Makes every descriptor in `control` owned at once, adding it to `fds`;
/// returns how many were added and whether all were.
fn adopt(control: &[u8], fds: &mut ReceivedFds) -> (usize, bool) {
    let mut added = 0;
    let mut complete = true;
    let walked = walk_rights(&CmsgFormat::HOST, control, |raw| {
        if raw < 0 {
            complete = false;
            return;
        }
        // SAFETY: the kernel installed `raw` in this process for this
        // recvmsg (it wrote it into SCM_RIGHTS data), and nothing else
        // knows the number yet: it is ours to own.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        if RECV_FLAGS == 0 && set_cloexec(owned.as_fd()).is_err() {
            complete = false;
            return;
        }
        match fds.push(owned) {
            Ok(()) => added += 1,
            Err(_closed) => complete = false,
        }
    });
    (added, complete && walked.is_ok())
}

/// `fcntl(F_SETFD, FD_CLOEXEC)`, where `recvmsg` cannot do it.
fn set_cloexec(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: F_SETFD takes an int of descriptor flags.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn host_format_is_the_c_librarys() {
        let expected = match (mem::size_of::<usize>(), cfg!(target_env = "musl")) {
            (8, false) => CmsgFormat::LINUX_64,
            (8, true) => CmsgFormat::MUSL_64,
            _ => CmsgFormat::LINUX_32,
        };
        assert_eq!(CmsgFormat::HOST, expected);
        // SAFETY: arithmetic only.
        let space = unsafe { libc::CMSG_SPACE((MAX_FDS * 4) as u32) } as usize;
        assert_eq!(CONTROL_LEN, space);
    }
}
