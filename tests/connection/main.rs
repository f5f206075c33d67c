//! Connections over real pipes and socket pairs, talking to real forked
//! processes.
//!
//! One module per theme: `messages`, `failures` (end of stream, malformed
//! and cut frames, peers gone), `limits` (buffers, `max_len`, pipe
//! capacity), `directions` (and `poll`), `descriptors`, `batches` (many
//! messages per send), `borrowed` (receives from the read-ahead buffer),
//! `two_pipes` (duplex connections over two pipes, one each way); this
//! file has the test messages they share.
//!
//! Every test takes `serial::lock()` first: the tests fork and count this
//! process's descriptors, so they must not overlap. While one test holds
//! it, the harness's other threads are parked on the lock, and the children
//! only do simple work (on glibc, allocating after `fork` is safe) before
//! leaving through the closure's return code.

#[path = "../common/faults.rs"]
mod faults;
#[path = "../common/fds.rs"]
mod fds;
#[path = "../common/fork.rs"]
mod fork;
#[path = "../common/serial.rs"]
mod serial;

mod batches;
mod borrowed;
mod descriptors;
mod directions;
mod failures;
mod limits;
mod messages;
mod two_pipes;

const MIB: usize = 1 << 20;

/// The byte at `i` of a test message of `len` bytes.
fn byte(i: usize, len: usize) -> u8 {
    (i * 7 + len) as u8
}

/// A test message of `len` bytes.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| byte(i, len)).collect()
}

/// Whether `msg` is exactly the test message of `len` bytes.
fn is_pattern(msg: &[u8], len: usize) -> bool {
    msg.len() == len && msg.iter().enumerate().all(|(i, &b)| b == byte(i, len))
}
