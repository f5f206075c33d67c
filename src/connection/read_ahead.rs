//! The buffer a receive reads ahead into.
//!
//! One read may bring a header, a payload and the headers after it; the
//! bytes not yet decoded wait here. Large payloads bypass it and are read
//! straight into the caller's memory.

/// Where read-ahead bytes are kept: a fixed array, or a heap buffer taken
/// on first use.
pub(crate) trait Storage {
    /// The bytes, for reading what was filled (empty before first use).
    fn bytes(&self) -> &[u8];
    /// The bytes, for filling; a lazy buffer is taken here.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// How many bytes it holds once taken.
    fn capacity(&self) -> usize;
}

impl<const N: usize> Storage for [u8; N] {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    fn capacity(&self) -> usize {
        N
    }
}

/// How many bytes one read ahead may bring in with an allocator: enough
/// for some sixty small messages per read, and what an idle connection
/// keeps (a 64 KiB buffer, one per connection, made ten thousand idle
/// clients cost 640 MB).
#[cfg(feature = "alloc")]
pub(crate) const HEAP_LEN: usize = 4 * 1024;

/// A heap buffer of [`HEAP_LEN`] bytes, taken when the connection first
/// reads: a connection that only sends never allocates.
#[cfg(feature = "alloc")]
pub(crate) struct Heap(alloc::vec::Vec<u8>);

#[cfg(feature = "alloc")]
impl Storage for Heap {
    fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        if self.0.is_empty() {
            self.0 = alloc::vec![0; HEAP_LEN];
        }
        &mut self.0
    }

    fn capacity(&self) -> usize {
        HEAP_LEN
    }
}

/// A connection's read-ahead storage.
#[cfg(feature = "alloc")]
pub(crate) type Buffer = Heap;
/// Without an allocator the buffer lives inside the connection: keep it small.
#[cfg(not(feature = "alloc"))]
pub(crate) type Buffer = [u8; 256];

/// An empty read-ahead buffer for a connection (nothing taken yet).
pub(crate) const fn new_buffer() -> Buffer {
    #[cfg(feature = "alloc")]
    return Heap(alloc::vec::Vec::new());
    #[cfg(not(feature = "alloc"))]
    return [0; 256];
}

/// Bytes read and not yet decoded: `buf[start..end]`.
pub(crate) struct ReadAhead<S> {
    buf: S,
    start: usize,
    end: usize,
}

impl<S: Storage> ReadAhead<S> {
    pub(crate) const fn new(buf: S) -> Self {
        ReadAhead {
            buf,
            start: 0,
            end: 0,
        }
    }

    /// The bytes waiting to be decoded.
    pub(crate) fn filled(&self) -> &[u8] {
        &self.buf.bytes()[self.start..self.end]
    }

    /// Where the waiting bytes begin in the buffer.
    pub(crate) fn offset(&self) -> usize {
        self.start
    }

    /// The most bytes the buffer holds.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes of the buffer by position: those consumed stay unchanged
    /// until the next [`room`](Self::room).
    pub(crate) fn stored(&self, at: core::ops::Range<usize>) -> &[u8] {
        &self.buf.bytes()[at]
    }

    /// Marks `n` waiting bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// The free room after the waiting bytes, which are first moved to the
    /// front: fill it, then [`commit`](Self::commit) what was written.
    /// Reads come only once every waiting byte is decoded, so nothing moves.
    pub(crate) fn room(&mut self) -> &mut [u8] {
        let buf = self.buf.bytes_mut();
        buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        &mut buf[self.end..]
    }

    /// Counts `n` bytes written into the front of [`room`](Self::room) as waiting.
    pub(crate) fn commit(&mut self, n: usize) {
        self.end += n;
    }
}
