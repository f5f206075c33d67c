//! The few process, pipe and CPU-affinity calls the harness makes,
//! straight on `libc`.
//!
//! The harness does not use ipcwire's own wrappers for this: the code under
//! test should not also be the code that sets up and judges the test.

use std::io;
use std::mem;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::workload::Duplex;

/// A forked child's process id.
#[derive(Copy, Clone, Debug)]
pub struct Pid(libc::pid_t);

/// Which side of a `fork` this process is on.
pub enum Fork {
    Parent(Pid),
    Child,
}

/// `pipe2(O_CLOEXEC)`, enlarged to `capacity` with `F_SETPIPE_SZ` if given:
/// returns `(reader, writer)`.
pub fn pipe(capacity: Option<usize>) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 stores.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are new descriptors nobody else owns.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if let Some(capacity) = capacity {
        set_pipe_size(&writer, capacity)?;
    }
    Ok((reader, writer))
}

/// One side of a duplex channel: a socket it both reads and writes, or
/// the read end of one pipe and the write end of the other.
pub enum DuplexEnd {
    Socket(OwnedFd),
    Pipes { reader: OwnedFd, writer: OwnedFd },
}

impl DuplexEnd {
    /// What this side reads the other's messages from.
    pub fn reader(&self) -> BorrowedFd<'_> {
        match self {
            DuplexEnd::Socket(fd) | DuplexEnd::Pipes { reader: fd, .. } => fd.as_fd(),
        }
    }

    /// What this side writes its messages to.
    pub fn writer(&self) -> BorrowedFd<'_> {
        match self {
            DuplexEnd::Socket(fd) | DuplexEnd::Pipes { writer: fd, .. } => fd.as_fd(),
        }
    }
}

/// The two sides of a new `duplex` channel: `socketpair(AF_UNIX,
/// SOCK_STREAM)`, or two pipes (see [`two_pipes`]). Every descriptor is
/// close-on-exec.
pub fn duplex(duplex: Duplex) -> io::Result<(DuplexEnd, DuplexEnd)> {
    match duplex {
        Duplex::SocketPair => {
            let mut fds = [0; 2];
            let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
            // SAFETY: `fds` has room for the two descriptors socketpair stores.
            if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } == -1 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: socketpair succeeded, so both are new descriptors nobody else owns.
            let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            Ok((DuplexEnd::Socket(a), DuplexEnd::Socket(b)))
        }
        Duplex::TwoPipes => {
            let ((a_reader, a_writer), (b_reader, b_writer)) = two_pipes()?;
            Ok((
                DuplexEnd::Pipes {
                    reader: a_reader,
                    writer: a_writer,
                },
                DuplexEnd::Pipes {
                    reader: b_reader,
                    writer: b_writer,
                },
            ))
        }
    }
}

/// Two default pipes, one each way: returns each side's `(reader,
/// writer)`, the first side reading what the second writes and the
/// second what the first writes.
pub fn two_pipes() -> io::Result<((OwnedFd, OwnedFd), (OwnedFd, OwnedFd))> {
    let (a_reader, b_writer) = pipe(None)?;
    let (b_reader, a_writer) = pipe(None)?;
    Ok(((a_reader, a_writer), (b_reader, b_writer)))
}

/// `fcntl(F_SETPIPE_SZ)` on either end of a pipe.
fn set_pipe_size(fd: &OwnedFd, capacity: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let capacity = libc::c_int::try_from(capacity).map_err(io::Error::other)?;
    // SAFETY: F_SETPIPE_SZ takes an int by value and touches no memory.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, capacity) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `fork()`.
///
/// # Safety
/// As for `fork` itself: if the process has other threads, the child may
/// only do async-signal-safe work. The benchmark has one thread.
pub unsafe fn fork() -> io::Result<Fork> {
    // SAFETY: the caller upholds fork's contract.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(Pid(pid))),
    }
}

/// `_exit(code)`: a forked child leaves without running the destructors or
/// flushing the buffers it copied from the parent.
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit has no preconditions and does not return.
    unsafe { libc::_exit(code) }
}

/// `waitpid`: reaps the child; `Ok(())` only if it exited with code 0.
pub fn wait(pid: Pid) -> io::Result<()> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is valid memory for the kernel to store into.
        if unsafe { libc::waitpid(pid.0, &mut status, 0) } != -1 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
        (true, 0) => Ok(()),
        (true, code) => Err(io::Error::other(format!("child exited with code {code}"))),
        _ => Err(io::Error::other(format!(
            "child died, wait status {status:#x}"
        ))),
    }
}

/// `kill(pid, SIGKILL)`: stops a child the parent has given up on, so the
/// following `wait` cannot hang.
pub fn kill(pid: Pid) {
    // SAFETY: kill takes plain integers; failure (already gone) is harmless.
    unsafe { libc::kill(pid.0, libc::SIGKILL) };
}

/// The CPUs this process may run on, in increasing order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = affinity()?;
    let cpus = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET only reads the set, and `cpu` is below its size.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect();
    Ok(cpus)
}

/// Keeps this process (and every child it starts meanwhile: they inherit
/// the mask) on one CPU until dropped, then restores the previous mask.
pub struct Pinned {
    previous: libc::cpu_set_t,
}

pub fn pin(cpu: usize) -> io::Result<Pinned> {
    let previous = affinity()?;
    run_only_on(cpu)?;
    Ok(Pinned { previous })
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // Nothing better to do on failure than run on, pinned.
        let _ = set_affinity(&self.previous);
    }
}

/// Restricts this process to `cpu` for good (a forked child's placement).
pub fn run_only_on(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::other(format!("no CPU {cpu}")));
    }
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut one: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: CPU_SET writes inside `one`, and `cpu` is below its size.
    unsafe { libc::CPU_SET(cpu, &mut one) };
    set_affinity(&one)
}

/// `sched_getaffinity(0)`: the CPUs this process may run on.
fn affinity() -> io::Result<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is writable memory of the size passed.
    if unsafe { libc::sched_getaffinity(0, mem::size_of_val(&set), &mut set) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(set)
}

/// `sched_setaffinity(0, set)`.
fn set_affinity(set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` is readable memory of the size passed.
    if unsafe { libc::sched_setaffinity(0, mem::size_of_val(set), set) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Raises the soft limit on open descriptors to at least `want` (up to the
/// hard limit).
pub fn raise_fd_limit(want: usize) -> io::Result<()> {
    let mut limit: libc::rlimit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through the pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    let want = want as libc::rlim_t;
    if limit.rlim_cur >= want {
        return Ok(());
    }
    if limit.rlim_max < want {
        return Err(io::Error::other(format!(
            "{want} descriptors wanted, the hard limit is {}",
            limit.rlim_max
        )));
    }
    limit.rlim_cur = want;
    // SAFETY: setrlimit reads one rlimit through the pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
