//! The pickle codec on fixed bytes: what CPython writes, what Rust writes,
//! every refusal, and each known attack on pickle readers. Pure: also run
//! under Miri.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ipcwire::pickle::{self, BigInt, Bytes, Limits, PickleError, Value};

/// Records the largest single allocation of each thread, to show that no
/// declared length is ever allocated.
struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    let _ = TOTAL.try_with(|t| t.set(t.get() + size));
}

/// Runs `f`; all it allocated on this thread, freed or not.
fn total_allocated(f: impl FnOnce()) -> usize {
    TOTAL.with(|t| t.set(0));
    f();
    TOTAL.with(Cell::get)
}

/// Runs `f`; the largest allocation it made on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(Cell::get)
}

// SAFETY: forwards to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: allocated by `System` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: allocated by `System` above with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fn value(bytes: &[u8]) -> Value {
    pickle::from_slice(bytes).unwrap_or_else(|e| panic!("{bytes:?}: {e}"))
}

fn refused(bytes: &[u8]) -> PickleError {
    match pickle::from_slice::<Value>(bytes) {
        Ok(v) => panic!("{bytes:?} decoded to {v:?}"),
        Err(e) => e,
    }
}

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

fn list(items: &[i64]) -> Value {
    Value::List(items.iter().map(|&i| Value::Int(i)).collect())
}

// ---------------------------------------------------------------------------
// What CPython writes (bytes from CPython 3.13 unless said otherwise)

#[test]
fn forking_pickler_dict() {
    let fp = b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x03job\x94K\x01s.";
    assert_eq!(value(fp), Value::Dict(vec![(s("job"), Value::Int(1))]));
    let typed: HashMap<String, u8> = pickle::from_slice(fp).unwrap();
    assert_eq!(typed["job"], 1);
}

#[test]
fn shared_references_are_copies_of_the_object() {
    // x = [1, 2]; [x, x]
    let shared = b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94(K\x01K\x02eh\x01e.";
    assert_eq!(
        value(shared),
        Value::List(vec![list(&[1, 2]), list(&[1, 2])])
    );
    // inner = []; outer = [inner, inner]; inner.extend(range(3)): the memo
    // refers to the list that APPENDS fills after MEMOIZE.
    let filled = b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94(K\x00K\x01K\x02eh\x01e.";
    assert_eq!(
        value(filled),
        Value::List(vec![list(&[0, 1, 2]), list(&[0, 1, 2])])
    );
    // The same, hand-made: the list is memoized empty, then filled.
    let late = b"\x80\x04]\x94]\x940h\x01h\x01\x86ah\x01K\x07a0.";
    assert_eq!(
        value(late),
        Value::List(vec![Value::Tuple(vec![list(&[7]), list(&[7])])])
    );
}

/// The memo is Python's dict: any index, MEMOIZE numbering by its size,
/// a later PUT replacing an earlier one.
#[test]
fn memo_indices_in_any_order() {
    // memo = {5: 5}; MEMOIZE of 6 takes index len(memo) = 1.
    assert_eq!(value(b"\x80\x04K\x05q\x05K\x06\x940h\x01."), Value::Int(6));
    assert_eq!(value(b"\x80\x04K\x05q\x05K\x06\x940h\x05."), Value::Int(5));
    // Index 1 first, then 0, then 1 again: the later one wins.
    let replaced = b"\x80\x04K\x01q\x010K\x00q\x000K\x02q\x010h\x00h\x01\x86.";
    assert_eq!(
        value(replaced),
        Value::Tuple(vec![Value::Int(0), Value::Int(2)])
    );
    assert_eq!(
        refused(b"\x80\x04K\x01q\x010h\x00."),
        PickleError::MemoMissing {
            index: 0,
            offset: 7
        }
    );
}

#[test]
fn reduce_forms_of_older_protocols() {
    let set2 = b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.";
    assert_eq!(value(set2), Value::Set(vec![Value::Int(1), Value::Int(2)]));
    let fs3 = b"\x80\x03cbuiltins\nfrozenset\nq\x00]q\x01K\x01a\x85q\x02Rq\x03.";
    assert_eq!(value(fs3), Value::FrozenSet(vec![Value::Int(1)]));
    let bytes2 = b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00\x00\xc3\xbfq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.";
    assert_eq!(value(bytes2), Value::Bytes(vec![0, 0xff]));
    let ba2 = b"\x80\x02c__builtin__\nbytearray\nq\x00c_codecs\nencode\nq\x01X\x03\x00\x00\x00\x00\xc3\xbfq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07.";
    assert_eq!(value(ba2), Value::ByteArray(vec![0, 0xff]));
    // Python 3.6's protocol 2: bytearray(str, "latin-1").
    let ba2_36 = b"\x80\x02c__builtin__\nbytearray\nq\x00X\x03\x00\x00\x00\x00\xc3\xbfq\x01X\x07\x00\x00\x00latin-1q\x02\x86q\x03Rq\x04.";
    assert_eq!(value(ba2_36), Value::ByteArray(vec![0, 0xff]));
    let ba4 = b"\x80\x04\x95#\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\tbytearray\x94\x93\x94C\x02\x00\xff\x94\x85\x94R\x94.";
    assert_eq!(value(ba4), Value::ByteArray(vec![0, 0xff]));
    let ba5 = b"\x80\x05\x95\r\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00\x00\xff\x94.";
    assert_eq!(value(ba5), Value::ByteArray(vec![0, 0xff]));
}

#[test]
fn protocol_0_text_opcodes() {
    let p0 = b"(dp0\nVa\np1\n(lp2\nI1\naF2.5\naV\xe9\np3\nac_codecs\nencode\np4\n(Vx\np5\nVlatin1\np6\ntp7\nRp8\naNaI01\naL1180591620717411303424L\nas.";
    let want = Value::Dict(vec![(
        s("a"),
        Value::List(vec![
            Value::Int(1),
            Value::Float(2.5),
            s("\u{e9}"),
            Value::Bytes(b"x".to_vec()),
            Value::None,
            Value::Bool(true),
            Value::BigInt(BigInt::from(1i128 << 70)),
        ]),
    )]);
    assert_eq!(value(p0), want);
    // raw-unicode-escape: \u after an odd number of backslashes only.
    assert_eq!(value(b"V\\u20ac\\U0001f600\n."), s("\u{20ac}\u{1f600}"));
    assert_eq!(value(b"V\\\\u20ac\n."), s("\\\\u20ac"));
    assert_eq!(value(b"V\\\\\\u20ac\n."), s("\\\\\u{20ac}"));
    assert!(matches!(
        refused(b"V\\u20\n."),
        PickleError::Malformed { .. }
    ));
    assert_eq!(value(b"I-42\n."), Value::Int(-42));
    assert_eq!(value(b"L-18446744073709551616L\n."), Value::int(-(1 << 64)));
}

#[test]
fn ints_at_every_width() {
    let cases: [(&[u8], i128); 8] = [
        (b"\x80\x04K\x00.", 0),
        (b"\x80\x04K\xff.", 255),
        (b"\x80\x04M\x00\x01.", 256),
        (b"\x80\x04J\xff\xff\xff\xff.", -1),
        (b"\x80\x04\x8a\x00.", 0),
        (b"\x80\x04\x8a\x01\xff.", -1),
        (
            b"\x80\x04\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f.",
            i64::MAX as i128,
        ),
        (
            b"\x80\x04\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc0.",
            -(1 << 70),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(value(bytes), Value::int(want), "{bytes:?}");
        assert_eq!(pickle::from_slice::<i128>(bytes), Ok(want));
    }
    // Decoding never gives a BigInt that fits in an i64.
    assert_eq!(
        value(b"\x80\x04\x8a\x09\x05\x00\x00\x00\x00\x00\x00\x00\x00."),
        Value::Int(5)
    );
}

#[test]
fn floats_bit_for_bit() {
    for x in [
        0.0,
        -0.0,
        1.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        5e-324,
    ] {
        let back: f64 = pickle::from_slice(&pickle::to_vec(&x)).unwrap();
        assert_eq!(back.to_bits(), x.to_bits());
    }
    let nan = f64::from_bits(0x7ff8_0000_dead_beef);
    let back: f64 = pickle::from_slice(&pickle::to_vec(&nan)).unwrap();
    assert_eq!(back.to_bits(), nan.to_bits());
    // -0.0 as CPython writes it.
    let neg_zero: f64 = pickle::from_slice(b"\x80\x04G\x80\x00\x00\x00\x00\x00\x00\x00.").unwrap();
    assert_eq!(neg_zero.to_bits(), (-0.0f64).to_bits());
}

// ---------------------------------------------------------------------------
// What Rust writes

#[test]
fn encoding_is_protocol_4_in_the_shortest_forms() {
    assert_eq!(pickle::to_vec(&()), b"\x80\x04N.");
    assert_eq!(pickle::to_vec(&true), b"\x80\x04\x88.");
    assert_eq!(pickle::to_vec(&7u8), b"\x80\x04K\x07.");
    assert_eq!(pickle::to_vec(&1000), b"\x80\x04M\xe8\x03.");
    assert_eq!(pickle::to_vec(&-1), b"\x80\x04J\xff\xff\xff\xff.");
    assert_eq!(
        pickle::to_vec(&(1i64 << 40)),
        b"\x80\x04\x8a\x06\x00\x00\x00\x00\x00\x01."
    );
    assert_eq!(
        pickle::to_vec(&u64::MAX),
        b"\x80\x04\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00."
    );
    assert_eq!(
        pickle::to_vec(&1.5),
        b"\x80\x04G?\xf8\x00\x00\x00\x00\x00\x00."
    );
    assert_eq!(pickle::to_vec("ab"), b"\x80\x04\x8c\x02ab.");
    assert_eq!(pickle::to_vec(&Bytes(b"ab")), b"\x80\x04C\x02ab.");
    assert_eq!(pickle::to_vec(&Vec::<i32>::new()), b"\x80\x04].");
    assert_eq!(pickle::to_vec(&[1, 2]), b"\x80\x04](K\x01K\x02e.");
    assert_eq!(pickle::to_vec(&(1,)), b"\x80\x04K\x01\x85.");
    assert_eq!(
        pickle::to_vec(&(1, 2, 3, 4)),
        b"\x80\x04(K\x01K\x02K\x03K\x04t."
    );
    assert_eq!(
        pickle::to_vec(&BTreeMap::from([(1, 2)])),
        b"\x80\x04}(K\x01K\x02u."
    );
    assert_eq!(
        pickle::to_vec(&BTreeSet::from([1])),
        b"\x80\x04\x8f(K\x01\x90."
    );
    assert_eq!(pickle::to_vec(&Value::FrozenSet(vec![])), b"\x80\x04(\x91.");
    assert_eq!(
        pickle::to_vec(&Value::ByteArray(b"a".to_vec())),
        b"\x80\x04cbuiltins\nbytearray\nC\x01a\x85R."
    );
    let long = "x".repeat(300);
    assert_eq!(
        pickle::to_vec(long.as_str())[..7],
        *b"\x80\x04X\x2c\x01\x00\x00"
    );
}

#[test]
fn typed_values_round_trip() {
    fn round<T: pickle::ToPickle + pickle::FromPickle + PartialEq + std::fmt::Debug>(v: T) {
        assert_eq!(pickle::from_slice::<T>(&pickle::to_vec(&v)), Ok(v));
    }
    round(());
    round(false);
    round(i8::MIN);
    round(u16::MAX);
    round(i64::MIN);
    round(u64::MAX);
    round(i128::MIN);
    round(u128::MAX);
    round(usize::MAX);
    round(String::from("h\u{e9}llo"));
    round(Bytes(vec![0u8, 255]));
    round(Some(3));
    round(None::<String>);
    round(vec![vec![1u8], vec![]]);
    round((1, "a".to_owned(), 2.5, (), (true,)));
    round((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    round(BTreeMap::from([("k".to_owned(), vec![1.0])]));
    round(HashMap::from([(1u8, 2u8)]));
    round(BTreeSet::from([1, 2]));
    round(HashSet::from(["x".to_owned()]));
    round(BigInt::from_le_bytes(&[1; 40]));
}

#[test]
fn bigint_text_and_conversions() {
    assert_eq!(BigInt::from(0).to_string(), "0");
    assert_eq!(BigInt::from(u128::MAX).to_string(), u128::MAX.to_string());
    assert_eq!(BigInt::from(i128::MIN).to_string(), i128::MIN.to_string());
    assert_eq!(BigInt::from(-(1i128 << 70)).bit_length(), 71);
    assert_eq!(BigInt::from_le_bytes(&[0, 0, 0]).to_le_bytes(), b"");
    assert_eq!(BigInt::from(255).to_le_bytes(), [255, 0]);
    assert!(u128::try_from(&BigInt::from(-1)).is_err());
    assert!(i128::try_from(&BigInt::from(u128::MAX)).is_err());
}

// ---------------------------------------------------------------------------
// Typed decoding says what was expected and what came

#[test]
fn typed_mismatches_name_both_types() {
    let e = pickle::from_slice::<i64>(&pickle::to_vec("5")).unwrap_err();
    assert_eq!(
        e,
        PickleError::Type {
            expected: "int",
            found: "str"
        }
    );
    assert_eq!(e.to_string(), "expected int, found str");
    let big = pickle::to_vec(&BigInt::from(1i128 << 70));
    let e = pickle::from_slice::<i64>(&big).unwrap_err();
    assert_eq!(
        e,
        PickleError::OutOfRange {
            expected: "i64",
            found: "int"
        }
    );
    assert_eq!(e.to_string(), "expected i64, found int outside its range");
    assert!(pickle::from_slice::<u8>(&pickle::to_vec(&256)).is_err());
    assert!(pickle::from_slice::<u32>(&pickle::to_vec(&-1)).is_err());
    assert!(pickle::from_slice::<i64>(&pickle::to_vec(&true)).is_err());
    assert!(pickle::from_slice::<bool>(&pickle::to_vec(&1)).is_err());
    assert!(pickle::from_slice::<(i32, i32)>(&pickle::to_vec(&(1, 2, 3))).is_err());
    assert!(pickle::from_slice::<(i32, i32)>(&pickle::to_vec(&[1, 2])).is_err());
    assert!(pickle::from_slice::<String>(&pickle::to_vec(&Bytes(b"x"))).is_err());
    assert_eq!(
        pickle::from_slice::<f32>(&pickle::to_vec(&1e300)),
        Err(PickleError::OutOfRange {
            expected: "f32",
            found: "float"
        })
    );
    assert_eq!(pickle::from_slice::<f64>(&pickle::to_vec(&3)), Ok(3.0));
    assert!(pickle::from_slice::<f64>(&pickle::to_vec(&((1i64 << 53) + 1))).is_err());
    // Lenient where Python treats the types alike.
    assert_eq!(
        pickle::from_slice::<Vec<i32>>(&pickle::to_vec(&(1, 2))),
        Ok(vec![1, 2])
    );
    let bytearray = pickle::to_vec(&Value::ByteArray(b"z".to_vec()));
    assert_eq!(
        pickle::from_slice::<Bytes>(&bytearray),
        Ok(Bytes(b"z".to_vec()))
    );
}

// ---------------------------------------------------------------------------
// Refused, with the reason

#[test]
fn other_globals_are_refused_by_name() {
    let dt = b"\x80\x04\x95*\x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\n\x07\xe8\x01\x02\x00\x00\x00\x00\x00\x00\x94\x85\x94R\x94.";
    let e = refused(dt);
    let PickleError::Global { name, offset } = e else {
        panic!("{e:?}")
    };
    assert_eq!((name.as_str(), offset), ("datetime.datetime", 33));
    assert_eq!(
        e.to_string(),
        "refused global datetime.datetime at 33: not a built-in data type"
    );
    let dt2 = b"\x80\x02cdatetime\ndatetime\nq\x00.";
    assert!(
        matches!(refused(dt2), PickleError::Global { name, offset: 2 } if name.as_str() == "datetime.datetime")
    );
    let system = b"cos\nsystem\n(S'echo owned'\ntR.";
    assert!(
        matches!(refused(system), PickleError::Global { name, .. } if name.as_str() == "os.system")
    );
    let long = [&b"c"[..], &[b'm'; 100], b"\n", &[b'n'; 100], b"\n."].concat();
    let PickleError::Global { name, .. } = refused(&long) else {
        panic!()
    };
    assert_eq!(name.as_str().len(), 64);
    assert!(name.as_str().ends_with("..."));
    // An allowed callable with arguments CPython never passes.
    assert!(matches!(
        refused(b"\x80\x04cbuiltins\nset\nK\x01\x85R."),
        PickleError::Global { name, .. } if name.as_str() == "builtins.set"
    ));
    assert!(matches!(
        refused(b"\x80\x04cbuiltins\nset\n."),
        PickleError::Global { .. }
    ));
}

#[test]
fn opcodes_beyond_data_are_refused() {
    let cases: [(&[u8], &str); 8] = [
        (b"\x80\x04K\x01Q.", "BINPERSID"),
        (b"\x80\x02\x82\x01.", "EXT1"),
        (b"\x80\x05\x97\x98.", "NEXT_BUFFER"),
        (b"\x80\x04}\x94K\x01b.", "BUILD"),
        (b"\x80\x04)K\x01\x81.", "NEWOBJ"),
        (b"(imod\nname\n.", "INST"),
        (b"Pid\n.", "PERSID"),
        (b"S'py2'\n.", "STRING"),
    ];
    for (bytes, name) in cases {
        assert!(
            matches!(refused(bytes), PickleError::Refused { opcode, .. } if opcode == name),
            "{bytes:?}"
        );
    }
}

#[test]
fn malformed_pickles() {
    assert_eq!(refused(b"\x80\x04K"), PickleError::Truncated { offset: 2 });
    assert_eq!(refused(b"\x80\x04K\x01"), PickleError::MissingStop);
    assert_eq!(refused(b""), PickleError::MissingStop);
    assert_eq!(
        refused(b"\x80\x04N.N"),
        PickleError::TrailingBytes { offset: 4 }
    );
    assert_eq!(
        refused(b"\x80\x04N\xff."),
        PickleError::UnknownOpcode {
            opcode: 0xff,
            offset: 3
        }
    );
    assert_eq!(
        refused(b"\x80\x04h\x05."),
        PickleError::MemoMissing {
            index: 5,
            offset: 2
        }
    );
    assert!(matches!(
        refused(b"\x80\x06N."),
        PickleError::Malformed { .. }
    ));
    assert!(matches!(refused(b"."), PickleError::Malformed { .. }));
    assert!(matches!(
        refused(b"\x80\x04K\x01a."),
        PickleError::Malformed { .. }
    ));
    assert!(matches!(
        refused(b"\x80\x04}K\x01u."),
        PickleError::Malformed { .. }
    ));
    assert!(matches!(
        refused(b"\x80\x04](K\x01K\x02s."),
        PickleError::Malformed { .. }
    ));
    // The stack below a MARK is out of reach until the mark is popped.
    assert_eq!(value(b"\x80\x04](K\x01e."), list(&[1]));
    assert!(matches!(
        refused(b"\x80\x04](a."),
        PickleError::Malformed { .. }
    ));
    assert!(matches!(
        refused(b"\x80\x04K\x01(\x85."),
        PickleError::Malformed { .. }
    ));
    assert!(matches!(
        refused(b"\x80\x04K\x01(."),
        PickleError::Malformed { .. }
    ));
}

#[test]
fn strings_must_be_utf8_without_lone_surrogates() {
    let surrogate = b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8c\x04a\xed\xa0\x80\x94.";
    assert_eq!(
        refused(surrogate),
        PickleError::LoneSurrogate { offset: 11 }
    );
    assert_eq!(
        refused(b"\x80\x04\x8c\x01\xff."),
        PickleError::InvalidUtf8 { offset: 2 }
    );
    assert_eq!(
        refused(b"V\\ud800\n."),
        PickleError::LoneSurrogate { offset: 0 }
    );
}

#[test]
fn unhashable_keys_are_refused() {
    assert_eq!(refused(b"\x80\x04}(]K\x01u."), PickleError::Unhashable);
    assert_eq!(refused(b"\x80\x04\x8f(}\x90."), PickleError::Unhashable);
    assert_eq!(refused(b"\x80\x04}(]\x85K\x01u."), PickleError::Unhashable);
    let ba_key = b"\x80\x04}(cbuiltins\nbytearray\n)RK\x01u.";
    assert_eq!(refused(ba_key), PickleError::Unhashable);
    // Tuples of hashable values are fine keys.
    assert!(pickle::from_slice::<Value>(b"\x80\x04}(K\x01\x85K\x01u.").is_ok());
}

/// Keys Python holds equal are refused (Python would merge them), never
/// kept twice; CPython never writes such a dict or set.
#[test]
fn keys_python_holds_equal_are_refused() {
    let repeated: [&[u8]; 7] = [
        b"}K\x01K\x01s\x88K\x02s.",
        b"\x8f(K\x01\x88G?\xf0\x00\x00\x00\x00\x00\x00\x90.",
        b"}(G\x80\x00\x00\x00\x00\x00\x00\x00K\x01K\x00K\x02u.",
        b"}(K\x01\x85K\x01\x88\x85K\x02u.",
        b"}((K\x01K\x02\x91K\x01(K\x02K\x01\x91K\x02u.",
        b"(\x8c\x01a\x8c\x01a\x91.",
        b"}(G?\xf8\x00\x00\x00\x00\x00\x00K\x01G?\xf8\x00\x00\x00\x00\x00\x00K\x02u.",
    ];
    for bytes in repeated {
        assert_eq!(refused(bytes), PickleError::RepeatedKey, "{bytes:?}");
    }
    // Integral floats equal the int of the same value, however large.
    let floats = [
        (1e+300_f64, "8a7d000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000009c7500883ce417"),
        (-1e+300_f64, "8a7d00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000648aff77c31be8"),
        (1.1805916207174113e+21_f64, "8a09000000000000000040"),
        (-1.8446744073709552e+19_f64, "8a090000000000000000ff"),
        (9007199254740992.0_f64, "8a0700000000000020"),
        (1e+22_f64, "8a0a000040b2bac9e0191e02"),
    ];
    for (x, long) in floats {
        let long: Vec<u8> = (0..long.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&long[i..i + 2], 16).unwrap())
            .collect();
        let mut dict = b"}(G".to_vec();
        dict.extend_from_slice(&x.to_be_bytes());
        dict.extend_from_slice(b"K\x01");
        dict.extend_from_slice(&long);
        dict.extend_from_slice(b"K\x02u.");
        assert_eq!(refused(&dict), PickleError::RepeatedKey, "{x}");
        let next = x + x.abs() * f64::EPSILON * 2.0;
        dict[3..11].copy_from_slice(&next.to_be_bytes());
        assert!(
            pickle::from_slice::<Value>(&dict).is_ok(),
            "{next} is another key"
        );
    }
    // Two NaNs are two keys, as in Python; 1 and 1.5 differ.
    let nans = b"}(G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x01G\x7f\xf8\x00\x00\x00\x00\x00\x00K\x02u.";
    assert!(matches!(value(nans), Value::Dict(pairs) if pairs.len() == 2));
    let different = b"}(K\x01K\x01G?\xf8\x00\x00\x00\x00\x00\x00K\x02u.";
    assert!(matches!(value(different), Value::Dict(pairs) if pairs.len() == 2));
}

/// Protocol 0 text CPython reads in its own way (base 0, two-character
/// bools, overflow as an error): refused rather than read differently.
#[test]
fn protocol_0_text_cpython_would_read_differently() {
    for bytes in [
        &b"I010\n."[..],
        b"I+1\n.",
        b"I+0\n.",
        b"I-0\n.",
        b"I08\n.",
        b"I 1\n.",
        b"I1_0\n.",
        b"L010L\n.",
        b"L0x10L\n.",
        b"F1e500\n.",
        b"V\\u+0e9\n.",
    ] {
        assert!(
            matches!(refused(bytes), PickleError::Malformed { .. }),
            "{bytes:?}"
        );
    }
    assert_eq!(value(b"I0\n."), Value::Int(0));
    assert_eq!(value(b"I1\n."), Value::Int(1));
    assert_eq!(value(b"I10\n."), Value::Int(10));
    assert_eq!(value(b"Finf\n."), Value::Float(f64::INFINITY));
    assert_eq!(value(b"F-inf\n."), Value::Float(f64::NEG_INFINITY));
    // Python 3 renames Python 2's __builtin__ only below protocol 3.
    assert_eq!(value(b"\x80\x02c__builtin__\nset\n)R."), Value::Set(vec![]));
    assert!(matches!(
        refused(b"\x80\x03c__builtin__\nset\n)R."),
        PickleError::Global { name, .. } if name.as_str() == "__builtin__.set"
    ));
}

// ---------------------------------------------------------------------------
// Known attacks on pickle readers

/// CPython gh-115952: `]replace.` made `pickle.load` take all memory
/// (LONG_BINPUT with index 0x616c7065).
#[test]
fn gh_115952_replace() {
    let largest = largest_allocation(|| {
        assert!(pickle::from_slice::<Value>(b"]replace.").is_err());
    });
    assert!(largest < 1 << 16, "{largest}");
}

/// CVE-2018-20406: a huge LONG_BINPUT index sized the memo by it.
#[test]
fn cve_2018_20406_huge_memo_index_costs_nothing() {
    let bytes = b"\x80\x04]r\xff\xff\xff\xffj\xff\xff\xff\xff\x86.";
    let largest = largest_allocation(|| {
        assert_eq!(
            value(bytes),
            Value::Tuple(vec![Value::List(vec![]), Value::List(vec![])])
        );
    });
    assert!(largest < 1 << 16, "{largest}");
}

/// tracel-ai/burn#5120 (and the "billion laughs" of pickle): each level a
/// TUPLE2 of two references to the level below, so 100 levels in 600
/// bytes would expand to 2**100 values.
#[test]
fn burn_5120_memo_bomb_hits_the_size_limit() {
    let mut bomb = b"\x80\x04N\x94".to_vec();
    for level in 0..100u32 {
        bomb.push(b'j');
        bomb.extend_from_slice(&level.to_le_bytes());
        bomb.push(b'j');
        bomb.extend_from_slice(&level.to_le_bytes());
        bomb.extend_from_slice(b"\x86\x94");
    }
    bomb.push(b'.');
    let limit = bomb.len() * Limits::DEFAULT_MAX_EXPANSION;
    assert_eq!(refused(&bomb), PickleError::TooLarge { limit });
    // The same with a big string shared many times (candle#3617's memo clones).
    let mut clones = b"\x80\x04X\x00\x00\x01\x00".to_vec();
    clones.extend(std::iter::repeat(b'x').take(1 << 16));
    clones.extend_from_slice(b"\x94(");
    for _ in 0..1000 {
        clones.extend_from_slice(b"h\x00");
    }
    clones.extend_from_slice(b"l.");
    assert!(matches!(refused(&clones), PickleError::TooLarge { .. }));
    let generous = Limits::new().max_expansion(2000);
    assert!(generous.from_slice::<Value>(&clones).is_ok());
}

/// One memoized list passed to `set()` by many REDUCEs, or one memoized
/// string to `_codecs.encode`: each call copies, so copies are charged as
/// they are made, before anything is built.
#[test]
fn reduce_copies_count_against_the_size_limit() {
    let calls = if cfg!(miri) { 200 } else { 10_000 };
    let mut sets = b"\x80\x04cbuiltins\nset\n\x94](".to_vec();
    sets.extend(std::iter::repeat(*b"K\x01").take(1000).flatten());
    sets.extend_from_slice(b"e\x94(");
    sets.extend(std::iter::repeat(*b"h\x00h\x01\x85R").take(calls).flatten());
    sets.extend_from_slice(b"l.");
    let mut encodes = b"\x80\x04c_codecs\nencode\n\x94X\xe8\x03\x00\x00".to_vec();
    encodes.extend(std::iter::repeat(b'x').take(1000));
    encodes.extend_from_slice(b"\x94\x8c\x06latin1\x94(");
    encodes.extend(
        std::iter::repeat(*b"h\x00h\x01h\x02\x86R")
            .take(calls)
            .flatten(),
    );
    encodes.extend_from_slice(b"l.");
    for bomb in [sets, encodes] {
        let limit = bomb.len() * Limits::DEFAULT_MAX_EXPANSION;
        let total = total_allocated(|| {
            assert_eq!(refused(&bomb), PickleError::TooLarge { limit });
        });
        assert!(
            total < 4 * limit,
            "allocated {total} for a limit of {limit}"
        );
    }
}

/// trailofbits/fickling#196: `l = []; l.append(l)` made a cyclic tree that
/// a recursive walk never left.
#[test]
fn fickling_196_cycles_are_refused() {
    assert_eq!(refused(b"\x80\x02]\x94g0\na."), PickleError::Cycle);
    assert_eq!(refused(b"\x80\x04]\x94h\x00a."), PickleError::Cycle);
    // Through a tuple and a dict: d = {}; d[1] = ([d],)
    assert_eq!(
        refused(b"\x80\x04}\x94K\x01]h\x00a\x85s."),
        PickleError::Cycle
    );
}

/// huggingface/candle#3617: an unbounded value stack, and a stack overflow
/// on deep values.
#[test]
fn candle_3617_deep_and_wide_inputs_are_bounded() {
    // Values nested far deeper than the limit: refused, no recursion.
    let depth = if cfg!(miri) { 300 } else { 200_000 };
    let mut deep = b"\x80\x04".to_vec();
    deep.extend(std::iter::repeat(b']').take(depth));
    deep.extend(std::iter::repeat(b'a').take(depth - 1));
    deep.push(b'.');
    let shallow = Limits::new().max_depth(depth - 1);
    assert_eq!(
        shallow.from_slice::<Value>(&deep),
        Err(PickleError::TooDeep {
            max_depth: depth - 1
        })
    );
    // A million values left on the stack: memory in proportion to input.
    let wide_len = if cfg!(miri) { 1000 } else { 1_000_000 };
    let mut wide = b"\x80\x04".to_vec();
    wide.extend(std::iter::repeat(b'N').take(wide_len));
    wide.push(b'.');
    assert_eq!(value(&wide), Value::None);
    // MARKs without end.
    let mut marks = b"\x80\x04".to_vec();
    marks.extend(std::iter::repeat(b'(').take(wide_len));
    marks.extend_from_slice(b"N.");
    assert_eq!(value(&marks), Value::None);
}

/// The deepest value the default accepts decodes, encodes, compares,
/// prints and drops on a thread with a 2 MiB stack (the default for
/// spawned threads), even in a debug build.
#[test]
fn deepest_default_value_drops_without_overflow() {
    let depth = Limits::DEFAULT_MAX_DEPTH;
    let mut deep = b"\x80\x04N".to_vec();
    deep.extend(std::iter::repeat(b'\x85').take(depth));
    deep.push(b'.');
    let decoded = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let v: Value = pickle::from_slice(&deep).unwrap();
            let again = pickle::to_vec(&v);
            assert_eq!(pickle::from_slice::<Value>(&again).unwrap(), v);
            assert!(format!("{v:?}").len() > depth);
            drop(v);
            again.len()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(decoded, 2 + 1 + depth + 1);
    let mut deeper = b"\x80\x04N".to_vec();
    deeper.extend(std::iter::repeat(b'\x85').take(depth + 1));
    deeper.push(b'.');
    assert_eq!(refused(&deeper), PickleError::TooDeep { max_depth: depth });
}

/// Declared lengths far beyond the input: refused before any allocation.
#[test]
fn declared_lengths_are_never_allocated() {
    let cases: [&[u8]; 7] = [
        b"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7fabc.",
        b"\x80\x04\x8e\x00\x00\x00\x00\x00\x01\x00\x00abc.",
        b"\x80\x05\x96\x00\x00\x00\x00\x00\x01\x00\x00abc.",
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x01\x00\x00N.",
        b"\x80\x04\x8b\xff\xff\xff\x7fabc.",
        b"\x80\x04X\xff\xff\xff\xffabc.",
        b"\x80\x04B\xff\xff\xff\xffabc.",
    ];
    for bytes in cases {
        let largest = largest_allocation(|| {
            assert_eq!(
                refused(bytes),
                PickleError::Truncated { offset: 2 },
                "{bytes:?}"
            );
        });
        assert!(largest < 1 << 16, "{bytes:?}: {largest}");
    }
    assert!(matches!(
        refused(b"\x80\x04\x8b\xff\xff\xff\xff."),
        PickleError::Malformed { .. }
    ));
}
