//! Python's equality of dict keys and set members, to find a pickle that
//! repeats one.
//!
//! CPython never writes two equal keys in one dict (nor two equal members
//! in one set), but a hand-made pickle can: `{1: 'a', True: 'b'}`. Python
//! would merge them (`1 == True == 1.0`); decoding refuses them instead.
//! Each key is written as a canonical byte string, equal exactly when
//! Python's `==` says the keys are equal, and the strings are sorted.

use alloc::vec::Vec;

use super::error::PickleError;
use super::value::{minimal, negate, Value};

/// Refuses `keys` if Python would hold two of them equal.
pub(super) fn check_distinct<'v>(
    keys: impl Iterator<Item = &'v Value> + Clone,
) -> Result<(), PickleError> {
    let repeated = if keys.clone().all(|k| matches!(k, Value::Str(_))) {
        // The common case needs no canonical forms: strings equal only
        // strings. A few, as most dicts sent have, are compared pair by
        // pair without allocating.
        if keys.clone().nth(FEW).is_none() {
            keys.clone()
                .enumerate()
                .any(|(i, k)| keys.clone().skip(i + 1).any(|other| other == k))
        } else {
            let mut strs: Vec<&Value> = keys.collect();
            strs.sort_unstable_by(|a, b| text(a).cmp(text(b)));
            strs.windows(2).any(|w| w[0] == w[1])
        }
    } else {
        // A key holding a NaN equals no other key (NaN != NaN).
        let mut canon: Vec<Vec<u8>> = keys.filter_map(canonical).collect();
        canon.sort_unstable();
        canon.windows(2).any(|w| w[0] == w[1])
    };
    if repeated {
        return Err(PickleError::RepeatedKey);
    }
    Ok(())
}

/// Up to this many string keys are compared pair by pair.
const FEW: usize = 16;

fn text(key: &Value) -> &str {
    match key {
        Value::Str(s) => s,
        _ => "",
    }
}

// The first byte of each canonical form.
const NONE: u8 = 0;
const INTEGER: u8 = 1;
const FLOAT: u8 = 2;
const STR: u8 = 3;
const BYTES: u8 = 4;
const TUPLE: u8 = 5;
const FROZENSET: u8 = 6;

/// What is left to do, walking a key without recursion.
enum Step<'v> {
    Enter(&'v Value),
    /// The last `count` forms are a tuple's items, or a frozenset's.
    Close {
        tag: u8,
        count: usize,
    },
}

/// A byte string equal for keys Python holds equal, or `None` for a key
/// that holds a NaN. Each form is its tag, its payload's length and the
/// payload, so forms concatenate unambiguously.
fn canonical(key: &Value) -> Option<Vec<u8>> {
    let mut steps = alloc::vec![Step::Enter(key)];
    let mut forms: Vec<Vec<u8>> = Vec::new();
    while let Some(step) = steps.pop() {
        match step {
            Step::Enter(Value::Tuple(items)) => {
                steps.push(Step::Close {
                    tag: TUPLE,
                    count: items.len(),
                });
                steps.extend(items.iter().rev().map(Step::Enter));
            }
            Step::Enter(Value::FrozenSet(items)) => {
                steps.push(Step::Close {
                    tag: FROZENSET,
                    count: items.len(),
                });
                steps.extend(items.iter().map(Step::Enter));
            }
            Step::Enter(leaf) => forms.push(leaf_form(leaf)?),
            Step::Close { tag, count } => {
                let mut items = forms.split_off(forms.len() - count);
                if tag == FROZENSET {
                    items.sort_unstable();
                }
                forms.push(form(tag, &items.concat()));
            }
        }
    }
    forms.pop()
}

fn form(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + payload.len());
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Numbers equal across types (`True == 1 == 1.0`, `-0.0 == 0`) share the
/// integer form; other floats keep their bits.
fn leaf_form(leaf: &Value) -> Option<Vec<u8>> {
    Some(match leaf {
        Value::None => form(NONE, &[]),
        Value::Bool(b) => form(INTEGER, minimal(&[u8::from(*b)])),
        Value::Int(n) => form(INTEGER, minimal(&n.to_le_bytes())),
        Value::BigInt(n) => form(INTEGER, n.to_le_bytes()),
        Value::Float(x) if x.is_nan() => return None,
        Value::Float(x) if is_integral(*x) => form(INTEGER, minimal(&float_integer(*x))),
        Value::Float(x) => form(FLOAT, &x.to_bits().to_le_bytes()),
        Value::Str(s) => form(STR, s.as_bytes()),
        Value::Bytes(b) | Value::ByteArray(b) => form(BYTES, b),
        // Unhashable, so refused before keys are compared.
        _ => form(u8::MAX, &[]),
    })
}

/// Whether `x` is a finite whole number (`f64::fract` needs `std`).
fn is_integral(x: f64) -> bool {
    // From 2**52 up, every finite `f64` is whole; below, `as` truncates.
    let magnitude = if x < 0.0 { -x } else { x };
    x.is_finite() && (magnitude >= 4_503_599_627_370_496.0 || (x as i64) as f64 == x)
}

/// An integral, finite `x` as two's complement little-endian bytes.
fn float_integer(x: f64) -> Vec<u8> {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = if (bits >> 52) & 0x7ff == 0 {
        (bits & ((1 << 52) - 1)) << 1
    } else {
        (bits & ((1 << 52) - 1)) | (1 << 52)
    };
    // |x| = mantissa * 2**exponent; integral, so a negative exponent only
    // shifts out zero bits.
    let mut magnitude = Vec::new();
    if exponent < 0 {
        let shift = (-exponent).min(63) as u32;
        magnitude.extend_from_slice(&(mantissa >> shift).to_le_bytes());
    } else {
        let exponent = exponent as usize;
        magnitude.resize(exponent / 8, 0);
        let wide = u128::from(mantissa) << (exponent % 8);
        magnitude.extend_from_slice(&wide.to_le_bytes());
    }
    magnitude.push(0);
    if x < 0.0 {
        negate(&mut magnitude);
    }
    magnitude
}
