//! `clock_gettime(CLOCK_MONOTONIC)`: the clock that timeouts count on.

use core::mem::MaybeUninit;
use core::time::Duration;

use super::{check, Errno};

/// `clock_gettime(CLOCK_MONOTONIC)`: time since an unspecified start, never
/// going backwards, unaffected by changes to the wall clock.
///
/// # Errors
/// None in practice; `EINVAL` if the clock were missing.
///
/// # System calls
/// `clock_gettime` (usually answered by the vDSO without entering the kernel).
pub fn monotonic_now() -> Result<Duration, Errno> {
    let mut ts = MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: `ts` is writable room for one timespec.
    check(unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr()) })?;
    // SAFETY: clock_gettime succeeded, so it filled `ts`.
    let ts = unsafe { ts.assume_init() };
    // The monotonic clock is never negative.
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}
