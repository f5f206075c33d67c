//! Python objects as pickles: what `Connection.send(obj)` and `recv()`
//! carry, for Python's built-in data types.
//!
//! [`Connection::send`](crate::Connection::send) and
//! [`Connection::recv`](crate::Connection::recv) use this module; on its own
//! it is pure (no system calls, no `unsafe`) and needs only `alloc`.
//!
//! ```
//! use ipcwire::pickle::{self, Value};
//! // What Python 3.8+ `ForkingPickler.dumps({'job': 1})` writes:
//! let from_python = b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x03job\x94K\x01s.";
//! let job: std::collections::BTreeMap<String, i64> = pickle::from_slice(from_python)?;
//! assert_eq!(job["job"], 1);
//! let any: Value = pickle::from_slice(from_python)?;
//! assert_eq!(any, Value::Dict(vec![(Value::Str("job".into()), Value::Int(1))]));
//! assert_eq!(pickle::from_slice::<i64>(&pickle::to_vec(&-5))?, -5);
//! # Ok::<(), pickle::PickleError>(())
//! ```
//!
//! # Types
//!
//! | Python | Rust, encoding ([`ToPickle`]) | Rust, decoding ([`FromPickle`]) |
//! |---|---|---|
//! | `None` | `()`, `Option::None` | `()`, `Option::None` |
//! | `bool` | `bool` | `bool` (not from `int`) |
//! | `int` | every integer type, [`BigInt`] | every integer type, in range; [`BigInt`] |
//! | `float` | `f64`, `f32` | `f64`, `f32` (also from an `int` an `f64` holds exactly; a finite value beyond `f32` is out of range) |
//! | `str` | `str`, `String` | `String` |
//! | `bytes` | [`Bytes`]`(impl AsRef<[u8]>)` | [`Bytes`] (from `bytes` or `bytearray`) |
//! | `tuple` | tuples of 1 to 12 | tuples of 1 to 12, exact length |
//! | `list` | `Vec<T>`, `[T]`, `[T; N]` | `Vec<T>` (from `list` or `tuple`) |
//! | `dict` | `BTreeMap`, `HashMap` | `BTreeMap`, `HashMap` |
//! | `set` | `BTreeSet`, `HashSet` | `BTreeSet`, `HashSet` (from `set` or `frozenset`) |
//! | any of these | [`Value`] | [`Value`], keeping every distinction above |
//!
//! `Vec<u8>` is a list of ints, as Python's `list(b"ab")` is: wrap bytes in
//! [`Bytes`]. [`Value`] also has `bytearray` and `frozenset`. A mismatch is
//! [`PickleError::Type`] or [`PickleError::OutOfRange`], naming what was
//! expected and what came.
//!
//! # Decoding
//!
//! [`from_slice`] reads what CPython 3.6 to 3.13 write for these types at
//! every protocol, 0 to 5, including the defaults of `pickle.dumps` and of
//! `multiprocessing`'s `ForkingPickler` (protocol 3 on 3.6 and 3.7, 4 from
//! 3.8). Shared references come out as copies: `x = [1, 2]; [x, x]` is
//! `[[1, 2], [1, 2]]`, with what was added to `x` after it was memoized.
//!
//! Refused, with a [`PickleError`], never a wrong value:
//! - every global other than those CPython's pickles of these types name
//!   (`builtins.set`, `frozenset`, `bytearray`, `bytes`, and
//!   `_codecs.encode` for protocol 2's `bytes`), each called only with the
//!   arguments CPython passes it; the error names the global as written,
//!   e.g. `datetime.datetime`. No other code ever runs, as none can here;
//! - opcodes that build other objects (`BUILD`, `NEWOBJ`, `INST`, `OBJ`),
//!   persistent ids, extension codes, out-of-band buffers;
//! - a value that contains itself (`l = []; l.append(l)`);
//! - a list, dict, set or bytearray as a dict key or set member (Python
//!   refuses them too);
//! - two keys of one dict, or two members of one set, that Python holds
//!   equal (`{1: 'a', True: 'b'}`): Python would merge them, CPython never
//!   writes them;
//! - protocol 0 text that CPython would read in its own way (`I010` is 8
//!   in base 0, `I+1` is `True`): only the forms `repr` writes are read;
//! - strings that are not UTF-8, or that hold lone surrogates (Python
//!   allows them; Rust's `str` cannot hold them);
//! - unknown opcodes (the error gives the byte and its offset), a missing
//!   `STOP`, and bytes after `STOP` (which Python ignores).
//!
//! A dict or set keeps its items in the pickle's order.
//!
//! # Bounds
//!
//! A hostile pickle costs bounded time and memory, both in proportion to
//! its length ([`Limits`]):
//! - nesting depth: at most [`Limits::DEFAULT_MAX_DEPTH`] (1,000) levels,
//!   which is what CPython 3.6 to 3.11 write under their default recursion
//!   limit (998 levels of tuples, 499 of lists or dicts). CPython 3.12
//!   writes up to 1,498, and 3.13 up to 9,999: raise the limit for those.
//!   Decoding never recurses, whatever the limit; but dropping, encoding,
//!   comparing, printing or cloning a [`Value`] recurse once per level. At
//!   the default, a debug build does all but `clone` on a 2 MiB thread
//!   stack (the default for spawned threads; `clone` needs about 2 MiB);
//!   each further 1,000 levels take about 0.2 MiB more to drop and 0.5 MiB
//!   to encode;
//! - decoded size: at most [`Limits::DEFAULT_MAX_EXPANSION`] times the
//!   pickle's length, counted as the bytes the [`Value`] takes (32 per
//!   value, plus text and bytes), with a shared reference counted each
//!   time it is copied. An unshared pickle takes at most 32 times its
//!   length;
//! - while it decodes, the decoder also holds an index of the pickle's
//!   values (40 bytes for each value opcode, 4 for each stack entry, one
//!   memo entry for each memo opcode): at most about 44 bytes per byte of
//!   pickle, freed when decoding ends;
//! - memo indices are map keys, so a `LONG_BINPUT` of `2**32 - 1` costs
//!   one entry;
//! - no allocation from a declared length (`BINUNICODE8`, `BINBYTES8`,
//!   `FRAME`, `LONG4`): each is checked against the bytes present;
//! - decoding never recurses, so no input can overflow the stack.
//!
//! Raise them for a trusted peer that sends deeper or more shared data:
//!
//! ```
//! use ipcwire::pickle::{Limits, Value};
//! let x = ipcwire::pickle::to_vec(&vec![vec![0; 100]; 100]);
//! let limits = Limits::new().max_depth(20_000).max_expansion(1_000);
//! let v: Value = limits.from_slice(&x)?;
//! # Ok::<(), ipcwire::pickle::PickleError>(())
//! ```
//!
//! Over a [`Connection`](crate::Connection), receive the bytes and decode
//! them: `limits.from_slice::<T>(&conn.recv_bytes()?)`.
//!
//! # Encoding
//!
//! [`to_vec`] writes protocol 4, which every CPython from 3.4 loads as an
//! equal value of the same types: `str` from Rust strings, `int`s exact at
//! any size, floats bit for bit. A [`Value`] that no Python object could be
//! (a list as a dict key, two equal keys) encodes all the same, and Python
//! refuses or merges it as it loads. The same value always gives the same
//! bytes, so a send paused part-way (`Io(EAGAIN)`) can be finished by
//! sending the same value again.
#![forbid(unsafe_code)]

mod build;
mod convert;
mod decode;
mod encode;
mod error;
mod keys;
mod opcode;
mod value;

use alloc::vec::Vec;

pub use convert::FromPickle;
pub use encode::{Encoder, ToPickle};
pub use error::{GlobalName, PickleError};
pub use value::{BigInt, Bytes, OutOfRange, Value};

/// Decodes a pickle into a `T`, within the default [`Limits`].
///
/// # Errors
/// [`PickleError`]: the pickle is malformed, refused, over a limit, or not
/// a `T`.
pub fn from_slice<T: FromPickle>(pickle: &[u8]) -> Result<T, PickleError> {
    Limits::new().from_slice(pickle)
}

/// Encodes `value` as a protocol 4 pickle.
///
/// ```
/// assert_eq!(ipcwire::pickle::to_vec(&1000), b"\x80\x04M\xe8\x03.");
/// ```
pub fn to_vec<T: ToPickle + ?Sized>(value: &T) -> Vec<u8> {
    // Room for a scalar or a small dict, so most messages allocate once.
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(&[opcode::PROTO, 4]);
    value.to_pickle(&mut Encoder::new(&mut buf));
    buf.push(opcode::STOP);
    buf
}

/// The bounds a decode works within; see the [module docs](self#bounds).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    max_depth: usize,
    max_expansion: usize,
}

impl Limits {
    /// The default nesting depth: the deepest CPython 3.6 to 3.11 write.
    pub const DEFAULT_MAX_DEPTH: usize = 1_000;
    /// The default bound on the decoded size, as a multiple of the
    /// pickle's length.
    pub const DEFAULT_MAX_EXPANSION: usize = 64;

    /// The defaults.
    #[must_use]
    pub const fn new() -> Limits {
        Limits {
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_expansion: Self::DEFAULT_MAX_EXPANSION,
        }
    }

    /// Values may nest `depth` levels (a top-level list of ints is 1).
    #[must_use]
    pub const fn max_depth(self, depth: usize) -> Limits {
        Limits {
            max_depth: depth,
            ..self
        }
    }

    /// The decoded value may take `multiple` times the pickle's length.
    #[must_use]
    pub const fn max_expansion(self, multiple: usize) -> Limits {
        Limits {
            max_expansion: multiple,
            ..self
        }
    }

    /// Decodes a pickle into a `T` within these limits.
    ///
    /// # Errors
    /// [`PickleError`]: the pickle is malformed, refused, over a limit, or
    /// not a `T`.
    pub fn from_slice<T: FromPickle>(&self, pickle: &[u8]) -> Result<T, PickleError> {
        T::from_pickle(decode::decode(pickle, self)?)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new()
    }
}
