//! W5 and W5-dict: Python objects as pickles, one per message, in two
//! implementations built on ipcwire:
//!
//! - `ipcwire`: `Connection::send` / `recv`, as a program trading objects
//!   with Python calls them; the receiver decodes every message into an
//!   `i64` or a `HashMap<String, i64>` and checks it;
//! - `ipcwire-bytes`, the baseline: `send_bytes` / `recv_bytes_into` of the
//!   very bytes `send` writes. Every pickle is made before the fork, so
//!   before the clock starts, and none is decoded: the receiver compares
//!   each with the pickle it expects. The difference between the two is
//!   what pickling, decoding and their allocations cost.
//!
//! Message `i` of `w5` is the int `i`; of `w5-dict`, the dict
//! `{"f0": 10i, "f1": 10i + 1, …, "f9": 10i + 9}`. `python_bench.py`
//! sends the same objects.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ipcwire::pickle::{self, FromPickle};
use ipcwire::{Connection, Error};

use crate::harness::{self, Checker, Fault};
use crate::workload::{Payload, Spec};
use crate::BoxResult;

/// Fields per dict.
pub const FIELDS: usize = 10;
/// The dict's keys. Sorted, they stay in this order, which [`Dict::set`]
/// relies on.
const KEYS: [&str; FIELDS] = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"];

/// Field `k` of dict `seq`: no two fields of the run hold the same value.
fn field(seq: u64, k: usize) -> i64 {
    // Counts stay far below 2^59, so this never wraps.
    (seq * FIELDS as u64 + k as u64) as i64
}

/// The sender's one dict, its values rewritten in place for each message
/// (as the Python sender does with `dict.update`), so neither side builds
/// a dict per message.
///
/// A `BTreeMap`, not a `HashMap`: its order is fixed, so the same message
/// always pickles to the same bytes, which the baseline depends on, and
/// its keys go out in Python's order.
struct Dict(BTreeMap<String, i64>);

impl Dict {
    fn new() -> Dict {
        Dict(KEYS.iter().map(|key| (key.to_string(), 0)).collect())
    }

    /// Makes the dict message `seq` (values in key order, that is `KEYS`'s).
    fn set(&mut self, seq: u64) -> &BTreeMap<String, i64> {
        for (k, value) in self.0.values_mut().enumerate() {
            *value = field(seq, k);
        }
        &self.0
    }
}

/// Whether `dict` is message `seq`: the ten fields, each with its value.
fn is_dict(dict: &HashMap<String, i64>, seq: u64) -> bool {
    dict.len() == FIELDS
        && KEYS
            .iter()
            .enumerate()
            .all(|(k, key)| dict.get(*key) == Some(&field(seq, k)))
}

/// Calls `f` with every message's pickle in order: exactly the bytes
/// ipcwire's `send` writes for it (`send` is `send_bytes(&to_vec(value))`).
fn each_pickle(spec: &Spec, mut f: impl FnMut(&[u8])) {
    match spec.payload {
        Payload::Ints => (0..spec.count).for_each(|seq| f(&pickle::to_vec(&seq))),
        Payload::Dicts => {
            let mut dict = Dict::new();
            (0..spec.count).for_each(|seq| f(&pickle::to_vec(dict.set(seq))));
        }
        Payload::Frames => {}
    }
}

/// The bytes of all of `spec`'s pickles: what `ipcwire` and
/// `ipcwire-bytes` move, headers excluded.
pub fn total_len(spec: &Spec) -> u64 {
    let mut total = 0;
    each_pickle(spec, |p| total += p.len() as u64);
    total
}

/// `ipcwire`: `send` / `recv`.
pub fn run_objects(spec: &Spec) -> BoxResult<Duration> {
    let (reader, writer) = ipcwire::pipe(false)?;
    match spec.payload {
        Payload::Ints => {
            let send = |conn| send_ints(conn, spec);
            harness::measure(spec, writer, reader, send, receive_ints)
        }
        Payload::Dicts => {
            let send = |conn| send_dicts(conn, spec);
            harness::measure(spec, writer, reader, send, receive_dicts)
        }
        Payload::Frames => Err(format!("{} carries no Python objects", spec.name).into()),
    }
}

fn send_ints(mut conn: Connection, spec: &Spec) -> BoxResult<()> {
    for seq in 0..spec.count {
        conn.send(&seq)?;
    }
    Ok(())
}

fn send_dicts(mut conn: Connection, spec: &Spec) -> BoxResult<()> {
    let mut dict = Dict::new();
    for seq in 0..spec.count {
        conn.send(dict.set(seq))?;
    }
    Ok(())
}

fn receive_ints(conn: Connection, checker: &mut Checker) -> Result<(), Fault> {
    receive_each(conn, |n: i64| {
        checker.accept(u64::try_from(n).map_err(|_| Fault::Order)?)
    })
}

fn receive_dicts(conn: Connection, checker: &mut Checker) -> Result<(), Fault> {
    receive_each(conn, |dict: HashMap<String, i64>| {
        let seq = checker.next();
        if !is_dict(&dict, seq) {
            return Err(Fault::Value);
        }
        checker.accept(seq)
    })
}

/// `recv::<T>()` until end of stream, handing each object to `check`.
fn receive_each<T: FromPickle>(
    mut conn: Connection,
    mut check: impl FnMut(T) -> Result<(), Fault>,
) -> Result<(), Fault> {
    loop {
        match conn.recv::<T>() {
            Ok(value) => check(value)?,
            Err(Error::Eof) => return Ok(()),
            Err(Error::Pickle(_)) => return Err(Fault::Decode),
            Err(_) => return Err(Fault::Recv),
        }
    }
}

/// `ipcwire-bytes`: `send_bytes` / `recv_bytes_into` of pickles made
/// beforehand.
pub fn run_bytes(spec: &Spec) -> BoxResult<Duration> {
    // Before the fork: the child inherits them, and the clock has not started.
    let pickles = Pickles::encode(spec);
    let (reader, writer) = ipcwire::pipe(false)?;
    let send = |conn| send_pickles(conn, &pickles);
    let receive = |conn, checker: &mut Checker| receive_pickles(conn, checker, &pickles);
    harness::measure(spec, writer, reader, send, receive)
}

/// Every message's pickle, back to back in one buffer (one allocation,
/// read front to back by both sides).
struct Pickles {
    bytes: Vec<u8>,
    /// Where each pickle ends in `bytes`.
    ends: Vec<usize>,
}

impl Pickles {
    fn encode(spec: &Spec) -> Pickles {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(spec.count.try_into().unwrap_or(0));
        each_pickle(spec, |p| {
            bytes.extend_from_slice(p);
            ends.push(bytes.len());
        });
        Pickles { bytes, ends }
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let pickle = &self.bytes[start..end];
            start = end;
            pickle
        })
    }

    fn longest(&self) -> usize {
        self.iter().map(<[u8]>::len).max().unwrap_or(0)
    }
}

fn send_pickles(mut conn: Connection, pickles: &Pickles) -> BoxResult<()> {
    for pickle in pickles.iter() {
        conn.send_bytes(pickle)?;
    }
    Ok(())
}

/// Receives into one reused buffer and compares each message with the
/// pickle expected next: one short `memcmp`, no decoding.
fn receive_pickles(
    mut conn: Connection,
    checker: &mut Checker,
    pickles: &Pickles,
) -> Result<(), Fault> {
    let mut buf = vec![0; pickles.longest()];
    let mut expected = pickles.iter().zip(0..);
    loop {
        let n = match conn.recv_bytes_into(&mut buf) {
            Ok(n) => n,
            Err(Error::Eof) => return Ok(()),
            Err(_) => return Err(Fault::Recv),
        };
        // A message beyond the last one sent is out of order.
        let (want, seq) = expected.next().ok_or(Fault::Order)?;
        if buf[..n] != *want {
            return Err(Fault::Value);
        }
        checker.accept(seq)?;
    }
}
