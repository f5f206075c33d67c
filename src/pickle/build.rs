//! Phase 2 of decoding: the [`Value`] from the arena, without recursion.
//!
//! A stack of frames, one per container being built, each with its items
//! so far: the stack's height is the depth. A node reached again through a
//! shared reference is built again, and every byte the value will take is
//! charged to the budget before it is built. A container reached again
//! while its own frame is open is a cycle.

use alloc::string::String;
use alloc::vec::Vec;
use core::mem::size_of;

use super::decode::{Budget, Handle, Kind, Node, Slot};
use super::error::PickleError;
use super::keys;
use super::value::{BigInt, Value};

pub(super) struct Builder<'n, 'a> {
    pub(super) nodes: &'n mut [Slot<'a>],
    pub(super) budget: Budget,
    pub(super) max_depth: usize,
}

/// A container being built.
struct Frame {
    handle: Handle,
    kind: Kind,
    /// Whether it is a dict key or set member, or inside one.
    key: bool,
    /// How many of its items have been started.
    next: usize,
    len: usize,
    items: Items,
}

/// A container's items as they are built: a dict pairs each key with the
/// value that follows it.
enum Items {
    Values(Vec<Value>),
    Pairs(Vec<(Value, Value)>, Option<Value>),
}

impl Items {
    fn push(&mut self, value: Value) {
        match self {
            Items::Values(values) => values.push(value),
            Items::Pairs(pairs, key) => match key.take() {
                None => *key = Some(value),
                Some(k) => pairs.push((k, value)),
            },
        }
    }
}

/// What entering a node gave.
enum Entered {
    Leaf(Value),
    Container(Frame),
}

impl Builder<'_, '_> {
    pub(super) fn build(mut self, root: Handle) -> Result<Value, PickleError> {
        self.budget.charge(size_of::<Value>())?;
        let mut frames: Vec<Frame> = Vec::new();
        let mut entering = Some((root, false));
        loop {
            if let Some((handle, key)) = entering.take() {
                match self.enter(handle, key, frames.len())? {
                    Entered::Container(frame) => frames.push(frame),
                    Entered::Leaf(value) => match frames.last_mut() {
                        Some(parent) => parent.items.push(value),
                        None => return Ok(value),
                    },
                }
            }
            let Some(top) = frames.last_mut() else {
                unreachable!("the root is a leaf or has a frame")
            };
            if top.next < top.len {
                let child = self.child(top.handle, top.next);
                entering = Some((child, item_is_key(top.kind, top.next, top.key)));
                top.next += 1;
                continue;
            }
            let frame = frames
                .pop()
                .unwrap_or_else(|| unreachable!("checked above"));
            self.nodes[frame.handle as usize].open = false;
            let value = finish(frame.kind, frame.items)?;
            match frames.last_mut() {
                Some(parent) => parent.items.push(value),
                None => return Ok(value),
            }
        }
    }

    /// Starts building the node `depth` containers down.
    fn enter(&mut self, handle: Handle, key: bool, depth: usize) -> Result<Entered, PickleError> {
        let slot = &self.nodes[handle as usize];
        let Node::Container(kind, items) = &slot.node else {
            return self.leaf(handle, key).map(Entered::Leaf);
        };
        let (kind, len) = (*kind, items.len());
        if key && !matches!(kind, Kind::Tuple | Kind::FrozenSet) {
            return Err(PickleError::Unhashable);
        }
        if slot.open {
            return Err(PickleError::Cycle);
        }
        if depth >= self.max_depth {
            return Err(PickleError::TooDeep {
                max_depth: self.max_depth,
            });
        }
        // The container's own array of items, before any item.
        self.budget.charge(len.saturating_mul(size_of::<Value>()))?;
        self.nodes[handle as usize].open = true;
        let items = match kind {
            Kind::Dict => Items::Pairs(Vec::with_capacity(len / 2), None),
            _ => Items::Values(Vec::with_capacity(len)),
        };
        Ok(Entered::Container(Frame {
            handle,
            kind,
            key,
            next: 0,
            len,
            items,
        }))
    }

    fn child(&self, container: Handle, i: usize) -> Handle {
        match &self.nodes[container as usize].node {
            Node::Container(_, items) => items[i],
            _ => unreachable!("only containers have frames"),
        }
    }

    /// A copy of a leaf node, charged to the budget.
    fn leaf(&mut self, handle: Handle, key: bool) -> Result<Value, PickleError> {
        let node = &self.nodes[handle as usize].node;
        let heap = match node {
            Node::BigInt(b) | Node::Bytes(b) | Node::ByteArray(b) => b.as_slice().len(),
            Node::Str(s) => s.as_str().len(),
            _ => 0,
        };
        self.budget.charge(heap)?;
        Ok(match &self.nodes[handle as usize].node {
            Node::None => Value::None,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(n) => Value::Int(*n),
            Node::BigInt(le) => Value::BigInt(BigInt::from_le_bytes(le.as_slice())),
            Node::Float(x) => Value::Float(*x),
            Node::Str(s) => Value::Str(String::from(s.as_str())),
            Node::Bytes(b) => Value::Bytes(b.as_slice().to_vec()),
            Node::ByteArray(_) if key => return Err(PickleError::Unhashable),
            Node::ByteArray(b) => Value::ByteArray(b.as_slice().to_vec()),
            Node::Global(callable, offset) => {
                return Err(PickleError::Global {
                    name: callable.name(),
                    offset: *offset,
                })
            }
            Node::Container(..) => unreachable!("containers are not leaves"),
        })
    }
}

/// Whether item `i` of a container is a key: a dict's even items, a set's
/// members, and anything inside a key.
fn item_is_key(kind: Kind, i: usize, container_is_key: bool) -> bool {
    match kind {
        Kind::Tuple => container_is_key,
        Kind::List => false,
        Kind::Dict => i % 2 == 0,
        Kind::Set | Kind::FrozenSet => true,
    }
}

/// The finished container. Keys and members that Python holds equal (a
/// pickle CPython never writes) are refused rather than merged.
fn finish(kind: Kind, items: Items) -> Result<Value, PickleError> {
    Ok(match (kind, items) {
        (Kind::Dict, Items::Pairs(pairs, _)) => {
            keys::check_distinct(pairs.iter().map(|(k, _)| k))?;
            Value::Dict(pairs)
        }
        (_, Items::Pairs(..)) => unreachable!("only dicts pair items"),
        (Kind::Tuple, Items::Values(items)) => Value::Tuple(items),
        (Kind::List, Items::Values(items)) => Value::List(items),
        (Kind::Set, Items::Values(items)) => {
            keys::check_distinct(items.iter())?;
            Value::Set(items)
        }
        (Kind::FrozenSet, Items::Values(items)) => {
            keys::check_distinct(items.iter())?;
            Value::FrozenSet(items)
        }
        (Kind::Dict, Items::Values(_)) => unreachable!("dicts pair items"),
    })
}
