//! `pipe2`: a one-way byte channel.

use core::mem::MaybeUninit;

use super::{check, Errno, OwnedFd};

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
