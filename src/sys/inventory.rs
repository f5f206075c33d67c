//! The system calls each public function may make: what a
//! [`seccomp::Filter`](crate::seccomp::Filter) allows, and what a security
//! review reads.
//!
//! [`INVENTORY`] is the single source of truth: the [table](#the-table)
//! below is generated from it (`src/sys/syscalls.md`, written by `cargo run
//! --example syscalls -- --markdown`; a test fails when the two differ), and
//! the [audit](#the-audit) fails on any call the crate made that its entry
//! does not list. Functions not listed make none; each listed function's docs
//! say when it makes which, under `# System calls` (for a drop, on the
//! type's `Drop` impl or, without one, on the type), and
//! `tests/syscall_docs.rs` fails on a section naming a call its entry does
//! not list, or on an entry without a section.
//!
//! Names are the kernel's, as `strace` prints them. Where the C library
//! picks among equivalent calls (glibc's `fstat` is `newfstatat`, musl's is
//! `fstat`; `poll` is `ppoll` on aarch64; `fork` is `clone`, after which
//! glibc's child calls `set_robust_list`, while musl blocks signals around
//! it with `rt_sigprocmask` and its child calls `set_tid_address`; glibc's
//! `waitpid` is `waitpid` where the architecture has that call, as 32-bit
//! x86 does, and `wait4` elsewhere; 32-bit targets call `fcntl64`, the
//! 64-bit `stat` calls, `ppoll_time64`, `clock_gettime64`,
//! `rt_sigtimedwait_time64` and `ugetrlimit`; on 32-bit x86
//! the C library may make every socket call through `socketcall`), an entry
//! lists every alternative: an allowlist built from it works with either
//! library on any Linux architecture. [`number`] gives each name's number
//! on the target architecture. The names are Linux's; on other systems the
//! same functions make those systems' calls of the same purpose, and
//! [`number`] is `None`.
//!
//! `socketcall` takes the operation as an argument, which a list of
//! numbers cannot see: allowed whole, one socket call would allow them all.
//! A [`Filter`](crate::seccomp::Filter) therefore allows it only for the
//! operations of the socket calls an entry lists. `strace` shows each
//! `socketcall` under its operation's name (`send`, `recv`,
//! `socketpair`), so only a seccomp filter sees it.
//!
//! Memory the global allocator maps (`brk`, `mmap`, `munmap`, `mremap`) is
//! not listed: it is the allocator's, and a `no_std` build without `alloc`
//! makes none; nor is the `futex` a multi-threaded allocator may wait on.
//! Under `std`, a build with debug assertions checks each descriptor with
//! `fcntl(F_GETFD)` before std's `OwnedFd` closes it; release builds make
//! no such call, so it is not listed either. A filter allows all of these
//! with [`seccomp::RUNTIME`](crate::seccomp::RUNTIME). `clock_gettime`
//! normally runs in the vDSO, unseen by `strace` and by filters, and enters
//! the kernel only where there is none; entries list it all the same.
//!
//! ```
//! use ipcwire::sys::inventory;
//! let send = inventory::syscalls_of("Connection::send_bytes").unwrap();
//! assert!(send.contains(&"writev") && send.contains(&"sendmsg"));
//! # #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
//! assert_eq!(inventory::number("pipe2"), Some(293));
//! ```
//!
//! `examples/syscalls.rs` prints the inventory for the architecture it is
//! built for:
//!
//! ```sh
//! cargo run --example syscalls -- --allowlist   # each system call once: name, number
//! cargo run --example syscalls                  # function, system call, number
//! ```
//!
//! # The audit
//!
//! `tests/audit/` holds the crate to this list. It runs real scenarios
//! (pipe and fork with messages both ways, two pipes both ways from
//! `duplex_pipes`, `fork_with_pipe` and `from_pipes`, pipe sends in a child
//! whose `SIGPIPE` action is the default, a socket pair with `poll`, pipe
//! capacity, `from_fd`, passing descriptors, Unix and TCP listeners and
//! clients with the authkey handshake, timeouts, non-blocking mode,
//! children killed and reaped, a child confining itself, every `sys`
//! wrapper) under `strace -f`, brackets each call of a public function
//! with marker writes, and fails when
//!
//! - a system call inside a bracket is not listed for that function;
//! - `pipe2`, `socket`, `socketpair` or `accept4` lack the close-on-exec
//!   flag, or `recvmsg` lacks `MSG_CMSG_CLOEXEC`;
//! - a socket send lacks `MSG_NOSIGNAL`;
//! - a send or receive makes more system calls than its docs promise.
//!
//! Each scenario declares the functions it calls, and the brackets must
//! name exactly those; every entry here is declared by some scenario (a
//! test fails on one that is not). Then each runs again, without `strace`, in a child
//! confined by a [seccomp](crate::seccomp) filter that allows only those
//! functions' calls and [`RUNTIME`](crate::seccomp::RUNTIME): a call this
//! list misses kills it, and the test names the call.
//!
//! # The table
//!
//! Every public function that makes system calls, and the calls it may
//! make, alternatives included:
//!
#![doc = include_str!("syscalls.md")]

use core::fmt;

/// One public function and the system calls it may make.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The function as users call it: `ipcwire::pipe`, `Connection::send_bytes`,
    /// `sys::read`. `drop(Connection)` and friends name what a drop closes.
    pub function: &'static str,
    /// Kernel names of the calls it may make, alternatives included.
    pub syscalls: &'static [&'static str],
}

const fn entry(function: &'static str, syscalls: &'static [&'static str]) -> Entry {
    Entry { function, syscalls }
}

/// Every public function that makes system calls, in the order of the
/// [table](self#the-table). Functions not listed make none.
pub const INVENTORY: &[Entry] = &[
    entry(
        "ipcwire::pipe",
        &["socketpair", "socketcall", "pipe2", "close"],
    ),
    entry("ipcwire::duplex_pipes", &["pipe2", "close"]),
    entry(
        "ipcwire::pipe_with_capacity",
        &["pipe2", "fcntl", "fcntl64", "close"],
    ),
    entry(
        "ipcwire::fork_with_pipe",
        &[
            "socketpair",
            "socketcall",
            "pipe2",
            "clone",
            "fork",
            "set_robust_list",
            "set_tid_address",
            "rt_sigprocmask",
            "close",
            "exit_group",
        ],
    ),
    entry(
        "Direction::open",
        &["socketpair", "socketcall", "pipe2", "close"],
    ),
    entry("Child::wait", &["wait4", "waitpid"]),
    entry("Child::try_wait", &["wait4", "waitpid"]),
    entry("Child::kill", &["kill"]),
    entry(
        "Connection::from_fd",
        &[
            "newfstatat",
            "fstat",
            "fstat64",
            "fstatat64",
            "statx",
            "getsockopt",
            "getsockname",
            "socketcall",
            "close",
        ],
    ),
    entry(
        "Connection::try_from",
        &[
            "fcntl",
            "fcntl64",
            "newfstatat",
            "fstat",
            "fstat64",
            "fstatat64",
            "statx",
            "getsockopt",
            "getsockname",
            "socketcall",
            "close",
        ],
    ),
    entry(
        "Connection::from_pipes",
        &[
            "fcntl",
            "fcntl64",
            "newfstatat",
            "fstat",
            "fstat64",
            "fstatat64",
            "statx",
            "close",
        ],
    ),
    entry("Connection::into_fds", &["close"]),
    entry("OwnedFd::from(Connection)", &["close"]),
    entry("Connection::into_raw_fd", &["close"]),
    entry("Connection::send_bytes", SEND),
    entry("Connection::send_bytes_batch", SEND),
    entry("Connection::send", SEND),
    entry("Connection::set_nonblocking", &["fcntl", "fcntl64"]),
    entry("Connection::recv_bytes", RECV),
    entry("Connection::recv_bytes_into", RECV),
    entry("Connection::recv_bytes_borrowed", RECV),
    entry("Connection::recv_buffered", &["close"]),
    entry("Connection::recv", RECV),
    entry(
        "Connection::poll",
        &[
            "poll",
            "ppoll",
            "ppoll_time64",
            "clock_gettime",
            "clock_gettime64",
        ],
    ),
    entry("Connection::peer_cred", &["getsockopt", "socketcall"]),
    entry("Connection::pipe_size", &["fcntl", "fcntl64"]),
    entry("Connection::set_pipe_size", &["fcntl", "fcntl64"]),
    entry(
        "Connection::send_bytes_with_fds",
        &[
            "sendmsg",
            "sendto",
            "socketcall",
            "pwritev2",
            "write",
            "writev",
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigpending",
            "rt_sigtimedwait",
            "rt_sigtimedwait_time64",
        ],
    ),
    entry("Connection::recv_bytes_with_fds", RECV),
    entry("Connection::recv_bytes_into_with_fds", RECV),
    entry("Connection::send_fds", &["sendmsg", "socketcall"]),
    entry("Connection::send_handle", &["sendmsg", "socketcall"]),
    entry("Connection::recv_fds", RECV_WITH_FDS),
    entry("Connection::recv_handle", RECV_WITH_FDS),
    entry("ReceivedFds::truncate", &["close"]),
    entry("ReceivedFds::clear", &["close"]),
    entry("drop(ReceivedFds)", &["close"]),
    entry("drop(Connection)", &["close"]),
    entry(
        "Listener::bind",
        &[
            "socket",
            "setsockopt",
            "bind",
            "listen",
            "getsockname",
            "fcntl",
            "fcntl64",
            "connect",
            "socketcall",
            "newfstatat",
            "lstat",
            "lstat64",
            "fstatat64",
            "statx",
            "unlink",
            "unlinkat",
            "close",
        ],
    ),
    entry(
        "Listener::from_fd",
        &["fcntl", "fcntl64", "getsockname", "socketcall"],
    ),
    entry(
        "Listener::accept",
        &[
            "accept4",
            "setsockopt",
            "getrandom",
            "recvfrom",
            "sendto",
            "socketcall",
            "poll",
            "ppoll",
            "ppoll_time64",
            "clock_gettime",
            "clock_gettime64",
            "close",
        ],
    ),
    entry(
        "drop(Listener)",
        &[
            "newfstatat",
            "lstat",
            "lstat64",
            "fstatat64",
            "statx",
            "unlink",
            "unlinkat",
            "close",
        ],
    ),
    entry(
        "Client::connect",
        &[
            "socket",
            "fcntl",
            "fcntl64",
            "connect",
            "poll",
            "ppoll",
            "ppoll_time64",
            "getsockopt",
            "getpeername",
            "setsockopt",
            "getrandom",
            "recvfrom",
            "sendto",
            "socketcall",
            "clock_gettime",
            "clock_gettime64",
            "close",
        ],
    ),
    entry("sys::pipe", &["pipe2"]),
    entry("sys::pipe_size", &["fcntl", "fcntl64"]),
    entry("sys::set_pipe_size", &["fcntl", "fcntl64"]),
    entry("sys::socketpair", &["socketpair", "socketcall"]),
    entry("sys::read", &["read"]),
    entry("sys::readv", &["readv"]),
    entry("sys::write", &["write"]),
    entry("sys::writev", &["writev"]),
    entry("sys::send", &["sendto", "socketcall"]),
    entry("sys::send_vectored", &["sendmsg", "socketcall"]),
    entry("sys::send_nowait", &["sendto", "socketcall"]),
    entry("sys::recv_nowait", &["recvfrom", "socketcall"]),
    entry("sys::shutdown", &["shutdown", "socketcall"]),
    entry("sys::send_with_fds", &["sendmsg", "socketcall"]),
    entry("sys::recv_with_fds", &["recvmsg", "socketcall", "close"]),
    entry("sys::is_unix_socket", &["getsockname", "socketcall"]),
    entry("sys::is_stream", &["getsockopt", "socketcall"]),
    entry("sys::close", &["close"]),
    entry(
        "sys::close_other_fds",
        &[
            "close_range",
            "prlimit64",
            "getrlimit",
            "ugetrlimit",
            "close",
        ],
    ),
    entry(
        "sys::fstat_is_socket",
        &["newfstatat", "fstat", "fstat64", "fstatat64", "statx"],
    ),
    entry(
        "sys::fstat_id",
        &["newfstatat", "fstat", "fstat64", "fstatat64", "statx"],
    ),
    entry("sys::set_nonblocking", &["fcntl", "fcntl64"]),
    entry("sys::access_mode", &["fcntl", "fcntl64"]),
    entry(
        "sys::lstat",
        &["newfstatat", "lstat", "lstat64", "fstatat64", "statx"],
    ),
    entry("sys::unlink", &["unlink", "unlinkat"]),
    entry("sys::socket", &["socket", "socketcall"]),
    entry("sys::bind", &["bind", "socketcall"]),
    entry("sys::listen", &["listen", "socketcall"]),
    entry("sys::accept", &["accept4", "socketcall"]),
    entry(
        "sys::connect",
        &[
            "connect",
            "poll",
            "ppoll",
            "ppoll_time64",
            "getsockopt",
            "getpeername",
            "socketcall",
        ],
    ),
    entry(
        "sys::finish_connect",
        &[
            "poll",
            "ppoll",
            "ppoll_time64",
            "clock_gettime",
            "clock_gettime64",
            "getsockopt",
            "getpeername",
            "socketcall",
        ],
    ),
    entry("sys::socket_error", &["getsockopt", "socketcall"]),
    entry("sys::getsockname", &["getsockname", "socketcall"]),
    entry("sys::getpeername", &["getpeername", "socketcall"]),
    entry("sys::set_reuseaddr", &["setsockopt", "socketcall"]),
    entry("sys::set_nodelay", &["setsockopt", "socketcall"]),
    entry("sys::nodelay", &["getsockopt", "socketcall"]),
    entry("sys::peer_cred", &["getsockopt", "socketcall"]),
    entry(
        "sys::poll",
        &[
            "poll",
            "ppoll",
            "ppoll_time64",
            "clock_gettime",
            "clock_gettime64",
        ],
    ),
    entry("sys::monotonic_now", &["clock_gettime", "clock_gettime64"]),
    entry(
        "sys::fork",
        &[
            "clone",
            "fork",
            "set_robust_list",
            "set_tid_address",
            "rt_sigprocmask",
        ],
    ),
    entry("sys::waitpid", &["wait4", "waitpid"]),
    entry("sys::try_waitpid", &["wait4", "waitpid"]),
    entry("sys::try_wait_any", &["wait4", "waitpid"]),
    entry("sys::exit", &["exit_group"]),
    entry("sys::set_no_new_privs", &["prctl"]),
    entry("sys::set_seccomp_filter", &["seccomp"]),
    entry("sys::getpid", &["getpid"]),
    entry("sys::kill", &["kill"]),
    entry("sys::getrandom", &["getrandom"]),
    entry("sys::sigpipe_is_ignored", &["rt_sigaction"]),
    entry("sys::writev_nosignal", &["pwritev2"]),
    entry(
        "sys::writev_nosigpipe",
        &[
            "rt_sigprocmask",
            "writev",
            "rt_sigpending",
            "rt_sigaction",
            "rt_sigtimedwait",
            "rt_sigtimedwait_time64",
        ],
    ),
    entry(
        "ipcwire::wait",
        &[
            "poll",
            "ppoll",
            "ppoll_time64",
            "clock_gettime",
            "clock_gettime64",
        ],
    ),
    entry("drop(OwnedFd)", &["close"]),
    entry("Filter::install", &["prctl", "seccomp"]),
];

/// `send_bytes` and `send`: a message on a pipe or socket.
const SEND: &[&str] = &[
    "pwritev2",
    "write",
    "writev",
    "sendto",
    "sendmsg",
    "socketcall",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
];

/// Every receive of a message: `read`/`readv` on a pipe or TCP, `recvmsg`
/// on a Unix socket (closing descriptors a plain receive does not take),
/// `poll` and the clock under a timeout.
const RECV: &[&str] = &[
    "read",
    "readv",
    "recvmsg",
    "socketcall",
    "close",
    "poll",
    "ppoll",
    "ppoll_time64",
    "clock_gettime",
    "clock_gettime64",
];

/// A receive that collects descriptors: `recvmsg`, closing what must not
/// be kept, waiting under a receive timeout.
const RECV_WITH_FDS: &[&str] = &[
    "recvmsg",
    "socketcall",
    "close",
    "poll",
    "ppoll",
    "ppoll_time64",
    "clock_gettime",
    "clock_gettime64",
];

/// The system calls `function` may make, as listed in [`INVENTORY`];
/// `None` for a function that makes none.
#[must_use]
pub fn syscalls_of(function: &str) -> Option<&'static [&'static str]> {
    INVENTORY
        .iter()
        .find(|e| e.function == function)
        .map(|e| e.syscalls)
}

/// The name of system call `number` on the target architecture, among
/// those [`number`] knows (the inventory's and
/// [`seccomp::RUNTIME`](crate::seccomp::RUNTIME)): for reading a
/// `SIGSYS`'s `si_syscall` or a kernel audit log's `syscall=`.
#[must_use]
pub fn name(number: i64) -> Option<&'static str> {
    let listed = INVENTORY.iter().flat_map(|e| e.syscalls.iter());
    let mut known = listed.chain(crate::seccomp::RUNTIME).copied();
    known.find(|&name| self::number(name) == Some(number))
}

/// Whether any function in the crate may make the system call `name`.
#[must_use]
pub fn is_listed(name: &str) -> bool {
    INVENTORY.iter().any(|e| e.syscalls.contains(&name))
}

/// The [table](self#the-table) as Markdown, the contents of
/// `src/sys/syscalls.md`: one row per function, its system calls in order.
#[derive(Debug)]
pub struct MarkdownTable;

impl fmt::Display for MarkdownTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| function | system calls it may make |")?;
        writeln!(f, "|---|---|")?;
        for e in INVENTORY {
            write!(f, "| `{}` |", e.function)?;
            for (i, name) in e.syscalls.iter().enumerate() {
                let sep = if i == 0 { " " } else { ", " };
                write!(f, "{sep}`{name}`")?;
            }
            writeln!(f, " |")?;
        }
        Ok(())
    }
}

/// The number of system call `name` on the target architecture (Linux
/// only); `None` where the architecture has no such call (`poll` on
/// aarch64, `newfstatat` on i686) or on other systems.
// `c_long` is `i64` only on 64-bit targets.
#[allow(clippy::useless_conversion)]
pub fn number(name: &str) -> Option<i64> {
    numbers::lookup(name).map(i64::from)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod numbers {
    /// Calls every Linux architecture has, then each architecture's own.
    pub(super) fn lookup(name: &str) -> Option<libc::c_long> {
        common(name).or_else(|| arch(name))
    }

    fn common(name: &str) -> Option<libc::c_long> {
        Some(match name {
            "read" => libc::SYS_read,
            "readv" => libc::SYS_readv,
            "write" => libc::SYS_write,
            "writev" => libc::SYS_writev,
            "pwritev2" => libc::SYS_pwritev2,
            "close" => libc::SYS_close,
            "pipe2" => libc::SYS_pipe2,
            "fcntl" => libc::SYS_fcntl,
            "socketpair" => libc::SYS_socketpair,
            "socket" => libc::SYS_socket,
            "bind" => libc::SYS_bind,
            "listen" => libc::SYS_listen,
            "accept4" => libc::SYS_accept4,
            "connect" => libc::SYS_connect,
            "getsockopt" => libc::SYS_getsockopt,
            "setsockopt" => libc::SYS_setsockopt,
            "getsockname" => libc::SYS_getsockname,
            "getpeername" => libc::SYS_getpeername,
            "sendto" => libc::SYS_sendto,
            "sendmsg" => libc::SYS_sendmsg,
            "recvmsg" => libc::SYS_recvmsg,
            "recvfrom" => libc::SYS_recvfrom,
            "shutdown" => libc::SYS_shutdown,
            "ppoll" => libc::SYS_ppoll,
            "clock_gettime" => libc::SYS_clock_gettime,
            "clone" => libc::SYS_clone,
            "wait4" => libc::SYS_wait4,
            "exit_group" => libc::SYS_exit_group,
            "getpid" => libc::SYS_getpid,
            "kill" => libc::SYS_kill,
            "getrandom" => libc::SYS_getrandom,
            "set_robust_list" => libc::SYS_set_robust_list,
            "set_tid_address" => libc::SYS_set_tid_address,
            "rt_sigaction" => libc::SYS_rt_sigaction,
            "rt_sigprocmask" => libc::SYS_rt_sigprocmask,
            "rt_sigpending" => libc::SYS_rt_sigpending,
            "rt_sigtimedwait" => libc::SYS_rt_sigtimedwait,
            "unlinkat" => libc::SYS_unlinkat,
            "statx" => libc::SYS_statx,
            "close_range" => libc::SYS_close_range,
            "prlimit64" => libc::SYS_prlimit64,
            "prctl" => libc::SYS_prctl,
            "seccomp" => libc::SYS_seccomp,
            // Not ipcwire's: what `seccomp::RUNTIME` allows besides.
            "brk" => libc::SYS_brk,
            "munmap" => libc::SYS_munmap,
            "mremap" => libc::SYS_mremap,
            "madvise" => libc::SYS_madvise,
            "mprotect" => libc::SYS_mprotect,
            "futex" => libc::SYS_futex,
            "exit" => libc::SYS_exit,
            "restart_syscall" => libc::SYS_restart_syscall,
            "sigaltstack" => libc::SYS_sigaltstack,
            _ => return None,
        })
    }

    #[cfg(target_arch = "x86_64")]
    fn arch(name: &str) -> Option<libc::c_long> {
        Some(match name {
            "poll" => libc::SYS_poll,
            "fork" => libc::SYS_fork,
            "fstat" => libc::SYS_fstat,
            "lstat" => libc::SYS_lstat,
            "newfstatat" => libc::SYS_newfstatat,
            "unlink" => libc::SYS_unlink,
            "getrlimit" => libc::SYS_getrlimit,
            "mmap" => libc::SYS_mmap,
            _ => return None,
        })
    }

    #[cfg(target_arch = "x86")]
    fn arch(name: &str) -> Option<libc::c_long> {
        Some(match name {
            "poll" => libc::SYS_poll,
            "fork" => libc::SYS_fork,
            "fstat64" => libc::SYS_fstat64,
            "lstat64" => libc::SYS_lstat64,
            "fstatat64" => libc::SYS_fstatat64,
            "fcntl64" => libc::SYS_fcntl64,
            "waitpid" => libc::SYS_waitpid,
            "unlink" => libc::SYS_unlink,
            "getrlimit" => libc::SYS_getrlimit,
            // The libc crate names neither time64 call for x86; these are
            // the kernel's numbers (arch/x86/entry/syscalls/syscall_32.tbl).
            "ppoll_time64" => 414,
            "clock_gettime64" => 403,
            "futex_time64" => 422,
            "rt_sigtimedwait_time64" => 421,
            "ugetrlimit" => libc::SYS_ugetrlimit,
            "mmap2" => libc::SYS_mmap2,
            "socketcall" => libc::SYS_socketcall,
            _ => return None,
        })
    }

    #[cfg(target_arch = "aarch64")]
    fn arch(name: &str) -> Option<libc::c_long> {
        Some(match name {
            "fstat" => libc::SYS_fstat,
            "newfstatat" => libc::SYS_newfstatat,
            "mmap" => libc::SYS_mmap,
            _ => return None,
        })
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64")))]
    fn arch(_name: &str) -> Option<libc::c_long> {
        None
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod numbers {
    /// Numbers are given for Linux only; names still hold elsewhere.
    pub(super) fn lookup(_name: &str) -> Option<i32> {
        None
    }
}
