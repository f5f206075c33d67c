//! How messages are sent: their frames in as few writes as the kernel
//! takes, descriptors on a message's first byte, `SIGPIPE` held off on
//! pipes, and a frame cut short never followed by another.
//!
//! One send state serves `send_bytes` and `send_bytes_batch` alike: a
//! single message is a batch of one, byte for byte and state for state.

use core::mem::MaybeUninit;

use crate::frame::{Header, MAX_HEADER_LEN};
use crate::sys::{self, BorrowedFd, Errno, IoSlice, IoSlices, MAX_FDS, MAX_IOV};
use crate::Error;

use super::recv::sample;
use super::{Access, Connection, Kind};

/// Messages up to this long leave with their header in one plain `write`.
const SMALL_MESSAGE: usize = 256;

/// The most frames one vectored write carries: two buffers each (header
/// and payload), `IOV_MAX` in all. Their lists take about 24 KiB of stack.
const MAX_FRAMES: usize = MAX_IOV / 2;

/// Frames per write for short batches and single large messages, whose
/// lists then take a few hundred bytes of stack, not 24 KiB.
const FEW_FRAMES: usize = 8;

/// The send side: ready, frames paused part-way out, or a frame torn by
/// an error, after which no send may write (the next header would land in
/// the middle of the torn payload).
#[derive(Copy, Clone)]
pub(crate) enum SendState {
    Ready,
    Paused(PendingSend),
    Torn(Error),
}

/// How far a send got before `EAGAIN`, and which messages it carries.
#[derive(Copy, Clone)]
pub(crate) struct PendingSend {
    messages: usize,
    /// The [`fingerprint`] of the messages from `at` on, at most
    /// [`MAX_FRAMES`] of them.
    fingerprint: u64,
    /// Where the send stands: a frame and a byte in it (a byte count could
    /// pass `usize::MAX` on 32 bits, where messages may share memory).
    at: Cursor,
    /// Whether descriptors left with the first bytes.
    with_fds: bool,
}

impl PendingSend {
    fn new<M: AsRef<[u8]>>(msgs: &[M], at: Cursor, with_fds: bool) -> Self {
        PendingSend {
            messages: msgs.len(),
            fingerprint: fingerprint(at.window(msgs)),
            at,
            with_fds,
        }
    }

    /// Whether `msgs`, with descriptors or not, finish this send: the same
    /// count, and the same [`fingerprint`] of the messages where the send
    /// stands and the next (a bounded cost per resumption, however long the
    /// batch). Descriptors may be given again for a send that carried
    /// them, but never for one that left without: they would be reported
    /// sent.
    fn is_for<M: AsRef<[u8]>>(&self, msgs: &[M], fds: &[BorrowedFd<'_>]) -> bool {
        msgs.len() == self.messages
            && (self.with_fds || fds.is_empty())
            && fingerprint(self.at.window(msgs)) == self.fingerprint
    }
}

/// FNV-1a, 64 bits, over each message's length and [`sample`]: it tells
/// resumed messages from different ones at a cost that grows with their
/// number, not their length. Hashing every byte made a 64 MiB message
/// paused 1,024 times by a slow reader cost its sender 164 s of CPU,
/// rereading what had long left.
fn fingerprint<M: AsRef<[u8]>>(msgs: &[M]) -> u64 {
    let step = |hash: u64, byte: u8| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    msgs.iter().fold(0xcbf2_9ce4_8422_2325, |hash, msg| {
        let msg = msg.as_ref();
        let hash = (msg.len() as u64)
            .to_le_bytes()
            .into_iter()
            .fold(hash, step);
        sample(msg).into_iter().fold(hash, step)
    })
}

/// The size of the frame that carries `msg`.
fn frame_len(msg: &[u8]) -> usize {
    Header::new(msg.len() as u64).as_bytes().len() + msg.len()
}

impl Connection {
    /// Sends `msgs` as consecutive messages, with `fds` riding on the
    /// first byte of the first.
    pub(crate) fn send_messages<M: AsRef<[u8]>>(
        &mut self,
        msgs: &[M],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), Error> {
        if self.access == Access::Read {
            return Err(Error::NotWritable);
        }
        // Descriptors this connection cannot carry are refused before
        // anything else: a message paused part-way would otherwise be
        // finished without them, reported sent as if they had gone along.
        if !fds.is_empty() {
            self.can_carry_fds()?;
        }
        let with_fds = match self.sending {
            SendState::Paused(pending) => pending.with_fds,
            _ => !fds.is_empty(),
        };
        let mut at = match (self.sending, msgs) {
            (SendState::Torn(e), _) => return Err(e),
            (SendState::Paused(pending), _) if !pending.is_for(msgs, fds) => {
                return Err(Error::SendIncomplete)
            }
            // The descriptors left with the first bytes.
            (SendState::Paused(pending), _) => pending.at,
            (SendState::Ready, [first, ..]) if !fds.is_empty() => {
                let n = self.send_first_with_fds(first.as_ref(), fds)?;
                Cursor::default().advanced(msgs, n)
            }
            (SendState::Ready, _) => Cursor::default(),
        };
        self.sending = SendState::Ready;
        let Err(e) = self.send_frames(msgs, &mut at) else {
            return Ok(());
        };
        if at != Cursor::default() {
            self.sending = if e.is_resumable() {
                SendState::Paused(PendingSend::new(msgs, at, with_fds))
            } else {
                SendState::Torn(e)
            };
        }
        Err(e)
    }

    /// The first `sendmsg` of a frame, carrying `fds` (the caller checked
    /// that this connection can); returns how much of the frame it took.
    /// Nothing is sent on error.
    fn send_first_with_fds(&mut self, msg: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize, Error> {
        let header = Header::new(msg.len() as u64);
        let bufs = [IoSlice::new(header.as_bytes()), IoSlice::new(msg)];
        nonzero(sys::send_with_fds(self.as_write_fd(), &bufs, fds)?)
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
        match sys::send_with_fds(self.as_write_fd(), &[IoSlice::new(&count)], fds)? {
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

    /// Writes the frames of `msgs` from `at` on, moving `at` along; on
    /// failure it says how far they got.
    fn send_frames<M: AsRef<[u8]>>(&mut self, msgs: &[M], at: &mut Cursor) -> Result<(), Error> {
        // Nothing to send, or the `sendmsg` with descriptors took it all.
        if at.frame == msgs.len() {
            return Ok(());
        }
        if let [msg] = msgs {
            if msg.as_ref().len() <= SMALL_MESSAGE {
                return self.send_small(msg.as_ref(), at);
            }
        }
        while at.frame < msgs.len() {
            let rest = &msgs[at.frame..];
            let n = if rest.len() <= FEW_FRAMES {
                self.write_frames::<FEW_FRAMES, { 2 * FEW_FRAMES }, M>(rest, at.offset)?
            } else {
                self.write_frames::<MAX_FRAMES, MAX_IOV, M>(rest, at.offset)?
            };
            *at = at.advanced(msgs, n);
        }
        Ok(())
    }

    /// One small message, its frame copied together: copying a few bytes
    /// is cheaper than the kernel's walk of an iovec array (about 3% of a
    /// small message's send).
    fn send_small(&mut self, msg: &[u8], at: &mut Cursor) -> Result<(), Error> {
        let head = Header::new(msg.len() as u64);
        let head = head.as_bytes();
        let total = head.len() + msg.len();
        let mut frame = [0; MAX_HEADER_LEN + SMALL_MESSAGE];
        frame[..head.len()].copy_from_slice(head);
        frame[head.len()..total].copy_from_slice(msg);
        while at.offset < total {
            at.offset += self.write(&[IoSlice::new(&frame[at.offset..total])])?;
        }
        Ok(())
    }

    /// One vectored write of the frames of up to `FRAMES` of `msgs` (in
    /// `BUFS`, twice as many, buffers), the first from byte `skip` of its
    /// frame on; returns how many bytes left.
    ///
    /// Never inlined: inlined, both sizes' lists would be reserved in the
    /// caller's frame, 24 KiB of stack for every batch however short.
    #[inline(never)]
    fn write_frames<const FRAMES: usize, const BUFS: usize, M: AsRef<[u8]>>(
        &mut self,
        msgs: &[M],
        skip: usize,
    ) -> Result<usize, Error> {
        const { assert!(BUFS == 2 * FRAMES && BUFS <= MAX_IOV) };
        // Neither array is initialised ahead: a batch pays for what it uses.
        let mut heads = [const { MaybeUninit::<Header>::uninit() }; FRAMES];
        let mut gather = Gather::<BUFS> {
            bufs: IoSlices::new(),
            skip,
            room: isize::MAX as usize,
        };
        for (slot, msg) in heads.iter_mut().zip(msgs) {
            let msg = msg.as_ref();
            let head = slot.write(Header::new(msg.len() as u64));
            gather.push(head.as_bytes());
            gather.push(msg);
        }
        self.write(gather.bufs.as_slice())
    }

    /// One write of `bufs`, by the call this connection's kind takes:
    /// plain `send` for one buffer on a socket.
    fn write(&mut self, bufs: &[IoSlice<'_>]) -> Result<usize, Error> {
        let n = match (self.kind, bufs) {
            (Kind::Pipe, _) => self.write_pipe(bufs)?,
            (_, [one]) => sys::send(self.as_write_fd(), one.as_slice())?,
            (_, _) => sys::send_vectored(self.as_write_fd(), bufs)?,
        };
        nonzero(n)
    }

    /// One write to a pipe, which `SIGPIPE` must not turn into a death:
    /// with `RWF_NOSIGNAL` where the kernel has it, else as [`Sigpipe`]
    /// says, deciding again before each write (any thread may restore the
    /// default action at any time).
    fn write_pipe(&mut self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        #[cfg(target_os = "linux")]
        if self.sigpipe == Sigpipe::NoSignal {
            match sys::writev_nosignal(self.as_write_fd(), bufs) {
                // A kernel before 6.18, or a seccomp filter or emulator
                // refusing the call or the flag: nothing was written, and a
                // real error comes back from the plain write all the same.
                Err(
                    Errno::OPNOTSUPP | Errno::NOSYS | Errno::PERM | Errno::ACCES | Errno::INVAL,
                ) => {
                    self.sigpipe = Sigpipe::LookUp;
                }
                written => return written,
            }
        }
        if self.sigpipe == Sigpipe::LookUp && !sys::sigpipe_is_ignored()? {
            self.sigpipe = Sigpipe::Guard;
        }
        let fd = self.as_write_fd();
        match bufs {
            _ if self.sigpipe == Sigpipe::Guard => sys::writev_nosigpipe(fd, bufs),
            [one] => sys::write(fd, one.as_slice()),
            _ => sys::writev(fd, bufs),
        }
    }
}

/// How a connection's pipe writes keep `SIGPIPE` from killing the process.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Sigpipe {
    /// Each write carries `RWF_NOSIGNAL` (Linux 6.18 on): nothing else is
    /// needed. Until a write finds the kernel older.
    NoSignal,
    /// The action is looked up before each write: while it is ignored, a
    /// plain write is safe.
    LookUp,
    /// Seen not ignored once: every write blocks `SIGPIPE` around it. The
    /// guard is right whatever the action, so this is never undone.
    Guard,
}

impl Sigpipe {
    /// Where a new connection starts.
    pub(crate) const INITIAL: Sigpipe = if cfg!(target_os = "linux") {
        Sigpipe::NoSignal
    } else {
        Sigpipe::LookUp
    };
}

/// A write that took nothing would repeat forever; report it instead.
fn nonzero(n: usize) -> Result<usize, Error> {
    if n == 0 {
        Err(Error::Io(Errno::IO))
    } else {
        Ok(n)
    }
}

/// Where a send stands in its frames: `offset` bytes into frame `frame`.
#[derive(Copy, Clone, Default, PartialEq, Eq)]
struct Cursor {
    frame: usize,
    offset: usize,
}

impl Cursor {
    /// Where the send stands after `n` more bytes left.
    fn advanced<M: AsRef<[u8]>>(mut self, msgs: &[M], mut n: usize) -> Cursor {
        while let Some(msg) = msgs.get(self.frame) {
            let left = frame_len(msg.as_ref()) - self.offset;
            if n < left {
                self.offset += n;
                break;
            }
            n -= left;
            self.frame += 1;
            self.offset = 0;
        }
        self
    }

    /// The messages from this one on, at most [`MAX_FRAMES`] of them.
    fn window<M>(self, msgs: &[M]) -> &[M] {
        let rest = msgs.get(self.frame..).unwrap_or_default();
        &rest[..rest.len().min(MAX_FRAMES)]
    }
}

/// Buffers for one vectored write: the frames from byte `skip` on, at
/// most `room` bytes in all (a write of more than `isize::MAX` is refused,
/// not cut short).
struct Gather<'a, const BUFS: usize> {
    bufs: IoSlices<'a, BUFS>,
    skip: usize,
    room: usize,
}

impl<'a, const BUFS: usize> Gather<'a, BUFS> {
    /// Adds what is left of `part` after the bytes still to skip, as much
    /// of it as fits; empty parts take no buffer.
    fn push(&mut self, part: &'a [u8]) {
        let cut = self.skip.min(part.len());
        self.skip -= cut;
        let part = &part[cut..];
        let part = &part[..part.len().min(self.room)];
        if !part.is_empty() && self.bufs.push(part) {
            self.room -= part.len();
        }
    }
}
