//! `pipe2`: a one-way byte channel.

use core::mem::MaybeUninit;

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::BorrowedFd;
use super::FromRawFd;
use super::{check, Errno, OwnedFd};

/// `pipe2(O_CLOEXEC)`: creates a pipe and returns `(reader, writer)`.
///
/// Both ends are close-on-exec from birth, so no other thread's
/// `fork`+`exec` can inherit them between creation and a later `fcntl`.
///
/// # Platforms
/// macOS has no `pipe2`: there the ends are created by `pipe` and marked
/// close-on-exec right after with `fcntl(F_SETFD, FD_CLOEXEC)`, so a
/// `fork`+`exec` in another thread in between can inherit them.
///
/// # Errors
/// `EMFILE`/`ENFILE` when the process or system is out of descriptors.
///
/// # System calls
/// `pipe2`.
///
/// # Example
/// ```
/// use std::os::fd::AsFd;
/// let (reader, writer) = ipcwire::sys::pipe()?;
/// assert_eq!(ipcwire::sys::write(writer.as_fd(), b"hi")?, 2);
/// let mut buf = [0; 8];
/// assert_eq!(ipcwire::sys::read(reader.as_fd(), &mut buf)?, 2);
/// # Ok::<(), ipcwire::sys::Errno>(())
/// ```
#[doc(alias = "pipe2")]
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = MaybeUninit::<[libc::c_int; 2]>::uninit();
    // SAFETY: `fds` is writable room for the two descriptors the call stores.
    check(unsafe { raw_pipe(fds.as_mut_ptr().cast()) })?;
    // SAFETY: the call succeeded, so both slots hold new descriptors we own.
    let [r, w] = unsafe { fds.assume_init() };
    // SAFETY: each descriptor is new and owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(r), OwnedFd::from_raw_fd(w)) };
    #[cfg(target_vendor = "apple")]
    {
        use super::AsFd;
        super::fd::set_cloexec(r.as_fd())?;
        super::fd::set_cloexec(w.as_fd())?;
    }
    Ok((r, w))
}

/// `pipe2(fds, O_CLOEXEC)`.
///
/// # Safety
/// `fds` must be writable room for two `c_int`s.
#[cfg(not(target_vendor = "apple"))]
unsafe fn raw_pipe(fds: *mut libc::c_int) -> libc::c_int {
    // SAFETY: the caller provides room for the two descriptors.
    unsafe { libc::pipe2(fds, libc::O_CLOEXEC) }
}

/// `pipe(fds)`: macOS has no `pipe2`; [`pipe`] marks the ends close-on-exec.
///
/// # Safety
/// `fds` must be writable room for two `c_int`s.
#[cfg(target_vendor = "apple")]
unsafe fn raw_pipe(fds: *mut libc::c_int) -> libc::c_int {
    // SAFETY: the caller provides room for the two descriptors.
    unsafe { libc::pipe(fds) }
}

/// `fcntl(F_GETPIPE_SZ)`: the capacity of the pipe `fd` belongs to, in bytes.
///
/// A writer blocks once this many bytes wait unread; Linux's default is
/// 64 KiB.
///
/// # Errors
/// `EBADF` if `fd` is not a pipe.
///
/// # System calls
/// `fcntl`.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[doc(alias = "F_GETPIPE_SZ")]
pub fn pipe_size(fd: BorrowedFd<'_>) -> Result<usize, Errno> {
    use super::AsRawFd;
    // SAFETY: F_GETPIPE_SZ takes no argument and touches no memory.
    let size = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) })?;
    Ok(size.unsigned_abs() as usize)
}

/// `fcntl(F_SETPIPE_SZ)`: asks for a pipe capacity of at least `size` bytes
/// and returns the capacity the kernel granted (rounded up to a power of two
/// pages).
///
/// Unprivileged processes may ask for up to `/proc/sys/fs/pipe-max-size`
/// (1 MiB by default). Either end of the pipe may be used.
///
/// # Errors
/// `EPERM` above that limit without `CAP_SYS_RESOURCE`; `EBUSY` when the
/// pipe holds more than `size` bytes; `EINVAL` if `size` exceeds `i32::MAX`;
/// `EBADF` if `fd` is not a pipe.
///
/// # System calls
/// `fcntl`.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[doc(alias = "F_SETPIPE_SZ")]
pub fn set_pipe_size(fd: BorrowedFd<'_>, size: usize) -> Result<usize, Errno> {
    let size = libc::c_int::try_from(size).map_err(|_| Errno::INVAL)?;
    use super::AsRawFd;
    // SAFETY: F_SETPIPE_SZ takes an int by value and touches no memory.
    let granted = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) })?;
    Ok(granted.unsigned_abs() as usize)
}
