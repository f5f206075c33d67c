//! Kernels older than this one, as a pipe send meets them: Linux 6.18 gave
//! `pwritev2` the flag `RWF_NOSIGNAL`, which spares a pipe's writer
//! `SIGPIPE`, and ipcwire's pipe sends use it. Older kernels answer it with
//! `EOPNOTSUPP` (4.6 to 6.17) or lack the call (`ENOSYS`, before 4.6), and
//! ipcwire falls back to looking the action up and guarding the write. A
//! seccomp filter that answers `pwritev2` so makes this kernel one of those
//! for the process that installs it (a forked child: a filter binds for
//! good).
//!
//! Needs `confine` (with its `fork` and `serial`) included beside it.
#![allow(dead_code)] // each test binary uses a part

use ipcwire::seccomp::Instruction;
use ipcwire::sys::Errno;

/// The kernel a test's sends meet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// This one, as it is.
    This,
    /// 4.6 to 6.17: `pwritev2` without `RWF_NOSIGNAL`.
    WithoutNosignal,
    /// Before 4.6: no `pwritev2`.
    WithoutPwritev2,
    /// Any kernel under a seccomp allowlist written before `pwritev2`
    /// that refuses what it does not list with `EPERM`, as libseccomp's
    /// `SCMP_ACT_ERRNO(EPERM)` and systemd's `SystemCallFilter=` do.
    Filtered,
}

impl Kernel {
    /// This kernel, and each older one that can be emulated here.
    pub fn all() -> &'static [Kernel] {
        if cfg!(target_os = "linux") {
            &[
                Kernel::This,
                Kernel::WithoutNosignal,
                Kernel::WithoutPwritev2,
                Kernel::Filtered,
            ]
        } else {
            &[Kernel::This]
        }
    }

    /// Makes this process's `pwritev2` answer as this kernel's would, for
    /// good: call it in a forked child only.
    pub fn emulate(self) -> Result<(), Errno> {
        let errno = match self {
            Kernel::This => return Ok(()),
            Kernel::WithoutNosignal => libc::EOPNOTSUPP,
            Kernel::WithoutPwritev2 => libc::ENOSYS,
            Kernel::Filtered => libc::EPERM,
        };
        refuse(libc::SYS_pwritev2, errno)
    }
}

/// Whether this kernel's pipes take `RWF_NOSIGNAL` (Linux 6.18 on).
pub fn has_nosignal() -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsFd;
        let (_r, w) = ipcwire::sys::pipe().expect("pipe");
        let probe = [ipcwire::sys::IoSlice::new(b"?")];
        ipcwire::sys::writev_nosignal(w.as_fd(), &probe) == Ok(1)
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// Installs a filter that fails system call `nr` with `errno` and allows
/// every other call, for good: call it in a forked child only.
#[cfg(target_os = "linux")]
pub fn refuse(nr: libc::c_long, errno: libc::c_int) -> Result<(), Errno> {
    const LOAD_NR: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS, offset 0: the number
    const JUMP_EQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    let op = |code, jt, jf, k| Instruction { code, jt, jf, k };
    let program = [
        op(LOAD_NR, 0, 0, 0),
        op(JUMP_EQ, 0, 1, nr as u32),
        op(RET, 0, 0, SECCOMP_RET_ERRNO | errno as u32),
        op(RET, 0, 0, SECCOMP_RET_ALLOW),
    ];
    ipcwire::sys::set_no_new_privs()?;
    crate::confine::install_raw(&program)
}

#[cfg(not(target_os = "linux"))]
pub fn refuse(_: libc::c_long, _: libc::c_int) -> Result<(), Errno> {
    Err(Errno::NOSYS)
}
