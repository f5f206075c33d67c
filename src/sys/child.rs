//! Forking a child that talks over a pipe: Python's `Process` + `Pipe`.
//!
//! It lives in `sys` because it is `unsafe` for the same reason `fork` is;
//! what the two processes hold comes from outside, through [`Ends`], so
//! `sys` depends on nothing above it.

use crate::sys::{self, Errno, ExitStatus, Fork, Pid, Signal};

/// The two ends of a channel a parent and the child it forks talk over:
/// [`fork_with_pipe`] opens them, keeps one in the parent and hands the
/// other to the child. [`Direction`](crate::Direction) opens a pipe or a
/// socket pair as [`Connection`](crate::Connection)s.
pub trait Ends {
    /// What each process holds.
    type End;
    /// Opens both ends: the parent's, then the child's.
    ///
    /// # Errors
    /// Whatever opening them fails with (`EMFILE`, ...).
    fn open(self) -> Result<(Self::End, Self::End), Errno>;
}

/// A forked child process. Dropping it does not wait for it: call
/// [`wait`](Child::wait) or [`try_wait`](Child::try_wait), or the child
/// stays a zombie until this process ends (or something else reaps it, such
/// as [`sys::try_wait_any`]).
#[derive(Debug)]
#[must_use = "a child nobody waits for stays a zombie: call wait() or try_wait()"]
pub struct Child {
    pid: Pid,
    /// How it ended, once [`try_wait`](Child::try_wait) reaped it.
    status: Option<ExitStatus>,
}

impl Child {
    /// The child's process id.
    #[must_use]
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// `waitpid`: waits for the child to end and says how it ended.
    ///
    /// # Errors
    /// `ECHILD` if something else already reaped it.
    ///
    /// # System calls
    /// `wait4` or `waitpid`, as for [`sys::waitpid`](crate::sys::waitpid); none
    /// if [`try_wait`](Child::try_wait) already reaped it.
    pub fn wait(self) -> Result<ExitStatus, Errno> {
        match self.status {
            Some(status) => Ok(status),
            None => sys::waitpid(self.pid),
        }
    }

    /// `waitpid(WNOHANG)`: how the child ended, reaping it, or `None` while
    /// it runs. Never blocks; once it returns a status it returns the same
    /// again, and so does [`wait`](Child::wait).
    ///
    /// ```
    /// use ipcwire::{fork_with_pipe, Direction, ExitStatus, Signal};
    /// // SAFETY: this doctest is single-threaded.
    /// let (mut conn, mut child) = unsafe {
    ///     fork_with_pipe(Direction::Duplex, |mut conn| {
    ///         let _ = conn.recv_bytes(); // until the parent says or dies
    ///         0
    ///     })?
    /// };
    /// assert_eq!(child.try_wait()?, None);
    /// child.kill(Signal::TERM)?;
    /// let status = child.wait()?;
    /// assert_eq!(status, ExitStatus::Signaled(Signal::TERM));
    /// # drop(conn);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// `ECHILD` if something else already reaped it.
    ///
    /// # System calls
    /// `wait4` or `waitpid`, as for [`sys::try_waitpid`](crate::sys::try_waitpid);
    /// none once it has returned a status.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Errno> {
        if self.status.is_none() {
            self.status = sys::try_waitpid(self.pid)?;
        }
        Ok(self.status)
    }

    /// `kill`: sends `signal` (such as [`Signal::TERM`]) to the child.
    ///
    /// # Errors
    /// `ESRCH` without a call once [`try_wait`](Child::try_wait) reaped it,
    /// so no process that reused its id gets the signal. A child reaped
    /// elsewhere ([`sys::try_wait_any`], `SIGCHLD` ignored) leaves its number
    /// free for reuse: do not signal it through this handle then.
    ///
    /// # System calls
    /// `kill`; none once [`try_wait`](Child::try_wait) reaped it.
    pub fn kill(&self, signal: Signal) -> Result<(), Errno> {
        if self.status.is_some() {
            return Err(Errno::SRCH);
        }
        sys::kill(self.pid, signal)
    }
}

/// Creates a pipe, forks, and closes in each process the end it does not use.
///
/// `ends` is a [`Direction`](crate::Direction): a pipe one way, a socket
/// pair both ways, or two pipes both ways (each process then closes the two
/// ends it does not use, four in all). The child runs `child` with its
/// [`Connection`](crate::Connection) and leaves with
/// `_exit(code)`, `code` being what `child` returned; it never returns into
/// the parent's copied stack. Under `std`, a panic in `child` is caught and
/// the child exits with code 101. The parent gets its own end and a
/// [`Child`] to [`wait`](Child::wait) on.
///
/// Only the ends of this pipe are closed: the child still holds every other
/// descriptor the parent had, such as its connections to children forked
/// before (see the [pre-fork pitfall](crate#pre-fork-pools-a-child-inherits-its-siblings-ends)).
/// A worker that calls [`sys::close_other_fds`] first thing, keeping its
/// own end, holds no such copies.
///
/// The child leaves with `_exit`, so destructors of state copied from the
/// parent do not run and user-space buffers are not flushed: `println!`
/// flushes at each newline, but flush any other buffered writer yourself.
/// In the parent, `child` is dropped unrun, and with it what it owns: a
/// [`Listener`](crate::Listener) moved into it removes its socket file
/// there, a moved connection closes the parent's copy. Move into `child`
/// only what the parent is done with; borrow the rest.
///
/// # Safety
/// The same as [`sys::fork`]: if other threads exist in the parent, `child`
/// must only do async-signal-safe work, because locks those threads held
/// (the allocator's, stdout's) stay locked forever in the child. In a
/// single-threaded program `child` may do anything.
///
/// # Errors
/// `EMFILE` creating the pipe; `EAGAIN`/`ENOMEM` from `fork`.
///
/// # System calls
/// `pipe2` (twice for two pipes) or `socketpair`; `fork`; `close` (each
/// process, of the unused ends); in the child, whatever `child` does, `close`, then `exit_group`.
///
/// # Example
/// ```
/// use ipcwire::{fork_with_pipe, Direction, Error};
/// // SAFETY: this doctest is single-threaded.
/// let (mut conn, child) = unsafe {
///     fork_with_pipe(Direction::ToChild, |mut conn| {
///         let mut total = 0;
///         while let Ok(msg) = conn.recv_bytes() {
///             total += msg.len();
///         }
///         if total == 10 { 0 } else { 1 }
///     })?
/// };
/// conn.send_bytes(b"hello")?;
/// conn.send_bytes(b"world")?;
/// drop(conn); // the child sees end of stream
/// assert!(child.wait()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub unsafe fn fork_with_pipe<E, F>(ends: E, child: F) -> Result<(E::End, Child), Errno>
where
    E: Ends,
    F: FnOnce(E::End) -> i32,
{
    let (parent_end, child_end) = ends.open()?;
    // SAFETY: the caller upholds fork's contract for `child`.
    match unsafe { sys::fork() }? {
        Fork::Parent(pid) => {
            drop(child_end);
            Ok((parent_end, Child { pid, status: None }))
        }
        Fork::Child => {
            drop(parent_end);
            sys::exit(run_child(child, child_end))
        }
    }
}

/// Runs the child's closure; a panic must not unwind past the fork point
/// into code that belongs to the parent.
#[cfg(feature = "std")]
fn run_child<T, F: FnOnce(T) -> i32>(child: F, end: T) -> i32 {
    let run = std::panic::AssertUnwindSafe(move || child(end));
    std::panic::catch_unwind(run).unwrap_or(101)
}

/// Without `std` there is no unwinding to catch: a panic ends the process
/// through the program's panic handler.
#[cfg(not(feature = "std"))]
fn run_child<T, F: FnOnce(T) -> i32>(child: F, end: T) -> i32 {
    child(end)
}
