//! The framing of Python's `multiprocessing.connection`: encoder and decoder.
//!
//! A message on the wire is a header followed by the payload:
//!
//! | payload length `n`          | header                                        |
//! |-----------------------------|-----------------------------------------------|
//! | `0 ..= 0x7fff_ffff`         | `n` as a big-endian `i32` (4 bytes)           |
//! | above `0x7fff_ffff`         | `ff ff ff ff`, then `n` as a big-endian `u64` |
//!
//! This module is pure: no system calls, no allocation, no `unsafe`. The
//! [`Decoder`] takes bytes in chunks of any size, down to one byte at a time,
//! and never reserves memory for a length the peer declared.
#![forbid(unsafe_code)]

use core::fmt;

/// The longest header: the escape marker plus a 64-bit length.
pub const MAX_HEADER_LEN: usize = 12;

/// The largest length the short (4-byte) header can carry.
pub const SHORT_MAX: u64 = 0x7fff_ffff;

/// The escape marker: `-1` as a big-endian `i32`.
const ESCAPE: [u8; 4] = [0xff; 4];

/// An encoded frame header, held on the stack.
///
/// ```
/// use ipcwire::frame::Header;
/// assert_eq!(Header::new(5).as_bytes(), [0, 0, 0, 5]);
/// assert_eq!(Header::new(1 << 31).as_bytes(), [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0]);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl Header {
    /// The header for a payload of `payload_len` bytes, in the shortest form
    /// (the only form Python writes).
    #[must_use]
    pub const fn new(payload_len: u64) -> Header {
        let mut bytes = [0; MAX_HEADER_LEN];
        if payload_len <= SHORT_MAX {
            let short = (payload_len as u32).to_be_bytes();
            bytes[0] = short[0];
            bytes[1] = short[1];
            bytes[2] = short[2];
            bytes[3] = short[3];
            Header { bytes, len: 4 }
        } else {
            let long = payload_len.to_be_bytes();
            let mut i = 0;
            while i < 4 {
                bytes[i] = ESCAPE[i];
                i += 1;
            }
            while i < MAX_HEADER_LEN {
                bytes[i] = long[i - 4];
                i += 1;
            }
            Header { bytes, len: 12 }
        }
    }

    /// The header's bytes as they go on the wire (4 or 12 of them).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Why a byte stream is not a valid sequence of frames.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// A 4-byte length was negative but not the escape marker `-1`.
    /// (Python reads these as empty messages and loses its place in the stream.)
    NegativeLength(i32),
    /// The declared payload length exceeds the decoder's maximum.
    TooLong {
        /// The length the header declared.
        len: u64,
        /// The maximum in force.
        max: u64,
    },
    /// The stream ended inside a header or a payload.
    Truncated,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::NegativeLength(n) => {
                write!(f, "malformed frame header: negative length {n}")
            }
            FrameError::TooLong { len, max } => {
                write!(
                    f,
                    "message of {len} bytes exceeds the maximum of {max} bytes"
                )
            }
            FrameError::Truncated => f.write_str("end of stream inside a message"),
        }
    }
}

impl core::error::Error for FrameError {}

/// What [`Decoder::decode`] found in its input.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The input was used up before the current header or payload was
    /// complete: feed more bytes.
    NeedMore,
    /// A complete header: a payload of this many bytes follows.
    Header(u64),
    /// The next piece of the current payload (never empty), borrowed from
    /// the input.
    Payload(&'a [u8]),
    /// The current frame is complete; the next byte starts a new header.
    FrameEnd,
}

/// Where the decoder is in the stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    /// Collecting header bytes (`have` of them so far).
    Header,
    /// Inside a payload of `len` bytes, `left` of them still to come.
    Payload { len: u64, left: u64 },
}

/// A resumable, push-style frame decoder.
///
/// Feed it bytes with [`decode`](Decoder::decode); it reports how many it
/// used and what they completed. It holds at most the 12 bytes of one
/// header; payload bytes are handed back as borrowed slices, never copied.
///
/// Errors do not consume input and do not change the decoder: calling again
/// with the same bytes gives the same error. After [`FrameError::TooLong`]
/// the caller may raise the maximum and go on with no byte lost.
///
/// ```
/// use ipcwire::frame::{Decoded, Decoder};
/// let mut d = Decoder::new(1024);
/// let wire = b"\x00\x00\x00\x05hello";
/// assert_eq!(d.decode(wire), Ok((4, Decoded::Header(5))));
/// assert_eq!(d.decode(&wire[4..]), Ok((5, Decoded::Payload(b"hello"))));
/// assert_eq!(d.decode(&[]), Ok((0, Decoded::FrameEnd)));
/// assert_eq!(d.finish(), Ok(()));
/// ```
#[derive(Clone, Debug)]
pub struct Decoder {
    max_len: u64,
    head: [u8; MAX_HEADER_LEN],
    have: usize,
    state: State,
}

impl Decoder {
    /// A decoder that refuses payloads longer than `max_len` bytes.
    #[must_use]
    pub const fn new(max_len: u64) -> Decoder {
        Decoder {
            max_len,
            head: [0; MAX_HEADER_LEN],
            have: 0,
            state: State::Header,
        }
    }

    /// The largest payload length accepted.
    #[must_use]
    pub fn max_len(&self) -> u64 {
        self.max_len
    }

    /// Changes the largest payload length accepted, from the next header on.
    /// A header already refused as too long is checked again on the next call.
    pub fn set_max_len(&mut self, max_len: u64) {
        self.max_len = max_len;
    }

    /// Decodes from the start of `input`: returns how many bytes were used
    /// and what they completed.
    ///
    /// # Errors
    /// [`FrameError::NegativeLength`] or [`FrameError::TooLong`] for a bad
    /// header; no input is consumed and the state is unchanged.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Decoded<'a>), FrameError> {
        match self.state {
            State::Header => self.decode_header(input),
            State::Payload { left: 0, .. } => {
                self.state = State::Header;
                Ok((0, Decoded::FrameEnd))
            }
            State::Payload { len, left } => {
                let n = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                if n == 0 {
                    return Ok((0, Decoded::NeedMore));
                }
                self.state = State::Payload {
                    len,
                    left: left - n as u64,
                };
                Ok((n, Decoded::Payload(&input[..n])))
            }
        }
    }

    /// Takes header bytes from `input`; commits them only if the header is
    /// still incomplete or is complete and valid.
    fn decode_header<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Decoded<'a>), FrameError> {
        let mut head = self.head;
        let mut have = self.have;
        let mut used = 0;
        let len = loop {
            let need = header_need(&head[..have]);
            if have == need {
                break parse_len(&head[..have])?;
            }
            let take = (need - have).min(input.len() - used);
            if take == 0 {
                self.head = head;
                self.have = have;
                return Ok((used, Decoded::NeedMore));
            }
            head[have..have + take].copy_from_slice(&input[used..used + take]);
            have += take;
            used += take;
        };
        if len > self.max_len {
            return Err(FrameError::TooLong {
                len,
                max: self.max_len,
            });
        }
        self.have = 0;
        self.state = State::Payload { len, left: len };
        Ok((used, Decoded::Header(len)))
    }

    /// The payload length and the bytes of it still to come, when the
    /// decoder is inside a payload.
    #[must_use]
    pub fn payload(&self) -> Option<(u64, u64)> {
        match self.state {
            State::Payload { len, left } => Some((len, left)),
            State::Header => None,
        }
    }

    /// How many more bytes the decoder takes before it has more to say:
    /// what is missing of the header (of its first 4 bytes, or of the 8
    /// after an escape marker), or what is left of the payload.
    ///
    /// Reading exactly this many never takes a byte of the next frame,
    /// which matters where a read must not reach the next frame's start (a
    /// Unix socket read that meets another message's descriptors closes them).
    ///
    /// ```
    /// use ipcwire::frame::Decoder;
    /// let mut d = Decoder::new(1 << 40);
    /// assert_eq!(d.wanted(), 4);
    /// d.decode(&[0xff, 0xff])?;
    /// assert_eq!(d.wanted(), 2);
    /// d.decode(&[0xff, 0xff])?; // the escape marker: an 8-byte length follows
    /// assert_eq!(d.wanted(), 8);
    /// d.decode(&[0, 0, 0, 0, 0x80, 0, 0, 0])?;
    /// assert_eq!(d.wanted(), 1 << 31);
    /// # Ok::<(), ipcwire::frame::FrameError>(())
    /// ```
    #[must_use]
    pub fn wanted(&self) -> u64 {
        match self.state {
            State::Header => header_need(&self.head[..self.have]).saturating_sub(self.have) as u64,
            State::Payload { left, .. } => left,
        }
    }

    /// Whether the decoder stands exactly between two frames.
    #[must_use]
    pub fn is_between_frames(&self) -> bool {
        matches!(self.state, State::Header | State::Payload { left: 0, .. }) && self.have == 0
    }

    /// Says what an end of stream at this point means.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] if the stream ended inside a header or a
    /// payload; `Ok(())` is a clean end between frames (Python's `EOFError`).
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.is_between_frames() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }
}

/// How many header bytes are needed, given the first ones.
fn header_need(head: &[u8]) -> usize {
    if head.len() >= 4 && head[..4] == ESCAPE {
        MAX_HEADER_LEN
    } else {
        4
    }
}

/// The payload length of a complete header.
fn parse_len(head: &[u8]) -> Result<u64, FrameError> {
    let mut short = [0; 4];
    short.copy_from_slice(&head[..4]);
    let n = i32::from_be_bytes(short);
    if head.len() == MAX_HEADER_LEN {
        let mut long = [0; 8];
        long.copy_from_slice(&head[4..]);
        return Ok(u64::from_be_bytes(long));
    }
    u64::try_from(n).map_err(|_| FrameError::NegativeLength(n))
}
