//! `pipe(duplex)`: two connected `Connection`s, like Python's `Pipe()`;
//! `duplex_pipes()`: the same over two pipes, one each way.

use crate::connection::{Access, Connection, Kind};
use crate::sys::{self, Errno};

/// `Pipe(duplex)`: a pair of connected [`Connection`]s.
///
/// - `duplex = true`: both ends send and receive, over a Unix stream
///   socket pair, as Python's are. For round trips
///   [`duplex_pipes`] is faster; see there for which to choose.
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

/// Two connected duplex [`Connection`]s over two pipes, one each way: each
/// receives from one pipe and sends into the other, and dropping it closes
/// both of its ends.
///
/// This is the classic pair of pipes between a parent and a child, as one
/// object per side. It has the API and the guarantees of a
/// [`pipe(true)`](pipe) end, apart from what only a socket does:
///
/// | | socket pair ([`pipe(true)`](pipe)) | two pipes (this) |
/// |---|---|---|
/// | a round trip of small messages | 1× | about 0.6× the time (0.55× to 0.59× in the `w4p` benchmark): the kernel's pipe is the lighter path |
/// | descriptor passing ([`send_bytes_with_fds`](Connection::send_bytes_with_fds), [`send_handle`](Connection::send_handle)) | yes | `Io(ENOTSOCK)`, nothing sent |
/// | [`peer_cred`](Connection::peer_cred) | yes | `Io(ENOTSOCK)` |
/// | a Python peer | `Connection(fd)`, as Python's `Pipe()` | `Connection(r, writable=False)` to receive and `Connection(w, readable=False)` to send |
/// | descriptors held | one per end | two per end |
///
/// Choose pipes for workers that do mostly request and response round
/// trips; choose the socket pair to pass descriptors, to learn the peer's
/// credentials, or to hand Python one `Connection`.
///
/// All four descriptors are close-on-exec. After a `fork` each process
/// must drop the end it does not use, which
/// [`fork_with_pipe(Direction::DuplexPipes, ..)`](crate::fork_with_pipe)
/// does; a process that kept both would never see
/// [`Error::Eof`](crate::Error::Eof).
///
/// # Errors
/// `EMFILE`/`ENFILE` when out of descriptors (the first pipe is closed
/// again if the second fails).
///
/// # System calls
/// `pipe2` (twice), and `close` of the first pipe if the second fails.
///
/// # Example
/// ```
/// let (mut parent, mut child) = ipcwire::duplex_pipes()?;
/// parent.send_bytes(b"ping")?;
/// assert_eq!(child.recv_bytes()?, b"ping");
/// child.send_bytes(b"pong")?;
/// assert_eq!(parent.recv_bytes()?, b"pong");
/// drop(child);
/// assert_eq!(parent.recv_bytes(), Err(ipcwire::Error::Eof));
/// # Ok::<(), ipcwire::Error>(())
/// ```
pub fn duplex_pipes() -> Result<(Connection, Connection), Errno> {
    let (a_reads, b_writes) = sys::pipe()?;
    let (b_reads, a_writes) = sys::pipe()?;
    Ok((
        Connection::over_pipes(a_reads, a_writes),
        Connection::over_pipes(b_reads, b_writes),
    ))
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
    /// Both send and receive, over a socket pair (see [`pipe`]).
    Duplex,
    /// Both send and receive, over two pipes, one each way (see
    /// [`duplex_pipes`]): faster round trips, no descriptor passing. Each
    /// process closes the two ends it does not use.
    DuplexPipes,
}

impl sys::Ends for Direction {
    type End = Connection;

    /// The parent's end, then the child's.
    ///
    /// # Errors
    /// As for [`pipe`].
    ///
    /// # System calls
    /// `pipe2` (once, or twice for [`Direction::DuplexPipes`]) or
    /// `socketpair`; `close`, as for [`pipe`] and [`duplex_pipes`].
    fn open(self) -> Result<(Connection, Connection), Errno> {
        match self {
            Direction::Duplex => pipe(true),
            Direction::DuplexPipes => duplex_pipes(),
            Direction::ToChild => pipe(false).map(|(reader, writer)| (writer, reader)),
            Direction::FromChild => pipe(false),
        }
    }
}
