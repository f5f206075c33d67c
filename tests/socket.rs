//! Listeners and clients over real sockets: Unix paths, abstract names and
//! TCP, with client threads and, where a process must die, forked children.
//!
//! Every test takes `serial::lock()` first: some tests fork or count this
//! process's descriptors, so they must not overlap. While one test holds
//! it, the harness's other threads are parked on the lock, and forked
//! children do simple work before `_exit`.

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

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fds::{count_fds, fd_flags, O_CLOEXEC, O_NONBLOCK};
use ipcwire::sys::{self, Errno, ExitStatus, PollFd, PollFlags, SockAddr};
use ipcwire::{Address, Client, Connection, Error, Listener};
use paths::{unique, unix_address, TempPath};
use serial::lock;

const MIB: usize = 1 << 20;

fn abstract_addr(tag: &str) -> Address {
    Address::abstract_name(unique(tag).as_bytes()).expect("abstract name fits")
}

/// Whether a socket file is at `path` (not following symlinks).
fn is_socket_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// A test message: its content depends on `seed` and every byte position.
fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7 + len) % 251) as u8)
        .collect()
}

/// Asserts two messages are equal without printing megabytes on failure.
fn assert_msg(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i} of {}", want.len());
    }
}

fn reversed(msg: &[u8]) -> Vec<u8> {
    msg.iter().rev().copied().collect()
}

/// Joins a thread, passing its panic on.
fn join<T>(handle: JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Serves one connection: every message back reversed, until end of stream.
fn echo_reversed(conn: &mut Connection) -> Result<usize, Error> {
    let mut count = 0;
    loop {
        match conn.recv_bytes() {
            Ok(msg) => conn.send_bytes(&reversed(&msg))?,
            Err(Error::Eof) => return Ok(count),
            Err(e) => return Err(e),
        }
        count += 1;
    }
}

/// Connects, sends `msgs`, checks each reply is its reverse, and closes.
fn client_round_trip(addr: Address, msgs: Vec<Vec<u8>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut conn = Client::new().connect(&addr).expect("client connect");
        for (i, msg) in msgs.iter().enumerate() {
            conn.send_bytes(msg).expect("client send");
            let reply = conn.recv_bytes().expect("client recv");
            assert_msg(&reply, &reversed(msg), &format!("reply {i}"));
        }
    })
}

// ---------------------------------------------------------------------------
// Every family: bind, local address, messages both ways, peer address.

/// Binds `addr`, checks its local address, serves one client thread that
/// sends 0 bytes, 1 byte and 3 MiB (each echoed reversed), then a message
/// from the server first, and returns the peer address `accept` reported.
fn exercise(addr: &Address) -> (Address, Address) {
    let mut listener = Listener::bind(addr).expect("bind");
    let local = *listener.local_addr();
    let text = local.to_string();
    assert_eq!(
        text.parse::<Address>(),
        Ok(local),
        "{text} does not round-trip"
    );
    match (addr, local) {
        (Address::Tcp(asked), Address::Tcp(got)) => {
            assert_eq!(got.ip(), asked.ip());
            assert_ne!(got.port(), 0, "the real port is reported");
            assert!(text.starts_with("tcp:"), "{text}");
        }
        _ => assert_eq!(local, *addr),
    }

    let sizes = [0, 1, 3 * MIB];
    let client = thread::spawn(move || -> Result<(), Error> {
        let mut conn = Client::new().connect(&local)?;
        for (i, &len) in sizes.iter().enumerate() {
            let msg = pattern(i, len);
            conn.send_bytes(&msg)?;
            assert_msg(&conn.recv_bytes()?, &reversed(&msg), "echo");
        }
        // Now the server speaks first.
        assert_eq!(conn.recv_bytes()?, b"from the server");
        let big = conn.recv_bytes()?;
        assert_msg(&big, &pattern(99, 3 * MIB), "server's 3 MiB");
        conn.send_bytes(b"")?;
        conn.send_bytes(b"k")?;
        Ok(())
    });

    let (mut conn, peer) = listener.accept().expect("accept");
    for (i, &len) in sizes.iter().enumerate() {
        let msg = conn.recv_bytes().expect("server recv");
        assert_msg(&msg, &pattern(i, len), "client's message");
        conn.send_bytes(&reversed(&msg)).expect("server send");
    }
    conn.send_bytes(b"from the server").expect("server send");
    conn.send_bytes(&pattern(99, 3 * MIB))
        .expect("server send 3 MiB");
    assert_eq!(conn.recv_bytes().expect("empty message"), b"");
    assert_eq!(conn.recv_bytes().expect("1-byte message"), b"k");
    join(client).expect("client");
    assert_eq!(conn.recv_bytes(), Err(Error::Eof), "client closed");
    (local, peer)
}

#[test]
fn unix_path_family() {
    let _g = lock();
    let path = TempPath::new("family");
    let (local, peer) = exercise(&path.address());
    assert_eq!(local, path.address());
    assert_eq!(peer, Address::Unnamed);
    assert_eq!(peer.to_string(), "unnamed");
}

#[test]
fn abstract_name_family() {
    let _g = lock();
    let addr = abstract_addr("family");
    let (local, peer) = exercise(&addr);
    assert!(
        local.to_string().starts_with("abstract:ipcwire-"),
        "{local}"
    );
    assert_eq!(peer, Address::Unnamed);
}

#[test]
fn tcp_v4_family() {
    let _g = lock();
    let (local, peer) = exercise(&"tcp:127.0.0.1:0".parse().unwrap());
    let (Address::Tcp(local), Address::Tcp(peer)) = (local, peer) else {
        panic!("not TCP: {local} {peer}");
    };
    assert_eq!(peer.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(peer.port(), 0);
    assert_ne!(peer.port(), local.port(), "the client's own port");
}

#[test]
fn tcp_v6_family() {
    let _g = lock();
    let addr: Address = "tcp:[::1]:0".parse().unwrap();
    match Listener::bind(&addr) {
        Err(Error::Io(Errno::ADDRNOTAVAIL | Errno::AFNOSUPPORT)) => {
            skip::skipped("no ::1");
            return;
        }
        other => drop(other.expect("bind [::1]:0")),
    }
    let (local, peer) = exercise(&addr);
    let (Address::Tcp(local), Address::Tcp(peer)) = (local, peer) else {
        panic!("not TCP: {local} {peer}");
    };
    assert!(local.to_string().starts_with("[::1]:"), "{local}");
    assert_eq!(peer.ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert_ne!(peer.port(), 0);
}

#[test]
fn longest_unix_path_binds_and_serves() {
    let _g = lock();
    let dir = std::env::temp_dir().join(unique("longdir"));
    let prefix = dir.as_os_str().len() + 1;
    if prefix + 8 > Address::MAX_PATH_LEN {
        skip::skipped(format_args!("temp dir {} is too long", dir.display()));
        return;
    }
    fs::create_dir(&dir).expect("create dir");
    let path = TempPath(dir.join("s".repeat(Address::MAX_PATH_LEN - prefix)));
    assert_eq!(path.0.as_os_str().len(), Address::MAX_PATH_LEN);
    let result = std::panic::catch_unwind(|| {
        let (local, peer) = exercise(&path.address());
        assert_eq!(local, path.address());
        assert_eq!(peer, Address::Unnamed);
        assert!(!is_socket_file(&path.0), "removed on drop");
    });
    drop(path);
    let _ = fs::remove_dir(&dir);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn longest_abstract_name_binds_and_serves() {
    let _g = lock();
    let mut name = unique("longname").into_bytes();
    name.resize(Address::MAX_ABSTRACT_LEN, b'n');
    let addr = Address::abstract_name(&name).unwrap();
    let (local, peer) = exercise(&addr);
    assert_eq!(local, addr);
    assert_eq!(peer, Address::Unnamed);
}

// ---------------------------------------------------------------------------
// Many clients.

#[test]
fn clients_one_after_another() {
    let _g = lock();
    let path = TempPath::new("serial");
    let tcp: Address = "tcp:127.0.0.1:0".parse().unwrap();
    for addr in [path.address(), abstract_addr("serial"), tcp] {
        let mut listener = Listener::bind(&addr).expect("bind");
        let local = *listener.local_addr();
        let clients = thread::spawn(move || {
            for k in 0..6 {
                let msgs = vec![pattern(k, k * 1000), format!("client {k}").into_bytes()];
                join(client_round_trip(local, msgs));
            }
        });
        for k in 0..6 {
            let (mut conn, _) = listener.accept().expect("accept");
            assert_eq!(echo_reversed(&mut conn), Ok(2), "client {k} on {local}");
        }
        join(clients);
    }
}

#[test]
fn eight_clients_at_once() {
    let _g = lock();
    let path = TempPath::new("concurrent");
    let tcp: Address = "tcp:127.0.0.1:0".parse().unwrap();
    for addr in [path.address(), tcp] {
        let mut listener = Listener::bind(&addr).expect("bind");
        let local = *listener.local_addr();
        let all_connected = Arc::new(Barrier::new(8));
        let clients: Vec<_> = (0..8)
            .map(|id| {
                let all_connected = Arc::clone(&all_connected);
                thread::spawn(move || {
                    let mut conn = Client::new().connect(&local).expect("connect");
                    all_connected.wait();
                    // Large enough that sends wait for the server to read.
                    let mut msg = vec![id as u8];
                    msg.extend(pattern(id, 300_000 + id * 1001));
                    conn.send_bytes(&msg).expect("send");
                    let reply = conn.recv_bytes().expect("recv");
                    assert_msg(&reply, &reversed(&msg), &format!("client {id}"));
                    assert_eq!(conn.recv_bytes(), Err(Error::Eof));
                })
            })
            .collect();
        let mut seen = Vec::new();
        for _ in 0..8 {
            let (mut conn, _) = listener.accept().expect("accept");
            let msg = conn.recv_bytes().expect("recv");
            let id = usize::from(msg[0]);
            assert_msg(&msg[1..], &pattern(id, 300_000 + id * 1001), "content");
            conn.send_bytes(&reversed(&msg)).expect("send");
            seen.push(id);
        }
        for client in clients {
            join(client);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..8).collect::<Vec<_>>());
    }
}

#[test]
fn client_gone_mid_message_is_truncated_and_listener_goes_on() {
    let _g = lock();
    let path = TempPath::new("truncated");
    let tcp: Address = "tcp:127.0.0.1:0".parse().unwrap();
    for addr in [path.address(), abstract_addr("truncated"), tcp] {
        let mut listener = Listener::bind(&addr).expect("bind");
        let local = *listener.local_addr();
        let broken = thread::spawn(move || {
            let conn = Client::new().connect(&local).expect("connect");
            // A header for 100 bytes, then only 10 of them.
            assert_eq!(sys::send(conn.as_fd(), &[0, 0, 0, 100]), Ok(4));
            assert_eq!(sys::send(conn.as_fd(), &[7; 10]), Ok(10));
        });
        let (mut conn, _) = listener.accept().expect("accept");
        join(broken);
        assert_eq!(conn.recv_bytes(), Err(Error::Truncated), "on {local}");
        assert_eq!(conn.recv_bytes(), Err(Error::Truncated), "stays failed");
        drop(conn);

        let good = client_round_trip(local, vec![b"after".to_vec(), pattern(1, 70_000)]);
        let (mut conn, _) = listener.accept().expect("accept next");
        assert_eq!(echo_reversed(&mut conn), Ok(2));
        join(good);
    }
}

// ---------------------------------------------------------------------------
// Socket files: stale, live, foreign, removed on drop.

/// Serves one client on `listener` and checks the exchange.
fn serve_one(listener: &mut Listener) {
    let client = client_round_trip(*listener.local_addr(), vec![b"ping".to_vec()]);
    let (mut conn, _) = listener.accept().expect("accept");
    assert_eq!(echo_reversed(&mut conn), Ok(1));
    join(client);
}

#[test]
fn stale_socket_file_of_killed_process_is_replaced() {
    let _g = lock();
    let path = TempPath::new("killed");
    let addr = path.address();
    let (mut ready_rx, mut ready_tx) = ipcwire::pipe(false).expect("pipe");
    let mut child = fork::fork(|| {
        let Ok(listener) = Listener::bind(&addr) else {
            return 1;
        };
        if ready_tx.send_bytes(b"ready").is_err() {
            return 2;
        }
        // Listen until killed; the listener is never dropped.
        loop {
            let _ = sys::poll(&mut [], None);
            let _ = &listener;
        }
    });
    drop(ready_tx);
    assert_eq!(ready_rx.recv_bytes().expect("child ready"), b"ready");
    assert!(is_socket_file(&path.0), "child's socket file");
    sys::kill(child.pid(), ipcwire::Signal::KILL).expect("kill");
    assert_eq!(child.wait(), ExitStatus::Signaled(ipcwire::Signal::KILL));
    assert!(is_socket_file(&path.0), "a killed owner leaves its file");

    let mut listener = Listener::bind(&addr).expect("bind over a stale file");
    serve_one(&mut listener);
    drop(listener);
    assert!(!is_socket_file(&path.0), "removed on drop");
}

#[test]
fn stale_socket_file_never_listened_is_replaced() {
    let _g = lock();
    let path = TempPath::new("unlistened");
    let addr = path.address();
    let sockaddr = SockAddr::new(&addr).expect("sockaddr");
    let fd = sys::socket(sockaddr.family()).expect("socket");
    sys::bind(fd.as_fd(), &sockaddr).expect("raw bind");
    // Bound but not listening: connecting is refused even while it is open.
    assert_eq!(
        Client::new().connect(&addr).err(),
        Some(Error::Io(Errno::CONNREFUSED))
    );
    drop(fd);
    assert!(is_socket_file(&path.0), "a closed socket leaves its file");

    let mut listener = Listener::bind(&addr).expect("bind over a stale file");
    serve_one(&mut listener);
}

/// Whether a connection waits to be accepted on `listener`.
fn has_pending(listener: &Listener) -> bool {
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::IN)];
    sys::poll(&mut fds, Some(Duration::ZERO)).expect("poll") > 0
}

#[test]
fn live_listener_path_is_in_use() {
    let _g = lock();
    let path = TempPath::new("live");
    let mut first = Listener::bind(&path.address()).expect("first bind");
    let before = fs::symlink_metadata(&path.0).expect("socket file").ino();
    assert_eq!(
        Listener::bind(&path.address()).err(),
        Some(Error::Io(Errno::ADDRINUSE))
    );
    assert_eq!(
        fs::symlink_metadata(&path.0).expect("still there").ino(),
        before,
        "the live listener's file is untouched"
    );
    // The failed bind's probe may have left a closed connection queued;
    // `failed_bind_probe_reaches_the_live_listener_as_one_empty_connection`
    // checks that on its own.
    while has_pending(&first) {
        let (mut probe, _) = first.accept().expect("accept probe");
        assert_eq!(probe.recv_bytes(), Err(Error::Eof));
    }
    serve_one(&mut first);
    serve_one(&mut first);
    drop(first);
    assert!(!is_socket_file(&path.0));
}

#[test]
fn failed_bind_probe_reaches_the_live_listener_as_one_empty_connection() {
    // Probing a taken path by connecting (the only portable liveness test)
    // queues one connection on the live listener. Listener::bind documents
    // it: the live server sees exactly one client that sends nothing and
    // closes, and then serves real clients as before.
    let _g = lock();
    let path = TempPath::new("live-queue");
    let mut live = Listener::bind(&path.address()).expect("first bind");
    assert!(!has_pending(&live));
    assert_eq!(
        Listener::bind(&path.address()).err(),
        Some(Error::Io(Errno::ADDRINUSE))
    );
    assert!(has_pending(&live), "the probe must be the only trace");
    let (mut probe, _) = live.accept().expect("accept probe");
    assert_eq!(probe.recv_bytes(), Err(Error::Eof));
    assert!(!has_pending(&live), "exactly one probe connection");
    serve_one(&mut live);
}

#[test]
fn foreign_file_at_path_is_never_removed() {
    let _g = lock();
    let path = TempPath::new("regular");
    fs::write(&path.0, b"precious data").unwrap();
    assert_eq!(
        Listener::bind(&path.address()).err(),
        Some(Error::Io(Errno::ADDRINUSE))
    );
    assert_eq!(fs::read(&path.0).unwrap(), b"precious data");

    // A symlink to a stale socket file: not a socket itself, so in use.
    let stale = TempPath::new("stale-target");
    let sockaddr = SockAddr::new(&stale.address()).unwrap();
    let fd = sys::socket(sockaddr.family()).unwrap();
    sys::bind(fd.as_fd(), &sockaddr).unwrap();
    drop(fd);
    let link = TempPath::new("symlink");
    std::os::unix::fs::symlink(&stale.0, &link.0).unwrap();
    assert_eq!(
        Listener::bind(&link.address()).err(),
        Some(Error::Io(Errno::ADDRINUSE))
    );
    assert!(fs::symlink_metadata(&link.0)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(is_socket_file(&stale.0), "the link's target is untouched");

    // A directory.
    let dir = TempPath::new("dir");
    fs::create_dir(&dir.0).unwrap();
    assert_eq!(
        Listener::bind(&dir.address()).err(),
        Some(Error::Io(Errno::ADDRINUSE))
    );
    assert!(dir.0.is_dir());
    fs::remove_dir(&dir.0).unwrap();
}

#[test]
fn missing_directory_is_enoent() {
    let _g = lock();
    let path = std::env::temp_dir()
        .join(unique("no-such-dir"))
        .join("s.sock");
    assert_eq!(
        Listener::bind(&unix_address(&path)).err(),
        Some(Error::Io(Errno::NOENT))
    );
}

#[test]
fn drop_removes_own_socket_file_only() {
    let _g = lock();
    let path = TempPath::new("drop");
    let listener = Listener::bind(&path.address()).unwrap();
    assert!(is_socket_file(&path.0));
    drop(listener);
    assert!(!path.0.exists(), "socket file removed on drop");

    // Replaced by a regular file: left alone.
    let listener = Listener::bind(&path.address()).unwrap();
    fs::remove_file(&path.0).unwrap();
    fs::write(&path.0, b"someone else's").unwrap();
    drop(listener);
    assert_eq!(fs::read(&path.0).unwrap(), b"someone else's");
    fs::remove_file(&path.0).unwrap();

    // Replaced by another listener's socket: left alone, and it still works.
    let old = Listener::bind(&path.address()).unwrap();
    fs::remove_file(&path.0).unwrap();
    let mut new = Listener::bind(&path.address()).unwrap();
    drop(old);
    assert!(is_socket_file(&path.0), "the new listener's file stays");
    serve_one(&mut new);
    drop(new);
    assert!(!path.0.exists());

    // Already gone: dropping does not fail.
    let listener = Listener::bind(&path.address()).unwrap();
    fs::remove_file(&path.0).unwrap();
    drop(listener);
    assert!(!path.0.exists());
}

// ---------------------------------------------------------------------------
// Addresses (text forms are tested in tests/address.rs).

#[test]
fn unnamed_cannot_be_bound_or_connected() {
    let _g = lock();
    assert_eq!(
        Listener::bind(&Address::Unnamed).err(),
        Some(Error::Io(Errno::INVAL))
    );
    assert_eq!(
        Client::new().connect(&Address::Unnamed).err(),
        Some(Error::Io(Errno::INVAL))
    );
    assert!(SockAddr::new(&Address::Unnamed).is_none());
}

// ---------------------------------------------------------------------------
// Connecting: refused, missing, timeouts.

#[test]
fn connection_refused_and_missing_path() {
    let _g = lock();
    let listener = Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = *listener.local_addr();
    drop(listener);
    let missing = TempPath::new("missing");
    let clients = [Client::new(), Client::new().timeout(Duration::from_secs(2))];
    for client in clients {
        let start = Instant::now();
        assert_eq!(
            client.connect(&closed).err(),
            Some(Error::Io(Errno::CONNREFUSED)),
            "{client:?}"
        );
        assert_eq!(
            client.connect(&missing.address()).err(),
            Some(Error::Io(Errno::NOENT)),
            "{client:?}"
        );
        assert_eq!(
            client.connect(&abstract_addr("nobody")).err(),
            Some(Error::Io(Errno::CONNREFUSED)),
            "{client:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(1), "failed fast");
    }
}

#[test]
fn connect_timeout_on_full_backlog() {
    let _g = lock();
    let path = TempPath::new("backlog");
    let sockaddr = SockAddr::new(&path.address()).unwrap();
    let fd = sys::socket(sockaddr.family()).unwrap();
    sys::bind(fd.as_fd(), &sockaddr).unwrap();
    sys::listen(fd.as_fd(), 0).unwrap();

    // Fill the backlog; keep the connections so their places stay taken.
    let mut queued = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match Client::new()
            .timeout(Duration::from_millis(20))
            .connect(&path.address())
        {
            Ok(conn) => queued.push(conn),
            Err(Error::Io(Errno::TIMEDOUT)) => {
                full = true;
                break;
            }
            Err(e) => panic!("filling the backlog: {e:?}"),
        }
    }
    assert!(full, "the backlog never filled ({} queued)", queued.len());
    assert!(!queued.is_empty(), "a backlog of 0 still queues one");

    let start = Instant::now();
    let result = Client::new()
        .timeout(Duration::from_millis(100))
        .connect(&path.address());
    let took = start.elapsed();
    assert_eq!(result.err(), Some(Error::Io(Errno::TIMEDOUT)));
    assert!(
        took >= Duration::from_millis(100),
        "gave up early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // Once a place frees up, a patient client gets in.
    let (accepted, _) = sys::accept(fd.as_fd()).expect("accept one");
    drop(accepted);
    drop(queued.remove(0));
    let conn = Client::new()
        .timeout(Duration::from_secs(2))
        .connect(&path.address());
    assert!(conn.is_ok(), "{conn:?}");
}

// ---------------------------------------------------------------------------
// Socket properties.

fn own_uid_gid() -> (u32, u32) {
    let meta = fs::metadata("/proc/self").expect("/proc/self");
    (meta.uid(), meta.gid())
}

#[test]
fn peer_credentials_of_a_thread_client() {
    let _g = lock();
    let path = TempPath::new("cred");
    for addr in [path.address(), abstract_addr("cred")] {
        let mut listener = Listener::bind(&addr).unwrap();
        let client = thread::spawn(move || {
            let conn = Client::new().connect(&addr).expect("connect");
            let cred = conn.peer_cred().expect("client's peer_cred");
            (conn, cred)
        });
        let (conn, _) = listener.accept().unwrap();
        let (client_conn, client_side) = join(client);
        let cred = conn.peer_cred().expect("peer_cred");
        let (uid, gid) = own_uid_gid();
        assert_eq!(cred.pid, sys::getpid().raw());
        assert_eq!(cred.uid, uid);
        assert_eq!(cred.gid, gid);
        // The client sees the listening process too.
        assert_eq!(client_side.pid, sys::getpid().raw());
        assert_eq!(client_side.uid, uid);
        drop(client_conn);
    }
}

#[test]
fn peer_credentials_of_a_forked_client() {
    let _g = lock();
    let path = TempPath::new("cred-fork");
    let addr = path.address();
    let mut listener = Listener::bind(&addr).unwrap();
    let mut child = fork::fork(|| {
        let Ok(mut conn) = Client::new().connect(&addr) else {
            return 1;
        };
        if conn.send_bytes(b"hi").is_err() {
            return 2;
        }
        let mut buf = [0; 8];
        match conn.recv_bytes_into(&mut buf) {
            Ok(3) if buf[..3] == *b"bye" => 0,
            _ => 3,
        }
    });
    let (mut conn, peer) = listener.accept().unwrap();
    assert_eq!(peer, Address::Unnamed);
    let cred = conn.peer_cred().expect("peer_cred");
    assert_eq!(cred.pid, child.pid().raw());
    assert_ne!(cred.pid, sys::getpid().raw());
    assert_eq!(cred.uid, own_uid_gid().0);
    assert_eq!(conn.recv_bytes().unwrap(), b"hi");
    conn.send_bytes(b"bye").unwrap();
    assert_eq!(child.wait(), ExitStatus::Exited(0));
    // Recorded at connect time: still there after the child is gone.
    assert_eq!(conn.peer_cred().map(|c| c.pid), Ok(cred.pid));
    assert_eq!(conn.recv_bytes(), Err(Error::Eof));
}

#[test]
fn tcp_nodelay_on_both_ends() {
    let _g = lock();
    let mut listener = Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = *listener.local_addr();
    for client in [Client::new(), Client::new().timeout(Duration::from_secs(2))] {
        let connector = thread::spawn(move || client.connect(&addr).expect("connect"));
        let (accepted, _) = listener.accept().unwrap();
        let connected = join(connector);
        assert_eq!(sys::nodelay(accepted.as_fd()), Ok(true), "accepted");
        assert_eq!(sys::nodelay(connected.as_fd()), Ok(true), "connected");
    }
}

#[test]
fn sockets_are_close_on_exec_and_blocking() {
    let _g = lock();
    let path = TempPath::new("cloexec");
    let tcp: Address = "tcp:127.0.0.1:0".parse().unwrap();
    for addr in [path.address(), abstract_addr("cloexec"), tcp] {
        let mut listener = Listener::bind(&addr).unwrap();
        let local = *listener.local_addr();
        assert_ne!(fd_flags(listener.as_raw_fd()) & O_CLOEXEC, 0, "listener");
        for client in [Client::new(), Client::new().timeout(Duration::from_secs(2))] {
            let connector = {
                let client = client.clone();
                thread::spawn(move || client.connect(&local).expect("connect"))
            };
            let (accepted, _) = listener.accept().unwrap();
            let connected = join(connector);
            for (what, conn) in [("accepted", &accepted), ("connected", &connected)] {
                let flags = fd_flags(conn.as_raw_fd());
                assert_ne!(flags & O_CLOEXEC, 0, "{what} on {local} with {client:?}");
                assert_eq!(flags & O_NONBLOCK, 0, "{what} on {local} with {client:?}");
            }
        }
    }
}

#[test]
fn no_descriptor_leaks_over_many_cycles() {
    let _g = lock();
    let path = TempPath::new("leak");
    let missing = TempPath::new("leak-missing");
    let missing_addr = missing.address();
    let other = TempPath::new("leak-other");
    let before = count_fds();
    {
        // Failed binds are tried on another live listener's path, so
        // their probes never land in the queue of the one under test.
        let other_listener = Listener::bind(&other.address()).unwrap();
        let mut listener = Listener::bind(&path.address()).unwrap();
        let addr = *listener.local_addr();
        let clients = thread::spawn(move || {
            for i in 0..1000 {
                let client = if i % 2 == 0 {
                    Client::new()
                } else {
                    Client::new().timeout(Duration::from_secs(5))
                };
                let mut conn = client.connect(&addr).expect("connect");
                conn.send_bytes(&pattern(i, i % 50)).expect("send");
                let reply = conn.recv_bytes().expect("recv");
                assert_msg(&reply, &reversed(&pattern(i, i % 50)), "reply");
                if i % 10 == 0 {
                    // Failed connects must close their sockets too.
                    let err = client.connect(&missing_addr).err();
                    assert_eq!(err, Some(Error::Io(Errno::NOENT)));
                }
            }
        });
        for i in 0..1000 {
            let (mut conn, _) = listener.accept().expect("accept");
            assert_eq!(echo_reversed(&mut conn), Ok(1), "cycle {i}");
            if i % 100 == 0 {
                // A refused bind (live listener) must close its sockets.
                let err = Listener::bind(&other.address()).err();
                assert_eq!(err, Some(Error::Io(Errno::ADDRINUSE)));
            }
        }
        join(clients);
        drop(other_listener);
    }
    assert_eq!(count_fds(), before, "descriptors leaked");
    assert!(!path.0.exists());
}

#[test]
fn peer_credentials_are_refused_where_the_kernel_has_none() {
    let _g = lock();
    let mut listener = Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap()).unwrap();
    let client = Client::new().connect(listener.local_addr()).unwrap();
    let (server, _) = listener.accept().unwrap();
    for conn in [&client, &server] {
        assert_eq!(conn.peer_cred(), Err(Error::Io(Errno::NOPROTOOPT)));
    }
    let (reader, _writer) = ipcwire::pipe(false).unwrap();
    assert_eq!(reader.peer_cred(), Err(Error::Io(Errno::NOTSOCK)));
}

#[test]
fn bind_beside_a_hung_listener_with_a_full_backlog_fails_at_once() {
    let _g = lock();
    let path = TempPath::new("hung");
    let hung = Listener::bind(&path.address()).expect("bind");
    // A server that never accepts: its backlog fills up.
    let queued = faults::fill_backlog(&path.address());
    let addr = path.address();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(Listener::bind(&addr).err()));
    let got = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("Listener::bind hung on a live listener's full backlog");
    assert_eq!(got, Some(Error::Io(Errno::ADDRINUSE)));
    assert!(is_socket_file(&path.0), "the live listener's file is kept");
    drop(queued);
    drop(hung);
}
