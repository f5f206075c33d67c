//! Typed decoding: a [`Value`] into the Rust type asked for.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use super::error::PickleError;
use super::value::{BigInt, Bytes, Value};

/// A Rust type that a decoded Python object converts into.
///
/// Conversions check the type and the range, and never guess: see the
/// table in the [module docs](super). Implement it for your own types by
/// matching on the [`Value`]:
///
/// ```
/// use ipcwire::pickle::{self, FromPickle, PickleError, Value};
/// struct Point(i64, i64);
/// impl FromPickle for Point {
///     fn from_pickle(value: Value) -> Result<Self, PickleError> {
///         let (x, y) = FromPickle::from_pickle(value)?;
///         Ok(Point(x, y))
///     }
/// }
/// let p: Point = pickle::from_slice(&pickle::to_vec(&(3, -4)))?;
/// assert_eq!((p.0, p.1), (3, -4));
/// # Ok::<(), PickleError>(())
/// ```
pub trait FromPickle: Sized {
    /// Converts a decoded value, or says what was expected and what came.
    fn from_pickle(value: Value) -> Result<Self, PickleError>;
}

fn wrong(expected: &'static str, found: &Value) -> PickleError {
    PickleError::Type {
        expected,
        found: found.type_name(),
    }
}

/// A dict's pairs, converted, into any map.
fn dict<K: FromPickle, V: FromPickle, M: FromIterator<(K, V)>>(
    value: Value,
) -> Result<M, PickleError> {
    match value {
        Value::Dict(pairs) => pairs
            .into_iter()
            .map(|(k, v)| Ok((K::from_pickle(k)?, V::from_pickle(v)?)))
            .collect(),
        other => Err(wrong("dict", &other)),
    }
}

/// A set's or frozenset's members, converted, into any set.
fn set<T: FromPickle, C: FromIterator<T>>(value: Value) -> Result<C, PickleError> {
    match value {
        Value::Set(items) | Value::FrozenSet(items) => {
            items.into_iter().map(T::from_pickle).collect()
        }
        other => Err(wrong("set", &other)),
    }
}

impl FromPickle for Value {
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        Ok(value)
    }
}

impl FromPickle for () {
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::None => Ok(()),
            other => Err(wrong("None", &other)),
        }
    }
}

impl FromPickle for bool {
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(wrong("bool", &other)),
        }
    }
}

impl FromPickle for BigInt {
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::Int(n) => Ok(BigInt::from(i128::from(n))),
            Value::BigInt(n) => Ok(n),
            other => Err(wrong("int", &other)),
        }
    }
}

macro_rules! int_from_pickle {
    ($($t:ident)*) => {$(
        impl FromPickle for $t {
            fn from_pickle(value: Value) -> Result<Self, PickleError> {
                let out_of_range = PickleError::OutOfRange {
                    expected: stringify!($t),
                    found: "int",
                };
                match value {
                    Value::Int(n) => $t::try_from(n).map_err(|_| out_of_range),
                    Value::BigInt(ref n) => i128::try_from(n)
                        .ok()
                        .and_then(|n| $t::try_from(n).ok())
                        .or_else(|| u128::try_from(n).ok().and_then(|n| $t::try_from(n).ok()))
                        .ok_or(out_of_range),
                    other => Err(wrong("int", &other)),
                }
            }
        }
    )*};
}
int_from_pickle!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

/// The largest integer every smaller one of which an `f64` holds exactly.
const EXACT_F64: i64 = 1 << 53;

impl FromPickle for f64 {
    /// A `float`, or an `int` that an `f64` holds exactly (Python programs
    /// often send `0` where they mean `0.0`).
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::Float(x) => Ok(x),
            Value::Int(n) if (-EXACT_F64..=EXACT_F64).contains(&n) => Ok(n as f64),
            Value::Int(_) | Value::BigInt(_) => Err(PickleError::OutOfRange {
                expected: "f64",
                found: "int",
            }),
            other => Err(wrong("float", &other)),
        }
    }
}

impl FromPickle for f32 {
    /// As for `f64`, then rounded to the nearest `f32`; a finite value too
    /// large for an `f32` is out of range (as for Python's `struct`).
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        let found = value.type_name();
        let wide = f64::from_pickle(value).map_err(|e| match e {
            PickleError::OutOfRange { found, .. } => PickleError::OutOfRange {
                expected: "f32",
                found,
            },
            other => other,
        })?;
        let narrow = wide as f32;
        if narrow.is_infinite() && wide.is_finite() {
            return Err(PickleError::OutOfRange {
                expected: "f32",
                found,
            });
        }
        Ok(narrow)
    }
}

impl FromPickle for String {
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::Str(s) => Ok(s),
            other => Err(wrong("str", &other)),
        }
    }
}

impl FromPickle for Bytes {
    /// A `bytes` or a `bytearray`.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::Bytes(b) | Value::ByteArray(b) => Ok(Bytes(b)),
            other => Err(wrong("bytes", &other)),
        }
    }
}

impl<T: FromPickle> FromPickle for Option<T> {
    /// `None`, or a `T`.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::None => Ok(None),
            other => T::from_pickle(other).map(Some),
        }
    }
}

impl<T: FromPickle> FromPickle for Vec<T> {
    /// A `list` or a `tuple`.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        match value {
            Value::List(items) | Value::Tuple(items) => {
                items.into_iter().map(T::from_pickle).collect()
            }
            other => Err(wrong("list", &other)),
        }
    }
}

impl<K: FromPickle + Ord, V: FromPickle> FromPickle for BTreeMap<K, V> {
    /// A `dict`; keys that convert to the same Rust key keep the last value.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        dict(value)
    }
}

impl<T: FromPickle + Ord> FromPickle for BTreeSet<T> {
    /// A `set` or a `frozenset`.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        set(value)
    }
}

#[cfg(feature = "std")]
impl<K, V, S> FromPickle for std::collections::HashMap<K, V, S>
where
    K: FromPickle + Eq + core::hash::Hash,
    V: FromPickle,
    S: core::hash::BuildHasher + Default,
{
    /// A `dict`; keys that convert to the same Rust key keep the last value.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        let Value::Dict(pairs) = value else {
            return Err(wrong("dict", &value));
        };
        // Sized once: collecting through `Result` would grow it step by step.
        let mut map = Self::with_capacity_and_hasher(pairs.len(), S::default());
        for (k, v) in pairs {
            map.insert(K::from_pickle(k)?, V::from_pickle(v)?);
        }
        Ok(map)
    }
}

#[cfg(feature = "std")]
impl<T, S> FromPickle for std::collections::HashSet<T, S>
where
    T: FromPickle + Eq + core::hash::Hash,
    S: core::hash::BuildHasher + Default,
{
    /// A `set` or a `frozenset`.
    fn from_pickle(value: Value) -> Result<Self, PickleError> {
        let (Value::Set(items) | Value::FrozenSet(items)) = value else {
            return Err(wrong("set", &value));
        };
        let mut set = Self::with_capacity_and_hasher(items.len(), S::default());
        for item in items {
            set.insert(T::from_pickle(item)?);
        }
        Ok(set)
    }
}

macro_rules! tuple_from_pickle {
    ($len:literal: $($name:ident)+) => {
        impl<$($name: FromPickle),+> FromPickle for ($($name,)+) {
            /// A `tuple` of exactly this length.
            fn from_pickle(value: Value) -> Result<Self, PickleError> {
                let expected = concat!("tuple of ", stringify!($len));
                match value {
                    Value::Tuple(items) if items.len() == $len => {
                        let mut items = items.into_iter();
                        Ok(($($name::from_pickle(items.next().unwrap_or(Value::None))?,)+))
                    }
                    Value::Tuple(_) => Err(PickleError::Type { expected, found: "tuple of another length" }),
                    other => Err(wrong(expected, &other)),
                }
            }
        }
    };
}
tuple_from_pickle!(1: A);
tuple_from_pickle!(2: A B);
tuple_from_pickle!(3: A B C);
tuple_from_pickle!(4: A B C D);
tuple_from_pickle!(5: A B C D E);
tuple_from_pickle!(6: A B C D E F);
tuple_from_pickle!(7: A B C D E F G);
tuple_from_pickle!(8: A B C D E F G H);
tuple_from_pickle!(9: A B C D E F G H I);
tuple_from_pickle!(10: A B C D E F G H I J);
tuple_from_pickle!(11: A B C D E F G H I J K);
tuple_from_pickle!(12: A B C D E F G H I J K L);
