//! Fault injection shared by the reliability tests: signal storms without
//! `SA_RESTART`, children parked until they are killed, a pipe to say "I am
//! at the point", and numbered messages whose loss, repetition or
//! corruption is noticed.
//!
//! Included with `#[path = "common/faults.rs"] mod faults;`; each test binary
//! uses a part of it.
#![allow(dead_code)]

use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipcwire::sys::{self, Errno, OwnedFd, PollFd, PollFlags};

pub const MIB: usize = 1 << 20;

/// How long a test waits for a peer before calling it a hang.
pub const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Signals.

/// Signals the counting handler has run for, in this process.
pub static DELIVERED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    DELIVERED.fetch_add(1, Ordering::Relaxed);
}

/// The current number of signals delivered to this process.
pub fn delivered() -> usize {
    DELIVERED.load(Ordering::Relaxed)
}

/// Installs a handler for `sig` that only counts, with no flags: without
/// `SA_RESTART` every slow system call it interrupts fails with `EINTR`,
/// which ipcwire must absorb.
pub fn count_signals(sig: libc::c_int) {
    // SAFETY: a zeroed sigaction is valid (no flags, empty mask, after
    // sigemptyset); the handler only touches an atomic, which is
    // async-signal-safe.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        act.sa_flags = 0;
        libc::sigemptyset(&mut act.sa_mask);
        assert_eq!(libc::sigaction(sig, &act, ptr::null_mut()), 0, "sigaction");
        let mut now: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(sig, ptr::null(), &mut now), 0);
        assert_eq!(now.sa_flags & libc::SA_RESTART, 0, "SA_RESTART must be off");
    }
}

/// A thread to send signals to (musl's `pthread_t` is a pointer, which is
/// not `Send`).
struct Thread(libc::pthread_t);

// SAFETY: a pthread_t is only an id here, passed back to pthread_kill.
unsafe impl Send for Thread {}

impl Thread {
    /// `pthread_kill`: whether the signal was sent.
    fn kill(&self, sig: libc::c_int) -> bool {
        // SAFETY: the thread outlives every call: `Storm` is created and
        // dropped on it, and dropping joins the thread that calls this.
        unsafe { libc::pthread_kill(self.0, sig) == 0 }
    }
}

/// A thread that sends `sig` to one thread (the one that started it) every
/// `interval`, for at most `limit`: a process-directed signal (`kill`,
/// `setitimer`) could land on one of the harness's idle threads instead.
pub struct Storm {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl Storm {
    pub fn at_this_thread(sig: libc::c_int, interval: Duration, limit: Duration) -> Storm {
        // SAFETY: pthread_self cannot fail.
        let target = Thread(unsafe { libc::pthread_self() });
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let end = Instant::now() + limit;
            let mut sent = 0;
            while !flag.load(Ordering::Relaxed) && Instant::now() < end {
                if target.kill(sig) {
                    sent += 1;
                }
                std::thread::sleep(interval);
            }
            sent
        });
        Storm {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the storm and returns how many signals were sent.
    pub fn stop(mut self) -> usize {
        self.halt()
    }

    fn halt(&mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("storm thread"))
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        self.halt();
    }
}

/// `setitimer(ITIMER_REAL)`: `SIGALRM` every `interval` to this process.
/// For forked children, which have a single thread; an interval of zero
/// stops it. Timers are not inherited across `fork`.
pub fn itimer(interval: Duration) {
    let tv = libc::timeval {
        tv_sec: interval.as_secs() as _,
        tv_usec: interval.subsec_micros() as _,
    };
    let timer = libc::itimerval {
        it_interval: tv,
        it_value: tv,
    };
    // SAFETY: `timer` is a valid itimerval; the old value is not wanted.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, ptr::null_mut()) };
}

/// `alarm`: in a forked child, ends it with `SIGALRM` (its default action)
/// after `limit` (whole seconds, at least one), so that a call which would
/// block forever fails the test as `Signaled(SIGALRM)` instead of hanging
/// it. For children only: the harness's process must keep its default.
pub fn die_after(limit: Duration) {
    let seconds = limit.as_secs().clamp(1, libc::c_uint::MAX.into());
    // SAFETY: alarm only arms this process's timer.
    unsafe { libc::alarm(seconds as libc::c_uint) };
}

/// This thread's signal mask.
pub fn signal_mask() -> libc::sigset_t {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: a null new set only reads the mask into `old`.
    unsafe {
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, ptr::null(), old.as_mut_ptr()),
            0
        );
        old.assume_init()
    }
}

/// Blocks (`block = true`) or unblocks `sig` for this thread.
pub fn set_blocked(sig: libc::c_int, block: bool) {
    // SAFETY: the set is initialised by sigemptyset before use.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), sig);
        let how = if block {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        assert_eq!(libc::pthread_sigmask(how, set.as_ptr(), ptr::null_mut()), 0);
    }
}

/// The signals (1 to 64) in `set`.
pub fn members(set: &libc::sigset_t) -> Vec<libc::c_int> {
    // SAFETY: `set` is an initialised signal set.
    (1..=64)
        .filter(|&sig| unsafe { libc::sigismember(set, sig) } == 1)
        .collect()
}

/// The signals pending for this thread or process.
pub fn pending() -> Vec<libc::c_int> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the set it is given.
    unsafe {
        assert_eq!(libc::sigpending(set.as_mut_ptr()), 0);
        members(set.assume_init_ref())
    }
}

/// Whether `sig`'s action is the default one.
pub fn is_default_action(sig: libc::c_int) -> bool {
    // SAFETY: a null new action only reads the current one.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(sig, ptr::null(), &mut now), 0);
        now.sa_sigaction == libc::SIG_DFL
    }
}

/// Takes a pending `sig` (which must be blocked) without waiting; whether
/// one was there.
pub fn take_pending(sig: libc::c_int) -> bool {
    // SAFETY: the set is initialised; the zero timeout never waits.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), sig);
        let now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(set.as_ptr(), ptr::null_mut(), &now) == sig
    }
}

// ---------------------------------------------------------------------------
// Children and sockets.

/// The unread bytes in the pipe or socket `fd` (`FIONREAD`).
pub fn queued(fd: sys::BorrowedFd<'_>) -> usize {
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut queued) };
    assert_eq!(ret, 0, "FIONREAD");
    queued as usize
}

/// Waits until the socket `fd` holds at least `n` unread bytes
/// (`FIONREAD`), so a receive is sure to find them all; `false` after
/// `limit`.
pub fn await_queued(fd: sys::BorrowedFd<'_>, n: usize, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        if queued(fd) >= n {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Connects non-blocking clients to the Unix listener at `addr` until its
/// backlog is full (the next connect would get `EAGAIN`). While they are
/// held and nobody accepts, a blocking connect there sleeps in the kernel.
pub fn fill_backlog(addr: &ipcwire::Address) -> Vec<OwnedFd> {
    let sockaddr = sys::SockAddr::encode(addr).expect("sockaddr");
    let mut queued = Vec::new();
    loop {
        let fd = sys::socket(sockaddr.family()).expect("socket");
        sys::set_nonblocking(fd.as_fd(), true).expect("nonblocking");
        match sys::connect(fd.as_fd(), &sockaddr) {
            Ok(()) => queued.push(fd),
            Err(Errno::AGAIN) => return queued,
            Err(e) => panic!("filling the backlog: {e}"),
        }
        assert!(queued.len() <= 4096, "the backlog never filled");
    }
}

/// Sleeps until killed: `poll` on nothing, forever (a signal's `EINTR` is
/// retried inside `sys::poll`).
pub fn park() -> ! {
    loop {
        let _ = sys::poll(&mut [], None);
    }
}

/// A one-way pipe for a child to say it has reached a point.
pub struct Rendezvous {
    read: Option<OwnedFd>,
    write: Option<OwnedFd>,
}

impl Rendezvous {
    pub fn new() -> Rendezvous {
        let (r, w) = sys::pipe().expect("pipe");
        Rendezvous {
            read: Some(r),
            write: Some(w),
        }
    }

    /// In the child: says "here" (one byte).
    pub fn arrive(&self) {
        let w = self.write.as_ref().expect("write end");
        let _ = sys::write(w.as_fd(), b"!");
    }

    /// In the child: sends a number to the parent.
    pub fn report(&self, value: u64) {
        let w = self.write.as_ref().expect("write end");
        let _ = sys::write(w.as_fd(), &value.to_le_bytes());
    }

    /// In the parent, after the fork: closes the write end, so the read end
    /// sees end of stream once the child is gone.
    pub fn parent_side(&mut self) {
        self.write = None;
    }

    /// In the parent: whether the child arrived within `timeout` (false if
    /// it died first or took too long).
    pub fn await_arrival(&self, timeout: Duration) -> bool {
        let mut byte = [0];
        self.read_exact(&mut byte, timeout) && byte == *b"!"
    }

    /// In the parent: the number the child reported.
    pub fn await_report(&self, timeout: Duration) -> Option<u64> {
        let mut bytes = [0; 8];
        self.read_exact(&mut bytes, timeout)
            .then(|| u64::from_le_bytes(bytes))
    }

    fn read_exact(&self, buf: &mut [u8], timeout: Duration) -> bool {
        let r = self.read.as_ref().expect("read end");
        let end = Instant::now() + timeout;
        let mut got = 0;
        while got < buf.len() {
            let left = end.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(r.as_fd(), PollFlags::IN)];
            if sys::poll(&mut fds, Some(left)) != Ok(1) {
                return false;
            }
            match sys::read(r.as_fd(), &mut buf[got..]) {
                Ok(0) | Err(_) => return false,
                Ok(n) => got += n,
            }
        }
        true
    }
}

/// In a child: writes a line straight to descriptor 2, since the harness
/// captures `eprintln!` inside the test thread, whose copy dies with the child.
pub fn complain(what: &str) {
    use std::os::fd::AsFd;
    let line = format!("child {}: {what}\n", sys::getpid());
    let _ = write_all(std::io::stderr().as_fd(), line.as_bytes());
}

/// Writes all of `bytes` to `fd` with raw `write`s, whatever the pieces the
/// kernel takes.
pub fn write_all(fd: sys::BorrowedFd<'_>, bytes: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < bytes.len() {
        done += sys::write(fd, &bytes[done..])?;
    }
    Ok(())
}

/// Header and payload of a frame, as ipcwire and Python put it on the wire.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = ipcwire::frame::Header::new(msg.len() as u64)
        .as_bytes()
        .to_vec();
    out.extend_from_slice(msg);
    out
}

// ---------------------------------------------------------------------------
// Messages.

/// xorshift64*: a small deterministic generator.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Never zero: xorshift stays at zero forever.
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    /// True once in `n` times on average.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The message numbered `seq` with `len` bytes: `seq` little-endian (cut
/// short if `len < 8`), then bytes generated from `seq`. Lost, repeated,
/// reordered or corrupted messages all differ from what is expected.
pub fn numbered(seq: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    out.extend_from_slice(&seq.to_le_bytes());
    let mut rng = Rng::new(seq.wrapping_mul(0x1000_0000_01b3) ^ len as u64);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Checks a received message against `numbered(seq, len)`, without
/// printing megabytes when it differs.
pub fn check_numbered(got: &[u8], seq: u64, len: usize) -> Result<(), String> {
    if got.len() != len {
        return Err(format!(
            "message {seq}: {} bytes instead of {len}",
            got.len()
        ));
    }
    let want = numbered(seq, len);
    match got.iter().zip(&want).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(format!("message {seq} of {len} bytes differs at byte {i}")),
    }
}
