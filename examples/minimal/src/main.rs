//! A minimal static program in the style of an init system or a sandbox:
//! fork a worker, exchange framed messages with it, wait for it, report.
//!
//! `no_std`, `no_main`, no allocator and no `core::fmt`: every system call,
//! writing to stdout and exiting included, goes through ipcwire.
//!
//! The parent sends `ping 0` to `ping 9` over a socket pair; the child,
//! confined by a seccomp filter to the system calls of the ipcwire
//! functions it calls, answers each with `pong N` and exits 0 at end of
//! stream; the parent checks every answer, closes its end, waits, and prints
//!
//! ```text
//! minimal: 10 round trips, child exited 0
//! ```
//!
//! Any failure is one line on stderr and exit status 1.
#![no_std]
#![no_main]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::ffi::{c_char, c_int};
use core::panic::PanicInfo;

use ipcwire::seccomp::{Action, Filter, FilterError};
use ipcwire::sys::{self, BorrowedFd, Errno, ExitStatus, RawFd};
use ipcwire::{fork_with_pipe, Connection, Direction, Error};

// The C library itself. The `libc` crate declares its functions but links
// the library only when std is built (its `rustc-dep-of-std` feature); a
// `no_std` program must ask for it, or `read`, `write`, `fork`... are
// undefined at link time. On musl, `crt-static` makes this the static libc.a
// that ships with Rust's musl target.
#[link(name = "c")]
extern "C" {}

/// How many messages go to the child and back.
const ROUND_TRIPS: u32 = 10;

/// The C entry point. musl's start code (`crt1.o`) sets up the process and
/// calls it as it would call a C program's `main`; it never returns.
#[allow(unsafe_code)] // `no_mangle`: the start code looks for the C name `main`.
#[no_mangle]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    sys::exit(match run() {
        Ok(()) => 0,
        Err(Failed) => 1,
    })
}

/// A panic ends the process at once with Rust's usual panic status, 101.
/// In the child that is the status the parent's `wait` reports.
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    sys::exit(101)
}

/// The parent: ping the child, check each pong, close, wait, report.
fn run() -> Result<(), Failed> {
    // Built here, where a failure can be reported; the child installs it.
    let filter = answer_filter().map_err(|why| fail(b"filter", why))?;
    #[allow(unsafe_code)]
    // SAFETY: this program has one thread, so the child may do anything.
    let forked = unsafe { fork_with_pipe(Direction::Duplex, |conn| answer(conn, &filter)) };
    let (mut conn, child) = forked.map_err(|e| fail(b"fork", errno_name(e)))?;

    let mut buf = [0; 32];
    for i in 0..ROUND_TRIPS {
        let ping = Line::new().text(b"ping ").num(i);
        conn.send_bytes(ping.as_bytes())
            .map_err(|e| fail(b"send", why(e)))?;
        let n = conn
            .recv_bytes_into(&mut buf)
            .map_err(|e| fail(b"receive", why(e)))?;
        if buf[..n] != *Line::new().text(b"pong ").num(i).as_bytes() {
            return Err(fail(b"check", b"wrong reply"));
        }
    }
    drop(conn); // the child's end of stream

    let status = child.wait().map_err(|e| fail(b"wait", errno_name(e)))?;
    let (how, n) = match status {
        ExitStatus::Exited(code) => (&b"exited "[..], code),
        ExitStatus::Signaled(signal) => (&b"killed by signal "[..], signal.raw()),
        _ => (&b"ended, status "[..], -1),
    };
    let how = Line::new().text(how).num(n.unsigned_abs());
    if !status.success() {
        return Err(fail(b"child", how.as_bytes()));
    }
    let line = Line::new().text(b"minimal: ").num(ROUND_TRIPS);
    let line = line.text(b" round trips, child ").text(how.as_bytes());
    if write_line(stdout(), line) {
        Ok(())
    } else {
        Err(Failed)
    }
}

/// What the child may call: the system calls of exactly the ipcwire
/// functions it calls, by their inventory names. Nothing else: with no
/// allocator there is no runtime to allow, and exiting is `sys::exit`.
fn answer_filter() -> Result<Filter, &'static [u8]> {
    let mut filter =
        Filter::native(Action::KillProcess).ok_or(&b"no seccomp for this architecture"[..])?;
    filter
        .allow_functions(&[
            "Connection::recv_bytes_into",
            "Connection::send_bytes",
            // When `answer` returns, fork_with_pipe drops its end and leaves
            // with `sys::exit`, as the panic handler does.
            "drop(Connection)",
            "sys::exit",
        ])
        .map_err(filter_why)?;
    Ok(filter)
}

/// The child: confines itself to `filter`, then answers each `ping N` with
/// `pong N` until end of stream. Its exit code says what failed.
fn answer(mut conn: Connection, filter: &Filter) -> i32 {
    if filter.install().is_err() {
        return 5; // a kernel without seccomp filters
    }
    // From here, any other system call kills this process with SIGSYS.
    let mut buf = [0; 32];
    loop {
        let n = match conn.recv_bytes_into(&mut buf) {
            Ok(n) => n,
            Err(Error::Eof) => return 0,
            Err(_) => return 2,
        };
        let Some(number) = buf[..n].strip_prefix(b"ping ") else {
            return 3;
        };
        let pong = Line::new().text(b"pong ").text(number);
        if conn.send_bytes(pong.as_bytes()).is_err() {
            return 4;
        }
    }
}

/// The program failed; the reason is already on stderr.
struct Failed;

/// Writes `minimal: <step> failed: <why>` to stderr.
fn fail(step: &[u8], why: &[u8]) -> Failed {
    let line = Line::new().text(b"minimal: ").text(step);
    // Should stderr fail too, the exit status still tells.
    write_line(stderr(), line.text(b" failed: ").text(why));
    Failed
}

/// A few words on a connection error, without `core::fmt`.
fn why(e: Error) -> &'static [u8] {
    match e {
        Error::Eof => b"end of stream",
        Error::Truncated => b"message cut short",
        Error::Io(errno) => errno_name(errno),
        _ => b"not a framed message",
    }
}

/// Why the filter could not be built, without `core::fmt`.
fn filter_why(e: FilterError) -> &'static [u8] {
    match e {
        FilterError::UnknownFunction => b"a function name the inventory lacks",
        FilterError::Full => b"too many system calls",
        _ => b"a filter for another architecture",
    }
}

/// The errno's C name, such as `EPIPE`.
fn errno_name(errno: Errno) -> &'static [u8] {
    errno.name().map_or(b"system call error", str::as_bytes)
}

/// Writes `line` and a newline; says whether all of it was written.
fn write_line(fd: BorrowedFd<'static>, line: Line) -> bool {
    let line = line.text(b"\n");
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        match sys::write(fd, rest) {
            Ok(n @ 1..) => rest = &rest[n..],
            _ => return false,
        }
    }
    true
}

fn stdout() -> BorrowedFd<'static> {
    standard_fd(1)
}

fn stderr() -> BorrowedFd<'static> {
    standard_fd(2)
}

/// Borrows one of the descriptors the process was started with.
#[allow(unsafe_code)] // `borrow_raw`; ipcwire has no safe way to name them.
fn standard_fd(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: whoever started the program opened 1 and 2, and nothing here
    // closes them. (Started with one closed, the socket pair could take its
    // number and a line would land there: wrong output, as in C, but no
    // memory unsafety.)
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// A short line of text built on the stack: no allocator, no `core::fmt`.
/// Text beyond its 64 bytes panics.
struct Line {
    buf: [u8; 64],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buf: [0; 64],
            len: 0,
        }
    }

    fn text(mut self, bytes: &[u8]) -> Line {
        self.buf[self.len..][..bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self
    }

    /// Appends `n` in decimal.
    fn num(self, mut n: u32) -> Line {
        let mut digits = [0; 10];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.text(&digits[start..])
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
