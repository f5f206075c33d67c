//! Writing to a pipe without dying of `SIGPIPE`.
//!
//! Sockets have `MSG_NOSIGNAL`. A write to a pipe whose reader is gone
//! raises `SIGPIPE`, and its default action kills the process. Linux 6.18
//! gave pipes the same flag, `RWF_NOSIGNAL`, for `pwritev2`
//! ([`writev_nosignal`]). Elsewhere, changing the disposition would change
//! the whole program's behaviour, so instead the writing thread blocks
//! `SIGPIPE` around the write, takes back a `SIGPIPE` the write itself
//! raised, and restores its mask ([`writev_nosigpipe`]): the caller sees
//! `EPIPE`, and nothing else changes. Where `SIGPIPE` is ignored,
//! [`sigpipe_is_ignored`] says the guard is not needed for now.

use core::mem::MaybeUninit;
use core::ptr;

use super::io::iov_parts;
use super::{check, BorrowedFd, Errno, IoSlice};
#[cfg(target_os = "linux")]
use super::{retry, to_usize};

/// `sigaction(SIGPIPE, NULL, &old)`: `SIGPIPE`'s action at this moment.
///
/// # System calls
/// `rt_sigaction` (reading only).
fn sigpipe_action() -> Result<libc::sighandler_t, Errno> {
    let mut old = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only reads the current one into `old`.
    check(unsafe { libc::sigaction(libc::SIGPIPE, ptr::null(), old.as_mut_ptr()) })?;
    // SAFETY: sigaction succeeded, so it filled `old`.
    Ok(unsafe { old.assume_init() }.sa_sigaction)
}

/// Whether `SIGPIPE` is ignored at this moment, so that a write to a pipe
/// whose reader is gone gives `EPIPE` and nothing else.
///
/// Programs built with Rust's `std` ignore `SIGPIPE` from the start; `no_std`
/// programs and C hosts usually do not, and any program may change it at
/// any time, so the answer holds only for now.
///
/// # System calls
/// `rt_sigaction` (reading only).
pub fn sigpipe_is_ignored() -> Result<bool, Errno> {
    Ok(sigpipe_action()? == libc::SIG_IGN)
}

/// Whether `SIGPIPE` has a handler (an action other than the default, which
/// kills, or ignoring it).
fn sigpipe_has_handler() -> bool {
    sigpipe_action().is_ok_and(|action| action != libc::SIG_DFL && action != libc::SIG_IGN)
}

/// A set holding only `SIGPIPE`.
fn sigpipe_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset with a
    // valid signal number cannot fail.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        set.assume_init()
    }
}

fn has_sigpipe(set: &libc::sigset_t) -> bool {
    // SAFETY: `set` is an initialised signal set.
    unsafe { libc::sigismember(set, libc::SIGPIPE) == 1 }
}

/// `writev` with `SIGPIPE` held off: a reader that is gone gives `EPIPE`
/// and never a death, whatever `SIGPIPE`'s disposition, before or during
/// the call.
///
/// The thread's mask is left as it was. A `SIGPIPE` that was already
/// pending before the call (because the caller blocks it) stays pending;
/// the one this write raised is taken back, unless the program has a
/// handler for `SIGPIPE` at that moment: then it stays pending and the
/// handler runs when the mask is restored, as it would without the guard.
/// (Should another thread restore the default action in the instant
/// between that look and the mask's restoring, the default applies.) The kernel raises it also
/// when the reader leaves while a write that already moved some bytes
/// sleeps: that write returns its short count, not `EPIPE`, so a short
/// write is checked too.
///
/// Costs two `rt_sigprocmask` calls around the write (plus `rt_sigpending`
/// when the caller already blocks `SIGPIPE`, and `rt_sigaction` and
/// `rt_sigtimedwait` after `EPIPE` or a short write).
///
/// # Errors
/// As for [`writev`](super::writev). `EINTR` never surfaces.
///
/// # System calls
/// `rt_sigprocmask` (twice), `writev`; `rt_sigpending`, `rt_sigaction`,
/// `rt_sigtimedwait` as above.
pub fn writev_nosigpipe(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    let pipe_only = sigpipe_set();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: both sets are valid; `old` receives the thread's previous mask.
    let blocked = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, old.as_mut_ptr()) };
    if blocked != 0 {
        return Err(Errno::from_raw(blocked));
    }
    // SAFETY: pthread_sigmask succeeded, so it filled `old`.
    let old = unsafe { old.assume_init() };
    let already_blocked = has_sigpipe(&old);
    let already_pending = already_blocked && sigpipe_pending()?;
    let result = super::writev(fd, bufs);
    let cut_short = match result {
        Ok(n) => n < total_len(bufs),
        Err(e) => e == Errno::PIPE,
    };
    if cut_short && !already_pending && !sigpipe_has_handler() {
        take_pending_sigpipe();
    }
    if !already_blocked {
        // SAFETY: `old` is the mask pthread_sigmask returned above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut()) };
    }
    result
}

/// `RWF_NOSIGNAL`, which the `libc` crate does not name yet: the write
/// never raises `SIGPIPE`.
#[cfg(target_os = "linux")]
const RWF_NOSIGNAL: libc::c_long = 0x100;

/// `pwritev2(fd, bufs, -1, RWF_NOSIGNAL)`: `writev` that never raises
/// `SIGPIPE`, whatever its disposition: a reader that is gone gives `EPIPE`
/// and nothing else. One system call, as a socket's `MSG_NOSIGNAL` is.
///
/// Linux 6.18 and later. The call goes through `syscall`, not the C
/// library's wrapper, which glibc has only from 2.26 on.
///
/// # Errors
/// As for [`writev`](super::writev). `EOPNOTSUPP` from a kernel without
/// the flag (4.6 to 6.17) or a descriptor whose driver takes no flags,
/// `ENOSYS` from one without the call (before 4.6); `EPERM`, `EACCES` or
/// `ENOSYS` from a seccomp filter that refuses it, `EINVAL` from an
/// emulator that does not know the flag: nothing was written then.
/// `EINTR` never surfaces.
///
/// # System calls
/// `pwritev2` (repeated on `EINTR`).
#[cfg(target_os = "linux")]
pub fn writev_nosignal(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
    use super::AsRawFd;
    let (iov, n) = iov_parts(bufs);
    let args = [libc::c_long::from(fd.as_raw_fd()), libc::c_long::from(n)];
    retry(|| {
        // Every argument goes as a full `long`, as the kernel reads it: the
        // position as its two halves, both -1 ("the current position"; the
        // high half is unused on 64-bit targets), then the flags.
        // SAFETY: `iov` points at `n` iovecs over live, readable buffers.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_pwritev2,
                args[0],
                iov,
                args[1],
                -1 as libc::c_long,
                -1 as libc::c_long,
                RWF_NOSIGNAL,
            )
        };
        // The kernel returns at most `isize::MAX`, or -1.
        check(ret as libc::ssize_t)
    })
    .map(to_usize)
}

/// How many bytes one `writev` of `bufs` would write in full.
fn total_len(bufs: &[IoSlice<'_>]) -> usize {
    let (iov, n) = iov_parts(bufs);
    // SAFETY: `iov_parts` gives the start of `bufs` as `n` iovecs (it is a
    // slice of transparent iovecs, and `n` is at most its length).
    let iovs = unsafe { core::slice::from_raw_parts(iov, n as usize) };
    iovs.iter().map(|v| v.iov_len).sum()
}

/// Whether a `SIGPIPE` is pending for this thread or process.
fn sigpipe_pending() -> Result<bool, Errno> {
    let mut pending = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the set it is given.
    check(unsafe { libc::sigpending(pending.as_mut_ptr()) })?;
    // SAFETY: sigpending succeeded, so `pending` is initialised.
    Ok(has_sigpipe(unsafe { pending.assume_init_ref() }))
}

/// Takes back the `SIGPIPE` a failed write raised (it is pending, blocked),
/// without waiting if there is none.
#[cfg(not(target_vendor = "apple"))]
fn take_pending_sigpipe() {
    let pipe_only = sigpipe_set();
    let now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        // SAFETY: the set and the zero timeout are valid; no info is wanted.
        let got = unsafe { libc::sigtimedwait(&pipe_only, ptr::null_mut(), &now) };
        if got != -1 || Errno::last() != Errno::INTR {
            return;
        }
    }
}

/// macOS has no `sigtimedwait`: `sigwait` takes the signal, and is called
/// only once `sigpending` shows it, so it never waits.
#[cfg(target_vendor = "apple")]
fn take_pending_sigpipe() {
    if sigpipe_pending() == Ok(true) {
        let pipe_only = sigpipe_set();
        let mut taken = 0;
        // SAFETY: the set is valid and `taken` receives the signal number.
        unsafe { libc::sigwait(&pipe_only, &mut taken) };
    }
}
