//! The receive buffer a connection reads ahead into.
//!
//! One `read` may bring a header, a payload and the headers after it; the
//! bytes not yet used wait here. Large payloads bypass it and are read
//! straight into the caller's buffer.

use crate::sys::{self, BorrowedFd, Errno};

/// How many bytes one read-ahead may bring in: a default Linux pipe's
/// capacity, so one `read` can drain a full pipe.
#[cfg(feature = "alloc")]
const CAPACITY: usize = 64 * 1024;
/// Without an allocator the buffer lives inside the connection, so keep it small.
#[cfg(not(feature = "alloc"))]
const CAPACITY: usize = 256;

#[cfg(feature = "alloc")]
type Storage = alloc::vec::Vec<u8>;
#[cfg(not(feature = "alloc"))]
type Storage = [u8; CAPACITY];

/// Bytes read from the descriptor and not yet decoded: `buf[start..end]`.
pub(crate) struct ReadAhead {
    buf: Storage,
    start: usize,
    end: usize,
}

impl ReadAhead {
    /// An empty buffer; under `alloc` the memory is taken on first use, so a
    /// connection that only sends never allocates.
    pub(crate) const fn new() -> Self {
        ReadAhead {
            #[cfg(feature = "alloc")]
            buf: alloc::vec::Vec::new(),
            #[cfg(not(feature = "alloc"))]
            buf: [0; CAPACITY],
            start: 0,
            end: 0,
        }
    }

    /// The bytes waiting to be decoded.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` waiting bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once from `fd` into the free room; returns the count read
    /// (`0` at end of stream).
    pub(crate) fn fill(&mut self, fd: BorrowedFd<'_>) -> Result<usize, Errno> {
        let n = sys::read(fd, self.room())?;
        self.commit(n);
        Ok(n)
    }

    /// The free room after the waiting bytes, which are first moved to the
    /// front: fill it, then [`commit`](Self::commit) what was written.
    ///
    /// Called only when the waiting bytes are fewer than a header, so the
    /// move is at most 11 bytes.
    pub(crate) fn room(&mut self) -> &mut [u8] {
        #[cfg(feature = "alloc")]
        if self.buf.is_empty() {
            self.buf.resize(CAPACITY, 0);
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        &mut self.buf[self.end..]
    }

    /// Counts `n` bytes written into the front of [`room`](Self::room) as waiting.
    pub(crate) fn commit(&mut self, n: usize) {
        self.end += n;
    }
}
