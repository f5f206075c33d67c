//! What a child confined by a seccomp filter leaves for its parent: the
//! system call the filter refused, caught with `Action::Trap` by a `SIGSYS`
//! handler, and the first panic message, both kept in a page mapped
//! `MAP_SHARED` before the fork (the child's descendants share it too).
//!
//! `Action::KillProcess` says only "killed by SIGSYS"; running the same
//! work again under `Action::Trap` with [`Shared::catch_sigsys`] names the
//! call. The handler makes no system call but `exit_group`, which a filter
//! that allows the runtime allows.
//!
//! A confined child cannot print, so its panics go to the page too: a
//! panic hook, set in the parent before the first fork, writes there in a
//! process that called [`Shared::enter_child`] and otherwise does what the
//! hook before it did. (Setting it in the child could wait forever on the
//! hook's lock, held at the fork by another test's thread that panicked.)
//!
//! Included with `#[path = "common/sigsys.rs"] mod sigsys;` (from a test
//! directory, `"../common/sigsys.rs"`).
#![allow(dead_code)] // each test binary uses a part

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Once;

use ipcwire::sys::inventory;

/// The exit code of a process whose `SIGSYS` handler ran: below the 128
/// and up that `confine` gives a refused filter.
pub const TRAPPED: i32 = 125;

/// No call trapped yet.
const NONE: i64 = -1;

#[repr(C)]
struct Page {
    syscall: AtomicI64,
    claimed: AtomicBool,
    message_len: AtomicUsize,
    /// Written once, by the process that claimed it.
    message: UnsafeCell<[u8; MESSAGE]>,
}

const MESSAGE: usize = 3968;

/// The page of a child that called [`Shared::enter_child`]; null in the
/// parent.
static PAGE: AtomicPtr<Page> = AtomicPtr::new(std::ptr::null_mut());

/// A shared page: made by the parent before `fork`, written by the child,
/// read by the parent after it reaped the child.
pub struct Shared {
    page: *mut Page,
}

impl Shared {
    pub fn new() -> Shared {
        keep_childrens_panics();
        // SAFETY: an anonymous shared mapping of fresh memory, no address
        // asked for; checked for failure below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                std::mem::size_of::<Page>(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap a shared page");
        let page = ptr.cast::<Page>();
        // SAFETY: the mapping is zeroed, page-aligned and big enough for a
        // `Page`, whose fields are all valid when zero.
        unsafe { (*page).syscall.store(NONE, Ordering::Relaxed) };
        Shared { page }
    }

    fn page(&self) -> &Page {
        // SAFETY: mapped in `new` until `drop`, and only touched atomically
        // (the message bytes are published by `message_len`).
        unsafe { &*self.page }
    }

    /// In the child: its panics, and its descendants', go to this page.
    pub fn enter_child(&self) {
        PAGE.store(self.page, Ordering::Relaxed);
    }

    /// In the child, after [`enter_child`](Self::enter_child) and before
    /// its filter: a `SIGSYS` stores the refused call's number here and
    /// ends the process with [`TRAPPED`].
    pub fn catch_sigsys(&self) {
        // SAFETY: a zeroed `sigaction` is a valid value to fill in.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigsys as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO;
        // SAFETY: `action` is fully initialized and `on_sigsys` has the
        // three-argument form SA_SIGINFO asks for; the old action is not
        // wanted.
        let ret = unsafe { libc::sigaction(libc::SIGSYS, &action, std::ptr::null_mut()) };
        assert_eq!(ret, 0, "sigaction(SIGSYS)");
    }

    /// The number of the call a `SIGSYS` handler caught, if one did.
    pub fn syscall(&self) -> Option<i64> {
        Some(self.page().syscall.load(Ordering::Acquire)).filter(|&n| n != NONE)
    }

    /// The first panic message the child or a descendant left.
    pub fn message(&self) -> Option<String> {
        let page = self.page();
        let len = page.message_len.load(Ordering::Acquire);
        // SAFETY: the child that claimed the message wrote `len` bytes
        // before publishing `len`, and has exited.
        let bytes = unsafe { std::slice::from_raw_parts(page.message.get().cast::<u8>(), len) };
        (len > 0).then(|| String::from_utf8_lossy(bytes).into_owned())
    }
}

impl Default for Shared {
    fn default() -> Shared {
        Shared::new()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this size; no reference outlives
        // `self`. (A child's handler pointing at it has exited.)
        unsafe { libc::munmap(self.page.cast(), std::mem::size_of::<Page>()) };
    }
}

/// Sets, once, a panic hook that keeps the first panic message of a
/// child that entered a page, and leaves every other panic to the hook
/// before it.
fn keep_childrens_panics() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // SAFETY: set by `enter_child` to a page mapped until the child
            // exits.
            match unsafe { PAGE.load(Ordering::Relaxed).as_ref() } {
                Some(page) => keep(page, &info.to_string()),
                None => before(info),
            }
        }));
    });
}

/// Copies `text` into the page, unless a message is there already.
fn keep(page: &Page, text: &str) {
    if page.claimed.swap(true, Ordering::AcqRel) {
        return;
    }
    let len = text.len().min(MESSAGE);
    let start = page.message.get().cast::<u8>();
    // SAFETY: claimed above, so no other process writes the bytes; `len`
    // fits in the array.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), start, len) };
    page.message_len.store(len, Ordering::Release);
}

/// The `SA_SIGINFO` handler: stores the refused call's number (the first,
/// if descendants share the page) and exits. Only `exit_group`, via
/// `ipcwire::sys::exit`; never returns into the refused call.
extern "C" fn on_sigsys(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid siginfo.
    let number = i64::from(unsafe { si_syscall(info) });
    // SAFETY: set to a live mapping before the handler was installed.
    if let Some(page) = unsafe { PAGE.load(Ordering::Relaxed).as_ref() } {
        let _ = page
            .syscall
            .compare_exchange(NONE, number, Ordering::AcqRel, Ordering::Relaxed);
    }
    ipcwire::sys::exit(TRAPPED)
}

/// `info->si_syscall`, which the libc crate does not name. The kernel's
/// `siginfo_t` starts with three ints (`si_signo`, `si_errno`, `si_code`),
/// then the union, aligned to a pointer; for `SIGSYS` the union holds
/// `_sigsys { void *_call_addr; int _syscall; unsigned int _arch; }`. So
/// on 64-bit Linux `si_call_addr` is at byte 16, `si_syscall` at 24 and
/// `si_arch` at 28; on i686 at 12, 16 and 20.
///
/// # Safety
/// `info` points to a `siginfo_t` the kernel filled for a `SIGSYS`.
unsafe fn si_syscall(info: *const libc::siginfo_t) -> i32 {
    #[cfg(target_pointer_width = "64")]
    const SYSCALL: usize = 24;
    #[cfg(target_pointer_width = "32")]
    const SYSCALL: usize = 16;
    // SAFETY: in bounds of the 128-byte `siginfo_t`, 4-aligned in an
    // 8-aligned struct.
    unsafe { info.cast::<u8>().add(SYSCALL).cast::<i32>().read() }
}

/// The name of system call `number` on this architecture: any the
/// inventory or `seccomp::RUNTIME` names, or one of a few that programs
/// often make besides (thread creation, opening files).
// `c_long` is `i64` only on 64-bit targets.
#[allow(clippy::useless_conversion)]
pub fn name_of(number: i64) -> Option<&'static str> {
    inventory::name(number).or_else(|| {
        OTHERS
            .iter()
            .find(|&&(n, _)| i64::from(n) == number)
            .map(|&(_, name)| name)
    })
}

/// Calls outside the inventory a confined program may still make.
const OTHERS: &[(libc::c_long, &str)] = &[
    (libc::SYS_openat, "openat"),
    (libc::SYS_clone3, "clone3"),
    (libc::SYS_rt_sigreturn, "rt_sigreturn"),
    (libc::SYS_rseq, "rseq"),
    (libc::SYS_gettid, "gettid"),
    (libc::SYS_sched_getaffinity, "sched_getaffinity"),
    (libc::SYS_clock_nanosleep, "clock_nanosleep"),
    (libc::SYS_ioctl, "ioctl"),
];

/// `name (number)`, or the number alone.
pub fn describe(number: i64) -> String {
    match name_of(number) {
        Some(name) => format!("{name} ({number})"),
        None => format!("system call {number}"),
    }
}
