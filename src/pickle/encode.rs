//! The pickler: protocol 4, which every CPython from 3.4 on loads.
//!
//! Output is deterministic (the same value gives the same bytes), has no
//! memo and no frames (both optional for readers), and uses the shortest
//! opcode for each value, as CPython does.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use super::opcode as op;
use super::value::{minimal, BigInt, Bytes, Value};

/// A Rust value that encodes as a Python object.
///
/// Implement it for your own types with the [`Encoder`]'s methods; a
/// struct usually becomes a dict or a tuple:
///
/// ```
/// use ipcwire::pickle::{self, Encoder, ToPickle};
/// struct Job { id: u32, name: String }
/// impl ToPickle for Job {
///     fn to_pickle(&self, out: &mut Encoder<'_>) {
///         out.dict(|out| {
///             out.str("id");
///             out.value(&self.id);
///             out.str("name");
///             out.value(&self.name);
///         });
///     }
/// }
/// let bytes = pickle::to_vec(&Job { id: 7, name: "build".into() });
/// assert_eq!(bytes, b"\x80\x04}(\x8c\x02idK\x07\x8c\x04name\x8c\x05buildu.");
/// ```
pub trait ToPickle {
    /// Writes `self` as one Python object.
    fn to_pickle(&self, out: &mut Encoder<'_>);
}

/// Writes Python objects as pickle opcodes into a byte vector.
#[derive(Debug)]
pub struct Encoder<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `buf`. A whole pickle also needs the
    /// protocol header and `STOP`: [`to_vec`](super::to_vec) adds them.
    pub fn new(buf: &'a mut Vec<u8>) -> Encoder<'a> {
        Encoder { buf }
    }

    /// Writes any [`ToPickle`] value.
    pub fn value<T: ToPickle + ?Sized>(&mut self, value: &T) {
        value.to_pickle(self);
    }

    /// `None`.
    pub fn none(&mut self) {
        self.buf.push(op::NONE);
    }

    /// `True` or `False`.
    pub fn bool(&mut self, b: bool) {
        self.buf.push(if b { op::NEWTRUE } else { op::NEWFALSE });
    }

    /// An `int`.
    pub fn int(&mut self, n: i128) {
        if let Ok(small) = u8::try_from(n) {
            self.buf.extend_from_slice(&[op::BININT1, small]);
        } else if let Ok(short) = u16::try_from(n) {
            self.buf.push(op::BININT2);
            self.buf.extend_from_slice(&short.to_le_bytes());
        } else if let Ok(word) = i32::try_from(n) {
            self.buf.push(op::BININT);
            self.buf.extend_from_slice(&word.to_le_bytes());
        } else {
            self.long(minimal(&n.to_le_bytes()));
        }
    }

    /// An `int` of any size.
    ///
    /// # Panics
    /// If `n` takes more than `2**31 - 1` bytes, which no pickle can carry.
    pub fn big_int(&mut self, n: &BigInt) {
        match i128::try_from(n) {
            Ok(n) => self.int(n),
            Err(_) => self.long(n.to_le_bytes()),
        }
    }

    /// `LONG1` or `LONG4` of minimal two's complement bytes.
    fn long(&mut self, le: &[u8]) {
        match u8::try_from(le.len()) {
            Ok(len) => self.buf.extend_from_slice(&[op::LONG1, len]),
            Err(_) => {
                self.buf.push(op::LONG4);
                let len = i32::try_from(le.len()).expect("an int of at most 2**31 - 1 bytes");
                self.buf.extend_from_slice(&len.to_le_bytes());
            }
        }
        self.buf.extend_from_slice(le);
    }

    /// A `float`, bit for bit.
    pub fn float(&mut self, x: f64) {
        self.buf.push(op::BINFLOAT);
        self.buf.extend_from_slice(&x.to_be_bytes());
    }

    /// A `str`.
    pub fn str(&mut self, s: &str) {
        self.sized(
            [op::SHORT_BINUNICODE, op::BINUNICODE, op::BINUNICODE8],
            s.as_bytes(),
        );
    }

    /// A `bytes`.
    pub fn bytes(&mut self, b: &[u8]) {
        self.sized([op::SHORT_BINBYTES, op::BINBYTES, op::BINBYTES8], b);
    }

    /// A `bytearray`: `bytearray(b"...")` by `REDUCE`, as protocol 4 has
    /// no opcode of its own for it.
    pub fn bytearray(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b"cbuiltins\nbytearray\n");
        self.bytes(b);
        self.buf.extend_from_slice(&[op::TUPLE1, op::REDUCE]);
    }

    /// The opcode with a 1-, 4- or 8-byte length that fits, then the data.
    fn sized(&mut self, [short, long, huge]: [u8; 3], data: &[u8]) {
        if let Ok(len) = u8::try_from(data.len()) {
            self.buf.extend_from_slice(&[short, len]);
        } else if let Ok(len) = u32::try_from(data.len()) {
            self.buf.push(long);
            self.buf.extend_from_slice(&len.to_le_bytes());
        } else {
            self.buf.push(huge);
            self.buf
                .extend_from_slice(&(data.len() as u64).to_le_bytes());
        }
        self.buf.extend_from_slice(data);
    }

    /// A `tuple` of `len` items, which `items` must write.
    pub fn tuple(&mut self, len: usize, items: impl FnOnce(&mut Self)) {
        if len > 3 {
            self.buf.push(op::MARK);
        }
        items(self);
        self.buf.push(match len {
            0 => op::EMPTY_TUPLE,
            1 => op::TUPLE1,
            2 => op::TUPLE2,
            3 => op::TUPLE3,
            _ => op::TUPLE,
        });
    }

    /// A `list` of the items `items` writes.
    pub fn list(&mut self, items: impl FnOnce(&mut Self)) {
        self.buf.push(op::EMPTY_LIST);
        self.marked(op::APPENDS, items);
    }

    /// A `dict`: `items` writes a key, then its value, for each entry.
    pub fn dict(&mut self, items: impl FnOnce(&mut Self)) {
        self.buf.push(op::EMPTY_DICT);
        self.marked(op::SETITEMS, items);
    }

    /// A `set` of the items `items` writes.
    pub fn set(&mut self, items: impl FnOnce(&mut Self)) {
        self.buf.push(op::EMPTY_SET);
        self.marked(op::ADDITEMS, items);
    }

    /// A `frozenset` of the items `items` writes.
    pub fn frozenset(&mut self, items: impl FnOnce(&mut Self)) {
        self.buf.push(op::MARK);
        items(self);
        self.buf.push(op::FROZENSET);
    }

    /// `MARK`, the items, then `closer`; nothing at all when there are no
    /// items (the empty container is already on the stack).
    fn marked(&mut self, closer: u8, items: impl FnOnce(&mut Self)) {
        let start = self.buf.len();
        self.buf.push(op::MARK);
        items(self);
        if self.buf.len() == start + 1 {
            self.buf.truncate(start);
        } else {
            self.buf.push(closer);
        }
    }
}

impl ToPickle for Value {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        match self {
            Value::None => out.none(),
            Value::Bool(b) => out.bool(*b),
            Value::Int(n) => out.int((*n).into()),
            Value::BigInt(n) => out.big_int(n),
            Value::Float(x) => out.float(*x),
            Value::Str(s) => out.str(s),
            Value::Bytes(b) => out.bytes(b),
            Value::ByteArray(b) => out.bytearray(b),
            Value::Tuple(items) => {
                out.tuple(items.len(), |out| items.iter().for_each(|v| out.value(v)))
            }
            Value::List(items) => out.list(|out| items.iter().for_each(|v| out.value(v))),
            Value::Set(items) => out.set(|out| items.iter().for_each(|v| out.value(v))),
            Value::FrozenSet(items) => out.frozenset(|out| items.iter().for_each(|v| out.value(v))),
            Value::Dict(pairs) => out.dict(|out| {
                for (k, v) in pairs {
                    out.value(k);
                    out.value(v);
                }
            }),
        }
    }
}

impl ToPickle for BigInt {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.big_int(self);
    }
}

impl ToPickle for () {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.none();
    }
}

impl ToPickle for bool {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.bool(*self);
    }
}

macro_rules! int_to_pickle {
    ($($t:ty)*) => {$(
        impl ToPickle for $t {
            fn to_pickle(&self, out: &mut Encoder<'_>) {
                out.int(*self as i128);
            }
        }
    )*};
}
int_to_pickle!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 usize);

impl ToPickle for u128 {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        match i128::try_from(*self) {
            Ok(n) => out.int(n),
            Err(_) => out.big_int(&BigInt::from(*self)),
        }
    }
}

impl ToPickle for f64 {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.float(*self);
    }
}

impl ToPickle for f32 {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.float((*self).into());
    }
}

impl ToPickle for str {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.str(self);
    }
}

impl ToPickle for String {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.str(self);
    }
}

impl<B: AsRef<[u8]>> ToPickle for Bytes<B> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.bytes(self.0.as_ref());
    }
}

impl<T: ToPickle + ?Sized> ToPickle for &T {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        (**self).to_pickle(out);
    }
}

impl<T: ToPickle + ?Sized> ToPickle for alloc::boxed::Box<T> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        (**self).to_pickle(out);
    }
}

impl<T: ToPickle> ToPickle for Option<T> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        match self {
            Some(v) => v.to_pickle(out),
            None => out.none(),
        }
    }
}

impl<T: ToPickle> ToPickle for [T] {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.list(|out| self.iter().for_each(|v| out.value(v)));
    }
}

impl<T: ToPickle, const N: usize> ToPickle for [T; N] {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        self.as_slice().to_pickle(out);
    }
}

impl<T: ToPickle> ToPickle for Vec<T> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        self.as_slice().to_pickle(out);
    }
}

impl<K: ToPickle, V: ToPickle> ToPickle for BTreeMap<K, V> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.dict(|out| {
            for (k, v) in self {
                out.value(k);
                out.value(v);
            }
        });
    }
}

impl<T: ToPickle> ToPickle for BTreeSet<T> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.set(|out| self.iter().for_each(|v| out.value(v)));
    }
}

#[cfg(feature = "std")]
impl<K: ToPickle, V: ToPickle, S> ToPickle for std::collections::HashMap<K, V, S> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.dict(|out| {
            for (k, v) in self {
                out.value(k);
                out.value(v);
            }
        });
    }
}

#[cfg(feature = "std")]
impl<T: ToPickle, S> ToPickle for std::collections::HashSet<T, S> {
    fn to_pickle(&self, out: &mut Encoder<'_>) {
        out.set(|out| self.iter().for_each(|v| out.value(v)));
    }
}

macro_rules! tuple_to_pickle {
    ($len:literal: $($name:ident)+) => {
        impl<$($name: ToPickle),+> ToPickle for ($($name,)+) {
            #[allow(non_snake_case)]
            fn to_pickle(&self, out: &mut Encoder<'_>) {
                let ($($name,)+) = self;
                out.tuple($len, |out| { $(out.value($name);)+ });
            }
        }
    };
}
tuple_to_pickle!(1: A);
tuple_to_pickle!(2: A B);
tuple_to_pickle!(3: A B C);
tuple_to_pickle!(4: A B C D);
tuple_to_pickle!(5: A B C D E);
tuple_to_pickle!(6: A B C D E F);
tuple_to_pickle!(7: A B C D E F G);
tuple_to_pickle!(8: A B C D E F G H);
tuple_to_pickle!(9: A B C D E F G H I);
tuple_to_pickle!(10: A B C D E F G H I J);
tuple_to_pickle!(11: A B C D E F G H I J K);
tuple_to_pickle!(12: A B C D E F G H I J K L);
