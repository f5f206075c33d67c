//! `pipe(duplex)`: two connected `Connection`s, like Python's `Pipe()`.

use crate::connection::{Access, Connection, Kind};
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
            Connection::new(a, Kind::UnixSocket, Access::Duplex),
            Connection::new(b, Kind::UnixSocket, Access::Duplex),
        ))
    } else {
        let (r, w) = sys::pipe()?;
        Ok((
            Connection::new(r, Kind::Pipe, Access::Read),
            Connection::new(w, Kind::Pipe, Access::Write),
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
    use crate::sys::AsFd;
    let (r, w) = sys::pipe()?;
    sys::set_pipe_size(w.as_fd(), capacity)?;
    Ok((
        Connection::new(r, Kind::Pipe, Access::Read),
        Connection::new(w, Kind::Pipe, Access::Write),
    ))
}

/// Which way messages flow between parent and child in [`fork_with_pipe`](crate::fork_with_pipe).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The parent sends, the child receives (a pipe).
    ToChild,
    /// The child sends, the parent receives (a pipe).
    FromChild,
    /// Both send and receive (a socket pair).
    Duplex,
}

impl sys::Ends for Direction {
    type End = Connection;

    /// The parent's end, then the child's.
    ///
    /// # Errors
    /// As for [`pipe`].
    ///
    /// # System calls
    /// `pipe2` or `socketpair` (and `close`, as for [`pipe`]).
    fn open(self) -> Result<(Connection, Connection), Errno> {
        match self {
            Direction::Duplex => pipe(true),
            Direction::ToChild => pipe(false).map(|(reader, writer)| (writer, reader)),
            Direction::FromChild => pipe(false),
        }
    }
}
