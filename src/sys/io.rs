//! `read`, `write` and their vectored forms, each retried on `EINTR`.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use super::AsRawFd;
use super::{check, retry, to_usize, BorrowedFd, Errno};

/// `IOV_MAX`: the most buffers one `readv`, `writev` or `sendmsg` takes
/// (POSIX guarantees at least 16; Linux, macOS and FreeBSD allow 1024).
/// Longer lists are cut to this many.
pub const MAX_IOV: usize = 1024;

/// One buffer of a vectored write: an `iovec` that borrows `&'a [u8]`.
#[derive(Copy, Clone)]
#[repr(transparent)]
pub struct IoSlice<'a> {
    vec: libc::iovec,
    buf: PhantomData<&'a [u8]>,
}

/// One buffer of a vectored read: an `iovec` that borrows `&'a mut [u8]`.
#[repr(transparent)]
pub struct IoSliceMut<'a> {
    vec: libc::iovec,
    buf: PhantomData<&'a mut [u8]>,
}

impl<'a> IoSlice<'a> {
    /// Wraps a buffer to be written.
    #[must_use]
    pub fn new(buf: &'a [u8]) -> Self {
        IoSlice {
            vec: libc::iovec {
                iov_base: buf.as_ptr().cast_mut().cast(),
                iov_len: buf.len(),
            },
            buf: PhantomData,
        }
    }

    /// The buffer this `IoSlice` was made from.
    #[must_use]
    pub fn as_slice(&self) -> &'a [u8] {
        // SAFETY: `vec` was made by `new` from a `&'a [u8]`, which
        // `PhantomData` keeps borrowed for `'a`: the memory is live and
        // unchanged, and `iov_len` is its length.
        unsafe { core::slice::from_raw_parts(self.vec.iov_base.cast::<u8>(), self.vec.iov_len) }
    }
}

/// Up to `N` buffers for one vectored write, gathered one at a time: the
/// array is not initialised ahead, so a long list costs only what is used
/// (a zeroed 1,024-buffer array would cost each write a 16 KiB fill).
pub struct IoSlices<'a, const N: usize> {
    bufs: [MaybeUninit<IoSlice<'a>>; N],
    len: usize,
}

impl<'a, const N: usize> IoSlices<'a, N> {
    /// An empty list.
    #[must_use]
    pub const fn new() -> Self {
        IoSlices {
            bufs: [const { MaybeUninit::uninit() }; N],
            len: 0,
        }
    }

    /// Adds `buf` at the end; `false` (and nothing added) when full.
    pub fn push(&mut self, buf: &'a [u8]) -> bool {
        match self.bufs.get_mut(self.len) {
            Some(slot) => {
                slot.write(IoSlice::new(buf));
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The buffers added so far, for [`writev`] and the like.
    #[must_use]
    pub fn as_slice(&self) -> &[IoSlice<'a>] {
        // SAFETY: the first `len` elements were written by `push`, and
        // `MaybeUninit<T>` has the layout of `T`.
        unsafe { core::slice::from_raw_parts(self.bufs.as_ptr().cast::<IoSlice<'a>>(), self.len) }
    }
}

impl<const N: usize> core::fmt::Debug for IoSlices<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<const N: usize> Default for IoSlices<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> IoSliceMut<'a> {
    /// Wraps a buffer to be filled.
    pub fn new(buf: &'a mut [u8]) -> Self {
        IoSliceMut {
            vec: libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
            buf: PhantomData,
        }
    }
}

/// The `iovec` array and count for a slice of `IoSlice`s.
pub(super) fn iov_parts(bufs: &[IoSlice<'_>]) -> (*const libc::iovec, libc::c_int) {
    let n = bufs.len().min(MAX_IOV);
    // `IoSlice` is a transparent `iovec`, and `n <= 1024` fits a c_int.
    (bufs.as_ptr().cast(), n as libc::c_int)
}

/// `read(fd, buf)`: reads up to `buf.len()` bytes; `Ok(0)` is end of stream.
///
/// # Errors
/// `EAGAIN` on a non-blocking descriptor with nothing to read, `EBADF`,
/// `ECONNRESET` and the like. `EINTR` never surfaces: the call is repeated.
///
/// # System calls
/// `read` (repeated on `EINTR`).
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    retry(|| {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        check(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    })
    .map(to_usize)
}

/// `write(fd, buf)`: writes some prefix of `buf`, returning its length.
///
/// On a pipe whose reader is gone this raises `SIGPIPE`, whose default action
/// kills the process; on sockets use [`send`](super::send) instead.
///
/// # Errors
/// `EPIPE`, `EAGAIN`, `EBADF` and the like. `EINTR` never surfaces.
///
/// # System calls
/// `write` (repeated on `EINTR`).
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    retry(|| {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        check(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
    })
    .map(to_usize)
}

/// `readv(fd, bufs)`: fills the buffers in order; `Ok(0)` is end of stream.
///
/// At most [`MAX_IOV`] buffers are passed to the kernel; the rest are ignored.
///
/// # Errors
/// As for [`read()`]. `EINTR` never surfaces.
///
/// # System calls
/// `readv` (repeated on `EINTR`).
pub fn readv(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
    let n = bufs.len().min(MAX_IOV) as libc::c_int;
    retry(|| {
        // SAFETY: `IoSliceMut` is a transparent `iovec` over a live, writable
        // buffer, and `n` does not exceed the slice's length.
        check(unsafe { libc::readv(fd.as_raw_fd(), bufs.as_mut_ptr().cast(), n) })
    })
    .map(to_usize)
}

/// `writev(fd, bufs)`: writes a prefix of the concatenated buffers at once.
///
/// At most [`MAX_IOV`] buffers are passed to the kernel; the rest are ignored.
///
/// # Errors
/// As for [`write()`]. `EINTR` never surfaces.
///
/// # System calls
/// `writev` (repeated on `EINTR`).
pub fn writev(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    let (iov, n) = iov_parts(bufs);
    retry(|| {
        // SAFETY: `iov` points at `n` iovecs describing live, readable buffers.
        check(unsafe { libc::writev(fd.as_raw_fd(), iov, n) })
    })
    .map(to_usize)
}

impl core::fmt::Debug for IoSlice<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IoSlice")
            .field("len", &self.vec.iov_len)
            .finish()
    }
}

impl core::fmt::Debug for IoSliceMut<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IoSliceMut")
            .field("len", &self.vec.iov_len)
            .finish()
    }
}
