//! Owned and borrowed file descriptors, `close` and `fstat`.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{forget, MaybeUninit};

use super::{check, Errno};

/// A raw file descriptor number, as the kernel hands it out.
pub type RawFd = libc::c_int;

/// An open file descriptor that this value owns: dropping it closes it.
///
/// Like `std::os::fd::OwnedFd`, but available without `std`; under the `std`
/// feature the two convert into each other for free.
#[repr(transparent)]
pub struct OwnedFd {
    fd: RawFd,
}

/// A file descriptor borrowed from an owner that outlives `'fd`.
#[derive(Copy, Clone)]
#[repr(transparent)]
pub struct BorrowedFd<'fd> {
    fd: RawFd,
    owner: PhantomData<&'fd OwnedFd>,
}

impl OwnedFd {
    /// Takes ownership of a raw descriptor.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns or will close:
    /// the returned value closes it when dropped.
    pub unsafe fn from_raw_fd(fd: RawFd) -> OwnedFd {
        OwnedFd { fd }
    }

    /// Borrows the descriptor.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        BorrowedFd {
            fd: self.fd,
            owner: PhantomData,
        }
    }

    /// The raw descriptor number, still owned by `self`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd
    }

    /// Gives up ownership without closing: the caller must close it.
    pub fn into_raw_fd(self) -> RawFd {
        let fd = self.fd;
        forget(self);
        fd
    }
}

impl Drop for OwnedFd {
    /// Closes the descriptor and ignores the result, as std does: after a
    /// failed `close` (even `EINTR`) Linux has already released the number.
    ///
    /// # System calls
    /// `close`.
    fn drop(&mut self) {
        // SAFETY: we own `fd` and nothing uses it after this point.
        let _ = unsafe { libc::close(self.fd) };
    }
}

/// `close(fd)`: closes the descriptor and reports the kernel's answer.
///
/// Never retried on `EINTR`: on Linux the descriptor is released even then,
/// and retrying could close a number another thread has just been given.
/// Dropping an [`OwnedFd`] does the same and ignores the error.
///
/// # Errors
/// `EIO` and the like from a deferred write error; `EINTR`, after which the
/// descriptor is closed all the same.
///
/// # System calls
/// `close`.
pub fn close(fd: OwnedFd) -> Result<(), Errno> {
    let raw = fd.into_raw_fd();
    // SAFETY: we owned `raw` and give it up here; it is never used again.
    check(unsafe { libc::close(raw) }).map(drop)
}

/// `fstat(fd)`: tells whether the descriptor is a socket.
///
/// # Errors
/// `EBADF` if `fd` is not open.
///
/// # System calls
/// `fstat`.
pub fn fstat_is_socket(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is writable memory of the right size for `fstat` to fill.
    check(unsafe { libc::fstat(fd.fd, st.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it initialised `st`.
    let mode = unsafe { st.assume_init() }.st_mode;
    Ok(mode & libc::S_IFMT == libc::S_IFSOCK)
}

impl BorrowedFd<'_> {
    /// Borrows a raw descriptor.
    ///
    /// # Safety
    /// `fd` must stay open for the whole lifetime of the returned value.
    pub unsafe fn borrow_raw(fd: RawFd) -> Self {
        BorrowedFd {
            fd,
            owner: PhantomData,
        }
    }

    /// The raw descriptor number.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl fmt::Debug for OwnedFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedFd").field(&self.fd).finish()
    }
}

impl fmt::Debug for BorrowedFd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BorrowedFd").field(&self.fd).finish()
    }
}

#[cfg(feature = "std")]
mod std_impls {
    use super::{BorrowedFd, OwnedFd, RawFd};
    use std::os::fd as stdfd;

    impl From<stdfd::OwnedFd> for OwnedFd {
        fn from(fd: stdfd::OwnedFd) -> Self {
            OwnedFd {
                fd: stdfd::IntoRawFd::into_raw_fd(fd),
            }
        }
    }

    impl From<OwnedFd> for stdfd::OwnedFd {
        fn from(fd: OwnedFd) -> Self {
            // SAFETY: `into_raw_fd` hands over sole ownership of an open descriptor.
            unsafe { stdfd::FromRawFd::from_raw_fd(fd.into_raw_fd()) }
        }
    }

    impl stdfd::AsFd for OwnedFd {
        fn as_fd(&self) -> stdfd::BorrowedFd<'_> {
            // SAFETY: `self` owns the descriptor and outlives the borrow.
            unsafe { stdfd::BorrowedFd::borrow_raw(self.fd) }
        }
    }

    impl stdfd::AsRawFd for OwnedFd {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }

    impl stdfd::IntoRawFd for OwnedFd {
        fn into_raw_fd(self) -> RawFd {
            OwnedFd::into_raw_fd(self)
        }
    }

    impl stdfd::FromRawFd for OwnedFd {
        unsafe fn from_raw_fd(fd: RawFd) -> Self {
            // SAFETY: the caller upholds `FromRawFd`'s contract, which is ours.
            unsafe { OwnedFd::from_raw_fd(fd) }
        }
    }

    impl<'fd> From<stdfd::BorrowedFd<'fd>> for BorrowedFd<'fd> {
        fn from(fd: stdfd::BorrowedFd<'fd>) -> Self {
            // SAFETY: std's borrow guarantees the descriptor is open for 'fd.
            unsafe { BorrowedFd::borrow_raw(stdfd::AsRawFd::as_raw_fd(&fd)) }
        }
    }

    impl stdfd::AsFd for BorrowedFd<'_> {
        fn as_fd(&self) -> stdfd::BorrowedFd<'_> {
            // SAFETY: our borrow guarantees the descriptor stays open.
            unsafe { stdfd::BorrowedFd::borrow_raw(self.fd) }
        }
    }

    impl stdfd::AsRawFd for BorrowedFd<'_> {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }
}

/// `fcntl(F_SETFL)`: turns `O_NONBLOCK` on or off, keeping the other flags.
///
/// # System calls
/// `fcntl(F_GETFL)`, `fcntl(F_SETFL)`.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> Result<(), Errno> {
    // SAFETY: F_GETFL takes no argument and only reads the flags.
    let flags = check(unsafe { libc::fcntl(fd.fd, libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL takes an int of flags.
    check(unsafe { libc::fcntl(fd.fd, libc::F_SETFL, flags) }).map(drop)
}

/// `fcntl(F_SETFD, FD_CLOEXEC)`: marks a new descriptor close-on-exec, on
/// macOS, whose `pipe`, `socket`, `socketpair` and `accept` take no flag
/// for it.
///
/// Until this call the descriptor is inheritable: a `fork`+`exec` in
/// another thread between its creation and here hands it to the new
/// program. Linux and FreeBSD never open that window.
///
/// # System calls
/// `fcntl(F_SETFD)`.
#[cfg(target_vendor = "apple")]
pub(super) fn set_cloexec(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: F_SETFD takes an int of descriptor flags; FD_CLOEXEC is the
    // only one, and a new descriptor has none to keep.
    check(unsafe { libc::fcntl(fd.fd, libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}
