//! ipcwire meets std where a user holds descriptors: std's `OwnedFd`,
//! `BorrowedFd` and `AsFd` in and out, conversions both ways, and the
//! programs a new user writes from the docs (a pre-fork pool, a supervisor
//! handing a listening socket to a worker, a Python child given a file),
//! with no `.into()` and no `libc`.
//!
//! Every test that forks takes the binary's lock: `try_wait_any` reaps any
//! child, and a fork must not copy another test's descriptors into a worker.

#[path = "common/paths.rs"]
mod paths;
#[path = "common/serial.rs"]
mod serial;
#[path = "common/skip.rs"]
mod skip;

use std::error::Error as _;
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipcwire::handshake::AuthError;
use ipcwire::sys::{self, Pid};
use ipcwire::{fork_with_pipe, Access, Child, Client, Connection, Direction, Error};
use ipcwire::{ExitStatus, Listener, ReceivedFds, Signal};

/// A new file holding `[package]`, open for reading; its name is already
/// removed, so nothing is left behind.
fn manifest() -> File {
    let path = paths::TempPath::new("manifest");
    std::fs::write(path.path(), b"[package]\n").expect("write the file");
    File::open(path.path()).expect("open the file")
}

fn starts_with_package(fd: OwnedFd) -> bool {
    let mut file = File::from(fd);
    let mut head = [0; 9];
    file.rewind().is_ok() && file.read_exact(&mut head).is_ok() && &head == b"[package]"
}

#[test]
fn descriptors_go_out_and_come_back_as_std_types() {
    let (mut a, mut b) = ipcwire::pipe(true).expect("pipe");
    let file = manifest();

    a.send_bytes_with_fds(b"manifest", &[file.as_fd()])
        .expect("send with fds");
    let mut fds = ReceivedFds::new();
    assert_eq!(b.recv_bytes_with_fds(&mut fds).expect("recv"), b"manifest");
    let fd: OwnedFd = fds.pop().expect("one descriptor");
    assert!(starts_with_package(fd));

    a.send_handle(&file).expect("send_handle");
    let handle: OwnedFd = b.recv_handle().expect("recv_handle");
    assert!(starts_with_package(handle));
}

#[test]
fn connections_convert_to_and_from_owned_fds() {
    let (x, y) = UnixStream::pair().expect("socketpair");
    let x = Connection::from_fd(x, Access::Duplex).expect("from UnixStream");
    let raw = x.as_raw_fd();
    assert_eq!(x.as_fd().as_raw_fd(), raw);

    // Out to std and back: the same descriptor, still framing.
    let fd = OwnedFd::from(x);
    assert_eq!(fd.as_raw_fd(), raw);
    let mut x = Connection::try_from(fd).expect("try_from a socket");
    assert_eq!(x.access(), Access::Duplex);
    let mut y = Connection::try_from(OwnedFd::from(y)).expect("try_from");
    x.send_bytes(b"ping").expect("send");
    assert_eq!(y.recv_bytes().expect("recv"), b"ping");

    // A pipe's ends are told apart by how they were opened.
    let (r, w) = sys::pipe().expect("pipe");
    let r = Connection::try_from(r).expect("read end");
    let w = Connection::try_from(w).expect("write end");
    assert_eq!((r.access(), w.access()), (Access::Read, Access::Write));
    let raw = w.into_raw_fd();
    // SAFETY: `into_raw_fd` gave up ownership of this open descriptor.
    let w = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let mut w = Connection::try_from(w).expect("write end again");
    let mut r = r;
    w.send_bytes(b"one way").expect("send");
    assert_eq!(r.recv_bytes().expect("recv"), b"one way");
}

/// A datagram socket would cut long messages and splice the pieces of
/// others into them: it is refused, as is anything but a stream.
#[test]
fn datagram_sockets_are_refused() {
    let (a, b) = UnixDatagram::pair().expect("socketpair");
    assert_eq!(
        Connection::from_fd(a, Access::Duplex).err(),
        Some(sys::Errno::PROTOTYPE)
    );
    assert_eq!(
        Connection::try_from(OwnedFd::from(b)).err(),
        Some(sys::Errno::PROTOTYPE)
    );
}

#[test]
fn wait_takes_any_collection_of_connections() {
    let mut pairs: Vec<(Connection, Connection)> =
        (0..3).map(|_| ipcwire::pipe(true).expect("pipe")).collect();
    pairs[1].0.send_bytes(b"to 1").expect("send");
    let readers: Vec<&Connection> = pairs.iter().map(|(_, b)| b).collect();
    let quick = Some(Duration::from_secs(5));
    assert_eq!(ipcwire::wait(readers.iter().copied(), quick).unwrap(), [1]);
    assert_eq!(ipcwire::wait(&readers, quick).unwrap(), [1]);
    assert_eq!(ipcwire::wait([readers[0], readers[1]], quick).unwrap(), [1]);
    let (_writers, owned): (Vec<Connection>, Vec<Connection>) = pairs.into_iter().unzip();
    assert_eq!(ipcwire::wait(&owned, quick).unwrap(), [1]);
}

#[test]
fn nested_errors_are_sources() {
    let auth = Error::Auth(AuthError::BadResponse);
    let source = auth.source().expect("Auth has a source");
    assert_eq!(source.to_string(), AuthError::BadResponse.to_string());
    assert!(!auth.to_string().contains(&source.to_string()));
    assert!(Error::Io(sys::Errno::PIPE).source().is_none());
    assert!(Error::Eof.source().is_none());
}

#[test]
fn signals_have_names_and_numbers() {
    assert_eq!(Signal::TERM.name(), Some("SIGTERM"));
    assert_eq!(Signal::KILL.raw(), 9);
    assert_eq!(Signal::from_raw(9), Signal::KILL);
    assert_eq!(format!("{:?}", Signal::SYS), "SIGSYS");
    assert_eq!(Signal::from_raw(64).name(), None);
    assert_eq!(
        ExitStatus::Signaled(Signal::KILL).to_string(),
        "killed by signal 9 (SIGKILL)"
    );
}

/// Waits up to `limit` for `child` to end, without blocking in `waitpid`.
fn ended_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// A pool of workers forked one after another, each serving its connection
/// until end of stream. With `isolate`, each closes what it did not need.
fn pool(isolate: bool) -> Vec<(Connection, Child)> {
    (0..3)
        .map(|_| {
            // SAFETY: the forking tests hold the lock; the child only receives,
            // sends and exits.
            unsafe {
                fork_with_pipe(Direction::Duplex, move |mut conn| {
                    if isolate && sys::close_other_fds(&[conn.as_fd()]).is_err() {
                        return 3;
                    }
                    let mut buf = [0; 64];
                    loop {
                        match conn.recv_bytes_into(&mut buf) {
                            Ok(n) if conn.send_bytes(&buf[..n]).is_ok() => {}
                            Err(Error::Eof) => return 0,
                            _ => return 2,
                        }
                    }
                })
            }
            .expect("fork")
        })
        .collect()
}

#[test]
fn pre_fork_pool_workers_end_with_their_connection() {
    let _guard = serial::lock();
    let mut workers = pool(true);
    for (i, (conn, _)) in workers.iter_mut().enumerate() {
        conn.send_bytes(&[i as u8]).expect("job");
    }
    let conns: Vec<&Connection> = workers.iter().map(|(c, _)| c).collect();
    let limit = Some(Duration::from_secs(10));
    let mut ready = Vec::new();
    while ready.len() < 3 {
        ready.extend(ipcwire::wait(&conns, limit).expect("wait"));
        ready.sort_unstable();
        ready.dedup();
    }
    for (i, (conn, _)) in workers.iter_mut().enumerate() {
        assert_eq!(conn.recv_bytes().expect("reply"), [i as u8]);
    }
    // The first worker ends when its connection is dropped, though its
    // siblings, forked after it, are alive.
    let (conn, mut first) = workers.remove(0);
    drop(conn);
    let status = ended_within(&mut first, Duration::from_secs(10));
    assert_eq!(status, Some(ExitStatus::Exited(0)));
    for (conn, mut child) in workers {
        drop(conn);
        let status = ended_within(&mut child, Duration::from_secs(10));
        assert_eq!(status, Some(ExitStatus::Exited(0)));
    }
}

/// The pitfall the test above avoids: without closing, the siblings forked
/// later hold copies of the first worker's parent end.
#[test]
fn pre_fork_pool_without_closing_keeps_the_first_worker_alive() {
    let _guard = serial::lock();
    let mut workers = pool(false);
    let (conn, mut first) = workers.remove(0);
    drop(conn);
    assert_eq!(ended_within(&mut first, Duration::from_millis(300)), None);
    // Each later sibling holds the ends of those before it: only when all
    // are dropped do they all end.
    let (conns, children): (Vec<_>, Vec<_>) = workers.into_iter().unzip();
    drop(conns);
    for child in children {
        assert_eq!(child.wait(), Ok(ExitStatus::Exited(0)));
    }
    let status = ended_within(&mut first, Duration::from_secs(10));
    assert_eq!(status, Some(ExitStatus::Exited(0)));
}

#[test]
fn supervisors_reap_and_signal_without_libc() {
    let _guard = serial::lock();
    // SAFETY: the forking tests hold the lock; the children exit at once or wait.
    let (quick, _) = unsafe { fork_with_pipe(Direction::ToChild, |_| 7) }.expect("fork");
    let (conn, mut slow) = unsafe {
        fork_with_pipe(Direction::Duplex, |mut conn| {
            let _ = conn.recv_bytes_into(&mut [0; 8]);
            0
        })
    }
    .expect("fork");
    drop(quick);
    let start = Instant::now();
    let reaped: (Pid, ExitStatus) = loop {
        if let Some(reaped) = sys::try_wait_any().expect("try_wait_any") {
            break reaped;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "nothing reaped");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(reaped.1, ExitStatus::Exited(7));
    assert_ne!(reaped.0, slow.pid());
    assert_eq!(slow.try_wait(), Ok(None));
    slow.kill(Signal::TERM).expect("kill");
    let status = ended_within(&mut slow, Duration::from_secs(10));
    assert_eq!(status, Some(ExitStatus::Signaled(Signal::TERM)));
    // Reaped: the status stays, and no signal goes to a reused number.
    assert_eq!(
        slow.try_wait(),
        Ok(Some(ExitStatus::Signaled(Signal::TERM)))
    );
    assert_eq!(slow.kill(Signal::KILL), Err(sys::Errno::SRCH));
    assert_eq!(slow.wait(), Ok(ExitStatus::Signaled(Signal::TERM)));
    assert_eq!(sys::try_wait_any(), Err(sys::Errno::CHILD));
    drop(conn);
}

#[test]
fn supervisor_hands_its_listening_socket_to_a_worker() {
    let _guard = serial::lock();
    let path = paths::TempPath::new("supervisor");
    let addr = path.address();
    let listener = Listener::bind(&addr).expect("bind");
    // SAFETY: the forking tests hold the lock; the worker serves one client.
    let (mut conn, worker) = unsafe {
        fork_with_pipe(Direction::Duplex, |mut conn| {
            let Ok(fd) = conn.recv_handle() else { return 1 };
            let Ok(listener) = Listener::from_fd(fd) else {
                return 2;
            };
            let mut listener = listener.authkey(b"shared");
            let Ok((mut client, _)) = listener.accept() else {
                return 3;
            };
            let mut buf = [0; 64];
            let Ok(n) = client.recv_bytes_into(&mut buf) else {
                return 4;
            };
            match client.send_bytes(&buf[..n].to_ascii_uppercase()) {
                Ok(()) => 0,
                Err(_) => 5,
            }
        })
    }
    .expect("fork");
    conn.send_handle(&listener).expect("send the listener");
    // The supervisor keeps its listener: dropping it would remove the path.
    let mut client = Client::new()
        .authkey(b"shared")
        .connect(&addr)
        .expect("connect");
    client.send_bytes(b"hello").expect("send");
    assert_eq!(client.recv_bytes().expect("recv"), b"HELLO");
    assert_eq!(worker.wait(), Ok(ExitStatus::Exited(0)));

    // A listener made from a handed socket leaves the path to its owner.
    let (mut a, mut b) = ipcwire::pipe(true).expect("pipe");
    a.send_handle(&listener).expect("send");
    let handed = Listener::from_fd(b.recv_handle().expect("recv")).expect("wrap");
    assert_eq!(handed.local_addr(), &addr);
    drop(handed);
    assert!(path.path().exists(), "the handed listener removed the path");
    drop(listener);
    assert!(!path.path().exists(), "the owner left its socket file");
}

#[test]
fn python_child_gets_a_file_over_its_stdin() {
    let _guard = serial::lock();
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let script = "from multiprocessing.connection import Connection\n\
                  from multiprocessing import reduction\n\
                  import os\n\
                  c = Connection(0)\n\
                  fd = reduction.recv_handle(c)\n\
                  os.lseek(fd, 0, 0)\n\
                  c.send_bytes(os.read(fd, 9))\n";
    let spawned = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .spawn();
    let Ok(mut python) = spawned else {
        skip::skipped("python_child_gets_a_file_over_its_stdin: no python3");
        return;
    };
    let mut conn = Connection::from_fd(ours, Access::Duplex).expect("wrap");
    conn.set_recv_timeout(Some(Duration::from_secs(30)));
    conn.send_handle(manifest()).expect("send_handle");
    assert_eq!(conn.recv_bytes().expect("reply"), b"[package]");
    assert!(python.wait().expect("wait").success());
}
