//! Sending (one message or a batch) and receiving into a caller's buffer
//! or borrowed from the connection allocate nothing per message, counted
//! by a global allocator that tallies every allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipcwire::{pipe, pipe_with_capacity, Connection};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, which is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Sends `count` messages of `len` bytes from `writer` and receives each
/// into one buffer; returns the allocations made meanwhile. Messages go one
/// at a time, so the pipe never fills.
fn allocations_for(writer: &mut Connection, reader: &mut Connection, len: usize) -> usize {
    let msg = vec![0xA5; len];
    let mut buf = vec![0; len];
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        writer.send_bytes(&msg).expect("send");
        assert_eq!(reader.recv_bytes_into(&mut buf), Ok(len));
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// Sends 64 small messages as one batch from `writer` and takes them from
/// `reader` with a borrowed receive and `recv_buffered`, 100 times; returns
/// the allocations made meanwhile.
fn allocations_for_batches(writer: &mut Connection, reader: &mut Connection) -> usize {
    let msgs: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; usize::from(i) * 3]).collect();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..100 {
        writer.send_bytes_batch(&msgs).expect("batch");
        let mut got = 0;
        while got < msgs.len() {
            let msg = reader.recv_bytes_borrowed().expect("borrowed");
            assert_eq!(msg, &msgs[got][..]);
            got += 1;
            while let Some(msg) = reader.recv_buffered() {
                assert_eq!(msg, &msgs[got][..]);
                got += 1;
            }
        }
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

// One test per process state: libtest's own threads allocate, so the counts
// are taken in one test only.
#[test]
fn sends_and_receives_allocate_nothing_per_message() {
    let (mut reader, mut writer) = pipe_with_capacity(1 << 20).expect("pipe");
    let (mut a, mut b) = pipe(true).expect("socketpair");
    // The read-ahead buffer is allocated once, on the first receive.
    allocations_for(&mut writer, &mut reader, 1);
    allocations_for(&mut a, &mut b, 1);
    for len in [0, 64, 256, 257, 4096, 100_000, 600_000] {
        assert_eq!(
            allocations_for(&mut writer, &mut reader, len),
            0,
            "pipe, {len} bytes"
        );
        assert_eq!(
            allocations_for(&mut a, &mut b, len.min(100_000)),
            0,
            "socket, {len} bytes"
        );
    }
    // Batches and borrowed receives: a new pair takes its read-ahead buffer
    // on the first receive.
    for duplex in [false, true] {
        let (mut reader, mut writer) = pipe(duplex).expect("pipe");
        writer.send_bytes(b"first").expect("send");
        assert_eq!(reader.recv_bytes_borrowed(), Ok(&b"first"[..]));
        assert_eq!(
            allocations_for_batches(&mut writer, &mut reader),
            0,
            "duplex={duplex}: batches and borrowed receives"
        );
    }
}
