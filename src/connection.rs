//! `Connection`: whole messages over a pipe end or a stream socket.

use core::time::Duration;

use crate::frame::{Decoded, Decoder, Header, MAX_HEADER_LEN};
#[cfg(feature = "pickle")]
use crate::pickle;
use crate::read_ahead::ReadAhead;
use crate::sys::{self, BorrowedFd, Errno, IoSlice, IoSliceMut, OwnedFd, PollFd, PollFlags};
use crate::Error;

/// The largest message a new connection accepts: 64 MiB.
///
/// It bounds what a peer can make this process hold. Python peers may send
/// up to 2^63 bytes; raise it with [`Connection::set_max_len`].
pub const DEFAULT_MAX_LEN: u64 = 64 << 20;

/// Messages up to this long leave with their header in one plain `write`.
const SMALL_MESSAGE: usize = 256;

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

/// A framed message endpoint, like Python's `multiprocessing.connection.Connection`.
///
/// Messages are byte strings of any length, framed exactly as Python frames
/// them, so either end may be a Python process. Dropping the connection
/// closes its descriptor; when every copy of a writing end is closed, the
/// reader sees [`Error::Eof`].
///
/// ```
/// let (mut a, mut b) = ipcwire::pipe(true)?;
/// a.send_bytes(b"ping")?;
/// assert_eq!(b.recv_bytes()?, b"ping");
/// drop(a);
/// assert_eq!(b.recv_bytes(), Err(ipcwire::Error::Eof));
/// # Ok::<(), ipcwire::Error>(())
/// ```
pub struct Connection {
    fd: OwnedFd,
    socket: bool,
    access: Access,
    decoder: Decoder,
    ahead: ReadAhead,
    /// An error that struck inside a message after part of it was taken:
    /// that message can never be delivered whole, so receiving stays failed.
    failed: Option<Error>,
    /// When set (on the monotonic clock), every read first waits for data
    /// only until then: this bounds receives and the handshake.
    deadline: Option<Duration>,
    /// How long one receive may wait for the peer; `None` waits forever.
    timeout: Option<Duration>,
    /// Payload bytes a receive took before it stopped with `EAGAIN` or a
    /// timeout: the next receive starts from them.
    #[cfg(feature = "alloc")]
    partial: alloc::vec::Vec<u8>,
    /// Whether a frame is part-way out, paused or torn.
    sending: SendState,
    /// Set once `SIGPIPE` was seen not ignored at a pipe write: from then on
    /// every pipe write holds it off without looking (the guard is right
    /// whatever the action, so this never needs undoing).
    sigpipe_guard: bool,
}

/// The send side: ready, a frame paused part-way out, or a frame torn by
/// an error, after which no send may write (the next header would land in
/// the middle of the torn payload).
#[derive(Copy, Clone)]
enum SendState {
    Ready,
    Paused(PendingSend),
    Torn(Error),
}

/// How far a frame got before `EAGAIN`, and which message it carries.
#[derive(Copy, Clone)]
struct PendingSend {
    len: usize,
    fingerprint: u64,
    /// Bytes of the frame (header included) already written.
    sent: usize,
}

impl PendingSend {
    fn new(msg: &[u8], sent: usize) -> Self {
        PendingSend {
            len: msg.len(),
            fingerprint: fingerprint(msg),
            sent,
        }
    }

    /// Whether `msg` is the message this frame carries (by length and
    /// FNV-1a hash: computed only when a send is resumed).
    fn is_for(&self, msg: &[u8]) -> bool {
        msg.len() == self.len && fingerprint(msg) == self.fingerprint
    }
}

/// FNV-1a, 64 bits: tells a resumed message from a different one.
fn fingerprint(msg: &[u8]) -> u64 {
    msg.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Connection {
    /// Wraps a descriptor (a pipe end or a connected stream socket) that
    /// speaks the framing, for example one inherited from a parent process.
    ///
    /// # Errors
    /// `EBADF` if `fd` is not open.
    ///
    /// # System calls
    /// `fstat` (to learn whether sends must avoid `SIGPIPE` with `MSG_NOSIGNAL`);
    /// on macOS, `setsockopt(SO_NOSIGPIPE)` for a socket.
    pub fn from_fd(fd: OwnedFd, access: Access) -> Result<Connection, Errno> {
        let socket = sys::fstat_is_socket(fd.as_fd())?;
        // macOS has no MSG_NOSIGNAL: the socket itself must not raise SIGPIPE.
        #[cfg(target_vendor = "apple")]
        if socket {
            sys::set_nosigpipe(fd.as_fd())?;
        }
        Ok(Connection::new(fd, socket, access))
    }

    /// Wraps a descriptor whose kind the caller knows.
    pub(crate) const fn new(fd: OwnedFd, socket: bool, access: Access) -> Connection {
        Connection {
            fd,
            socket,
            access,
            decoder: Decoder::new(DEFAULT_MAX_LEN),
            ahead: ReadAhead::new(),
            failed: None,
            deadline: None,
            timeout: None,
            #[cfg(feature = "alloc")]
            partial: alloc::vec::Vec::new(),
            sending: SendState::Ready,
            sigpipe_guard: false,
        }
    }

    /// Borrows the descriptor, for `poll`/`epoll` or [`sys`](crate::sys) calls.
    ///
    /// Reading from it directly bypasses the framing; do not mix the two.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
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

    /// `F_GETPIPE_SZ`: the capacity of the pipe under this connection.
    ///
    /// # Errors
    /// [`Error::Io`] with `EBADF` on a socket.
    ///
    /// # System calls
    /// `fcntl`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn pipe_size(&self) -> Result<usize, Error> {
        Ok(sys::pipe_size(self.fd.as_fd())?)
    }

    /// `F_SETPIPE_SZ`: enlarges (or shrinks) the pipe under this connection
    /// and returns the capacity granted, at least `size`.
    ///
    /// A message larger than the pipe moves in several rounds of "writer
    /// fills, reader drains", each with a wake-up on both sides: a pipe as
    /// large as the messages moves them about three times faster than the
    /// default 64 KiB. Either end may ask; the pipe is shared.
    ///
    /// # Errors
    /// [`Error::Io`] with `EPERM` above `/proc/sys/fs/pipe-max-size` (1 MiB
    /// by default) for an unprivileged process, `EBUSY` when more than
    /// `size` bytes are waiting, `EBADF` on a socket.
    ///
    /// # System calls
    /// `fcntl`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn set_pipe_size(&self, size: usize) -> Result<usize, Error> {
        Ok(sys::set_pipe_size(self.fd.as_fd(), size)?)
    }

    /// Which directions this connection may use.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The largest message [`recv_bytes`](Self::recv_bytes) and friends accept.
    pub fn max_len(&self) -> u64 {
        self.decoder.max_len()
    }

    /// Changes the largest message accepted (default [`DEFAULT_MAX_LEN`]).
    /// A message already refused with [`Error::TooLong`] is checked again.
    pub fn set_max_len(&mut self, max_len: u64) {
        self.decoder.set_max_len(max_len);
    }

    /// `send_bytes(msg)`: sends `msg` as one message.
    ///
    /// Header and payload leave in one system call: a `write` of both for
    /// messages up to 256 bytes, a vectored write above. A partial write (a
    /// message larger than the pipe or socket buffer) is continued until the
    /// whole message is out. No allocation.
    ///
    /// On a pipe, `SIGPIPE` never kills the process, whatever the program
    /// does to its disposition between sends. Each send looks the action
    /// up (one `rt_sigaction`): ignored, its writes go as they are;
    /// otherwise every write of this and every later send on the connection
    /// blocks `SIGPIPE` for the thread and takes back a `SIGPIPE` the write
    /// raised (a handler installed at that moment gets it instead), two
    /// more system calls per write instead of the look-up. Sockets use
    /// `MSG_NOSIGNAL` and pay nothing. The one case left: another thread
    /// restoring the default action while a send is under way.
    ///
    /// # Errors
    /// - [`Error::Io`] with `Errno::AGAIN` (non-blocking mode) or
    ///   `Errno::INTR` never; `Errno::AGAIN` means the frame did not leave
    ///   whole: nothing is lost and nothing corrupt follows. Call
    ///   `send_bytes` again with the same message once the descriptor is
    ///   writable; only its unsent rest goes out.
    /// - [`Error::SendIncomplete`] when a message left part-way by
    ///   `Errno::AGAIN` is followed by a different one: finish the first.
    /// - [`Error::Io`] with `Errno::PIPE` when the peer is gone;
    ///   [`Error::NotWritable`] on a read-only end.
    /// - Any other error that strikes after part of the frame left (say
    ///   `ENOBUFS`) leaves a torn frame in the stream: that send and every
    ///   later one return the same error and write nothing, so no header
    ///   ever lands inside the torn payload. Receiving is not affected.
    ///
    /// # System calls
    /// Sockets: `sendto`, or `sendmsg` for messages over 256 bytes, then
    /// `sendto` while the rest is pending. Pipes: `rt_sigaction`, then
    /// `write` (or `writev` over 256 bytes) while `SIGPIPE` is ignored;
    /// under the guard, `writev` between two `rt_sigprocmask`, and
    /// `rt_sigpending`, `rt_sigaction`, `rt_sigtimedwait` when needed.
    pub fn send_bytes(&mut self, msg: &[u8]) -> Result<(), Error> {
        if self.access == Access::Read {
            return Err(Error::NotWritable);
        }
        let done = match self.sending {
            SendState::Torn(e) => return Err(e),
            SendState::Paused(pending) if !pending.is_for(msg) => {
                return Err(Error::SendIncomplete)
            }
            SendState::Paused(pending) => pending.sent,
            SendState::Ready => 0,
        };
        self.sending = SendState::Ready;
        let header = Header::new(msg.len() as u64);
        let (sent, e) = match self.send_frame(header.as_bytes(), msg, done) {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        if sent > 0 {
            self.sending = if e.is_resumable() {
                SendState::Paused(PendingSend::new(msg, sent))
            } else {
                SendState::Torn(e)
            };
        }
        Err(e)
    }

    /// Writes the frame `head + msg` from byte `sent` on; on failure, says
    /// how many bytes of it are out.
    fn send_frame(
        &mut self,
        head: &[u8],
        msg: &[u8],
        mut sent: usize,
    ) -> Result<(), (usize, Error)> {
        if !self.socket {
            self.look_up_sigpipe().map_err(|e| (sent, e.into()))?;
        }
        let total = head.len() + msg.len();
        if msg.len() <= SMALL_MESSAGE {
            // Copying a few bytes is cheaper than the kernel's walk of an
            // iovec array: about 3% of a small message's send.
            let mut frame = [0; MAX_HEADER_LEN + SMALL_MESSAGE];
            frame[..head.len()].copy_from_slice(head);
            frame[head.len()..total].copy_from_slice(msg);
            while sent < total {
                sent += self
                    .write(&frame[sent..total], &[])
                    .map_err(|e| (sent, e))?;
            }
            return Ok(());
        }
        while sent < total {
            let n = match head.get(sent..) {
                Some(rest) if !rest.is_empty() => self.write(rest, msg),
                _ => self.write(&msg[sent - head.len()..], &[]),
            };
            sent += n.map_err(|e| (sent, e))?;
        }
        Ok(())
    }

    /// One write of `first` then `then`; plain `write` when `then` is empty.
    fn write(&mut self, first: &[u8], then: &[u8]) -> Result<usize, Error> {
        let guard = !self.socket && self.sigpipe_guard;
        let fd = self.fd.as_fd();
        let both = [IoSlice::new(first), IoSlice::new(then)];
        let bufs = if then.is_empty() {
            &both[..1]
        } else {
            &both[..]
        };
        let n = match (self.socket, then.is_empty()) {
            (true, true) => sys::send(fd, first)?,
            (true, false) => sys::send_vectored(fd, bufs)?,
            (false, _) if guard => sys::writev_nosigpipe(fd, bufs)?,
            (false, true) => sys::write(fd, first)?,
            (false, false) => sys::writev(fd, bufs)?,
        };
        nonzero(n)
    }

    /// Decides whether this send's pipe writes hold off `SIGPIPE`. While it
    /// is ignored a write is safe as it is, but any thread may restore the
    /// default action between sends: so it is looked up at every send, until
    /// it is seen not ignored once; from then on every write is guarded.
    fn look_up_sigpipe(&mut self) -> Result<(), Errno> {
        if !self.sigpipe_guard {
            self.sigpipe_guard = !sys::sigpipe_is_ignored()?;
        }
        Ok(())
    }

    /// `recv_bytes_into(buf)`: receives the next message into `buf` and
    /// returns its length. No allocation.
    ///
    /// # Errors
    /// - [`Error::BufferTooSmall`] when the message is longer than `buf`: it
    ///   stays queued, whole, for the next call.
    /// - [`Error::Eof`] when the peer closed between messages;
    ///   [`Error::Truncated`] when it closed inside one.
    /// - [`Error::TooLong`], [`Error::NegativeLength`] for a bad header.
    /// - [`Error::NotReadable`] on a write-only end; [`Error::Io`].
    ///
    /// # System calls
    /// `read` or `readv`: none when the message was read ahead, one when the
    /// pipe or socket already holds it, more only while it is still arriving.
    pub fn recv_bytes_into(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.within_timeout(|conn| {
            let len = conn.next_header()?;
            let out = usize::try_from(len)
                .ok()
                .and_then(|n| buf.get_mut(..n))
                .ok_or(Error::BufferTooSmall { needed: len })?;
            let n = out.len();
            let got = resume_into(conn.recv_parts(), out);
            conn.take_payload(&mut SliceSink { out, got })?;
            Ok(n)
        })
    }

    /// `recv_bytes()`: receives the next message into a new `Vec`.
    ///
    /// Memory grows with the bytes that actually arrive, never with the
    /// length a header declares, and the message is bounded by
    /// [`max_len`](Self::max_len).
    ///
    /// # Errors
    /// As for [`recv_bytes_into`](Self::recv_bytes_into), except
    /// `BufferTooSmall`.
    ///
    /// # System calls
    /// `read` or `readv`: none when the message was read ahead, one when the
    /// pipe or socket already holds it, more only while it is still arriving.
    #[cfg(feature = "alloc")]
    pub fn recv_bytes(&mut self) -> Result<alloc::vec::Vec<u8>, Error> {
        self.within_timeout(|conn| {
            conn.next_header()?;
            let mut sink = VecSink {
                msg: core::mem::take(&mut conn.partial),
            };
            conn.take_payload(&mut sink)?;
            Ok(sink.msg)
        })
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
    /// [`Error::is_resumable`]).
    ///
    /// Each read is then preceded by a `poll` (reads of bytes already
    /// buffered need neither).
    pub fn set_recv_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `set_nonblocking(on)`: in non-blocking mode a send or receive that
    /// would wait returns `Io(AGAIN)` instead, keeping what it had done so
    /// far; repeat it when [`poll`](Self::poll) (or your event loop, through
    /// [`as_fd`](Self::as_fd)) says the descriptor is ready. See
    /// [`send_bytes`](Self::send_bytes) for finishing a message that left
    /// part-way.
    ///
    /// Without the `alloc` feature, a receive that stopped inside a message
    /// keeps the part it took in the caller's buffer: pass the same buffer
    /// again.
    ///
    /// The flag belongs to the open pipe or socket, so a forked process
    /// holding the same end sees it too.
    ///
    /// # Errors
    /// [`Error::Io`] with `EBADF`.
    ///
    /// # System calls
    /// `fcntl` (twice).
    pub fn set_nonblocking(&self, on: bool) -> Result<(), Error> {
        Ok(sys::set_nonblocking(self.fd.as_fd(), on)?)
    }

    /// Runs one receive under the receive timeout, unless a deadline (the
    /// handshake's) is already in force.
    fn within_timeout<T>(
        &mut self,
        receive: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(timeout) = self.timeout.filter(|_| self.deadline.is_none()) else {
            return receive(self);
        };
        self.deadline = Some(sys::monotonic_now()?.saturating_add(timeout));
        let result = receive(self);
        self.deadline = None;
        result
    }

    /// Decodes up to the next header and returns its payload length; after
    /// it the decoder is at the start of that payload.
    fn next_header(&mut self) -> Result<u64, Error> {
        if self.access == Access::Write {
            return Err(Error::NotReadable);
        }
        if let Some(e) = self.failed {
            return Err(e);
        }
        loop {
            if let Some((len, _)) = self.decoder.payload() {
                return Ok(len);
            }
            let (used, found) = self.decoder.decode(self.ahead.filled())?;
            let need_more = found == Decoded::NeedMore;
            self.ahead.consume(used);
            if need_more && self.fill_ahead()? == 0 {
                return Err(match self.decoder.finish() {
                    Ok(()) => Error::Eof,
                    Err(e) => e.into(),
                });
            }
        }
    }

    /// Reads once into the read-ahead buffer (after waiting, under a deadline).
    fn fill_ahead(&mut self) -> Result<usize, Error> {
        self.wait_for_data()?;
        Ok(self.ahead.fill(self.fd.as_fd())?)
    }

    /// Under a deadline, waits for data until then; `ETIMEDOUT` after it.
    fn wait_for_data(&self) -> Result<(), Error> {
        wait_for_data(self.fd.as_fd(), self.deadline)
    }

    /// Moves the current payload into `sink`. A pause (`EAGAIN`, timeout)
    /// keeps what was taken for the next receive; any other error after part
    /// of it was taken fails receiving for good rather than deliver a torn
    /// message.
    fn take_payload(&mut self, sink: &mut impl Sink) -> Result<(), Error> {
        let result = self.move_payload(sink);
        if let (Err(e), Some((len, left))) = (result, self.decoder.payload()) {
            if e.is_resumable() {
                #[cfg(feature = "alloc")]
                sink.keep(&mut self.partial);
            } else if left < len {
                self.failed = Some(e);
            }
        }
        result
    }

    /// Moves the current payload into `sink`: first what was read ahead,
    /// then straight from the descriptor into the sink's own memory.
    fn move_payload(&mut self, sink: &mut impl Sink) -> Result<(), Error> {
        loop {
            let (used, found) = self.decoder.decode(self.ahead.filled())?;
            match found {
                Decoded::Payload(piece) => sink.put(piece),
                Decoded::FrameEnd => return Ok(()),
                _ => {
                    // Nothing is read ahead: one read fills the rest of the
                    // payload in place and brings what follows it ahead.
                    self.wait_for_data()?;
                    let left = self.decoder.payload().map_or(0, |(_, left)| left);
                    let room = self.ahead.room();
                    let (fresh, ahead) = sink.read_from(self.fd.as_fd(), left, room)?;
                    if fresh.is_empty() {
                        return Err(Error::Truncated);
                    }
                    self.decoder.decode(fresh)?;
                    self.ahead.commit(ahead);
                }
            }
            self.ahead.consume(used);
        }
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
    /// `poll` and `clock_gettime`; none when bytes are already read ahead.
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
}

/// The receive state that `fd_passing.rs` shares with the plain receives.
/// It reads each message exactly, never a byte past it, so that no read
/// meets (and makes the kernel close) a later message's descriptors; the
/// two kinds of receive may follow each other on one connection.
pub(crate) struct RecvParts<'a> {
    pub(crate) fd: BorrowedFd<'a>,
    pub(crate) decoder: &'a mut Decoder,
    pub(crate) ahead: &'a mut ReadAhead,
    pub(crate) failed: &'a mut Option<Error>,
    pub(crate) timeout: Option<Duration>,
    #[cfg(feature = "alloc")]
    pub(crate) partial: &'a mut alloc::vec::Vec<u8>,
}

impl Connection {
    /// Borrows the receive state (for `fd_passing.rs`).
    pub(crate) fn recv_parts(&mut self) -> RecvParts<'_> {
        RecvParts {
            fd: self.fd.as_fd(),
            decoder: &mut self.decoder,
            ahead: &mut self.ahead,
            failed: &mut self.failed,
            timeout: self.timeout,
            #[cfg(feature = "alloc")]
            partial: &mut self.partial,
        }
    }

    /// Notes that the first `sent` bytes of `msg`'s frame are out (sent
    /// with descriptors by `fd_passing.rs`), so `send_bytes(msg)` sends the rest.
    pub(crate) fn resume_send_at(&mut self, msg: &[u8], sent: usize) {
        self.sending = SendState::Paused(PendingSend::new(msg, sent));
    }

    /// Whether a frame is paused part-way out; the error that tore one, if
    /// a send failed part-way.
    pub(crate) fn send_pending(&self) -> Result<bool, Error> {
        match self.sending {
            SendState::Ready => Ok(false),
            SendState::Paused(_) => Ok(true),
            SendState::Torn(e) => Err(e),
        }
    }
}

impl Connection {
    /// Whether a receive has something to work on without reading: bytes
    /// are read ahead, or receiving has failed for good. A message paused
    /// part-way does not count: reporting it ready would wake an event
    /// loop again and again with no new byte.
    pub(crate) fn has_buffered(&self) -> bool {
        !self.ahead.filled().is_empty() || self.failed.is_some()
    }
}

/// Under a deadline (on the monotonic clock), waits for `fd` to have data
/// until then; `ETIMEDOUT` after it. Without one, returns at once.
pub(crate) fn wait_for_data(fd: BorrowedFd<'_>, deadline: Option<Duration>) -> Result<(), Error> {
    let Some(deadline) = deadline else {
        return Ok(());
    };
    let left = deadline.saturating_sub(sys::monotonic_now()?);
    if sys::poll(&mut [PollFd::new(fd, PollFlags::IN)], Some(left))? == 0 {
        return Err(Error::Io(Errno::TIMEDOUT));
    }
    Ok(())
}

/// Puts the payload bytes an interrupted receive took at the front of
/// `out`, and returns their count.
#[cfg(feature = "alloc")]
pub(crate) fn resume_into(p: RecvParts<'_>, out: &mut [u8]) -> usize {
    let taken = p.partial.len();
    if let Some(front) = out.get_mut(..taken) {
        front.copy_from_slice(p.partial);
    }
    p.partial.clear();
    taken
}

/// Without an allocator the bytes an interrupted receive took stay in the
/// caller's buffer, which must be the same one again.
#[cfg(not(feature = "alloc"))]
pub(crate) fn resume_into(p: RecvParts<'_>, _out: &mut [u8]) -> usize {
    let (len, left) = p.decoder.payload().unwrap_or((0, 0));
    usize::try_from(len - left).unwrap_or(0)
}

/// A write that took nothing would repeat forever; report it instead.
fn nonzero(n: usize) -> Result<usize, Error> {
    if n == 0 {
        Err(Error::Io(Errno::IO))
    } else {
        Ok(n)
    }
}

/// Where a payload goes: a caller's buffer or a growing `Vec`.
trait Sink {
    /// Appends bytes that were read ahead.
    fn put(&mut self, bytes: &[u8]);
    /// Reads up to `left` more payload bytes from `fd` straight into the
    /// sink's own memory, and bytes beyond the payload into `ahead`, in one
    /// system call. Returns the payload bytes that arrived (empty at end of
    /// stream) and how many bytes landed in `ahead`.
    fn read_from(
        &mut self,
        fd: BorrowedFd<'_>,
        left: u64,
        ahead: &mut [u8],
    ) -> Result<(&[u8], usize), Errno>;
    /// Hands the payload bytes taken so far to `partial`, for a later
    /// receive to resume from.
    #[cfg(feature = "alloc")]
    fn keep(&mut self, partial: &mut alloc::vec::Vec<u8>);
}

/// A caller's buffer exactly as long as the payload.
struct SliceSink<'a> {
    out: &'a mut [u8],
    got: usize,
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.got..self.got + bytes.len()].copy_from_slice(bytes);
        self.got += bytes.len();
    }

    fn read_from(
        &mut self,
        fd: BorrowedFd<'_>,
        _left: u64,
        ahead: &mut [u8],
    ) -> Result<(&[u8], usize), Errno> {
        let start = self.got;
        let rest = &mut self.out[start..];
        let wanted = rest.len();
        let n = sys::readv(fd, &mut [IoSliceMut::new(rest), IoSliceMut::new(ahead)])?;
        self.got += n.min(wanted);
        Ok((&self.out[start..self.got], n.saturating_sub(wanted)))
    }

    #[cfg(feature = "alloc")]
    fn keep(&mut self, partial: &mut alloc::vec::Vec<u8>) {
        partial.extend_from_slice(&self.out[..self.got]);
    }
}

/// A `Vec` that grows by at most its own size (and at least 64 KiB) per
/// read, so memory follows the bytes received, not the length declared.
/// The kernel reads into its spare capacity: no byte is zeroed first.
#[cfg(feature = "alloc")]
struct VecSink {
    msg: alloc::vec::Vec<u8>,
}

#[cfg(feature = "alloc")]
impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.msg.extend_from_slice(bytes);
    }

    fn read_from(
        &mut self,
        fd: BorrowedFd<'_>,
        left: u64,
        ahead: &mut [u8],
    ) -> Result<(&[u8], usize), Errno> {
        let start = self.msg.len();
        let step = start.max(64 * 1024);
        // Never more than the payload has left into the message: the rest
        // of the stream belongs to the next one, and goes ahead only once
        // this read can finish the payload.
        let (want, ahead) = match usize::try_from(left) {
            Ok(left) if left <= step => (left, ahead),
            _ => (step, &mut [][..]),
        };
        self.msg.reserve(want);
        let n = sys::read_to_spare(fd, &mut self.msg, want, ahead)?;
        let got = self.msg.len() - start;
        Ok((&self.msg[start..], n - got))
    }

    fn keep(&mut self, partial: &mut alloc::vec::Vec<u8>) {
        *partial = core::mem::take(&mut self.msg);
    }
}

#[cfg(feature = "std")]
mod std_impls {
    use super::Connection;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    impl AsFd for Connection {
        fn as_fd(&self) -> BorrowedFd<'_> {
            AsFd::as_fd(&self.fd)
        }
    }

    impl AsRawFd for Connection {
        fn as_raw_fd(&self) -> RawFd {
            self.fd.as_raw_fd()
        }
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.fd.as_raw_fd())
            .field("access", &self.access)
            .field("max_len", &self.max_len())
            .finish()
    }
}
