//! Receive timeouts and `wait`: a receive with a timeout stops with
//! `Io(ETIMEDOUT)` after about that long in all (signals do not stretch
//! it), keeps a message that had begun to arrive and finishes it on the
//! next call; `wait` reports exactly the connections a receive can start
//! on — data, end of stream, or a message already read ahead into the
//! connection — and nothing after its timeout.
//!
//! Time is asserted only as "at least the timeout" and "within generous
//! slack of it", which proves there was no hang.

#[path = "common/faults.rs"]
mod faults;
#[path = "common/serial.rs"]
mod serial;

use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use faults::{check_numbered, count_signals, delivered, frame, numbered, write_all, Storm};
use ipcwire::sys::{self, Errno, PollFd, PollFlags};
use ipcwire::{pipe, wait, Connection, Error};
use serial::lock;

const TIMEDOUT: Error = Error::Io(Errno::TIMEDOUT);
/// How late a timed-out call may return and still not count as a hang.
const SLACK: Duration = Duration::from_secs(3);

/// Runs `f`, returning its result and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = f();
    (result, start.elapsed())
}

fn assert_about(took: Duration, timeout: Duration, what: &str) {
    assert!(
        took >= timeout && took < timeout + SLACK,
        "{what}: returned after {took:?}, timeout {timeout:?}"
    );
}

/// One receive, into a `Vec` or a buffer.
/// `recv_bytes`, or `recv_bytes_into` this thread's one buffer: a payload
/// that a timeout paused part-way in that buffer is finished there (where
/// `recv_bytes` says `EINVAL`).
fn receive(conn: &mut Connection, vec: bool) -> Result<Vec<u8>, Error> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 200_000]);
    }
    match vec.then(|| conn.recv_bytes()) {
        Some(got) if got != Err(Error::Io(Errno::INVAL)) => got,
        _ => BUF.with_borrow_mut(|buf| conn.recv_bytes_into(buf).map(|n| buf[..n].to_vec())),
    }
}

#[test]
fn receive_timeout_with_nothing_sent() {
    let _g = lock();
    let timeout = Duration::from_millis(200);
    for duplex in [false, true] {
        let (mut r, mut w) = pipe(duplex).expect("pipe");
        r.set_recv_timeout(Some(timeout));
        for vec in [true, false] {
            let (got, took) = timed(|| receive(&mut r, vec));
            assert_eq!(got, Err(TIMEDOUT), "duplex={duplex} vec={vec}");
            assert_about(took, timeout, "empty receive");
        }
        assert!(TIMEDOUT.is_resumable());
        // The connection is fine afterwards.
        w.send_bytes(b"late").expect("send");
        assert_eq!(r.recv_bytes().expect("recv"), b"late");
        // A zero timeout only looks.
        r.set_recv_timeout(Some(Duration::ZERO));
        assert_eq!(r.recv_bytes(), Err(TIMEDOUT));
        w.send_bytes(b"now").expect("send");
        assert_eq!(r.recv_bytes().expect("recv"), b"now");
        // No timeout: blocks until the message comes.
        r.set_recv_timeout(None);
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            w.send_bytes(b"waited for").expect("send");
            w
        });
        assert_eq!(r.recv_bytes().expect("recv"), b"waited for");
        drop(sender.join().expect("sender"));
        assert_eq!(
            r.recv_bytes(),
            Err(Error::Eof),
            "end of stream is no timeout"
        );
    }
}

/// A frame written in pieces, one timed-out receive after each piece: the
/// message comes out whole when its last byte is in, and the bytes taken
/// by the receives that timed out are neither lost nor repeated.
#[test]
fn receive_timeout_keeps_a_partial_frame_and_resumes() {
    let _g = lock();
    let timeout = Duration::from_millis(30);
    let first = numbered(1, 150_000);
    let second = numbered(2, 1000);
    let mut raw = frame(&first);
    raw.extend_from_slice(&frame(&second));
    // Half a header, the rest of it, payload pieces below the pipe's
    // 64 KiB, the end of the first frame with half the second's header.
    let cuts = [2, 4, 50_000, 110_000, 150_004 + 2, 150_004 + 600, raw.len()];
    for duplex in [false, true] {
        let (mut r, w) = pipe(duplex).expect("pipe");
        r.set_recv_timeout(Some(timeout));
        let mut got = Vec::new();
        let mut timeouts = 0;
        let mut written = 0;
        for (k, &cut) in cuts.iter().enumerate() {
            write_all(w.as_fd(), &raw[written..cut]).expect("write");
            written = cut;
            loop {
                let (result, took) = timed(|| receive(&mut r, (k + timeouts) % 2 == 0));
                match result {
                    Ok(msg) => got.push(msg),
                    Err(e) if e == TIMEDOUT => {
                        assert_about(took, timeout, "receive of a partial frame");
                        timeouts += 1;
                        break;
                    }
                    Err(e) => panic!("duplex={duplex}: {e:?} after {cut} bytes"),
                }
            }
            let complete = [150_004, raw.len()].iter().filter(|&&e| e <= cut).count();
            assert_eq!(got.len(), complete, "duplex={duplex}: after {cut} bytes");
        }
        assert_eq!(timeouts, cuts.len());
        check_numbered(&got[0], 1, first.len()).unwrap();
        check_numbered(&got[1], 2, second.len()).unwrap();
    }
}

/// The timeout bounds the whole receive, not each read: a peer trickling a
/// message a byte at a time cannot hold a receive past it.
#[test]
fn receive_timeout_bounds_the_whole_receive() {
    let _g = lock();
    let timeout = Duration::from_millis(150);
    let msg = numbered(3, 150);
    let raw = frame(&msg);
    let (mut r, w) = pipe(true).expect("socketpair");
    let trickle = thread::spawn(move || {
        for b in raw {
            write_all(w.as_fd(), &[b]).expect("write");
            thread::sleep(Duration::from_millis(5));
        }
        w
    });
    r.set_recv_timeout(Some(timeout));
    let (first, took) = timed(|| r.recv_bytes());
    assert_eq!(first, Err(TIMEDOUT), "a trickle of bytes held the receive");
    assert_about(took, timeout, "trickled receive");
    let mut timeouts = 1;
    let got = loop {
        match receive(&mut r, timeouts % 2 == 0) {
            Ok(m) => break m,
            Err(e) if e == TIMEDOUT => timeouts += 1,
            Err(e) => panic!("{e:?}"),
        }
    };
    check_numbered(&got, 3, 150).unwrap();
    drop(trickle.join().expect("trickle"));
    assert_eq!(r.recv_bytes(), Err(Error::Eof));
    eprintln!("a 154-byte frame trickled in over {timeouts} timed-out receives and one whole");
}

/// Signals without `SA_RESTART` every 100 µs: `poll` is resumed with only
/// the time left, so a receive still times out on time (a wait restarted
/// from the full timeout would last as long as the storm).
#[test]
fn receive_timeout_is_not_stretched_by_signals() {
    let _g = lock();
    count_signals(libc::SIGALRM);
    let timeout = Duration::from_millis(300);
    let (mut r, w) = pipe(false).expect("pipe");
    r.set_recv_timeout(Some(timeout));
    let before = delivered();
    let storm = Storm::at_this_thread(
        libc::SIGALRM,
        Duration::from_micros(100),
        Duration::from_secs(10),
    );
    let (got, took) = timed(|| r.recv_bytes());
    let (got_wait, took_wait) = timed(|| wait([&r], Some(timeout)));
    let signals = delivered() - before;
    storm.stop();
    eprintln!("{signals} signals during two timed waits of {timeout:?}");
    assert_eq!(got, Err(TIMEDOUT));
    assert_about(took, timeout, "receive under signals");
    assert_eq!(got_wait, Ok(vec![]));
    assert_about(took_wait, timeout, "wait under signals");
    assert!(signals >= 50, "only {signals} signals arrived");
    drop(w);
}

// ---------------------------------------------------------------------------
// wait.

/// Whether the descriptor under `conn` has anything to read, by itself.
fn fd_readable(conn: &Connection) -> bool {
    let mut fds = [PollFd::new(conn.as_fd(), PollFlags::IN)];
    sys::poll(&mut fds, Some(Duration::ZERO)).expect("poll") > 0
}

#[test]
fn wait_reports_exactly_the_ready_connections() {
    let _g = lock();
    // 0: a pipe with a message waiting.
    let (data_pipe, mut data_w) = pipe(false).expect("pipe");
    data_w.send_bytes(b"waiting").expect("send");
    // 1: a socket pair with nothing.
    let (idle, mut idle_peer) = pipe(true).expect("socketpair");
    // 2: a pipe whose writer is gone.
    let (eof_pipe, eof_w) = pipe(false).expect("pipe");
    drop(eof_w);
    // 3: a socket pair whose second message was read ahead with the first.
    let (mut ahead, mut ahead_peer) = pipe(true).expect("socketpair");
    ahead_peer.send_bytes(b"first").expect("send");
    ahead_peer.send_bytes(b"second").expect("send");
    assert_eq!(ahead.recv_bytes().expect("recv"), b"first");
    assert!(
        !fd_readable(&ahead),
        "the second message is in the connection, not the socket"
    );
    // 4: a socket pair whose peer is gone.
    let (eof_sock, eof_peer) = pipe(true).expect("socketpair");
    drop(eof_peer);
    // 5: an idle pipe.
    let (idle_pipe, _idle_pipe_w) = pipe(false).expect("pipe");

    let all = [&data_pipe, &idle, &eof_pipe, &ahead, &eof_sock, &idle_pipe];
    let (ready, took) = timed(|| wait(all, Some(Duration::from_secs(10))));
    assert_eq!(ready, Ok(vec![0, 2, 3, 4]));
    assert!(took < SLACK, "wait took {took:?} with connections ready");
    assert_eq!(wait(all, None), Ok(vec![0, 2, 3, 4]));
    assert_eq!(wait(all, Some(Duration::ZERO)), Ok(vec![0, 2, 3, 4]));

    // Only the read-ahead one is ready, and its descriptor is empty: it is
    // still reported at once, not after the timeout.
    let (ready, took) = timed(|| wait([&idle, &ahead, &idle_pipe], Some(Duration::from_secs(10))));
    assert_eq!(ready, Ok(vec![1]));
    assert!(took < SLACK, "a buffered message waited {took:?}");

    // Receiving it empties the connection; then nothing is ready.
    assert_eq!(ahead.recv_bytes().expect("recv"), b"second");
    let timeout = Duration::from_millis(100);
    let (ready, took) = timed(|| wait([&idle, &ahead, &idle_pipe], Some(timeout)));
    assert_eq!(ready, Ok(vec![]));
    assert_about(took, timeout, "wait on idle connections");

    // A message arriving during the wait wakes it.
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        idle_peer.send_bytes(b"wake up").expect("send");
        idle_peer
    });
    let (ready, took) = timed(|| wait([&ahead, &idle, &idle_pipe], None));
    assert_eq!(ready, Ok(vec![1]));
    assert!(took < SLACK, "{took:?}");
    let _peer = sender.join().expect("sender");
    let mut idle = idle;
    assert_eq!(idle.recv_bytes().expect("recv"), b"wake up");
}

#[test]
fn wait_refuses_a_write_only_end() {
    let _g = lock();
    let (r, w) = pipe(false).expect("pipe");
    let (a, _b) = pipe(true).expect("socketpair");
    for list in [&[&w][..], &[&r, &w], &[&a, &r, &w]] {
        let (got, took) = timed(|| wait(list, Some(Duration::from_secs(10))));
        assert_eq!(got, Err(Error::NotReadable));
        assert!(took < SLACK, "{took:?}");
    }
    assert_eq!(wait([&r, &a], Some(Duration::ZERO)), Ok(vec![]));
}

/// A receive timed out inside a message, then the peer died: `wait`
/// reports the connection (end of stream), and the receive says
/// `Truncated`; the part that was taken is never delivered.
#[test]
fn wait_reports_a_peer_gone_in_the_middle_of_a_message() {
    let _g = lock();
    let (mut r, w) = pipe(true).expect("socketpair");
    r.set_recv_timeout(Some(Duration::from_millis(20)));
    write_all(w.as_fd(), &frame(&numbered(4, 100))[..50]).expect("write");
    assert_eq!(r.recv_bytes(), Err(TIMEDOUT));
    drop(w);
    assert_eq!(wait([&r], Some(Duration::from_secs(10))), Ok(vec![0]));
    assert_eq!(r.recv_bytes(), Err(Error::Truncated));
    assert_eq!(wait([&r], Some(Duration::ZERO)), Ok(vec![0]));
    assert_eq!(r.recv_bytes(), Err(Error::Truncated));
}
