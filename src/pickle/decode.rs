//! The unpickler: a stack machine over borrowed bytes, then a bounded walk
//! that builds the [`Value`].
//!
//! Two phases keep every bound simple:
//!
//! 1. **Run the opcodes** into an arena of nodes. Containers hold the
//!    handles of their items, the memo holds handles, so `APPENDS` after
//!    `MEMOIZE` fills the very list the memo refers to, as in Python.
//!    Strings and bytes stay borrowed from the input. Each opcode adds at
//!    most one node and one handle per item, so this phase costs memory in
//!    proportion to the input, whatever lengths the input declares.
//! 2. **Build the value** from the root handle, without recursion
//!    (`build.rs`), charging every byte it will take to a budget that
//!    phase 1 also draws on for what a `REDUCE` copies.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::size_of;

use super::build::Builder;
use super::error::{GlobalName, PickleError};
use super::opcode as op;
use super::value::{minimal, negate, Value};
use super::Limits;

/// An index into the arena.
pub(super) type Handle = u32;

/// A string of bytes: a slice of the input, or made by a `REDUCE`
/// (`_codecs.encode`, `bytearray(str, "latin-1")`).
#[derive(Debug)]
pub(super) enum Blob<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Blob<'_> {
    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Blob::Borrowed(b) => b,
            Blob::Owned(v) => v,
        }
    }
}

/// A string: a slice of the input, or unescaped from protocol 0's text.
#[derive(Debug)]
pub(super) enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl Text<'_> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }
}

/// The few callables CPython's pickles of built-in types name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Callable {
    Set,
    FrozenSet,
    ByteArray,
    Bytes,
    CodecsEncode,
}

impl Callable {
    /// Looks `module.name` up in the allowlist. Python 2's `__builtin__` is
    /// what protocols 0 to 2 write for `builtins`.
    /// Python 3 renames `__builtin__` only below protocol 3.
    fn find(module: &[u8], name: &[u8], protocol: u8) -> Option<Callable> {
        let module = match module {
            b"__builtin__" if protocol < 3 => b"builtins",
            other => other,
        };
        match (module, name) {
            (b"builtins", b"set") => Some(Callable::Set),
            (b"builtins", b"frozenset") => Some(Callable::FrozenSet),
            (b"builtins", b"bytearray") => Some(Callable::ByteArray),
            (b"builtins", b"bytes") => Some(Callable::Bytes),
            (b"_codecs", b"encode") => Some(Callable::CodecsEncode),
            _ => None,
        }
    }

    pub(super) fn name(self) -> GlobalName {
        let (module, name): (&[u8], &[u8]) = match self {
            Callable::Set => (b"builtins", b"set"),
            Callable::FrozenSet => (b"builtins", b"frozenset"),
            Callable::ByteArray => (b"builtins", b"bytearray"),
            Callable::Bytes => (b"builtins", b"bytes"),
            Callable::CodecsEncode => (b"_codecs", b"encode"),
        };
        GlobalName::new(module, name)
    }
}

/// The kinds of container, which decide how items become a [`Value`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Tuple,
    List,
    /// Items are key, value, key, value, ...
    Dict,
    Set,
    FrozenSet,
}

#[derive(Debug)]
pub(super) enum Node<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// Two's complement little-endian, beyond `i64`.
    BigInt(Blob<'a>),
    Float(f64),
    Str(Text<'a>),
    Bytes(Blob<'a>),
    ByteArray(Blob<'a>),
    Container(Kind, Vec<Handle>),
    /// A callable from the allowlist, only good as `REDUCE`'s target.
    Global(Callable, usize),
}

/// One arena slot: the node, and whether the build phase is inside it.
#[derive(Debug)]
pub(super) struct Slot<'a> {
    pub(super) node: Node<'a>,
    pub(super) open: bool,
}

/// Bytes the decoded value may still take, shared by both phases.
pub(super) struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    pub(super) fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.left = self
            .left
            .checked_sub(bytes)
            .ok_or(PickleError::TooLarge { limit: self.limit })?;
        Ok(())
    }
}

/// The memo: Python's dict of index to object. CPython numbers entries
/// 0, 1, 2, ..., which an array holds; any other index goes in a map, so a
/// huge one costs one entry.
struct Memo {
    dense: Vec<Handle>,
    sparse: BTreeMap<u64, Handle>,
}

impl Memo {
    /// The number of entries, which `MEMOIZE` uses as its index.
    fn len(&self) -> u64 {
        (self.dense.len() + self.sparse.len()) as u64
    }

    fn insert(&mut self, index: u64, handle: Handle) {
        let dense = self.dense.len() as u64;
        if index < dense {
            self.dense[index as usize] = handle;
        } else if index == dense {
            self.sparse.remove(&index);
            self.dense.push(handle);
        } else {
            self.sparse.insert(index, handle);
        }
    }

    fn get(&self, index: u64) -> Option<Handle> {
        match usize::try_from(index).ok().and_then(|i| self.dense.get(i)) {
            Some(&handle) => Some(handle),
            None => self.sparse.get(&index).copied(),
        }
    }
}

/// The opcode machine's state.
struct Machine<'a> {
    input: &'a [u8],
    /// Where the next opcode starts.
    pos: usize,
    /// Where the opcode being run starts, for errors.
    at: usize,
    /// The last `PROTO` opcode's, or 0.
    protocol: u8,
    nodes: Vec<Slot<'a>>,
    stack: Vec<Handle>,
    /// Stack lengths at each `MARK`: the stack below the top mark is out of
    /// reach until a mark-consuming opcode pops it (Python's "fence").
    marks: Vec<usize>,
    memo: Memo,
    /// Charged for what a `REDUCE` copies, since one memoized argument can
    /// be passed to many calls.
    budget: Budget,
}

/// Decodes one pickle into a [`Value`] within `limits`.
pub(super) fn decode(input: &[u8], limits: &Limits) -> Result<Value, PickleError> {
    let limit = input.len().saturating_mul(limits.max_expansion);
    let mut machine = Machine {
        input,
        pos: 0,
        at: 0,
        protocol: 0,
        // Enough for a small message without regrowing; no more, since a
        // large pickle's length says nothing true about its values.
        nodes: Vec::with_capacity(input.len().min(32)),
        stack: Vec::with_capacity(input.len().min(32)),
        marks: Vec::new(),
        memo: Memo {
            dense: Vec::with_capacity(input.len().min(16)),
            sparse: BTreeMap::new(),
        },
        budget: Budget { left: limit, limit },
    };
    let root = machine.run()?;
    Builder {
        nodes: &mut machine.nodes,
        budget: machine.budget,
        max_depth: limits.max_depth,
    }
    .build(root)
}

impl<'a> Machine<'a> {
    /// Runs opcodes up to `STOP`; the handle of the value it returns.
    fn run(&mut self) -> Result<Handle, PickleError> {
        loop {
            self.at = self.pos;
            let Some(&code) = self.input.get(self.pos) else {
                return Err(PickleError::MissingStop);
            };
            self.pos += 1;
            if code == op::STOP {
                let root = self.pop()?;
                if self.pos < self.input.len() {
                    return Err(PickleError::TrailingBytes { offset: self.pos });
                }
                return Ok(root);
            }
            self.step(code)?;
        }
    }

    /// Runs one opcode other than `STOP`.
    fn step(&mut self, code: u8) -> Result<(), PickleError> {
        match code {
            op::PROTO => {
                self.protocol = self.byte()?;
                if self.protocol > op::HIGHEST_PROTOCOL {
                    return Err(self.malformed("protocol above 5"));
                }
            }
            op::FRAME => {
                // Only a hint for readers of files: check it, read on.
                let len = self.u64()?;
                if len > (self.input.len() - self.pos) as u64 {
                    return Err(PickleError::Truncated { offset: self.at });
                }
            }
            op::NONE => self.push(Node::None)?,
            op::NEWTRUE => self.push(Node::Bool(true))?,
            op::NEWFALSE => self.push(Node::Bool(false))?,
            op::BININT => {
                let n = i32::from_le_bytes(self.array()?);
                self.push(Node::Int(n.into()))?;
            }
            op::BININT1 => {
                let n = self.byte()?;
                self.push(Node::Int(n.into()))?;
            }
            op::BININT2 => {
                let n = u16::from_le_bytes(self.array()?);
                self.push(Node::Int(n.into()))?;
            }
            op::LONG1 => {
                let len = self.byte()?;
                let le = self.take(len.into())?;
                self.push(int_node(Blob::Borrowed(le)))?;
            }
            op::LONG4 => {
                let len = i32::from_le_bytes(self.array()?);
                let len =
                    u64::try_from(len).map_err(|_| self.malformed("negative LONG4 length"))?;
                let le = self.take(len)?;
                self.push(int_node(Blob::Borrowed(le)))?;
            }
            op::BINFLOAT => {
                let x = f64::from_be_bytes(self.array()?);
                self.push(Node::Float(x))?;
            }
            op::SHORT_BINUNICODE => self.string(1)?,
            op::BINUNICODE => self.string(4)?,
            op::BINUNICODE8 => self.string(8)?,
            op::SHORT_BINBYTES => self.bytes(1, false)?,
            op::BINBYTES => self.bytes(4, false)?,
            op::BINBYTES8 => self.bytes(8, false)?,
            op::BYTEARRAY8 => self.bytes(8, true)?,
            op::SHORT_BINSTRING => self.ascii_string(1)?,
            op::BINSTRING => self.ascii_string(4)?,
            op::EMPTY_TUPLE => self.push(Node::Container(Kind::Tuple, Vec::new()))?,
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(code - op::TUPLE1) + 1;
                let items = self.pop_n(n)?;
                self.push(Node::Container(Kind::Tuple, items))?;
            }
            op::TUPLE => self.collect(Kind::Tuple)?,
            op::EMPTY_LIST => self.push(Node::Container(Kind::List, Vec::new()))?,
            op::LIST => self.collect(Kind::List)?,
            op::EMPTY_DICT => self.push(Node::Container(Kind::Dict, Vec::new()))?,
            op::DICT => self.collect(Kind::Dict)?,
            op::EMPTY_SET => self.push(Node::Container(Kind::Set, Vec::new()))?,
            op::FROZENSET => self.collect(Kind::FrozenSet)?,
            op::APPEND => {
                let item = self.pop()?;
                self.extend(Kind::List, &[item])?;
            }
            op::SETITEM => {
                let pair = self.pop_n(2)?;
                self.extend(Kind::Dict, &pair)?;
            }
            op::APPENDS => {
                let items = self.pop_mark()?;
                self.extend(Kind::List, &items)?;
            }
            op::SETITEMS => {
                let items = self.pop_mark()?;
                self.extend(Kind::Dict, &items)?;
            }
            op::ADDITEMS => {
                let items = self.pop_mark()?;
                self.extend(Kind::Set, &items)?;
            }
            op::MARK => self.marks.push(self.stack.len()),
            op::POP => {
                if self.stack.len() > self.fence() {
                    self.stack.pop();
                } else {
                    self.pop_mark()?;
                }
            }
            op::POP_MARK => {
                self.pop_mark()?;
            }
            op::DUP => {
                let top = self.top()?;
                self.stack.push(top);
            }
            op::BINPUT => {
                let index = self.byte()?;
                self.memoize(index.into())?;
            }
            op::LONG_BINPUT => {
                let index = u32::from_le_bytes(self.array()?);
                self.memoize(index.into())?;
            }
            op::MEMOIZE => self.memoize(self.memo.len())?,
            op::PUT => {
                let index = self.line_index()?;
                self.memoize(index)?;
            }
            op::BINGET => {
                let index = self.byte()?;
                self.recall(index.into())?;
            }
            op::LONG_BINGET => {
                let index = u32::from_le_bytes(self.array()?);
                self.recall(index.into())?;
            }
            op::GET => {
                let index = self.line_index()?;
                self.recall(index)?;
            }
            op::GLOBAL => {
                let module = self.line()?;
                let name = self.line()?;
                let callable = self.allowed(module, name)?;
                self.push(Node::Global(callable, self.at))?;
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let callable = match (
                    &self.nodes[module as usize].node,
                    &self.nodes[name as usize].node,
                ) {
                    (Node::Str(module), Node::Str(name)) => {
                        self.allowed(module.as_str().as_bytes(), name.as_str().as_bytes())?
                    }
                    _ => return Err(self.malformed("STACK_GLOBAL of other than two strings")),
                };
                self.push(Node::Global(callable, self.at))?;
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let node = self.reduce(callable, args)?;
                self.budget.charge(copied(&node))?;
                self.push(node)?;
            }
            op::INT => self.text_int(false)?,
            op::LONG => self.text_int(true)?,
            op::FLOAT => {
                let line = self.line()?;
                let x = core::str::from_utf8(line)
                    .ok()
                    .and_then(text_float)
                    .ok_or_else(|| self.malformed("FLOAT is not a number"))?;
                self.push(Node::Float(x))?;
            }
            op::UNICODE => {
                let line = self.line()?;
                let text = raw_unicode_escape(line, self.at)?;
                self.push(Node::Str(Text::Owned(text)))?;
            }
            _ => {
                return Err(match op::refused(code) {
                    Some(opcode) => PickleError::Refused {
                        opcode,
                        offset: self.at,
                    },
                    None => PickleError::UnknownOpcode {
                        opcode: code,
                        offset: self.at,
                    },
                })
            }
        }
        Ok(())
    }

    fn malformed(&self, what: &'static str) -> PickleError {
        PickleError::Malformed {
            what,
            offset: self.at,
        }
    }

    // Reading arguments. Each checks what is left before it slices.

    fn take(&mut self, len: u64) -> Result<&'a [u8], PickleError> {
        let left = self.input.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= left)
            .ok_or(PickleError::Truncated { offset: self.at })?;
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.array::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A length of `width` bytes (1, 4 or 8), little-endian, unsigned.
    fn length(&mut self, width: usize) -> Result<u64, PickleError> {
        Ok(match width {
            1 => self.byte()?.into(),
            4 => u32::from_le_bytes(self.array()?).into(),
            _ => self.u64()?,
        })
    }

    /// Text up to a newline (protocol 0 arguments), without it.
    fn line(&mut self) -> Result<&'a [u8], PickleError> {
        let rest = &self.input[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated { offset: self.at })?;
        self.pos += end + 1;
        Ok(&rest[..end])
    }

    fn line_index(&mut self) -> Result<u64, PickleError> {
        let line = self.line()?;
        core::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| self.malformed("memo index is not a number"))
    }

    // Values.

    fn string(&mut self, width: usize) -> Result<(), PickleError> {
        let len = self.length(width)?;
        let bytes = self.take(len)?;
        let text = utf8(bytes, self.at)?;
        self.push(Node::Str(Text::Borrowed(text)))
    }

    fn bytes(&mut self, width: usize, bytearray: bool) -> Result<(), PickleError> {
        let len = self.length(width)?;
        let blob = Blob::Borrowed(self.take(len)?);
        self.push(if bytearray {
            Node::ByteArray(blob)
        } else {
            Node::Bytes(blob)
        })
    }

    /// Python 2's `str` (`BINSTRING`), which Python 3 loads as ASCII text.
    fn ascii_string(&mut self, width: usize) -> Result<(), PickleError> {
        let len = self.length(width)?;
        if width == 4 && len > i32::MAX as u64 {
            return Err(self.malformed("negative BINSTRING length"));
        }
        let bytes = self.take(len)?;
        if !bytes.is_ascii() {
            return Err(PickleError::InvalidUtf8 { offset: self.at });
        }
        self.push(Node::Str(Text::Borrowed(utf8(bytes, self.at)?)))
    }

    /// `INT` and `LONG`: decimal text, as protocols 0 and 1 write them;
    /// `I01`/`I00` are `True`/`False`. CPython reads this text in base 0
    /// (`I010` is 8) and makes a bool of any two characters worth 0 or 1
    /// (`I+1`): forms it never writes, refused here rather than misread.
    fn text_int(&mut self, long: bool) -> Result<(), PickleError> {
        let mut line = self.line()?;
        if !long && (line == b"00" || line == b"01") {
            return self.push(Node::Bool(line == b"01"));
        }
        if long {
            line = line.strip_suffix(b"L").unwrap_or(line);
        }
        let le =
            decimal(line).ok_or_else(|| self.malformed("integer text not as CPython writes it"))?;
        self.push(int_node(Blob::Owned(le)))
    }

    // The stack.

    fn push(&mut self, node: Node<'a>) -> Result<(), PickleError> {
        let handle = Handle::try_from(self.nodes.len())
            .map_err(|_| self.malformed("more than 2**32 values"))?;
        self.nodes.push(Slot { node, open: false });
        self.stack.push(handle);
        Ok(())
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Handle, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(self.malformed("stack underflow"));
        }
        Ok(self.stack.pop().unwrap_or_default())
    }

    fn top(&self) -> Result<Handle, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(self.malformed("stack underflow"));
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Handle>, PickleError> {
        if self.stack.len() < self.fence() + n {
            return Err(self.malformed("stack underflow"));
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self) -> Result<Vec<Handle>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.malformed("no MARK to pop"))?;
        Ok(self.stack.split_off(mark))
    }

    /// `TUPLE`, `LIST`, `DICT`, `FROZENSET`: the items since the mark.
    fn collect(&mut self, kind: Kind) -> Result<(), PickleError> {
        let items = self.pop_mark()?;
        if kind == Kind::Dict && items.len() % 2 != 0 {
            return Err(self.malformed("odd number of items for a dict"));
        }
        self.push(Node::Container(kind, items))
    }

    /// Adds items to the container on top of the stack, which must be of
    /// `kind` (a list, dict or set: tuples and frozensets never change).
    fn extend(&mut self, kind: Kind, items: &[Handle]) -> Result<(), PickleError> {
        if kind == Kind::Dict && items.len() % 2 != 0 {
            return Err(self.malformed("odd number of items for a dict"));
        }
        let top = self.top()?;
        match &mut self.nodes[top as usize].node {
            Node::Container(k, existing) if *k == kind => {
                existing.extend_from_slice(items);
                Ok(())
            }
            _ => Err(self.malformed("adding items to other than a list, dict or set")),
        }
    }

    fn memoize(&mut self, index: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.insert(index, top);
        Ok(())
    }

    fn recall(&mut self, index: u64) -> Result<(), PickleError> {
        let handle = self.memo.get(index).ok_or(PickleError::MemoMissing {
            index,
            offset: self.at,
        })?;
        self.stack.push(handle);
        Ok(())
    }

    fn allowed(&self, module: &[u8], name: &[u8]) -> Result<Callable, PickleError> {
        Callable::find(module, name, self.protocol).ok_or(PickleError::Global {
            name: GlobalName::new(module, name),
            offset: self.at,
        })
    }

    /// `REDUCE`: calls one of the allowed callables with exactly the
    /// arguments CPython's pickles pass it.
    fn reduce(&self, callable: Handle, args: Handle) -> Result<Node<'a>, PickleError> {
        let Node::Global(callable, _) = self.nodes[callable as usize].node else {
            return Err(self.malformed("REDUCE of other than an allowed global"));
        };
        let args = match &self.nodes[args as usize].node {
            Node::Container(Kind::Tuple, args) => args.as_slice(),
            _ => return Err(self.malformed("REDUCE arguments are not a tuple")),
        };
        let arg = |i: usize| &self.nodes[args[i] as usize].node;
        let bad = || PickleError::Global {
            name: callable.name(),
            offset: self.at,
        };
        Ok(match (callable, args.len()) {
            (Callable::Set, 0) => Node::Container(Kind::Set, Vec::new()),
            (Callable::FrozenSet, 0) => Node::Container(Kind::FrozenSet, Vec::new()),
            (Callable::Set | Callable::FrozenSet, 1) => {
                let kind = if callable == Callable::Set {
                    Kind::Set
                } else {
                    Kind::FrozenSet
                };
                match arg(0) {
                    Node::Container(Kind::List | Kind::Tuple, items) => {
                        Node::Container(kind, items.clone())
                    }
                    _ => return Err(bad()),
                }
            }
            (Callable::Bytes, 0) => Node::Bytes(Blob::Borrowed(&[])),
            (Callable::ByteArray, 0) => Node::ByteArray(Blob::Borrowed(&[])),
            (Callable::ByteArray, 1) => match arg(0) {
                Node::Bytes(Blob::Borrowed(b)) => Node::ByteArray(Blob::Borrowed(b)),
                Node::Bytes(Blob::Owned(b)) => Node::ByteArray(Blob::Owned(b.clone())),
                _ => return Err(bad()),
            },
            (Callable::ByteArray | Callable::CodecsEncode, 2) => {
                let (Node::Str(text), Node::Str(encoding)) = (arg(0), arg(1)) else {
                    return Err(bad());
                };
                if !matches!(encoding.as_str(), "latin1" | "latin-1") {
                    return Err(bad());
                }
                let bytes =
                    latin1(text.as_str()).ok_or_else(|| self.malformed("text is not latin-1"))?;
                if callable == Callable::ByteArray {
                    Node::ByteArray(Blob::Owned(bytes))
                } else {
                    Node::Bytes(Blob::Owned(bytes))
                }
            }
            _ => return Err(bad()),
        })
    }
}

/// The bytes a `REDUCE` result copied from its arguments: the items of a
/// set made from a list, or bytes made from text.
fn copied(node: &Node<'_>) -> usize {
    match node {
        Node::Container(_, items) => items.len().saturating_mul(size_of::<Value>()),
        Node::Bytes(Blob::Owned(b)) | Node::ByteArray(Blob::Owned(b)) => b.len(),
        _ => 0,
    }
}

/// `LONG1`/`LONG4`/`INT`/`LONG` bytes: an `Int` when it fits in an `i64`.
fn int_node(le: Blob<'_>) -> Node<'_> {
    let small = minimal(le.as_slice());
    if small.len() <= 8 {
        let fill = if small.last().is_some_and(|&b| b & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut wide = [fill; 8];
        wide[..small.len()].copy_from_slice(small);
        return Node::Int(i64::from_le_bytes(wide));
    }
    Node::BigInt(le)
}

/// Python's `int(text)` refuses more digits than this (CPython's
/// `sys.get_int_max_str_digits()`), since conversion is quadratic.
const MAX_DIGITS: usize = 4300;

/// Decimal text (an optional `-`, then digits) to two's complement
/// little-endian bytes. Nine digits at a time into 32-bit limbs: a 4,300
/// digit number costs about 200,000 multiplications.
fn decimal(text: &[u8]) -> Option<Vec<u8>> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    // As `repr(int)` writes them: no `+`, no leading zero, no `-0`.
    let canonical = match digits {
        [b'0'] => !negative,
        [first, ..] => *first != b'0',
        [] => false,
    };
    if !canonical || digits.len() > MAX_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut limbs: Vec<u32> = Vec::new();
    let first = match digits.len() % 9 {
        0 => 9,
        n => n,
    };
    let (head, tail) = digits.split_at(first);
    for chunk in core::iter::once(head).chain(tail.chunks(9)) {
        let mut carry = chunk
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        let scale = 10u64.pow(chunk.len() as u32);
        for limb in limbs.iter_mut() {
            let cur = u64::from(*limb) * scale + carry;
            *limb = cur as u32;
            carry = cur >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    // Magnitude, then one zero byte so the sign bit is clear.
    let mut le: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    le.push(0);
    if negative {
        negate(&mut le);
    }
    Some(le)
}

/// Checks `bytes` as UTF-8, telling a lone surrogate (which Python writes
/// as the three bytes `ed a0..bf xx`) from other invalid text.
fn utf8(bytes: &[u8], offset: usize) -> Result<&str, PickleError> {
    core::str::from_utf8(bytes).map_err(|e| {
        let bad = &bytes[e.valid_up_to()..];
        match bad {
            [0xed, 0xa0..=0xbf, ..] => PickleError::LoneSurrogate { offset },
            _ => PickleError::InvalidUtf8 { offset },
        }
    })
}

/// `FLOAT`'s text: what `repr(float)` writes. A finite number too large
/// for an `f64` is refused, as CPython does (it does not become `inf`).
fn text_float(text: &str) -> Option<f64> {
    let x: f64 = text.parse().ok()?;
    let spelled_infinite = text
        .trim_start_matches(['+', '-'])
        .get(..3)
        .is_some_and(|s| s.eq_ignore_ascii_case("inf"));
    (!x.is_infinite() || spelled_infinite).then_some(x)
}

fn latin1(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(c).ok()).collect()
}

/// Python's `raw-unicode-escape` decoding, which protocol 0's `UNICODE`
/// uses: bytes are Latin-1, except that `\uXXXX` and `\UXXXXXXXX` after an
/// odd number of backslashes are code points.
fn raw_unicode_escape(line: &[u8], offset: usize) -> Result<String, PickleError> {
    let bad = PickleError::Malformed {
        what: "bad \\u escape in UNICODE",
        offset,
    };
    let mut out = String::new();
    let mut i = 0;
    while i < line.len() {
        if line[i] != b'\\' {
            out.push(char::from(line[i]));
            i += 1;
            continue;
        }
        let run = line[i..].iter().take_while(|&&b| b == b'\\').count();
        out.extend(core::iter::repeat('\\').take(run));
        i += run;
        let width = match line.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => continue,
        };
        out.pop();
        let hex = line.get(i + 1..i + 1 + width).ok_or(bad)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad);
        }
        let hex = core::str::from_utf8(hex).map_err(|_| bad)?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| bad)?;
        if (0xd800..0xe000).contains(&code) {
            return Err(PickleError::LoneSurrogate { offset });
        }
        out.push(char::from_u32(code).ok_or(bad)?);
        i += 1 + width;
    }
    Ok(out)
}
