//! `fork`, `waitpid`, `_exit`, `getpid` and `kill`.

use core::fmt;

use super::{check, retry, Errno};

/// A process id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Pid(libc::pid_t);

impl Pid {
    /// Wraps a raw process id.
    pub const fn from_raw(pid: i32) -> Pid {
        Pid(pid)
    }

    /// The raw process id.
    pub const fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which side of a [`fork`] the caller is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fork {
    /// The original process; the new child has this id.
    Parent(Pid),
    /// The new child process.
    Child,
}

/// How a child process ended, as [`waitpid`] reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It called `exit`/`_exit` (or returned from `main`) with this code (0 to 255).
    Exited(i32),
    /// A signal with this number killed it.
    Signaled(i32),
}

impl ExitStatus {
    /// Whether the child exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signaled(sig) => write!(f, "killed by signal {sig}"),
        }
    }
}

/// `fork()`: creates a child process that is a copy of this one.
///
/// # Safety
/// Only the calling thread exists in the child. If the parent has other
/// threads, locks they held (the allocator's on some libcs, stdout's, any
/// `Mutex`) stay locked forever in the child, so until it calls `exec` or
/// [`exit`] the child must only do async-signal-safe work. In a
/// single-threaded parent the child may do anything.
///
/// # Errors
/// `EAGAIN` at the process limit, `ENOMEM`.
///
/// # System calls
/// `fork` (on Linux libcs implement it with `clone`).
pub unsafe fn fork() -> Result<Fork, Errno> {
    // SAFETY: the caller upholds the async-signal-safety contract above.
    let pid = check(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Fork::Child
    } else {
        Fork::Parent(Pid(pid))
    })
}

/// `waitpid(pid, 0)`: waits until the child ends, reaps it, and says how.
///
/// # Errors
/// `ECHILD` if `pid` is not an unreaped child of this process. `EINTR`
/// never surfaces: the wait is resumed.
///
/// # System calls
/// `wait4` or `waitpid` (repeated on `EINTR`).
pub fn waitpid(pid: Pid) -> Result<ExitStatus, Errno> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid place for the kernel to store the status.
        retry(|| check(unsafe { libc::waitpid(pid.0, &mut status, 0) }))?;
        if libc::WIFEXITED(status) {
            return Ok(ExitStatus::Exited(libc::WEXITSTATUS(status)));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(ExitStatus::Signaled(libc::WTERMSIG(status)));
        }
        // Stopped or continued reports need WUNTRACED/WCONTINUED, which we
        // do not pass; should one arrive anyway, keep waiting for the end.
    }
}

/// `_exit(code)`: ends the process at once, running no destructors or
/// `atexit` handlers and flushing no user-space buffers.
///
/// This is how a forked child should leave: it must not run the parent's
/// cleanup code (flushing the parent's buffered output a second time,
/// removing the parent's files) on its copied state.
///
/// # System calls
/// `exit_group`.
pub fn exit(code: i32) -> ! {
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// `getpid()`: this process's id.
///
/// # System calls
/// `getpid`.
pub fn getpid() -> Pid {
    // SAFETY: getpid has no preconditions and cannot fail.
    Pid(unsafe { libc::getpid() })
}

/// `kill(pid, signal)`: sends a signal (such as `libc::SIGKILL`, 9) to a process.
///
/// # Errors
/// `ESRCH` if no such process exists, `EPERM` if not allowed, `EINVAL` for a
/// bad signal number.
///
/// # System calls
/// `kill`.
pub fn kill(pid: Pid, signal: i32) -> Result<(), Errno> {
    // SAFETY: kill takes plain integers; a bad value is reported as an error.
    check(unsafe { libc::kill(pid.0, signal) }).map(drop)
}
