//! A global allocator that counts per thread: allocations made, bytes held
//! and the most held since a reset. Per thread, so the harness's other
//! threads (or a fuzzer's, or a writer thread) do not disturb what a
//! receive is measured to allocate or hold.
//!
//! Included with `#[path = "common/heap.rs"] mod heap;` by
//! `tests/memory.rs` and by `tests/common/fuzz_checks.rs`; it installs
//! itself as the binary's global allocator.
#![allow(dead_code)] // each includer uses a part

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(by: usize) {
    COUNT.with(|c| c.set(c.get() + 1));
    let live = LIVE.with(|l| {
        l.set(l.get() + by);
        l.get()
    });
    PEAK.with(|p| p.set(p.get().max(live)));
}

fn shrank(by: usize) {
    LIVE.with(|l| l.set(l.get().saturating_sub(by)));
}

pub struct Counting;

// SAFETY: every call goes on unchanged to the system allocator; the
// counters are const-initialised thread-local cells, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        shrank(layout.size());
        grew(new_size);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) this thread has made.
pub fn allocations() -> usize {
    COUNT.with(Cell::get)
}

/// Bytes this thread holds.
pub fn live() -> usize {
    LIVE.with(Cell::get)
}

/// Starts a measurement: returns what this thread holds now.
pub fn reset_peak() -> usize {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

/// The most this thread held since [`reset_peak`].
pub fn peak() -> usize {
    PEAK.with(Cell::get)
}
