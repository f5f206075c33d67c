//! `Connection`: whole messages over a pipe end or a stream socket.
//!
//! The struct and its public methods live here, each a few lines; how a
//! message is sent is in `send.rs`, how one is received (the one receive
//! driver, and what a pause keeps) in `recv.rs`, the read-ahead buffer in
//! `read_ahead.rs`, and descriptors waiting for their message in `fds.rs`.

mod fds;
mod read_ahead;
mod recv;
mod send;

use core::time::Duration;

#[cfg(feature = "pickle")]
use crate::pickle;
use crate::sys::{self, AsFd, AsRawFd, BorrowedFd, Errno, IntoRawFd, OwnedFd, PollFd, PollFlags};
use crate::sys::{RawFd, ReceivedFds};
use crate::{Address, Error};

use read_ahead::Buffer;
use recv::Borrowed;
use recv::FdSource;
use recv::Sink;
#[cfg(feature = "alloc")]
use recv::VecSink;
pub(crate) use recv::{Receiver, SliceSink, Source};
use send::{SendState, Sigpipe};

/// The largest message a new connection accepts: 64 MiB.
///
/// It bounds what a peer can make this process hold. Python peers may send
/// up to 2^63 bytes; raise it with [`Connection::set_max_len`].
pub const DEFAULT_MAX_LEN: u64 = 64 << 20;

/// Which directions a [`Connection`] may use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Receive only (the read end of a pipe).
    Read,
    /// Send only (the write end of a pipe).
    Write,
    /// Send and receive (a stream socket).
    Duplex,
}

/// What a connection's descriptor is: it decides the calls that move bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A pipe end: `read`/`write`, and `SIGPIPE` to hold off.
    Pipe,
    /// A TCP (or other non-Unix) stream socket: `send` with `MSG_NOSIGNAL`.
    Socket,
    /// A Unix stream socket: every read takes control data (descriptors).
    UnixSocket,
}

impl Kind {
    /// The kind of a socket connected to or accepted at `addr`.
    pub(crate) fn of(addr: &Address) -> Kind {
        match addr {
            Address::Tcp(_) => Kind::Socket,
            _ => Kind::UnixSocket,
        }
    }
}

/// A framed message endpoint, like Python's `multiprocessing.connection.Connection`.
///
/// Messages are byte strings of any length, framed exactly as Python frames
/// them, so either end may be a Python process. Dropping the connection
/// closes its descriptor; when every copy of a writing end is closed, the
/// reader sees [`Error::Eof`] (see the [pitfalls](crate#pitfalls)).
///
/// ```
/// let (mut a, mut b) = ipcwire::pipe(true)?;
/// a.send_bytes(b"ping")?;
/// assert_eq!(b.recv_bytes()?, b"ping");
/// drop(a);
/// assert_eq!(b.recv_bytes(), Err(ipcwire::Error::Eof));
/// # Ok::<(), ipcwire::Error>(())
/// ```
///
/// # Failures
/// Faults on the other side never corrupt or lose a message on this side
/// silently, and never hang it without a bound you chose. [`Error`] is a
/// small `Copy` enum that tests can `assert_eq!` on; each variant says what
/// state it leaves the connection in.
///
/// | fault | what the caller sees |
/// |---|---|
/// | the peer closed (or was killed) between messages | [`Error::Eof`] (Python's `EOFError`) |
/// | the peer closed or was killed inside a header or payload | [`Error::Truncated`] (on TCP possibly `Io(ECONNRESET)`) |
/// | the peer closed or was killed with a message of ours unread (a killed pool worker) | `Io(ECONNRESET)` on Unix and TCP sockets, not `Eof` (Python: `ConnectionResetError`) |
/// | a send to a peer that is gone | `Io(EPIPE)`, never a `SIGPIPE` death (see [`send_bytes`](Self::send_bytes)) |
/// | a send that fails for good part-way through a frame (`ENOBUFS`, say) | that error, from every later send too (see [`send_bytes`](Self::send_bytes)) |
/// | a signal, with a handler installed without `SA_RESTART` | nothing: `EINTR` is retried, `poll` resumes with the time left, a partial write is continued, an interrupted connect is made again |
/// | nothing to read, or no room to write, in non-blocking mode | `Io(EAGAIN)`, a pause |
/// | the [receive timeout](Self::set_recv_timeout) passed | `Io(ETIMEDOUT)`, a pause |
/// | a header declares more than [`max_len`](Self::max_len) | [`Error::TooLong`] |
/// | a header declares a negative length other than the escape `-1` | [`Error::NegativeLength`] (Python would misread an empty message) |
/// | a message longer than the buffer given | [`Error::BufferTooSmall`] |
/// | the wrong end of a simplex pipe | [`Error::NotReadable`], [`Error::NotWritable`]; no system call made |
/// | any other system call error | [`Error::Io`] |
///
/// [`Error::is_disconnect`] tells whether the peer is gone, whichever of
/// its faces the disconnect wore. The two pauses ([`Error::is_resumable`])
/// lose nothing: a message received or sent part-way is kept, and the same
/// call made again goes on with it (see
/// [`recv_bytes_into`](Self::recv_bytes_into) and
/// [`send_bytes`](Self::send_bytes) for what "the same" means). Faults
/// during the authkey handshake are [`Listener::accept`](crate::Listener::accept)'s
/// and [`Client::connect`](crate::Client::connect)'s.
///
/// # Event loops
/// [`wait`](crate::wait) is Python's `connection.wait`, one `poll` over
/// many connections. For an event loop (epoll, mio), register the
/// descriptor (the connection is `AsRawFd`; on a
/// [`duplex_pipes`](crate::duplex_pipes) connection that is the read end,
/// and sends go to [`as_write_fd`](Self::as_write_fd)), switch the connection to
/// [non-blocking mode](Self::set_nonblocking), and receive until
/// `Io(EAGAIN)`. A receive that stops earlier may leave messages in the
/// connection's buffer, where the kernel no longer sees them: then check
/// [`poll(Some(Duration::ZERO))`](Self::poll) before going back to sleep
/// ([`recv_buffered`](Self::recv_buffered) takes them without a system
/// call). `poll` and [`wait`](crate::wait) wait to receive; after a send's
/// `Io(EAGAIN)`, wait until [`as_write_fd`](Self::as_write_fd) is
/// writable with your event loop or with [`sys::poll`](crate::sys::poll):
///
/// ```
/// use ipcwire::sys::{self, PollFd, PollFlags};
/// let (_rx, tx) = ipcwire::duplex_pipes()?;
/// let writable = sys::poll(&mut [PollFd::new(tx.as_write_fd(), PollFlags::OUT)], None)? > 0;
/// assert!(writable);
/// # Ok::<(), ipcwire::Error>(())
/// ```
///
/// # Many small messages
/// Each `send_bytes` is a system call, and a wake-up of the receiver: for
/// messages of a few dozen bytes that is nearly all the cost. Frames are
/// simply concatenated on the wire, so
/// [`send_bytes_batch`](Self::send_bytes_batch) writes many in one
/// vectored call, and any receiver, Python's too, takes them one by one.
/// On the receiving side a read brings in as many frames as fit the
/// read-ahead buffer: [`recv_bytes_borrowed`](Self::recv_bytes_borrowed)
/// hands each out where it lies, without a copy, and
/// [`recv_buffered`](Self::recv_buffered) takes those already there
/// without a system call.
///
/// ```
/// let (mut rx, mut tx) = ipcwire::pipe(false)?;
/// let events: Vec<String> = (0..100).map(|i| format!("event {i}")).collect();
/// tx.send_bytes_batch(&events)?; // one writev
/// drop(tx);
/// let mut total = 0;
/// loop {
///     match rx.recv_bytes_borrowed() {
///         Ok(event) => total += event.len(),
///         Err(ipcwire::Error::Eof) => break,
///         Err(e) => return Err(e),
///     }
/// }
/// assert_eq!(total, events.iter().map(String::len).sum());
/// # Ok::<(), ipcwire::Error>(())
/// ```
///
/// # Descriptors and read-ahead
/// A receive reads as much as is waiting, up to 4 KiB (256 bytes without
/// `alloc`), so later messages may come in with it; a payload larger than
/// that goes straight into the receiving buffer.
///
/// Over a Unix socket (a duplex [`pipe`](crate::pipe), a `unix:` or
/// `abstract:` [`Listener`](crate::Listener) or [`Client`](crate::Client))
/// a message can carry open descriptors:
/// [`send_bytes_with_fds`](Self::send_bytes_with_fds) sends them, the
/// `_with_fds` receives take them, owned and close-on-exec from birth.
/// [`send_handle`](Self::send_handle), [`recv_handle`](Self::recv_handle),
/// [`send_fds`](Self::send_fds) and [`recv_fds`](Self::recv_fds) speak
/// Python's `multiprocessing.reduction` exchange, which is not framed: one
/// byte, `len(fds) % 256`, with the descriptors attached, on the raw
/// socket. It may come between framed messages on one connection, in
/// either direction, and mixes freely with plain receives: `recv_bytes`
/// then `recv_handle` works after Python's `send_bytes` then
/// `send_handle`, as Python's own do. The authkey handshake reads each of
/// its messages exactly, so a client may send descriptors the moment it
/// is connected. Over TCP or pipes (a [`duplex_pipes`](crate::duplex_pipes)
/// connection too), sending descriptors is `Io(EOPNOTSUPP)` (a TCP
/// `sendmsg` would drop them without a word) or `Io(ENOTSOCK)`, with
/// nothing sent.
///
/// Descriptors ride on the first byte of a message (or of the count
/// byte): its header leaves in the `sendmsg` that carries them (a message
/// larger than the socket buffer sends the rest after it, without them).
/// The kernel hands them over with the read that takes that byte, and ends
/// that read with the bytes of that `sendmsg`. Every read on a Unix socket
/// takes control data, plain receives included, so descriptors that come
/// with bytes read ahead wait in the connection for the receive of the last
/// message that begins in that read. That is Linux; BSD-derived kernels
/// (macOS, FreeBSD) hand descriptors over at the head of a read, so there
/// they go with the message that begins at the read's first byte.
///
/// At most [`MAX_FDS`](crate::MAX_FDS) (64) ride with one message, both
/// ways: sending more is `Io(EINVAL)` with nothing sent, and the receive
/// buffer for control data holds 64. Descriptors nobody asked for are never
/// leaked and never kept silently:
///
/// | what arrives | what the receiver sees |
/// |---|---|
/// | a message with descriptors, taken by a plain receive (or by Python's `recv_bytes`) | the message; the descriptors are closed, and counted in [`discarded_fds`](Self::discarded_fds) (Python's kernel read closes them) |
/// | more than 64 descriptors, or more than the process has descriptor numbers free for | [`Error::ControlTruncated`] for a receive that wants them; all are closed (a plain receive gets the message) |
/// | descriptors in the middle of a message, in a read where no message begins (neither Python nor ipcwire sends that) | [`Error::UnexpectedFds`] for a receive that wants them; closed, and counted by a plain receive |
/// | a count byte that disagrees with what came ([`recv_fds`](Self::recv_fds)), or other than one ([`recv_handle`](Self::recv_handle)) | [`Error::FdCount`]; all are closed |
///
/// # System calls
/// Dropping it: `close`, of its descriptor (both, over two pipes) and of
/// descriptors that came with bytes read ahead.
pub struct Connection {
    /// The descriptor receives read, and sends write unless `writer` is set.
    fd: OwnedFd,
    /// On a duplex connection over two pipes, the pipe sends write to.
    writer: Option<OwnedFd>,
    kind: Kind,
    access: Access,
    receiver: Receiver<Buffer>,
    /// How long one receive may wait for the peer; `None` waits forever.
    timeout: Option<Duration>,
    /// Whether a frame is part-way out, paused or torn.
    sending: SendState,
    /// How pipe writes hold off `SIGPIPE`.
    sigpipe: Sigpipe,
    /// The last message [`recv_bytes_borrowed`](Connection::recv_bytes_borrowed)
    /// returned that did not fit the read-ahead buffer; freed by the next.
    #[cfg(feature = "alloc")]
    large: alloc::vec::Vec<u8>,
}

impl Connection {
    /// `Connection(handle, readable, writable)`: wraps a descriptor (a pipe
    /// end or a connected stream socket) that speaks the framing, for
    /// example one inherited from a parent process, or a std `UnixStream`.
    ///
    /// `access` says which ways it is used; [`Connection::try_from`] an
    /// [`OwnedFd`] reads it from how the descriptor was opened instead.
    ///
    /// ```
    /// use ipcwire::{Access, Connection};
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut a = Connection::from_fd(a, Access::Duplex)?;
    /// let mut b = Connection::from_fd(b, Access::Duplex)?;
    /// a.send_bytes(b"hi")?;
    /// assert_eq!(b.recv_bytes()?, b"hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Platforms
    /// macOS has no `MSG_NOSIGNAL`: a socket gets `SO_NOSIGPIPE` here, from
    /// one `setsockopt`, so that sends to a peer that is gone fail with
    /// `EPIPE` instead of raising `SIGPIPE`.
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open; `EPROTOTYPE` for a socket that is not a
    /// stream socket (a datagram socket would cut and splice frames). `fd`
    /// is closed on any error.
    ///
    /// # System calls
    /// `fstat` (to learn whether sends must avoid `SIGPIPE` with `MSG_NOSIGNAL`);
    /// for a socket, `getsockopt(SO_TYPE)` and `getsockname` (only Unix
    /// sockets carry descriptors, so only their reads take control data);
    /// `close` on an error.
    pub fn from_fd(fd: impl Into<OwnedFd>, access: Access) -> Result<Connection, Errno> {
        let fd = fd.into();
        let kind = match sys::fstat_is_socket(fd.as_fd())? {
            false => Kind::Pipe,
            true if !sys::is_stream(fd.as_fd())? => return Err(Errno::PROTOTYPE),
            true if sys::is_unix_socket(fd.as_fd())? => Kind::UnixSocket,
            true => Kind::Socket,
        };
        // macOS has no MSG_NOSIGNAL: the socket itself must not raise SIGPIPE.
        #[cfg(target_vendor = "apple")]
        if kind != Kind::Pipe {
            sys::set_nosigpipe(fd.as_fd())?;
        }
        Ok(Connection::new(fd, kind, access))
    }

    /// Wraps a descriptor whose kind the caller knows.
    pub(crate) const fn new(fd: OwnedFd, kind: Kind, access: Access) -> Connection {
        Connection {
            fd,
            writer: None,
            kind,
            access,
            receiver: Receiver::new(DEFAULT_MAX_LEN, read_ahead::new_buffer()),
            timeout: None,
            sending: SendState::Ready,
            sigpipe: Sigpipe::INITIAL,
            #[cfg(feature = "alloc")]
            large: alloc::vec::Vec::new(),
        }
    }

    /// Wraps the read end of one pipe and the write end of another as one
    /// duplex connection (see [`duplex_pipes`](crate::duplex_pipes)), for
    /// example two pipe ends a parent process left open for this one. A
    /// Python peer holds the other two ends as `Connection(r,
    /// writable=False)` and `Connection(w, readable=False)`, and uses one
    /// to receive and the other to send.
    ///
    /// Both descriptors are checked, so ends swapped by mistake fail here
    /// and not at the first receive. Dropping the connection closes both.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use ipcwire::{sys, Connection};
    /// let (to_us, from_peer) = sys::pipe()?;
    /// let (from_us, to_peer) = sys::pipe()?;
    /// let mut conn = Connection::from_pipes(to_us, to_peer)?;
    /// sys::write(from_peer.as_fd(), b"\x00\x00\x00\x02hi")?;
    /// assert_eq!(conn.recv_bytes()?, b"hi");
    /// conn.send_bytes(b"ho")?;
    /// let mut buf = [0; 8];
    /// assert_eq!(sys::read(from_us.as_fd(), &mut buf)?, 6);
    /// # Ok::<(), ipcwire::Error>(())
    /// ```
    ///
    /// # Errors
    /// `EBADF` if `reader` is not open for reading or `writer` not open for
    /// writing (swapped ends, say); `EINVAL` if either is a socket (wrap a
    /// socket with [`from_fd`](Self::from_fd), which speaks its calls), or
    /// if both are ends of one pipe (such a connection would talk to
    /// itself). Both are closed on any error.
    ///
    /// # System calls
    /// `fcntl(F_GETFL)` and `fstat` of each; `close` of both on an error.
    pub fn from_pipes(
        reader: impl Into<OwnedFd>,
        writer: impl Into<OwnedFd>,
    ) -> Result<Connection, Errno> {
        let (reader, writer) = (reader.into(), writer.into());
        let read_end = pipe_end(reader.as_fd(), Access::Read)?;
        if pipe_end(writer.as_fd(), Access::Write)? == read_end {
            // One pipe both ways: the connection would receive its own
            // messages, and a send larger than the pipe would never end.
            return Err(Errno::INVAL);
        }
        Ok(Connection::over_pipes(reader, writer))
    }

    /// A duplex connection that receives from `reader` and sends to
    /// `writer`, ends of two different pipes.
    pub(crate) fn over_pipes(reader: OwnedFd, writer: OwnedFd) -> Connection {
        let mut conn = Connection::new(reader, Kind::Pipe, Access::Duplex);
        conn.writer = Some(writer);
        conn
    }

    /// The descriptor sends write to. It is [`as_fd`](AsFd::as_fd)'s,
    /// except on a [`duplex_pipes`](crate::duplex_pipes) connection, where
    /// `as_fd` is the read end and this the write end. Wait on it for
    /// writability after a send's `Io(EAGAIN)` (see
    /// [event loops](Connection#event-loops)).
    #[must_use]
    pub fn as_write_fd(&self) -> BorrowedFd<'_> {
        self.writer.as_ref().unwrap_or(&self.fd).as_fd()
    }

    /// Unwraps the descriptors: `(fd, None)`, or for a
    /// [`duplex_pipes`](crate::duplex_pipes) connection `(read_end,
    /// Some(write_end))`. What was read ahead is dropped, as for
    /// [`OwnedFd::from`](#impl-From<Connection>-for-OwnedFd).
    ///
    /// # System calls
    /// `close`, for descriptors that came with bytes read ahead.
    #[must_use]
    pub fn into_fds(self) -> (OwnedFd, Option<OwnedFd>) {
        (self.fd, self.writer)
    }

    /// `SO_PEERCRED`: the process id, user id and group id of the process
    /// at the other end of a Unix socket, as recorded when it connected.
    ///
    /// # Errors
    /// [`Error::Io`] with `ENOTSOCK` on a pipe, `ENOPROTOOPT` on a socket
    /// the kernel keeps no credentials for (TCP).
    ///
    /// # System calls
    /// `getsockopt`.
    pub fn peer_cred(&self) -> Result<sys::PeerCred, Error> {
        Ok(sys::peer_cred(self.fd.as_fd())?)
    }

    /// `F_GETPIPE_SZ`: the capacity of the pipe under this connection; over
    /// two pipes, the smaller of theirs.
    ///
    /// # Errors
    /// [`Error::Io`] with `EBADF` on a socket.
    ///
    /// # System calls
    /// `fcntl` (of each pipe).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn pipe_size(&self) -> Result<usize, Error> {
        let size = sys::pipe_size(self.fd.as_fd())?;
        match &self.writer {
            Some(writer) => Ok(size.min(sys::pipe_size(writer.as_fd())?)),
            None => Ok(size),
        }
    }

    /// `F_SETPIPE_SZ`: enlarges (or shrinks) the pipe under this connection
    /// and returns the capacity granted, at least `size`.
    ///
    /// A message larger than the pipe moves in several rounds of "writer
    /// fills, reader drains", each with a wake-up on both sides: a pipe as
    /// large as the messages moves them about three times faster than the
    /// default 64 KiB. Either end may ask; the pipe is shared. Over two
    /// pipes both are resized, and the smaller capacity granted returned.
    ///
    /// # Errors
    /// [`Error::Io`] with `EPERM` above `/proc/sys/fs/pipe-max-size` (1 MiB
    /// by default) for an unprivileged process, `EBUSY` when more than
    /// `size` bytes are waiting, `EBADF` on a socket. Over two pipes, the
    /// one read from is resized first, and stays so if the other fails.
    ///
    /// # System calls
    /// `fcntl` (of each pipe).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn set_pipe_size(&self, size: usize) -> Result<usize, Error> {
        let granted = sys::set_pipe_size(self.fd.as_fd(), size)?;
        match &self.writer {
            Some(writer) => Ok(granted.min(sys::set_pipe_size(writer.as_fd(), size)?)),
            None => Ok(granted),
        }
    }

    /// Which directions this connection may use.
    #[must_use]
    pub fn access(&self) -> Access {
        self.access
    }

    /// The largest message [`recv_bytes`](Self::recv_bytes) and friends accept.
    #[must_use]
    pub fn max_len(&self) -> u64 {
        self.receiver.max_len()
    }

    /// Changes the largest message accepted (default [`DEFAULT_MAX_LEN`]).
    /// A message already refused with [`Error::TooLong`] is checked again.
    pub fn set_max_len(&mut self, max_len: u64) {
        self.receiver.set_max_len(max_len);
    }

    /// `send_bytes(msg)`: sends `msg` as one message.
    ///
    /// Header and payload leave in one system call: a `write` of both for
    /// messages up to 256 bytes, a vectored write above. A partial write (a
    /// message larger than the pipe or socket buffer) is continued until the
    /// whole message is out. No allocation.
    ///
    /// On a pipe, `SIGPIPE` never kills the process, whatever the program
    /// does to its disposition. Where the kernel has `RWF_NOSIGNAL` (Linux
    /// 6.18 on), each write is one `pwritev2` with that flag: it raises no
    /// `SIGPIPE` at all, as a socket's `MSG_NOSIGNAL` send raises none, in
    /// one system call. Elsewhere (older kernels and seccomp filters that
    /// refuse `pwritev2`, which the connection's first write learns; other
    /// systems) each write looks the action up first (one `rt_sigaction`):
    /// ignored, the write goes as it is; otherwise it and every later write
    /// on the connection block `SIGPIPE` for the thread and take back a
    /// `SIGPIPE` the write raised (a handler installed at that moment gets
    /// it instead), two more system calls per write instead of the look-up;
    /// the one case left there is another thread restoring the default
    /// action while a write is under way. Sockets use `MSG_NOSIGNAL`.
    ///
    /// # Errors
    /// - [`Error::Io`] with `Errno::AGAIN` (non-blocking mode) or
    ///   `Errno::INTR` never; `Errno::AGAIN` means the frame did not leave
    ///   whole: nothing is lost and nothing corrupt follows. Call
    ///   `send_bytes` again with the same message once the descriptor is
    ///   writable (see [event loops](Connection#event-loops)); only its
    ///   unsent rest goes out.
    /// - [`Error::SendIncomplete`] when a message left part-way by
    ///   `Errno::AGAIN` is followed by a different one: finish the first.
    ///   "Different" is judged by length and 128 sampled bytes (the first
    ///   32, the last 32, 64 spread between), so a resumption costs the
    ///   same however long the message; one that differs only in other
    ///   bytes is taken for the first, and its unsent rest goes out.
    /// - [`Error::Io`] with `Errno::PIPE` when the peer is gone;
    ///   [`Error::NotWritable`] on a read-only end.
    /// - Any other error that strikes after part of the frame left (say
    ///   `ENOBUFS`) leaves a torn frame in the stream: that send and every
    ///   later one return the same error and write nothing, so no header
    ///   ever lands inside the torn payload. Receiving is not affected.
    ///
    /// # System calls
    /// Sockets: `sendto`, or `sendmsg` for messages over 256 bytes, then
    /// `sendto` while the rest is pending. Pipes on Linux 6.18 and later:
    /// `pwritev2`, once per write. Other pipes: `rt_sigaction`, then
    /// `write` (or `writev` over 256 bytes) while `SIGPIPE` is ignored;
    /// under the guard, `writev` between two `rt_sigprocmask`, and
    /// `rt_sigpending`, `rt_sigaction`, `rt_sigtimedwait` when needed; on
    /// Linux before 6.18, first the `pwritev2` the kernel refuses, once
    /// per connection.
    pub fn send_bytes(&mut self, msg: &[u8]) -> Result<(), Error> {
        self.send_messages(&[msg], &[])
    }

    /// `send_bytes` for each of `msgs`, in order, in as few system calls as
    /// the kernel takes: one vectored write carries the frames of up to 512
    /// messages (two buffers each, [`MAX_IOV`](sys::MAX_IOV) in all).
    ///
    /// The bytes on the wire are exactly those of the same `send_bytes`
    /// calls, so any receiver, Python's included, takes the messages one by
    /// one. Sixty-four 64-byte messages cost one `writev` instead of 64
    /// `write`s. A partial write is continued until every frame is out. No
    /// allocation; an empty batch sends nothing.
    ///
    /// A message is anything `AsRef<[u8]>`: `&[u8]`, `Vec<u8>`, `String`,
    /// `&str`, arrays, or your own type over a fixed buffer, which makes
    /// batches without allocating (a `Vec` of them reused from batch to
    /// batch). Batches of more than eight messages take about 24 KiB of
    /// stack for the write's buffer lists; shorter ones a few hundred bytes.
    ///
    /// ```
    /// let (mut a, mut b) = ipcwire::pipe(false)?;
    /// b.send_bytes_batch(&[&b"one"[..], b"two", b""])?;
    /// assert_eq!(a.recv_bytes()?, b"one");
    /// assert_eq!(a.recv_bytes()?, b"two");
    /// assert_eq!(a.recv_bytes()?, b"");
    /// # Ok::<(), ipcwire::Error>(())
    /// ```
    ///
    /// # Errors
    /// As for [`send_bytes`](Self::send_bytes), the batch standing for the
    /// message:
    /// - `Io(AGAIN)` (non-blocking mode): the frames did not all leave;
    ///   nothing is lost. If none of the batch left, nothing is pending.
    ///   Otherwise call again with the same messages once the descriptor
    ///   is writable (see [event loops](Connection#event-loops)), and only
    ///   the unsent rest goes out; any other send gets
    ///   [`Error::SendIncomplete`] until then. "The same" is judged by the
    ///   count, and by each message as `send_bytes` judges one for the
    ///   message where the batch stands and the 511 after it, so a
    ///   resumption costs the same however long the batch. A batch of one
    ///   is a `send_bytes` of its message, and either finishes the other.
    /// - Any other error after part of the batch left (`EPIPE` after the
    ///   first frames, say) leaves the stream torn: the peer may have a
    ///   part of a frame, and which messages arrived whole is not known
    ///   here. That send and every later one return the same error and
    ///   write nothing more. An error before any byte left (`EPIPE` with no
    ///   reader) leaves nothing pending.
    ///
    /// # System calls
    /// Those of [`send_bytes`](Self::send_bytes), once per write: one
    /// vectored write (`pwritev2`, `writev`, or `sendmsg` on a socket) per
    /// 512 messages and per partial write, `write` (`sendto`) instead
    /// when one buffer is left to write (a batch of one message up to 256
    /// bytes, or the end of a payload) where `pwritev2` is not used. None
    /// for an empty batch.
    pub fn send_bytes_batch<M: AsRef<[u8]>>(&mut self, msgs: &[M]) -> Result<(), Error> {
        self.send_messages(msgs, &[])
    }

    /// `send_bytes(msg)` with copies of `fds` riding along: the receiver
    /// gets them with this message from
    /// [`recv_bytes_with_fds`](Self::recv_bytes_with_fds) or
    /// [`recv_bytes_into_with_fds`](Self::recv_bytes_into_with_fds).
    ///
    /// Header and payload leave in one `sendmsg` that carries the
    /// descriptors, so they are attached to the message's first byte. The
    /// bytes on the wire are those of [`send_bytes`](Self::send_bytes): a
    /// peer that receives with a plain receive gets the message, and the
    /// descriptors are closed (by the kernel for a Python `recv_bytes`, by
    /// ipcwire, which counts them in [`discarded_fds`](Self::discarded_fds)).
    /// Our copies stay open; close them when the peer no longer needs them
    /// sent.
    ///
    /// With no descriptors this is `send_bytes`. A message that paused
    /// part-way (`Io(AGAIN)`) has sent its descriptors with its first
    /// bytes: call this (or `send_bytes`) again with the same message to
    /// finish it; the descriptors are not sent twice. A message paused by
    /// a send without descriptors is finished without them: given
    /// descriptors, this call is [`Error::SendIncomplete`] and writes
    /// nothing, since they could not go.
    ///
    /// # Errors
    /// - [`Error::Io`] with `EINVAL` for more than [`MAX_FDS`](crate::MAX_FDS) descriptors,
    ///   `EBADF` if one is not open, `ENOTSOCK` on a pipe, `EOPNOTSUPP` on
    ///   TCP (only Unix sockets carry descriptors; a TCP `sendmsg` would drop
    ///   them without a word); nothing was sent.
    /// - As for [`send_bytes`](Self::send_bytes): `Io(AGAIN)` (nothing lost;
    ///   repeat the call), [`Error::SendIncomplete`], `Io(EPIPE)`,
    ///   [`Error::NotWritable`].
    ///
    /// # System calls
    /// `sendmsg`; then, for whatever it did not take, as
    /// [`send_bytes`](Self::send_bytes).
    pub fn send_bytes_with_fds(&mut self, msg: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        self.send_messages(&[msg], fds)
    }

    /// `recv_bytes_into(buf)`: receives the next message into `buf` and
    /// returns its length. No allocation.
    ///
    /// A pause (`Io(AGAIN)`, `Io(TIMEDOUT)`) inside the payload leaves the
    /// part already taken in `buf`, and the next receive reads only what is
    /// new: pass the same `buf` again, untouched (or a copy holding those
    /// bytes at its front). A buffer declared afresh, or one shared between
    /// connections that served another receive meanwhile, does not hold
    /// them: 128 of the bytes taken, and a tag the pause wrote just past
    /// them (into room the message fills later), are checked, and a buffer
    /// that differs in any gets `Io(EINVAL)`.
    ///
    /// # Errors
    /// - [`Error::BufferTooSmall`] when the message is longer than `buf`: it
    ///   stays queued, whole, for the next call.
    /// - [`Error::Io`] with `EINVAL` when a message paused part-way in
    ///   another buffer: nothing is taken; finish it with that buffer.
    ///   `Io(ENOMEM)` (from `recv_bytes`) when a message outgrows the memory
    ///   this process can have: the message is lost, receiving stays failed.
    /// - [`Error::Eof`] when the peer closed between messages;
    ///   [`Error::Truncated`] when it closed inside one.
    /// - [`Error::TooLong`], [`Error::NegativeLength`] for a bad header.
    /// - [`Error::NotReadable`] on a write-only end; [`Error::Io`].
    ///
    /// # System calls
    /// `read` or `readv` (`recvmsg` on a Unix socket, and `close` for
    /// descriptors that came with the message): none when the message was
    /// read ahead, one when the pipe or socket already holds it (two above
    /// 4 KiB: the header and the first bytes, then the rest straight into
    /// `buf`), more only while it is still arriving; with a receive timeout,
    /// `clock_gettime` once, and `poll` and `clock_gettime` before each read.
    pub fn recv_bytes_into(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.receive(&mut SliceSink::new(buf), None)
            .map(|n| n as usize)
    }

    /// `recv_bytes()`: receives the next message into a new `Vec`.
    ///
    /// Memory grows with the bytes that actually arrive, never with the
    /// length a header declares: a message cut short holds at most twice
    /// what came (and at least 64 KiB). The message is bounded by
    /// [`max_len`](Self::max_len). A pause keeps the `Vec` inside the
    /// connection, and the next receive goes on filling it.
    ///
    /// # Errors
    /// As for [`recv_bytes_into`](Self::recv_bytes_into), except
    /// `BufferTooSmall`; `Io(EINVAL)` when a message paused part-way in a
    /// caller's buffer (finish it with `recv_bytes_into`).
    ///
    /// # System calls
    /// As for [`recv_bytes_into`](Self::recv_bytes_into).
    #[cfg(feature = "alloc")]
    pub fn recv_bytes(&mut self) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut msg = VecSink::default();
        self.receive(&mut msg, None)?;
        Ok(msg.into_vec())
    }

    /// `recv_bytes()` without a copy: the next message, borrowed from the
    /// connection until the next receive.
    ///
    /// While the slice is held the connection cannot be used, for sends
    /// either: copy what must outlive it (`.to_vec()`). Messages already
    /// read ahead come first, without a system call, so there is no need
    /// to try [`recv_buffered`](Self::recv_buffered) before it.
    ///
    /// A message that fits the read-ahead buffer (up to 4 KiB, 256 bytes
    /// without `alloc`) is returned where the read put it: a receiver of
    /// small messages touches each byte once, and makes one `read` per
    /// bufferful, not one per message. A larger one is received as by
    /// [`recv_bytes`](Self::recv_bytes) into a `Vec` the connection keeps
    /// until the next call (without `alloc`, it is
    /// [`Error::BufferTooSmall`] and stays queued for
    /// [`recv_bytes_into`](Self::recv_bytes_into)). Descriptors that came
    /// with the message are closed, as by any plain receive.
    ///
    /// ```
    /// let (mut a, mut b) = ipcwire::pipe(false)?;
    /// b.send_bytes_batch(&[&b"one"[..], b"two"])?;
    /// assert_eq!(a.recv_bytes_borrowed()?, b"one");
    /// let two = a.recv_bytes_borrowed()?;
    /// assert_eq!(two, b"two");
    /// # Ok::<(), ipcwire::Error>(())
    /// ```
    ///
    /// # Errors
    /// As for [`recv_bytes`](Self::recv_bytes). A pause keeps what came of
    /// the message in the connection (a message begun by `recv_bytes_into`
    /// in a caller's buffer must be finished there: `Io(EINVAL)`).
    ///
    /// # System calls
    /// As for [`recv_bytes_into`](Self::recv_bytes_into): no read while
    /// messages are read ahead.
    pub fn recv_bytes_borrowed(&mut self) -> Result<&[u8], Error> {
        if self.access == Access::Write {
            return Err(Error::NotReadable);
        }
        #[cfg(feature = "alloc")]
        {
            self.large = alloc::vec::Vec::new();
        }
        let mut src = FdSource::new(self.fd.as_fd(), self.kind, self.timeout)?;
        #[cfg(feature = "alloc")]
        let mut large = VecSink::default();
        #[cfg(not(feature = "alloc"))]
        let mut large = SliceSink::new(&mut []);
        match self.receiver.recv_borrowed(&mut src, &mut large)? {
            Borrowed::Ahead(at) => Ok(self.receiver.stored(at)),
            #[cfg(feature = "alloc")]
            Borrowed::InSink => {
                self.large = large.into_vec();
                Ok(&self.large)
            }
            // An empty buffer takes nothing but an empty message.
            #[cfg(not(feature = "alloc"))]
            Borrowed::InSink => Ok(&[]),
        }
    }

    /// The next message if it is already read ahead whole, borrowed as by
    /// [`recv_bytes_borrowed`](Self::recv_bytes_borrowed); `None` without a
    /// system call otherwise (nothing read ahead, a message only part-way
    /// in, a bad header or a failed receive, which the next receive
    /// reports).
    ///
    /// It drains what one read brought in: after a receive, take every
    /// message that came with it, then do something else before the next
    /// read blocks.
    ///
    /// ```
    /// let (mut a, mut b) = ipcwire::pipe(false)?;
    /// b.send_bytes_batch(&[&b"one"[..], b"two", b"three"])?;
    /// let mut got = vec![a.recv_bytes_borrowed()?.to_vec()];
    /// while let Some(msg) = a.recv_buffered() {
    ///     got.push(msg.to_vec());
    /// }
    /// assert_eq!(got, [&b"one"[..], b"two", b"three"]);
    /// # Ok::<(), ipcwire::Error>(())
    /// ```
    ///
    /// # System calls
    /// `close`, for descriptors that came with the message; none otherwise.
    pub fn recv_buffered(&mut self) -> Option<&[u8]> {
        if self.access == Access::Write {
            return None;
        }
        let at = self.receiver.take_buffered()?;
        Some(self.receiver.stored(at))
    }

    /// `recv_bytes_into(buf)` that also takes the descriptors sent with the
    /// message ([`send_bytes_with_fds`](Self::send_bytes_with_fds)) into
    /// `fds`, owned and close-on-exec. Returns the message's length.
    ///
    /// `fds` is emptied (what it still holds is closed) when the message's
    /// first byte is read, and never by a receive that finds nothing; the
    /// descriptors ride on that byte, at most [`MAX_FDS`](crate::MAX_FDS) of them. A message
    /// sent without descriptors leaves `fds` empty. Descriptors that come
    /// with bytes read ahead wait inside the connection for the receive of
    /// their message, plain receives included: see the
    /// [descriptor rules](Connection#descriptors-and-read-ahead).
    ///
    /// After `BufferTooSmall`, `TooLong` or a pause, the descriptors that
    /// came with the message's first byte are in `fds`: receive again with
    /// the same `fds` (and, after a pause, the same `buf`) to finish the
    /// message.
    ///
    /// # Errors
    /// - [`Error::ControlTruncated`]: more than `MAX_FDS` came, or the
    ///   kernel cut them short; every one was closed, the message is lost and
    ///   receiving stays failed. (A plain receive takes such a message, and
    ///   goes on.)
    /// - [`Error::UnexpectedFds`]: descriptors arrived in a read in which no
    ///   message begins, so in the middle of one; they were closed and
    ///   receiving stays failed.
    /// - As for [`recv_bytes_into`](Self::recv_bytes_into), and
    ///   [`Error::Io`] with `ENOTSOCK` on a pipe.
    ///
    /// # System calls
    /// As for [`recv_bytes_into`](Self::recv_bytes_into).
    pub fn recv_bytes_into_with_fds(
        &mut self,
        buf: &mut [u8],
        fds: &mut ReceivedFds,
    ) -> Result<usize, Error> {
        self.receive(&mut SliceSink::new(buf), Some(fds))
            .map(|n| n as usize)
    }

    /// `recv_bytes()` that also takes the descriptors sent with the message
    /// into `fds`, as [`recv_bytes_into_with_fds`](Self::recv_bytes_into_with_fds)
    /// does. Memory grows with the bytes that arrive, never with the length
    /// a header declares.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use ipcwire::sys::{self, ReceivedFds};
    /// let (mut a, mut b) = ipcwire::pipe(true)?;
    /// let (r, w) = sys::pipe()?;
    /// a.send_bytes_with_fds(b"the read end", &[r.as_fd()])?;
    /// drop(r); // the peer holds its own copy now
    /// let mut fds = ReceivedFds::new();
    /// assert_eq!(b.recv_bytes_with_fds(&mut fds)?, b"the read end");
    /// let r = fds.remove(0).unwrap();
    /// sys::write(w.as_fd(), b"through the passed pipe")?;
    /// let mut buf = [0; 64];
    /// assert_eq!(sys::read(r.as_fd(), &mut buf)?, 23);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As for [`recv_bytes_into_with_fds`](Self::recv_bytes_into_with_fds),
    /// except `BufferTooSmall`.
    ///
    /// # System calls
    /// As for [`recv_bytes_into_with_fds`](Self::recv_bytes_into_with_fds).
    #[cfg(feature = "alloc")]
    pub fn recv_bytes_with_fds(
        &mut self,
        fds: &mut ReceivedFds,
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut msg = VecSink::default();
        self.receive(&mut msg, Some(fds))?;
        Ok(msg.into_vec())
    }

    /// `reduction.sendfds(sock, fds)`: Python's exchange, on the raw
    /// socket, not framed: one byte, `len(fds) % 256`, with copies of `fds`
    /// attached. A Python peer takes them with `recvfds(sock, n)` (or
    /// `recv_handle(conn)` for one); here, with [`recv_fds`](Self::recv_fds).
    ///
    /// On macOS it then waits for the receiver's `A` acknowledgement, as
    /// Python does there: one `recvmsg` more.
    ///
    /// # Errors
    /// - [`Error::Io`] with `EINVAL` for no descriptors or more than
    ///   [`MAX_FDS`](crate::MAX_FDS), `EBADF`, `ENOTSOCK`, `EOPNOTSUPP` on TCP; nothing was
    ///   sent. `Io(AGAIN)`: nothing was sent; repeat the call.
    /// - [`Error::SendIncomplete`] while a message is part-way out.
    /// - [`Error::NotWritable`]; `Io(EPIPE)`.
    ///
    /// # System calls
    /// `sendmsg`.
    pub fn send_fds(&mut self, fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        self.send_count_with_fds(fds)?;
        #[cfg(target_vendor = "apple")]
        self.await_ack()?;
        Ok(())
    }

    /// `reduction.send_handle(conn, fd, pid)`: sends one descriptor the way
    /// Python's `recv_handle(conn)` receives it ([`send_fds`](Self::send_fds)
    /// with one). Python's `destination_pid` is unused on Unix.
    ///
    /// ```
    /// use std::os::fd::AsFd;
    /// use ipcwire::sys;
    /// let (mut a, mut b) = ipcwire::pipe(true)?;
    /// let (r, w) = sys::pipe()?;
    /// a.send_handle(&w)?;
    /// let w2 = b.recv_handle()?;
    /// sys::write(w2.as_fd(), b"!")?;
    /// assert_eq!(sys::read(r.as_fd(), &mut [0; 4])?, 1);
    /// # Ok::<(), ipcwire::Error>(())
    /// ```
    ///
    /// # Errors
    /// As for [`send_fds`](Self::send_fds).
    ///
    /// # System calls
    /// As for [`send_fds`](Self::send_fds).
    pub fn send_handle(&mut self, fd: impl AsFd) -> Result<(), Error> {
        self.send_fds(&[fd.as_fd()])
    }

    /// `reduction.recvfds(sock, n)`: receives what [`send_fds`](Self::send_fds)
    /// or Python's `sendfds`/`send_handle` sent: one count byte and the
    /// descriptors with it, into `fds` (emptied first), owned and
    /// close-on-exec. Returns how many arrived; they must match the count
    /// byte (modulo 256, as Python counts).
    ///
    /// It must come where the peer sent the descriptors: between messages.
    /// A receive before it may have read the count byte ahead, with its
    /// descriptors, which then wait for this call. On macOS it sends the
    /// `A` acknowledgement Python's sender waits for: one `sendto` more.
    ///
    /// # Errors
    /// - [`Error::Eof`] when the peer closed instead.
    /// - [`Error::FdCount`] when the count differs; [`Error::ControlTruncated`]
    ///   for more than [`MAX_FDS`](crate::MAX_FDS). All that arrived were closed; the count
    ///   byte was taken, so the connection stays usable.
    /// - [`Error::Io`] with `EINVAL` inside a message that is part-way
    ///   received (finish it first), `ENOTSOCK` on a pipe, `ETIMEDOUT` after
    ///   the receive timeout, `EAGAIN` (non-blocking; nothing taken).
    /// - [`Error::NotReadable`]; a receive that already failed repeats its error.
    ///
    /// # System calls
    /// `recvmsg` (with a receive timeout, after `poll` and `clock_gettime`);
    /// `close` for descriptors closed.
    pub fn recv_fds(&mut self, fds: &mut ReceivedFds) -> Result<usize, Error> {
        if self.access == Access::Write {
            return Err(Error::NotReadable);
        }
        if self.kind != Kind::UnixSocket {
            return Err(Error::Io(Errno::NOTSOCK));
        }
        let mut src = FdSource::new(self.fd.as_fd(), self.kind, self.timeout)?;
        let count = self.receiver.next_byte(&mut src, Some(&mut *fds));
        #[cfg(target_vendor = "apple")]
        if count.is_ok() || count == Err(Error::ControlTruncated) {
            sys::send(self.fd.as_fd(), b"A")?;
        }
        let count = count?;
        if fds.len() % 256 != usize::from(count) {
            let arrived = fds.len();
            fds.clear();
            return Err(Error::FdCount {
                announced: count,
                arrived,
            });
        }
        Ok(fds.len())
    }

    /// `reduction.recv_handle(conn)`: receives one descriptor sent by
    /// [`send_handle`](Self::send_handle) or Python's `send_handle`.
    ///
    /// # Errors
    /// [`Error::FdCount`] when other than one arrived (all closed); the
    /// rest as for [`recv_fds`](Self::recv_fds).
    ///
    /// # System calls
    /// As for [`recv_fds`](Self::recv_fds).
    pub fn recv_handle(&mut self) -> Result<OwnedFd, Error> {
        let mut fds = ReceivedFds::new();
        let arrived = self.recv_fds(&mut fds)?;
        match fds.pop() {
            Some(fd) if arrived == 1 => Ok(fd),
            _ => Err(Error::FdCount {
                announced: arrived as u8,
                arrived,
            }),
        }
    }

    /// How many descriptors that came with messages taken by plain
    /// receives (`recv_bytes`, `recv_bytes_into`, `recv_bytes_borrowed`,
    /// `recv_buffered`, `recv`) this connection has closed. Nonzero means the peer sent descriptors this program did
    /// not ask for.
    #[must_use]
    pub fn discarded_fds(&self) -> u64 {
        self.receiver.discarded_fds()
    }

    /// `send(obj)`: sends `value` as a pickle, one message, which Python's
    /// `conn.recv()` returns as an equal object of the same types.
    ///
    /// Encodes into a new `Vec` (see [`pickle::to_vec`]), then
    /// [`send_bytes`](Self::send_bytes). The same value always encodes to
    /// the same bytes, so after `Io(AGAIN)` sending the same value again
    /// finishes the message.
    ///
    /// # Errors
    /// As for [`send_bytes`](Self::send_bytes).
    ///
    /// # System calls
    /// Those of [`send_bytes`](Self::send_bytes).
    #[cfg(feature = "pickle")]
    pub fn send<T: pickle::ToPickle + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.send_bytes(&pickle::to_vec(value))
    }

    /// `recv()`: receives the next message and decodes it as a pickle of a
    /// `T` (Python's `conn.send(obj)`), within the default
    /// [`pickle::Limits`].
    ///
    /// The message is received whole (bounded by [`max_len`](Self::max_len))
    /// before it is decoded, so a payload that is not a pickle of a `T` is
    /// [`Error::Pickle`] and the connection stays usable for the next
    /// message. To decode with other limits, decode
    /// [`recv_bytes`](Self::recv_bytes)'s result with
    /// [`pickle::Limits::from_slice`].
    ///
    /// ```
    /// use ipcwire::{pickle::Value, Error};
    /// let (mut a, mut b) = ipcwire::pipe(true)?;
    /// a.send(&(1, "two", [3.0]))?;
    /// let (one, two, three): (u8, String, Vec<f64>) = b.recv()?;
    /// assert_eq!((one, two.as_str(), three), (1, "two", vec![3.0]));
    /// a.send("not an int")?;
    /// assert!(matches!(b.recv::<i64>(), Err(Error::Pickle(_))));
    /// drop(a);
    /// assert_eq!(b.recv::<Value>(), Err(Error::Eof));
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// As for [`recv_bytes`](Self::recv_bytes), and [`Error::Pickle`].
    ///
    /// # System calls
    /// Those of [`recv_bytes`](Self::recv_bytes).
    #[cfg(feature = "pickle")]
    pub fn recv<T: pickle::FromPickle>(&mut self) -> Result<T, Error> {
        let msg = self.recv_bytes()?;
        pickle::from_slice(&msg).map_err(Error::Pickle)
    }

    /// `set_recv_timeout(t)`: every later receive waits for the peer at
    /// most `t` in all, then stops with `Io(TIMEDOUT)`; `None` (the default)
    /// waits without limit.
    ///
    /// A timeout is a pause, not a failure: a message that had begun to
    /// arrive is kept, and the next receive continues it (see
    /// [`Error::is_resumable`]; a payload paused in a caller's buffer is
    /// finished only in that buffer, see [`recv_bytes_into`](Self::recv_bytes_into)).
    ///
    /// Each read is then preceded by a `poll` (reads of bytes already
    /// buffered need neither).
    pub fn set_recv_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `set_nonblocking(on)`: in non-blocking mode a send or receive that
    /// would wait returns `Io(AGAIN)` instead, keeping what it had done so
    /// far; repeat it when the descriptor is ready: readable for a receive
    /// ([`poll`](Self::poll)), writable for a send (see
    /// [event loops](Connection#event-loops)), or as your event loop says
    /// through [`as_fd`](Self::as_fd) for receives and
    /// [`as_write_fd`](Self::as_write_fd) for sends (the same descriptor but
    /// on a [`duplex_pipes`](crate::duplex_pipes) connection). See [`send_bytes`](Self::send_bytes)
    /// for finishing a message that left part-way.
    ///
    /// A receive that stopped inside a message keeps the part it took where
    /// it was going: `recv_bytes` in the connection, `recv_bytes_into` in
    /// the caller's buffer, which must come again.
    ///
    /// The flag belongs to the open pipe or socket, so a forked process
    /// holding the same end sees it too. Over two pipes it is set on both
    /// ends this connection holds, the read end first, which stays changed
    /// if the write end's `fcntl` fails.
    ///
    /// # Errors
    /// [`Error::Io`] with `EBADF`.
    ///
    /// # System calls
    /// `fcntl` (twice for each descriptor).
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        sys::set_nonblocking(self.fd.as_fd(), on)?;
        if let Some(writer) = &self.writer {
            sys::set_nonblocking(writer.as_fd(), on)?;
        }
        Ok(())
    }

    /// `poll(timeout)`: waits until a message or end of stream can be
    /// received, or the timeout passes; `None` waits without limit and
    /// `Some(Duration::ZERO)` only looks.
    ///
    /// `true` means a receive has something new to work on: bytes read
    /// ahead into the connection, bytes (or end of stream) waiting in the
    /// pipe or socket, or a failure to report. It may still wait for the
    /// rest of a message that is arriving; a message paused part-way (by
    /// `EAGAIN` or a timeout) makes it `true` only once more bytes come.
    ///
    /// # Errors
    /// [`Error::NotReadable`] on a write-only end; [`Error::Io`].
    ///
    /// # System calls
    /// `poll`, and `clock_gettime` when a timeout is given; none when bytes
    /// are already read ahead (more than the start of a payload still
    /// arriving).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if self.access == Access::Write {
            return Err(Error::NotReadable);
        }
        if self.has_buffered() {
            return Ok(true);
        }
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::IN)];
        Ok(sys::poll(&mut fds, timeout)? > 0)
    }

    /// Whether a receive has something to work on without reading.
    pub(crate) fn has_buffered(&self) -> bool {
        self.receiver.has_buffered()
    }

    /// Receives one message into `sink` through the receive driver, under
    /// the receive timeout.
    fn receive(
        &mut self,
        sink: &mut impl Sink,
        fds: Option<&mut ReceivedFds>,
    ) -> Result<u64, Error> {
        if self.access == Access::Write {
            return Err(Error::NotReadable);
        }
        if fds.is_some() && self.kind == Kind::Pipe {
            return Err(Error::Io(Errno::NOTSOCK));
        }
        let mut src = FdSource::new(self.fd.as_fd(), self.kind, self.timeout)?;
        self.receiver.recv(&mut src, sink, fds)
    }

    /// Waits for the `A` a macOS receiver sends back (Python's `ACKNOWLEDGE`).
    #[cfg(target_vendor = "apple")]
    fn await_ack(&mut self) -> Result<(), Error> {
        let mut src = FdSource::new(self.fd.as_fd(), self.kind, self.timeout)?;
        match self.receiver.next_byte(&mut src, None)? {
            b'A' => Ok(()),
            _ => Err(Error::Io(Errno::IO)),
        }
    }
}

/// Lets [`wait`](crate::wait) take connections and references to them alike.
impl AsRef<Connection> for Connection {
    fn as_ref(&self) -> &Connection {
        self
    }
}

/// Borrows the descriptor, for `poll`/`epoll` or [`sys`](crate::sys) calls;
/// on a duplex connection over two pipes, the read end (sends go to
/// [`as_write_fd`](Connection::as_write_fd)). Reading from it directly
/// bypasses the framing; do not mix the two.
impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Unwraps the descriptor. Bytes already read ahead, and descriptors that
/// came with them, are dropped (the descriptors closed), as a
/// `BufReader`'s buffer is by `into_inner`: convert only between messages
/// that the peer has not sent yet, such as right after a handshake. A
/// duplex connection over two pipes gives its read end and closes the
/// write end; [`Connection::into_fds`] gives both.
///
/// # System calls
/// `close`, for descriptors that came with bytes read ahead (and the write
/// end of a connection over two pipes).
impl From<Connection> for OwnedFd {
    fn from(conn: Connection) -> OwnedFd {
        conn.fd
    }
}

/// As `OwnedFd::from(conn).into_raw_fd()`.
///
/// # System calls
/// `close`, for descriptors that came with bytes read ahead.
impl IntoRawFd for Connection {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

/// Wraps a descriptor, taking its [`Access`] from how it was opened: the
/// read end of a pipe is [`Access::Read`], the write end [`Access::Write`],
/// a socket [`Access::Duplex`]. Otherwise as [`Connection::from_fd`].
///
/// # System calls
/// `fcntl(F_GETFL)`; then as [`Connection::from_fd`].
impl TryFrom<OwnedFd> for Connection {
    type Error = Errno;

    fn try_from(fd: OwnedFd) -> Result<Connection, Errno> {
        let access = match sys::access_mode(fd.as_fd())? {
            (true, false) => Access::Read,
            (false, true) => Access::Write,
            (true, true) => Access::Duplex,
            (false, false) => return Err(Errno::BADF),
        };
        Connection::from_fd(fd, access)
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut f = f.debug_struct("Connection");
        f.field("fd", &self.fd.as_raw_fd());
        if let Some(writer) = &self.writer {
            f.field("write_fd", &writer.as_raw_fd());
        }
        f.field("access", &self.access)
            .field("max_len", &self.max_len())
            .finish()
    }
}

/// Checks that `fd` is a pipe end (not a socket) open for `access`, and
/// says which pipe.
fn pipe_end(fd: BorrowedFd<'_>, access: Access) -> Result<sys::FileId, Errno> {
    let open_for = match sys::access_mode(fd)? {
        (true, _) if access == Access::Read => true,
        (_, true) if access == Access::Write => true,
        _ => false,
    };
    if !open_for {
        return Err(Errno::BADF);
    }
    match sys::fstat_id(fd)? {
        id if id.is_socket => Err(Errno::INVAL),
        id => Ok(id),
    }
}
