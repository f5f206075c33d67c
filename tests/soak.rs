//! Soak: the parent and four forked children exchange a million messages or
//! more both ways, over two pipes, a socket pair, a Unix socket and a TCP
//! socket (the last two through `Listener`/`Client` with an authkey), while
//! every process is hit by signals without `SA_RESTART`.
//!
//! - The parent runs one non-blocking event loop over all connections: it
//!   receives where `ipcwire::wait` says a receive can start, resumes sends
//!   after `EAGAIN`, and after some `EAGAIN`s probes with an empty "filler"
//!   message, which must be refused with `SendIncomplete` when a frame is
//!   part-way out (and otherwise goes out whole and is counted).
//! - The children block. They write some frames through raw `sys::write` in
//!   random pieces (so the parent sees arbitrary splits), receive with
//!   `recv_bytes` or `recv_bytes_into` into buffers of random sizes
//!   (answering `BufferTooSmall` with a larger one), sometimes under a short
//!   receive timeout (resuming after `ETIMEDOUT`).
//! - Message `seq` of a stream is `seq` (8 bytes, little-endian) and bytes
//!   of a random tape at an offset drawn from `seq`; sizes are mostly
//!   8–256 B, some KiB, rare ones up to 4 MiB. Every message is compared
//!   whole and in order, and both ends of every stream fold what went
//!   through into a digest that must agree at the end.
//! - The parent's descriptor count must not change and its resident memory
//!   must stay flat between warm-up and the end.
//!
//! Settings (environment): `IPCWIRE_SOAK_SECONDS` (the run lasts at least
//! this long), `IPCWIRE_SOAK_MESSAGES` (and until at least this many
//! messages went through), by default 20 s and 1,000,000 messages with
//! `IPCWIRE_FULL_TESTS=1` (as in CI), and a short run of 2 s and 100,000
//! messages without it; `IPCWIRE_SOAK_SEED` (default: from the clock;
//! printed, so a failure can be replayed). Run with `--nocapture` to see
//! the summary.

#[path = "common/faults.rs"]
mod faults;
#[path = "common/fds.rs"]
mod fds;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/paths.rs"]
mod paths;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use faults::{
    complain, count_signals, delivered, itimer, write_all, Rng, Storm, DELIVERED, MIB, PATIENCE,
};
use fds::count_fds;
use fork::Forked;
use ipcwire::sys::{self, Errno, PollFd, PollFlags};
use ipcwire::{pipe, Address, Client, Connection, Error, Listener};
use serial::lock;

use std::sync::atomic::Ordering;

const KEY: &[u8] = b"soak";
const TAPE_LEN: usize = 8 * MIB;
const MAX_MSG: usize = 4 * MIB;
/// Control messages start with eight `0xff` bytes, a sequence number no
/// stream reaches.
const CONTROL: [u8; 8] = [0xff; 8];

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

// ---------------------------------------------------------------------------
// Messages.

/// Random bytes the messages are cut from; the same in every process.
struct Tape(Vec<u8>);

impl Tape {
    fn new(seed: u64) -> Tape {
        let mut rng = Rng::new(seed);
        let mut bytes = Vec::with_capacity(TAPE_LEN);
        while bytes.len() < TAPE_LEN {
            bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        Tape(bytes)
    }

    /// The length of message `seq` of stream `key`, and where its bytes
    /// after the sequence number start on the tape.
    fn shape(key: u64, seq: u64) -> (usize, usize) {
        let mut rng = Rng::new(key ^ seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let r = rng.below(100_000);
        let len = if r < 3 {
            rng.between(MIB, MAX_MSG)
        } else if r < 200 {
            rng.between(16 << 10, 128 << 10)
        } else if r < 2200 {
            rng.between(257, 16 << 10)
        } else {
            rng.between(8, 256)
        };
        (len, rng.below((TAPE_LEN - len) as u64) as usize)
    }

    fn message(&self, key: u64, seq: u64) -> Vec<u8> {
        let (len, at) = Tape::shape(key, seq);
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&seq.to_le_bytes());
        msg.extend_from_slice(&self.0[at..at + len - 8]);
        msg
    }

    /// Whether `got` is exactly message `seq` of stream `key`.
    fn check(&self, key: u64, seq: u64, got: &[u8]) -> Result<(), String> {
        let (len, at) = Tape::shape(key, seq);
        if got.len() != len {
            let head = got
                .get(..8)
                .map(|h| u64::from_le_bytes(h.try_into().unwrap()));
            return Err(format!(
                "stream {key:x} message {seq}: {} bytes (sequence field {head:?}), expected {len}",
                got.len()
            ));
        }
        if got[..8] != seq.to_le_bytes() || got[8..] != self.0[at..at + len - 8] {
            let i = got
                .iter()
                .zip(seq.to_le_bytes().iter().chain(&self.0[at..]))
                .position(|(a, b)| a != b);
            return Err(format!(
                "stream {key:x} message {seq} of {len} bytes differs at byte {i:?}"
            ));
        }
        Ok(())
    }
}

/// Folds one message into a stream's digest: its number, its length and a
/// sample of its bytes (each message is also compared whole on receipt).
fn digest(d: u64, seq: u64, msg: &[u8]) -> u64 {
    let mut h = d ^ seq.wrapping_mul(0x0100_0000_01b3) ^ (msg.len() as u64) << 32;
    for &b in msg.iter().step_by(61).chain(msg.iter().rev().take(8)) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h.rotate_left(17)
}

fn stop_message() -> Vec<u8> {
    [&CONTROL[..], b"STOP"].concat()
}

/// What a child reports when it stops.
#[derive(Debug, Default, Clone, Copy)]
struct ChildStats {
    sent: u64,
    received: u64,
    digest_sent: u64,
    digest_received: u64,
    fillers_sent: u64,
    fillers_received: u64,
    signals: u64,
    raw_frames: u64,
    timeouts: u64,
    too_small: u64,
}

impl ChildStats {
    fn fields(&self) -> [u64; 10] {
        [
            self.sent,
            self.received,
            self.digest_sent,
            self.digest_received,
            self.fillers_sent,
            self.fillers_received,
            self.signals,
            self.raw_frames,
            self.timeouts,
            self.too_small,
        ]
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = [&CONTROL[..], b"END!"].concat();
        for f in self.fields() {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out
    }

    fn decode(msg: &[u8]) -> Option<ChildStats> {
        let body = msg.strip_prefix(&[&CONTROL[..], b"END!"].concat()[..])?;
        if body.len() != 80 {
            return None;
        }
        let f: Vec<u64> = body
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        Some(ChildStats {
            sent: f[0],
            received: f[1],
            digest_sent: f[2],
            digest_received: f[3],
            fillers_sent: f[4],
            fillers_received: f[5],
            signals: f[6],
            raw_frames: f[7],
            timeouts: f[8],
            too_small: f[9],
        })
    }
}

// ---------------------------------------------------------------------------
// The children: blocking, random bursts of sends and receives.

struct ChildPlan {
    /// Keys of the stream the child receives and the one it sends.
    rx_key: u64,
    tx_key: u64,
    seed: u64,
    /// Every receive under a long timeout, so each read polls first.
    long_timeout: bool,
}

/// One receive of a child, with random API, buffer size and timeout.
fn child_receive(
    conn: &mut Connection,
    rng: &mut Rng,
    big: &mut [u8],
    stats: &mut ChildStats,
    plan: &ChildPlan,
) -> Result<Vec<u8>, Error> {
    let normal = plan.long_timeout.then_some(PATIENCE);
    loop {
        let short = rng.one_in(16);
        if short {
            // Zero only looks: it times out whenever the next bytes are
            // not there yet, often in the middle of a frame.
            let us = if rng.one_in(2) { 0 } else { rng.below(2000) };
            conn.set_recv_timeout(Some(Duration::from_micros(us)));
        }
        let vec = rng.one_in(2).then(|| conn.recv_bytes());
        // A payload paused part-way in `big` can only be finished there.
        let got = if let Some(got) = vec.filter(|got| *got != Err(Error::Io(Errno::INVAL))) {
            got
        } else {
            let size = [0, 16, 300, 4096, 70_000, big.len()][rng.below(6) as usize];
            match conn.recv_bytes_into(&mut big[..size]) {
                Err(Error::BufferTooSmall { needed }) => {
                    stats.too_small += 1;
                    let n = needed as usize;
                    match rng.one_in(2).then(|| conn.recv_bytes()) {
                        Some(got) if got != Err(Error::Io(Errno::INVAL)) => got,
                        _ => conn
                            .recv_bytes_into(&mut big[..n])
                            .map(|n| big[..n].to_vec()),
                    }
                }
                other => other.map(|n| big[..n].to_vec()),
            }
        };
        if short {
            conn.set_recv_timeout(normal);
        }
        match got {
            Err(e) if e == Error::Io(Errno::TIMEDOUT) => stats.timeouts += 1,
            other => return other,
        }
    }
}

/// Sends `msg`, either with `send_bytes` or as a raw frame written in
/// random pieces.
fn child_send(
    conn: &mut Connection,
    msg: &[u8],
    rng: &mut Rng,
    stats: &mut ChildStats,
) -> Result<(), String> {
    if !rng.one_in(8) {
        return conn
            .send_bytes(msg)
            .map_err(|e| format!("send_bytes: {e:?}"));
    }
    stats.raw_frames += 1;
    let mut frame = ipcwire::frame::Header::new(msg.len() as u64)
        .as_bytes()
        .to_vec();
    frame.extend_from_slice(msg);
    let mut at = 0;
    while at < frame.len() {
        let most = if frame.len() > 4096 { 64 << 10 } else { 64 };
        let n = rng.between(1, most).min(frame.len() - at);
        write_all(conn.as_fd(), &frame[at..at + n]).map_err(|e| format!("write: {e}"))?;
        at += n;
        if rng.one_in(4) {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        }
    }
    Ok(())
}

fn child_main(
    tape: &Tape,
    mut inp: Connection,
    mut out: Option<Connection>,
    plan: &ChildPlan,
) -> Result<ChildStats, String> {
    let mut rng = Rng::new(plan.seed);
    let mut stats = ChildStats::default();
    let mut big = vec![0; MAX_MSG + 64];
    if plan.long_timeout {
        inp.set_recv_timeout(Some(PATIENCE));
    }
    let stop = stop_message();
    loop {
        for _ in 0..rng.between(1, 32) {
            let conn = out.as_mut().unwrap_or(&mut inp);
            if rng.one_in(500) {
                child_send(conn, b"", &mut rng, &mut stats)?;
                stats.fillers_sent += 1;
            }
            let msg = tape.message(plan.tx_key, stats.sent);
            child_send(conn, &msg, &mut rng, &mut stats)?;
            stats.digest_sent = digest(stats.digest_sent, stats.sent, &msg);
            stats.sent += 1;
        }
        for _ in 0..rng.between(1, 32) {
            let msg = child_receive(&mut inp, &mut rng, &mut big, &mut stats, plan)
                .map_err(|e| format!("receive of message {}: {e:?}", stats.received))?;
            if msg.is_empty() {
                stats.fillers_received += 1;
                continue;
            }
            if msg == stop {
                stats.signals = delivered() as u64;
                let conn = out.as_mut().unwrap_or(&mut inp);
                conn.send_bytes(&stats.encode())
                    .map_err(|e| format!("send of the report: {e:?}"))?;
                return Ok(stats);
            }
            tape.check(plan.rx_key, stats.received, &msg)?;
            stats.digest_received = digest(stats.digest_received, stats.received, &msg);
            stats.received += 1;
        }
    }
}

/// Runs in a forked child: its own storm, the exchange, `_exit`.
fn child(tape: &Tape, inp: Connection, out: Option<Connection>, plan: &ChildPlan) -> i32 {
    DELIVERED.store(0, Ordering::Relaxed);
    itimer(Duration::from_micros(100 + plan.seed % 400));
    match child_main(tape, inp, out, plan) {
        Ok(_) => 0,
        Err(e) => {
            complain(&e);
            1
        }
    }
}

// ---------------------------------------------------------------------------
// The parent: one non-blocking event loop.

#[derive(Default)]
struct Tx {
    key: u64,
    seq: u64,
    /// The message part-way out (or not yet sent) after an `EAGAIN`.
    pending: Option<Vec<u8>>,
    /// An empty filler that must be finished before anything else.
    filler_owed: bool,
    stopping: bool,
    stopped: bool,
    digest: u64,
    bytes: u64,
    fillers: u64,
    /// Probes refused because a frame was part-way out.
    incomplete: u64,
    pauses: u64,
}

#[derive(Default)]
struct Rx {
    key: u64,
    seq: u64,
    digest: u64,
    bytes: u64,
    fillers: u64,
    pauses: u64,
    too_small: u64,
    report: Option<ChildStats>,
    eof: bool,
}

struct Link {
    name: &'static str,
    out: usize,
    inp: usize,
    tx: Tx,
    rx: Rx,
    child: Forked,
}

/// Sends on one link until `EAGAIN` or `budget` messages.
fn pump_out(
    conn: &mut Connection,
    tx: &mut Tx,
    tape: &Tape,
    rng: &mut Rng,
    budget: usize,
) -> usize {
    let mut sent = 0;
    while sent < budget && !tx.stopped {
        if tx.filler_owed {
            match conn.send_bytes(b"") {
                Ok(()) => {
                    tx.filler_owed = false;
                    tx.fillers += 1;
                }
                Err(e) if e.is_resumable() => return sent,
                Err(e) => panic!("filler: {e:?}"),
            }
        }
        let is_stop = tx.stopping;
        let msg = tx.pending.get_or_insert_with(|| {
            if is_stop {
                stop_message()
            } else {
                tape.message(tx.key, tx.seq)
            }
        });
        match conn.send_bytes(msg) {
            Ok(()) => {
                let msg = tx.pending.take().unwrap();
                if msg.starts_with(&CONTROL) {
                    tx.stopped = true;
                } else {
                    tx.digest = digest(tx.digest, tx.seq, &msg);
                    tx.bytes += msg.len() as u64;
                    tx.seq += 1;
                }
                sent += 1;
            }
            Err(e) if e == Error::Io(Errno::AGAIN) => {
                tx.pauses += 1;
                if rng.one_in(4) {
                    // Probe: a different message while this one may be
                    // part-way out.
                    match conn.send_bytes(b"") {
                        Err(Error::SendIncomplete) => tx.incomplete += 1,
                        Ok(()) => tx.fillers += 1,
                        Err(e) if e.is_resumable() => tx.filler_owed = true,
                        Err(e) => panic!("probe: {e:?}"),
                    }
                }
                return sent;
            }
            Err(e) => panic!("send of message {}: {e:?}", tx.seq),
        }
    }
    sent
}

/// Receives on one link until `EAGAIN` or `budget` messages.
fn pump_in(
    conn: &mut Connection,
    rx: &mut Rx,
    tape: &Tape,
    rng: &mut Rng,
    big: &mut [u8],
    budget: usize,
) -> usize {
    let mut got_count = 0;
    while got_count < budget && !rx.eof {
        // Now and then a zero receive timeout on top of non-blocking mode:
        // then the pause is ETIMEDOUT instead of EAGAIN.
        let zero = rng.one_in(64);
        if zero {
            conn.set_recv_timeout(Some(Duration::ZERO));
        }
        let vec = rng.one_in(2).then(|| conn.recv_bytes());
        // A payload paused part-way in `big` can only be finished there.
        let got = if let Some(got) = vec.filter(|got| *got != Err(Error::Io(Errno::INVAL))) {
            got
        } else {
            let size = [0, 64, 300, 20_000, big.len()][rng.below(5) as usize];
            match conn.recv_bytes_into(&mut big[..size]) {
                Err(Error::BufferTooSmall { needed }) => {
                    rx.too_small += 1;
                    let n = needed as usize;
                    conn.recv_bytes_into(&mut big[..n])
                        .map(|n| big[..n].to_vec())
                }
                other => other.map(|n| big[..n].to_vec()),
            }
        };
        if zero {
            conn.set_recv_timeout(None);
        }
        let msg = match got {
            Ok(msg) => msg,
            Err(e) if e.is_resumable() => {
                rx.pauses += 1;
                return got_count;
            }
            Err(Error::Eof) if rx.report.is_some() => {
                rx.eof = true;
                return got_count;
            }
            Err(e) => panic!("receive of message {}: {e:?}", rx.seq),
        };
        got_count += 1;
        if rx.report.is_some() {
            panic!("a message after the child's report");
        }
        if msg.is_empty() {
            rx.fillers += 1;
        } else if msg.starts_with(&CONTROL) {
            rx.report = Some(ChildStats::decode(&msg).expect("a well-formed report"));
        } else {
            tape.check(rx.key, rx.seq, &msg)
                .unwrap_or_else(|e| panic!("{e}"));
            rx.digest = digest(rx.digest, rx.seq, &msg);
            rx.bytes += msg.len() as u64;
            rx.seq += 1;
        }
    }
    got_count
}

/// Gives a socket fixed 4 MiB buffers. Over loopback TCP's 64 KiB segments,
/// buffers that autotuning (or memory pressure) leaves near one segment make
/// the receiver advertise a zero window it does not reopen until the
/// sender's persist timer probes, with exponential backoff: both directions
/// of the link then stall in the kernel for tens of seconds, and the stall
/// check cannot tell that from a hang in ipcwire.
fn roomy_socket_buffers(conn: &Connection) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4 << 20;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: `size` is a live c_int and its length is passed with it.
        let set = unsafe {
            libc::setsockopt(
                conn.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(set, 0, "setsockopt");
    }
}

/// One link's state when nothing has moved for too long: what the parent
/// was doing with it, and where the kernel has its child waiting.
fn stall_report(link: &Link) -> String {
    let pid = link.child.pid().raw();
    let proc_file =
        |name: &str| std::fs::read_to_string(format!("/proc/{pid}/{name}")).unwrap_or_default();
    let state = proc_file("stat");
    let state = state.rsplit_once(") ").map_or("?", |(_, rest)| &rest[..1]);
    format!(
        "  {}: tx seq {} pending {:?} owed {} stopping {} stopped {}; rx seq {} report {} eof {}; \
         child {pid} state {state} waiting in {:?}",
        link.name,
        link.tx.seq,
        link.tx.pending.as_ref().map(Vec::len),
        link.tx.filler_owed,
        link.tx.stopping,
        link.tx.stopped,
        link.rx.seq,
        link.rx.report.is_some(),
        link.rx.eof,
        proc_file("wchan"),
    )
}

/// Resident memory in KiB.
fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Forks a child over `inp` (and `out`, for two pipes); the parent's ends
/// are in `mine`, which the child drops.
fn spawn_child(
    tape: &Tape,
    mine: &mut [Option<Connection>],
    inp: Connection,
    out: Option<Connection>,
    plan: ChildPlan,
) -> Forked {
    let mut theirs = Some((inp, out));
    let child = fork::fork(|| {
        mine.iter_mut().for_each(|c| drop(c.take()));
        let (inp, out) = theirs.take().expect("child ends");
        child(tape, inp, out, &plan)
    });
    drop(theirs);
    child
}

// ---------------------------------------------------------------------------
// The run, step by step.

/// The run's settings, from the environment.
struct Settings {
    seconds: u64,
    target: u64,
    seed: u64,
}

impl Settings {
    /// The full run's length, and the short one's.
    const FULL: (u64, u64) = (20, 1_000_000);
    const SHORT: (u64, u64) = (2, 100_000);

    fn from_env() -> Settings {
        let (default_seconds, default_target) = if skip::full() {
            Settings::FULL
        } else {
            Settings::SHORT
        };
        let seconds = env_u64("IPCWIRE_SOAK_SECONDS");
        let target = env_u64("IPCWIRE_SOAK_MESSAGES");
        if !skip::full() && seconds.is_none() && target.is_none() {
            let (s, n) = Settings::FULL;
            skip::say(format_args!(
                "soak: a short run ({default_seconds} s, {default_target} messages); \
                 IPCWIRE_FULL_TESTS=1 runs the full one ({s} s, {n} messages)"
            ));
        }
        let seconds = seconds.unwrap_or(default_seconds);
        let target = target.unwrap_or(default_target);
        let seed = env_u64("IPCWIRE_SOAK_SEED").unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos() as u64
        });
        eprintln!(
            "soak: seed {seed} (IPCWIRE_SOAK_SEED), at least {seconds} s and {target} messages"
        );
        Settings {
            seconds,
            target,
            seed,
        }
    }

    /// What the child of link `i` does.
    fn plan(&self, i: u64, long_timeout: bool) -> ChildPlan {
        ChildPlan {
            rx_key: self.seed ^ (2 * i + 1),
            tx_key: self.seed ^ (2 * i + 2),
            seed: self.seed.wrapping_add(i * 7919),
            long_timeout,
        }
    }

    /// The keys of link `i`'s streams: to its child, and from it.
    fn keys(&self, i: u64) -> (u64, u64) {
        (self.seed ^ (2 * i + 1), self.seed ^ (2 * i + 2))
    }
}

impl Link {
    fn new(
        name: &'static str,
        out: usize,
        inp: usize,
        (to_child, from_child): (u64, u64),
        child: Forked,
    ) -> Link {
        Link {
            name,
            out,
            inp,
            tx: Tx {
                key: to_child,
                ..Tx::default()
            },
            rx: Rx {
                key: from_child,
                ..Rx::default()
            },
            child,
        }
    }
}

/// Link 0, two pipes; the child's SIGPIPE has its default action, so its
/// pipe sends go through the SIGPIPE guard.
fn link_over_pipes(tape: &Tape, settings: &Settings, mine: &mut Vec<Option<Connection>>) -> Link {
    let (to_r, to_w) = pipe(false).expect("pipe");
    let (from_r, from_w) = pipe(false).expect("pipe");
    mine.push(Some(to_w));
    mine.push(Some(from_r));
    let (out, inp) = (mine.len() - 2, mine.len() - 1);
    let mut theirs = Some((to_r, from_w));
    let p = settings.plan(0, false);
    let child = fork::fork(|| {
        // SAFETY: restoring the default action of a signal.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        mine.iter_mut().for_each(|c| drop(c.take()));
        let (inp, out) = theirs.take().expect("child ends");
        child(tape, inp, Some(out), &p)
    });
    drop(theirs);
    Link::new("pipes", out, inp, settings.keys(0), child)
}

/// Link 1, a socket pair; the child receives under a long timeout (the
/// poll path).
fn link_over_socketpair(
    tape: &Tape,
    settings: &Settings,
    mine: &mut Vec<Option<Connection>>,
) -> Link {
    let (a, b) = pipe(true).expect("socketpair");
    mine.push(Some(a));
    let at = mine.len() - 1;
    let child = spawn_child(tape, mine, b, None, settings.plan(1, true));
    Link::new("socketpair", at, at, settings.keys(1), child)
}

/// Links 2 and 3, a Unix socket at `unix_path` and TCP, through `Listener`
/// and `Client` with an authkey.
fn links_over_listeners(
    tape: &Tape,
    settings: &Settings,
    mine: &mut Vec<Option<Connection>>,
    unix_path: &paths::TempPath,
) -> Vec<Link> {
    let addrs: [Address; 2] = [unix_path.address(), "tcp:127.0.0.1:0".parse().expect("tcp")];
    let mut links = Vec::new();
    for (k, addr) in addrs.iter().enumerate() {
        let mut listener = Listener::bind(addr)
            .expect("bind")
            .authkey(KEY)
            .handshake_timeout(PATIENCE);
        let addr = *listener.local_addr();
        let i = 2 + k as u64;
        let p = settings.plan(i, false);
        let child = fork::fork(|| {
            mine.iter_mut().for_each(|c| drop(c.take()));
            let conn = match Client::new().authkey(KEY).timeout(PATIENCE).connect(&addr) {
                Ok(conn) => conn,
                Err(e) => {
                    complain(&format!("connect: {e:?}"));
                    return 3;
                }
            };
            roomy_socket_buffers(&conn);
            child(tape, conn, None, &p)
        });
        let (conn, _) = listener.accept().expect("accept");
        roomy_socket_buffers(&conn);
        mine.push(Some(conn));
        let at = mine.len() - 1;
        links.push(Link::new(
            ["unix", "tcp"][k],
            at,
            at,
            settings.keys(i),
            child,
        ));
    }
    links
}

/// Forks the four children: the parent's ends of their links, all
/// non-blocking, and the links.
fn start_links(
    tape: &Tape,
    settings: &Settings,
    unix_path: &paths::TempPath,
) -> (Vec<Connection>, Vec<Link>) {
    // The parent's ends; children drop every one of them.
    let mut mine: Vec<Option<Connection>> = Vec::new();
    let mut links = vec![
        link_over_pipes(tape, settings, &mut mine),
        link_over_socketpair(tape, settings, &mut mine),
    ];
    links.extend(links_over_listeners(tape, settings, &mut mine, unix_path));
    let conns: Vec<Connection> = mine.into_iter().map(|c| c.expect("parent end")).collect();
    for conn in &conns {
        conn.set_nonblocking(true).expect("set_nonblocking");
    }
    (conns, links)
}

/// Receives where `wait` says a receive can start; the messages taken.
fn receive_where_ready(
    conns: &mut [Connection],
    links: &mut [Link],
    open: &[usize],
    tape: &Tape,
    rng: &mut Rng,
    bigs: &mut [Vec<u8>],
) -> usize {
    let ready = {
        let list: Vec<&Connection> = open.iter().map(|&i| &conns[links[i].inp]).collect();
        ipcwire::wait(&list, Some(Duration::ZERO)).expect("wait")
    };
    let mut progress = 0;
    for &r in &ready {
        let link = &mut links[open[r]];
        progress += pump_in(
            &mut conns[link.inp],
            &mut link.rx,
            tape,
            rng,
            &mut bigs[open[r]],
            512,
        );
    }
    progress
}

/// Sends on every link until each pauses; the messages sent.
fn send_on_every_link(
    conns: &mut [Connection],
    links: &mut [Link],
    tape: &Tape,
    rng: &mut Rng,
) -> usize {
    let mut progress = 0;
    for link in links {
        progress += pump_out(&mut conns[link.out], &mut link.tx, tape, rng, 256);
    }
    progress
}

/// Fails the test when nothing has moved for [`PATIENCE`], with the
/// kernel's view of the TCP sockets and each link's state.
fn stalled(links: &[Link], seed: u64) -> ! {
    let sockets = std::process::Command::new("ss")
        .args(["-tnoim"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    eprintln!("{sockets}");
    panic!(
        "stalled for {PATIENCE:?} (seed {seed}):\n{}",
        links
            .iter()
            .map(stall_report)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Sleeps until a descriptor the loop waits on is ready (at most 1 s).
fn sleep_until_ready(conns: &[Connection], links: &[Link]) {
    let mut fds: Vec<PollFd<'_>> = Vec::new();
    for link in links {
        let want_out = !link.tx.stopped;
        if link.out == link.inp {
            let mut ev = PollFlags::empty();
            if !link.rx.eof {
                ev = ev | PollFlags::IN;
            }
            if want_out {
                ev = ev | PollFlags::OUT;
            }
            fds.push(PollFd::new(conns[link.inp].as_fd(), ev));
        } else {
            if !link.rx.eof {
                fds.push(PollFd::new(conns[link.inp].as_fd(), PollFlags::IN));
            }
            if want_out {
                fds.push(PollFd::new(conns[link.out].as_fd(), PollFlags::OUT));
            }
        }
    }
    sys::poll(&mut fds, Some(Duration::from_secs(1))).expect("poll");
}

/// What the parent's event loop saw.
struct Run {
    duration: Duration,
    /// Descriptors, resident KiB and time at the end of the warm-up.
    warm: (usize, u64, Duration),
    iterations: u64,
    sleeps: u64,
}

/// The parent's event loop: runs for at least the settings' time and
/// messages, then stops every stream and runs until each child's report
/// and end of stream have arrived.
fn exchange(
    conns: &mut [Connection],
    links: &mut [Link],
    tape: &Tape,
    rng: &mut Rng,
    settings: &Settings,
) -> Run {
    let Settings {
        seconds,
        target,
        seed,
    } = *settings;
    let start = Instant::now();
    let hard_limit = Duration::from_secs(seconds * 4 + 60);
    // One buffer per link: a message paused part-way in a buffer is
    // finished only in that buffer, so links must not share one.
    let mut bigs = vec![vec![0; MAX_MSG + 64]; links.len()];
    let mut last_progress = Instant::now();
    let mut warm: Option<(usize, u64, Duration)> = None;
    let mut iterations = 0u64;
    let mut sleeps = 0u64;
    loop {
        iterations += 1;
        let messages: u64 = links.iter().map(|l| l.tx.seq + l.rx.seq).sum();
        let elapsed = start.elapsed();
        if warm.is_none() && elapsed.as_secs_f64() >= seconds as f64 / 5.0 {
            warm = Some((count_fds(), vm_rss_kib(), elapsed));
        }
        if elapsed >= Duration::from_secs(seconds) && messages >= target {
            for link in links.iter_mut() {
                link.tx.stopping = true;
            }
        }
        assert!(
            elapsed < hard_limit,
            "only {messages} messages after {elapsed:?} (seed {seed})"
        );
        let open: Vec<usize> = (0..links.len()).filter(|&i| !links[i].rx.eof).collect();
        if open.is_empty() && links.iter().all(|l| l.tx.stopped) {
            break;
        }
        let mut progress = receive_where_ready(conns, links, &open, tape, rng, &mut bigs);
        progress += send_on_every_link(conns, links, tape, rng);
        if progress > 0 {
            last_progress = Instant::now();
            continue;
        }
        if last_progress.elapsed() >= PATIENCE {
            stalled(links, seed);
        }
        // Nothing moved: sleep until a descriptor is ready.
        sleeps += 1;
        sleep_until_ready(conns, links);
    }
    Run {
        duration: start.elapsed(),
        warm: warm.expect("warm-up point"),
        iterations,
        sleeps,
    }
}

/// The sums over every link, and a line for each.
#[derive(Default)]
struct Totals {
    lines: Vec<String>,
    msgs: u64,
    bytes: u64,
    child_signals: u64,
    faults: u64,
}

/// Reaps every child, checks that it stopped cleanly and that every stream
/// agrees on both ends, and adds up what went through.
fn check_links(links: &mut [Link], seed: u64) -> Totals {
    let mut totals = Totals::default();
    for link in links {
        let status = link.child.wait();
        assert_eq!(
            status,
            sys::ExitStatus::Exited(0),
            "{} child (seed {seed})",
            link.name
        );
        let r = link.rx.report.expect("report");
        let name = link.name;
        assert_eq!(
            r.received, link.tx.seq,
            "{name}: messages the child received"
        );
        assert_eq!(
            r.digest_received, link.tx.digest,
            "{name}: digest to the child"
        );
        assert_eq!(
            r.fillers_received, link.tx.fillers,
            "{name}: fillers to the child"
        );
        assert_eq!(r.sent, link.rx.seq, "{name}: messages from the child");
        assert_eq!(
            r.digest_sent, link.rx.digest,
            "{name}: digest from the child"
        );
        assert_eq!(
            r.fillers_sent, link.rx.fillers,
            "{name}: fillers from the child"
        );
        let msgs = link.tx.seq + link.rx.seq;
        let bytes = link.tx.bytes + link.rx.bytes;
        let link_faults = link.tx.incomplete
            + link.tx.fillers
            + link.rx.too_small
            + r.raw_frames
            + r.timeouts
            + r.too_small;
        totals.msgs += msgs;
        totals.bytes += bytes;
        totals.child_signals += r.signals;
        totals.faults += link_faults;
        totals.lines.push(format!(
            "  {name}: {msgs} messages ({} out, {} back), {:.1} MiB, child signals {}, \
             raw split frames {}, child timeouts {}, BufferTooSmall {}+{}, \
             SendIncomplete {}, fillers {}+{}, EAGAIN/ETIMEDOUT {}+{}",
            link.tx.seq,
            link.rx.seq,
            bytes as f64 / MIB as f64,
            r.signals,
            r.raw_frames,
            r.timeouts,
            link.rx.too_small,
            r.too_small,
            link.tx.incomplete,
            link.tx.fillers,
            link.rx.fillers,
            link.tx.pauses,
            link.rx.pauses,
        ));
    }
    totals
}

/// The parent's own counts: descriptors before, at the end of the loop and
/// after; resident memory at the end; signals it received and sent.
struct Parent {
    fds_at_start: usize,
    fds_end: usize,
    fds_after: usize,
    rss_end: u64,
    signals: usize,
    storm_sent: usize,
}

/// Prints the summary, then checks the totals and that the parent's
/// descriptors and memory stayed flat.
fn report_and_check(settings: &Settings, run: &Run, totals: &Totals, parent: &Parent) {
    let Settings { target, seed, .. } = *settings;
    let (fds_warm, rss_warm, warm_at) = run.warm;
    let Parent {
        fds_at_start,
        fds_end,
        fds_after,
        rss_end,
        signals,
        storm_sent,
    } = *parent;
    eprintln!(
        "soak: {} messages, {:.1} MiB, {:.1} s, signals {} (parent {signals}, \
         children {}), faults injected {}, seed {seed}\n{}\n  \
         parent: {} loop turns, {} sleeps, {storm_sent} signals sent; \
         fds {fds_warm} after warm-up ({warm_at:?}), {fds_end} at the end, \
         {fds_at_start} before, {fds_after} after; VmRSS {rss_warm} KiB -> {rss_end} KiB",
        totals.msgs,
        totals.bytes as f64 / MIB as f64,
        run.duration.as_secs_f64(),
        signals as u64 + totals.child_signals,
        totals.child_signals,
        totals.faults,
        totals.lines.join("\n"),
        run.iterations,
        run.sleeps,
    );
    assert!(
        totals.msgs >= target,
        "{} messages, fewer than {target}",
        totals.msgs
    );
    assert!(signals >= 1000, "only {signals} signals reached the parent");
    assert!(
        totals.child_signals >= 1000,
        "only {} signals reached the children",
        totals.child_signals
    );
    assert_eq!(
        fds_end, fds_warm,
        "descriptors after warm-up and at the end"
    );
    assert_eq!(
        fds_after, fds_at_start,
        "descriptors before and after the soak"
    );
    assert!(
        rss_end < rss_warm + 32 * 1024,
        "resident memory grew from {rss_warm} KiB to {rss_end} KiB"
    );
}

#[test]
fn soak() {
    let _g = lock();
    let settings = Settings::from_env();
    let fds_at_start = count_fds();
    count_signals(libc::SIGALRM);
    let tape = Tape::new(settings.seed);
    let mut rng = Rng::new(settings.seed);
    let signals_at_start = delivered();
    let storm = Storm::at_this_thread(
        libc::SIGALRM,
        Duration::from_micros(200),
        Duration::from_secs(settings.seconds * 4 + 600),
    );
    let unix_path = paths::TempPath::new("soak");
    let (mut conns, mut links) = start_links(&tape, &settings, &unix_path);
    let run = exchange(&mut conns, &mut links, &tape, &mut rng, &settings);
    let fds_end = count_fds();
    let rss_end = vm_rss_kib();
    let signals = delivered() - signals_at_start;
    let storm_sent = storm.stop();
    let totals = check_links(&mut links, settings.seed);
    drop(conns);
    drop(links);
    drop(unix_path);
    let parent = Parent {
        fds_at_start,
        fds_end,
        fds_after: count_fds(),
        rss_end,
        signals,
        storm_sent,
    };
    report_and_check(&settings, &run, &totals, &parent);
}
