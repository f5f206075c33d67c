//! Descriptors that arrive with read-ahead bytes, waiting for the receive
//! of their message: the last one that begins in the read that brought them
//! (the rule and why it holds: [`Connection`](crate::Connection)'s docs).
//! Only one set ever waits: reads come only once every message that begins
//! before them has begun to be decoded (a borrowed receive leaves the start
//! of its own payload waiting, no more), and decoding a message's first
//! byte claims its set.

use crate::frame::Decoder;
use crate::sys::ReceivedFds;
use crate::Error;

/// The descriptors waiting for the message that begins at `at`.
pub(crate) struct Pending {
    set: ReceivedFds,
    at: u64,
    /// The kernel cut the descriptors of that message short (`MSG_CTRUNC`):
    /// it arrived without them.
    truncated: bool,
    /// Where the last message whose descriptors were handed out begins, so
    /// a receive resumed at the same message (after `TooLong`, say) does not
    /// release them again.
    claimed: u64,
    /// Whether that claim was a plain receive's.
    plain: bool,
    /// Descriptors closed because a plain receive took their message.
    discarded: u64,
}

impl Pending {
    pub(crate) const fn new() -> Self {
        Pending {
            set: ReceivedFds::new(),
            at: 0,
            truncated: false,
            claimed: u64::MAX,
            plain: false,
            discarded: 0,
        }
    }

    /// Descriptors closed because a plain receive took their message.
    pub(crate) fn discarded(&self) -> u64 {
        self.discarded
    }

    /// The set a read adds descriptors to. Anything still in it belonged to
    /// a position already passed: it is closed first (and counted).
    pub(crate) fn for_read(&mut self) -> &mut ReceivedFds {
        self.discard();
        &mut self.set
    }

    /// Files what a read brought (`got` descriptors, cut short or not)
    /// under the message they rode with. `read` is every byte not yet
    /// decoded, from stream position `start` on (see [`rode_on`]).
    ///
    /// # Errors
    /// When no message begins where they rode, they came in the middle of
    /// one: they are closed (and counted as discarded for a plain receive,
    /// `!wanted`), and the error is [`Error::ControlTruncated`] if the
    /// kernel cut them short, else [`Error::UnexpectedFds`]; the caller
    /// decides whether that matters.
    pub(crate) fn arrived(
        &mut self,
        decoder: &Decoder,
        start: u64,
        read: [&[u8]; 2],
        truncated: bool,
        wanted: bool,
    ) -> Result<(), Error> {
        match rode_on(decoder, start, read) {
            Some(at) => {
                self.at = at;
                self.truncated = truncated;
                Ok(())
            }
            None => {
                if wanted {
                    self.set.clear();
                } else {
                    self.discard();
                }
                Err(if truncated {
                    Error::ControlTruncated
                } else {
                    Error::UnexpectedFds
                })
            }
        }
    }

    /// Hands the descriptors of the message that begins at `at` to `out`,
    /// emptied first (closing those of the message before), or closes and
    /// counts them for a plain receive (`None`). Once per message.
    ///
    /// # Errors
    /// [`Error::ControlTruncated`] when the kernel cut them short and `out`
    /// wanted them; none are handed out. A plain receive is not told: it
    /// never asked for descriptors.
    pub(crate) fn claim(&mut self, at: u64, out: Option<&mut ReceivedFds>) -> Result<(), Error> {
        if self.claimed == at {
            return Ok(());
        }
        self.claimed = at;
        self.plain = out.is_none();
        let mine = self.at == at;
        let truncated = mine && core::mem::take(&mut self.truncated);
        let wanted = out.is_some();
        if let Some(out) = out {
            out.clear();
            if mine && !truncated {
                core::mem::swap(out, &mut self.set);
            }
        }
        if mine {
            self.discard();
        }
        if truncated && wanted {
            Err(Error::ControlTruncated)
        } else {
            Ok(())
        }
    }

    /// Whether the last message claimed was claimed by a plain receive.
    pub(crate) fn claimed_plainly(&self) -> bool {
        self.plain
    }

    fn discard(&mut self) {
        self.discarded += self.set.len() as u64;
        self.set.clear();
    }
}

/// Where the message begins whose first byte the descriptors of a read
/// rode on: the decoder stands at stream position `start` in `decoder`'s
/// state, and `read` holds the bytes from there on: any that waited
/// undecoded (the start of the current payload, in which no message
/// begins), then those the read brought. `None` if no message begins there.
///
/// Linux ends a read with the send that carried descriptors (earlier plain
/// sends may come first in the same read): the last message that begins in
/// the read. BSD-derived kernels (macOS, FreeBSD) keep each send with
/// descriptors a record of its own that a read never enters part-way and
/// hand the descriptors over at the read's head: the message that begins at
/// its first byte. (Only the Linux rule is tested here.)
#[cfg(any(target_os = "linux", target_os = "android"))]
fn rode_on(decoder: &Decoder, start: u64, read: [&[u8]; 2]) -> Option<u64> {
    let mut walk = decoder.clone();
    walk.set_max_len(u64::MAX);
    let mut at = start;
    let mut last = None;
    // Only headers are looked at; payloads are skipped by their length.
    for mut bytes in read {
        while !bytes.is_empty() {
            if walk.is_between_frames() {
                last = Some(at);
            }
            // A bad header still begins a message; nothing after it is known.
            let Ok((used, _)) = walk.decode(bytes) else {
                return last;
            };
            bytes = &bytes[used..];
            at += used as u64;
        }
    }
    last
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn rode_on(decoder: &Decoder, start: u64, _read: [&[u8]; 2]) -> Option<u64> {
    decoder.is_between_frames().then_some(start)
}
