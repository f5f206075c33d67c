//! Python's built-in data values, as Rust holds them.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A Python value of one of the built-in data types.
///
/// Decoding keeps what Python distinguishes: `bytes` from `bytearray`,
/// `tuple` from `list`, `set` from `frozenset`, and a dict's or set's items
/// in the order the pickle gave them. Keys are any value, as in Python
/// (decoding refuses the unhashable ones Python refuses). Two `Value`s
/// compare equal when they have the same types and contents: unlike in
/// Python, `Int(1) != Float(1.0)` and `Bool(true) != Int(1)`, and a
/// `Float(NaN)` equals nothing, itself included.
///
/// Integers that fit in an `i64` are always `Int`; decoding never gives a
/// [`BigInt`] in that range.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int` that fits in an `i64`.
    Int(i64),
    /// An `int` beyond `i64`, exact.
    BigInt(BigInt),
    /// A `float`, bit for bit (NaN payloads, infinities and `-0.0` kept).
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `bytearray`.
    ByteArray(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `list`.
    List(Vec<Value>),
    /// A `dict`: key/value pairs in order.
    Dict(Vec<(Value, Value)>),
    /// A `set`, in the pickle's order.
    Set(Vec<Value>),
    /// A `frozenset`, in the pickle's order.
    FrozenSet(Vec<Value>),
}

impl Value {
    /// The Python type's name: `int`, `str`, `NoneType`, ...
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::ByteArray(_) => "bytearray",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
        }
    }

    /// An `int` of any size, as `Int` when it fits in an `i64`.
    #[must_use]
    pub fn int(n: i128) -> Value {
        match i64::try_from(n) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(BigInt::from(n)),
        }
    }
}

/// An `int` of any size: little-endian two's complement, in the fewest
/// bytes, which is how pickle's `LONG1`/`LONG4` opcodes carry it.
///
/// ```
/// use ipcwire::pickle::BigInt;
/// let n = BigInt::from(-(1i128 << 70));
/// assert_eq!(n.to_string(), "-1180591620717411303424");
/// assert_eq!(i128::try_from(&n), Ok(-(1i128 << 70)));
/// assert_eq!(BigInt::from_le_bytes(&[0xff, 0xff]), BigInt::from(-1));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BigInt {
    le: Vec<u8>,
}

impl BigInt {
    /// The integer whose two's complement little-endian form is `bytes`
    /// (empty is zero), as pickle's `LONG1` carries it.
    #[must_use]
    pub fn from_le_bytes(bytes: &[u8]) -> BigInt {
        BigInt {
            le: minimal(bytes).to_vec(),
        }
    }

    /// The two's complement little-endian bytes, in the fewest bytes that
    /// keep the sign (zero is empty).
    #[must_use]
    pub fn to_le_bytes(&self) -> &[u8] {
        &self.le
    }

    /// Whether the integer is below zero.
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.le.last().is_some_and(|&b| b & 0x80 != 0)
    }

    /// The number of bits of the magnitude, as Python's `int.bit_length()`.
    #[must_use]
    pub fn bit_length(&self) -> u64 {
        let mut magnitude = self.le.clone();
        if self.is_negative() {
            negate(&mut magnitude);
        }
        let top = magnitude.iter().rposition(|&b| b != 0);
        top.map_or(0, |i| {
            i as u64 * 8 + u64::from(8 - magnitude[i].leading_zeros())
        })
    }
}

/// `bytes` without the high bytes that repeat the sign.
pub(crate) fn minimal(bytes: &[u8]) -> &[u8] {
    let mut len = bytes.len();
    while len > 0 {
        let top = bytes[len - 1];
        let below_negative = len >= 2 && bytes[len - 2] & 0x80 != 0;
        let redundant = (top == 0 && !below_negative) || (top == 0xff && below_negative);
        let zero_alone = len == 1 && top == 0;
        if !(redundant || zero_alone) {
            break;
        }
        len -= 1;
    }
    &bytes[..len]
}

/// Two's complement negation in place.
pub(crate) fn negate(le: &mut [u8]) {
    let mut carry = true;
    for b in le.iter_mut() {
        let (sum, overflow) = (!*b).overflowing_add(u8::from(carry));
        *b = sum;
        carry = overflow;
    }
}

impl From<i128> for BigInt {
    fn from(n: i128) -> BigInt {
        BigInt::from_le_bytes(&n.to_le_bytes())
    }
}

macro_rules! bigint_from {
    ($($t:ty)*) => {$(
        impl From<$t> for BigInt {
            fn from(n: $t) -> BigInt {
                BigInt::from(n as i128)
            }
        }
    )*};
}
bigint_from!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize);

impl From<u128> for BigInt {
    fn from(n: u128) -> BigInt {
        let mut le = [0; 17];
        le[..16].copy_from_slice(&n.to_le_bytes());
        BigInt::from_le_bytes(&le)
    }
}

/// Fits the integer in `N` bytes of two's complement, sign-extended.
fn extend<const N: usize>(n: &BigInt) -> Option<[u8; N]> {
    if n.le.len() > N {
        return None;
    }
    let fill = if n.is_negative() { 0xff } else { 0 };
    let mut out = [fill; N];
    out[..n.le.len()].copy_from_slice(&n.le);
    Some(out)
}

/// The integer does not fit the Rust type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutOfRange;

impl TryFrom<&BigInt> for i128 {
    type Error = OutOfRange;
    fn try_from(n: &BigInt) -> Result<i128, OutOfRange> {
        extend::<16>(n).map(i128::from_le_bytes).ok_or(OutOfRange)
    }
}

impl TryFrom<&BigInt> for u128 {
    type Error = OutOfRange;
    fn try_from(n: &BigInt) -> Result<u128, OutOfRange> {
        if n.is_negative() {
            return Err(OutOfRange);
        }
        let wide = extend::<17>(n).ok_or(OutOfRange)?;
        if wide[16] != 0 {
            return Err(OutOfRange);
        }
        let mut le = [0; 16];
        le.copy_from_slice(&wide[..16]);
        Ok(u128::from_le_bytes(le))
    }
}

/// Python refuses to print an `int` of more decimal digits than this
/// (`sys.get_int_max_str_digits()`), since the conversion is quadratic;
/// larger ones are shown in hexadecimal here.
const MAX_DECIMAL_DIGITS: u64 = 4300;

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut magnitude = self.le.clone();
        let sign = if self.is_negative() {
            negate(&mut magnitude);
            "-"
        } else {
            ""
        };
        // Each byte is at most 2.41 decimal digits.
        if magnitude.len() as u64 * 241 / 100 > MAX_DECIMAL_DIGITS {
            f.write_str(sign)?;
            f.write_str("0x")?;
            let top = magnitude.iter().rposition(|&b| b != 0).unwrap_or(0);
            for b in magnitude[..=top].iter().rev() {
                write!(f, "{b:02x}")?;
            }
            return Ok(());
        }
        let mut digits = Vec::new();
        while magnitude.iter().any(|&b| b != 0) {
            // Divide by 10^9, most significant byte first.
            let mut rem: u64 = 0;
            for b in magnitude.iter_mut().rev() {
                let cur = (rem << 8) | u64::from(*b);
                *b = (cur / 1_000_000_000) as u8;
                rem = cur % 1_000_000_000;
            }
            digits.push(rem as u32);
        }
        f.write_str(sign)?;
        match digits.split_last() {
            None => f.write_str("0"),
            Some((top, rest)) => {
                write!(f, "{top}")?;
                rest.iter().rev().try_for_each(|d| write!(f, "{d:09}"))
            }
        }
    }
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Python `bytes`, for Rust's byte containers: a `Vec<u8>` alone is a list
/// of ints, as Python's `list(b"ab")` is.
///
/// Send any `AsRef<[u8]>` (`Bytes(&data[..])`, `Bytes(vec)`), receive
/// `Bytes<Vec<u8>>` (which takes `bytes` or `bytearray`).
///
/// ```
/// use ipcwire::pickle::{self, Bytes};
/// let encoded = pickle::to_vec(&Bytes(b"abc"));
/// let decoded: Bytes = pickle::from_slice(&encoded)?;
/// assert_eq!(decoded.0, b"abc");
/// # Ok::<(), ipcwire::pickle::PickleError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes<B = Vec<u8>>(pub B);
