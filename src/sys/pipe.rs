//! `pipe2`: a one-way byte channel.

use core::mem::MaybeUninit;

use super::{check, BorrowedFd, Errno, OwnedFd};

/// `pipe2(O_CLOEXEC)`: creates a pipe and returns `(reader, writer)`.
///
/// Both ends are close-on-exec from birth, so no other thread's
/// `fork`+`exec` can inherit them between creation and a later `fcntl`.
///
/// # Errors
/// `EMFILE`/`ENFILE` when the process or system is out of descriptors.
///
/// # System calls
/// `pipe2`.
///
/// # Example
/// ```
/// let (reader, writer) = ipcwire::sys::pipe()?;
/// assert_eq!(ipcwire::sys::write(writer.as_fd(), b"hi")?, 2);
/// let mut buf = [0; 8];
/// assert_eq!(ipcwire::sys::read(reader.as_fd(), &mut buf)?, 2);
/// # Ok::<(), ipcwire::sys::Errno>(())
/// ```
#[doc(alias = "pipe2")]
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = MaybeUninit::<[libc::c_int; 2]>::uninit();
    // SAFETY: `fds` is writable room for the two descriptors pipe2 stores.
    check(unsafe { libc::pipe2(fds.as_mut_ptr().cast(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both slots hold new descriptors we own.
    let [r, w] = unsafe { fds.assume_init() };
    // SAFETY: each descriptor is new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(r), OwnedFd::from_raw_fd(w)) })
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
    // SAFETY: F_SETPIPE_SZ takes an int by value and touches no memory.
    let granted = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) })?;
    Ok(granted.unsigned_abs() as usize)
}
