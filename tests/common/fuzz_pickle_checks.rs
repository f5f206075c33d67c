//! The properties the pickle fuzz targets check, shared with the plain
//! `cargo test` replay of the committed corpus (`tests/fuzz_replay.rs`).
//! Here rather than in `fuzz/`, which is not published.
#![allow(dead_code)] // each fuzz target uses one check

use std::collections::HashMap;

use ipcwire::pickle::{self, BigInt, Bytes, Limits, PickleError, Value};

/// The values directly inside `v`: items, or keys and values.
fn children(v: &Value) -> Vec<&Value> {
    match v {
        Value::Tuple(items) | Value::List(items) | Value::Set(items) | Value::FrozenSet(items) => {
            items.iter().collect()
        }
        Value::Dict(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

fn is_container(v: &Value) -> bool {
    matches!(
        v,
        Value::Tuple(_) | Value::List(_) | Value::Set(_) | Value::FrozenSet(_) | Value::Dict(_)
    )
}

/// Bytes a value takes, as the decoder's budget counts them: 32 for each
/// value (the root, and each item in a container's array), plus text,
/// bytes and big integers.
fn footprint(v: &Value) -> usize {
    let mut total = std::mem::size_of::<Value>();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::Str(s) => s.len(),
            Value::Bytes(b) | Value::ByteArray(b) => b.len(),
            Value::BigInt(n) => n.to_le_bytes().len(),
            _ => 0,
        };
        let items = children(v);
        total += items.len() * std::mem::size_of::<Value>();
        stack.extend(items);
    }
    total
}

/// Container levels: a list of ints is 1.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        if is_container(v) {
            deepest = deepest.max(d + 1);
            stack.extend(children(v).into_iter().map(|i| (i, d + 1)));
        }
    }
    deepest
}

/// `pickle_decode`: any bytes decode to a value within the limits, or to an
/// error; never a panic. With the first byte's top bit set, its other bits
/// pick small limits, so that they are hit often.
pub fn pickle_decode(data: &[u8]) {
    let (max_depth, max_expansion, pickle) = match data.split_first() {
        Some((&b, rest)) if b & 0x80 != 0 => {
            (usize::from(b & 0x0f), usize::from((b >> 4) & 0x07), rest)
        }
        _ => (
            Limits::DEFAULT_MAX_DEPTH,
            Limits::DEFAULT_MAX_EXPANSION,
            data,
        ),
    };
    let limits = Limits::new()
        .max_depth(max_depth)
        .max_expansion(max_expansion);
    match limits.from_slice::<Value>(pickle) {
        Ok(v) => {
            let limit = pickle.len() * max_expansion;
            let used = footprint(&v);
            assert!(used <= limit, "{used} bytes, over the limit {limit}");
            assert!(depth(&v) <= max_depth, "deeper than {max_depth}");
            // Typed decoding of the same bytes never panics either.
            let _ = limits.from_slice::<i64>(pickle);
            let _ = limits.from_slice::<Vec<Value>>(pickle);
            let _ = limits.from_slice::<HashMap<String, Value>>(pickle);
            let _ = limits.from_slice::<(Bytes, Option<f32>, u8)>(pickle);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            if let PickleError::Global { name, .. } = e {
                assert!(name.as_str().len() <= 64);
            }
        }
    }
}

/// `pickle_roundtrip`: whatever decodes re-encodes to a pickle that decodes
/// to the same value, bit for bit (encoding is a fixed point); and any value
/// built from the input survives encode then decode.
pub fn pickle_roundtrip(data: &[u8]) {
    if let Ok(v) = pickle::from_slice::<Value>(data) {
        same_after_roundtrip(&v);
    }
    let v = build(&mut Input(data), 0, false);
    same_after_roundtrip(&v);
}

fn same_after_roundtrip(v: &Value) {
    let bytes = pickle::to_vec(v);
    let back: Value =
        pickle::from_slice(&bytes).unwrap_or_else(|e| panic!("own encoding of {v:?} refused: {e}"));
    assert_eq!(pickle::to_vec(&back), bytes, "{v:?} came back as {back:?}");
}

/// Reads fuzz input front to back; past the end it yields zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| acc << 8 | u64::from(self.byte()))
    }

    fn chunk(&mut self, max: usize) -> &'a [u8] {
        let want = usize::from(self.byte()) % (max + 1);
        let (chunk, rest) = self.0.split_at(want.min(self.0.len()));
        self.0 = rest;
        chunk
    }
}

/// A value of any type from the input, at most 6 levels deep; dict keys
/// and set members are `hashable` and distinct, as Python requires.
fn build(input: &mut Input<'_>, level: usize, hashable: bool) -> Value {
    let kind = input.byte() % 13;
    let leaf = level >= 6 || input.0.is_empty();
    match kind {
        0 => Value::None,
        1 => Value::Bool(input.byte() & 1 == 1),
        2 => Value::Int(input.u64() as i64),
        3 => {
            let n = BigInt::from_le_bytes(input.chunk(40));
            match i128::try_from(&n).ok().and_then(|n| i64::try_from(n).ok()) {
                Some(small) => Value::Int(small),
                None => Value::BigInt(n),
            }
        }
        4 => Value::Float(f64::from_bits(input.u64())),
        5 => Value::Str(String::from_utf8_lossy(input.chunk(300)).into_owned()),
        6 => Value::Bytes(input.chunk(300).to_vec()),
        7 if !hashable => Value::ByteArray(input.chunk(300).to_vec()),
        _ if leaf => Value::None,
        8 => Value::Tuple(items(input, level, hashable)),
        9 if !hashable => Value::List(items(input, level, false)),
        10 if !hashable => {
            let n = usize::from(input.byte() % 6);
            Value::Dict(
                (0..n)
                    .map(|i| (key(input, level, i), build(input, level + 1, false)))
                    .collect(),
            )
        }
        11 if !hashable => Value::Set(keys(input, level)),
        _ => Value::FrozenSet(keys(input, level)),
    }
}

/// Dict keys and set members must differ as Python compares them, or the
/// decoder refuses them: each is a tuple that starts with its index.
fn key(input: &mut Input<'_>, level: usize, i: usize) -> Value {
    Value::Tuple(vec![Value::Int(i as i64), build(input, level + 1, true)])
}

fn keys(input: &mut Input<'_>, level: usize) -> Vec<Value> {
    let n = usize::from(input.byte() % 6);
    (0..n).map(|i| key(input, level, i)).collect()
}

fn items(input: &mut Input<'_>, level: usize, hashable: bool) -> Vec<Value> {
    let n = usize::from(input.byte() % 6);
    (0..n).map(|_| build(input, level + 1, hashable)).collect()
}
