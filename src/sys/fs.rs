//! `lstat` and `unlink`, for the socket files Unix listeners create, and
//! `fstat` of a descriptor, to tell which file it is.

use core::ffi::CStr;
use core::mem::MaybeUninit;

use super::{check, AsRawFd, BorrowedFd, Errno};

/// What `lstat` or `fstat` says about a file: enough to tell one file
/// from another (both ends of one pipe are one file, as are copies of a
/// descriptor made by `dup`).
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
    Ok(FileId::of(&unsafe { st.assume_init() }))
}

/// `fstat(fd)`: identifies the file a descriptor refers to.
///
/// # Errors
/// `EBADF` if `fd` is not open.
///
/// # System calls
/// `fstat` (`newfstatat`, `fstat64` or `statx`, as libc implements it).
pub fn fstat_id(fd: BorrowedFd<'_>) -> Result<FileId, Errno> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is writable memory of the right size for `fstat` to fill.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it filled `st`.
    Ok(FileId::of(&unsafe { st.assume_init() }))
}

impl FileId {
    fn of(st: &libc::stat) -> FileId {
        // dev_t and ino_t are u64 on Linux but narrower or signed elsewhere.
        #[allow(clippy::unnecessary_cast)]
        FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            is_socket: st.st_mode & libc::S_IFMT == libc::S_IFSOCK,
        }
    }
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
