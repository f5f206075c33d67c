//! The scenarios: real work with ipcwire, each call of a public function
//! bracketed by marker writes to stderr when run under strace by
//! `syscalls_match_the_inventory`.
//!
//! Each scenario declares, in [`SCENARIOS`], every inventory function it
//! and the children it forks call. A bracket naming another function
//! fails at once, and the strace checker fails when the functions
//! bracketed in a scenario are not exactly those declared: so the
//! declarations are neither looser nor tighter than what runs.

use std::ffi::CString;
use std::num::NonZeroU16;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ipcwire::seccomp::{Action, Filter};
use ipcwire::sys::{self, Ends, Errno, ExitStatus, FromRawFd, IntoRawFd, Signal, SockAddr};
use ipcwire::{fork_with_pipe, pipe, pipe_with_capacity, Access, Client, Connection, Direction};
use ipcwire::{Error, Listener, ReceivedFds};

/// A piece of real work and the inventory functions it calls, in its own
/// process and in every child it forks.
pub struct Scenario {
    pub name: &'static str,
    pub functions: &'static [&'static str],
    pub run: fn(),
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "batches_and_borrowed_receives",
        functions: &[
            "ipcwire::pipe",
            "Connection::send_bytes_batch",
            "Connection::recv_bytes_borrowed",
            "Connection::recv_buffered",
            "drop(Connection)",
        ],
        run: batches_and_borrowed_receives,
    },
    Scenario {
        name: "pipe_and_fork",
        functions: &[
            "ipcwire::pipe",
            "ipcwire::fork_with_pipe",
            "Connection::send_bytes",
            "Connection::recv_bytes_into",
            "drop(Connection)",
            "Child::wait",
        ],
        run: pipe_and_fork,
    },
    Scenario {
        name: "duplex_fork_both_ways",
        functions: &[
            "ipcwire::fork_with_pipe",
            "Connection::send_bytes",
            "Connection::recv_bytes",
            "Connection::send",
            "Connection::recv",
            "drop(Connection)",
            "Child::wait",
        ],
        run: duplex_fork_both_ways,
    },
    Scenario {
        name: "duplex_pipes_both_ways",
        functions: &[
            "ipcwire::duplex_pipes",
            "ipcwire::fork_with_pipe",
            "sys::pipe",
            "Connection::from_pipes",
            "Connection::send_bytes",
            "Connection::recv_bytes",
            "Connection::into_fds",
            "drop(Connection)",
            "drop(OwnedFd)",
            "Child::wait",
        ],
        run: duplex_pipes_both_ways,
    },
    Scenario {
        name: "sigpipe_guard_on_pipes",
        functions: &[
            "ipcwire::fork_with_pipe",
            "ipcwire::pipe",
            "sys::writev_nosignal",
            "Connection::send_bytes",
            "drop(Connection)",
            "Child::wait",
        ],
        run: sigpipe_guard_on_pipes,
    },
    Scenario {
        name: "socketpair_poll_and_peer_cred",
        functions: &[
            "ipcwire::pipe",
            "Connection::poll",
            "Connection::send_bytes",
            "Connection::recv_bytes_into",
            "Connection::peer_cred",
            "drop(Connection)",
        ],
        run: socketpair_poll_and_peer_cred,
    },
    Scenario {
        name: "pipe_capacity_and_from_fd",
        functions: &[
            "ipcwire::pipe_with_capacity",
            "Connection::pipe_size",
            "Connection::set_pipe_size",
            "sys::pipe",
            "Connection::from_fd",
            "drop(Connection)",
            "drop(OwnedFd)",
        ],
        run: pipe_capacity_and_from_fd,
    },
    Scenario {
        name: "unix_listener_and_client",
        functions: &[
            "sys::getpid",
            "Listener::bind",
            "ipcwire::fork_with_pipe",
            "Client::connect",
            "Listener::accept",
            "Connection::send_bytes",
            "Connection::recv_bytes",
            "drop(Connection)",
            "Child::wait",
            "drop(Listener)",
            "sys::lstat",
        ],
        run: || listener_and_client(Family::Unix),
    },
    Scenario {
        name: "tcp_listener_and_client",
        functions: &[
            "Listener::bind",
            "ipcwire::fork_with_pipe",
            "Client::connect",
            "Listener::accept",
            "Connection::send_bytes",
            "Connection::recv_bytes",
            "drop(Connection)",
            "Child::wait",
            "drop(Listener)",
        ],
        run: || listener_and_client(Family::Tcp),
    },
    Scenario {
        name: "passing_descriptors",
        functions: &[
            "ipcwire::pipe",
            "sys::pipe",
            "Connection::send_bytes_with_fds",
            "Connection::recv_bytes_with_fds",
            "Connection::recv_bytes_into_with_fds",
            "Connection::send_handle",
            "Connection::recv_handle",
            "Connection::send_fds",
            "Connection::recv_fds",
            "Connection::recv_bytes",
            "ReceivedFds::truncate",
            "ReceivedFds::clear",
            "sys::is_unix_socket",
            "sys::send_with_fds",
            "sys::recv_with_fds",
            "drop(ReceivedFds)",
            "drop(OwnedFd)",
            "drop(Connection)",
        ],
        run: passing_descriptors,
    },
    Scenario {
        name: "reaping_and_conversions",
        functions: &[
            "ipcwire::fork_with_pipe",
            "sys::close_other_fds",
            "Child::try_wait",
            "sys::try_wait_any",
            "sys::poll",
            "sys::pipe",
            "sys::access_mode",
            "Connection::try_from",
            "Listener::bind",
            "ipcwire::pipe",
            "Connection::send_handle",
            "Connection::recv_handle",
            "Listener::from_fd",
            "drop(Listener)",
            "drop(Connection)",
            "drop(OwnedFd)",
        ],
        run: reaping_and_conversions,
    },
    Scenario {
        name: "timeouts_and_waits",
        functions: &[
            "ipcwire::pipe",
            "Connection::recv_bytes",
            "Connection::send_bytes",
            "ipcwire::wait",
            "Listener::bind",
            "Client::connect",
            "Listener::accept",
            "drop(Connection)",
            "drop(Listener)",
        ],
        run: timeouts_and_waits,
    },
    Scenario {
        name: "nonblocking_and_conversions",
        functions: &[
            "Direction::open",
            "Connection::set_nonblocking",
            "Connection::recv_bytes",
            "Connection::send_bytes",
            "Connection::send_bytes_with_fds",
            "OwnedFd::from(Connection)",
            "Connection::into_raw_fd",
            "drop(OwnedFd)",
            "drop(Connection)",
        ],
        run: nonblocking_and_conversions,
    },
    Scenario {
        name: "sys_io",
        functions: &[
            "sys::pipe",
            "sys::pipe_size",
            "sys::set_pipe_size",
            "sys::fstat_is_socket",
            "sys::fstat_id",
            "sys::sigpipe_is_ignored",
            "sys::write",
            "sys::writev",
            "sys::writev_nosigpipe",
            "sys::writev_nosignal",
            "sys::read",
            "sys::readv",
            "sys::set_nonblocking",
            "sys::close",
            "sys::getrandom",
            "sys::monotonic_now",
            "sys::socketpair",
            "sys::is_stream",
            "sys::peer_cred",
            "sys::getpid",
            "sys::send",
            "sys::send_vectored",
            "sys::send_nowait",
            "sys::recv_nowait",
            "sys::shutdown",
            "drop(OwnedFd)",
        ],
        run: sys_io,
    },
    Scenario {
        name: "sys_sockets",
        functions: &[
            "sys::socket",
            "sys::set_reuseaddr",
            "sys::bind",
            "sys::listen",
            "sys::getsockname",
            "sys::set_nonblocking",
            "sys::connect",
            "sys::finish_connect",
            "sys::socket_error",
            "sys::accept",
            "sys::getpeername",
            "sys::set_nodelay",
            "sys::nodelay",
            "sys::getpid",
            "sys::unlink",
            "drop(OwnedFd)",
        ],
        run: sys_sockets,
    },
    Scenario {
        name: "sys_processes",
        functions: &[
            "sys::pipe",
            "sys::fork",
            "sys::read",
            "sys::try_waitpid",
            "sys::kill",
            "sys::waitpid",
            "sys::exit",
            "drop(OwnedFd)",
        ],
        run: sys_processes,
    },
    Scenario {
        name: "processes_and_signals",
        functions: &[
            "ipcwire::fork_with_pipe",
            "Connection::send_bytes",
            "Connection::recv_bytes",
            "Child::kill",
            "Child::wait",
            "drop(Connection)",
        ],
        run: processes_and_signals,
    },
    Scenario {
        name: "confinement",
        functions: &[
            "ipcwire::fork_with_pipe",
            "sys::set_no_new_privs",
            "sys::set_seccomp_filter",
            "Filter::install",
            "sys::pipe",
            "Connection::send_bytes",
            "Connection::recv_bytes",
            "drop(Connection)",
            "Child::wait",
        ],
        run: confinement,
    },
];

/// Whether markers are written: under strace only. Anywhere else they
/// would be system calls that no ipcwire function made.
static MARKING: AtomicBool = AtomicBool::new(false);

/// The index in [`SCENARIOS`] of the one running.
static CURRENT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Runs `scenario`, marking its start and its brackets when `marking`.
pub fn run(scenario: &Scenario, marking: bool) {
    let index = SCENARIOS
        .iter()
        .position(|s| s.name == scenario.name)
        .expect("a scenario from SCENARIOS");
    MARKING.store(marking, Ordering::Relaxed);
    CURRENT.store(index, Ordering::Relaxed);
    mark(format_args!("scenario {}", scenario.name));
    (scenario.run)();
}

/// Writes a marker with one `write(2, ...)`, bypassing std's stderr lock so
/// that threads marking at once never wait on each other (a `futex`).
fn mark(text: std::fmt::Arguments<'_>) {
    if !MARKING.load(Ordering::Relaxed) {
        return;
    }
    let line = format!("@audit {text}\n");
    let stderr = std::io::stderr();
    let _ = ipcwire::sys::write(stderr.as_fd(), line.as_bytes());
}

/// Opens a bracket naming `functions` (space-separated, with an optional
/// `calls=N`), each of which the running scenario must declare.
fn begin(functions: &str) {
    let scenario = SCENARIOS
        .get(CURRENT.load(Ordering::Relaxed))
        .expect("brackets only inside a scenario");
    for function in functions.split_whitespace() {
        assert!(
            function.starts_with("calls=") || scenario.functions.contains(&function),
            "scenario {} calls {function}, which it does not declare",
            scenario.name
        );
    }
    mark(format_args!("begin {functions}"));
}

/// Runs `work` inside a bracket naming `functions` (see [`begin`]).
fn bracket<T>(functions: &str, work: impl FnOnce() -> T) -> T {
    begin(functions);
    let result = work();
    mark(format_args!("end"));
    result
}

/// The system calls a send of one small message on a pipe makes, `first`
/// on its connection or not, while `SIGPIPE` is ignored (as in every
/// program using Rust's std): one `pwritev2` with `RWF_NOSIGNAL` where the
/// kernel has it (Linux 6.18 on). Elsewhere the look-up of `SIGPIPE`'s
/// action and a `write`, after the connection's first `pwritev2`, which
/// the kernel refuses. Call it outside brackets: the first call probes.
fn pipe_send_calls(first: bool) -> usize {
    static NOSIGNAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let nosignal = *NOSIGNAL.get_or_init(crate::kernels::has_nosignal);
    match (nosignal, first) {
        (true, _) => 1,
        (false, true) => 3,
        (false, false) => 2,
    }
}

/// In a forked child about to return: what follows is `fork_with_pipe`
/// closing the child's end and leaving.
fn child_leaves() {
    begin("drop(Connection) ipcwire::fork_with_pipe");
}

/// Over a pipe and a socket pair: a batch longer than one vectored write
/// takes, a message too large to borrow from the read-ahead buffer, and
/// the rest drained from that buffer.
fn batches_and_borrowed_receives() {
    let msgs: Vec<Vec<u8>> = (0..600u32)
        .map(|i| vec![i as u8; if i == 300 { 10_000 } else { 16 }])
        .collect();
    for duplex in [false, true] {
        let (mut reader, mut writer) = bracket("ipcwire::pipe", || pipe(duplex)).expect("pipe");
        bracket("Connection::send_bytes_batch", || {
            writer.send_bytes_batch(&msgs)
        })
        .expect("batch");
        let mut got = 0;
        while got < msgs.len() {
            let msg = bracket("Connection::recv_bytes_borrowed", || {
                reader.recv_bytes_borrowed().map(<[u8]>::to_vec)
            });
            assert_eq!(msg.expect("borrowed"), msgs[got]);
            got += 1;
            while let Some(msg) = bracket("Connection::recv_buffered", || {
                reader.recv_buffered().map(<[u8]>::to_vec)
            }) {
                assert_eq!(msg, msgs[got]);
                got += 1;
            }
        }
        bracket("drop(Connection)", || drop((reader, writer)));
    }
}

fn pipe_and_fork() {
    let (reader, writer) = bracket("ipcwire::pipe", || pipe(false)).expect("pipe");
    bracket("drop(Connection)", || drop((reader, writer)));
    // SAFETY: single-threaded scenario; the harness's threads are idle.
    let (mut conn, child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::ToChild, |mut conn| {
            let mut buf = [0; 256];
            let mut got = 0;
            loop {
                match bracket("Connection::recv_bytes_into", || {
                    conn.recv_bytes_into(&mut buf)
                }) {
                    Ok(_) => got += 1,
                    Err(Error::Eof) => break,
                    Err(_) => return 1,
                }
            }
            child_leaves();
            i32::from(got != 20)
        })
    })
    .expect("fork");
    for i in 0..20 {
        let calls = pipe_send_calls(i == 0);
        bracket(&format!("calls={calls} Connection::send_bytes"), || {
            conn.send_bytes(&[i; 100])
        })
        .expect("send");
    }
    bracket("drop(Connection)", || drop(conn));
    let status = bracket("Child::wait", || child.wait()).expect("wait");
    assert!(status.success(), "{status:?}");
}

fn duplex_fork_both_ways() {
    // SAFETY: as above.
    let (mut conn, child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::Duplex, |mut conn| {
            while let Ok(msg) = bracket("Connection::recv_bytes", || conn.recv_bytes()) {
                if bracket("Connection::send_bytes", || conn.send_bytes(&msg)).is_err() {
                    return 1;
                }
            }
            child_leaves();
            0
        })
    })
    .expect("fork");
    for len in [0, 64, 256, 4096, 200_000] {
        let msg = vec![7; len];
        let calls = if len <= 4096 { "calls=1 " } else { "" };
        let send = format!("{calls}Connection::send_bytes");
        bracket(&send, || conn.send_bytes(&msg)).expect("send");
        let echo = bracket("Connection::recv_bytes", || conn.recv_bytes()).expect("recv");
        assert_eq!(echo.len(), len);
    }
    // Python objects: one pickle, one message, the same calls.
    let job = std::collections::BTreeMap::from([("job".to_owned(), 1)]);
    bracket("calls=1 Connection::send", || conn.send(&job)).expect("send");
    let echo = bracket("Connection::recv", || conn.recv()).expect("recv");
    assert_eq!(job, echo);
    bracket("drop(Connection)", || drop(conn));
    assert!(bracket("Child::wait", || child.wait())
        .expect("wait")
        .success());
}

/// Duplex connections over two pipes, one each way: from `duplex_pipes`,
/// from `fork_with_pipe` (each process closing the two ends it does not
/// use), and from pipe ends wrapped by `from_pipes`, which refuses ends
/// swapped by mistake and closes both; messages both ways on each, and
/// both descriptors given back by `into_fds`.
fn duplex_pipes_both_ways() {
    let (mut a, mut b) =
        bracket("ipcwire::duplex_pipes", ipcwire::duplex_pipes).expect("duplex_pipes");
    ping_pong(&mut a, &mut b);
    // Nothing read ahead, so nothing to close: both ends come back.
    let (read, write) = bracket("calls=0 Connection::into_fds", || a.into_fds());
    assert!(write.is_some(), "a two-pipe connection gives its write end");
    bracket("drop(OwnedFd)", || drop((read, write)));
    bracket("drop(Connection)", || drop(b));

    // SAFETY: single-threaded scenario; the harness's threads are idle.
    let (mut conn, child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::DuplexPipes, |mut conn| {
            while let Ok(msg) = bracket("Connection::recv_bytes", || conn.recv_bytes()) {
                if bracket("Connection::send_bytes", || conn.send_bytes(&msg)).is_err() {
                    return 1;
                }
            }
            child_leaves();
            0
        })
    })
    .expect("fork");
    for (i, len) in [0, 64, 256, 4096, 200_000].into_iter().enumerate() {
        let msg = vec![7; len];
        // One write of what the pipe holds (see `pipe_send_calls`).
        let calls = match len {
            ..=4096 => format!("calls={} ", pipe_send_calls(i == 0)),
            _ => String::new(),
        };
        let send = format!("{calls}Connection::send_bytes");
        bracket(&send, || conn.send_bytes(&msg)).expect("send");
        let echo = bracket("Connection::recv_bytes", || conn.recv_bytes()).expect("recv");
        assert_eq!(echo.len(), len);
    }
    bracket("drop(Connection)", || drop(conn));
    assert!(bracket("Child::wait", || child.wait())
        .expect("wait")
        .success());

    // Pipe ends made elsewhere: `fcntl(F_GETFL)` and `fstat` of each.
    let (a_reads, b_writes) = bracket("sys::pipe", sys::pipe).expect("pipe");
    let (b_reads, a_writes) = bracket("sys::pipe", sys::pipe).expect("pipe");
    let (r, w) = bracket("sys::pipe", sys::pipe).expect("pipe");
    // Swapped: the first check fails, and both are closed.
    let swapped = bracket("calls=3 Connection::from_pipes", || {
        Connection::from_pipes(w, r)
    });
    assert_eq!(swapped.err(), Some(Errno::BADF));
    let mut a = bracket("calls=4 Connection::from_pipes", || {
        Connection::from_pipes(a_reads, a_writes)
    })
    .expect("from_pipes");
    let mut b = bracket("calls=4 Connection::from_pipes", || {
        Connection::from_pipes(b_reads, b_writes)
    })
    .expect("from_pipes");
    ping_pong(&mut a, &mut b);
    let fds = bracket("calls=0 Connection::into_fds", || b.into_fds());
    bracket("drop(OwnedFd)", || drop(fds));
    bracket("drop(Connection)", || drop(a));
}

/// A small message from `a` to `b` and back, the first send of each: on a
/// pipe, a send is one write (see `pipe_send_calls`), a receive of what is
/// there one read.
fn ping_pong(a: &mut Connection, b: &mut Connection) {
    let send = format!("calls={} Connection::send_bytes", pipe_send_calls(true));
    bracket(&send, || a.send_bytes(b"ping")).expect("send");
    let ping = bracket("calls=1 Connection::recv_bytes", || b.recv_bytes()).expect("recv");
    bracket(&send, || b.send_bytes(&ping)).expect("send");
    let pong = bracket("calls=1 Connection::recv_bytes", || a.recv_bytes()).expect("recv");
    assert_eq!(pong, b"ping");
}

/// In a child whose SIGPIPE action is the default (as in a C or `no_std`
/// program), pipe sends hold SIGPIPE off, and a gone reader is `EPIPE`.
fn sigpipe_guard_on_pipes() {
    // SAFETY: as above.
    let (conn, child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::FromChild, sends_with_default_sigpipe)
    })
    .expect("fork");
    bracket("drop(Connection)", || drop(conn));
    assert_eq!(
        bracket("Child::wait", || child.wait()),
        Ok(ipcwire::ExitStatus::Exited(0))
    );
}

fn sends_with_default_sigpipe(_: Connection) -> i32 {
    // Setup that is not ipcwire's, outside any bracket (this closes the one
    // inherited from `fork_with_pipe`). Under seccomp its `rt_sigaction` is
    // allowed as one of `Connection::send_bytes`'s.
    mark(format_args!("end"));
    // SAFETY: restoring a default action is async-signal-safe.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let Ok((reader, mut writer)) = bracket("ipcwire::pipe", || pipe(false)) else {
        return 1;
    };
    // Where the kernel has RWF_NOSIGNAL (Linux 6.18 on), each send is one
    // `pwritev2` that raises no SIGPIPE, the last one EPIPE. Elsewhere the
    // first send's `pwritev2` is refused; it looks up the action and finds
    // the default: mask, write, mask. Later sends are guarded without
    // looking; after EPIPE the guard also looks for a handler to leave the
    // signal to, and takes the signal back. (The probe's byte is never read.)
    let probe = bracket("calls=1 sys::writev_nosignal", || {
        ipcwire::sys::writev_nosignal(writer.as_fd(), &[ipcwire::sys::IoSlice::new(b"?")])
    });
    let [first, second, gone] = if probe == Ok(1) { [1, 1, 1] } else { [5, 3, 5] };
    let first = bracket(&format!("calls={first} Connection::send_bytes"), || {
        writer.send_bytes(b"a")
    });
    let second = bracket(&format!("calls={second} Connection::send_bytes"), || {
        writer.send_bytes(b"b")
    });
    bracket("drop(Connection)", || drop(reader));
    let gone = bracket(&format!("calls={gone} Connection::send_bytes"), || {
        writer.send_bytes(b"c")
    });
    child_leaves();
    match (first, second, gone) {
        (Ok(()), Ok(()), Err(Error::Io(ipcwire::sys::Errno::PIPE))) => 0,
        _ => 1,
    }
}

fn socketpair_poll_and_peer_cred() {
    let (mut a, mut b) = bracket("ipcwire::pipe", || pipe(true)).expect("socketpair");
    bracket("calls=1 Connection::poll", || a.poll(Some(Duration::ZERO))).expect("poll");
    bracket("calls=1 Connection::send_bytes", || b.send_bytes(b"ping")).expect("send");
    bracket("calls=1 Connection::poll", || a.poll(None)).expect("poll");
    let mut buf = [0; 8];
    bracket("calls=1 Connection::recv_bytes_into", || {
        a.recv_bytes_into(&mut buf)
    })
    .expect("recv");
    bracket("calls=1 Connection::peer_cred", || a.peer_cred()).expect("peer_cred");
    bracket("drop(Connection)", || drop((a, b)));
}

fn pipe_capacity_and_from_fd() {
    let (r, w) = bracket("ipcwire::pipe_with_capacity", || {
        pipe_with_capacity(1 << 20)
    })
    .expect("pipe");
    bracket("calls=1 Connection::pipe_size", || w.pipe_size()).expect("size");
    bracket("calls=1 Connection::set_pipe_size", || {
        r.set_pipe_size(1 << 16)
    })
    .expect("size");
    bracket("drop(Connection)", || drop((r, w)));
    let (fd, other) = bracket("sys::pipe", ipcwire::sys::pipe).expect("pipe");
    let conn = bracket("Connection::from_fd", || {
        Connection::from_fd(fd, Access::Read)
    })
    .expect("from_fd");
    bracket("drop(Connection) drop(OwnedFd)", || drop((conn, other)));
}

#[derive(Copy, Clone, Debug)]
enum Family {
    Unix,
    Tcp,
}

/// A listener and a client in a forked child (a thread would need calls
/// that are not ipcwire's, which a confined scenario may not make).
fn listener_and_client(family: Family) {
    let address = match family {
        Family::Unix => {
            let pid = bracket("sys::getpid", sys::getpid);
            format!("unix:/tmp/ipcwire-audit-{}.sock", pid.raw())
        }
        Family::Tcp => "tcp:127.0.0.1:0".to_owned(),
    };
    let mut listener = bracket("Listener::bind", || {
        Listener::bind(&address.parse().expect("address")).map(|l| l.authkey(b"audit"))
    })
    .expect("bind");
    let addr = *listener.local_addr();
    // SAFETY: single-threaded scenario; the harness's threads are idle.
    let (conn, client) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::ToChild, |_| {
            let connected = bracket("Client::connect", || {
                Client::new().authkey(b"audit").connect(&addr)
            });
            let Ok(mut conn) = connected else {
                return 1;
            };
            let sent = bracket("calls=1 Connection::send_bytes", || {
                conn.send_bytes(b"hello")
            });
            let reply = bracket("Connection::recv_bytes", || conn.recv_bytes());
            bracket("drop(Connection)", || drop(conn));
            child_leaves();
            match (sent, reply) {
                (Ok(()), Ok(reply)) => i32::from(reply != b"hello"),
                _ => 1,
            }
        })
    })
    .expect("fork");
    bracket("drop(Connection)", || drop(conn));
    let (mut conn, _) = bracket("Listener::accept", || listener.accept()).expect("accept");
    let msg = bracket("Connection::recv_bytes", || conn.recv_bytes()).expect("recv");
    bracket("calls=1 Connection::send_bytes", || conn.send_bytes(&msg)).expect("send");
    let status = bracket("Child::wait", || client.wait()).expect("wait");
    assert!(status.success(), "{family:?} client: {status}");
    bracket("drop(Connection)", || drop(conn));
    bracket("drop(Listener)", || drop(listener));
    if let Some(path) = address.strip_prefix("unix:") {
        let path = CString::new(path).expect("a path without NUL");
        let gone = bracket("sys::lstat", || sys::lstat(&path));
        assert_eq!(gone, Err(Errno::NOENT), "drop(Listener) removes {path:?}");
    }
}

fn passing_descriptors() {
    let (mut a, mut b) = bracket("ipcwire::pipe", || pipe(true)).expect("socketpair");
    let (r, w) = bracket("sys::pipe", sys::pipe).expect("pipe");
    let both = [r.as_fd(), w.as_fd()];
    bracket("calls=1 Connection::send_bytes_with_fds", || {
        a.send_bytes_with_fds(b"two descriptors", &both)
    })
    .expect("send");
    let mut fds = ReceivedFds::new();
    // One read brings the header, the payload and the descriptors.
    bracket("calls=1 Connection::recv_bytes_with_fds", || {
        b.recv_bytes_with_fds(&mut fds)
    })
    .expect("recv");
    bracket("Connection::send_bytes_with_fds", || {
        a.send_bytes_with_fds(&[5; 1000], &both[..1])
    })
    .expect("send");
    let mut buf = [0; 1000];
    bracket("Connection::recv_bytes_into_with_fds", || {
        b.recv_bytes_into_with_fds(&mut buf, &mut fds)
    })
    .expect("recv");
    bracket("calls=1 Connection::send_handle", || {
        a.send_handle(w.as_fd())
    })
    .expect("send");
    let handle = bracket("calls=1 Connection::recv_handle", || b.recv_handle()).expect("recv");
    bracket("calls=1 Connection::send_fds", || a.send_fds(&both)).expect("send");
    bracket("Connection::recv_fds", || b.recv_fds(&mut fds)).expect("recv");
    bracket("calls=1 ReceivedFds::truncate", || fds.truncate(1));
    bracket("calls=1 ReceivedFds::clear", || fds.clear());
    let unix = bracket("calls=1 sys::is_unix_socket", || {
        sys::is_unix_socket(a.as_fd())
    });
    assert_eq!(unix, Ok(true));
    bracket("calls=1 sys::send_with_fds", || {
        sys::send_with_fds(a.as_fd(), &[sys::IoSlice::new(b"x")], &both)
    })
    .expect("send");
    let got = bracket("calls=1 sys::recv_with_fds", || {
        sys::recv_with_fds(b.as_fd(), &mut [sys::IoSliceMut::new(&mut [0])], &mut fds)
    })
    .expect("recv");
    assert_eq!((got.len, got.fds), (1, 2));
    // A plain receive of a message with descriptors: it closes them.
    bracket("Connection::send_bytes_with_fds", || {
        a.send_bytes_with_fds(b"discarded", &both)
    })
    .expect("send");
    bracket("Connection::recv_bytes", || b.recv_bytes()).expect("recv");
    bracket("drop(ReceivedFds) drop(OwnedFd) drop(Connection)", || {
        drop((fds, handle, r, w, a, b))
    });
}

/// A worker that closes what it does not use, reaped without blocking; a
/// pipe end wrapped with its access read from the descriptor.
fn reaping_and_conversions() {
    // SAFETY: as above; the child uses nothing it closes.
    let (conn, mut child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::Duplex, |conn| {
            let closed = bracket("sys::close_other_fds", || {
                ipcwire::sys::close_other_fds(&[conn.as_fd()])
            });
            // Alive until the parent's end closes, so that `try_wait` finds
            // it running and `try_wait_any` is what reaps it.
            let mut end = [sys::PollFd::new(conn.as_fd(), sys::PollFlags::IN)];
            let waited = bracket("sys::poll", || sys::poll(&mut end, None));
            child_leaves();
            i32::from(closed.is_err() || waited.is_err())
        })
    })
    .expect("fork");
    let pid = child.pid();
    let running = bracket("Child::try_wait", || child.try_wait()).expect("try_wait");
    assert_eq!(running, None);
    bracket("drop(Connection)", || drop(conn));
    let reaped = loop {
        // A pause while the child exits, always at least one so that the
        // scenario's calls do not depend on timing: `poll` on no descriptors.
        bracket("sys::poll", || {
            sys::poll(&mut [], Some(Duration::from_millis(1)))
        })
        .expect("poll");
        let any = bracket("sys::try_wait_any", sys::try_wait_any).expect("reap");
        if let Some(reaped) = any {
            break reaped;
        }
    };
    assert_eq!(reaped, (pid, ipcwire::ExitStatus::Exited(0)));

    let (r, w) = bracket("sys::pipe", ipcwire::sys::pipe).expect("pipe");
    let mode = bracket("sys::access_mode", || ipcwire::sys::access_mode(w.as_fd()));
    assert_eq!(mode, Ok((false, true)));
    let reader = bracket("Connection::try_from", || Connection::try_from(r)).expect("wrap");
    assert_eq!(reader.access(), Access::Read);
    bracket("drop(Connection) drop(OwnedFd)", || drop((reader, w)));

    // A listening socket handed over, as a supervisor sends one.
    let bound = bracket("Listener::bind", || {
        Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap())
    })
    .expect("bind");
    let (mut a, mut b) = bracket("ipcwire::pipe", || pipe(true)).expect("pipe");
    bracket("Connection::send_handle", || a.send_handle(&bound)).expect("send");
    let fd = bracket("Connection::recv_handle", || b.recv_handle()).expect("recv");
    let handed = bracket("Listener::from_fd", || Listener::from_fd(fd)).expect("wrap");
    assert_eq!(handed.local_addr(), bound.local_addr());
    bracket("drop(Listener) drop(Connection)", || {
        drop((handed, bound, a, b))
    });
}

/// Waits bounded by time: a receive timeout that runs out and one that
/// does not, `wait` over several connections, a connect with a timeout.
fn timeouts_and_waits() {
    let (mut a, mut b) = bracket("ipcwire::pipe", || pipe(true)).expect("socketpair");
    let (r, mut w) = bracket("ipcwire::pipe", || pipe(false)).expect("pipe");
    let brief = Some(Duration::from_millis(1));
    b.set_recv_timeout(brief);
    let late = bracket("Connection::recv_bytes", || b.recv_bytes());
    assert_eq!(late, Err(Error::Io(Errno::TIMEDOUT)));
    let ready = bracket("ipcwire::wait", || ipcwire::wait([&b, &r], brief)).expect("wait");
    assert_eq!(ready, [] as [usize; 0]);
    let calls = pipe_send_calls(true);
    bracket(&format!("calls={calls} Connection::send_bytes"), || {
        w.send_bytes(b"pipe")
    })
    .expect("send");
    let ready = bracket("ipcwire::wait", || ipcwire::wait([&b, &r], None)).expect("wait");
    assert_eq!(ready, [1]);
    bracket("calls=1 Connection::send_bytes", || {
        a.send_bytes(b"in time")
    })
    .expect("send");
    let ready = bracket("ipcwire::wait", || {
        ipcwire::wait([&b, &r], Some(Duration::ZERO))
    })
    .expect("wait");
    assert_eq!(ready, [0, 1]);
    let msg = bracket("Connection::recv_bytes", || b.recv_bytes()).expect("recv");
    assert_eq!(msg, b"in time");
    bracket("drop(Connection)", || drop((a, b, r, w)));

    // A connect with a time limit: non-blocking, then `poll` for the end.
    let mut listener = bracket("Listener::bind", || {
        Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap())
    })
    .expect("bind");
    let addr = *listener.local_addr();
    let mut client = bracket("Client::connect", || {
        Client::new().timeout(Duration::from_secs(5)).connect(&addr)
    })
    .expect("connect");
    let (mut server, _) = bracket("Listener::accept", || listener.accept()).expect("accept");
    bracket("Connection::send_bytes", || client.send_bytes(b"hi")).expect("send");
    server.set_recv_timeout(Some(Duration::from_secs(5)));
    let msg = bracket("Connection::recv_bytes", || server.recv_bytes()).expect("recv");
    assert_eq!(msg, b"hi");
    bracket("drop(Connection)", || drop((client, server)));
    bracket("drop(Listener)", || drop(listener));
}

/// A connection in non-blocking mode, and connections given up for their
/// descriptors, one with a descriptor read ahead that must be closed.
fn nonblocking_and_conversions() {
    let (mut a, mut b) = bracket("Direction::open", || Direction::Duplex.open()).expect("open");
    let (w, r) = bracket("Direction::open", || Direction::ToChild.open()).expect("open");
    assert_eq!((w.access(), r.access()), (Access::Write, Access::Read));
    bracket("calls=2 Connection::set_nonblocking", || {
        a.set_nonblocking(true)
    })
    .expect("nonblocking");
    let nothing = bracket("Connection::recv_bytes", || a.recv_bytes());
    assert_eq!(nothing, Err(Error::Io(Errno::AGAIN)));
    // Two messages in a row, the second with a descriptor: the read that
    // takes the first takes the second and its descriptor ahead.
    bracket("calls=1 Connection::send_bytes", || b.send_bytes(b"first")).expect("send");
    bracket("calls=1 Connection::send_bytes_with_fds", || {
        b.send_bytes_with_fds(b"second", &[r.as_fd()])
    })
    .expect("send");
    let first = bracket("Connection::recv_bytes", || a.recv_bytes()).expect("recv");
    assert_eq!(first, b"first");
    // Giving up the connection closes the descriptor read ahead.
    let fd = bracket("OwnedFd::from(Connection)", || sys::OwnedFd::from(a));
    let raw = bracket("Connection::into_raw_fd", || b.into_raw_fd());
    // SAFETY: `into_raw_fd` gave up `raw`, and nothing else owns it.
    let other = unsafe { sys::OwnedFd::from_raw_fd(raw) };
    bracket("drop(OwnedFd)", || drop((fd, other)));
    bracket("drop(Connection)", || drop((w, r)));
}

/// The `sys` wrappers that move bytes, on a pipe and on a socket pair.
fn sys_io() {
    let (r, w) = bracket("sys::pipe", sys::pipe).expect("pipe");
    let size = bracket("calls=1 sys::pipe_size", || sys::pipe_size(w.as_fd())).expect("size");
    let granted = bracket("calls=1 sys::set_pipe_size", || {
        sys::set_pipe_size(r.as_fd(), size * 2)
    })
    .expect("size");
    assert!(granted >= size * 2, "{granted} < {}", size * 2);
    let socket = bracket("calls=1 sys::fstat_is_socket", || {
        sys::fstat_is_socket(r.as_fd())
    });
    assert_eq!(socket, Ok(false));
    let ids =
        [r.as_fd(), w.as_fd()].map(|fd| bracket("calls=1 sys::fstat_id", || sys::fstat_id(fd)));
    assert_eq!(ids[0], ids[1], "both ends of one pipe are one file");
    // Rust's std ignores SIGPIPE before `main`.
    let ignored = bracket("calls=1 sys::sigpipe_is_ignored", sys::sigpipe_is_ignored);
    assert_eq!(ignored, Ok(true));
    let parts = [sys::IoSlice::new(b"cd"), sys::IoSlice::new(b"ef")];
    let sent = [
        bracket("calls=1 sys::write", || sys::write(w.as_fd(), b"ab")),
        bracket("calls=1 sys::writev", || sys::writev(w.as_fd(), &parts)),
        bracket("calls=3 sys::writev_nosigpipe", || {
            sys::writev_nosigpipe(w.as_fd(), &parts[..1])
        }),
    ];
    assert_eq!(sent, [Ok(2), Ok(4), Ok(2)]);
    let mut buf = [0; 3];
    let got = bracket("calls=1 sys::read", || sys::read(r.as_fd(), &mut buf));
    assert_eq!((got, &buf), (Ok(3), b"abc"));
    let (mut x, mut y) = ([0; 2], [0; 8]);
    let mut into = [sys::IoSliceMut::new(&mut x), sys::IoSliceMut::new(&mut y)];
    let got = bracket("calls=1 sys::readv", || sys::readv(r.as_fd(), &mut into));
    assert_eq!((got, &x, &y[..3]), (Ok(5), b"de", &b"fcd"[..]));
    bracket("calls=2 sys::set_nonblocking", || {
        sys::set_nonblocking(r.as_fd(), true)
    })
    .expect("nonblocking");
    let empty = bracket("calls=1 sys::read", || sys::read(r.as_fd(), &mut buf));
    assert_eq!(empty, Err(Errno::AGAIN));
    bracket("calls=1 sys::close", || sys::close(w)).expect("close");
    let end = bracket("calls=1 sys::read", || sys::read(r.as_fd(), &mut buf));
    assert_eq!(end, Ok(0));
    // A pipe whose reader is gone: EPIPE, and the SIGPIPE taken back.
    let (gone, w) = bracket("sys::pipe", sys::pipe).expect("pipe");
    bracket("drop(OwnedFd)", || drop((r, gone)));
    let refused = bracket("calls=5 sys::writev_nosigpipe", || {
        sys::writev_nosigpipe(w.as_fd(), &parts)
    });
    assert_eq!(refused, Err(Errno::PIPE));
    // EPIPE with no signal at all where the kernel has RWF_NOSIGNAL (Linux
    // 6.18 on); older kernels refuse the flag, writing nothing.
    let refused = bracket("calls=1 sys::writev_nosignal", || {
        sys::writev_nosignal(w.as_fd(), &parts)
    });
    assert!(
        matches!(refused, Err(Errno::PIPE | Errno::OPNOTSUPP | Errno::NOSYS)),
        "{refused:?}"
    );
    bracket("drop(OwnedFd)", || drop(w));

    let mut key = [0; 16];
    bracket("sys::getrandom", || sys::getrandom(&mut key)).expect("getrandom");
    let start = bracket("sys::monotonic_now", sys::monotonic_now).expect("clock");
    let now = bracket("sys::monotonic_now", sys::monotonic_now).expect("clock");
    assert!(now >= start);

    let (a, b) = bracket("calls=1 sys::socketpair", sys::socketpair).expect("socketpair");
    let stream = bracket("calls=1 sys::is_stream", || sys::is_stream(a.as_fd()));
    assert_eq!(stream, Ok(true));
    let cred = bracket("calls=1 sys::peer_cred", || sys::peer_cred(a.as_fd())).expect("cred");
    let me = bracket("calls=1 sys::getpid", sys::getpid);
    assert_eq!(cred.pid, me.raw());
    let sent = [
        bracket("calls=1 sys::send", || sys::send(a.as_fd(), b"ab")),
        bracket("calls=1 sys::send_vectored", || {
            sys::send_vectored(a.as_fd(), &parts)
        }),
        bracket("calls=1 sys::send_nowait", || {
            sys::send_nowait(a.as_fd(), b"g")
        }),
    ];
    assert_eq!(sent, [Ok(2), Ok(4), Ok(1)]);
    let mut buf = [0; 16];
    let got = bracket("calls=1 sys::recv_nowait", || {
        sys::recv_nowait(b.as_fd(), &mut buf)
    });
    assert_eq!((got, &buf[..7]), (Ok(7), &b"abcdefg"[..]));
    let empty = bracket("calls=1 sys::recv_nowait", || {
        sys::recv_nowait(b.as_fd(), &mut buf)
    });
    assert_eq!(empty, Err(Errno::AGAIN));
    bracket("calls=1 sys::shutdown", || {
        sys::shutdown(a.as_fd(), sys::Shutdown::Write)
    })
    .expect("shutdown");
    let end = bracket("calls=1 sys::recv_nowait", || {
        sys::recv_nowait(b.as_fd(), &mut buf)
    });
    assert_eq!(end, Ok(0));
    bracket("drop(OwnedFd)", || drop((a, b)));
}

/// The `sys` wrappers that listen and connect: TCP on the loopback with a
/// non-blocking connect, and a Unix socket file removed by hand.
fn sys_sockets() {
    let any_port = SockAddr::encode(&"tcp:127.0.0.1:0".parse().unwrap()).expect("encode");
    let family = any_port.family();
    let listener = bracket("calls=1 sys::socket", || sys::socket(family)).expect("socket");
    bracket("calls=1 sys::set_reuseaddr", || {
        sys::set_reuseaddr(listener.as_fd())
    })
    .expect("reuseaddr");
    bracket("calls=1 sys::bind", || {
        sys::bind(listener.as_fd(), &any_port)
    })
    .expect("bind");
    bracket("calls=1 sys::listen", || sys::listen(listener.as_fd(), 8)).expect("listen");
    let bound = bracket("calls=1 sys::getsockname", || {
        sys::getsockname(listener.as_fd())
    })
    .expect("getsockname");

    let client = bracket("calls=1 sys::socket", || sys::socket(family)).expect("socket");
    bracket("calls=2 sys::set_nonblocking", || {
        sys::set_nonblocking(client.as_fd(), true)
    })
    .expect("nonblocking");
    // On the loopback a non-blocking connect may finish at once or be
    // under way; `finish_connect` waits for it either way.
    let started = bracket("calls=1 sys::connect", || {
        sys::connect(client.as_fd(), &bound)
    });
    assert!(
        matches!(started, Ok(()) | Err(Errno::INPROGRESS)),
        "{started:?}"
    );
    bracket("sys::finish_connect", || {
        sys::finish_connect(client.as_fd(), Some(Duration::from_secs(5)))
    })
    .expect("connected");
    let error = bracket("calls=1 sys::socket_error", || {
        sys::socket_error(client.as_fd())
    });
    assert_eq!(error, Ok(None));
    let (server, peer) =
        bracket("calls=1 sys::accept", || sys::accept(listener.as_fd())).expect("accept");
    let client_name = bracket("calls=1 sys::getsockname", || {
        sys::getsockname(client.as_fd())
    })
    .expect("getsockname");
    assert_eq!(peer.address(), client_name.address());
    let server_name = bracket("calls=1 sys::getpeername", || {
        sys::getpeername(client.as_fd())
    })
    .expect("getpeername");
    assert_eq!(server_name.address(), bound.address());
    bracket("calls=1 sys::set_nodelay", || {
        sys::set_nodelay(server.as_fd())
    })
    .expect("nodelay");
    let on = bracket("calls=1 sys::nodelay", || sys::nodelay(server.as_fd()));
    assert_eq!(on, Ok(true));
    bracket("drop(OwnedFd)", || drop((server, client, listener)));

    // A Unix socket's file stays after its socket closes, until unlinked.
    let pid = bracket("sys::getpid", sys::getpid);
    let path = format!("/tmp/ipcwire-audit-{}.sys.sock", pid.raw());
    let unix = SockAddr::encode(&format!("unix:{path}").parse().unwrap()).expect("encode");
    let socket = bracket("calls=1 sys::socket", || sys::socket(unix.family())).expect("socket");
    bracket("calls=1 sys::bind", || sys::bind(socket.as_fd(), &unix)).expect("bind");
    bracket("drop(OwnedFd)", || drop(socket));
    let path = CString::new(path).expect("a path without NUL");
    bracket("calls=1 sys::unlink", || sys::unlink(&path)).expect("unlink");
    let again = bracket("calls=1 sys::unlink", || sys::unlink(&path));
    assert_eq!(again, Err(Errno::NOENT));
}

/// Children forked, ended by a signal and by `exit`, and reaped through
/// `sys`.
fn sys_processes() {
    let (r, w) = bracket("sys::pipe", sys::pipe).expect("pipe");
    // SAFETY: single-threaded scenario; the child only reads, then is killed.
    let forked = bracket("sys::fork", || unsafe { sys::fork() }).expect("fork");
    let pid = match forked {
        sys::Fork::Child => {
            // Never returns: this child holds the writing end too.
            let mut buf = [0; 1];
            let _ = bracket("sys::read", || sys::read(r.as_fd(), &mut buf));
            begin("sys::exit");
            sys::exit(1)
        }
        sys::Fork::Parent(pid) => pid,
    };
    let running = bracket("calls=1 sys::try_waitpid", || sys::try_waitpid(pid));
    assert_eq!(running, Ok(None));
    bracket("calls=1 sys::kill", || sys::kill(pid, Signal::KILL)).expect("kill");
    let status = bracket("sys::waitpid", || sys::waitpid(pid));
    assert_eq!(status, Ok(ExitStatus::Signaled(Signal::KILL)));
    // The killed child's copy of the writing end is closed with it.
    bracket("drop(OwnedFd)", || drop(w));
    let mut buf = [0; 1];
    let end = bracket("calls=1 sys::read", || sys::read(r.as_fd(), &mut buf));
    assert_eq!(end, Ok(0));
    bracket("drop(OwnedFd)", || drop(r));

    // SAFETY: as above; the child leaves at once.
    let forked = bracket("sys::fork", || unsafe { sys::fork() }).expect("fork");
    let pid = match forked {
        sys::Fork::Child => {
            begin("sys::exit");
            sys::exit(7)
        }
        sys::Fork::Parent(pid) => pid,
    };
    let status = bracket("sys::waitpid", || sys::waitpid(pid));
    assert_eq!(status, Ok(ExitStatus::Exited(7)));
}

/// A child killed through its [`ipcwire::Child`] handle, apart from
/// `sys::kill` so that a confined run holds `Child::kill` to its own entry.
fn processes_and_signals() {
    // SAFETY: single-threaded scenario.
    let (mut conn, child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::Duplex, |mut conn| {
            if bracket("Connection::send_bytes", || conn.send_bytes(b"ready")).is_err() {
                return 1;
            }
            // Waits for a message that never comes, until killed.
            let _ = bracket("Connection::recv_bytes", || conn.recv_bytes());
            child_leaves();
            2
        })
    })
    .expect("fork");
    let ready = bracket("Connection::recv_bytes", || conn.recv_bytes()).expect("recv");
    assert_eq!(ready, b"ready");
    bracket("calls=1 Child::kill", || child.kill(Signal::TERM)).expect("kill");
    let status = bracket("Child::wait", || child.wait());
    assert_eq!(status, Ok(ExitStatus::Signaled(Signal::TERM)));
    bracket("drop(Connection)", || drop(conn));
}

/// A child confining itself twice, through the `sys` calls and through
/// `Filter::install`: afterwards a call outside its filter fails with
/// `EPERM`, and what the filter allows still works.
fn confinement() {
    let wide = filter(
        Action::KillProcess,
        &[
            "Filter::install",
            "sys::pipe",
            "Connection::send_bytes",
            "drop(Connection)",
        ],
    );
    let narrow = filter(
        Action::Errno(NonZeroU16::new(Errno::PERM.raw() as u16).expect("EPERM is not 0")),
        &["Connection::send_bytes", "drop(Connection)"],
    );
    let program = wide.program();
    // SAFETY: single-threaded scenario. A filter is forever: only the
    // child installs them.
    let (mut conn, child) = bracket("ipcwire::fork_with_pipe", || unsafe {
        fork_with_pipe(Direction::FromChild, |mut conn| {
            let steps = [
                bracket("calls=1 sys::set_no_new_privs", sys::set_no_new_privs),
                bracket("calls=1 sys::set_seccomp_filter", || {
                    sys::set_seccomp_filter(&program)
                }),
                bracket("calls=2 Filter::install", || narrow.install()),
            ];
            let refused = bracket("sys::pipe", sys::pipe).map(drop);
            let told = bracket("Connection::send_bytes", || conn.send_bytes(b"confined"));
            child_leaves();
            match (steps, refused, told) {
                ([Ok(()), Ok(()), Ok(())], Err(Errno::PERM), Ok(())) => 0,
                _ => 1,
            }
        })
    })
    .expect("fork");
    let msg = bracket("Connection::recv_bytes", || conn.recv_bytes()).expect("recv");
    assert_eq!(msg, b"confined");
    let status = bracket("Child::wait", || child.wait());
    assert_eq!(status, Ok(ExitStatus::Exited(0)));
    bracket("drop(Connection)", || drop(conn));
}

/// A filter for this architecture allowing `functions` and the runtime.
fn filter(action: Action, functions: &[&str]) -> Filter {
    let mut filter = Filter::native(action).expect("a seccomp architecture");
    filter
        .allow_functions(functions)
        .and_then(Filter::allow_runtime)
        .expect("a filter of the inventory's functions");
    filter
}
