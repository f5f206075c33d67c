//! A seccomp filter installed in a forked child, and how the child ended.
//! Linux only.
//!
//! Uses `crate::fork` and `crate::serial`: included with
//! `#[path = "common/confine.rs"] mod confine;` next to them (from a test
//! directory, `"../common/confine.rs"`).
#![cfg(target_os = "linux")]
#![allow(dead_code)] // each test binary uses a part

use ipcwire::seccomp::{Filter, Instruction};
use ipcwire::{Errno, ExitStatus};

/// A child whose filter the kernel refused exits with this plus the error.
const REFUSED: i32 = 128;

/// Forks a child that installs `filter`, runs `then` under it and exits
/// with what `then` returns (below 128); returns how the child ended, or
/// the error the kernel refused the filter with. Takes `serial::lock()`.
pub fn confined(filter: &Filter, then: impl FnOnce() -> i32) -> Result<ExitStatus, Errno> {
    let _serial = crate::serial::lock();
    confined_after(filter, || {}, then)
}

/// As [`confined`], the child running `prepare` before it installs the
/// filter (unconfined: a signal handler, say); the caller holds
/// `serial::lock()`.
///
/// The child dumps no core (a refused call may end it with `SIGSYS`), and
/// `SIGALRM` ends it after 10 seconds should an exit it is refused leave
/// its C library spinning.
pub fn confined_after(
    filter: &Filter,
    prepare: impl FnOnce(),
    then: impl FnOnce() -> i32,
) -> Result<ExitStatus, Errno> {
    let mut child = crate::fork::fork(|| {
        // SAFETY: integer arguments only; these change this process alone.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            libc::alarm(10);
        }
        keep_the_heap();
        prepare();
        match filter.install() {
            Ok(()) => then(),
            Err(e) => REFUSED + e.raw(),
        }
    });
    match child.wait() {
        ExitStatus::Exited(code) if code > REFUSED => Err(Errno::from_raw(code - REFUSED)),
        status => Ok(status),
    }
}

/// A child forked from a test thread keeps that thread's glibc arena, and
/// glibc reads `/proc/sys/vm/overcommit_memory` (an `openat` no filter here
/// allows) the first time it gives such an arena's memory back: with a trim
/// threshold past any test's heap, it never does.
fn keep_the_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: integer arguments only; changes this process's malloc alone.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}

/// Why the tests' filters cannot run here, if they cannot: the target has
/// no seccomp architecture, or the kernel lacks seccomp filters or one of
/// the actions `ipcwire::seccomp` uses.
pub fn unsupported() -> Option<String> {
    if ipcwire::seccomp::Arch::native().is_none() {
        return Some("no seccomp architecture for this target".to_owned());
    }
    const FILE: &str = "/proc/sys/kernel/seccomp/actions_avail";
    let actions = match std::fs::read_to_string(FILE) {
        Ok(actions) => actions,
        Err(e) => return Some(format!("no seccomp filters in this kernel ({FILE}: {e})")),
    };
    ["kill_process", "errno", "trap", "log", "allow"]
        .into_iter()
        .find(|need| !actions.split_whitespace().any(|a| a == *need))
        .map(|need| format!("this kernel's seccomp lacks the action {need} ({FILE}: {actions:?})"))
}

/// Installs raw `instructions` as a seccomp filter, as ipcwire never does:
/// for testing what the kernel's checker refuses. The caller has set
/// no-new-privileges and is a child that exits soon after.
pub fn install_raw(instructions: &[Instruction]) -> Result<(), Errno> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(instructions.len()).map_err(|_| Errno::INVAL)?,
        filter: instructions.as_ptr().cast_mut().cast(),
    };
    // SAFETY: `fprog` describes `instructions`, laid out as `sock_filter`
    // (ipcwire asserts it); the kernel copies them and writes nothing. The
    // programs tested never make a call return success undone.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}
