//! This process's descriptors, as `/proc` shows them: how many are open (to
//! find a leak), whether one is, the flags of one, and reading one to its
//! end.
#![allow(dead_code)] // each test binary uses a part

use std::os::fd::{AsRawFd, RawFd};

use ipcwire::sys::{self, BorrowedFd, Errno};

/// `O_NONBLOCK` as `/proc/self/fdinfo` shows it.
pub const O_NONBLOCK: u32 = 0o4000;
/// `O_CLOEXEC` as `/proc/self/fdinfo` shows it.
pub const O_CLOEXEC: u32 = 0o2_000_000;

/// The open descriptors of this process: compare before and after to find
/// a leak (holding `serial::lock()`, so no other test opens one meanwhile).
pub fn count_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Whether this process has descriptor number `fd` open: to tell that a
/// descriptor given up by number was closed (holding `serial::lock()`, so
/// no other test reuses the number meanwhile).
pub fn is_open(fd: RawFd) -> bool {
    std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")).is_ok()
}

/// The `flags:` field (octal) of `/proc/self/fdinfo/<fd>`.
pub fn fd_flags(fd: impl AsRawFd) -> u32 {
    let fd = fd.as_raw_fd();
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).expect("fdinfo");
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("flags line");
    u32::from_str_radix(flags.trim(), 8).expect("octal flags")
}

/// Everything `fd` delivers until end of stream.
pub fn read_to_end(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = [0; 256];
    loop {
        match sys::read(fd, &mut buf)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}
