//! Passing open descriptors between processes over a Unix socket
//! [`Connection`]: with a message, or as Python's
//! `multiprocessing.reduction.send_handle`/`recv_handle` do.
//!
//! Descriptors ride with the first byte of the message they belong to: the
//! frame's header leaves in the `sendmsg` that carries them, so the kernel
//! hands them over with the receive that reads that byte. A plain read
//! that meets them makes the kernel close them, and plain receives read
//! ahead; so the receives here read each message exactly, through
//! `recvmsg`, never a byte past it.

use core::time::Duration;

use crate::connection::{resume_into, wait_for_data};
use crate::frame::{Decoded, Header};
use crate::sys::{self, BorrowedFd, Errno, IoSlice, IoSliceMut, OwnedFd};
use crate::sys::{ReceivedFds, MAX_FDS};
use crate::{Access, Connection, Error};

/// How the reads of one exact receive are made.
struct Reads<'f> {
    /// Where descriptors go (`recvmsg`); `None` reads with plain `read`,
    /// and the kernel closes any descriptor that arrives.
    fds: Option<&'f mut ReceivedFds>,
    /// When to give up waiting, on the monotonic clock.
    deadline: Option<Duration>,
}

impl Reads<'_> {
    /// One read of at most `buf.len()` bytes. Descriptors may come only
    /// with the read of a message's `first` byte; they replace whatever the
    /// set still held.
    fn read(&mut self, fd: BorrowedFd<'_>, buf: &mut [u8], first: bool) -> Result<usize, Error> {
        wait_for_data(fd, self.deadline)?;
        let Some(fds) = self.fds.as_deref_mut() else {
            return Ok(sys::read(fd, buf)?);
        };
        if first {
            fds.clear();
        }
        let before = fds.len();
        let got = sys::recv_with_fds(fd, &mut [IoSliceMut::new(buf)], fds)?;
        if got.truncated {
            return Err(Error::ControlTruncated);
        }
        if got.fds > 0 && !first {
            fds.truncate(before);
            return Err(Error::UnexpectedFds);
        }
        Ok(got.len)
    }
}

/// Refuses to send descriptors where the kernel would drop them unsaid.
fn only_unix_sockets(fd: BorrowedFd<'_>) -> Result<(), Error> {
    if sys::is_unix_socket(fd)? {
        Ok(())
    } else {
        Err(Error::Io(Errno::OPNOTSUPP))
    }
}

/// Errors after which the stream and its descriptors no longer line up.
fn breaks_the_stream(e: Error) -> bool {
    matches!(e, Error::ControlTruncated | Error::UnexpectedFds)
}

impl Connection {
    /// `send_bytes(msg)` with copies of `fds` riding along: the receiver
    /// gets them with this message from
    /// [`recv_bytes_with_fds`](Self::recv_bytes_with_fds) or
    /// [`recv_bytes_into_with_fds`](Self::recv_bytes_into_with_fds).
    ///
    /// Header and payload leave in one `sendmsg` that carries the
    /// descriptors, so they are attached to the message's first byte. The
    /// bytes on the wire are those of [`send_bytes`](Self::send_bytes): a
    /// peer that receives with a plain read (a Python `recv_bytes`) gets
    /// the message, and the kernel closes the descriptors. Our copies stay
    /// open; close them when the peer no longer needs them sent.
    ///
    /// With no descriptors this is `send_bytes`. A message that paused
    /// part-way (`Io(AGAIN)`) has sent its descriptors with its first
    /// bytes: call this (or `send_bytes`) again with the same message to
    /// finish it; the descriptors are not sent twice.
    ///
    /// # Errors
    /// - [`Error::Io`] with `EINVAL` for more than [`MAX_FDS`] descriptors,
    ///   `EBADF` if one is not open, `ENOTSOCK` on a pipe, `EOPNOTSUPP` on
    ///   TCP (only Unix sockets carry descriptors; a TCP `sendmsg` would drop
    ///   them without a word); nothing was sent.
    /// - As for [`send_bytes`](Self::send_bytes): `Io(AGAIN)` (nothing lost;
    ///   repeat the call), [`Error::SendIncomplete`], `Io(EPIPE)`,
    ///   [`Error::NotWritable`].
    ///
    /// # System calls
    /// `getsockname` (is it a Unix socket?), `sendmsg`; then, for whatever it
    /// did not take, as `send_bytes`.
    pub fn send_bytes_with_fds(&mut self, msg: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        if self.access() == Access::Read {
            return Err(Error::NotWritable);
        }
        if fds.is_empty() || self.send_pending()? {
            return self.send_bytes(msg);
        }
        only_unix_sockets(self.as_fd())?;
        let header = Header::new(msg.len() as u64);
        let head = header.as_bytes();
        let bufs = [IoSlice::new(head), IoSlice::new(msg)];
        let sent = sys::send_with_fds(self.as_fd(), &bufs, fds)?;
        if sent == 0 {
            return Err(Error::Io(Errno::IO));
        }
        if sent < head.len() + msg.len() {
            // The descriptors went with the first bytes; the rest is plain.
            self.resume_send_at(msg, sent);
            return self.send_bytes(msg);
        }
        Ok(())
    }

    /// `recv_bytes_into(buf)` that also takes the descriptors sent with the
    /// message ([`send_bytes_with_fds`](Self::send_bytes_with_fds)) into
    /// `fds`, owned and close-on-exec. Returns the message's length.
    ///
    /// `fds` is emptied (what it still holds is closed) when the message's
    /// first byte is read; the descriptors arrive with that byte, at most
    /// [`MAX_FDS`] of them. A message sent without descriptors leaves `fds`
    /// empty. The message is read exactly, never a byte beyond it, so the
    /// next message's descriptors wait for the next receive.
    ///
    /// After `BufferTooSmall`, `TooLong` or a pause, the descriptors that
    /// came with the message's first byte are in `fds`: receive again with
    /// the same `fds` to finish the message (and, without the `alloc`
    /// feature, after a pause, with the same `buf`).
    ///
    /// # Errors
    /// - [`Error::ControlTruncated`]: more than `MAX_FDS` came, or the
    ///   kernel cut them short; every one was closed, the message is lost and
    ///   receiving stays failed.
    /// - [`Error::UnexpectedFds`]: descriptors arrived in the middle of the
    ///   message; they were closed and receiving stays failed.
    /// - As for [`recv_bytes_into`](Self::recv_bytes_into), and
    ///   [`Error::Io`] with `ENOTSOCK` on a pipe.
    ///
    /// # System calls
    /// `recvmsg`: one for the header (two for a 12-byte one), one for the
    /// payload when the socket already holds it, more only while it is still
    /// arriving; `close` for descriptors closed; with a receive timeout,
    /// `poll` and `clock_gettime` before each.
    pub fn recv_bytes_into_with_fds(
        &mut self,
        buf: &mut [u8],
        fds: &mut ReceivedFds,
    ) -> Result<usize, Error> {
        let deadline = self.recv_deadline()?;
        self.recv_into_exact(
            buf,
            &mut Reads {
                fds: Some(fds),
                deadline,
            },
        )
    }

    /// `recv_bytes()` that also takes the descriptors sent with the message
    /// into `fds`, as [`recv_bytes_into_with_fds`](Self::recv_bytes_into_with_fds)
    /// does. Memory grows with the bytes that arrive, never with the length
    /// a header declares.
    ///
    /// ```
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
        let deadline = self.recv_deadline()?;
        let mut reads = Reads {
            fds: Some(fds),
            deadline,
        };
        self.exact_header(&mut reads)?;
        let msg = core::mem::take(self.recv_parts().partial);
        let mut out = VecOut {
            filled: msg.len(),
            msg,
        };
        self.exact_payload(&mut out, &mut reads)?;
        Ok(out.msg)
    }

    /// The end of this receive's wait under the receive timeout.
    fn recv_deadline(&mut self) -> Result<Option<Duration>, Error> {
        match self.recv_parts().timeout {
            Some(timeout) => Ok(Some(sys::monotonic_now()?.saturating_add(timeout))),
            None => Ok(None),
        }
    }

    fn recv_into_exact(&mut self, buf: &mut [u8], reads: &mut Reads<'_>) -> Result<usize, Error> {
        let len = self.exact_header(reads)?;
        let out = usize::try_from(len)
            .ok()
            .and_then(|n| buf.get_mut(..n))
            .ok_or(Error::BufferTooSmall { needed: len })?;
        let n = out.len();
        let got = resume_into(self.recv_parts(), out);
        self.exact_payload(&mut SliceOut { out, got }, reads)?;
        Ok(n)
    }

    /// Reads up to the next header, exactly, and returns its payload length.
    fn exact_header(&mut self, reads: &mut Reads<'_>) -> Result<u64, Error> {
        if self.access() == Access::Write {
            return Err(Error::NotReadable);
        }
        let p = self.recv_parts();
        if let Some(e) = *p.failed {
            return Err(e);
        }
        loop {
            if let Some((len, _)) = p.decoder.payload() {
                return Ok(len);
            }
            let (used, found) = p.decoder.decode(p.ahead.filled())?;
            let need_more = found == Decoded::NeedMore;
            p.ahead.consume(used);
            if !need_more {
                continue;
            }
            // Everything read is decoded: read what the header lacks.
            let first = p.decoder.is_between_frames();
            let want = usize::try_from(p.decoder.wanted()).unwrap_or(0);
            let room = &mut p.ahead.room()[..want];
            let n = match reads.read(p.fd, room, first) {
                Err(e) if breaks_the_stream(e) => return Err(*p.failed.insert(e)),
                other => other?,
            };
            if n == 0 {
                return Err(match p.decoder.finish() {
                    Ok(()) => Error::Eof,
                    Err(e) => e.into(),
                });
            }
            p.ahead.commit(n);
        }
    }

    /// Moves the current payload into `out`, reading exactly what is left
    /// of it. A pause keeps what was taken for the next receive; any other
    /// error after part of it was taken fails receiving for good.
    fn exact_payload(
        &mut self,
        out: &mut impl Payload,
        reads: &mut Reads<'_>,
    ) -> Result<(), Error> {
        let result = self.move_exact(out, reads);
        let p = self.recv_parts();
        if let (Err(e), Some((len, left))) = (result, p.decoder.payload()) {
            if e.is_resumable() {
                #[cfg(feature = "alloc")]
                out.keep(p.partial);
            } else if left < len || breaks_the_stream(e) {
                *p.failed = Some(e);
            }
        }
        result
    }

    fn move_exact(&mut self, out: &mut impl Payload, reads: &mut Reads<'_>) -> Result<(), Error> {
        loop {
            let p = self.recv_parts();
            let (used, found) = p.decoder.decode(p.ahead.filled())?;
            match found {
                Decoded::Payload(piece) => out.put(piece),
                Decoded::FrameEnd => return Ok(()),
                _ => {
                    let left = p.decoder.payload().map_or(0, |(_, left)| left);
                    let room = out.room(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = reads.read(p.fd, room, false)?;
                    if n == 0 {
                        return Err(Error::Truncated);
                    }
                    p.decoder.decode(out.commit(n))?;
                }
            }
            p.ahead.consume(used);
        }
    }

    /// `reduction.sendfds(sock, fds)`: Python's exchange, on the raw
    /// socket, not framed: one byte, `len(fds) % 256`, with copies of `fds`
    /// attached. A Python peer takes them with `recvfds(sock, n)` (or
    /// `recv_handle(conn)` for one); here, with [`recv_fds`](Self::recv_fds).
    ///
    /// On macOS it then waits for the receiver's `A` acknowledgement, as
    /// Python does there.
    ///
    /// # Errors
    /// - [`Error::Io`] with `EINVAL` for no descriptors or more than
    ///   [`MAX_FDS`], `EBADF`, `ENOTSOCK`, `EOPNOTSUPP` on TCP; nothing was
    ///   sent. `Io(AGAIN)`: nothing was sent; repeat the call.
    /// - [`Error::SendIncomplete`] while a message is part-way out.
    /// - [`Error::NotWritable`]; `Io(EPIPE)`.
    ///
    /// # System calls
    /// `getsockname`, `sendmsg` (on macOS also `read` for the acknowledgement).
    pub fn send_fds(&mut self, fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        if self.access() == Access::Read {
            return Err(Error::NotWritable);
        }
        if fds.is_empty() || fds.len() > MAX_FDS {
            return Err(Error::Io(Errno::INVAL));
        }
        if self.send_pending()? {
            return Err(Error::SendIncomplete);
        }
        only_unix_sockets(self.as_fd())?;
        let count = [fds.len() as u8];
        if sys::send_with_fds(self.as_fd(), &[IoSlice::new(&count)], fds)? != 1 {
            return Err(Error::Io(Errno::IO));
        }
        #[cfg(target_vendor = "apple")]
        self.await_ack()?;
        Ok(())
    }

    /// `reduction.send_handle(conn, fd, pid)`: sends one descriptor the way
    /// Python's `recv_handle(conn)` receives it ([`send_fds`](Self::send_fds)
    /// with one). Python's `destination_pid` is unused on Unix.
    ///
    /// ```
    /// use ipcwire::sys;
    /// let (mut a, mut b) = ipcwire::pipe(true)?;
    /// let (r, w) = sys::pipe()?;
    /// a.send_handle(w.as_fd())?;
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
    pub fn send_handle(&mut self, fd: BorrowedFd<'_>) -> Result<(), Error> {
        self.send_fds(&[fd])
    }

    /// `reduction.recvfds(sock, n)`: receives what [`send_fds`](Self::send_fds)
    /// or Python's `sendfds`/`send_handle` sent: one count byte and the
    /// descriptors with it, into `fds` (emptied first), owned and
    /// close-on-exec. Returns how many arrived; they must match the count
    /// byte (modulo 256, as Python counts).
    ///
    /// It must come where the peer sent the descriptors: between messages.
    /// A plain receive before it may have read the count byte ahead, and the
    /// kernel then closed what came with it: see [`Error::FdCount`]. On
    /// macOS it sends the `A` acknowledgement Python's sender waits for.
    ///
    /// # Errors
    /// - [`Error::Eof`] when the peer closed instead.
    /// - [`Error::FdCount`] when the count differs; [`Error::ControlTruncated`]
    ///   for more than [`MAX_FDS`]. All that arrived were closed; the count
    ///   byte was taken, so the connection stays usable.
    /// - [`Error::Io`] with `EINVAL` inside a message that is part-way
    ///   received (finish it first), `ENOTSOCK` on a pipe, `ETIMEDOUT` after
    ///   the receive timeout, `EAGAIN` (non-blocking; nothing taken).
    /// - [`Error::NotReadable`]; a receive that already failed repeats its error.
    ///
    /// # System calls
    /// `recvmsg` (with a receive timeout, after `poll` and `clock_gettime`);
    /// `close` for descriptors closed; on macOS `sendto` for the acknowledgement.
    pub fn recv_fds(&mut self, fds: &mut ReceivedFds) -> Result<usize, Error> {
        if self.access() == Access::Write {
            return Err(Error::NotReadable);
        }
        let deadline = self.recv_deadline()?;
        fds.clear();
        let p = self.recv_parts();
        if let Some(e) = *p.failed {
            return Err(e);
        }
        if !p.decoder.is_between_frames() {
            return Err(Error::Io(Errno::INVAL));
        }
        if let Some(&announced) = p.ahead.filled().first() {
            p.ahead.consume(1);
            return Err(Error::FdCount {
                announced,
                arrived: 0,
            });
        }
        wait_for_data(p.fd, deadline)?;
        let mut count = [0];
        let got = sys::recv_with_fds(p.fd, &mut [IoSliceMut::new(&mut count)], fds)?;
        if got.len == 0 {
            return Err(Error::Eof);
        }
        #[cfg(target_vendor = "apple")]
        sys::send(p.fd, b"A")?;
        if got.truncated {
            return Err(Error::ControlTruncated);
        }
        if fds.len() % 256 != usize::from(count[0]) {
            let arrived = fds.len();
            fds.clear();
            return Err(Error::FdCount {
                announced: count[0],
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

    /// Waits for the `A` a macOS receiver sends back (Python's `ACKNOWLEDGE`).
    #[cfg(target_vendor = "apple")]
    fn await_ack(&mut self) -> Result<(), Error> {
        let mut ack = [0];
        let deadline = self.recv_deadline()?;
        let n = self.recv_into_raw(&mut ack, deadline)?;
        match (n, ack) {
            (0, _) => Err(Error::Eof),
            (_, [b'A']) => Ok(()),
            _ => Err(Error::Io(Errno::IO)),
        }
    }

    /// One byte from the stream: read ahead already, or read now.
    #[cfg(target_vendor = "apple")]
    fn recv_into_raw(
        &mut self,
        byte: &mut [u8; 1],
        deadline: Option<Duration>,
    ) -> Result<usize, Error> {
        let p = self.recv_parts();
        if let Some(&b) = p.ahead.filled().first() {
            p.ahead.consume(1);
            byte[0] = b;
            return Ok(1);
        }
        wait_for_data(p.fd, deadline)?;
        Ok(sys::read(p.fd, byte)?)
    }
}

/// Where an exact receive puts the payload.
trait Payload {
    /// Appends bytes that were read ahead.
    fn put(&mut self, bytes: &[u8]);
    /// Room for at most `left` more payload bytes (not empty while `left > 0`).
    fn room(&mut self, left: usize) -> &mut [u8];
    /// Counts the first `n` bytes of the last room as taken; returns them.
    fn commit(&mut self, n: usize) -> &[u8];
    /// Hands the bytes taken so far to `partial`, for a later receive.
    #[cfg(feature = "alloc")]
    fn keep(&mut self, partial: &mut alloc::vec::Vec<u8>);
}

/// A caller's buffer exactly as long as the payload.
struct SliceOut<'a> {
    out: &'a mut [u8],
    got: usize,
}

impl Payload for SliceOut<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.got..self.got + bytes.len()].copy_from_slice(bytes);
        self.got += bytes.len();
    }

    fn room(&mut self, left: usize) -> &mut [u8] {
        let end = self.got.saturating_add(left).min(self.out.len());
        &mut self.out[self.got..end]
    }

    fn commit(&mut self, n: usize) -> &[u8] {
        let start = self.got;
        self.got += n;
        &self.out[start..self.got]
    }

    #[cfg(feature = "alloc")]
    fn keep(&mut self, partial: &mut alloc::vec::Vec<u8>) {
        partial.extend_from_slice(&self.out[..self.got]);
    }
}

/// A `Vec` grown by at most its own size (and at least 64 KiB) per read,
/// so memory follows the bytes received, not the length declared.
#[cfg(feature = "alloc")]
struct VecOut {
    msg: alloc::vec::Vec<u8>,
    /// Bytes of `msg` that are payload; the rest is the last room.
    filled: usize,
}

#[cfg(feature = "alloc")]
impl Payload for VecOut {
    fn put(&mut self, bytes: &[u8]) {
        self.msg.truncate(self.filled);
        self.msg.extend_from_slice(bytes);
        self.filled = self.msg.len();
    }

    fn room(&mut self, left: usize) -> &mut [u8] {
        let step = left.min(self.filled.max(64 * 1024));
        self.msg.resize(self.filled + step, 0);
        &mut self.msg[self.filled..]
    }

    fn commit(&mut self, n: usize) -> &[u8] {
        let start = self.filled;
        self.filled += n;
        self.msg.truncate(self.filled);
        &self.msg[start..]
    }

    fn keep(&mut self, partial: &mut alloc::vec::Vec<u8>) {
        self.msg.truncate(self.filled);
        *partial = core::mem::take(&mut self.msg);
    }
}
