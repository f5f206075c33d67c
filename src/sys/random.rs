//! `getrandom`: bytes from the kernel's random source.

use super::{check, Errno};
#[cfg(not(target_vendor = "apple"))]
use super::{retry, to_usize};

/// `getrandom(buf, 0)`: fills `buf` with unpredictable bytes from the
/// kernel's cryptographic random source, waiting only if it is not yet
/// initialised (early boot).
///
/// # Platforms
/// macOS has no `getrandom`: there `getentropy` fills `buf` in pieces of at
/// most 256 bytes, its limit per call, from the same kind of source.
///
/// # Errors
/// `ENOSYS` on kernels older than 3.17. `EINTR` never surfaces.
///
/// # System calls
/// `getrandom` (repeated until `buf` is full, and on `EINTR`).
#[doc(alias = "getentropy")]
pub fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let mut filled = 0;
    while filled < buf.len() {
        filled += fill(&mut buf[filled..])?;
    }
    Ok(())
}

/// Fills a prefix of `rest` and returns its length (never 0 for a
/// non-empty `rest`).
#[cfg(not(target_vendor = "apple"))]
fn fill(rest: &mut [u8]) -> Result<usize, Errno> {
    let n = retry(|| {
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        check(unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) })
    })?;
    Ok(to_usize(n))
}

/// Fills up to 256 bytes of `rest`, the most `getentropy` gives per call.
#[cfg(target_vendor = "apple")]
fn fill(rest: &mut [u8]) -> Result<usize, Errno> {
    let n = rest.len().min(256);
    // SAFETY: `rest` is valid for writes of `n <= rest.len()` bytes.
    check(unsafe { libc::getentropy(rest.as_mut_ptr().cast(), n) })?;
    Ok(n)
}
