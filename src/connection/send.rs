//! How a message is sent: its frame in as few writes as the kernel takes,
//! descriptors on its first byte, `SIGPIPE` held off on pipes, and a frame
//! cut short never followed by another.

use crate::frame::{Header, MAX_HEADER_LEN};
use crate::sys::{self, BorrowedFd, Errno, IoSlice, MAX_FDS};
use crate::Error;

use super::{Access, Connection, Kind};
use crate::sys::AsFd;

/// Messages up to this long leave with their header in one plain `write`.
const SMALL_MESSAGE: usize = 256;

/// The send side: ready, a frame paused part-way out, or a frame torn by
/// an error, after which no send may write (the next header would land in
/// the middle of the torn payload).
#[derive(Copy, Clone)]
pub(crate) enum SendState {
    Ready,
    Paused(PendingSend),
    Torn(Error),
}

/// How far a frame got before `EAGAIN`, and which message it carries.
#[derive(Copy, Clone)]
pub(crate) struct PendingSend {
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
    /// Sends `msg` as one message, with `fds` riding on its first byte.
    pub(crate) fn send_message(&mut self, msg: &[u8], fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        if self.access == Access::Read {
            return Err(Error::NotWritable);
        }
        let done = match self.sending {
            SendState::Torn(e) => return Err(e),
            SendState::Paused(pending) if !pending.is_for(msg) => {
                return Err(Error::SendIncomplete)
            }
            // The descriptors left with the first bytes.
            SendState::Paused(pending) => pending.sent,
            SendState::Ready if fds.is_empty() => 0,
            SendState::Ready => self.send_first_with_fds(msg, fds)?,
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

    /// The first `sendmsg` of a frame, carrying `fds`; returns how much of
    /// the frame it took. Nothing is sent on error.
    fn send_first_with_fds(&mut self, msg: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize, Error> {
        self.can_carry_fds()?;
        let header = Header::new(msg.len() as u64);
        let bufs = [IoSlice::new(header.as_bytes()), IoSlice::new(msg)];
        nonzero(sys::send_with_fds(self.fd.as_fd(), &bufs, fds)?)
    }

    /// Python's `reduction.sendfds`: one count byte with `fds` attached.
    pub(crate) fn send_count_with_fds(&mut self, fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        if self.access == Access::Read {
            return Err(Error::NotWritable);
        }
        if fds.is_empty() || fds.len() > MAX_FDS {
            return Err(Error::Io(Errno::INVAL));
        }
        match self.sending {
            SendState::Ready => {}
            SendState::Paused(_) => return Err(Error::SendIncomplete),
            SendState::Torn(e) => return Err(e),
        }
        self.can_carry_fds()?;
        let count = [fds.len() as u8];
        match sys::send_with_fds(self.fd.as_fd(), &[IoSlice::new(&count)], fds)? {
            1 => Ok(()),
            _ => Err(Error::Io(Errno::IO)),
        }
    }

    /// Only Unix sockets carry descriptors: a TCP `sendmsg` would drop
    /// them without a word.
    fn can_carry_fds(&self) -> Result<(), Error> {
        match self.kind {
            Kind::UnixSocket => Ok(()),
            Kind::Socket => Err(Error::Io(Errno::OPNOTSUPP)),
            Kind::Pipe => Err(Error::Io(Errno::NOTSOCK)),
        }
    }

    /// Writes the frame `head + msg` from byte `sent` on; on failure, says
    /// how many bytes of it are out.
    fn send_frame(
        &mut self,
        head: &[u8],
        msg: &[u8],
        mut sent: usize,
    ) -> Result<(), (usize, Error)> {
        if self.kind == Kind::Pipe {
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
        let fd = self.fd.as_fd();
        let both = [IoSlice::new(first), IoSlice::new(then)];
        let bufs = if then.is_empty() {
            &both[..1]
        } else {
            &both[..]
        };
        let n = match (self.kind, then.is_empty()) {
            (Kind::Pipe, _) if self.sigpipe_guard => sys::writev_nosigpipe(fd, bufs)?,
            (Kind::Pipe, true) => sys::write(fd, first)?,
            (Kind::Pipe, false) => sys::writev(fd, bufs)?,
            (_, true) => sys::send(fd, first)?,
            (_, false) => sys::send_vectored(fd, bufs)?,
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
}

/// A write that took nothing would repeat forever; report it instead.
fn nonzero(n: usize) -> Result<usize, Error> {
    if n == 0 {
        Err(Error::Io(Errno::IO))
    } else {
        Ok(n)
    }
}
