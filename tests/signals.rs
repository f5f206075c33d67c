//! Signals: blocking sends (of messages and of batches) and receives of
//! large messages carry on, whole and in order, while both processes are
//! hit by a storm of signals whose handler has no `SA_RESTART` (so every
//! slow system call fails with `EINTR`); and a pipe whose reader is gone
//! gives `EPIPE`, never a death by `SIGPIPE`, leaving the signal mask, the
//! disposition and the pending set as they were.

#[path = "common/confine.rs"]
mod confine;
#[path = "common/faults.rs"]
mod faults;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/kernels.rs"]
mod kernels;
#[path = "common/paths.rs"]
mod paths;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use faults::{
    check_numbered, complain, count_signals, delivered, fill_backlog, is_default_action, itimer,
    members, numbered, pending, set_blocked, signal_mask, take_pending, Rendezvous, Storm,
    DELIVERED, MIB, PATIENCE,
};
use ipcwire::sys::{self, Errno};
use ipcwire::{fork_with_pipe, pipe, Client, Connection, Direction, Error, ExitStatus, Listener};
use kernels::Kernel;
use serial::lock;

use std::sync::atomic::Ordering;

/// How often a signal strikes each process.
const EVERY: Duration = Duration::from_micros(50);
/// Each process must have been interrupted at least this often, or the
/// test proved nothing.
const MIN_SIGNALS: u64 = 50;

/// The large messages of one stream, 8 MiB in all: a few MiB each, with
/// odd lengths around the pipe, socket and read-ahead sizes.
const SIZES: [usize; 8] = [
    3 * MIB,
    MIB + 7,
    0,
    2 * MIB - 3,
    517,
    65_537,
    2 * MIB + 1,
    65_536,
];

/// Sends the stream numbered from `first`.
fn send_stream(conn: &mut Connection, first: u64) -> Result<(), String> {
    for (k, &len) in SIZES.iter().enumerate() {
        let seq = first + k as u64;
        conn.send_bytes(&numbered(seq, len))
            .map_err(|e| format!("send of message {seq}: {e:?}"))?;
    }
    Ok(())
}

/// Receives the stream numbered from `first`, alternately into a new `Vec`
/// and into a buffer, and checks every byte.
fn receive_stream(conn: &mut Connection, first: u64) -> Result<(), String> {
    let mut buf = vec![0; 4 * MIB];
    for (k, &len) in SIZES.iter().enumerate() {
        let seq = first + k as u64;
        if k % 2 == 0 {
            let msg = conn
                .recv_bytes()
                .map_err(|e| format!("recv_bytes of message {seq}: {e:?}"))?;
            check_numbered(&msg, seq, len)?;
        } else {
            let n = conn
                .recv_bytes_into(&mut buf)
                .map_err(|e| format!("recv_bytes_into of message {seq}: {e:?}"))?;
            check_numbered(&buf[..n], seq, len)?;
        }
    }
    Ok(())
}

/// Streams `SIZES` between parent and child over `direction` (both ways in
/// turn for `Duplex` and `DuplexPipes`), with `SIGALRM` every 50 µs in both processes and the
/// receive timeout `timeout` on both ends. Returns the signals the parent
/// and the child took.
fn stream_under_storm(direction: Direction, timeout: Option<Duration>) -> (u64, u64) {
    count_signals(libc::SIGALRM);
    let mut report = Rendezvous::new();
    let start = delivered();
    let storm = Storm::at_this_thread(libc::SIGALRM, EVERY, PATIENCE);
    // SAFETY: the lock is held, so the harness's other threads are parked;
    // the child allocates (safe after fork with glibc and musl) and exits.
    let (mut conn, child) = unsafe {
        fork_with_pipe(direction, |mut conn| {
            DELIVERED.store(0, Ordering::Relaxed);
            itimer(EVERY);
            conn.set_recv_timeout(timeout);
            let outcome = match direction {
                Direction::ToChild => receive_stream(&mut conn, 0),
                Direction::FromChild => send_stream(&mut conn, 0),
                Direction::Duplex | Direction::DuplexPipes => {
                    receive_stream(&mut conn, 0).and_then(|()| send_stream(&mut conn, 100))
                }
            };
            itimer(Duration::ZERO);
            report.report(delivered() as u64);
            match outcome {
                Ok(()) => 0,
                Err(e) => {
                    complain(&e);
                    1
                }
            }
        })
    }
    .expect("fork_with_pipe");
    report.parent_side();
    conn.set_recv_timeout(timeout);
    let outcome = match direction {
        Direction::ToChild => send_stream(&mut conn, 0),
        Direction::FromChild => receive_stream(&mut conn, 0),
        Direction::Duplex | Direction::DuplexPipes => {
            send_stream(&mut conn, 0).and_then(|()| receive_stream(&mut conn, 100))
        }
    };
    let after = delivered();
    let sent = storm.stop();
    drop(conn);
    let status = child.wait().expect("wait");
    let child_signals = report.await_report(PATIENCE);
    outcome.unwrap_or_else(|e| panic!("{direction:?}, timeout {timeout:?}: parent: {e}"));
    assert_eq!(status, ExitStatus::Exited(0), "{direction:?}: the child");
    let parent_signals = (after - start) as u64;
    let child_signals = child_signals.expect("the child's signal count");
    eprintln!(
        "{direction:?}, timeout {timeout:?}: {parent_signals} signals delivered in the parent \
         ({sent} sent), {child_signals} in the child"
    );
    assert!(
        parent_signals >= MIN_SIGNALS,
        "only {parent_signals} signals reached the parent"
    );
    assert!(
        child_signals >= MIN_SIGNALS,
        "only {child_signals} signals reached the child"
    );
    (parent_signals, child_signals)
}

#[test]
fn pipe_to_child_large_messages_survive_a_signal_storm() {
    let _g = lock();
    stream_under_storm(Direction::ToChild, None);
}

#[test]
fn pipe_from_child_large_messages_survive_a_signal_storm() {
    let _g = lock();
    stream_under_storm(Direction::FromChild, None);
}

#[test]
fn socketpair_both_ways_large_messages_survive_a_signal_storm() {
    let _g = lock();
    stream_under_storm(Direction::Duplex, None);
}

#[test]
fn two_pipes_both_ways_large_messages_survive_a_signal_storm() {
    let _g = lock();
    stream_under_storm(Direction::DuplexPipes, None);
}

/// With a receive timeout every read waits in `poll` first, which a signal
/// interrupts too: it must resume with the time left, not fail.
#[test]
fn receive_timeout_path_survives_a_signal_storm() {
    let _g = lock();
    let timeout = Some(Duration::from_secs(60));
    stream_under_storm(Direction::FromChild, timeout);
    stream_under_storm(Direction::ToChild, timeout);
    stream_under_storm(Direction::Duplex, timeout);
    stream_under_storm(Direction::DuplexPipes, timeout);
}

/// Many small messages, which the receiver reads ahead in batches, under
/// the same storm: no message lost, repeated or reordered.
#[test]
fn many_small_messages_survive_a_signal_storm() {
    let _g = lock();
    count_signals(libc::SIGALRM);
    const COUNT: u64 = 20_000;
    let storm = Storm::at_this_thread(libc::SIGALRM, EVERY, PATIENCE);
    // SAFETY: as in `stream_under_storm`.
    let (mut conn, child) = unsafe {
        fork_with_pipe(Direction::Duplex, |mut conn| {
            itimer(EVERY);
            for seq in 0..COUNT {
                if conn
                    .send_bytes(&numbered(seq, (seq % 300) as usize))
                    .is_err()
                {
                    return 1;
                }
            }
            let mut buf = [0; 300];
            for seq in 0..COUNT {
                match conn.recv_bytes_into(&mut buf) {
                    Ok(n) if check_numbered(&buf[..n], seq, (seq % 290) as usize).is_ok() => {}
                    _ => return 2,
                }
            }
            0
        })
    }
    .expect("fork_with_pipe");
    let start = delivered();
    for seq in 0..COUNT {
        let msg = conn.recv_bytes().expect("recv");
        check_numbered(&msg, seq, (seq % 300) as usize).unwrap();
    }
    for seq in 0..COUNT {
        conn.send_bytes(&numbered(seq, (seq % 290) as usize))
            .expect("send");
    }
    let took = delivered() - start;
    storm.stop();
    assert_eq!(conn.recv_bytes(), Err(Error::Eof));
    assert_eq!(child.wait(), Ok(ExitStatus::Exited(0)));
    eprintln!(
        "{} small messages each way, {took} signals in the parent",
        COUNT
    );
    assert!(took as u64 >= MIN_SIGNALS, "only {took} signals");
}

/// The length of message `seq` of the storm's batch: mostly small, every
/// 1000th larger than a pipe or socket buffer.
fn batch_len(seq: u64) -> usize {
    if seq % 1000 == 500 {
        300_000
    } else {
        (seq as usize * 131) % 700
    }
}

/// Takes `count` messages numbered from 0 (lengths from `len`) with
/// borrowed receives, draining what each read brought with
/// `recv_buffered`, then the end of the stream.
fn take_borrowed(conn: &mut Connection, count: u64, len: fn(u64) -> usize) -> Result<(), String> {
    let mut seq = 0;
    while seq < count {
        let msg = conn
            .recv_bytes_borrowed()
            .map_err(|e| format!("message {seq}: {e:?}"))?;
        check_numbered(msg, seq, len(seq))?;
        seq += 1;
        while let Some(msg) = conn.recv_buffered() {
            if seq == count {
                return Err("a message after the last".into());
            }
            check_numbered(msg, seq, len(seq))?;
            seq += 1;
        }
    }
    match conn.recv_bytes_borrowed() {
        Err(Error::Eof) => Ok(()),
        other => Err(format!("after the last message: {other:?}")),
    }
}

/// One blocking batch many times larger than the pipe or socket, sent while
/// signals without `SA_RESTART` hit the sender every 50 µs: its vectored
/// writes are cut short and interrupted again and again. The child, under
/// its own storm, takes every message once, in order.
#[test]
fn a_batch_larger_than_the_pipe_survives_a_signal_storm() {
    let _g = lock();
    count_signals(libc::SIGALRM);
    const COUNT: u64 = 4000;
    let msgs: Vec<Vec<u8>> = (0..COUNT)
        .map(|seq| numbered(seq, batch_len(seq)))
        .collect();
    for direction in [Direction::ToChild, Direction::Duplex] {
        let storm = Storm::at_this_thread(libc::SIGALRM, EVERY, PATIENCE);
        // SAFETY: as in `stream_under_storm`.
        let (mut conn, child) = unsafe {
            fork_with_pipe(direction, |mut conn| {
                // The batch fills the pipe and waits in a write meanwhile
                // (a sleep under the storm would never end).
                thread::sleep(Duration::from_millis(30));
                itimer(EVERY);
                let outcome = take_borrowed(&mut conn, COUNT, batch_len);
                itimer(Duration::ZERO);
                match outcome {
                    Ok(()) => 0,
                    Err(e) => {
                        complain(&e);
                        1
                    }
                }
            })
        }
        .expect("fork_with_pipe");
        let start = delivered();
        let sent = conn.send_bytes_batch(&msgs);
        let took = delivered() - start;
        storm.stop();
        drop(conn);
        let status = child.wait().expect("wait");
        assert_eq!(sent, Ok(()), "{direction:?}");
        assert_eq!(status, ExitStatus::Exited(0), "{direction:?}: the child");
        eprintln!("{direction:?}: {took} signals during the batch");
        assert!(
            took as u64 >= MIN_SIGNALS,
            "{direction:?}: only {took} signals"
        );
    }
}

// ---------------------------------------------------------------------------
// SIGPIPE.

/// Runs `check` in a forked child whose `SIGPIPE` action is the default
/// (as in a C or `no_std` program; Rust's `std` ignores it), with `SIGUSR2`
/// blocked so that the whole mask can be compared, on `kernel` (see
/// `kernels.rs`), and returns how the child ended: `Signaled(SIGPIPE)` is
/// the death the guard prevents.
fn in_child_with_default_sigpipe(
    kernel: Kernel,
    check: impl FnOnce() -> Result<(), String>,
) -> ExitStatus {
    let mut child = fork::fork(|| {
        if let Err(e) = kernel.emulate() {
            complain(&format!("emulating {kernel:?}: {e}"));
            return 2;
        }
        // SAFETY: restoring the default action of a signal.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        set_blocked(libc::SIGUSR2, true);
        match check() {
            Ok(()) => 0,
            Err(e) => {
                complain(&e);
                1
            }
        }
    });
    child.wait()
}

/// Runs `check` as [`in_child_with_default_sigpipe`] does, once on each
/// kernel of [`Kernel::all`]: each child must pass it and exit 0.
fn on_every_kernel(check: impl Fn(Kernel) -> Result<(), String>) {
    for &kernel in Kernel::all() {
        let status = in_child_with_default_sigpipe(kernel, || check(kernel));
        assert_eq!(
            status,
            ExitStatus::Exited(0),
            "{kernel:?}: Signaled(13) is SIGPIPE"
        );
    }
}

/// `Ok` if `cond`, else the complaint.
fn ensure(cond: bool, what: &str) -> Result<(), String> {
    cond.then_some(()).ok_or_else(|| what.to_owned())
}

/// After an `EPIPE` send: the mask is `mask`, `SIGPIPE` still has its
/// default action, and whether a `SIGPIPE` is pending is `pending_sigpipe`.
fn unchanged(mask: &[i32], pending_sigpipe: bool) -> Result<(), String> {
    let now = members(&signal_mask());
    ensure(now == mask, &format!("mask {now:?}, was {mask:?}"))?;
    ensure(is_default_action(libc::SIGPIPE), "SIGPIPE's action changed")?;
    let pending = pending();
    ensure(
        pending.contains(&libc::SIGPIPE) == pending_sigpipe,
        &format!("pending signals {pending:?}"),
    )
}

fn expect_epipe(conn: &mut Connection, msg: &[u8]) -> Result<(), String> {
    let got = conn.send_bytes(msg);
    ensure(
        got == Err(Error::Io(Errno::PIPE)),
        &format!("send of {} bytes: {got:?}", msg.len()),
    )
}

#[test]
fn sigpipe_default_send_to_gone_pipe_reader_is_epipe() {
    let _g = lock();
    on_every_kernel(|_| {
        let mask = members(&signal_mask());
        ensure(mask == [libc::SIGUSR2], &format!("starting mask {mask:?}"))?;
        let (reader, mut writer) = pipe(false).map_err(|e| format!("pipe: {e}"))?;
        writer
            .send_bytes(b"read by nobody")
            .map_err(|e| format!("first send: {e:?}"))?;
        drop(reader);
        // A small frame (one write), a vectored one, and one larger than
        // the pipe: each is EPIPE, and each leaves no trace.
        for len in [5, 300, 2 * MIB] {
            expect_epipe(&mut writer, &numbered(len as u64, len))?;
            unchanged(&mask, false)?;
        }
        Ok(())
    });
}

/// Batches to a pipe whose reader is gone: `EPIPE`, and no trace, each on
/// a new connection (the first send decides how writes are guarded), with
/// and without a batch sent before. Nothing left, so nothing is torn: a
/// later send fails afresh, by the same rules.
#[test]
fn sigpipe_default_batch_to_gone_pipe_reader_is_epipe() {
    let _g = lock();
    on_every_kernel(|_| {
        let mask = members(&signal_mask());
        let one = vec![numbered(0, 5)];
        let small: Vec<Vec<u8>> = (0..64).map(|seq| numbered(seq, 100)).collect();
        let large: Vec<Vec<u8>> = (0..2000)
            .map(|seq| numbered(seq, if seq == 1000 { 200 * 1024 } else { 100 }))
            .collect();
        // One small frame (one write), 64 (one writev), and more than the
        // pipe holds.
        for batch in [&one, &small, &large] {
            for warm in [false, true] {
                let what = format!("warm={warm}, a batch of {}", batch.len());
                let (reader, mut writer) = pipe(false).map_err(|e| format!("pipe: {e}"))?;
                if warm {
                    writer
                        .send_bytes_batch(&small)
                        .map_err(|e| format!("{what}: first batch: {e:?}"))?;
                }
                drop(reader);
                let got = writer.send_bytes_batch(batch);
                ensure(
                    got == Err(Error::Io(Errno::PIPE)),
                    &format!("{what}: {got:?}"),
                )?;
                unchanged(&mask, false)?;
                expect_epipe(&mut writer, b"one message")?;
                unchanged(&mask, false)?;
            }
        }
        Ok(())
    });
}

/// A caller that blocks `SIGPIPE` and already has one pending keeps it:
/// the guard takes back only the one its own write raised.
#[test]
fn sigpipe_pending_beforehand_stays_pending() {
    let _g = lock();
    on_every_kernel(|_| {
        set_blocked(libc::SIGPIPE, true);
        let mask = members(&signal_mask());
        ensure(
            mask == [libc::SIGUSR2, libc::SIGPIPE],
            &format!("starting mask {mask:?}"),
        )?;
        // SAFETY: raising a blocked signal only marks it pending.
        unsafe { libc::raise(libc::SIGPIPE) };
        ensure(pending() == [libc::SIGPIPE], "raised SIGPIPE not pending")?;
        let (reader, mut writer) = pipe(false).map_err(|e| format!("pipe: {e}"))?;
        drop(reader);
        for len in [5, 300] {
            expect_epipe(&mut writer, &numbered(1, len))?;
            unchanged(&mask, true)?;
        }
        // The one raised beforehand is still there, exactly once.
        ensure(take_pending(libc::SIGPIPE), "the raised SIGPIPE was taken")?;
        ensure(!take_pending(libc::SIGPIPE), "a second SIGPIPE was pending")?;
        // Blocked but not pending: the write's own SIGPIPE is taken back.
        expect_epipe(&mut writer, b"again")?;
        unchanged(&mask, false)
    });
}

/// A send never changes the disposition. Where the kernel has
/// `RWF_NOSIGNAL`, the write raises no `SIGPIPE`, as a socket's
/// `MSG_NOSIGNAL` send raises none: a handler installed gets nothing, and
/// the send's `EPIPE` says it all. Elsewhere the guard leaves the signal
/// to the handler, which gets it as it would without ipcwire.
#[test]
fn sigpipe_with_a_handler_gets_it_only_where_the_write_raises_it() {
    let _g = lock();
    let nosignal = kernels::has_nosignal();
    on_every_kernel(|kernel| {
        let raised = if kernel == Kernel::This && nosignal {
            0
        } else {
            2
        };
        count_signals(libc::SIGPIPE);
        DELIVERED.store(0, Ordering::Relaxed);
        let (reader, mut writer) = pipe(false).map_err(|e| format!("pipe: {e}"))?;
        drop(reader);
        expect_epipe(&mut writer, b"one")?;
        expect_epipe(&mut writer, &[7; 1000])?;
        let got = delivered();
        ensure(
            got == raised,
            &format!("the handler ran {got} times, not {raised}"),
        )?;
        ensure(pending().is_empty(), "a signal is left pending")
    });
}

#[test]
fn sigpipe_default_send_to_gone_socket_peer_is_epipe() {
    let _g = lock();
    let status = in_child_with_default_sigpipe(Kernel::This, || {
        let mask = members(&signal_mask());
        let (mut a, b) = pipe(true).map_err(|e| format!("socketpair: {e}"))?;
        drop(b);
        for len in [5, 300, 2 * MIB] {
            expect_epipe(&mut a, &numbered(2, len))?;
            unchanged(&mask, false)?;
        }
        Ok(())
    });
    assert_eq!(status, ExitStatus::Exited(0), "Signaled(13) is SIGPIPE");
}

/// The reader goes away while a large send is blocked inside its write
/// (`storm = false`: one write sleeping in the kernel; `true`: under a
/// storm of other signals, which cut the write into many), on this kernel
/// and on older ones: `EPIPE`, and nothing left behind.
///
/// A write the reader's exit cuts short after some bytes went out returns
/// that count, yet the kernel raises `SIGPIPE` all the same.
///
/// With `batch`, the 8 MiB go as a batch of 64 messages; the stream is torn
/// then, and the send after it fails alike.
fn reader_gone_in_the_middle_of_a_message(storm: bool, batch: bool) {
    for &kernel in Kernel::all() {
        reader_gone_in_the_middle_on(kernel, storm, batch);
    }
}

fn reader_gone_in_the_middle_on(kernel: Kernel, storm: bool, batch: bool) {
    count_signals(libc::SIGALRM);
    let mut report = Rendezvous::new();
    let sender = |mut conn: Connection| {
        if let Err(e) = kernel.emulate() {
            complain(&format!("emulating {kernel:?}: {e}"));
            return 2;
        }
        // SAFETY: restoring the default action of a signal.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        set_blocked(libc::SIGUSR2, true);
        let mask = members(&signal_mask());
        DELIVERED.store(0, Ordering::Relaxed);
        if storm {
            itimer(EVERY);
        }
        let got = if batch {
            let msgs: Vec<Vec<u8>> = (0..64).map(|seq| numbered(seq, MIB / 8)).collect();
            conn.send_bytes_batch(&msgs)
        } else {
            conn.send_bytes(&numbered(3, 8 * MIB))
        };
        itimer(Duration::ZERO);
        report.report(delivered() as u64);
        let checks = ensure(got == Err(Error::Io(Errno::PIPE)), &format!("{got:?}"))
            .and_then(|()| unchanged(&mask, false))
            .and_then(|()| expect_epipe(&mut conn, b"after"));
        match checks {
            Ok(()) => 0,
            Err(e) => {
                complain(&e);
                1
            }
        }
    };
    // SAFETY: as in `stream_under_storm`.
    let (conn, child) =
        unsafe { fork_with_pipe(Direction::FromChild, sender) }.expect("fork_with_pipe");
    report.parent_side();
    // Take 1 MiB of the frame, so the child is inside its send, then leave.
    let mut buf = vec![0; 64 * 1024];
    let mut taken = 0;
    while taken < MIB {
        match sys::read(conn.as_fd(), &mut buf).expect("read") {
            0 => break, // the child's send ended early: its status says why
            n => taken += n,
        }
    }
    drop(conn);
    let status = child.wait().expect("wait");
    assert_eq!(
        status,
        ExitStatus::Exited(0),
        "{kernel:?}, storm={storm} batch={batch}: Signaled(13) is a death by SIGPIPE"
    );
    let signals = report.await_report(PATIENCE).expect("the child's count");
    eprintln!("storm={storm}: {signals} signals in the sending child");
    if storm {
        assert!(signals >= 1, "no signal reached the child");
    }
}

#[test]
fn sigpipe_default_reader_gone_while_a_write_sleeps() {
    let _g = lock();
    reader_gone_in_the_middle_of_a_message(false, false);
}

#[test]
fn sigpipe_default_reader_gone_in_the_middle_of_a_message_under_signals() {
    let _g = lock();
    for _ in 0..5 {
        reader_gone_in_the_middle_of_a_message(true, false);
    }
}

#[test]
fn sigpipe_default_reader_gone_in_the_middle_of_a_batch() {
    let _g = lock();
    reader_gone_in_the_middle_of_a_message(false, true);
    reader_gone_in_the_middle_of_a_message(true, true);
}

/// The guard holds whatever the program does to `SIGPIPE`'s disposition
/// between sends: ignored at the first send, then restored to the default
/// (as a program that hands the terminal back to `SIG_DFL` would).
#[test]
fn sigpipe_default_restored_after_the_first_send_still_never_kills() {
    let _g = lock();
    on_every_kernel(|_| {
        // SAFETY: changing the disposition of SIGPIPE in this child only.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let (reader, mut writer) = pipe(false).map_err(|e| format!("pipe: {e}"))?;
        writer
            .send_bytes(b"sent while SIGPIPE is ignored")
            .map_err(|e| format!("first send: {e:?}"))?;
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let mask = members(&signal_mask());
        drop(reader);
        for len in [5, 300, 2 * MIB] {
            expect_epipe(&mut writer, &numbered(4, len))?;
            unchanged(&mask, false)?;
        }
        Ok(())
    });
}

/// Where the kernel has `RWF_NOSIGNAL` (Linux 6.18 on), a pipe send is
/// its write alone: `SIGPIPE`'s action is never looked up. Shown with
/// `rt_sigaction` refused, so that a look-up would fail the send with
/// `EPERM`: sends, batches and sends to a reader that is gone, on a simplex
/// pipe and on a duplex connection over two pipes.
#[test]
fn sigpipe_is_never_looked_up_where_the_kernel_has_nosignal() {
    let _g = lock();
    if !kernels::has_nosignal() {
        skip::skipped("this kernel lacks RWF_NOSIGNAL (Linux 6.18 and later)");
        return;
    }
    let status = in_child_with_default_sigpipe(Kernel::This, || {
        kernels::refuse(libc::SYS_rt_sigaction, libc::EPERM).map_err(|e| format!("filter: {e}"))?;
        let (reader, mut writer) = pipe(false).map_err(|e| format!("pipe: {e}"))?;
        let (mut near, mut far) = ipcwire::duplex_pipes().map_err(|e| format!("pipes: {e}"))?;
        let batch: Vec<Vec<u8>> = (0..20).map(|seq| numbered(seq, 300)).collect();
        for conn in [&mut writer, &mut near] {
            for len in [5, 300] {
                let got = conn.send_bytes(&numbered(5, len));
                ensure(got.is_ok(), &format!("a send of {len} bytes: {got:?}"))?;
            }
            let got = conn.send_bytes_batch(&batch);
            ensure(got.is_ok(), &format!("a batch: {got:?}"))?;
        }
        let got = far.recv_bytes();
        ensure(
            got == Ok(numbered(5, 5)),
            "the first message over two pipes",
        )?;
        drop(reader);
        drop(far);
        for conn in [&mut writer, &mut near] {
            for len in [5, 300, 2 * MIB] {
                expect_epipe(conn, &numbered(6, len))?;
            }
        }
        ensure(pending().is_empty(), "a signal is pending")
    });
    assert_eq!(status, ExitStatus::Exited(0), "Signaled(13) is SIGPIPE");
}

// ---------------------------------------------------------------------------
// Connecting under signals.

/// A blocking `connect` to a Unix listener whose backlog is full sleeps in
/// the kernel until the listener takes a client. Signals without
/// `SA_RESTART` interrupt it: on a Unix socket that means no connection was
/// made, so `Client::connect` must try again, never return a socket that is
/// not connected. The listener starts accepting only after the storm.
#[test]
fn connect_to_a_full_unix_backlog_under_signals_is_connected_or_an_error() {
    let _g = lock();
    count_signals(libc::SIGUSR1);
    let path = paths::TempPath::new("full");
    let addr = path.address();
    let mut listener = Listener::bind(&addr).expect("bind");
    let queued = fill_backlog(&addr);
    let first = delivered();
    let storm = Storm::at_this_thread(
        libc::SIGUSR1,
        Duration::from_millis(20),
        Duration::from_millis(300),
    );
    let server = thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        // Take clients until the one that speaks, and echo its message.
        loop {
            let (mut conn, _) = listener.accept().expect("accept");
            if let Ok(msg) = conn.recv_bytes() {
                conn.send_bytes(&msg).expect("echo");
                return;
            }
        }
    });
    let started = Instant::now();
    let got = Client::new().connect(&addr);
    let waited = started.elapsed();
    storm.stop();
    let signals = delivered() - first;
    drop(queued); // the server's loop skips them: each is `Eof`
    let mut conn = got.expect("connect");
    assert!(
        sys::getpeername(conn.as_fd()).is_ok(),
        "connect returned a socket that is not connected"
    );
    conn.send_bytes(b"connected").expect("send");
    assert_eq!(conn.recv_bytes().expect("echo"), b"connected");
    server.join().expect("server");
    eprintln!("connect waited {waited:?} through {signals} signal deliveries");
    assert!(signals > 0, "no signal reached the connecting thread");
    assert!(
        waited >= Duration::from_millis(400),
        "{waited:?}: connected before the accept"
    );
}
