//! Batches on the wire: `send_bytes_batch` puts exactly the bytes of the
//! same `send_bytes` calls on a pipe and on a socket pair, which are the
//! frames Python's `send_bytes` would write.

use std::os::fd::AsFd;
use std::thread;

use ipcwire::{pipe, Connection, Direction, Error, ExitStatus};

use crate::faults::{check_numbered, frame, numbered};
use crate::fds::read_to_end;
use crate::fork::with_child;
use crate::serial::lock;

/// The messages of a batch: 1,100, more than the 512 frames one vectored
/// write carries; among the first 100 every 23rd is empty (the first two
/// among them), then none is, so that the second write's 1,024 buffers
/// are all used; the last is empty again. One is just past the 256 bytes
/// that go in one plain write, one larger than a pipe.
fn messages() -> Vec<Vec<u8>> {
    let mut msgs: Vec<Vec<u8>> = (0..1100)
        .map(|seq| match seq {
            0..100 => numbered(seq, (seq % 23 * 13) as usize),
            _ => numbered(seq, 1 + seq as usize % 280),
        })
        .collect();
    msgs[1] = Vec::new();
    msgs[300] = numbered(300, 300);
    msgs[600] = numbered(600, 70_000);
    msgs.push(Vec::new());
    msgs
}

/// The raw bytes the other end of a pipe or socket pair (`duplex`) gets
/// while `send` writes on this end, up to its close.
fn wire_of(duplex: bool, send: impl FnOnce(&mut Connection)) -> Vec<u8> {
    let (reader, mut writer) = pipe(duplex).unwrap();
    let raw = thread::spawn(move || read_to_end(reader.as_fd()).expect("read"));
    send(&mut writer);
    drop(writer);
    raw.join().expect("reader")
}

#[test]
fn a_batch_puts_the_bytes_of_single_sends_on_the_wire() {
    let _g = lock();
    let msgs = messages();
    let frames: Vec<u8> = msgs.iter().flat_map(|m| frame(m)).collect();
    let slices: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    for duplex in [false, true] {
        let singles = wire_of(duplex, |w| {
            for msg in &msgs {
                w.send_bytes(msg).unwrap();
            }
        });
        assert!(singles == frames, "duplex={duplex}: send_bytes frames");
        let owned = wire_of(duplex, |w| w.send_bytes_batch(&msgs).unwrap());
        assert_eq!(owned.len(), frames.len(), "duplex={duplex}");
        assert!(owned == frames, "duplex={duplex}: a batch of Vecs");
        // Borrowed slices, and batches cut anywhere, one after the other.
        let cut = wire_of(duplex, |w| {
            for part in slices.chunks(511) {
                w.send_bytes_batch(part).unwrap();
            }
            w.send_bytes_batch::<&[u8]>(&[]).unwrap();
        });
        assert!(cut == frames, "duplex={duplex}: batches of slices");
    }
}

/// A batch many times larger than the pipe or socket buffer, from a forked
/// child, received one message at a time by a plain receive.
#[test]
fn a_large_batch_from_a_child_arrives_in_order() {
    let _g = lock();
    let lens = |seq: u64| match seq % 400 {
        100 => 300_000,
        _ => (seq as usize * 131) % 700,
    };
    const COUNT: u64 = 3000;
    for direction in [Direction::FromChild, Direction::Duplex] {
        let (complaints, status) = with_child(
            direction,
            |mut conn| {
                let msgs: Vec<Vec<u8>> = (0..COUNT).map(|seq| numbered(seq, lens(seq))).collect();
                match conn.send_bytes_batch(&msgs) {
                    Ok(()) => 0,
                    Err(_) => 1,
                }
            },
            |mut conn| {
                let mut complaints = Vec::new();
                for seq in 0..COUNT {
                    let got = conn.recv_bytes().map_err(|e| format!("{seq}: {e:?}"));
                    if let Err(e) = got.and_then(|msg| check_numbered(&msg, seq, lens(seq))) {
                        complaints.push(e);
                    }
                }
                if conn.recv_bytes() != Err(Error::Eof) {
                    complaints.push("no end of stream after the batch".into());
                }
                complaints
            },
        );
        assert_eq!(status, ExitStatus::Exited(0), "{direction:?}: the child");
        assert!(complaints.is_empty(), "{direction:?}: {complaints:?}");
    }
}
