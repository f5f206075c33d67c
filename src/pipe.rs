//! `pipe(duplex)`: two connected `Connection`s, like Python's `Pipe()`.

use crate::connection::{Access, Connection};
use crate::sys::{self, Errno};

/// `Pipe(duplex)`: a pair of connected [`Connection`]s.
///
/// - `duplex = true`: both ends send and receive, over a Unix stream
///   socket pair.
/// - `duplex = false`: returns `(reader, writer)` over a pipe; the first
///   only receives, the second only sends.
///
/// Both descriptors are close-on-exec. After a `fork`, each process must drop
/// the end it does not use: a reader sees [`Error::Eof`](crate::Error::Eof)
/// only when every copy of the writing end is closed.
/// [`fork_with_pipe`](crate::fork_with_pipe) does this for you.
///
/// # Errors
/// `EMFILE`/`ENFILE` when out of descriptors.
///
/// # System calls
/// `socketpair` (duplex) or `pipe2` (simplex).
///
/// # Example
/// ```
/// let (mut reader, mut writer) = ipcwire::pipe(false)?;
/// writer.send_bytes(b"")?;
/// writer.send_bytes(b"hello")?;
/// assert_eq!(reader.recv_bytes()?, b"");
/// let mut buf = [0; 16];
/// assert_eq!(reader.recv_bytes_into(&mut buf)?, 5);
/// # Ok::<(), ipcwire::Error>(())
/// ```
#[doc(alias = "Pipe")]
pub fn pipe(duplex: bool) -> Result<(Connection, Connection), Errno> {
    if duplex {
        let (a, b) = sys::socketpair()?;
        Ok((
            Connection::new(a, true, Access::Duplex),
            Connection::new(b, true, Access::Duplex),
        ))
    } else {
        let (r, w) = sys::pipe()?;
        Ok((
            Connection::new(r, false, Access::Read),
            Connection::new(w, false, Access::Write),
        ))
    }
}

/// `Pipe(duplex=False)` with a pipe of at least `capacity` bytes: returns
/// `(reader, writer)`.
///
/// For large messages: each time a writer fills the pipe it sleeps until the
/// reader drains it, so a pipe that holds a whole message moves it in one
/// round instead of many (see [`Connection::set_pipe_size`]).
///
/// # Errors
/// `EMFILE`/`ENFILE` when out of descriptors; `EPERM` when `capacity`
/// exceeds `/proc/sys/fs/pipe-max-size` (1 MiB by default) and the process
/// lacks `CAP_SYS_RESOURCE`.
///
/// # System calls
/// `pipe2`, `fcntl` (and `close` of both ends if `fcntl` fails).
///
/// # Example
/// ```
/// let (reader, writer) = ipcwire::pipe_with_capacity(1 << 20)?;
/// assert!(writer.pipe_size()? >= 1 << 20);
/// # Ok::<(), ipcwire::Error>(())
/// ```
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn pipe_with_capacity(capacity: usize) -> Result<(Connection, Connection), Errno> {
    let (r, w) = sys::pipe()?;
    sys::set_pipe_size(w.as_fd(), capacity)?;
    Ok((
        Connection::new(r, false, Access::Read),
        Connection::new(w, false, Access::Write),
    ))
}
