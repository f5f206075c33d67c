//! The property the `frame_batch` fuzz target checks, shared with the
//! replay of its committed seeds (`tests/fuzz_replay.rs`): batch framing
//! against the single-message encoder.
//!
//! The input decodes to a list of messages (runs of hundreds of tiny or
//! empty ones, so a batch passes the 512 frames of one vectored write;
//! bytes as given; a few KiB of pattern; lengths at the edges of the
//! 256-byte copy and the 4 KiB read-ahead buffer), cut into batches, and
//! to how they travel: blocking, or non-blocking with a pipe of 4 to 16 KiB
//! so sends pause with `EAGAIN` and are resumed after the pipe is drained;
//! over pipes or socketpairs. Then:
//!
//! - the bytes `send_bytes_batch` puts on the wire are the concatenation of
//!   `frame::Header::new(len)` and the payload of each message, and the
//!   bytes of the same `send_bytes` calls on another pipe;
//! - a send paused part-way refuses any other messages with
//!   `SendIncomplete` and writes nothing, and a batch of one and
//!   `send_bytes` of its message resume each other;
//! - a receiver taking those bytes, as they arrive in pieces, with
//!   `recv_bytes_borrowed`, `recv_buffered` and `recv_bytes` in any order
//!   gets exactly the messages back, then `Eof`;
//! - nothing panics.
//!
//! Uses `crate::fuzz_checks::Input`: included with `#[path =
//! "common/fuzz_checks.rs"] mod fuzz_checks;` and `#[path =
//! "common/fuzz_batch_checks.rs"] mod fuzz_batch_checks;` side by side.
#![allow(dead_code)] // each test binary uses a part

use std::os::fd::AsFd;
use std::thread;

use ipcwire::frame::Header;
use ipcwire::sys::{self, Errno};
use ipcwire::{Connection, Error};

use crate::fuzz_checks::Input;

/// At most this many messages (a run of tiny ones has up to 1021).
const MAX_MESSAGES: usize = 2048;
/// Payload bytes in all: no more messages once past this.
const MAX_BYTES: usize = 32 << 10;
/// The size of a blocking pipe: twice the most frames an input makes.
const BLOCKING_PIPE: usize = 128 << 10;

/// Lengths where a send or a receive changes course: a header's 4 bytes,
/// the 256 bytes a single message is copied up to, the 4 KiB read-ahead
/// buffer a borrowed message must fit, with or without its header.
const EDGES: [usize; 16] = [
    0, 1, 3, 4, 5, 255, 256, 257, 4091, 4092, 4093, 4095, 4096, 4097, 8191, 8192,
];

/// How the messages travel, from the input's first byte.
#[derive(Copy, Clone, Debug)]
pub struct Setup {
    /// Non-blocking ends: sends pause with `EAGAIN`, receives too.
    pub nonblocking: bool,
    /// A non-blocking pipe's size: 4, 8 or 16 KiB.
    pub pipe_size: usize,
    /// Socketpairs instead of pipes.
    pub socket: bool,
    /// Whether a paused send is met with other messages first.
    pub intrude: bool,
    /// Whether a paused batch of one is resumed by `send_bytes` and a
    /// paused `send_bytes` by a batch of one (every other time).
    pub cross_resume: bool,
    /// Whether an empty batch goes before each batch.
    pub empty_batches: bool,
}

impl Setup {
    fn of(flags: u8) -> Setup {
        Setup {
            nonblocking: flags & 1 != 0,
            pipe_size: 4096 << (((flags >> 1) & 3) % 3),
            socket: flags & 8 != 0,
            intrude: flags & 0x10 != 0,
            cross_resume: flags & 0x20 != 0,
            empty_batches: flags & 0x40 != 0,
        }
    }
}

/// Bytes `len` long that differ from message to message.
fn pattern(i: usize, len: usize) -> Vec<u8> {
    let seed = (i as u8).wrapping_mul(97) ^ (i >> 8) as u8;
    (0..len).map(|k| seed.wrapping_add(k as u8)).collect()
}

/// The messages the rest of the input describes, one step at a time.
pub fn messages(input: &mut Input<'_>) -> Vec<Vec<u8>> {
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0;
    while !input.0.is_empty() && msgs.len() < MAX_MESSAGES && bytes < MAX_BYTES {
        let op = input.byte();
        match op % 4 {
            // A run of empty, 1- or 2-byte messages: many frames for two
            // bytes of input.
            0 => {
                let count = 1 + usize::from(input.byte()) * 4;
                let len = usize::from(op >> 2) % 3;
                for _ in 0..count.min(MAX_MESSAGES - msgs.len()) {
                    msgs.push(pattern(msgs.len(), len));
                }
            }
            1 => msgs.push(input.chunk(255).to_vec()),
            // Up to 8 KiB.
            2 => {
                let len = (usize::from(input.byte()) << 8 | usize::from(input.byte())) % (8 << 10);
                msgs.push(pattern(msgs.len(), len));
            }
            _ => msgs.push(pattern(
                msgs.len(),
                EDGES[usize::from(op >> 2) % EDGES.len()],
            )),
        }
        bytes += msgs.last().map_or(0, Vec::len);
    }
    msgs
}

/// The single-message encoder: each message's header, then its payload.
pub fn framed(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for msg in msgs {
        wire.extend_from_slice(Header::new(msg.len() as u64).as_bytes());
        wire.extend_from_slice(msg);
    }
    wire
}

/// Panics, saying where, unless `got` is `want`.
fn same_bytes(what: &str, got: &[u8], want: &[u8]) {
    if let Err(e) = crate::bytes::compare(what, got, want) {
        panic!("{e}");
    }
}

/// A fresh pipe or socketpair as `setup` says: (receiving end, sending end).
fn link(setup: Setup) -> (Connection, Connection) {
    let (rx, tx) = if setup.socket {
        let (a, b) = ipcwire::pipe(true).expect("socketpair");
        (b, a)
    } else {
        ipcwire::pipe(false).expect("pipe")
    };
    if setup.nonblocking {
        if !setup.socket {
            tx.set_pipe_size(setup.pipe_size).expect("F_SETPIPE_SZ");
        }
        tx.set_nonblocking(true).expect("non-blocking");
        rx.set_nonblocking(true).expect("non-blocking");
    }
    (rx, tx)
}

/// Reads what `rx` holds into `out`: to end of stream when blocking,
/// until `EAGAIN` (or end of stream) when not. Returns whether it ended.
fn read_raw(rx: &Connection, out: &mut Vec<u8>) -> bool {
    let mut buf = [0; 16 << 10];
    loop {
        match sys::read(rx.as_fd(), &mut buf) {
            Ok(0) => return true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::AGAIN) => return false,
            Err(e) => panic!("reading the wire: {e:?}"),
        }
    }
}

/// One way of sending: a batch with `send_bytes_batch`, or each of its
/// messages with `send_bytes`.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Way {
    Batch,
    OneByOne,
}

/// Sends `batches` the way `way` says and returns the bytes that came
/// out of the other end.
fn wire_of(setup: Setup, way: Way, batches: &[&[Vec<u8>]]) -> Vec<u8> {
    let (rx, mut tx) = link(setup);
    if !setup.nonblocking {
        let send_all = move |mut tx: Connection| {
            for &batch in batches {
                if setup.empty_batches {
                    tx.send_bytes_batch::<&[u8]>(&[]).expect("an empty batch");
                }
                match way {
                    Way::Batch => tx.send_bytes_batch(batch).expect("send_bytes_batch"),
                    Way::OneByOne => {
                        for msg in batch {
                            tx.send_bytes(msg).expect("send_bytes");
                        }
                    }
                }
            }
        };
        let mut wire = Vec::new();
        if setup.socket {
            // A socket's buffer counts each write's overhead, a kilobyte or
            // so: a thread drains it.
            let drain = thread::spawn(move || {
                read_raw(&rx, &mut wire);
                wire
            });
            send_all(tx);
            return drain.join().expect("the draining thread");
        }
        // A pipe that holds every frame, read once they are out: no thread
        // to wake at each write.
        let total: usize = batches.iter().map(|b| framed_len(b)).sum();
        assert!(total <= BLOCKING_PIPE / 2, "{total} bytes of frames");
        tx.set_pipe_size(BLOCKING_PIPE).expect("F_SETPIPE_SZ");
        send_all(tx);
        read_raw(&rx, &mut wire);
        return wire;
    }
    let mut wire = Vec::new();
    // Where the next frames start on the wire: bytes before are out, some
    // perhaps still in the pipe.
    let mut start = 0;
    for &batch in batches {
        if setup.empty_batches {
            tx.send_bytes_batch::<&[u8]>(&[]).expect("an empty batch");
        }
        match way {
            Way::Batch => {
                let end = start + framed_len(batch);
                send_until_done(setup, &mut tx, &rx, &mut wire, start..end, batch, true);
                start = end;
            }
            Way::OneByOne => {
                for msg in batch {
                    let one = core::slice::from_ref(msg);
                    let end = start + framed_len(one);
                    send_until_done(setup, &mut tx, &rx, &mut wire, start..end, one, false);
                    start = end;
                }
            }
        }
    }
    drop(tx);
    assert!(
        read_raw(&rx, &mut wire),
        "no end of stream after the sender closed"
    );
    wire
}

fn framed_len(msgs: &[Vec<u8>]) -> usize {
    msgs.iter()
        .map(|m| Header::new(m.len() as u64).as_bytes().len() + m.len())
        .sum()
}

/// Sends `msgs` (as a batch, or a single message by `send_bytes`) on a
/// non-blocking `tx`, draining `rx` into `wire` at each `EAGAIN` and going
/// on, until every byte of their frames (at `frames` of the wire) is out.
fn send_until_done(
    setup: Setup,
    tx: &mut Connection,
    rx: &Connection,
    wire: &mut Vec<u8>,
    frames: core::ops::Range<usize>,
    msgs: &[Vec<u8>],
    batch: bool,
) {
    let mut tries = 0usize;
    let mut intruded = false;
    loop {
        let as_batch = batch != (setup.cross_resume && msgs.len() == 1 && tries % 2 == 1);
        let sent = if as_batch {
            tx.send_bytes_batch(msgs)
        } else {
            tx.send_bytes(&msgs[0])
        };
        match sent {
            Ok(()) => return,
            Err(Error::Io(Errno::AGAIN)) => {}
            Err(e) => panic!("send of {} messages, try {tries}: {e:?}", msgs.len()),
        }
        read_raw(rx, wire);
        assert!(
            wire.len() < frames.end,
            "the send paused with all {} bytes of its frames out",
            frames.len()
        );
        // Once a send.
        if setup.intrude && !intruded && wire.len() > frames.start {
            intruded = true;
            intrude(tx, msgs, wire.len() - frames.start);
            assert!(!read_raw(rx, wire));
        }
        tries += 1;
        // Each try after a drain moves at least a byte.
        assert!(
            tries <= frames.len() + 1,
            "{tries} tries and the send still pauses"
        );
    }
}

/// While `msgs` are paused part-way out, `sent` bytes of their frames
/// gone, other messages are refused. A byte changed is looked for where
/// the send stands and in the 511 messages after it, as documented.
fn intrude(tx: &mut Connection, msgs: &[Vec<u8>], sent: usize) {
    let refused = |what: &str, got: Result<(), Error>| {
        assert_eq!(got, Err(Error::SendIncomplete), "{what} while paused");
    };
    let same: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    // One more message.
    let mut more = same.clone();
    more.push(b"");
    refused("a batch with one more message", tx.send_bytes_batch(&more));
    let mut standing = 0;
    let mut left = sent;
    while left >= Header::new(msgs[standing].len() as u64).as_bytes().len() + msgs[standing].len() {
        left -= Header::new(msgs[standing].len() as u64).as_bytes().len() + msgs[standing].len();
        standing += 1;
    }
    let window = standing..msgs.len().min(standing + 512);
    if let Some(k) = window.clone().find(|&k| !msgs[k].is_empty()) {
        // The same count, a byte changed.
        let mut byte_changed = msgs[k].clone();
        byte_changed[0] ^= 1;
        let mut changed = same.clone();
        changed[k] = &byte_changed;
        refused("a batch with a byte changed", tx.send_bytes_batch(&changed));
        // The same bytes, split between the messages otherwise.
        if k + 1 < msgs.len() {
            let (shorter, last) = msgs[k].split_at(msgs[k].len() - 1);
            let longer = [last, &msgs[k + 1][..]].concat();
            let mut moved = same.clone();
            moved[k] = shorter;
            moved[k + 1] = &longer;
            refused("a batch split otherwise", tx.send_bytes_batch(&moved));
        }
    }
    if msgs.len() != 1 {
        refused("send_bytes", tx.send_bytes(b""));
    }
    refused("an empty batch", tx.send_bytes_batch::<&[u8]>(&[]));
}

/// The receiving side: each message must be the next one expected.
struct Expect<'m> {
    msgs: &'m [Vec<u8>],
    next: usize,
    ways: u64,
    turn: u32,
}

impl Expect<'_> {
    fn take(&mut self, how: &str, got: &[u8]) {
        let Some(want) = self.msgs.get(self.next) else {
            panic!(
                "{how} gave message {} of {} bytes; only {} were sent",
                self.next,
                got.len(),
                self.msgs.len()
            );
        };
        same_bytes(&format!("{how}, message {}", self.next), got, want);
        self.next += 1;
    }

    /// Receives until `rx` pauses or ends, each turn in the way the input
    /// says; returns how it stopped.
    fn receive(&mut self, rx: &mut Connection) -> Error {
        loop {
            let way = (self.ways >> (2 * (self.turn % 32))) & 3;
            self.turn += 1;
            let result = match way {
                0 => rx
                    .recv_bytes_borrowed()
                    .map(|m| self.take("recv_bytes_borrowed", m)),
                1 => match rx.recv_buffered() {
                    Some(m) => {
                        self.take("recv_buffered", m);
                        Ok(())
                    }
                    None => rx
                        .recv_bytes_borrowed()
                        .map(|m| self.take("recv_bytes_borrowed", m)),
                },
                2 => match rx.recv_bytes_borrowed() {
                    Ok(m) => {
                        self.take("recv_bytes_borrowed", m);
                        while let Some(m) = rx.recv_buffered() {
                            self.take("recv_buffered after it", m);
                        }
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                _ => rx.recv_bytes().map(|m| self.take("recv_bytes", &m)),
            };
            if let Err(e) = result {
                return e;
            }
        }
    }
}

/// Feeds `wire` to a receiving `Connection` in pieces of the sizes
/// `pieces` gives (cycled; at least a 256th of the wire, so a run stays
/// quick), and checks it gets `msgs`, then `Eof`.
fn receive_all(setup: Setup, wire: &[u8], pieces: &[usize], msgs: &[Vec<u8>], ways: u64) {
    let floor = wire.len() / 256;
    let pieces: Vec<usize> = pieces.iter().map(|&size| size.max(floor)).collect();
    let (mut rx, tx) = link(setup);
    let mut expect = Expect {
        msgs,
        next: 0,
        ways,
        turn: 0,
    };
    let write = move |tx: &Connection, bytes: &[u8]| {
        if setup.socket {
            sys::send(tx.as_fd(), bytes)
        } else {
            sys::write(tx.as_fd(), bytes)
        }
    };
    let mut sizes = pieces.iter().cycle();
    let end = if setup.nonblocking {
        let mut at = 0;
        let mut rounds = 0usize;
        while at < wire.len() {
            let size = *sizes.next().expect("pieces");
            let piece = &wire[at..wire.len().min(at.saturating_add(size))];
            match write(&tx, piece) {
                Ok(n) => at += n,
                Err(Errno::AGAIN) => {}
                Err(e) => panic!("writing the wire: {e:?}"),
            }
            match expect.receive(&mut rx) {
                Error::Io(Errno::AGAIN) => {}
                e => panic!("{e:?} with {} of {} bytes written", at, wire.len()),
            }
            // A full pipe is emptied by the receive: the next write moves on.
            rounds += 1;
            assert!(rounds <= 2 * wire.len() + 2, "the receiver stalls");
        }
        drop(tx);
        expect.receive(&mut rx)
    } else {
        let wire = wire.to_vec();
        let writer = thread::spawn(move || {
            let mut at = 0;
            for &size in pieces.iter().cycle() {
                if at == wire.len() {
                    break;
                }
                let piece = &wire[at..wire.len().min(at.saturating_add(size))];
                // The receiver failed and hung up: the check says why.
                let Ok(n) = write(&tx, piece) else { return };
                at += n;
            }
        });
        let end = expect.receive(&mut rx);
        writer.join().expect("the writing thread");
        end
    };
    assert_eq!(
        end,
        Error::Eof,
        "after {} of {} messages",
        expect.next,
        msgs.len()
    );
    assert_eq!(expect.next, msgs.len(), "messages received");
    assert!(rx.recv_buffered().is_none(), "a message after the end");
    assert_eq!(rx.recv_bytes_borrowed(), Err(Error::Eof), "after the end");
}

/// `frame_batch`: see the module's documentation.
#[cfg(unix)]
pub fn frame_batch(data: &[u8]) {
    let mut input = Input(data);
    let setup = Setup::of(input.byte());
    let split = usize::from(input.byte());
    let ways = input.u64();
    let pieces: Vec<usize> = (0..1 + input.byte() % 4)
        .map(|_| match input.byte() {
            0 => usize::MAX,
            b @ 1..=127 => usize::from(b % 16),
            b => usize::from(b - 127) * 512,
        })
        .map(|size| size.max(1))
        .collect();
    let msgs = messages(&mut input);
    // In batches of `split` messages; 0 is all in one.
    let batches: Vec<&[Vec<u8>]> = match split {
        0 => vec![&msgs[..]],
        n => msgs.chunks(n).collect(),
    };
    let want = framed(&msgs);
    let batched = wire_of(setup, Way::Batch, &batches);
    same_bytes("send_bytes_batch against the encoder", &batched, &want);
    let one_by_one = wire_of(setup, Way::OneByOne, &batches);
    same_bytes("send_bytes against the encoder", &one_by_one, &want);
    receive_all(setup, &batched, &pieces, &msgs, ways);
}
