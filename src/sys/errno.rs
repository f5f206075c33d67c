//! The `Errno` type: an error number from the kernel.

use core::fmt;

/// An error number the kernel returned, such as `EPIPE` or `EINTR`.
///
/// A transparent newtype over the C `int`, not an enum: any value the kernel
/// reports, known to this crate or not, is a valid `Errno`.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Errno(i32);

macro_rules! errnos {
    ($($name:ident = $c:ident, $text:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($c), "`: ", $text, ".")]
                pub const $name: Errno = Errno(libc::$c);
            )*

            /// A short English description, without allocation.
            fn text(self) -> Option<&'static str> {
                match self {
                    $(Errno::$name => Some($text),)*
                    _ => None,
                }
            }

            /// The C name of this error number, such as `"EPIPE"`.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Errno::$name => Some(stringify!($c)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    PERM = EPERM, "operation not permitted";
    NOENT = ENOENT, "no such file or directory";
    SRCH = ESRCH, "no such process";
    INTR = EINTR, "interrupted system call";
    IO = EIO, "input/output error";
    BADF = EBADF, "bad file descriptor";
    CHILD = ECHILD, "no child processes";
    AGAIN = EAGAIN, "resource temporarily unavailable";
    NOMEM = ENOMEM, "cannot allocate memory";
    ACCES = EACCES, "permission denied";
    FAULT = EFAULT, "bad address";
    EXIST = EEXIST, "file exists";
    NOTDIR = ENOTDIR, "not a directory";
    INVAL = EINVAL, "invalid argument";
    NFILE = ENFILE, "too many open files in system";
    MFILE = EMFILE, "too many open files";
    NOSPC = ENOSPC, "no space left on device";
    PIPE = EPIPE, "broken pipe";
    NAMETOOLONG = ENAMETOOLONG, "file name too long";
    NOSYS = ENOSYS, "function not implemented";
    NOPROTOOPT = ENOPROTOOPT, "protocol not available";
    NOTSOCK = ENOTSOCK, "socket operation on non-socket";
    OPNOTSUPP = EOPNOTSUPP, "operation not supported";
    MSGSIZE = EMSGSIZE, "message too long";
    PROTOTYPE = EPROTOTYPE, "protocol wrong type for socket";
    AFNOSUPPORT = EAFNOSUPPORT, "address family not supported by protocol";
    ADDRINUSE = EADDRINUSE, "address already in use";
    ADDRNOTAVAIL = EADDRNOTAVAIL, "cannot assign requested address";
    NETUNREACH = ENETUNREACH, "network is unreachable";
    CONNABORTED = ECONNABORTED, "software caused connection abort";
    CONNRESET = ECONNRESET, "connection reset by peer";
    NOTCONN = ENOTCONN, "transport endpoint is not connected";
    SHUTDOWN = ESHUTDOWN, "cannot send after transport endpoint shutdown";
    TIMEDOUT = ETIMEDOUT, "connection timed out";
    CONNREFUSED = ECONNREFUSED, "connection refused";
    HOSTUNREACH = EHOSTUNREACH, "no route to host";
    ALREADY = EALREADY, "operation already in progress";
    INPROGRESS = EINPROGRESS, "operation now in progress";
}

impl Errno {
    /// Wraps a raw error number.
    #[must_use]
    pub const fn from_raw(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The raw error number.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The calling thread's `errno`, read right after a failed call.
    ///
    /// # System calls
    /// None (reads a thread-local variable).
    #[must_use]
    pub fn last() -> Errno {
        // SAFETY: `__errno_location` returns a valid pointer to this thread's
        // errno for the life of the thread; reading an int through it is sound.
        Errno(unsafe { *errno_location() })
    }
}

#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
use libc::__errno as errno_location;
#[cfg(any(target_os = "linux", target_os = "android", target_os = "emscripten"))]
use libc::__errno_location as errno_location;
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
use libc::__error as errno_location;

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.text(), self.name()) {
            (Some(text), Some(name)) => write!(f, "{text} ({name})"),
            _ => write!(f, "error number {}", self.0),
        }
    }
}

impl core::error::Error for Errno {}

#[cfg(feature = "std")]
impl From<Errno> for std::io::Error {
    fn from(errno: Errno) -> Self {
        std::io::Error::from_raw_os_error(errno.0)
    }
}
