//! Owned and borrowed file descriptors, `close` and `fstat`.

use core::mem::MaybeUninit;

use super::{check, Errno};

#[cfg(feature = "std")]
pub use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

#[cfg(not(feature = "std"))]
pub use polyfill::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// Without `std`, look-alikes of `std::os::fd`'s types and traits, with the
/// same names, methods and meaning, so the rest of the crate has one code
/// path. Under `std` the real ones are used, and users meet no
/// conversions.
#[cfg(not(feature = "std"))]
mod polyfill {
    use core::fmt;
    use core::marker::PhantomData;
    use core::mem::forget;

    /// A raw file descriptor number, as the kernel hands it out.
    pub type RawFd = libc::c_int;

    /// An open file descriptor that this value owns: dropping it closes it.
    ///
    /// `std::os::fd::OwnedFd` without `std`.
    #[repr(transparent)]
    pub struct OwnedFd {
        fd: RawFd,
    }

    /// A file descriptor borrowed from an owner that outlives `'fd`.
    ///
    /// `std::os::fd::BorrowedFd` without `std`.
    #[derive(Copy, Clone)]
    #[repr(transparent)]
    pub struct BorrowedFd<'fd> {
        fd: RawFd,
        owner: PhantomData<&'fd OwnedFd>,
    }

    /// Lends a descriptor: `std::os::fd::AsFd` without `std`.
    pub trait AsFd {
        /// Borrows the descriptor.
        fn as_fd(&self) -> BorrowedFd<'_>;
    }

    /// Shows the raw number: `std::os::fd::AsRawFd` without `std`.
    pub trait AsRawFd {
        /// The raw descriptor number, still owned by `self`.
        fn as_raw_fd(&self) -> RawFd;
    }

    /// Takes ownership of a raw number: `std::os::fd::FromRawFd` without `std`.
    pub trait FromRawFd {
        /// Takes ownership of a raw descriptor.
        ///
        /// # Safety
        /// `fd` must be an open descriptor that nothing else owns or will
        /// close: the returned value closes it when dropped.
        unsafe fn from_raw_fd(fd: RawFd) -> Self;
    }

    /// Gives up ownership: `std::os::fd::IntoRawFd` without `std`.
    pub trait IntoRawFd {
        /// Gives up ownership without closing: the caller must close it.
        fn into_raw_fd(self) -> RawFd;
    }

    impl BorrowedFd<'_> {
        /// Borrows a raw descriptor.
        ///
        /// # Safety
        /// `fd` must stay open for the whole lifetime of the returned value.
        pub const unsafe fn borrow_raw(fd: RawFd) -> Self {
            BorrowedFd {
                fd,
                owner: PhantomData,
            }
        }
    }

    impl AsFd for OwnedFd {
        fn as_fd(&self) -> BorrowedFd<'_> {
            BorrowedFd {
                fd: self.fd,
                owner: PhantomData,
            }
        }
    }

    impl AsFd for BorrowedFd<'_> {
        fn as_fd(&self) -> BorrowedFd<'_> {
            *self
        }
    }

    impl<T: AsFd + ?Sized> AsFd for &T {
        fn as_fd(&self) -> BorrowedFd<'_> {
            T::as_fd(self)
        }
    }

    impl<T: AsFd + ?Sized> AsFd for &mut T {
        fn as_fd(&self) -> BorrowedFd<'_> {
            T::as_fd(self)
        }
    }

    impl AsRawFd for OwnedFd {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }

    impl AsRawFd for BorrowedFd<'_> {
        fn as_raw_fd(&self) -> RawFd {
            self.fd
        }
    }

    impl FromRawFd for OwnedFd {
        unsafe fn from_raw_fd(fd: RawFd) -> OwnedFd {
            OwnedFd { fd }
        }
    }

    impl IntoRawFd for OwnedFd {
        fn into_raw_fd(self) -> RawFd {
            let fd = self.fd;
            forget(self);
            fd
        }
    }

    impl Drop for OwnedFd {
        /// Closes the descriptor and ignores the result, as std does: after
        /// a failed `close` (even `EINTR`) Linux has already released the
        /// number.
        ///
        /// # System calls
        /// `close`.
        fn drop(&mut self) {
            // SAFETY: we own `fd` and nothing uses it after this point.
            let _ = unsafe { libc::close(self.fd) };
        }
    }

    impl fmt::Debug for OwnedFd {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("OwnedFd").field("fd", &self.fd).finish()
        }
    }

    impl fmt::Debug for BorrowedFd<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("BorrowedFd").field("fd", &self.fd).finish()
        }
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
    super::fstat_id(fd).map(|id| id.is_socket)
}

/// Closes every descriptor numbered 3 or more that `keep` does not list:
/// what a forked worker calls first thing, so that it holds no copies of
/// its siblings' pipe ends (see [`fork_with_pipe`](super::fork_with_pipe)).
///
/// Standard input, output and error stay open.
///
/// ```
/// use ipcwire::sys::AsFd;
/// use ipcwire::{fork_with_pipe, Direction};
/// // SAFETY: single-threaded; the child uses nothing it closes.
/// let (mut conn, child) = unsafe {
///     fork_with_pipe(Direction::Duplex, |mut conn| {
///         if ipcwire::sys::close_other_fds(&[conn.as_fd()]).is_err() {
///             return 1;
///         }
///         match conn.send_bytes(b"alone") {
///             Ok(()) => 0,
///             Err(_) => 2,
///         }
///     })?
/// };
/// assert_eq!(conn.recv_bytes()?, b"alone");
/// assert!(child.wait()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Safety
/// Every value that owns or borrows a descriptor closed here (an
/// [`OwnedFd`], a `File`, a [`Connection`](crate::Connection), a
/// `Listener`), in any thread, must never be used or dropped again: its
/// number may already belong to a new descriptor, which it would read,
/// write or close. The same goes for descriptors C code holds (`syslog`'s,
/// a signal handler's self-pipe). In [`fork_with_pipe`](super::fork_with_pipe)'s
/// child the copies of the parent's values are never dropped (it leaves
/// with `_exit`), but values its closure captured by `move` are dropped
/// when the closure returns: keep their descriptors, capture them by
/// reference, or `mem::forget` them.
///
/// # Errors
/// Only from `getrlimit` on the fallback path, which then closed nothing.
///
/// # System calls
/// `close_range` on Linux (5.9 or later) and FreeBSD. Where that fails
/// (older kernels, a seccomp filter refusing it), on Android (whose
/// filter kills on it) and on macOS: `getrlimit` (`prlimit64`) and one
/// `close` per number below the larger of the soft and hard descriptor
/// limits, at most 2^20.
pub unsafe fn close_other_fds(keep: &[BorrowedFd<'_>]) -> Result<(), Errno> {
    let mut low: libc::c_uint = 3;
    loop {
        let next = keep
            .iter()
            .filter_map(|fd| libc::c_uint::try_from(fd.as_raw_fd()).ok())
            .filter(|&fd| fd >= low)
            .min();
        let high = next.map_or(libc::c_uint::MAX, |fd| fd.wrapping_sub(1));
        if next != Some(low) {
            // SAFETY: the caller gave up every descriptor in the range.
            unsafe { close_range(low, high) }?;
        }
        match next {
            Some(fd) if fd < libc::c_uint::MAX => low = fd + 1,
            _ => return Ok(()),
        }
    }
}

/// `close_range(low, high, 0)`, or one `close` per open number where the
/// kernel lacks it.
///
/// # Safety
/// Nothing may use the descriptors in `low..=high` again.
unsafe fn close_range(low: libc::c_uint, high: libc::c_uint) -> Result<(), Errno> {
    // Any failure falls back to closing one by one: ENOSYS on old kernels,
    // EPERM from a container's seccomp filter. The range is always valid.
    #[cfg(target_os = "linux")]
    {
        // SAFETY: close_range takes plain integers; the caller gave up the
        // descriptors. `syscall` because musl has no wrapper for it.
        let ret = unsafe { libc::syscall(libc::SYS_close_range, low, high, 0 as libc::c_uint) };
        // The call returns 0 or -1, which fit any C int.
        if check(ret as libc::c_int).is_ok() {
            return Ok(());
        }
    }
    #[cfg(target_os = "freebsd")]
    {
        // SAFETY: as above; FreeBSD has had close_range since 12.2.
        if check(unsafe { libc::close_range(low, high, 0) }).is_ok() {
            return Ok(());
        }
    }
    // SAFETY: as above, one descriptor at a time.
    unsafe { close_each(low, high) }
}

/// The fallback: `close` on every number below the descriptor limits,
/// ignoring `EBADF` for those that are not open. The larger of the soft and
/// hard limits, as a soft limit lowered after descriptors were opened does
/// not close those above it.
///
/// # Safety
/// Nothing may use the descriptors in `low..=high` again.
unsafe fn close_each(low: libc::c_uint, high: libc::c_uint) -> Result<(), Errno> {
    let mut limit = MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: `limit` is writable memory of the right size for getrlimit.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, limit.as_mut_ptr()) })?;
    // SAFETY: getrlimit succeeded, so it filled `limit`.
    let limit = unsafe { limit.assume_init() };
    // An unlimited limit still stops at a number no kernel hands out by
    // default; Linux's own ceiling (`nr_open`) is 2^20.
    let most = limit.rlim_cur.max(limit.rlim_max);
    let end = libc::c_uint::try_from(most).unwrap_or(1 << 20).min(1 << 20);
    for fd in low..end.min(high.saturating_add(1)) {
        // SAFETY: the caller gave up this descriptor; EBADF for a number
        // that is not open is expected and harmless.
        let _ = unsafe { libc::close(fd as libc::c_int) };
    }
    Ok(())
}

/// `fcntl(F_GETFL)`: whether the descriptor was opened for reading and
/// for writing (`O_RDONLY`, `O_WRONLY` or `O_RDWR`).
///
/// A pipe's read end is `(true, false)`, its write end `(false, true)`, a
/// socket `(true, true)`, and on Linux an `O_PATH` descriptor `(false,
/// false)`: its access bits read `O_RDONLY`, yet it can neither read nor
/// write.
///
/// # Errors
/// `EBADF` if `fd` is not open.
///
/// # System calls
/// `fcntl(F_GETFL)`.
pub fn access_mode(fd: BorrowedFd<'_>) -> Result<(bool, bool), Errno> {
    // SAFETY: F_GETFL takes no argument and only reads the flags.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if flags & libc::O_PATH != 0 {
        return Ok((false, false));
    }
    Ok(match flags & libc::O_ACCMODE {
        libc::O_RDONLY => (true, false),
        libc::O_WRONLY => (false, true),
        libc::O_RDWR => (true, true),
        _ => (false, false),
    })
}

/// `fcntl(F_SETFL)`: turns `O_NONBLOCK` on or off, keeping the other flags.
///
/// # System calls
/// `fcntl(F_GETFL)`, `fcntl(F_SETFL)`.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> Result<(), Errno> {
    // SAFETY: F_GETFL takes no argument and only reads the flags.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL takes an int of flags.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
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
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}
