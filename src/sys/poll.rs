//! `poll`: waiting until descriptors are ready.

use core::time::Duration;

use super::AsRawFd;
use super::{check, monotonic_now, BorrowedFd, Errno};

/// Readiness events, as in `struct pollfd`'s `events` and `revents`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct PollFlags(i16);

impl PollFlags {
    /// `POLLIN`: there is data to read (or end of stream).
    pub const IN: PollFlags = PollFlags(libc::POLLIN);
    /// `POLLOUT`: writing would not block.
    pub const OUT: PollFlags = PollFlags(libc::POLLOUT);
    /// `POLLERR`: an error is pending (reported, never requested).
    pub const ERR: PollFlags = PollFlags(libc::POLLERR);
    /// `POLLHUP`: the peer hung up (reported, never requested).
    pub const HUP: PollFlags = PollFlags(libc::POLLHUP);
    /// `POLLNVAL`: the descriptor is not open (reported, never requested).
    pub const NVAL: PollFlags = PollFlags(libc::POLLNVAL);

    /// No events.
    #[must_use]
    pub const fn empty() -> Self {
        PollFlags(0)
    }

    /// Whether any event of `other` is set in `self`.
    #[must_use]
    pub const fn intersects(self, other: PollFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no event is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl core::ops::BitOr for PollFlags {
    type Output = PollFlags;
    fn bitor(self, other: PollFlags) -> PollFlags {
        PollFlags(self.0 | other.0)
    }
}

/// One entry of a `poll` set: a descriptor, the events wanted, the events seen.
#[repr(transparent)]
pub struct PollFd<'fd> {
    raw: libc::pollfd,
    fd: core::marker::PhantomData<BorrowedFd<'fd>>,
}

impl<'fd> PollFd<'fd> {
    /// Watches `fd` for `events`.
    #[must_use]
    pub fn new(fd: BorrowedFd<'fd>, events: PollFlags) -> Self {
        PollFd {
            raw: libc::pollfd {
                fd: fd.as_raw_fd(),
                events: events.0,
                revents: 0,
            },
            fd: core::marker::PhantomData,
        }
    }

    /// The events the last [`poll`] reported for this descriptor.
    #[must_use]
    pub fn revents(&self) -> PollFlags {
        PollFlags(self.raw.revents)
    }
}

/// `poll(fds, timeout)`: waits until one of `fds` is ready or the time is up,
/// and returns how many entries have events (`0` on timeout).
///
/// `None` waits without limit. A timeout is rounded up to whole milliseconds,
/// so it never waits less than asked. When a signal interrupts the wait, it is
/// resumed with only the time that is left, so signals cannot stretch it.
///
/// # Errors
/// `EINVAL` for too many descriptors, `ENOMEM`. `EINTR` never surfaces.
///
/// # System calls
/// `poll` (repeated on `EINTR`); `clock_gettime` when a timeout is given.
pub fn poll(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> Result<usize, Errno> {
    let deadline = match timeout {
        Some(t) => Some(monotonic_now()?.saturating_add(t)),
        None => None,
    };
    let mut left = timeout;
    loop {
        // SAFETY: `PollFd` is a transparent `pollfd`, and `fds` is a live,
        // writable array of `fds.len()` of them.
        let ret = unsafe {
            libc::poll(
                fds.as_mut_ptr().cast(),
                fds.len() as libc::nfds_t,
                millis(left),
            )
        };
        match check(ret) {
            Ok(n) => return Ok(n as usize),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
        if let Some(deadline) = deadline {
            left = Some(deadline.saturating_sub(monotonic_now()?));
        }
    }
}

/// A timeout in whole milliseconds for `poll`, rounded up; `-1` for none.
fn millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

impl core::fmt::Debug for PollFd<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PollFd")
            .field("fd", &self.raw.fd)
            .field("events", &self.raw.events)
            .field("revents", &self.raw.revents)
            .finish()
    }
}
