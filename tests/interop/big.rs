//! A message over 2 GiB, Rust to Rust: it needs the 12-byte escape header.
//! Only with `IPCWIRE_FULL_TESTS=1` (see `tests/common/skip.rs`): without
//! it these tests say they are skipped.

use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ipcwire::{Connection, Error};

use crate::serial::guard;
use crate::skip;

fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Length of the repeating chunk of the big message (a prime, so a shift
/// by a power of two shows).
const CHUNK: usize = 65_521;
/// Distance between the offset stamps and the sampled windows.
const STRIDE: usize = 1 << 20;
const WINDOW: usize = 64;

fn chunk_byte(k: usize) -> u8 {
    (k.wrapping_mul(131) ^ (k >> 7)) as u8
}

/// The big message: a repeating prime-length chunk, with each multiple of
/// [`STRIDE`] stamped with its own offset.
fn big_message(len: usize) -> Vec<u8> {
    let chunk: Vec<u8> = (0..CHUNK).map(chunk_byte).collect();
    let mut msg = vec![0u8; len];
    for piece in msg.chunks_mut(CHUNK) {
        piece.copy_from_slice(&chunk[..piece.len()]);
    }
    for at in (0..len.saturating_sub(8)).step_by(STRIDE) {
        msg[at..at + 8].copy_from_slice(&(at as u64).to_be_bytes());
    }
    msg
}

/// The byte the big message has at `at`.
fn expected_byte(at: usize, len: usize) -> u8 {
    let stamp = at - at % STRIDE;
    if stamp < len.saturating_sub(8) && at < stamp + 8 {
        (stamp as u64).to_be_bytes()[at - stamp]
    } else {
        chunk_byte(at % CHUNK)
    }
}

/// The sampled positions: a window at each stride, one in the middle of
/// each stride, and the last bytes.
fn samples(len: usize) -> impl Iterator<Item = usize> {
    let strided = (0..len).step_by(STRIDE).flat_map(move |s| {
        let mid = s + STRIDE / 2 + 333;
        (s..s + WINDOW).chain(mid..mid + WINDOW)
    });
    strided
        .chain(len.saturating_sub(WINDOW)..len)
        .filter(move |&at| at < len)
}

/// FNV-1a over the sampled bytes.
fn sampled_checksum(msg: &[u8]) -> u64 {
    samples(msg.len()).fold(0xcbf2_9ce4_8422_2325, |h, at| {
        (h ^ u64::from(msg[at])).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The big message's length: one byte over 2 GiB, so it needs the 12-byte
/// escape header.
const BIG_LEN: usize = (2 << 30) + 1;
/// How long `recv_bytes` may take for the big message. Receiving into a
/// buffer takes a few seconds here, even unoptimised.
const BIG_LIMIT: Duration = Duration::from_secs(60);

/// Serialises the big-message tests and checks there is memory for one;
/// `None` (after a visible note) when there is not, or when the big tests
/// are not asked for (`IPCWIRE_FULL_TESTS=1`): each holds over 4 GiB and
/// takes seconds, too much for a default `cargo test`.
fn big_message_slot(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    static BIG: Mutex<()> = Mutex::new(());
    const NEED: u64 = 8 << 30;
    if !skip::full_or_skip(test, "a 2 GiB + 1 byte message needs 8 GiB of memory") {
        return None;
    }
    let guard = guard(&BIG);
    match mem_available() {
        Some(have) if have >= NEED => Some(guard),
        have => {
            skip::skipped(format_args!(
                "{test} needs MemAvailable >= 8 GiB, have {:?} MiB",
                have.map(|b| b >> 20)
            ));
            None
        }
    }
}

/// Starts a thread that builds the big message, sends it on `tx`, and
/// returns its sampled checksum.
fn send_big(mut tx: Connection) -> thread::JoinHandle<Result<u64, Error>> {
    thread::spawn(move || {
        let msg = big_message(BIG_LEN);
        let checksum = sampled_checksum(&msg);
        tx.send_bytes(&msg).map(|()| checksum)
    })
}

/// Checks the received big message against the pattern and the sender's
/// checksum.
fn check_big(got: &[u8], sent: u64) {
    assert_eq!(got.len(), BIG_LEN, "received length");
    for at in samples(BIG_LEN) {
        assert_eq!(got[at], expected_byte(at, BIG_LEN), "byte at offset {at}");
    }
    assert_eq!(sampled_checksum(got), sent, "sampled checksum");
}

/// 2 GiB + 1 byte, received into a buffer the test owns.
#[test]
fn message_over_2_gib_into_buffer() {
    let Some(_slot) = big_message_slot("message_over_2_gib_into_buffer") else {
        return;
    };
    let start = Instant::now();
    let (tx, mut rx) = ipcwire::pipe(true).expect("pipe");
    let sender = send_big(tx);
    rx.set_max_len(BIG_LEN as u64);
    let mut got = vec![0u8; BIG_LEN];
    let n = match rx.recv_bytes_into(&mut got) {
        Ok(n) => n,
        Err(e) => {
            drop(rx); // so a sender still writing fails instead of blocking
            let sent = sender.join();
            panic!("recv_bytes_into: {e:?} (sender: {sent:?})");
        }
    };
    let sent = sender.join().expect("sender thread").expect("send_bytes");
    check_big(&got[..n], sent);
    drop(got);
    assert_eq!(rx.recv_bytes_into(&mut []), Err(Error::Eof));
    let line = format!(
        "interop: 2 GiB + 1 byte message received into a buffer in {:.1?}",
        start.elapsed()
    );
    eprintln!("{line}");
    println!("{line}");
}

/// 2 GiB + 1 byte, received with `recv_bytes` into a new `Vec`, within
/// [`BIG_LIMIT`]; past it the receiving socket is shut down so both
/// threads stop, and the test fails.
#[test]
fn message_over_2_gib_recv_bytes() {
    let Some(_slot) = big_message_slot("message_over_2_gib_recv_bytes") else {
        return;
    };
    let start = Instant::now();
    let (tx, mut rx) = ipcwire::pipe(true).expect("pipe");
    // A second descriptor for the receiving socket, to shut it down.
    let rx_dup = std::os::fd::AsFd::as_fd(&rx)
        .try_clone_to_owned()
        .map(UnixStream::from)
        .expect("dup");
    let sender = send_big(tx);
    let (done_tx, done) = mpsc::channel();
    let receiver = thread::spawn(move || {
        rx.set_max_len(BIG_LEN as u64);
        let got = rx.recv_bytes();
        let after = got.is_ok().then(|| rx.recv_bytes().map(|m| m.len()));
        let _ = done_tx.send(());
        (got, after)
    });
    let in_time = done.recv_timeout(BIG_LIMIT).is_ok();
    if !in_time {
        let _ = rx_dup.shutdown(std::net::Shutdown::Both);
    }
    let (got, after) = receiver.join().expect("receiver thread");
    let sent = sender.join().expect("sender thread");
    assert!(
        in_time,
        "recv_bytes of a {BIG_LEN}-byte message did not finish within {BIG_LIMIT:?} \
         (recv_bytes_into takes seconds); after shutting the socket down it \
         returned {:?}, the sender {sent:?}",
        got.map(|m| m.len())
    );
    let got = got.expect("recv_bytes");
    check_big(&got, sent.expect("send_bytes"));
    assert_eq!(after, Some(Err(Error::Eof)), "after the message");
    let line = format!(
        "interop: 2 GiB + 1 byte message received by recv_bytes in {:.1?}",
        start.elapsed()
    );
    eprintln!("{line}");
    println!("{line}");
}
