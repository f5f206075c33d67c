//! Non-blocking mode: `Io(EAGAIN)` is a pause. A frame arriving in pieces
//! is assembled across many `EAGAIN`s and delivered whole exactly once, by
//! any receive or a mix of them; a send (or a batch) larger than the pipe
//! or socket buffer leaves part-way, refuses a different message or batch
//! with `SendIncomplete` (sending none of it), and finishes when repeated
//! with equal bytes; a send that fails for good part-way fails every later
//! one; and an external epoll loop on `as_raw_fd()` drives an exchange to
//! the end.

#[path = "common/faults.rs"]
mod faults;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/serial.rs"]
mod serial;

use std::os::fd::{AsFd, AsRawFd};
use std::thread;
use std::time::Duration;

use faults::{check_numbered, frame, numbered, queued, write_all, Rng, MIB, PATIENCE};
use ipcwire::sys::{self, Errno, PollFd, PollFlags};
use ipcwire::{pipe, Connection, Direction, Error, ExitStatus};
use serial::lock;

const AGAIN: Error = Error::Io(Errno::AGAIN);

fn is_nonblocking(conn: &Connection) -> bool {
    // SAFETY: F_GETFL on an open descriptor only reads its flags.
    let flags = unsafe { libc::fcntl(conn.as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0, "F_GETFL");
    flags & libc::O_NONBLOCK != 0
}

/// Waits until `conn`'s descriptor is writable; a stall fails the test.
fn wait_writable(conn: &Connection) {
    let mut fds = [PollFd::new(conn.as_fd(), PollFlags::OUT)];
    assert_eq!(
        sys::poll(&mut fds, Some(PATIENCE)),
        Ok(1),
        "not writable within {PATIENCE:?}"
    );
}

#[test]
fn empty_nonblocking_receive_is_again() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).expect("pipe");
        assert!(!is_nonblocking(&r));
        r.set_nonblocking(true).expect("set_nonblocking");
        assert!(is_nonblocking(&r), "O_NONBLOCK is set on the descriptor");
        let mut buf = [0; 16];
        for _ in 0..3 {
            assert_eq!(r.recv_bytes(), Err(AGAIN), "duplex={duplex}");
            assert_eq!(r.recv_bytes_into(&mut buf), Err(AGAIN));
        }
        assert!(AGAIN.is_resumable());
        assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false));
        // Nothing was lost or invented by the pauses.
        w.send_bytes(b"one").expect("send");
        w.send_bytes(b"two").expect("send");
        assert_eq!(r.recv_bytes().expect("recv"), b"one");
        assert_eq!(r.recv_bytes_into(&mut buf), Ok(3));
        assert_eq!(&buf[..3], b"two");
        assert_eq!(r.recv_bytes(), Err(AGAIN));
        // The end of stream is not a pause.
        drop(w);
        assert_eq!(r.recv_bytes(), Err(Error::Eof));
        assert_eq!(r.recv_bytes_into(&mut buf), Err(Error::Eof));
        r.set_nonblocking(false).expect("set_nonblocking");
        assert!(!is_nonblocking(&r));
    }
}

// ---------------------------------------------------------------------------
// Frames in pieces.

/// How the receiver calls.
#[derive(Copy, Clone, Debug)]
enum Mode {
    /// `recv_bytes` only.
    Vec,
    /// `recv_bytes_into` with a buffer large enough for any message.
    Into,
    /// `recv_bytes_borrowed` only.
    Borrowed,
    /// A random one of the three at every call, `recv_bytes_into` into
    /// buffers of random sizes (`BufferTooSmall` is answered with a buffer
    /// of the size needed).
    Mixed,
}

const MODES: [Mode; 4] = [Mode::Vec, Mode::Into, Mode::Borrowed, Mode::Mixed];

/// The receive a test makes.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Api {
    Vec,
    Into,
    Borrowed,
}

/// One receive by `api` (into `buf` for `Into`).
fn receive_by(conn: &mut Connection, api: Api, buf: &mut [u8]) -> Result<Vec<u8>, Error> {
    match api {
        Api::Vec => conn.recv_bytes(),
        Api::Into => conn.recv_bytes_into(buf).map(|n| buf[..n].to_vec()),
        Api::Borrowed => conn.recv_bytes_borrowed().map(<[u8]>::to_vec),
    }
}

/// Messages of the stream: around the small-message, read-ahead (64 KiB)
/// and pipe sizes.
fn stream_messages() -> Vec<Vec<u8>> {
    [0, 1, 7, 8, 256, 257, 1000, 0, 70_000, 3]
        .iter()
        .enumerate()
        .map(|(seq, &len)| numbered(seq as u64, len))
        .collect()
}

/// The wire bytes of `msgs`; message 3 (8 bytes) gets the 12-byte escaped
/// header Python uses for huge messages, which is legal for any length.
fn wire(msgs: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for (i, msg) in msgs.iter().enumerate() {
        if i == 3 {
            out.extend_from_slice(&[0xff; 4]);
            out.extend_from_slice(&(msg.len() as u64).to_be_bytes());
            out.extend_from_slice(msg);
        } else {
            out.extend_from_slice(&frame(msg));
        }
        ends.push(out.len());
    }
    (out, ends)
}

/// The buffer `recv_bytes_into` fills. A message paused part-way in it
/// stays there, so after `EAGAIN` the same buffer must come again.
#[derive(Default)]
struct IntoBuf {
    buf: Vec<u8>,
    paused: bool,
}

/// One receive in `mode`; `Ok(None)` is `EAGAIN`.
fn try_receive(
    conn: &mut Connection,
    mode: Mode,
    rng: &mut Rng,
    into: &mut IntoBuf,
) -> Result<Option<Vec<u8>>, Error> {
    let api = match mode {
        Mode::Vec => Api::Vec,
        Mode::Into => Api::Into,
        Mode::Borrowed => Api::Borrowed,
        Mode::Mixed => [Api::Vec, Api::Into, Api::Borrowed][rng.below(3) as usize],
    };
    let got = match api {
        Api::Into => receive_into(conn, mode, rng, into),
        api => match receive_by(conn, api, &mut []) {
            // Part of the payload is in the caller's buffer: finish it there.
            Err(Error::Io(Errno::INVAL)) if into.paused => receive_into(conn, mode, rng, into),
            other => other,
        },
    };
    match got {
        Ok(msg) => Ok(Some(msg)),
        Err(e) if e == AGAIN => Ok(None),
        Err(e) => Err(e),
    }
}

fn receive_into(
    conn: &mut Connection,
    mode: Mode,
    rng: &mut Rng,
    into: &mut IntoBuf,
) -> Result<Vec<u8>, Error> {
    if !into.paused {
        let size = match mode {
            Mode::Mixed => rng.between(0, 2000),
            _ => 100_000,
        };
        into.buf = vec![0; size];
    }
    let got = match conn.recv_bytes_into(&mut into.buf) {
        Err(Error::BufferTooSmall { needed }) => {
            // Nothing of the message is in the buffer yet: growing keeps it so.
            into.buf.resize(needed as usize, 0);
            conn.recv_bytes_into(&mut into.buf)
        }
        other => other,
    };
    into.paused = got == Err(AGAIN);
    got.map(|n| into.buf[..n].to_vec())
}

/// Writes the stream in `pieces`, and after each piece receives until
/// `EAGAIN`: exactly the messages whose last byte has been written must
/// have come out, each once and whole. Returns the number of `EAGAIN`s.
fn deliver_in_pieces(duplex: bool, mode: Mode, pieces: &[usize]) -> usize {
    let msgs = stream_messages();
    let (bytes, ends) = wire(&msgs);
    assert_eq!(pieces.iter().sum::<usize>(), bytes.len());
    let (mut r, w) = pipe(duplex).expect("pipe");
    r.set_nonblocking(true).expect("set_nonblocking");
    let mut rng = Rng::new(pieces.len() as u64);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut written = 0;
    let mut pauses = 0;
    let mut into = IntoBuf::default();
    for &piece in pieces {
        write_all(w.as_fd(), &bytes[written..written + piece]).expect("write");
        written += piece;
        loop {
            match try_receive(&mut r, mode, &mut rng, &mut into) {
                Ok(Some(msg)) => got.push(msg),
                Ok(None) => break,
                Err(e) => panic!("{mode:?} duplex={duplex}: {e:?} at byte {written}"),
            }
        }
        pauses += 1;
        let complete = ends.iter().filter(|&&end| end <= written).count();
        assert_eq!(
            got.len(),
            complete,
            "{mode:?} duplex={duplex}: after {written} bytes"
        );
    }
    for (seq, (g, want)) in got.iter().zip(&msgs).enumerate() {
        check_numbered(g, seq as u64, want.len()).unwrap();
    }
    drop(w);
    assert_eq!(r.recv_bytes(), Err(Error::Eof));
    pauses
}

/// Every byte alone, except inside the 70 000-byte payload, which comes in
/// pieces of up to 3 000 bytes.
fn byte_by_byte() -> Vec<usize> {
    let (bytes, ends) = wire(&stream_messages());
    let (big_start, big_end) = (ends[7] + 4, ends[8]);
    let mut pieces = vec![1; big_start];
    let mut rng = Rng::new(8);
    let mut at = big_start;
    while at < big_end {
        let n = rng.between(1, 3000).min(big_end - at);
        pieces.push(n);
        at += n;
    }
    pieces.extend(std::iter::repeat(1).take(bytes.len() - big_end));
    pieces
}

/// Random pieces across frame boundaries: the end of one frame and the
/// start of the next arrive together.
fn random_pieces(seed: u64) -> Vec<usize> {
    let (bytes, _) = wire(&stream_messages());
    let mut rng = Rng::new(seed);
    let mut pieces = Vec::new();
    let mut left = bytes.len();
    while left > 0 {
        let n = rng.between(1, 700).min(left);
        pieces.push(n);
        left -= n;
    }
    pieces
}

#[test]
fn frame_arriving_byte_by_byte_is_delivered_whole_once() {
    let _g = lock();
    for duplex in [false, true] {
        for mode in MODES {
            let pieces = byte_by_byte();
            let pauses = deliver_in_pieces(duplex, mode, &pieces);
            assert_eq!(pauses, pieces.len());
        }
    }
}

#[test]
fn frames_in_random_pieces_are_delivered_whole_once() {
    let _g = lock();
    for duplex in [false, true] {
        for seed in 0..4 {
            for mode in MODES {
                deliver_in_pieces(duplex, mode, &random_pieces(seed));
            }
        }
    }
}

/// `BufferTooSmall` in the middle of a paused message keeps what was taken.
#[test]
fn buffer_too_small_between_pauses_keeps_the_message() {
    let _g = lock();
    let (mut r, w) = pipe(true).expect("pipe");
    r.set_nonblocking(true).expect("set_nonblocking");
    let msg = numbered(9, 5000);
    let raw = frame(&msg);
    write_all(w.as_fd(), &raw[..2000]).expect("write");
    assert_eq!(r.recv_bytes(), Err(AGAIN));
    let mut small = [0; 100];
    assert_eq!(
        r.recv_bytes_into(&mut small),
        Err(Error::BufferTooSmall { needed: 5000 })
    );
    write_all(w.as_fd(), &raw[2000..4000]).expect("write");
    let mut buf = vec![0; 5000];
    assert_eq!(r.recv_bytes_into(&mut buf), Err(AGAIN));
    assert_eq!(
        r.recv_bytes_into(&mut small),
        Err(Error::BufferTooSmall { needed: 5000 })
    );
    write_all(w.as_fd(), &raw[4000..]).expect("write");
    // Its first 4000 bytes are in `buf` now: only `buf` can finish it.
    assert_eq!(r.recv_bytes(), Err(Error::Io(Errno::INVAL)));
    assert_eq!(r.recv_bytes_into(&mut buf), Ok(5000));
    check_numbered(&buf, 9, 5000).unwrap();
    assert_eq!(r.recv_bytes(), Err(AGAIN));
}

/// A payload paused part-way in one buffer is finished only in that buffer:
/// another buffer, or `recv_bytes`, gets `Io(EINVAL)` and takes nothing.
#[test]
fn a_message_paused_in_a_buffer_is_finished_only_there() {
    let _g = lock();
    let (mut r, w) = pipe(false).expect("pipe");
    r.set_nonblocking(true).expect("set_nonblocking");
    let msg = numbered(3, 3000);
    let raw = frame(&msg);
    write_all(w.as_fd(), &raw[..1000]).expect("write");
    let mut buf = vec![0; 3000];
    assert_eq!(r.recv_bytes_into(&mut buf), Err(AGAIN));
    write_all(w.as_fd(), &raw[1000..]).expect("write");
    let mut other = vec![0; 3000];
    assert_eq!(r.recv_bytes_into(&mut other), Err(Error::Io(Errno::INVAL)));
    assert_eq!(r.recv_bytes(), Err(Error::Io(Errno::INVAL)));
    assert_eq!(r.recv_bytes_into(&mut buf), Ok(3000));
    check_numbered(&buf, 3, 3000).unwrap();
    assert_eq!(other, vec![0; 3000], "nothing went to the other buffer");
}

/// A buffer declared inside the receive loop is a fresh one each time, often
/// at the same address: it holds none of what the paused receive took, and
/// must not be taken for the buffer that does.
#[test]
fn a_fresh_buffer_at_the_same_address_is_not_taken_for_the_paused_one() {
    let _g = lock();
    let (a, mut b) = pipe(true).expect("socketpair");
    b.set_nonblocking(true).expect("set_nonblocking");
    let msg: Vec<u8> = (1..=100u8).collect();
    let raw = frame(&msg);
    write_all(a.as_fd(), &raw[..54]).expect("write");
    let mut got = None;
    for pass in 0..2 {
        let mut buf = [0u8; 128];
        match b.recv_bytes_into(&mut buf) {
            Err(e) if e == AGAIN && pass == 0 => write_all(a.as_fd(), &raw[54..]).expect("write"),
            other => got = Some(other.map(|n| buf[..n].to_vec())),
        }
    }
    match got.expect("a second pass") {
        Ok(bytes) => assert_eq!(bytes, msg, "a message delivered with the wrong bytes"),
        Err(e) => assert_eq!(e, Error::Io(Errno::INVAL)),
    }
}

/// The same with a sparse payload, zero where the check samples it: a
/// fresh buffer is still told apart.
#[test]
fn a_fresh_buffer_is_not_taken_for_the_paused_one_with_sparse_data() {
    let _g = lock();
    let (a, mut b) = pipe(true).expect("socketpair");
    b.set_nonblocking(true).expect("set_nonblocking");
    let mut msg = vec![0u8; 4000];
    msg[1000..1010].fill(0xAA);
    let raw = frame(&msg);
    write_all(a.as_fd(), &raw[..4 + 3000]).expect("write");
    let mut got = None;
    for pass in 0..2 {
        let mut buf = vec![0u8; 4096];
        match b.recv_bytes_into(&mut buf) {
            Err(e) if e == AGAIN && pass == 0 => {
                write_all(a.as_fd(), &raw[4 + 3000..]).expect("write")
            }
            other => got = Some(other.map(|n| buf[..n].to_vec())),
        }
    }
    match got.expect("a second pass") {
        Ok(bytes) => assert!(bytes == msg, "a message delivered with the wrong bytes"),
        Err(e) => assert_eq!(e, Error::Io(Errno::INVAL)),
    }
}

/// A borrowed receive paused part-way (its payload read ahead, or in a
/// `Vec` above 4 KiB) is finished by any receive, and one `recv_bytes`
/// paused by a borrowed one; a payload paused in a caller's buffer is
/// finished only there.
#[test]
fn a_paused_borrowed_receive_is_finished_by_any_receive() {
    let _g = lock();
    let turns = [
        (Api::Borrowed, Api::Borrowed),
        (Api::Borrowed, Api::Vec),
        (Api::Borrowed, Api::Into),
        (Api::Vec, Api::Borrowed),
    ];
    for duplex in [false, true] {
        let (mut r, w) = pipe(duplex).expect("pipe");
        r.set_nonblocking(true).expect("set_nonblocking");
        for len in [10, 4096, 5000] {
            for (first, then) in turns {
                let what = format!("duplex={duplex}: {len} bytes, {first:?} then {then:?}");
                let raw = frame(&numbered(len as u64, len));
                let (last, most) = raw.split_last().expect("a frame");
                let mut buf = vec![0; len];
                for byte in most {
                    write_all(w.as_fd(), &[*byte]).expect("write");
                    let got = receive_by(&mut r, first, &mut buf);
                    assert_eq!(got, Err(AGAIN), "{what}");
                }
                assert_eq!(r.poll(Some(Duration::ZERO)), Ok(false), "{what}");
                write_all(w.as_fd(), &[*last]).expect("write");
                let msg = receive_by(&mut r, then, &mut buf).expect(&what);
                check_numbered(&msg, len as u64, len).unwrap();
                assert_eq!(r.recv_bytes_borrowed(), Err(AGAIN), "{what}: only once");
            }
        }
        let raw = frame(&numbered(1, 3000));
        write_all(w.as_fd(), &raw[..1000]).expect("write");
        let mut buf = vec![0; 3000];
        assert_eq!(r.recv_bytes_into(&mut buf), Err(AGAIN));
        write_all(w.as_fd(), &raw[1000..]).expect("write");
        assert_eq!(r.recv_bytes_borrowed(), Err(Error::Io(Errno::INVAL)));
        assert_eq!(r.recv_bytes_into(&mut buf), Ok(3000), "duplex={duplex}");
        check_numbered(&buf, 1, 3000).unwrap();
    }
}

// ---------------------------------------------------------------------------
// Sends larger than the buffer.

/// Sends `msg` on a non-blocking `conn`, repeating it after each `EAGAIN`
/// once the descriptor is writable; returns the number of `EAGAIN`s.
fn send_resuming(conn: &mut Connection, msg: &[u8]) -> usize {
    let mut pauses = 0;
    loop {
        match conn.send_bytes(msg) {
            Ok(()) => return pauses,
            Err(e) if e == AGAIN => {
                pauses += 1;
                wait_writable(conn);
            }
            Err(e) => panic!("send of {} bytes: {e:?}", msg.len()),
        }
    }
}

/// A blocking reader on its own thread: every message until end of stream.
/// It rests before each message, so a message larger than the pipe or
/// socket buffer always finds it full (a prompt reader on the other CPU
/// could keep the buffer from filling, and the sends would never pause).
fn drain(mut conn: Connection) -> thread::JoinHandle<Result<Vec<Vec<u8>>, Error>> {
    thread::spawn(move || {
        conn.set_recv_timeout(Some(PATIENCE));
        let mut got = Vec::new();
        loop {
            thread::sleep(Duration::from_millis(20));
            match conn.recv_bytes() {
                Ok(msg) => got.push(msg),
                Err(Error::Eof) => return Ok(got),
                Err(e) => return Err(e),
            }
        }
    })
}

#[test]
fn large_nonblocking_send_resumes_with_the_same_message() {
    let _g = lock();
    for duplex in [false, true] {
        let (r, mut w) = pipe(duplex).expect("pipe");
        w.set_nonblocking(true).expect("set_nonblocking");
        let big = numbered(0, 2 * MIB);
        // Part of the frame fits in the empty buffer, the rest waits.
        assert_eq!(w.send_bytes(&big), Err(AGAIN), "duplex={duplex}");
        // Anything but the same message is refused, and none of it leaves.
        let mut last_byte_differs = big.clone();
        *last_byte_differs.last_mut().unwrap() ^= 1;
        for other in [
            &numbered(1, 2 * MIB)[..],
            &last_byte_differs,
            &big[..MIB],
            b"",
            b"small",
        ] {
            assert_eq!(
                w.send_bytes(other),
                Err(Error::SendIncomplete),
                "duplex={duplex}: {} bytes",
                other.len()
            );
        }
        let reader = drain(r);
        let mut pauses = 1 + send_resuming(&mut w, &big);
        let sizes = [0, 5, 300, 3 * MIB + 1, 70_000, 1, MIB];
        for (k, &len) in sizes.iter().enumerate() {
            pauses += send_resuming(&mut w, &numbered(k as u64 + 2, len));
        }
        drop(w);
        let got = reader.join().expect("reader").expect("reader's receive");
        eprintln!("duplex={duplex}: {pauses} EAGAINs while sending");
        assert!(pauses >= 2, "the large sends never paused");
        assert_eq!(got.len(), 1 + sizes.len(), "messages received");
        check_numbered(&got[0], 0, 2 * MIB).unwrap();
        for (k, &len) in sizes.iter().enumerate() {
            check_numbered(&got[k + 1], k as u64 + 2, len).unwrap();
        }
    }
}

/// A send or receive paused in non-blocking mode is finished by a blocking
/// call once the connection is switched back.
#[test]
fn blocking_mode_finishes_what_non_blocking_mode_paused() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).expect("pipe");
        w.set_nonblocking(true).expect("set_nonblocking");
        let big = numbered(7, 3 * MIB);
        assert_eq!(w.send_bytes(&big), Err(AGAIN), "duplex={duplex}");
        // The reader takes part of the frame without blocking, then pauses.
        r.set_nonblocking(true).expect("set_nonblocking");
        assert_eq!(r.recv_bytes(), Err(AGAIN));
        // Both sides block from now on: the reader on a thread.
        r.set_nonblocking(false).expect("set_nonblocking");
        let reader = thread::spawn(move || {
            r.set_recv_timeout(Some(PATIENCE));
            let first = r.recv_bytes();
            let second = r.recv_bytes();
            (first, second)
        });
        w.set_nonblocking(false).expect("set_nonblocking");
        assert_eq!(w.send_bytes(&numbered(8, 10)), Err(Error::SendIncomplete));
        w.send_bytes(&big).expect("the rest of the frame");
        w.send_bytes(&numbered(8, 10)).expect("the next message");
        let (first, second) = reader.join().expect("reader");
        check_numbered(&first.expect("first"), 7, 3 * MIB).unwrap();
        check_numbered(&second.expect("second"), 8, 10).unwrap();
    }
}

/// On a pipe, a small frame goes whole or not at all: an `EAGAIN` with
/// nothing written leaves nothing pending, so the next message may differ.
#[test]
fn again_with_nothing_sent_leaves_nothing_pending() {
    let _g = lock();
    let (mut r, mut w) = pipe(false).expect("pipe");
    w.set_nonblocking(true).expect("set_nonblocking");
    r.set_nonblocking(true).expect("set_nonblocking");
    let mut sent = 0u64;
    loop {
        match w.send_bytes(&numbered(sent, 100)) {
            Ok(()) => sent += 1,
            Err(e) if e == AGAIN => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(sent > 100, "the pipe took only {sent} messages");
    // A different message of the same size is a fresh attempt, not a
    // SendIncomplete.
    assert_eq!(w.send_bytes(&numbered(sent + 1, 100)), Err(AGAIN));
    assert_eq!(w.send_bytes(&numbered(sent + 2, 100)), Err(AGAIN));
    for seq in 0..sent {
        let msg = r.recv_bytes().expect("recv");
        check_numbered(&msg, seq, 100).unwrap();
    }
    assert_eq!(r.recv_bytes(), Err(AGAIN), "nothing else went out");
    w.send_bytes(b"fits now").expect("send");
    assert_eq!(r.recv_bytes().expect("recv"), b"fits now");
}

/// The batch of the non-blocking tests: 2,000 numbered messages of 100
/// bytes with one of 200 KiB among them, more than a pipe or a socket
/// buffer holds.
fn big_batch() -> Vec<Vec<u8>> {
    (0..=2000)
        .map(|seq| numbered(seq, if seq == 1000 { 200 * 1024 } else { 100 }))
        .collect()
}

/// Every message a non-blocking `conn` has whole, until `EAGAIN`.
fn receive_until_again(conn: &mut Connection) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    loop {
        match conn.recv_bytes() {
            Ok(msg) => got.push(msg),
            Err(e) if e == AGAIN => return got,
            Err(e) => panic!("receive after {} messages: {e:?}", got.len()),
        }
    }
}

/// Checks that `got` is `batch`, each message once and in order.
fn check_batch(got: &[Vec<u8>], batch: &[Vec<u8>]) {
    assert_eq!(got.len(), batch.len(), "messages received");
    for (seq, (g, want)) in got.iter().zip(batch).enumerate() {
        check_numbered(g, seq as u64, want.len()).unwrap();
    }
}

/// A batch paused part-way owns the stream: another batch (one message
/// more or fewer, a byte changed or the same bytes split otherwise where
/// it stands, none) or
/// another message gets `SendIncomplete` and writes nothing, into a pipe or
/// socket that would take it. Equal batches, built anew each time, finish
/// it while a reader takes the rest.
#[test]
fn a_paused_batch_refuses_other_sends_until_an_equal_batch_finishes_it() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).expect("pipe");
        w.set_nonblocking(true).expect("set_nonblocking");
        r.set_nonblocking(true).expect("set_nonblocking");
        let batch = big_batch();
        assert_eq!(w.send_bytes_batch(&batch), Err(AGAIN), "duplex={duplex}");
        // Every byte out is taken: the pipe or socket is empty, and would
        // take whatever a send writes now.
        let mut got = receive_until_again(&mut r);
        assert!(got.len() < batch.len(), "the batch left whole");
        assert_eq!(queued(r.as_fd()), 0);
        let mut one_more = batch.clone();
        one_more.push(b"one more".to_vec());
        // Changes where the batch stands, which is how a paused batch is
        // known again (those that already left are not reread).
        let standing = got.len();
        let mut byte_changed = batch.clone();
        byte_changed[standing][0] ^= 1;
        let mut split_otherwise = batch.clone();
        let moved = split_otherwise[standing].pop().expect("a byte");
        split_otherwise[standing + 1].insert(0, moved);
        for other in [
            &batch[..2000],
            &batch[1..],
            &one_more,
            &byte_changed,
            &split_otherwise,
            &[],
        ] {
            assert_eq!(
                w.send_bytes_batch(other),
                Err(Error::SendIncomplete),
                "duplex={duplex}: a batch of {} messages",
                other.len()
            );
        }
        assert_eq!(w.send_bytes(b"another"), Err(Error::SendIncomplete));
        assert_eq!(w.send_bytes(&batch[0]), Err(Error::SendIncomplete));
        assert_eq!(w.send_bytes_batch(&[&batch[0]]), Err(Error::SendIncomplete));
        assert_eq!(
            queued(r.as_fd()),
            0,
            "duplex={duplex}: a refused send wrote"
        );
        assert_eq!(r.recv_bytes(), Err(AGAIN));
        // The reader, on its own thread, takes the rest; the batch goes on
        // from copies, as owned messages and as borrowed slices by turns.
        r.set_nonblocking(false).expect("set_nonblocking");
        let reader = thread::spawn(move || {
            r.set_recv_timeout(Some(PATIENCE));
            let mut got = Vec::new();
            loop {
                match r.recv_bytes() {
                    Ok(msg) => got.push(msg),
                    Err(Error::Eof) => return Ok(got),
                    Err(e) => return Err(e),
                }
            }
        });
        let mut resumed = 0;
        loop {
            let copy = batch.clone();
            let slices: Vec<&[u8]> = copy.iter().map(Vec::as_slice).collect();
            let sent = if resumed % 2 == 0 {
                w.send_bytes_batch(&slices)
            } else {
                w.send_bytes_batch(&copy)
            };
            resumed += 1;
            match sent {
                Ok(()) => break,
                Err(e) if e == AGAIN => wait_writable(&w),
                Err(e) => panic!("duplex={duplex}: resumed batch: {e:?}"),
            }
        }
        send_resuming(&mut w, b"after");
        drop(w);
        got.extend(reader.join().expect("reader").expect("reader's receive"));
        eprintln!("duplex={duplex}: the batch was resumed {resumed} times");
        assert_eq!(got.pop().as_deref(), Some(&b"after"[..]));
        check_batch(&got, &batch);
    }
}

/// Sends `msg` by `send_bytes` (`single`) or as a batch of one, and after
/// every `EAGAIN` by the other, while `r` takes all it can into `got`;
/// returns the number of `EAGAIN`s. (Each resumption hashes the message
/// again, so the messages are kept to a few hundred KiB.)
fn send_by_turns(
    w: &mut Connection,
    r: &mut Connection,
    got: &mut Vec<Vec<u8>>,
    msg: &[u8],
    mut single: bool,
) -> usize {
    let mut pauses = 0;
    loop {
        let sent = if single {
            w.send_bytes(msg)
        } else {
            w.send_bytes_batch(&[msg])
        };
        match sent {
            Ok(()) => return pauses,
            Err(e) if e == AGAIN => {
                pauses += 1;
                single = !single;
                if pauses == 1 {
                    let twice = w.send_bytes_batch(&[msg, msg]);
                    assert_eq!(twice, Err(Error::SendIncomplete), "a batch of two");
                }
                got.extend(receive_until_again(r));
            }
            Err(e) => panic!("send of {} bytes: {e:?}", msg.len()),
        }
    }
}

/// A batch of one is `send_bytes` of its message: either finishes what the
/// other left part-way.
#[test]
fn a_paused_message_and_a_batch_of_it_finish_each_other() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).expect("pipe");
        w.set_nonblocking(true).expect("set_nonblocking");
        r.set_nonblocking(true).expect("set_nonblocking");
        let msgs = [numbered(0, 600 * 1024), numbered(1, 600 * 1024)];
        let mut got = Vec::new();
        let by_send = send_by_turns(&mut w, &mut r, &mut got, &msgs[0], true);
        let by_batch = send_by_turns(&mut w, &mut r, &mut got, &msgs[1], false);
        got.extend(receive_until_again(&mut r));
        eprintln!("duplex={duplex}: {by_send} and {by_batch} EAGAINs");
        // One pause each is enough: the first message is then finished by
        // a batch of one, the second by `send_bytes`.
        assert!(by_send >= 1 && by_batch >= 1, "a send never paused");
        check_batch(&got, &msgs);
    }
}

// ---------------------------------------------------------------------------
// An external event loop.

/// The length of message `seq` of the epoll exchange: mostly small, every
/// 97th larger than any pipe or socket buffer.
fn epoll_len(seq: u64) -> usize {
    if seq % 97 == 50 {
        200_000 + (seq as usize * 7919) % 300_000
    } else {
        (seq as usize * 131) % 700
    }
}

const EXCHANGE: u64 = 3000;

/// A forked child's work: every message back, blocking, until end of
/// stream; replies go to `out`, or back through `inp` when there is none.
fn echo(mut inp: Connection, mut out: Option<Connection>) -> i32 {
    loop {
        match inp.recv_bytes() {
            Ok(msg) => {
                let sent = match out.as_mut() {
                    Some(out) => out.send_bytes(&msg),
                    None => inp.send_bytes(&msg),
                };
                if sent.is_err() {
                    return 2;
                }
            }
            Err(Error::Eof) => return 0,
            Err(_) => return 1,
        }
    }
}

struct Epoll(i32);

impl Epoll {
    fn new() -> Epoll {
        // SAFETY: plain system call; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(fd >= 0, "epoll_create1");
        Epoll(fd)
    }

    fn add(&self, fd: i32, events: u32) {
        let mut ev = libc::epoll_event {
            events: events | libc::EPOLLET as u32,
            u64: fd as u64,
        };
        // SAFETY: `ev` is a valid event for an open descriptor.
        let ret = unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut ev) };
        assert_eq!(ret, 0, "epoll_ctl");
    }

    /// Waits for events; zero events within `PATIENCE` is a stall.
    fn wait(&self) -> usize {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
        loop {
            // SAFETY: `events` has room for 8 entries.
            let n = unsafe {
                libc::epoll_wait(self.0, events.as_mut_ptr(), 8, PATIENCE.as_millis() as i32)
            };
            if n < 0 && Errno::last() == Errno::INTR {
                continue;
            }
            assert!(n > 0, "the event loop stalled: epoll_wait gave {n}");
            return n as usize;
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

/// Sends `EXCHANGE` messages through `out` and receives their echoes from
/// `inp` (the same connection for a socket pair), both non-blocking,
/// sleeping only in an edge-triggered `epoll_wait`: a receive that said
/// `EAGAIN` while a message was still buffered would stall it.
fn event_loop(out: &mut Connection, inp: Option<&mut Connection>) -> (usize, usize) {
    let epoll = Epoll::new();
    let out_fd = out.as_raw_fd();
    assert_eq!(out_fd, AsFd::as_fd(out).as_raw_fd());
    let inp_fd = inp.as_ref().map(|c| c.as_raw_fd());
    match inp_fd {
        None => epoll.add(out_fd, (libc::EPOLLIN | libc::EPOLLOUT) as u32),
        Some(fd) => {
            epoll.add(out_fd, libc::EPOLLOUT as u32);
            epoll.add(fd, libc::EPOLLIN as u32);
        }
    }
    out.set_nonblocking(true).expect("set_nonblocking");
    let mut inp = inp;
    if let Some(c) = inp.as_deref_mut() {
        c.set_nonblocking(true).expect("set_nonblocking");
    }
    let (mut next_send, mut next_recv) = (0u64, 0u64);
    let mut pending: Option<Vec<u8>> = None;
    let (mut wakeups, mut pauses) = (0, 0);
    let mut buf = vec![0; 600_000];
    while next_recv < EXCHANGE {
        while next_send < EXCHANGE {
            let msg = pending.get_or_insert_with(|| numbered(next_send, epoll_len(next_send)));
            match out.send_bytes(msg) {
                Ok(()) => {
                    pending = None;
                    next_send += 1;
                }
                Err(e) if e == AGAIN => {
                    pauses += 1;
                    break;
                }
                Err(e) => panic!("send {next_send}: {e:?}"),
            }
        }
        let conn = match inp.as_deref_mut() {
            Some(c) => c,
            None => &mut *out,
        };
        loop {
            let got = if next_recv % 2 == 0 {
                conn.recv_bytes()
            } else {
                conn.recv_bytes_into(&mut buf).map(|n| buf[..n].to_vec())
            };
            match got {
                Ok(msg) => {
                    check_numbered(&msg, next_recv, epoll_len(next_recv)).unwrap();
                    next_recv += 1;
                }
                Err(e) if e == AGAIN => {
                    pauses += 1;
                    break;
                }
                Err(e) => panic!("receive {next_recv}: {e:?}"),
            }
        }
        if next_recv < EXCHANGE {
            epoll.wait();
            wakeups += 1;
        }
    }
    (wakeups, pauses)
}

#[test]
fn epoll_drives_a_nonblocking_exchange_over_a_socketpair() {
    let _g = lock();
    // SAFETY: the lock is held; the child echoes and exits.
    let (mut conn, child) =
        unsafe { ipcwire::fork_with_pipe(Direction::Duplex, |conn| echo(conn, None)) }
            .expect("fork_with_pipe");
    let (wakeups, pauses) = event_loop(&mut conn, None);
    drop(conn);
    assert_eq!(child.wait(), Ok(ExitStatus::Exited(0)));
    eprintln!("socketpair: {EXCHANGE} echoes, {wakeups} epoll wake-ups, {pauses} EAGAINs");
    assert!(pauses > 0, "never paused: the exchange did not test EAGAIN");
}

#[test]
fn epoll_drives_a_nonblocking_exchange_over_two_pipes() {
    let _g = lock();
    let (to_child_r, to_child_w) = pipe(false).expect("pipe");
    let (from_child_r, from_child_w) = pipe(false).expect("pipe");
    let mut ends = (Some(to_child_r), Some(from_child_w));
    let mut mine = (Some(to_child_w), Some(from_child_r));
    let mut child = fork::fork(|| {
        drop(mine.0.take());
        drop(mine.1.take());
        echo(ends.0.take().expect("reader"), ends.1.take())
    });
    drop(ends);
    let (mut out, mut inp) = (
        mine.0.take().expect("writer"),
        mine.1.take().expect("reader"),
    );
    let (wakeups, pauses) = event_loop(&mut out, Some(&mut inp));
    assert_eq!(inp.recv_bytes(), Err(AGAIN), "no echo beyond the last");
    drop(out);
    inp.set_nonblocking(false).expect("set_nonblocking");
    assert_eq!(inp.recv_bytes(), Err(Error::Eof));
    assert_eq!(child.wait(), ExitStatus::Exited(0));
    eprintln!("two pipes: {EXCHANGE} echoes, {wakeups} epoll wake-ups, {pauses} EAGAINs");
    assert!(pauses > 0, "never paused: the exchange did not test EAGAIN");
}

/// The README's recipe for event loops: receive until `EAGAIN`, then look
/// with `poll(Some(ZERO))` before going back to sleep, since a read may have
/// brought several messages in. A message paused part-way must not make
/// `poll` or `wait` say "ready" while no new byte has come: the loop would
/// spin on `EAGAIN` instead of sleeping. A borrowed receive keeps the start
/// of a small payload in the read-ahead buffer, where `poll` looks first.
#[test]
fn poll_after_a_pause_inside_a_message_waits_for_new_bytes() {
    let _g = lock();
    for duplex in [false, true] {
        let (mut r, w) = pipe(duplex).expect("pipe");
        r.set_nonblocking(true).expect("set_nonblocking");
        let raw = frame(&numbered(5, 1000));
        for (cut, api) in [
            (2, Api::Vec),
            (4, Api::Into),
            (500, Api::Vec),
            (1003, Api::Into),
            (2, Api::Borrowed),
            (4, Api::Borrowed),
            (500, Api::Borrowed),
            (1003, Api::Borrowed),
        ] {
            write_all(w.as_fd(), &raw[..cut]).expect("write");
            let mut buf = [0; 1000];
            let got = receive_by(&mut r, api, &mut buf);
            assert_eq!(got, Err(AGAIN), "duplex={duplex}, {cut} bytes in");
            assert_eq!(
                r.poll(Some(Duration::ZERO)),
                Ok(false),
                "duplex={duplex}, {api:?}: poll says ready {cut} bytes into a message, with nothing new"
            );
            let none: &[usize] = &[];
            assert_eq!(
                ipcwire::wait([&r], Some(Duration::from_millis(20))).as_deref(),
                Ok(none),
                "duplex={duplex}, {api:?}: wait says ready {cut} bytes into a message"
            );
            write_all(w.as_fd(), &raw[cut..]).expect("write");
            assert_eq!(r.poll(Some(Duration::ZERO)), Ok(true));
            let msg = receive_by(&mut r, api, &mut buf).expect("the whole message");
            check_numbered(&msg, 5, 1000).unwrap();
        }
    }
}

/// Puts a duplicate of `fd` at the descriptor number `conn` uses.
fn swap_under(conn: &Connection, fd: sys::BorrowedFd<'_>) {
    // SAFETY: both descriptors are open; dup2 closes the old one at that
    // number, which `conn` still owns and closes again only on drop.
    assert!(unsafe { libc::dup2(fd.as_raw_fd(), conn.as_raw_fd()) } >= 0);
}

/// A send that fails for good part-way through a frame leaves a torn frame
/// in the stream. Every later send must fail with that first error and
/// write nothing, or the next header would land inside the old payload.
/// The failure here is `ENOTSOCK` (the socket under the connection is
/// swapped for a pipe), a stand-in for `ENOBUFS` and the like.
#[test]
fn a_send_failed_part_way_fails_every_later_send() {
    let _g = lock();
    let (mut a, b) = pipe(true).expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    let msg = numbered(9, 4 * MIB);
    assert_eq!(a.send_bytes(&msg), Err(AGAIN), "the frame left part-way");
    let (r, _w) = sys::pipe().expect("pipe");
    swap_under(&a, r.as_fd());
    let first = a.send_bytes(&msg);
    assert!(
        matches!(first, Err(Error::Io(e)) if e != Errno::AGAIN),
        "{first:?}"
    );
    // A healthy stream again under the connection: it must stay untouched.
    let (fresh, watcher) = sys::socketpair().expect("socketpair");
    swap_under(&a, fresh.as_fd());
    for next in [&b"next"[..], &msg, &[]] {
        assert_eq!(a.send_bytes(next), first, "a send after the failure");
    }
    let mut fds = [PollFd::new(watcher.as_fd(), PollFlags::IN)];
    assert_eq!(
        sys::poll(&mut fds, Some(Duration::ZERO)).expect("poll"),
        0,
        "bytes were written after the failure"
    );
    drop(b);
}

/// Resuming a paused send does not reread what already left. A child
/// sends 16 MiB from a mapping without blocking, draining the pipe itself;
/// once the first 256 KiB are out, the pages after the message's first and
/// before its next sampled byte (at 1/63 of its length) become unreadable,
/// and every later resumption must finish without touching them. (Hashing every byte on
/// each resumption made a 64 MiB message paused 1,024 times cost its
/// sender 164 s of CPU.)
#[test]
fn resuming_a_send_rereads_nothing_that_left() {
    const LEN: usize = 16 * MIB;
    const PAGE: usize = 4096;
    // Below the second sampled byte, at (LEN - 1) / 63: about 260 KiB.
    const GUARDED: usize = 256 * 1024;
    let _g = lock();
    let mut child = fork::fork(|| {
        // SAFETY: a fresh private anonymous mapping, owned by this child.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // SAFETY: the mapping is LEN bytes, readable and writable.
        let msg = unsafe { std::slice::from_raw_parts_mut(base.cast::<u8>(), LEN) };
        msg.fill(0x5a);
        let (r, mut w) = pipe(false).expect("pipe");
        w.set_nonblocking(true).expect("nonblocking");
        let mut buf = vec![0; 64 * 1024];
        let (mut drained, mut pauses, mut guarded) = (0, 0, false);
        loop {
            match w.send_bytes(msg) {
                Ok(()) => break,
                Err(e) if e == AGAIN => pauses += 1,
                Err(e) => panic!("{e:?}"),
            }
            drained += sys::read(r.as_fd(), &mut buf).expect("read");
            if drained > GUARDED && !guarded {
                // SAFETY: whole pages inside the mapping, all already sent.
                let hidden = unsafe {
                    libc::mprotect(base.cast::<u8>().add(PAGE).cast(), GUARDED - 2 * PAGE, 0)
                };
                assert_eq!(hidden, 0);
                guarded = true;
            }
        }
        drop(w);
        while let Ok(n @ 1..) = sys::read(r.as_fd(), &mut buf) {
            drained += n;
        }
        i32::from(!(guarded && pauses > 100 && drained == LEN + 4))
    });
    assert_eq!(child.wait(), ExitStatus::Exited(0));
}

/// A healthy stream of the kind `duplex` says: the end to write to, and the
/// end that watches for bytes.
fn healthy(duplex: bool) -> (sys::OwnedFd, sys::OwnedFd) {
    if duplex {
        sys::socketpair().expect("socketpair")
    } else {
        let (r, w) = sys::pipe().expect("pipe");
        (w, r)
    }
}

/// Every kind of send after a torn one gets `first` and writes nothing to
/// the healthy stream put under `conn` meanwhile, watched by `watcher`. In
/// non-blocking mode, so that a send that does write cannot hang the test.
fn every_later_send_fails(
    conn: &mut Connection,
    watcher: &sys::OwnedFd,
    first: Result<(), Error>,
    batch: &[Vec<u8>],
) {
    conn.set_nonblocking(true).expect("nonblocking");
    let none: &[&[u8]] = &[];
    assert_eq!(conn.send_bytes_batch(batch), first, "the same batch");
    assert_eq!(conn.send_bytes_batch(&batch[..1]), first, "a batch of one");
    assert_eq!(conn.send_bytes_batch(none), first, "an empty batch");
    assert_eq!(conn.send_bytes(b"next"), first, "a message");
    assert_eq!(conn.send_bytes(&batch[0]), first, "the first message");
    assert_eq!(conn.send_bytes(b""), first, "an empty message");
    let mut fds = [PollFd::new(watcher.as_fd(), PollFlags::IN)];
    assert_eq!(
        sys::poll(&mut fds, Some(Duration::ZERO)).expect("poll"),
        0,
        "bytes were written after the failure"
    );
}

/// As `a_send_failed_part_way_fails_every_later_send`, for a batch: after
/// it failed for good part-way (the pipe or socket under it swapped for
/// the read end of a pipe), every later send fails alike, writing nothing.
#[test]
fn a_batch_failed_part_way_fails_every_later_send() {
    let _g = lock();
    for duplex in [false, true] {
        let (r, mut w) = pipe(duplex).expect("pipe");
        w.set_nonblocking(true).expect("nonblocking");
        let batch = big_batch();
        assert_eq!(w.send_bytes_batch(&batch), Err(AGAIN), "duplex={duplex}");
        let (bad, _bad_w) = sys::pipe().expect("pipe");
        swap_under(&w, bad.as_fd());
        let first = w.send_bytes_batch(&batch);
        assert!(
            matches!(first, Err(Error::Io(e)) if e != Errno::AGAIN),
            "duplex={duplex}: {first:?}"
        );
        let (fresh, watcher) = healthy(duplex);
        swap_under(&w, fresh.as_fd());
        every_later_send_fails(&mut w, &watcher, first, &batch);
        drop(r);
    }
}

/// A blocking batch whose reader leaves after taking part of it fails with
/// `EPIPE` in that same call, and the stream is torn: every later send
/// fails alike. One that fails before any byte left tears nothing: a
/// healthy stream under the connection then takes the next send.
#[test]
fn a_batch_whose_reader_leaves_part_way_is_torn() {
    let _g = lock();
    let batch = big_batch();
    for duplex in [false, true] {
        let (r, mut w) = pipe(duplex).expect("pipe");
        let reader = thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            let mut taken = 0;
            while taken < 100_000 {
                taken += sys::read(r.as_fd(), &mut buf).expect("read");
            }
            drop(r);
        });
        let first = w.send_bytes_batch(&batch);
        reader.join().expect("reader");
        assert_eq!(first, Err(Error::Io(Errno::PIPE)), "duplex={duplex}");
        let (fresh, watcher) = healthy(duplex);
        swap_under(&w, fresh.as_fd());
        every_later_send_fails(&mut w, &watcher, first, &batch);

        let (r, mut w) = pipe(duplex).expect("pipe");
        drop(r);
        assert_eq!(w.send_bytes_batch(&batch), Err(Error::Io(Errno::PIPE)));
        let (fresh, watcher) = healthy(duplex);
        swap_under(&w, fresh.as_fd());
        w.send_bytes_batch(&batch[..10])
            .expect("nothing left, nothing torn");
        let wire: Vec<u8> = batch[..10].iter().flat_map(|m| frame(m)).collect();
        let mut got = vec![0; wire.len()];
        let mut at = 0;
        while at < got.len() {
            at += sys::read(watcher.as_fd(), &mut got[at..]).expect("read");
        }
        assert!(got == wire, "duplex={duplex}: the ten frames");
    }
}

/// On 32 bits a batch can hold more bytes than a `usize` counts, as its
/// messages may share memory. A send paused past 4 GiB must resume where
/// it stood: a wrapped byte count sent old bytes again (or overflowed, in
/// a debug build). Five 1 GiB messages go over a non-blocking pipe; the
/// reader checks every header as it comes. (`.ci/targets` runs it on i686.)
#[cfg(target_pointer_width = "32")]
#[test]
fn a_batch_larger_than_usize_max_resumes_where_it_paused() {
    const GIB: usize = 1 << 30;
    let big = vec![7u8; GIB];
    let msgs = [&big[..]; 5];
    let (rx, mut tx) = pipe(false).expect("pipe");
    tx.set_nonblocking(true).expect("nonblocking");
    let reader = thread::spawn(move || -> Result<usize, String> {
        let mut buf = vec![0u8; 1 << 20];
        let (mut total, mut to_skip, mut head, mut frames) = (0u64, 0u64, Vec::new(), 0);
        loop {
            let n = sys::read(rx.as_fd(), &mut buf).map_err(|e| format!("{e:?}"))?;
            if n == 0 {
                return Ok(frames);
            }
            let mut i = 0;
            while i < n {
                if to_skip > 0 {
                    let k = to_skip.min((n - i) as u64);
                    to_skip -= k;
                    i += k as usize;
                    continue;
                }
                head.push(buf[i]);
                i += 1;
                if head.len() == 4 {
                    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
                    if len as usize != GIB || frames == 5 {
                        let at = total + i as u64 - 4;
                        return Err(format!("header {len:#x} at byte {at}"));
                    }
                    head.clear();
                    to_skip = GIB as u64;
                    frames += 1;
                }
            }
            total += n as u64;
        }
    });
    let sent = loop {
        match tx.send_bytes_batch(&msgs) {
            Err(e) if e.is_resumable() => thread::yield_now(),
            other => break other,
        }
    };
    drop(tx);
    assert_eq!(reader.join().expect("reader"), Ok(5));
    assert_eq!(sent, Ok(()));
}

/// A paused batch is recognised without rereading the messages that
/// already left. A child sends 2,000 page-sized messages from a mapping
/// without blocking, draining the pipe itself, and makes each page
/// unreadable once the reader has it whole; every resumption must finish
/// without touching one. (Fingerprinting the whole batch at every pause
/// made a large batch cost its sender time in its length squared.)
#[test]
fn resuming_a_batch_rereads_no_message_that_left() {
    const PAGE: usize = 4096;
    const COUNT: usize = 2000;
    let _g = lock();
    let mut child = fork::fork(|| {
        // SAFETY: a fresh private anonymous mapping, owned by this child.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                COUNT * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // SAFETY: the mapping is COUNT pages, readable and writable.
        let all = unsafe { std::slice::from_raw_parts_mut(base.cast::<u8>(), COUNT * PAGE) };
        all.fill(0x3c);
        let msgs: Vec<&[u8]> = all.chunks(PAGE).collect();
        let (r, mut w) = pipe(false).expect("pipe");
        w.set_nonblocking(true).expect("nonblocking");
        let mut buf = vec![0; 64 * 1024];
        let (mut drained, mut hidden, mut pauses) = (0, 0, 0);
        loop {
            match w.send_bytes_batch(&msgs) {
                Ok(()) => break,
                Err(e) if e == AGAIN => pauses += 1,
                Err(e) => panic!("{e:?}"),
            }
            drained += sys::read(r.as_fd(), &mut buf).expect("read");
            // Messages the reader has whole: their pages are done with.
            let whole = drained / (PAGE + 4);
            if whole > hidden {
                // SAFETY: whole pages inside the mapping, all already sent.
                let gone = unsafe {
                    libc::mprotect(
                        base.cast::<u8>().add(hidden * PAGE).cast(),
                        (whole - hidden) * PAGE,
                        0,
                    )
                };
                assert_eq!(gone, 0);
                hidden = whole;
            }
        }
        drop(w);
        while let Ok(n @ 1..) = sys::read(r.as_fd(), &mut buf) {
            drained += n;
        }
        i32::from(!(pauses > 50 && hidden > COUNT / 2 && drained == COUNT * (PAGE + 4)))
    });
    assert_eq!(child.wait(), ExitStatus::Exited(0));
}

/// Sends of single messages and short batches fit a thread with a small
/// stack (20 KiB here): the buffer lists of a 512-frame write (about
/// 24 KiB) are only for batches of more than eight messages. A child runs
/// them on such a thread; an overflow would kill it. The batch's length is
/// known only at run time, as a user's is: in an optimised build
/// (`cargo test --release`), a write inlined into the send reserved the
/// large lists for every batch.
#[test]
fn single_sends_and_short_batches_fit_a_small_stack() {
    let _g = lock();
    let mut child = fork::fork(|| {
        let small = thread::Builder::new().stack_size(20 * 1024).spawn(|| {
            let (mut rx, mut tx) = pipe(false).expect("pipe");
            let msg = [1u8; 300];
            tx.send_bytes(&msg).expect("send");
            let batch = vec![&msg[..]; std::hint::black_box(8)];
            tx.send_bytes_batch(&batch).expect("batch");
            let mut buf = [0u8; 300];
            (0..9).all(|_| rx.recv_bytes_into(&mut buf) == Ok(300))
        });
        i32::from(!small.expect("thread").join().expect("join"))
    });
    assert_eq!(child.wait(), ExitStatus::Exited(0));
}
