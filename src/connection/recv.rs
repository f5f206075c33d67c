//! How a message is read: one driver for every receive.
//!
//! [`Receiver`] holds the receive state of a connection (or of a
//! handshake) and moves one message from a [`Source`] into a [`Sink`] in
//! two steps: the header, decoded from read-ahead bytes and reads into the
//! read-ahead buffer; then the payload, first from what was read ahead, then
//! read straight into the sink's memory together with whatever follows it.
//! Every read on a Unix socket takes control data: descriptors go to
//! [`Pending`] until the receive of their message claims them.
//!
//! A receive may stop part-way and be repeated. What each stop keeps:
//!
//! | stop | kept | descriptors of the message | the next receive |
//! |---|---|---|---|
//! | pause (`Io(AGAIN)`, `Io(TIMEDOUT)`) in a header | the header bytes, in the decoder | in the caller's set from its first byte on | goes on with the header |
//! | pause in a payload, into a `Vec` | the `Vec` and its zeroed room, here | as above | fills the same `Vec`, or copies it once into a caller's buffer |
//! | pause in a payload, into a caller's buffer | the count taken, and a [`Sample`] of those bytes | as above | only a buffer holding them goes on (`Io(EINVAL)` for another, or for a `Vec`) |
//! | pause in a payload that fits the read-ahead buffer, borrowed | its bytes, undecoded, in the read-ahead buffer | closed (a plain receive) | any receive goes on with them |
//! | `BufferTooSmall`, `TooLong` | the message, whole | as above, and not released again | a larger buffer or limit |
//! | `Eof` | nothing | none | `Eof` again |
//! | another error inside a payload; for a receive that wants descriptors, `UnexpectedFds` or `ControlTruncated` | the error, in `failed` | closed, the caller's set emptied | the same error, for good |
//!
//! Either way a resumed receive reads only new bytes: a message's cost is
//! linear in its length however often it pauses.

use core::ops::Range;
use core::time::Duration;

use crate::frame::{Decoded, Decoder};
use crate::sys::{self, BorrowedFd, Errno, IoSliceMut, PollFd, PollFlags, Received, ReceivedFds};
use crate::Error;

use super::fds::Pending;
use super::read_ahead::{ReadAhead, Storage};
use super::Kind;

/// Where a receive's bytes come from.
pub(crate) trait Source {
    /// One read: into `first`, then on into `then`. Descriptors that came
    /// with the bytes are added to `fds`. Waits for data at most until this
    /// receive's deadline (`Io(TIMEDOUT)`).
    fn read(
        &mut self,
        first: &mut [u8],
        then: &mut [u8],
        fds: &mut ReceivedFds,
    ) -> Result<Received, Error>;
}

/// Where a payload goes.
pub(crate) trait Sink {
    /// Gets ready for a payload of `len` bytes of which `got` were taken
    /// before a pause, by this sink's kind ([`Kept`] says where they are).
    fn start(&mut self, len: u64, got: u64, kept: &mut Kept) -> Result<(), Error>;
    /// Room for at most `left` more payload bytes; never empty while
    /// `left > 0`.
    ///
    /// # Errors
    /// `Io(ENOMEM)` when memory for it cannot be had.
    fn room(&mut self, left: u64) -> Result<&mut [u8], Error>;
    /// Counts the first `n` bytes of the last room as taken.
    fn commit(&mut self, n: usize);
    /// Stops at a pause: notes in `kept` where the payload taken so far is.
    fn pause(&mut self, kept: &mut Kept);

    /// Appends payload bytes that were read ahead.
    fn put(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        while !bytes.is_empty() {
            let room = self.room(bytes.len() as u64)?;
            let n = room.len().min(bytes.len());
            room[..n].copy_from_slice(&bytes[..n]);
            self.commit(n);
            bytes = &bytes[n..];
        }
        Ok(())
    }
}

/// Where the payload of a message paused part-way is.
#[derive(Default)]
pub(crate) enum Kept {
    /// Nowhere: none of it was taken.
    #[default]
    Nothing,
    /// In the caller's buffer (the decoder counts the bytes), which must
    /// come again: these of its bytes tell it from another.
    InCaller(Sample),
    /// Held here, in the `Vec` a `recv_bytes` was filling.
    #[cfg(feature = "alloc")]
    Here(VecSink),
}

/// Where a borrowed receive found its message.
pub(crate) enum Borrowed {
    /// In the read-ahead buffer, at these bytes.
    Ahead(Range<usize>),
    /// In the sink: too large for the buffer, or begun elsewhere by a
    /// paused receive.
    InSink,
}

/// The receive state of one stream.
pub(crate) struct Receiver<S> {
    decoder: Decoder,
    ahead: ReadAhead<S>,
    /// The stream position of the first byte of `ahead`: every byte before
    /// it is decoded.
    pos: u64,
    fds: Pending,
    kept: Kept,
    /// An error that struck inside a message after part of it was taken, or
    /// that broke the line between bytes and descriptors: no later message
    /// can be trusted, so receiving stays failed.
    failed: Option<Error>,
    /// Never read a byte past the message being received (the handshake,
    /// which must leave what follows it to the connection).
    exact: bool,
}

impl<S: Storage> Receiver<S> {
    /// A receiver that reads ahead into `buf`.
    pub(crate) const fn new(max_len: u64, buf: S) -> Self {
        Receiver {
            decoder: Decoder::new(max_len),
            ahead: ReadAhead::new(buf),
            pos: 0,
            fds: Pending::new(),
            kept: Kept::Nothing,
            failed: None,
            exact: false,
        }
    }

    /// A receiver that reads exactly, never past a message's end (`buf`
    /// need hold only a header).
    pub(crate) const fn exact(max_len: u64, buf: S) -> Self {
        let mut receiver = Receiver::new(max_len, buf);
        receiver.exact = true;
        receiver
    }

    pub(crate) fn max_len(&self) -> u64 {
        self.decoder.max_len()
    }

    pub(crate) fn set_max_len(&mut self, max_len: u64) {
        self.decoder.set_max_len(max_len);
    }

    /// Descriptors closed because a plain receive took their message.
    pub(crate) fn discarded_fds(&self) -> u64 {
        self.fds.discarded()
    }

    /// Whether a receive has something to work on without reading: bytes
    /// read ahead, or a failure. A message paused part-way does not count:
    /// reporting it would wake an event loop again and again for nothing.
    /// Nor does the start of a payload that is all the buffer holds (where
    /// a borrowed receive pauses): only more bytes can finish it.
    pub(crate) fn has_buffered(&self) -> bool {
        let waiting = self.ahead.filled().len() as u64;
        let part_of_payload = matches!(self.decoder.payload(), Some((_, left)) if waiting < left);
        (waiting > 0 && !part_of_payload) || self.failed.is_some()
    }

    /// Receives the next message into `sink` and returns its length; its
    /// descriptors go to `fds`, or are closed when it is `None`.
    pub(crate) fn recv(
        &mut self,
        src: &mut impl Source,
        sink: &mut impl Sink,
        mut fds: Option<&mut ReceivedFds>,
    ) -> Result<u64, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.take(src, sink, fds.as_deref_mut());
        let result = self.settle(result);
        if let (Err(_), Some(_), Some(fds)) = (result, self.failed, fds) {
            // The message is lost: so are its descriptors.
            fds.clear();
        }
        result
    }

    /// Receives the next message where it can be borrowed: in the
    /// read-ahead buffer when it fits there whole, reading as it must. A
    /// message that does not fit, or whose payload a paused receive began
    /// taking elsewhere, goes into `sink` instead: [`Borrowed::InSink`].
    pub(crate) fn recv_borrowed(
        &mut self,
        src: &mut impl Source,
        sink: &mut impl Sink,
    ) -> Result<Borrowed, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let found = self.take_borrowed(src);
        let found = self.settle(found)?;
        if let Borrowed::InSink = found {
            self.recv(src, sink, None)?;
        }
        Ok(found)
    }

    /// Passes `result` on, keeping for good an error no later receive can
    /// get past: the stream ended inside a message, or a header is not one.
    fn settle<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(e @ (Error::Truncated | Error::NegativeLength(_))) = result {
            self.failed = Some(e);
        }
        result
    }

    fn take_borrowed(&mut self, src: &mut impl Source) -> Result<Borrowed, Error> {
        loop {
            if let Some(at) = self.take_buffered() {
                return Ok(Borrowed::Ahead(at));
            }
            let Some((len, left)) = self.decoder.payload() else {
                self.header(src, None)?;
                continue;
            };
            // A payload begun in a caller's buffer is finished there.
            if left < len && matches!(self.kept, Kept::InCaller(_)) {
                return Err(Error::Io(Errno::INVAL));
            }
            if left < len || len > self.ahead.capacity() as u64 {
                return Ok(Borrowed::InSink);
            }
            // The payload fits the buffer but is not all in it yet.
            if self.fill(src, usize::MAX, false)? == 0 {
                return Err(Error::Truncated);
            }
        }
    }

    /// Takes the next message if it is wholly read ahead, with no system
    /// call but the `close` of descriptors that came with it; returns where
    /// it is in the buffer ([`stored`](Self::stored)). `None` changes nothing.
    pub(crate) fn take_buffered(&mut self) -> Option<Range<usize>> {
        if self.failed.is_some() {
            return None;
        }
        let filled = self.ahead.filled();
        let mut decoder = self.decoder.clone();
        // The first byte of a message is here: its descriptors are claimed.
        let starts = decoder.payload().is_none() && decoder.is_between_frames();
        // The header (or its rest) must be here, unless a receive that
        // paused took it already.
        let head = match decoder.payload() {
            None => match decoder.decode(filled) {
                Ok((head, Decoded::Header(_))) => head,
                _ => return None,
            },
            Some(_) => 0,
        };
        let (len, left) = decoder.payload()?;
        let len = usize::try_from(len).ok()?;
        let payload = filled.get(head..head.checked_add(len)?)?;
        if left != len as u64 {
            return None;
        }
        // Through the payload to the frame's end: the decoder is between
        // frames again.
        if len > 0 {
            decoder.decode(payload).ok()?;
        }
        decoder.decode(&[]).ok()?;
        if starts {
            // A plain receive: descriptors that came with it are closed.
            self.fds.claim(self.pos, None).ok()?;
        }
        self.decoder = decoder;
        // No payload byte was taken elsewhere (left == len): whatever a
        // paused receive kept of this message is void.
        self.kept = Kept::Nothing;
        let at = self.ahead.offset() + head;
        self.consume(head + len);
        Some(at..at + len)
    }

    /// Bytes of the read-ahead buffer that [`take_buffered`](Self::take_buffered)
    /// took: they stay put until the next read.
    pub(crate) fn stored(&self, at: Range<usize>) -> &[u8] {
        self.ahead.stored(at)
    }

    fn take(
        &mut self,
        src: &mut impl Source,
        sink: &mut impl Sink,
        fds: Option<&mut ReceivedFds>,
    ) -> Result<u64, Error> {
        let wants_fds = fds.is_some();
        let mut fds = fds;
        let len = self.header(src, fds.as_deref_mut())?;
        // A plain receive claimed this message's descriptors (and
        // closed them): what the caller's set holds is another message's.
        if let (Some(fds), true) = (fds, self.fds.claimed_plainly()) {
            fds.clear();
        }
        let left = self.decoder.wanted();
        sink.start(len, len - left, &mut self.kept)?;
        match self.payload(src, sink, wants_fds) {
            Ok(()) => Ok(len),
            Err(e) if e.is_resumable() => {
                sink.pause(&mut self.kept);
                Err(e)
            }
            Err(e) => {
                if self.decoder.wanted() < len {
                    self.failed = Some(e);
                }
                Err(e)
            }
        }
    }

    /// Decodes up to the next header and returns its payload length.
    fn header(
        &mut self,
        src: &mut impl Source,
        mut fds: Option<&mut ReceivedFds>,
    ) -> Result<u64, Error> {
        let wants_fds = fds.is_some();
        loop {
            if let Some((len, _)) = self.decoder.payload() {
                return Ok(len);
            }
            if self.decoder.is_between_frames() && !self.ahead.filled().is_empty() {
                if let Err(e) = self.fds.claim(self.pos, fds.as_deref_mut()) {
                    return Err(*self.failed.insert(e));
                }
            }
            let (used, found) = self.decoder.decode(self.ahead.filled())?;
            let need_more = found == Decoded::NeedMore;
            self.consume(used);
            if need_more && self.fill(src, self.header_limit(), wants_fds)? == 0 {
                return Err(match self.decoder.finish() {
                    Ok(()) => Error::Eof,
                    Err(e) => e.into(),
                });
            }
        }
    }

    /// How much a header read may take: all the room, or exactly what the
    /// header lacks.
    fn header_limit(&self) -> usize {
        if self.exact {
            clamp(self.decoder.wanted())
        } else {
            usize::MAX
        }
    }

    /// Moves the current payload into `sink`: first what was read ahead,
    /// then straight from the source into the sink's memory.
    fn payload(
        &mut self,
        src: &mut impl Source,
        sink: &mut impl Sink,
        wants_fds: bool,
    ) -> Result<(), Error> {
        loop {
            let (used, found) = self.decoder.decode(self.ahead.filled())?;
            match found {
                Decoded::Payload(piece) => sink.put(piece)?,
                Decoded::FrameEnd => return Ok(()),
                _ => {
                    // Nothing is read ahead: one read fills the payload in
                    // place and, if it can finish it, brings what follows
                    // (the rest of the stream belongs to the next message).
                    let left = self.decoder.wanted();
                    let room = sink.room(left)?;
                    let whole = room.len() as u64 >= left && !self.exact;
                    let limit = if whole { usize::MAX } else { 0 };
                    let (taken, _) = self.read(src, room, limit, wants_fds)?;
                    if taken == 0 {
                        return Err(Error::Truncated);
                    }
                    self.decoder.decode(&room[..taken])?;
                    self.pos += taken as u64;
                    sink.commit(taken);
                }
            }
            self.consume(used);
        }
    }

    /// Reads once into the read-ahead buffer, at most `limit` bytes;
    /// returns how many (`0` at end of stream).
    fn fill(
        &mut self,
        src: &mut impl Source,
        limit: usize,
        wants_fds: bool,
    ) -> Result<usize, Error> {
        let (_, ahead) = self.read(src, &mut [], limit, wants_fds)?;
        Ok(ahead)
    }

    /// One read into `payload` (the current payload's room) and on into
    /// the read-ahead buffer (at most `limit` bytes of it); files any
    /// descriptors that came. Returns the bytes in each; those read ahead
    /// are committed, the payload's are the caller's to decode.
    ///
    /// Descriptors in the middle of a message fail receiving for good when
    /// this receive wants descriptors (the line between bytes and
    /// descriptors is broken); a plain receive closes them and goes on.
    ///
    /// A borrowed receive reads while the start of its payload still waits
    /// in the buffer, undecoded: the decoder and `pos` stand before those
    /// bytes, so where the descriptors rode is found by walking from there,
    /// through them, over what this read brought. (Bytes wait only when no
    /// payload room is given, so the two never both come before the read.)
    fn read(
        &mut self,
        src: &mut impl Source,
        payload: &mut [u8],
        limit: usize,
        wants_fds: bool,
    ) -> Result<(usize, usize), Error> {
        let room = self.ahead.room();
        let end = room.len().min(limit);
        let room = &mut room[..end];
        let got = src.read(payload, room, self.fds.for_read())?;
        let taken = got.len.min(payload.len());
        let ahead = got.len - taken;
        self.ahead.commit(ahead);
        if got.fds > 0 || got.truncated {
            let read = [&payload[..taken], self.ahead.filled()];
            let filed = self
                .fds
                .arrived(&self.decoder, self.pos, read, got.truncated, wants_fds);
            if let (Err(e), true) = (filed, wants_fds) {
                return Err(*self.failed.insert(e));
            }
        }
        Ok((taken, ahead))
    }

    fn consume(&mut self, n: usize) {
        self.ahead.consume(n);
        self.pos += n as u64;
    }

    /// Takes the next byte of the stream, outside any message (Python's
    /// count byte before descriptors, macOS's acknowledgement); the
    /// descriptors that came with it go to `fds`, or are closed.
    ///
    /// # Errors
    /// `Io(EINVAL)` inside a message; [`Error::Eof`]; [`Error::ControlTruncated`]
    /// after the byte was taken, when its descriptors were cut short.
    pub(crate) fn next_byte(
        &mut self,
        src: &mut impl Source,
        fds: Option<&mut ReceivedFds>,
    ) -> Result<u8, Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if !self.decoder.is_between_frames() {
            return Err(Error::Io(Errno::INVAL));
        }
        if self.ahead.filled().is_empty() && self.fill(src, 1, fds.is_some())? == 0 {
            return Err(Error::Eof);
        }
        let claimed = self.fds.claim(self.pos, fds);
        let byte = self.ahead.filled()[0];
        self.consume(1);
        claimed.map(|()| byte)
    }
}

/// A count of bytes as a `usize`, at most `usize::MAX`.
fn clamp(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A caller's buffer, at least as long as the payload.
pub(crate) struct SliceSink<'a> {
    out: &'a mut [u8],
    got: usize,
}

impl<'a> SliceSink<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        SliceSink { out, got: 0 }
    }
}

impl Sink for SliceSink<'_> {
    fn start(&mut self, len: u64, got: u64, kept: &mut Kept) -> Result<(), Error> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= self.out.len())
            .ok_or(Error::BufferTooSmall { needed: len })?;
        let got = got as usize;
        if let Kept::InCaller(sample) = kept {
            // What came before the pause is in that buffer, not this one.
            if !sample.matches(&self.out[..len], got) {
                return Err(Error::Io(Errno::INVAL));
            }
        }
        let out = core::mem::take(&mut self.out);
        self.out = &mut out[..len];
        self.got = got;
        // A `recv_bytes` held what came so far: one copy, then on from here.
        #[cfg(feature = "alloc")]
        if let Kept::Here(held) = core::mem::take(kept) {
            self.out[..got].copy_from_slice(held.filled());
        }
        *kept = Kept::Nothing;
        Ok(())
    }

    fn room(&mut self, left: u64) -> Result<&mut [u8], Error> {
        let end = self.out.len().min(self.got.saturating_add(clamp(left)));
        Ok(&mut self.out[self.got..end])
    }

    fn commit(&mut self, n: usize) {
        self.got += n;
    }

    fn pause(&mut self, kept: &mut Kept) {
        *kept = Kept::InCaller(Sample::stamp(self.out, self.got));
    }
}

/// What tells the caller's buffer of a paused payload from another: 128 of
/// the bytes taken (the first 32, the last 32 and 64 spread between), and a
/// tag written just past them, into room the payload fills later. A buffer
/// declared afresh lacks the tag, and one that served another receive
/// meanwhile rarely keeps both. (Checking every byte would make each
/// resumption cost what all before it took.)
pub(crate) struct Sample {
    taken: [u8; 128],
    tag: [u8; TAG_LEN],
}

/// Bytes of the tag: odd, so a zeroed buffer never holds it.
const TAG_LEN: usize = 16;

/// 128 of `bytes`: the first 32, the last 32 and 64 spread between (all
/// zero for none). It tells a paused payload's buffer from another here,
/// and a paused send's messages from others in `send.rs`, at a cost that
/// does not grow with their length.
pub(super) fn sample(bytes: &[u8]) -> [u8; 128] {
    let mut picked = [0; 128];
    let n = bytes.len();
    if n > 0 {
        for (i, b) in picked.iter_mut().enumerate() {
            let last = n - 1;
            let at = match i {
                0..=31 => i.min(last),
                32..=63 => last.saturating_sub(i - 32),
                _ => ((i - 64) as u64 * last as u64 / 63) as usize,
            };
            *b = bytes[at];
        }
    }
    picked
}

impl Sample {
    /// Samples the `got` bytes taken into `out` and tags the room after
    /// them (at most [`TAG_LEN`] bytes of it).
    fn stamp(out: &mut [u8], got: usize) -> Sample {
        let mut tag = [0; TAG_LEN];
        let mut x = (got as u64) ^ (out.as_ptr() as u64) ^ 0x9e37_79b9_7f4a_7c15;
        for b in &mut tag {
            x = x
                .wrapping_mul(0x5851_f42d_4c95_7f2d)
                .wrapping_add(0x1405_7b7e_f767_814f);
            *b = (x >> 56) as u8 | 1;
        }
        let room = &mut out[got..];
        let n = room.len().min(TAG_LEN);
        room[..n].copy_from_slice(&tag[..n]);
        tag[n..].fill(0);
        Sample {
            taken: sample(&out[..got]),
            tag,
        }
    }

    /// Whether `out` holds what was stamped for `got` bytes taken.
    fn matches(&self, out: &[u8], got: usize) -> bool {
        let room = &out[got..];
        let n = room.len().min(TAG_LEN);
        self.taken == sample(&out[..got]) && room[..n] == self.tag[..n]
    }
}

/// A `Vec` that grows by at most its own length (and at least 64 KiB) at a
/// time, so memory follows the bytes that arrive, never the length a header
/// declares: a payload cut short holds at most twice what came (plus 64 KiB).
/// The room past `filled` is zeroed once and kept across pauses.
#[cfg(feature = "alloc")]
#[derive(Default)]
pub(crate) struct VecSink {
    msg: alloc::vec::Vec<u8>,
    filled: usize,
}

#[cfg(feature = "alloc")]
impl VecSink {
    fn filled(&self) -> &[u8] {
        &self.msg[..self.filled]
    }

    /// The message received.
    pub(crate) fn into_vec(mut self) -> alloc::vec::Vec<u8> {
        self.msg.truncate(self.filled);
        self.msg
    }
}

#[cfg(feature = "alloc")]
impl Sink for VecSink {
    fn start(&mut self, _len: u64, got: u64, kept: &mut Kept) -> Result<(), Error> {
        match core::mem::take(kept) {
            Kept::Here(held) => *self = held,
            // The bytes taken so far are in a caller's buffer.
            Kept::InCaller(at) if got > 0 => {
                *kept = Kept::InCaller(at);
                return Err(Error::Io(Errno::INVAL));
            }
            _ => {}
        }
        Ok(())
    }

    fn room(&mut self, left: u64) -> Result<&mut [u8], Error> {
        if self.msg.len() == self.filled {
            let step = clamp(left).min(self.filled.max(64 * 1024));
            // Far past what this process can hold (a 32-bit one, say): an
            // error for this message, not a panic or an abort.
            self.msg
                .try_reserve_exact(step)
                .map_err(|_| Error::Io(Errno::NOMEM))?;
            self.msg.resize(self.filled + step, 0);
        }
        let end = self.msg.len().min(self.filled.saturating_add(clamp(left)));
        Ok(&mut self.msg[self.filled..end])
    }

    fn commit(&mut self, n: usize) {
        self.filled += n;
    }

    fn pause(&mut self, kept: &mut Kept) {
        *kept = Kept::Here(core::mem::take(self));
    }
}

/// A connection's descriptor, read as its kind allows.
pub(crate) struct FdSource<'a> {
    fd: BorrowedFd<'a>,
    kind: Kind,
    /// When to stop waiting, on the monotonic clock.
    deadline: Option<Duration>,
}

impl<'a> FdSource<'a> {
    /// The descriptor for one receive, which waits at most `timeout` from
    /// now in all (`None`: without limit).
    pub(crate) fn new(
        fd: BorrowedFd<'a>,
        kind: Kind,
        timeout: Option<Duration>,
    ) -> Result<Self, Error> {
        let deadline = match timeout {
            Some(timeout) => Some(sys::monotonic_now()?.saturating_add(timeout)),
            None => None,
        };
        Ok(FdSource { fd, kind, deadline })
    }
}

impl Source for FdSource<'_> {
    fn read(
        &mut self,
        first: &mut [u8],
        then: &mut [u8],
        fds: &mut ReceivedFds,
    ) -> Result<Received, Error> {
        wait_for_data(self.fd, self.deadline)?;
        let len = match (self.kind, first.is_empty(), then.is_empty()) {
            (Kind::UnixSocket, ..) => {
                // Only the buffers with room: the kernel walks every iovec.
                let skip = usize::from(first.is_empty());
                let take = if then.is_empty() { 1 } else { 2 };
                let mut bufs = [IoSliceMut::new(first), IoSliceMut::new(then)];
                let bufs = &mut bufs[skip..take.max(skip + 1)];
                return Ok(sys::recv_with_fds(self.fd, bufs, fds)?);
            }
            (_, true, _) => sys::read(self.fd, then)?,
            (_, false, true) => sys::read(self.fd, first)?,
            (_, false, false) => sys::readv(
                self.fd,
                &mut [IoSliceMut::new(first), IoSliceMut::new(then)],
            )?,
        };
        Ok(Received {
            len,
            fds: 0,
            truncated: false,
        })
    }
}

/// Under a deadline (on the monotonic clock), waits for `fd` to have data
/// until then; `Io(TIMEDOUT)` after it. Without one, returns at once.
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

/// The driver alone, against a scripted source: every split, pause and
/// control message at a chosen place, in milliseconds and without processes.
#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::frame::Header;
    use alloc::collections::VecDeque;
    use alloc::vec::Vec;
    use std::vec;

    /// What one read returns.
    enum Step {
        /// At most these bytes (as many as fit), with `fds` new descriptors
        /// (`truncated`: the kernel cut them short and closed them).
        Read {
            bytes: Vec<u8>,
            fds: usize,
            truncated: bool,
        },
        Fail(Errno),
    }

    /// A source that returns its steps in order, then end of stream.
    struct Script {
        steps: VecDeque<Step>,
        /// Bytes handed out, to see that nothing is read twice.
        delivered: usize,
    }

    impl Script {
        fn new(steps: impl IntoIterator<Item = Step>) -> Self {
            Script {
                steps: steps.into_iter().collect(),
                delivered: 0,
            }
        }
    }

    fn bytes(b: &[u8]) -> Step {
        Step::Read {
            bytes: b.to_vec(),
            fds: 0,
            truncated: false,
        }
    }

    fn with_fds(b: &[u8], fds: usize) -> Step {
        Step::Read {
            bytes: b.to_vec(),
            fds,
            truncated: false,
        }
    }

    const AGAIN: Step = Step::Fail(Errno::AGAIN);

    impl Source for Script {
        fn read(
            &mut self,
            first: &mut [u8],
            then: &mut [u8],
            out: &mut ReceivedFds,
        ) -> Result<Received, Error> {
            let (bytes, fds, truncated) = match self.steps.front_mut() {
                None => {
                    return Ok(Received {
                        len: 0,
                        fds: 0,
                        truncated: false,
                    })
                }
                Some(Step::Fail(e)) => {
                    let e = *e;
                    self.steps.pop_front();
                    return Err(Error::Io(e));
                }
                Some(Step::Read {
                    bytes,
                    fds,
                    truncated,
                }) => (bytes, fds, truncated),
            };
            let n = bytes.len().min(first.len() + then.len());
            let split = n.min(first.len());
            first[..split].copy_from_slice(&bytes[..split]);
            then[..n - split].copy_from_slice(&bytes[split..n]);
            bytes.drain(..n);
            // Descriptors come with the read of the step's first byte.
            let added = core::mem::take(fds);
            let cut = core::mem::take(truncated);
            for _ in 0..added {
                let (r, _w) = sys::pipe().expect("pipe");
                out.push(r).expect("room");
            }
            if cut {
                out.clear();
            }
            let got = Received {
                len: n,
                fds: if cut { 0 } else { added },
                truncated: cut,
            };
            if bytes.is_empty() {
                self.steps.pop_front();
            }
            self.delivered += n;
            Ok(got)
        }
    }

    fn frame(msg: &[u8]) -> Vec<u8> {
        let mut wire = Header::new(msg.len() as u64).as_bytes().to_vec();
        wire.extend_from_slice(msg);
        wire
    }

    fn receiver() -> Receiver<super::super::read_ahead::Buffer> {
        Receiver::new(1 << 30, super::super::read_ahead::new_buffer())
    }

    /// How a test receives: `recv_bytes`, `recv_bytes_into`, or borrowed.
    #[derive(Copy, Clone, Debug, PartialEq)]
    enum Take {
        Vec,
        Slice,
        Borrowed,
    }

    const TAKES: [Take; 3] = [Take::Vec, Take::Slice, Take::Borrowed];

    /// Receives one message as `take` says (into `buf` for `Slice`),
    /// repeating after every pause; returns it and the pauses.
    fn recv_through_pauses(
        r: &mut Receiver<super::super::read_ahead::Buffer>,
        src: &mut Script,
        take: Take,
        buf: &mut [u8],
    ) -> Result<(Vec<u8>, usize), Error> {
        let mut pauses = 0;
        loop {
            let got = match take {
                Take::Vec => {
                    let mut sink = VecSink::default();
                    r.recv(src, &mut sink, None).map(|_| sink.into_vec())
                }
                Take::Slice => r
                    .recv(src, &mut SliceSink::new(buf), None)
                    .map(|n| buf[..n as usize].to_vec()),
                Take::Borrowed => {
                    let mut sink = VecSink::default();
                    match r.recv_borrowed(src, &mut sink) {
                        Ok(Borrowed::Ahead(at)) => Ok(r.stored(at).to_vec()),
                        Ok(Borrowed::InSink) => Ok(sink.into_vec()),
                        Err(e) => Err(e),
                    }
                }
            };
            match got {
                Err(e) if e.is_resumable() => pauses += 1,
                other => return other.map(|msg| (msg, pauses)),
            }
        }
    }

    /// Three messages (one with the 12-byte header) split at every byte,
    /// with and without a pause there: each arrives whole, once, by either
    /// kind of receive, and no byte is read twice.
    #[test]
    fn every_split_and_pause_delivers_each_message_once() {
        let msgs: [&[u8]; 3] = [b"", b"hello", &[7; 300]];
        let mut wire = Vec::new();
        for msg in msgs {
            wire.extend(frame(msg));
        }
        wire.extend([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3]);
        wire.extend(b"abc");
        for cut in 0..=wire.len() {
            for pause in [false, true] {
                for take in TAKES {
                    // An empty read is the end of the stream: leave it out.
                    let mut steps = vec![bytes(&wire[..cut])];
                    if pause {
                        steps.push(AGAIN);
                    }
                    steps.push(bytes(&wire[cut..]));
                    steps.retain(|s| !matches!(s, Step::Read { bytes, .. } if bytes.is_empty()));
                    let mut src = Script::new(steps);
                    let mut r = receiver();
                    let mut buf = [0; 400];
                    for want in msgs.iter().copied().chain([&b"abc"[..]]) {
                        let (got, _) = recv_through_pauses(&mut r, &mut src, take, &mut buf)
                            .unwrap_or_else(|e| panic!("cut {cut} pause {pause}: {e:?}"));
                        assert_eq!(got, want, "cut {cut} pause {pause} {take:?}");
                    }
                    let end = recv_through_pauses(&mut r, &mut src, take, &mut buf);
                    assert_eq!(end, Err(Error::Eof));
                    assert_eq!(src.delivered, wire.len(), "every byte read once");
                }
            }
        }
    }

    /// Without an allocator the buffer is 256 bytes: a message that fills
    /// it is borrowed, a larger one is `BufferTooSmall` and stays queued,
    /// whole, for a receive into a buffer large enough.
    #[test]
    fn a_message_larger_than_a_fixed_buffer_stays_queued() {
        let sizes = [200, 256, 300, 1];
        let mut wire = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            wire.extend(frame(&vec![i as u8; n]));
        }
        // In pieces, so the 256-byte message must be gathered at the front.
        let steps: Vec<Step> = wire.chunks(100).map(bytes).collect();
        let mut src = Script::new(steps);
        let mut r = Receiver::new(1 << 20, [0u8; 256]);
        let borrow = |r: &mut Receiver<[u8; 256]>, src: &mut Script| match r
            .recv_borrowed(src, &mut SliceSink::new(&mut []))
        {
            Ok(Borrowed::Ahead(at)) => Ok(r.stored(at).to_vec()),
            Ok(Borrowed::InSink) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        assert_eq!(borrow(&mut r, &mut src), Ok(vec![0; 200]));
        assert_eq!(borrow(&mut r, &mut src), Ok(vec![1; 256]));
        let refused = Err(Error::BufferTooSmall { needed: 300 });
        assert_eq!(borrow(&mut r, &mut src), refused);
        assert_eq!(borrow(&mut r, &mut src), refused, "still queued");
        let mut buf = [0; 300];
        assert_eq!(
            r.recv(&mut src, &mut SliceSink::new(&mut buf), None),
            Ok(300)
        );
        assert_eq!(buf, [2; 300]);
        assert_eq!(borrow(&mut r, &mut src), Ok(vec![3]));
        assert_eq!(borrow(&mut r, &mut src), Err(Error::Eof));
    }

    /// Without an allocator, a borrowed receive of a message that a
    /// `recv_bytes_into` began in its buffer is refused as that buffer's
    /// (`Io(EINVAL)`), not as too large for a buffer it never had.
    #[test]
    fn a_fixed_buffer_borrowed_receive_leaves_a_message_begun_elsewhere_there() {
        let wire = frame(b"0123456789");
        let mut src = Script::new([bytes(&wire[..7]), AGAIN, bytes(&wire[7..])]);
        let mut r = Receiver::new(1 << 20, [0u8; 256]);
        let mut buf = [0u8; 64];
        let paused = r.recv(&mut src, &mut SliceSink::new(&mut buf), None);
        assert_eq!(paused, Err(Error::Io(Errno::AGAIN)));
        let borrowed = r.recv_borrowed(&mut src, &mut SliceSink::new(&mut []));
        assert_eq!(borrowed.map(|_| ()), Err(Error::Io(Errno::INVAL)));
        assert_eq!(
            r.recv(&mut src, &mut SliceSink::new(&mut buf), None),
            Ok(10)
        );
        assert_eq!(&buf[..10], b"0123456789");
    }

    /// A payload that arrives in a thousand pieces with a pause after each
    /// is read once: only new bytes, straight into the caller's buffer.
    #[test]
    fn pauses_read_only_new_bytes() {
        let msg: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let wire = frame(&msg);
        for take in TAKES {
            let mut steps = Vec::new();
            for piece in wire.chunks(1000) {
                steps.push(bytes(piece));
                steps.push(AGAIN);
            }
            let mut src = Script::new(steps);
            let mut r = receiver();
            let mut buf = vec![0; msg.len()];
            let (got, pauses) = recv_through_pauses(&mut r, &mut src, take, &mut buf).unwrap();
            assert!(got == msg, "the message whole");
            assert_eq!(
                pauses,
                wire.len() / 1000,
                "one after each piece but the last"
            );
            assert_eq!(src.delivered, wire.len());
        }
    }

    /// Descriptors that ride on the first byte of the second of two
    /// messages brought by one read wait for the second message.
    #[test]
    fn descriptors_read_ahead_wait_for_their_message() {
        let mut glued = frame(b"first");
        let second = frame(b"second");
        glued.extend(&second[..3]);
        let mut src = Script::new([with_fds(&glued, 2), bytes(&second[3..])]);
        let mut r = receiver();
        let mut fds = ReceivedFds::new();
        let mut buf = [0; 16];
        let n = r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds));
        assert_eq!((n, fds.len()), (Ok(5), 0), "not the first message's");
        let n = r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds));
        assert_eq!((n, fds.len()), (Ok(6), 2));
        assert_eq!(r.discarded_fds(), 0);
        // A plain receive of a message with descriptors closes and counts them.
        let mut src = Script::new([with_fds(&frame(b"x"), 3)]);
        let mut sink = VecSink::default();
        assert_eq!(r.recv(&mut src, &mut sink, None), Ok(1));
        assert_eq!(r.discarded_fds(), 3);
    }

    /// Descriptors in a read where no message begins came in the middle of
    /// one: the receive fails, for good, and they are closed.
    #[test]
    fn descriptors_where_no_message_begins_fail_receiving() {
        let wire = frame(b"abcdef");
        for truncated in [false, true] {
            let middle = Step::Read {
                bytes: wire[6..].to_vec(),
                fds: 1,
                truncated,
            };
            let mut src = Script::new([bytes(&wire[..6]), AGAIN, middle]);
            let mut r = receiver();
            let mut fds = ReceivedFds::new();
            let mut buf = [0; 6];
            let mut sink = SliceSink::new(&mut buf);
            assert_eq!(
                r.recv(&mut src, &mut sink, Some(&mut fds)),
                Err(Error::Io(Errno::AGAIN))
            );
            let want = if truncated {
                Error::ControlTruncated
            } else {
                Error::UnexpectedFds
            };
            let mut sink = SliceSink::new(&mut buf);
            assert_eq!(r.recv(&mut src, &mut sink, Some(&mut fds)), Err(want));
            let mut sink = VecSink::default();
            assert_eq!(r.recv(&mut src, &mut sink, None), Err(want), "for good");
            assert!(fds.is_empty());
        }
    }

    /// Descriptors of the last message stay in the caller's set through a
    /// pause, `TooLong` and `BufferTooSmall`, and are released only when
    /// the next message's first byte is read.
    #[test]
    fn descriptors_are_released_only_by_the_next_message() {
        let mut src = Script::new([
            with_fds(&frame(b"one"), 1),
            AGAIN,
            with_fds(&frame(&[9; 100]), 2),
            bytes(&frame(b"three")),
        ]);
        let mut r = receiver();
        let mut fds = ReceivedFds::new();
        let mut buf = [0; 10];
        assert_eq!(
            r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds)),
            Ok(3)
        );
        let paused = r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds));
        assert_eq!((paused, fds.len()), (Err(Error::Io(Errno::AGAIN)), 1));
        r.set_max_len(50);
        let refused = r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds));
        assert_eq!(refused, Err(Error::TooLong { len: 100, max: 50 }));
        r.set_max_len(1000);
        let small = r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds));
        assert_eq!(
            (small, fds.len()),
            (Err(Error::BufferTooSmall { needed: 100 }), 2)
        );
        let mut sink = VecSink::default();
        assert_eq!(r.recv(&mut src, &mut sink, Some(&mut fds)), Ok(100));
        assert_eq!(
            fds.len(),
            2,
            "claimed once, not released by its own resumption"
        );
        assert_eq!(
            r.recv(&mut src, &mut SliceSink::new(&mut buf), Some(&mut fds)),
            Ok(5)
        );
        assert!(fds.is_empty());
    }

    /// The count byte of Python's `sendfds`, read ahead behind a message,
    /// keeps its descriptors for `next_byte`; cut short, it is taken and
    /// receiving goes on.
    #[test]
    fn a_count_byte_read_ahead_keeps_its_descriptors() {
        let mut wire = frame(b"before");
        wire.push(1);
        let cut = Step::Read {
            bytes: vec![1],
            fds: 1,
            truncated: true,
        };
        let mut src = Script::new([with_fds(&wire, 1), cut, bytes(&frame(b"after"))]);
        let mut r = receiver();
        let mut sink = VecSink::default();
        assert_eq!(r.recv(&mut src, &mut sink, None), Ok(6));
        let mut fds = ReceivedFds::new();
        assert_eq!(r.next_byte(&mut src, Some(&mut fds)), Ok(1));
        assert_eq!(fds.len(), 1);
        assert_eq!(
            r.next_byte(&mut src, Some(&mut fds)),
            Err(Error::ControlTruncated)
        );
        assert!(fds.is_empty());
        let mut sink = VecSink::default();
        assert_eq!(r.recv(&mut src, &mut sink, None), Ok(5));
        assert_eq!(r.discarded_fds(), 0);
    }

    /// Ends of stream and errors: between messages `Eof`, inside one
    /// `Truncated`; an error after part of a payload fails receiving for
    /// good, one before it does not.
    #[test]
    fn ends_and_errors_leave_the_documented_state() {
        let wire = frame(b"abcdef");
        let mut r = receiver();
        let mut src = Script::new([bytes(&wire[..2])]);
        let mut sink = VecSink::default();
        assert_eq!(r.recv(&mut src, &mut sink, None), Err(Error::Truncated));
        let mut r = receiver();
        let mut src = Script::new([bytes(&wire[..7]), Step::Fail(Errno::CONNRESET)]);
        let mut sink = VecSink::default();
        let reset = Err(Error::Io(Errno::CONNRESET));
        assert_eq!(r.recv(&mut src, &mut sink, None), reset);
        let mut src = Script::new([bytes(&wire[7..])]);
        assert_eq!(
            r.recv(&mut src, &mut VecSink::default(), None),
            reset,
            "for good"
        );
        let mut r = receiver();
        let mut src = Script::new([Step::Fail(Errno::CONNRESET), bytes(&wire)]);
        assert_eq!(r.recv(&mut src, &mut VecSink::default(), None), reset);
        assert_eq!(r.recv(&mut src, &mut VecSink::default(), None), Ok(6));
        assert_eq!(
            r.recv(&mut src, &mut VecSink::default(), None),
            Err(Error::Eof)
        );
    }

    /// A peer that declares 3 GiB and keeps sending, past what a 32-bit
    /// process can hold in one `Vec`, gets an error, never a panic.
    #[cfg(target_pointer_width = "32")]
    #[test]
    fn a_vec_receive_past_isize_max_is_an_error_not_a_panic() {
        struct Flood(usize);
        impl Source for Flood {
            fn read(
                &mut self,
                first: &mut [u8],
                then: &mut [u8],
                _: &mut ReceivedFds,
            ) -> Result<Received, Error> {
                let len = if self.0 < 12 {
                    let head = Header::new(3 << 30);
                    let n = then.len().min(12 - self.0);
                    then[..n].copy_from_slice(&head.as_bytes()[self.0..self.0 + n]);
                    n
                } else {
                    first.len()
                };
                self.0 += len;
                Ok(Received {
                    len,
                    fds: 0,
                    truncated: false,
                })
            }
        }
        let outcome = std::panic::catch_unwind(|| {
            let mut r = Receiver::new(u64::MAX, super::super::read_ahead::new_buffer());
            r.recv(&mut Flood(0), &mut VecSink::default(), None)
        });
        assert_eq!(outcome.ok(), Some(Err(Error::Io(Errno::NOMEM))));
    }

    /// An exact receiver (the handshake's) never reads a byte past its
    /// message, whatever the source holds.
    #[test]
    fn an_exact_receiver_reads_nothing_past_its_message() {
        let mut wire = frame(b"challenge");
        wire.extend(frame(b"the connection's"));
        let mut src = Script::new([bytes(&wire)]);
        let mut r = Receiver::exact(256, [0; crate::frame::MAX_HEADER_LEN]);
        let mut buf = [0; 256];
        assert_eq!(r.recv(&mut src, &mut SliceSink::new(&mut buf), None), Ok(9));
        assert_eq!(src.delivered, 13);
    }
}
