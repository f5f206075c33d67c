//! `getrandom`: bytes from the kernel's random source.

use super::{check, retry, to_usize, Errno};

/// `getrandom(buf, 0)`: fills `buf` with unpredictable bytes from the
/// kernel's cryptographic random source, waiting only if it is not yet
/// initialised (early boot).
///
/// # Errors
/// `ENOSYS` on kernels older than 3.17. `EINTR` never surfaces.
///
/// # System calls
/// `getrandom` (repeated until `buf` is full, and on `EINTR`).
pub fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        let n = retry(|| {
            // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
            check(unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) })
        })?;
        filled += to_usize(n);
    }
    Ok(())
}
