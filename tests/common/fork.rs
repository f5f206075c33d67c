//! Forked children: a guard that kills and reaps one if the test ends
//! first, a bare `fork`, and a child on the other end of a connection.
//!
//! Callers hold `serial::lock()` while a child runs: the harness's other
//! threads are then parked on it or idle, so they hold no lock the child
//! needs (and glibc's and musl's `malloc` are safe after `fork`).
#![allow(dead_code)] // each test binary uses a part

use ipcwire::sys::{self, Ends, ExitStatus, Fork, Pid};
use ipcwire::{fork_with_pipe, Connection};

/// A forked child, killed and reaped if the test ends before it is.
pub struct Forked(Option<Pid>);

impl Forked {
    pub fn pid(&self) -> Pid {
        self.0.expect("child already reaped")
    }

    pub fn kill(&self) {
        sys::kill(self.pid(), ipcwire::Signal::KILL).expect("kill");
    }

    pub fn wait(&mut self) -> ExitStatus {
        let pid = self.0.take().expect("child already reaped");
        sys::waitpid(pid).expect("waitpid")
    }
}

impl Drop for Forked {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = sys::kill(pid, ipcwire::Signal::KILL);
            let _ = sys::waitpid(pid);
        }
    }
}

/// Forks; the child runs `child` and leaves with `_exit` and its return
/// value (101 if it panics), never returning into the harness.
pub fn fork(child: impl FnOnce() -> i32) -> Forked {
    // SAFETY: callers hold `serial::lock()`, so the harness's other threads
    // are parked or idle; the child does simple work and never returns.
    match unsafe { sys::fork() }.expect("fork") {
        Fork::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
            sys::exit(code.unwrap_or(101))
        }
        Fork::Parent(pid) => Forked(Some(pid)),
    }
}

/// Forks a child that runs `child` on its end of a `direction` connection
/// (a [`Direction`](ipcwire::Direction), or other [`Ends`] that open two
/// connections), runs `parent` on the parent's end (dropping it
/// afterwards), then waits for the child. Returns what `parent` returned
/// and how the child ended, so the caller asserts only after the child has
/// been reaped.
pub fn with_child<T>(
    direction: impl Ends<End = Connection>,
    child: impl FnOnce(Connection) -> i32,
    parent: impl FnOnce(Connection) -> T,
) -> (T, ExitStatus) {
    // SAFETY: as for `fork`: callers hold `serial::lock()`.
    let (conn, child_proc) = unsafe { fork_with_pipe(direction, child) }.expect("fork_with_pipe");
    let result = parent(conn);
    let status = child_proc.wait().expect("wait");
    (result, status)
}
