//! Python objects over real connections: a wrong type or a refused pickle
//! leaves the connection usable; and between Rust and every CPython found
//! (`tests/py/pickles.py`):
//! the classic Pipe + Process program in both roles, a corpus of values that
//! each CPython pickles at every protocol it has, values made in Rust, and
//! dicts both ways over a keyed `Listener`/`Client`.
//!
//! Without any Python the tests print `SKIPPED` and pass, unless
//! `IPCWIRE_NO_SKIPS=1` makes that a failure.

#[path = "common/paths.rs"]
mod paths;
#[path = "common/python.rs"]
mod python;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use ipcwire::pickle::{self, BigInt, Bytes, Value};
use ipcwire::{sys, Access, Client, Connection, Error, Listener};

use paths::TempPath;
use python::{interpreters_or_skip, versions, Peer, Python, LIMIT};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/pickles.py");

/// What a pickle error says: `Error`'s own text names the step, its
/// source the fault.
fn detail(e: &Error) -> String {
    use std::error::Error as _;
    assert_eq!(
        e.to_string(),
        "the message is not a pickle of the type asked for"
    );
    e.source().map(ToString::to_string).unwrap_or_default()
}

/// A message that is not a pickle of the type asked for is an error that
/// names both types; it was taken whole, so the next message is fine.
#[test]
fn recv_of_the_wrong_type_leaves_the_connection_usable() {
    let (mut rx, mut tx) = ipcwire::pipe(false).expect("pipe");
    tx.send("5").unwrap();
    tx.send(&BigInt::from(1i128 << 70)).unwrap();
    tx.send_bytes(b"\x80\x04\xff.").unwrap();
    tx.send_bytes(b"\x80\x04cposix\nsystem\n.").unwrap();
    tx.send(&5).unwrap();
    drop(tx);
    let type_error = rx.recv::<i64>().unwrap_err();
    assert_eq!(
        type_error,
        Error::Pickle(pickle::PickleError::Type {
            expected: "int",
            found: "str"
        })
    );
    assert_eq!(detail(&type_error), "expected int, found str");
    let range = rx.recv::<i64>().unwrap_err();
    assert_eq!(detail(&range), "expected i64, found int outside its range");
    assert_eq!(
        detail(&rx.recv::<Value>().unwrap_err()),
        "unknown pickle opcode 0xff at 2"
    );
    assert_eq!(
        detail(&rx.recv::<Value>().unwrap_err()),
        "refused global posix.system at 2: not a built-in data type"
    );
    assert_eq!(rx.recv::<i64>(), Ok(5));
    assert_eq!(rx.recv::<i64>(), Err(Error::Eof));
}

/// Runs `check` against every interpreter at once; fails with every error.
fn each_python(test: &str, check: impl Fn(&Python) -> Result<(), String> + Sync) {
    let Some(pythons) = interpreters_or_skip(test) else {
        return;
    };
    let failures: Vec<String> = thread::scope(|s| {
        let runs: Vec<_> = pythons
            .iter()
            .map(|py| (py, s.spawn(|| check(py))))
            .collect();
        runs.into_iter()
            .filter_map(|(py, run)| match run.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("Python {}: {e}", py.version)),
                Err(_) => Some(format!("Python {}: panicked", py.version)),
            })
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{test}: passed with Python {}", versions(pythons));
}

/// `pickles.py MODE ARGS` with one end of a socket pair as its stdin; the
/// other end as a connection.
fn spawn(python: &Python, args: &[&str]) -> Result<(Peer, Connection), String> {
    let (ours, theirs) = sys::socketpair().map_err(|e| format!("socketpair: {e:?}"))?;
    let mut cmd = python.script(SCRIPT);
    cmd.args(args).stdin(Stdio::from(theirs));
    let peer = Peer::spawn(cmd)?;
    let conn = Connection::from_fd(ours, Access::Duplex).map_err(|e| format!("from_fd: {e:?}"))?;
    Ok((peer, conn))
}

/// Re-encoding is a fixed point: what Rust writes decodes to what it wrote.
fn reencode(value: &Value) -> Result<Vec<u8>, String> {
    let bytes = pickle::to_vec(value);
    let again: Value = pickle::from_slice(&bytes).map_err(|e| format!("own output: {e}"))?;
    if pickle::to_vec(&again) != bytes {
        return Err(format!("own output decodes differently: {again:?}"));
    }
    Ok(bytes)
}

#[test]
fn python_corpus_decodes_and_loads_back_equal_at_every_protocol() {
    each_python("pickle corpus", |python| {
        let (mut peer, mut conn) = spawn(python, &["corpus"])?;
        let mut count = 0;
        loop {
            let msg = conn
                .recv_bytes()
                .map_err(|e| peer.fail(format!("recv: {e}")))?;
            if msg == b"done" {
                break;
            }
            count += 1;
            let answer = match pickle::from_slice::<Value>(&msg) {
                Ok(value) => reencode(&value).map_err(|e| peer.fail(e))?,
                // Python reports the mismatch with this text as the value.
                Err(e) => pickle::to_vec(&format!("Rust refused it: {e}")),
            };
            conn.send_bytes(&answer).map_err(|e| peer.fail(e))?;
        }
        drop(conn);
        peer.expect_exit(LIMIT, 0)?;
        let line = format!("corpus {count}");
        if !peer.stdout.contains(&line) {
            return Err(peer.fail(format!("Python did not confirm {line}")));
        }
        Ok(())
    });
}

/// The classic program's child, in Python, unchanged: a `recv()` loop that
/// prints each value until `EOFError`; the parent is Rust.
#[test]
fn python_child_prints_what_a_rust_parent_sends() {
    each_python("classic child in Python", |python| {
        let (mut peer, mut conn) = spawn(python, &["child"])?;
        for i in 0..1000i64 {
            conn.send(&i).map_err(|e| peer.fail(e))?;
        }
        drop(conn);
        peer.expect_exit(LIMIT, 0)?;
        let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        if peer.stdout != want {
            return Err(peer.fail("the child printed other lines"));
        }
        Ok(())
    });
}

/// The classic program's parent, in Python: `send(i)` for each number; the
/// child is Rust, receiving `i64`s until `Eof`.
#[test]
fn rust_child_receives_what_a_python_parent_sends() {
    each_python("classic parent in Python", |python| {
        let (mut peer, mut conn) = spawn(python, &["parent", "1000"])?;
        let mut got = Vec::new();
        loop {
            match conn.recv::<i64>() {
                Ok(i) => got.push(i),
                Err(Error::Eof) => break,
                Err(e) => return Err(peer.fail(format!("recv after {}: {e}", got.len()))),
            }
        }
        if got != (0..1000).collect::<Vec<i64>>() {
            return Err(peer.fail(format!("received {} numbers, not 0..1000", got.len())));
        }
        peer.expect_exit(LIMIT, 0)
    });
}

/// Values made in Rust, typed and as `Value`: Python loads each (`recv()`)
/// and pickles it back (`send()`); what returns is what was sent, so Python
/// held an equal object of the same types.
fn rust_made() -> Vec<Value> {
    let typed: Vec<Vec<u8>> = vec![
        pickle::to_vec(&()),
        pickle::to_vec(&(true, false)),
        pickle::to_vec(&[i64::MIN, -1, 0, 255, 256, 65535, 65536, i64::MAX]),
        pickle::to_vec(&(u64::MAX, i128::MIN, u128::MAX)),
        pickle::to_vec(&BigInt::from_le_bytes(&[0x55; 300])),
        pickle::to_vec(&[
            0.1f64,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ]),
        pickle::to_vec(&1.5f32),
        pickle::to_vec("h\u{e9}llo \u{1f600}"),
        pickle::to_vec(&"x".repeat(70_000)),
        pickle::to_vec(&Bytes(&[0u8, 1, 255][..])),
        pickle::to_vec(&Bytes(vec![7u8; 300])),
        pickle::to_vec(&(1u8, "two", 3.0f64, Bytes(b"four"), None::<i32>, Some(6))),
        pickle::to_vec(&(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)),
        pickle::to_vec(&BTreeMap::from([("a", 1), ("b", 2)])),
        pickle::to_vec(&HashMap::from([(1, vec!["x"]), (2, vec![])])),
        pickle::to_vec(&BTreeSet::from([3, 1, 2])),
        pickle::to_vec(&vec![vec![1, 2], vec![], vec![3]]),
    ];
    let mut values: Vec<Value> = typed
        .iter()
        .map(|bytes| pickle::from_slice(bytes).expect("own output decodes"))
        .collect();
    values.push(Value::Dict(vec![
        (
            Value::Tuple(vec![Value::Int(1), Value::None]),
            Value::ByteArray(b"ba".to_vec()),
        ),
        (
            Value::FrozenSet(vec![Value::Str("f".into())]),
            Value::Set(vec![Value::Bool(true)]),
        ),
        (Value::Bytes(vec![]), Value::ByteArray(vec![])),
        (Value::Float(-2.5), Value::FrozenSet(vec![])),
    ]));
    values.push(Value::Float(f64::NAN));
    values
}

#[test]
fn rust_values_load_in_python_as_equal_objects() {
    each_python("Rust values through Python", |python| {
        let (mut peer, mut conn) = spawn(python, &["echo"])?;
        for value in rust_made() {
            conn.send(&value).map_err(|e| peer.fail(e))?;
            let back: Value = conn.recv().map_err(|e| peer.fail(e))?;
            if pickle::to_vec(&back) != pickle::to_vec(&value) {
                return Err(peer.fail(format!("sent {value:?}, Python returned {back:?}")));
            }
        }
        drop(conn);
        peer.expect_exit(LIMIT, 0)
    });
}

/// A dict of the greeting `pickles.py` sends.
fn check_greeting(conn: &mut Connection, python: &Python) -> Result<(), String> {
    let greeting: HashMap<String, Value> = conn.recv().map_err(|e| format!("greeting: {e}"))?;
    let version: Vec<u32> = python
        .version
        .split('.')
        .take(2)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let want_version = Value::List(version.iter().map(|&v| Value::Int(v.into())).collect());
    if greeting.get("hello") != Some(&Value::Str("from Python".into()))
        || greeting.get("version") != Some(&want_version)
        || greeting.get("ok") != Some(&Value::Bool(true))
    {
        return Err(format!("unexpected greeting {greeting:?}"));
    }
    let job = BTreeMap::from([
        ("job".to_owned(), Value::Int(1)),
        (
            "args".to_owned(),
            Value::List(vec![Value::Str("-v".into())]),
        ),
    ]);
    conn.send(&job).map_err(|e| format!("send: {e}"))?;
    let back: BTreeMap<String, Value> = conn.recv().map_err(|e| format!("echo: {e}"))?;
    if back != job {
        return Err(format!("sent {job:?}, got back {back:?}"));
    }
    Ok(())
}

#[test]
fn dicts_both_ways_over_keyed_listener_and_client() {
    each_python("keyed Listener/Client with dicts", |python| {
        let tag = python.version.replace('.', "_");
        // A Rust listener, a Python client.
        let path = TempPath::new(&format!("{tag}-rust-listens"));
        let addr = path.address();
        let mut listener = Listener::bind(&addr)
            .map_err(|e| format!("bind: {e}"))?
            .authkey(b"pickle key");
        let mut cmd = python.script(SCRIPT);
        cmd.args(["connect", path.text(), "pickle key"]);
        let mut peer = Peer::spawn(cmd)?;
        let (mut conn, _) = listener
            .accept()
            .map_err(|e| peer.fail(format!("accept: {e}")))?;
        check_greeting(&mut conn, python).map_err(|e| peer.fail(e))?;
        drop(conn);
        peer.expect_exit(LIMIT, 0)?;
        drop(listener);

        // A Python listener, a Rust client.
        let path = TempPath::new(&format!("{tag}-python-listens"));
        let mut cmd = python.script(SCRIPT);
        cmd.args(["serve", path.text(), "pickle key"]);
        let mut peer = Peer::spawn(cmd)?;
        let ready = peer.next_line(LIMIT)?;
        if ready != "READY" {
            return Err(peer.fail(format!("expected READY, got {ready:?}")));
        }
        let addr = path.address();
        let mut conn = Client::new()
            .authkey(b"pickle key")
            .timeout(Duration::from_secs(10))
            .connect(&addr)
            .map_err(|e| peer.fail(format!("connect: {e}")))?;
        check_greeting(&mut conn, python).map_err(|e| peer.fail(e))?;
        drop(conn);
        peer.expect_exit(LIMIT, 0)
    });
}
