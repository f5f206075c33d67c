//! MD5, SHA-256 and HMAC, only as much as the authkey handshake of Python's
//! `multiprocessing.connection` needs.
//!
//! This is not a general-purpose crypto library: nothing here is hardened
//! against side channels beyond [`ct_eq`], and nothing is tuned for speed.
//!
//! - [`Sha256`] / [`hmac_sha256`]: the handshake of Python 3.12 and newer,
//!   which names its digest in the challenge (`{sha256}...`).
//! - [`Md5`] / [`hmac_md5`]: only for peers on Python 3.11 and older, whose
//!   handshake is HMAC-MD5. MD5 is broken as a hash; it stays for
//!   compatibility and nothing else.
//!
//! Pure code: no `unsafe`, no allocation, no system calls.
//!
//! ```
//! use ipcwire::digest::{ct_eq, hmac_sha256, Digest, Hmac, Sha256};
//! let mut mac = Hmac::<Sha256>::new(b"secret");
//! mac.update(b"{sha256}");
//! mac.update(b"challenge");
//! assert!(ct_eq(&mac.finish(), &hmac_sha256(b"secret", b"{sha256}challenge")));
//! ```
#![forbid(unsafe_code)]

mod hmac;
mod md5;
mod sha256;

pub use hmac::{hmac_md5, hmac_sha256, Hmac};
pub use md5::{md5, Md5};
pub use sha256::{sha256, Sha256};

/// A hash function that takes its input in pieces.
pub trait Digest: Clone {
    /// The size of the blocks the compression function eats, in bytes.
    const BLOCK_LEN: usize;
    /// The size of the digest, in bytes.
    const OUTPUT_LEN: usize;
    /// The digest: a byte array of `OUTPUT_LEN` bytes.
    type Output: AsRef<[u8]> + Copy + core::fmt::Debug + PartialEq;
    /// A hasher that has seen no input yet.
    fn new() -> Self;
    /// Appends `data` to the message; any chunking gives the same digest.
    fn update(&mut self, data: &[u8]);
    /// Pads the message and returns its digest.
    fn finish(self) -> Self::Output;
}

/// Whether `a` and `b` are equal, in time that does not depend on where
/// they differ (only on their lengths), so comparing a MAC leaks nothing.
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut acc = 0u8;
    for (x, y) in a.iter().zip(b) {
        // Opaque to the optimiser, so it cannot turn the fold into a loop
        // that stops at the first difference.
        acc = core::hint::black_box(acc | (x ^ y));
    }
    acc == 0
}

/// The block size both MD5 and SHA-256 use.
const BLOCK: usize = 64;

/// Input buffering and Merkle–Damgård padding, shared by MD5 and SHA-256,
/// which differ only in the compression function and the byte order of the
/// length.
#[derive(Clone)]
struct Blocks {
    buf: [u8; BLOCK],
    /// Message length in bytes, modulo 2^64; the buffered part is
    /// `len % 64`, so there is no separate fill level to keep in sync.
    len: u64,
}

impl Blocks {
    /// An empty message.
    const fn new() -> Self {
        Blocks {
            buf: [0; BLOCK],
            len: 0,
        }
    }

    /// Bytes waiting in `buf`; always below `BLOCK`.
    fn fill(&self) -> usize {
        (self.len % BLOCK as u64) as usize
    }

    /// Appends `data`, handing each completed block to `compress`.
    fn update(&mut self, mut data: &[u8], mut compress: impl FnMut(&[u8; BLOCK])) {
        let fill = self.fill();
        // usize is at most 64 bits on every target Rust supports.
        self.len = self.len.wrapping_add(data.len() as u64);
        if fill != 0 {
            let take = data.len().min(BLOCK - fill);
            let (head, rest) = data.split_at(take);
            self.buf[fill..fill + take].copy_from_slice(head);
            if fill + take < BLOCK {
                return;
            }
            compress(&self.buf);
            data = rest;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            // Always `Ok`: `chunks_exact` yields exactly `BLOCK` bytes.
            if let Ok(block) = block.try_into() {
                compress(block);
            }
        }
        let tail = blocks.remainder();
        self.buf[..tail.len()].copy_from_slice(tail);
    }

    /// Pads with `0x80`, zeros and the bit length (as `len_bytes` encodes
    /// it), handing the last one or two blocks to `compress`.
    fn finish(mut self, len_bytes: fn(u64) -> [u8; 8], mut compress: impl FnMut(&[u8; BLOCK])) {
        let fill = self.fill();
        // Both specs take the bit length modulo 2^64.
        let bits = self.len.wrapping_mul(8);
        self.buf[fill] = 0x80;
        self.buf[fill + 1..].fill(0);
        // No room left for the 8-byte length: it goes in a block of its own.
        if fill >= BLOCK - 8 {
            compress(&self.buf);
            self.buf = [0; BLOCK];
        }
        self.buf[BLOCK - 8..].copy_from_slice(&len_bytes(bits));
        compress(&self.buf);
    }
}

/// Reads a block as sixteen 32-bit words in the byte order `from_bytes` picks.
fn load_words(block: &[u8; BLOCK], from_bytes: fn([u8; 4]) -> u32) -> [u32; 16] {
    let mut words = [0; 16];
    for (word, bytes) in words.iter_mut().zip(block.chunks_exact(4)) {
        // Always `Ok`: `chunks_exact` yields exactly 4 bytes.
        if let Ok(bytes) = bytes.try_into() {
            *word = from_bytes(bytes);
        }
    }
    words
}

/// Writes `words` out as bytes in the order `to_bytes` picks.
fn store_words<const N: usize>(words: &[u32], to_bytes: fn(u32) -> [u8; 4]) -> [u8; N] {
    let mut out = [0; N];
    for (bytes, word) in out.chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&to_bytes(*word));
    }
    out
}
