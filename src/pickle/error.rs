//! Why a pickle was refused.

use core::fmt;

/// Why [`from_slice`](super::from_slice) refused a pickle, or why a decoded
/// value is not the Rust type asked for.
///
/// Small and `Copy`, like [`crate::frame::FrameError`]: a refused global's
/// name is kept inline ([`GlobalName`]). Offsets count bytes from the start
/// of the pickle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PickleError {
    /// The pickle ended inside an opcode's argument.
    Truncated {
        /// Where the cut opcode starts.
        offset: usize,
    },
    /// The pickle ended without a `STOP` opcode.
    MissingStop,
    /// Bytes follow the `STOP` opcode. (Python ignores them; ipcwire does
    /// not guess what the peer meant.)
    TrailingBytes {
        /// Where the first byte after `STOP` is.
        offset: usize,
    },
    /// A byte that is no pickle opcode.
    UnknownOpcode {
        /// The byte.
        opcode: u8,
        /// Where it is.
        offset: usize,
    },
    /// A pickle opcode that can build objects other than Python's built-in
    /// data types (classes, persistent ids, extension codes, out-of-band
    /// buffers): refused, whatever it would build.
    Refused {
        /// The opcode's name, as Python's `pickletools` prints it.
        opcode: &'static str,
        /// Where it is.
        offset: usize,
    },
    /// A global (class or function) other than the few that CPython's
    /// pickles of built-in types name (`set`, `frozenset`, `bytearray`,
    /// `bytes`, `_codecs.encode`).
    Global {
        /// `module.name` as the pickle wrote it, e.g. `datetime.datetime`.
        name: GlobalName,
        /// Where the opcode that named it is.
        offset: usize,
    },
    /// An opcode found the stack, the mark stack or its arguments in a
    /// state CPython's pickler never leaves them in.
    Malformed {
        /// What was wrong.
        what: &'static str,
        /// Where the opcode is.
        offset: usize,
    },
    /// A memo lookup (`BINGET`, `LONG_BINGET`) of an index never stored.
    MemoMissing {
        /// The index asked for.
        index: u64,
        /// Where the opcode is.
        offset: usize,
    },
    /// A string that is not UTF-8.
    InvalidUtf8 {
        /// Where the string's opcode is.
        offset: usize,
    },
    /// A string with a lone surrogate (Python allows them, Rust's `str`
    /// cannot hold them).
    LoneSurrogate {
        /// Where the string's opcode is.
        offset: usize,
    },
    /// The value contains itself (`l = []; l.append(l)`).
    Cycle,
    /// A dict with two keys, or a set with two members, that Python holds
    /// equal (`{1: 'a', True: 'b'}`, as CPython never writes): Python would
    /// merge them.
    RepeatedKey,
    /// A list, dict, set or bytearray used as a dict key or set member
    /// (Python refuses them too: they are unhashable).
    Unhashable,
    /// Values nested deeper than the limit
    /// ([`Limits::max_depth`](super::Limits::max_depth)).
    TooDeep {
        /// The limit in force.
        max_depth: usize,
    },
    /// The decoded value would take more memory than the limit, which is a
    /// multiple of the pickle's length
    /// ([`Limits::max_expansion`](super::Limits::max_expansion)); shared
    /// references count each time they are expanded.
    TooLarge {
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// The value decoded, but is not of the Rust type asked for.
    Type {
        /// What the Rust type takes, e.g. `int` or `tuple of 2`.
        expected: &'static str,
        /// The Python type that came, e.g. `str`.
        found: &'static str,
    },
    /// An `int` or `float` outside the range of the Rust type asked for.
    OutOfRange {
        /// The Rust type, e.g. `i64`.
        expected: &'static str,
        /// The Python type that came: `int` or `float`.
        found: &'static str,
    },
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PickleError::*;
        match *self {
            Truncated { offset } => write!(f, "pickle cut short inside the opcode at {offset}"),
            MissingStop => f.write_str("pickle ends without STOP"),
            TrailingBytes { offset } => write!(f, "bytes after the pickle's STOP, at {offset}"),
            UnknownOpcode { opcode, offset } => {
                write!(f, "unknown pickle opcode {opcode:#04x} at {offset}")
            }
            Refused { opcode, offset } => {
                write!(
                    f,
                    "refused pickle opcode {opcode} at {offset}: not a built-in data type"
                )
            }
            Global { name, offset } => {
                write!(
                    f,
                    "refused global {name} at {offset}: not a built-in data type"
                )
            }
            Malformed { what, offset } => write!(f, "malformed pickle at {offset}: {what}"),
            MemoMissing { index, offset } => {
                write!(f, "pickle memo has no entry {index} (asked at {offset})")
            }
            InvalidUtf8 { offset } => write!(f, "string at {offset} is not UTF-8"),
            LoneSurrogate { offset } => write!(f, "string at {offset} has a lone surrogate"),
            Cycle => f.write_str("pickled value contains itself"),
            RepeatedKey => f.write_str("a dict or set holds two equal keys"),
            Unhashable => f.write_str("unhashable value (list, dict, set, bytearray) as a key"),
            TooDeep { max_depth } => write!(f, "pickled value nested deeper than {max_depth}"),
            TooLarge { limit } => write!(f, "decoded value would exceed {limit} bytes"),
            Type { expected, found } => write!(f, "expected {expected}, found {found}"),
            OutOfRange { expected, found } => {
                write!(f, "expected {expected}, found {found} outside its range")
            }
        }
    }
}

impl core::error::Error for PickleError {}

/// The `module.name` of a refused global, kept inline so that
/// [`PickleError`] stays `Copy`. Names longer than [`GlobalName::CAPACITY`]
/// bytes are cut at a character boundary and end with `...`.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct GlobalName {
    bytes: [u8; GlobalName::CAPACITY],
    len: u8,
}

impl GlobalName {
    /// The most bytes kept.
    pub const CAPACITY: usize = 64;

    /// `module.name`, cut to fit; bytes that are not UTF-8 show as U+FFFD.
    pub(crate) fn new(module: &[u8], name: &[u8]) -> GlobalName {
        let chars = lossy_chars(module)
            .chain(core::iter::once('.'))
            .chain(lossy_chars(name));
        let whole: usize = chars.clone().map(char::len_utf8).sum();
        let room = if whole <= Self::CAPACITY {
            Self::CAPACITY
        } else {
            Self::CAPACITY - 3
        };
        let mut out = GlobalName {
            bytes: [0; Self::CAPACITY],
            len: 0,
        };
        for c in chars {
            let at = out.len as usize;
            if at + c.len_utf8() > room {
                break;
            }
            c.encode_utf8(&mut out.bytes[at..]);
            out.len += c.len_utf8() as u8;
        }
        if whole > Self::CAPACITY {
            for _ in 0..3 {
                out.bytes[out.len as usize] = b'.';
                out.len += 1;
            }
        }
        out
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only whole characters are ever written.
        core::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

/// The characters of `bytes`, each invalid sequence as U+FFFD.
fn lossy_chars(bytes: &[u8]) -> impl Iterator<Item = char> + Clone + '_ {
    bytes.utf8_chunks().flat_map(|chunk| {
        let bad = (!chunk.invalid().is_empty()).then_some(char::REPLACEMENT_CHARACTER);
        chunk.valid().chars().chain(bad)
    })
}

impl fmt::Display for GlobalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for GlobalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
