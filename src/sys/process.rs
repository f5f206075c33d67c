//! `fork`, `waitpid`, `_exit`, `getpid`, `kill`, and the `Signal` numbers.

use core::fmt;

use super::{check, retry, Errno};

/// A signal number, such as [`Signal::TERM`], for [`kill`] and
/// [`Child::kill`](super::Child::kill), and as [`ExitStatus::Signaled`]
/// reports it.
///
/// A transparent newtype over the C `int`, like [`Errno`]: any number the
/// kernel reports is a valid `Signal`, named or not. The numbers are the
/// target's (`SIGUSR1` is 10 on Linux, 30 on macOS).
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Signal(libc::c_int);

macro_rules! signals {
    ($($name:ident = $c:ident, $text:literal;)*) => {
        impl Signal {
            $(
                #[doc = concat!("`", stringify!($c), "`: ", $text, ".")]
                pub const $name: Signal = Signal(libc::$c);
            )*

            /// The C name of this signal, such as `"SIGTERM"`.
            #[must_use]
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Signal::$name => Some(stringify!($c)),)*
                    _ => None,
                }
            }
        }
    };
}

signals! {
    HUP = SIGHUP, "hangup, or a controlling terminal closed; daemons reload on it";
    INT = SIGINT, "interrupt from the keyboard (Ctrl-C)";
    QUIT = SIGQUIT, "quit from the keyboard, with a core dump";
    ILL = SIGILL, "illegal instruction";
    TRAP = SIGTRAP, "trace or breakpoint trap";
    ABRT = SIGABRT, "abort, as `abort()` raises it";
    BUS = SIGBUS, "bus error: bad memory access";
    FPE = SIGFPE, "arithmetic error";
    KILL = SIGKILL, "kill: cannot be caught, blocked or ignored";
    USR1 = SIGUSR1, "first user-defined signal";
    SEGV = SIGSEGV, "invalid memory reference";
    USR2 = SIGUSR2, "second user-defined signal";
    PIPE = SIGPIPE, "write to a pipe or socket with no reader";
    ALRM = SIGALRM, "timer from `alarm`";
    TERM = SIGTERM, "termination request: the polite way to stop a process";
    CHLD = SIGCHLD, "a child stopped or ended";
    CONT = SIGCONT, "continue if stopped";
    STOP = SIGSTOP, "stop: cannot be caught, blocked or ignored";
    TSTP = SIGTSTP, "stop from the keyboard (Ctrl-Z)";
    SYS = SIGSYS, "bad system call, as a seccomp filter raises it";
}

impl Signal {
    /// Wraps a raw signal number.
    #[must_use]
    pub const fn from_raw(signal: i32) -> Signal {
        Signal(signal)
    }

    /// The raw signal number.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0
    }
}

/// The C name, such as `SIGTERM`, or `Signal(64)` for an unnamed number.
impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => f.debug_tuple("Signal").field(&self.0).finish(),
        }
    }
}

/// The number and, where known, the name: `15 (SIGTERM)`.
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => self.0.fmt(f),
        }
    }
}

/// A process id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Pid(libc::pid_t);

impl Pid {
    /// Wraps a raw process id.
    #[must_use]
    pub const fn from_raw(pid: i32) -> Pid {
        Pid(pid)
    }

    /// The raw process id.
    #[must_use]
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
#[non_exhaustive]
pub enum ExitStatus {
    /// It called `exit`/`_exit` (or returned from `main`) with this code (0 to 255).
    Exited(i32),
    /// This signal killed it.
    Signaled(Signal),
}

impl ExitStatus {
    /// Whether the child exited with code 0.
    #[must_use]
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exited with code {code}"),
            ExitStatus::Signaled(signal) => write!(f, "killed by signal {signal}"),
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
/// `wait4`, or `waitpid` where glibc makes that call (32-bit x86);
/// repeated on `EINTR`.
pub fn waitpid(pid: Pid) -> Result<ExitStatus, Errno> {
    match wait_for(pid.0, 0)? {
        Some((_, status)) => Ok(status),
        // Without WNOHANG the kernel returns only with a report.
        None => Err(Errno::CHILD),
    }
}

/// `waitpid(pid, WNOHANG)`: reaps the child if it has ended, without
/// waiting; `None` while it runs.
///
/// # Errors
/// `ECHILD` if `pid` is not an unreaped child of this process.
///
/// # System calls
/// `wait4`, or `waitpid` where glibc makes that call (32-bit x86);
/// repeated on `EINTR`.
pub fn try_waitpid(pid: Pid) -> Result<Option<ExitStatus>, Errno> {
    Ok(wait_for(pid.0, libc::WNOHANG)?.map(|(_, status)| status))
}

/// `waitpid(-1, WNOHANG)`: reaps any one child that has ended, without
/// waiting, and says which and how; `None` if all children still run.
///
/// A supervisor calls it until `None` (or `ECHILD`) after each `SIGCHLD`,
/// or on a timer: one call reaps one child.
///
/// It reaps children that [`Child`](super::Child) handles name too. Once it
/// returns a pid, that number is free for the kernel to give to a new
/// process: drop that pid's `Child` without calling `kill` or `wait` on it,
/// which would reach the newcomer. A program that holds a `Child` per
/// worker reaps with [`Child::try_wait`](super::Child::try_wait) instead.
///
/// ```
/// use ipcwire::sys::{self, ExitStatus};
/// use ipcwire::{fork_with_pipe, Direction};
/// // SAFETY: this doctest is single-threaded.
/// let (conn, child) = unsafe { fork_with_pipe(Direction::ToChild, |_| 7)? };
/// drop(conn);
/// let pid = child.pid();
/// let reaped = loop {
///     if let Some(reaped) = sys::try_wait_any()? {
///         break reaped;
///     }
///     std::thread::sleep(std::time::Duration::from_millis(1));
/// };
/// assert_eq!(reaped, (pid, ExitStatus::Exited(7)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// `ECHILD` if this process has no unreaped children.
///
/// # System calls
/// `wait4`, or `waitpid` where glibc makes that call (32-bit x86);
/// repeated on `EINTR`.
pub fn try_wait_any() -> Result<Option<(Pid, ExitStatus)>, Errno> {
    wait_for(-1, libc::WNOHANG)
}

/// `waitpid(pid, flags)`, resumed on `EINTR`, until a child ended: `None`
/// only when `WNOHANG` found none. A stop report (which arrives without
/// `WUNTRACED` only for a child this process traces) is passed over, and
/// the call made again, so that an ended child behind it is not missed.
fn wait_for(pid: libc::pid_t, flags: libc::c_int) -> Result<Option<(Pid, ExitStatus)>, Errno> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid place for the kernel to store the status.
        let found = retry(|| check(unsafe { libc::waitpid(pid, &mut status, flags) }))?;
        if found == 0 {
            return Ok(None);
        }
        if libc::WIFEXITED(status) {
            let status = ExitStatus::Exited(libc::WEXITSTATUS(status));
            return Ok(Some((Pid(found), status)));
        }
        if libc::WIFSIGNALED(status) {
            let status = ExitStatus::Signaled(Signal(libc::WTERMSIG(status)));
            return Ok(Some((Pid(found), status)));
        }
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
#[must_use]
pub fn getpid() -> Pid {
    // SAFETY: getpid has no preconditions and cannot fail.
    Pid(unsafe { libc::getpid() })
}

/// `kill(pid, signal)`: sends a signal (such as [`Signal::KILL`]) to a process.
///
/// As with `kill(2)`, a pid of 0 means this process group, -1 every process
/// this one may signal, and another negative number the group of that id.
///
/// # Errors
/// `ESRCH` if no such process exists, `EPERM` if not allowed, `EINVAL` for a
/// bad signal number.
///
/// # System calls
/// `kill`.
pub fn kill(pid: Pid, signal: Signal) -> Result<(), Errno> {
    // SAFETY: kill takes plain integers; a bad value is reported as an error.
    check(unsafe { libc::kill(pid.0, signal.0) }).map(drop)
}
