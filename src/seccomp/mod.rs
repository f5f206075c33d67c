//! Seccomp allowlists built from the system call [inventory]: a process
//! that will only call some of ipcwire's functions can tell the kernel to
//! refuse every other system call.
//!
//! A [`Filter`] collects system call numbers — from the inventory entries of
//! the functions the process will call ([`Filter::allow_function`]), from
//! [`RUNTIME`] for its allocator and exit ([`Filter::allow_runtime`]), or
//! one by one — and compiles them into a classic-BPF [`Program`] that
//! checks the architecture, allows exactly those numbers and applies an
//! [`Action`] to everything else. [`Filter::install`] hands it to the
//! kernel: `prctl(PR_SET_NO_NEW_PRIVS)`, then
//! `seccomp(SECCOMP_SET_MODE_FILTER)`. From then on the calling thread,
//! and every thread and process it creates, is confined; no filter can be
//! removed, and another one installed later only narrows the list.
//!
//! Building allocates nothing: a filter and its program are fixed-size
//! values (about 1 KiB and 2 KiB).
//!
//! ```
//! use ipcwire::seccomp::{Action, Filter};
//! use ipcwire::{fork_with_pipe, Direction};
//!
//! // SAFETY: a single-threaded program; the child serves and exits.
//! let (mut conn, child) = unsafe {
//!     fork_with_pipe(Direction::Duplex, |mut conn| {
//!         let mut filter = Filter::native(Action::KillProcess).expect("a Linux target");
//!         let confined = filter
//!             .allow_functions(&[
//!                 "Connection::recv_bytes_into",
//!                 "Connection::send_bytes",
//!                 "drop(Connection)", // as the closure returns, before `exit_group`
//!             ])
//!             .and_then(Filter::allow_runtime);
//!         if confined.is_err() || filter.install().is_err() {
//!             return 1;
//!         }
//!         // From here, any other system call kills this child with SIGSYS.
//!         let mut buf = [0; 64];
//!         while let Ok(n) = conn.recv_bytes_into(&mut buf) {
//!             if conn.send_bytes(&buf[..n]).is_err() {
//!                 return 2;
//!             }
//!         }
//!         0
//!     })
//! }?;
//! conn.send_bytes(b"ping")?;
//! assert_eq!(conn.recv_bytes()?, b"ping");
//! drop(conn);
//! assert!(child.wait()?.success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the inventory does not hold
//!
//! The [inventory] lists what ipcwire's functions call, nothing else. A
//! confined process also needs the calls of everything else it runs:
//!
//! - **The allocator and exit.** [`RUNTIME`] lists what glibc's and musl's
//!   `malloc` and a process's or thread's exit call in a single-threaded
//!   process (memory maps, `futex`, std's `sigaltstack` on the way out),
//!   plus `restart_syscall`, with which the kernel resumes an allowed call
//!   after a stop. A multi-threaded glibc program may also read
//!   `/proc/sys/vm/overcommit_memory` when it shrinks a thread's heap, and
//!   so may a child forked from any thread but the main one, which keeps
//!   that thread's heap (a high `mallopt(M_TRIM_THRESHOLD)` before
//!   confining stops it). A `no_std` program without an allocator needs
//!   only `exit_group`, which `fork_with_pipe`'s entry lists.
//! - **std's debug checks.** In a build with debug assertions, std checks
//!   each descriptor with `fcntl(F_GETFD)` before closing it;
//!   [`Filter::allow_runtime`] allows `fcntl` when ipcwire itself is built
//!   so. The check follows the crate the drop is compiled in: if a profile
//!   gives yours debug assertions and ipcwire none, allow `fcntl` yourself
//!   ([`Filter::allow`] with [`inventory::number`]`("fcntl")`).
//! - **std's hash maps**, which seed each thread's keys from `getrandom`
//!   on first use: receiving into a `HashMap` needs it.
//! - **Signal handlers**, which return through `rt_sigreturn`; printing,
//!   which writes; panics, whose message std prints (`write`, and `gettid`
//!   for the thread's id), so that under [`Action::KillProcess`] a panic
//!   ends the process with `SIGSYS` and its message is lost; and anything
//!   else the program does itself.
//!
//! When a confined process dies of `SIGSYS`, the kernel's audit log
//! (`dmesg`) or `strace -f` gives the call's number; [`inventory::name`]
//! names it. [`Action::Trap`] with a `SIGSYS` handler reading
//! `si_syscall` does the same from inside.
//!
//! # Choosing the action
//!
//! [`Action::KillProcess`] is the sandbox's choice: a refused call ends the
//! process at once (status: killed by `SIGSYS`), before it does anything,
//! and leaves a core dump where the core size limit (`ulimit -c`) allows.
//! [`Action::Errno`] lets a program that handles errors carry on without
//! the call. [`Action::Trap`] raises `SIGSYS` with the call's number in
//! `si_syscall`, for a handler that reports it; with no handler the process
//! dies as with `KillProcess`. [`Action::Log`] allows every call and logs
//! the ones outside the list to the kernel's audit log: run a program so
//! first, to learn what it needs.
//!
//! # Cost
//!
//! Installing is two system calls. Afterwards every system call of the
//! process passes the kernel's seccomp check. Linux 5.11 and later
//! remember which numbers a filter allows whatever the arguments (all of
//! them here, but i686's `socketcall`) and skip the program for those; the
//! slower entry path stays. On the benchmarks' machine (an x86_64 virtual
//! machine, Linux 6.18) that was about 40 ns a call, and 64-byte messages
//! one way over a pipe went at 0.83× the unconfined rate
//! (`cargo bench --bench ipc -- ipcwire seccomp-getpid`, and `w1-seccomp`;
//! see `benches/README.md` in the repository).
//!
//! # Platforms
//!
//! Linux on x86_64, aarch64 and i686 ([`Arch::native`]); the program itself
//! can be built for any of them anywhere ([`Filter::new`],
//! [`Filter::allow`]). Elsewhere [`Filter::native`] is `None`, and the
//! methods that need the running system exist but fail, so portable code
//! needs no `cfg`. `KillProcess` and `Log` need Linux 4.14 (2017):
//! older kernels know neither and kill the calling thread instead.
//!
//! On i686 the C library may make socket calls through `socketcall`,
//! naming the call in its first argument; a filter allows it only for the
//! operations of the socket calls it allows
//! ([`Filter::allow_socketcall`]), never whole.
//!
//! [inventory]: crate::sys::inventory
//! [`inventory::number`]: crate::sys::inventory::number
//! [`inventory::name`]: crate::sys::inventory::name

mod program;

use core::fmt;
use core::num::NonZeroU16;

use program::SOCKETCALL;
pub use program::{Arch, Instruction, Program, MAX_INSTRUCTIONS, MAX_SOCKETCALL_OP, MAX_SYSCALLS};

/// What the kernel does with a system call the filter does not allow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Kill the process, as if by an uncatchable `SIGSYS`
    /// (`SECCOMP_RET_KILL_PROCESS`); the call is not made.
    KillProcess,
    /// Fail the call with this error number without making it
    /// (`SECCOMP_RET_ERRNO`), such as 1, `EPERM`; the kernel caps it at
    /// 4095. Never 0: a refused call would then return 0 as if it had
    /// succeeded, with nothing done (no descriptor made, no buffer filled),
    /// which safe code relying on the call would trust.
    ///
    /// ```compile_fail
    /// let never = ipcwire::seccomp::Action::Errno(0);
    /// ```
    Errno(NonZeroU16),
    /// Send the thread `SIGSYS`, whose `si_syscall` names the call
    /// (`SECCOMP_RET_TRAP`); the call is not made.
    Trap,
    /// Make the call and log it (`SECCOMP_RET_LOG`): for learning what a
    /// program needs, never for confining it.
    Log,
}

impl Action {
    /// The `SECCOMP_RET_*` verdict the filter returns for a refused call.
    #[must_use]
    pub const fn verdict(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::Errno(errno) => 0x0005_0000 | errno.get() as u32,
            Action::Trap => 0x0003_0000,
            Action::Log => 0x7FFC_0000,
        }
    }
}

/// Why a system call or function could not be added to a [`Filter`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterError {
    /// The function is not in the [inventory](crate::sys::inventory): it
    /// makes no system call, or the name is misspelt. Refused, so that a typo
    /// cannot narrow the list unnoticed.
    UnknownFunction,
    /// The filter already allows [`MAX_SYSCALLS`] calls.
    Full,
    /// Function names give this build's numbers, and the filter is for
    /// another architecture.
    ForeignArch,
    /// No call of the filter's architecture has this number, and the
    /// program refuses it before reading the list: on x86_64, every number
    /// from the x32 bit (`0x4000_0000`) up. Or no such `socketcall`
    /// operation: the architecture is not i686, or it is not 1 to
    /// [`MAX_SOCKETCALL_OP`].
    Unreachable,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FilterError::UnknownFunction => "no such function in the system call inventory",
            FilterError::Full => "a filter allows at most 255 system calls",
            FilterError::ForeignArch => {
                "function names give numbers for this build's architecture only"
            }
            FilterError::Unreachable => {
                "the filter's architecture has no such call (an x32 number, or no such socketcall operation)"
            }
        })
    }
}

impl core::error::Error for FilterError {}

/// What a process needs besides ipcwire's own calls: its allocator's
/// memory maps and locks, the exit of a process (`exit_group`) or thread
/// (`exit`), the `sigaltstack` (and `munmap`) with which std's exit, from
/// `main` or `process::exit`, takes down the main thread's signal stack, and
/// `restart_syscall`, which resumes an allowed call the kernel interrupted
/// (a `poll` stopped by `SIGSTOP`, say). Alternatives included, as in the
/// inventory: `mmap2` and `futex_time64` are i686's.
pub const RUNTIME: &[&str] = &[
    "brk",
    "mmap",
    "mmap2",
    "munmap",
    "mremap",
    "madvise",
    "mprotect",
    "futex",
    "futex_time64",
    "exit",
    "exit_group",
    "sigaltstack",
    "restart_syscall",
];

/// The `socketcall` operations (`SYS_SOCKET`... in `linux/net.h`) through
/// which i686's C library may make each socket call the inventory names:
/// glibc's `send` and `recv` are operations of their own.
#[cfg(unix)]
const SOCKETCALL_OPS: &[(&str, &[u32])] = &[
    ("socket", &[1]),
    ("bind", &[2]),
    ("connect", &[3]),
    ("listen", &[4]),
    ("getsockname", &[6]),
    ("getpeername", &[7]),
    ("socketpair", &[8]),
    ("sendto", &[9, 11]),
    ("recvfrom", &[10, 12]),
    ("shutdown", &[13]),
    ("setsockopt", &[14]),
    ("getsockopt", &[15]),
    ("sendmsg", &[16]),
    ("recvmsg", &[17]),
    ("accept4", &[18]),
];

/// std's check before closing a descriptor, in builds with debug assertions.
#[cfg(unix)]
const DEBUG_CHECK: &[&str] = &["fcntl", "fcntl64"];

/// A seccomp allowlist under construction: the architecture, the numbers
/// allowed so far (at most [`MAX_SYSCALLS`]), on i686 the `socketcall`
/// operations, and the action for the rest.
///
/// See the [module docs](self) for an example.
#[derive(Clone)]
pub struct Filter {
    arch: Arch,
    action: Action,
    allowed: [u32; MAX_SYSCALLS],
    count: usize,
    /// Bit `op` set: `socketcall` allowed for operation `op`.
    socketcall_ops: u32,
}

impl Filter {
    /// An empty filter for `arch`: it refuses every call.
    #[must_use]
    pub const fn new(arch: Arch, action: Action) -> Filter {
        Filter {
            arch,
            action,
            allowed: [0; MAX_SYSCALLS],
            count: 0,
            socketcall_ops: 0,
        }
    }

    /// An empty filter for the architecture this program was built for;
    /// `None` where seccomp filters are not supported ([`Arch::native`]).
    #[must_use]
    pub const fn native(action: Action) -> Option<Filter> {
        match Arch::native() {
            Some(arch) => Some(Filter::new(arch, action)),
            None => None,
        }
    }

    /// Allows system call `number` (this filter's architecture's number).
    ///
    /// # Errors
    /// [`FilterError::Full`] when the filter holds [`MAX_SYSCALLS`] others;
    /// [`FilterError::Unreachable`] for a number the architecture check
    /// refuses (x32 calls), so that [`allows`](Self::allows) never
    /// promises what the program refuses.
    pub fn allow(&mut self, number: u32) -> Result<&mut Filter, FilterError> {
        if !self.arch.reaches(number) {
            return Err(FilterError::Unreachable);
        }
        let Err(at) = self.allowed().binary_search(&number) else {
            return Ok(self);
        };
        if self.count == MAX_SYSCALLS {
            return Err(FilterError::Full);
        }
        // Kept sorted, so a number is held once and lookups are quick.
        self.allowed.copy_within(at..self.count, at + 1);
        self.allowed[at] = number;
        self.count += 1;
        Ok(self)
    }

    /// On i686, allows `socketcall` for operation `op` only (`SYS_SOCKET`,
    /// 1, to `SYS_SENDMMSG`, [`MAX_SOCKETCALL_OP`], as in `linux/net.h`).
    /// [`allow_function`](Self::allow_function) does this for the socket
    /// calls a function makes, so that allowing one socket call never
    /// allows them all. (Allowing number 102 itself does.)
    ///
    /// # Errors
    /// [`FilterError::Unreachable`] on other architectures, or for a
    /// number that is no operation.
    pub fn allow_socketcall(&mut self, op: u32) -> Result<&mut Filter, FilterError> {
        if !self.arch.has_socketcall() || !(1..=MAX_SOCKETCALL_OP).contains(&op) {
            return Err(FilterError::Unreachable);
        }
        self.socketcall_ops |= 1 << op;
        Ok(self)
    }

    /// Whether the filter allows system call `number`. On i686 it may
    /// still allow `socketcall` for some operations: see
    /// [`allows_socketcall`](Self::allows_socketcall).
    #[must_use]
    pub fn allows(&self, number: u32) -> bool {
        self.allowed().binary_search(&number).is_ok()
    }

    /// Whether the filter allows `socketcall` with operation `op`: only on
    /// i686, for an operation [allowed](Self::allow_socketcall), or for
    /// every operation once `socketcall` is allowed by number.
    #[must_use]
    pub fn allows_socketcall(&self, op: u32) -> bool {
        let listed = op <= MAX_SOCKETCALL_OP && self.socketcall_ops & (1 << op) != 0;
        self.arch.has_socketcall() && (self.allows(SOCKETCALL) || listed)
    }

    /// The numbers allowed, in ascending order.
    #[must_use]
    pub fn allowed(&self) -> &[u32] {
        &self.allowed[..self.count]
    }

    /// The architecture the filter is for.
    #[must_use]
    pub const fn arch(&self) -> Arch {
        self.arch
    }

    /// What a refused call gets.
    #[must_use]
    pub const fn action(&self) -> Action {
        self.action
    }

    /// The BPF program: the architecture check, the allowed numbers, the
    /// action for everything else.
    #[must_use]
    pub fn program(&self) -> Program {
        let ops = self.socketcall_ops;
        Program::compile(self.arch, self.allowed(), ops, self.action.verdict())
    }
}

#[cfg(unix)]
impl Filter {
    /// Allows every system call the [inventory](crate::sys::inventory)
    /// lists for `function`, named as in its table's first column: a
    /// crate-root function as `"ipcwire::pipe"`, a `sys` function as
    /// `"sys::read"`, a method as `"Connection::send_bytes"` (no crate
    /// path), a drop as `"drop(Connection)"`, a conversion as
    /// `"OwnedFd::from(Connection)"`. Functions that make no system call
    /// (`Connection::set_recv_timeout`, `Listener::authkey`) have no entry:
    /// leave them out. Names the architecture lacks (alternatives its C
    /// library never uses) are skipped.
    ///
    /// # Errors
    /// [`FilterError::UnknownFunction`] for a name the inventory lacks;
    /// [`FilterError::ForeignArch`] when the filter is not for
    /// [`Arch::native`]; [`FilterError::Full`].
    pub fn allow_function(&mut self, function: &str) -> Result<&mut Filter, FilterError> {
        let calls =
            crate::sys::inventory::syscalls_of(function).ok_or(FilterError::UnknownFunction)?;
        self.allow_names(calls)
    }

    /// [`allow_function`](Self::allow_function) for each of `functions`.
    ///
    /// # Errors
    /// As `allow_function`, for the first function that fails; the
    /// functions before it stay allowed. The error does not say which
    /// function it was: [`sys::inventory::syscalls_of`] is `None` for it.
    ///
    /// [`sys::inventory::syscalls_of`]: crate::sys::inventory::syscalls_of
    pub fn allow_functions(&mut self, functions: &[&str]) -> Result<&mut Filter, FilterError> {
        for function in functions {
            self.allow_function(function)?;
        }
        Ok(self)
    }

    /// Allows [`RUNTIME`]: the allocator, exit and `restart_syscall`; in a
    /// build with debug assertions also `fcntl`, for std's check before it
    /// closes a descriptor.
    ///
    /// # Errors
    /// [`FilterError::ForeignArch`]; [`FilterError::Full`].
    pub fn allow_runtime(&mut self) -> Result<&mut Filter, FilterError> {
        self.allow_names(RUNTIME)?;
        if cfg!(debug_assertions) {
            self.allow_names(DEBUG_CHECK)?;
        }
        Ok(self)
    }

    /// Allows each name that has a number on this architecture; on i686,
    /// each socket call also as its `socketcall` operations, and
    /// `socketcall` no further.
    fn allow_names(&mut self, names: &[&str]) -> Result<&mut Filter, FilterError> {
        if Arch::native() != Some(self.arch) {
            return Err(FilterError::ForeignArch);
        }
        for name in names {
            if self.arch.has_socketcall() {
                let ops = SOCKETCALL_OPS.iter().find(|(call, _)| call == name);
                for &op in ops.map_or(&[][..], |&(_, ops)| ops) {
                    self.allow_socketcall(op)?;
                }
            }
            if *name == "socketcall" {
                continue;
            }
            let number = crate::sys::inventory::number(name).and_then(|n| u32::try_from(n).ok());
            if let Some(number) = number {
                self.allow(number)?;
            }
        }
        Ok(self)
    }

    /// Confines the calling thread, and every thread and process it later
    /// creates, to this filter: sets no-new-privileges (so an `exec` can
    /// never gain rights the filter would then bind), then installs the
    /// program. Irreversible. Threads already running stay as they were:
    /// install before starting any, or in a forked child.
    ///
    /// # Errors
    /// `EINVAL` from a kernel built without seccomp filters; `ENOSYS` from
    /// Linux before 3.17 and on other systems; whatever an outer filter
    /// answers for `prctl` or `seccomp`. After an error no filter is
    /// installed (no-new-privileges may already be set).
    ///
    /// # System calls
    /// `prctl`, `seccomp`.
    pub fn install(&self) -> Result<(), crate::sys::Errno> {
        #[cfg(target_os = "linux")]
        {
            crate::sys::set_no_new_privs()?;
            crate::sys::set_seccomp_filter(&self.program())
        }
        #[cfg(not(target_os = "linux"))]
        Err(crate::sys::Errno::NOSYS)
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("arch", &self.arch)
            .field("action", &self.action)
            .field("allowed", &self.allowed())
            .field(
                "socketcall_ops",
                &format_args!("{:#x}", self.socketcall_ops),
            )
            .finish()
    }
}
