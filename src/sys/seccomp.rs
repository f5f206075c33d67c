//! `prctl(PR_SET_NO_NEW_PRIVS)` and `seccomp(SECCOMP_SET_MODE_FILTER)`:
//! confining a thread to a [`Filter`](crate::seccomp::Filter)'s program.

use crate::seccomp::{Instruction, Program};

use super::{check, Errno};

// `Instruction` is the kernel's `struct sock_filter`, field for field; the
// program is handed over by pointer.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Instruction>() == size_of::<libc::sock_filter>());
    assert!(align_of::<Instruction>() == align_of::<libc::sock_filter>());
    assert!(offset_of!(Instruction, code) == offset_of!(libc::sock_filter, code));
    assert!(offset_of!(Instruction, jt) == offset_of!(libc::sock_filter, jt));
    assert!(offset_of!(Instruction, jf) == offset_of!(libc::sock_filter, jf));
    assert!(offset_of!(Instruction, k) == offset_of!(libc::sock_filter, k));
};

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: no `exec` by this thread or its
/// descendants can gain privileges (set-user-ID bits, file capabilities).
/// Required before an unprivileged thread may install a seccomp filter;
/// it cannot be undone.
///
/// # Errors
/// `EINVAL` on kernels before 3.5.
///
/// # System calls
/// `prctl`.
pub fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only; the unused
    // arguments must be 0.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, program)`: adds `program` to the
/// calling thread's filters, which every thread and process it creates
/// inherits. Usually reached through
/// [`Filter::install`](crate::seccomp::Filter::install).
///
/// It takes a [`Program`] a [`Filter`](crate::seccomp::Filter) built,
/// never raw instructions: a filter may only allow, refuse or report a
/// call, never make one return success undone, which the wrappers here
/// would trust (a descriptor never made, a buffer never filled).
///
/// # Errors
/// `EACCES` without no-new-privileges ([`set_no_new_privs`]) or
/// `CAP_SYS_ADMIN`; `EINVAL` from a kernel without seccomp filters;
/// `ENOMEM` when the thread's filters would exceed the kernel's total.
///
/// # System calls
/// `seccomp`.
pub fn set_seccomp_filter(program: &Program) -> Result<(), Errno> {
    let program = program.instructions();
    // At most `MAX_INSTRUCTIONS`, far below the kernel's 4,096.
    let len = u16::try_from(program.len()).map_err(|_| Errno::INVAL)?;
    let fprog = libc::sock_fprog {
        len,
        // The kernel copies the program and never writes to it.
        filter: program.as_ptr().cast_mut().cast(),
    };
    let fprog: *const libc::sock_fprog = &fprog;
    // SAFETY: `fprog` points to a valid `sock_fprog` whose `filter` points
    // to `len` instructions laid out as `sock_filter` (checked above); the
    // kernel copies them during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            fprog,
        )
    };
    // The call returns 0 or -1 without flags, which fit any C int.
    check(ret as libc::c_int)?;
    Ok(())
}
