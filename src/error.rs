//! The error type of connections.

use core::fmt;

use crate::frame::FrameError;
use crate::handshake::AuthError;
#[cfg(feature = "pickle")]
use crate::pickle::PickleError;
use crate::sys::Errno;

/// Why an operation failed: a send or receive on a
/// [`Connection`](crate::Connection), or [`Listener`](crate::Listener) and
/// [`Client`](crate::Client) calls.
///
/// Each variant says what state the connection is left in; which fault
/// shows as which variant is in [`Connection`'s docs](crate::Connection#failures).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The peer closed the stream cleanly between two messages: there are no
    /// more messages (Python's `EOFError`). Every later receive says the same.
    Eof,
    /// The stream ended inside a header or a payload: the last message was
    /// cut short and is not delivered. Every later receive says the same.
    /// (Python says `EOFError` when the stream ends right after a header.)
    Truncated,
    /// A header declared a negative length other than the escape marker: the
    /// stream is not speaking this protocol. Every later receive says the same.
    NegativeLength(i32),
    /// A header declared a payload longer than the connection's maximum.
    /// Nothing of the payload has been read: raise the maximum with
    /// [`set_max_len`](crate::Connection::set_max_len) and receive again to get it.
    TooLong {
        /// The length the header declared.
        len: u64,
        /// The maximum in force.
        max: u64,
    },
    /// The next message has `needed` bytes, more than the buffer given.
    /// Nothing is lost: receive again with a buffer at least that large.
    BufferTooSmall {
        /// The length of the waiting message.
        needed: u64,
    },
    /// A message that an earlier `send_bytes` (or a batch that an earlier
    /// `send_bytes_batch`) left part-way out with `Errno::AGAIN` must be
    /// finished first: make the same call again with the same message or
    /// messages. Nothing of the new send was sent.
    SendIncomplete,
    /// The descriptors that came with a message did not all arrive: more
    /// than [`MAX_FDS`](crate::sys::MAX_FDS), or the kernel cut them short
    /// (`MSG_CTRUNC`, which it also does when this process has no descriptor
    /// numbers left), or their control data was malformed. Every descriptor
    /// that came with the message was closed. After a message received with
    /// [`recv_bytes_with_fds`](crate::Connection::recv_bytes_with_fds) or
    /// [`recv_bytes_into_with_fds`](crate::Connection::recv_bytes_into_with_fds)
    /// the message is lost and every later receive says the same; after
    /// [`recv_fds`](crate::Connection::recv_fds) or
    /// [`recv_handle`](crate::Connection::recv_handle) the connection stays
    /// usable.
    ControlTruncated,
    /// Descriptors arrived in the middle of a message, where none ride
    /// (they ride with a message's first byte). They were closed; the peer
    /// does not follow the protocol, and every later receive says the same.
    UnexpectedFds,
    /// [`recv_fds`](crate::Connection::recv_fds) or
    /// [`recv_handle`](crate::Connection::recv_handle) got a number of
    /// descriptors other than the count byte the peer sent with them
    /// (Python's `len(fds) % 256`), or `recv_handle` got other than one.
    /// Those that arrived were closed; the connection stays usable.
    ///
    /// `arrived: 0` with a count byte also means a plain receive had read
    /// that byte ahead, and the kernel closed what came with it.
    FdCount {
        /// The count byte the peer sent.
        announced: u8,
        /// How many descriptors came with it.
        arrived: usize,
    },
    /// Receiving on a write-only end (the writer of a simplex pipe).
    NotReadable,
    /// Sending on a read-only end (the reader of a simplex pipe).
    NotWritable,
    /// The authkey handshake failed: the peer has another key or none. The
    /// connection was closed; a listener goes on serving other clients.
    Auth(AuthError),
    /// [`recv`](crate::Connection::recv) received a whole message that is
    /// not a pickle of the type asked for (or is refused, or over a
    /// limit). Nothing else was taken: the connection is usable.
    #[cfg(feature = "pickle")]
    Pickle(PickleError),
    /// A system call failed; `Errno::PIPE` means the peer is gone. If it
    /// struck inside a message after part of the payload was read, that
    /// message is lost, and every later receive repeats this error.
    ///
    /// Two are not failures but pauses, after which the same call can be
    /// made again with nothing lost: `Errno::AGAIN` (non-blocking mode: the
    /// peer has not sent more yet, or the pipe or socket is full) and
    /// `Errno::TIMEDOUT` (a receive timeout passed). A message received or
    /// sent part-way is kept and resumed; see
    /// [`is_resumable`](Error::is_resumable).
    Io(Errno),
}

impl Error {
    /// Whether this is a pause rather than a failure: `Io(AGAIN)` or
    /// `Io(TIMEDOUT)`. Repeat the call later; nothing was lost.
    #[must_use]
    pub fn is_resumable(self) -> bool {
        matches!(self, Error::Io(Errno::AGAIN | Errno::TIMEDOUT))
    }
}

impl Error {
    /// Whether the peer is gone: [`Eof`](Error::Eof),
    /// [`Truncated`](Error::Truncated), or [`Io`](Error::Io) with `EPIPE`,
    /// `ECONNRESET`, `ECONNABORTED` or `ESHUTDOWN` (Python's `EOFError`,
    /// `BrokenPipeError`, `ConnectionResetError`, `ConnectionAbortedError`).
    ///
    /// A disconnect has several faces. A peer that closes between messages
    /// gives `Eof`; one that dies inside a message gives `Truncated`; one
    /// that dies (or closes) while a message to it is still unread resets a
    /// socket, Unix or TCP, and gives `Io(ECONNRESET)`; a send to a peer
    /// that is gone gives `Io(EPIPE)`. A loop serving a peer until it leaves
    /// stops on this, not on `Eof` alone:
    ///
    /// ```
    /// use ipcwire::Error;
    /// let (mut a, b) = ipcwire::pipe(true)?;
    /// a.send_bytes(b"never read")?;
    /// drop(b); // closes with a message unread: a reset, not a clean end
    /// let e = a.recv_bytes().unwrap_err();
    /// assert_eq!(e, Error::Io(ipcwire::Errno::CONNRESET));
    /// assert!(e.is_disconnect());
    /// # Ok::<(), Error>(())
    /// ```
    #[must_use]
    pub fn is_disconnect(self) -> bool {
        use Errno as E;
        matches!(
            self,
            Error::Eof
                | Error::Truncated
                | Error::Io(E::PIPE | E::CONNRESET | E::CONNABORTED | E::SHUTDOWN)
        )
    }
}

impl From<Errno> for Error {
    fn from(errno: Errno) -> Self {
        Error::Io(errno)
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::NegativeLength(n) => Error::NegativeLength(n),
            FrameError::TooLong { len, max } => Error::TooLong { len, max },
            FrameError::Truncated => Error::Truncated,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Eof => f.write_str("end of stream: the peer closed the connection"),
            Error::Truncated => FrameError::Truncated.fmt(f),
            Error::NegativeLength(n) => FrameError::NegativeLength(n).fmt(f),
            Error::TooLong { len, max } => FrameError::TooLong { len, max }.fmt(f),
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: the next message has {needed} bytes")
            }
            Error::SendIncomplete => {
                f.write_str("an earlier message or batch is part-way out: send it again first")
            }
            Error::ControlTruncated => f.write_str(
                "the descriptors sent with a message did not all arrive (all were closed)",
            ),
            Error::UnexpectedFds => {
                f.write_str("descriptors arrived in the middle of a message (closed)")
            }
            Error::FdCount { announced, arrived } => write!(
                f,
                "{arrived} descriptors arrived where the peer announced {announced} (closed)"
            ),
            Error::NotReadable => f.write_str("connection is write-only"),
            Error::NotWritable => f.write_str("connection is read-only"),
            Error::Auth(_) => f.write_str("the authkey handshake failed"),
            #[cfg(feature = "pickle")]
            Error::Pickle(_) => f.write_str("the message is not a pickle of the type asked for"),
            Error::Io(e) => e.fmt(f),
        }
    }
}

/// [`Auth`](Error::Auth) and [`Pickle`](Error::Pickle) give the error
/// inside as their source, and their `Display` only says which step
/// failed. [`Io`](Error::Io) is the [`Errno`] itself, shown in place, as
/// `std::io::Error` shows an OS error.
impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Auth(e) => Some(e),
            #[cfg(feature = "pickle")]
            Error::Pickle(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        use std::io::ErrorKind;
        let kind = match e {
            Error::Io(errno) => return errno.into(),
            Error::Eof | Error::Truncated => ErrorKind::UnexpectedEof,
            Error::NotReadable | Error::NotWritable => ErrorKind::Unsupported,
            Error::Auth(_) => ErrorKind::PermissionDenied,
            _ => ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}
