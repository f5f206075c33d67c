//! What receiving holds on the heap, counted per thread by a global
//! allocator: a message paused many times is resumed without allocating, a
//! message cut short holds at most twice what arrived, and a connection
//! whose messages are all taken keeps at most 4 KiB.

use std::os::fd::AsFd;
use std::thread;
use std::time::Duration;

use ipcwire::sys::{self, Errno, PollFd, PollFlags};
use ipcwire::{pipe, Connection, Error};

#[path = "common/heap.rs"]
mod heap;
use heap::{allocations, live, peak, reset_peak};

/// Writes `bytes` to `fd` from another thread, `piece` bytes at a time with
/// a pause after each, then closes it.
fn trickle(writer: Connection, bytes: Vec<u8>, piece: usize) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let fd = writer.as_fd();
        for chunk in bytes.chunks(piece) {
            let mut sent = 0;
            while sent < chunk.len() {
                sent += sys::write(fd, &chunk[sent..]).expect("write");
            }
            thread::sleep(Duration::from_micros(300));
        }
    })
}

/// Receives one message into `buf` on a non-blocking connection, waiting
/// in `poll` at each `EAGAIN`; returns its length and the pauses it took.
fn recv_paused_into(conn: &mut Connection, buf: &mut [u8]) -> (usize, usize) {
    let mut pauses = 0;
    loop {
        match conn.recv_bytes_into(buf) {
            Ok(n) => return (n, pauses),
            Err(Error::Io(Errno::AGAIN)) => {
                pauses += 1;
                let mut fds = [PollFd::new(conn.as_fd(), PollFlags::IN)];
                sys::poll(&mut fds, Some(Duration::from_secs(5))).expect("poll");
            }
            Err(e) => panic!("recv_bytes_into: {e:?}"),
        }
    }
}

/// A frame of `len` bytes of `fill`, as raw bytes.
fn frame(len: usize, fill: u8) -> Vec<u8> {
    let mut wire = (len as u32).to_be_bytes().to_vec();
    wire.resize(4 + len, fill);
    wire
}

fn paused_receives_into_a_buffer_allocate_nothing() {
    let (mut reader, writer) = pipe(false).expect("pipe");
    reader.set_nonblocking(true).expect("non-blocking");
    // The read-ahead buffer is taken on the first receive.
    let mut buf = vec![0; 1 << 20];
    let _ = reader.recv_bytes_into(&mut buf);
    let sender = trickle(writer, frame(1 << 20, 0x5A), 16 * 1024);
    let before = allocations();
    let (n, pauses) = recv_paused_into(&mut reader, &mut buf);
    let made = allocations() - before;
    sender.join().expect("sender");
    assert_eq!(n, 1 << 20);
    assert!(buf.iter().all(|&b| b == 0x5A), "the message arrived intact");
    assert!(pauses >= 8, "only {pauses} pauses: the test proves nothing");
    assert_eq!(made, 0, "{made} allocations over {pauses} pauses");
}

fn a_message_cut_short_holds_at_most_twice_what_arrived() {
    let (mut reader, writer) = pipe(false).expect("pipe");
    // The header promises 64 MiB; 5 MB arrive, then the end.
    let arrived = 5_000_000;
    let mut wire = ((64u32 << 20) - 1).to_be_bytes().to_vec();
    wire.resize(4 + arrived, 7);
    let sender = trickle(writer, wire, 64 * 1024);
    let start = reset_peak();
    assert_eq!(reader.recv_bytes(), Err(Error::Truncated));
    sender.join().expect("sender");
    let held = peak() - start;
    assert!(
        held <= 2 * arrived + 64 * 1024,
        "held {held} bytes for {arrived} that arrived ({:.2}x)",
        held as f64 / arrived as f64
    );
}

fn connections_whose_messages_are_taken_hold_at_most_4_kib() {
    const PAIRS: usize = 200;
    let mut pairs: Vec<(Connection, Connection)> = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        pairs.push(pipe(true).expect("socketpair"));
    }
    let before = live();
    for (a, b) in &mut pairs {
        a.send_bytes(b"hello").expect("send");
        assert_eq!(b.recv_bytes().expect("recv"), b"hello");
    }
    let each = (live() - before) / PAIRS;
    assert!(each <= 4096, "{each} bytes held per idle connection");
}

// One test: the phases measure this thread's heap one after another.
#[test]
fn receiving_holds_what_it_needs_and_no_more() {
    paused_receives_into_a_buffer_allocate_nothing();
    a_message_cut_short_holds_at_most_twice_what_arrived();
    connections_whose_messages_are_taken_hold_at_most_4_kib();
}
