//! `lstat` and `unlink`, for the socket files Unix listeners create.

use core::ffi::CStr;
use core::mem::MaybeUninit;

use super::{check, Errno};

/// What `lstat` says about a path: enough to tell one file from another.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    /// The device holding the file.
    pub dev: u64,
    /// The file's inode number on that device.
    pub ino: u64,
    /// Whether the file is a socket.
    pub is_socket: bool,
}

/// `lstat(path)`: identifies the file at `path`, not following symlinks.
///
/// # Errors
/// `ENOENT` if nothing is there, `EACCES`, `ENOTDIR`.
///
/// # System calls
/// `newfstatat` or `lstat` (as libc implements it).
pub fn lstat(path: &CStr) -> Result<FileId, Errno> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated and `st` is writable room for a stat.
    check(unsafe { libc::lstat(path.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: lstat succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    // dev_t and ino_t are u64 on Linux but narrower or signed elsewhere.
    #[allow(clippy::unnecessary_cast)]
    Ok(FileId {
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        is_socket: st.st_mode & libc::S_IFMT == libc::S_IFSOCK,
    })
}

/// `unlink(path)`: removes a name from the file system.
///
/// # Errors
/// `ENOENT`, `EACCES`, `EISDIR`.
///
/// # System calls
/// `unlink` (or `unlinkat`).
pub fn unlink(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::unlink(path.as_ptr()) }).map(drop)
}
