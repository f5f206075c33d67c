//! Dead peers: a peer killed with `SIGKILL` at a chosen point — between
//! messages, inside a header, inside a payload, in the middle of a large
//! send, inside the authkey handshake on either side — leaves the survivor
//! with a clean error (`Eof`, `Truncated`, `Auth(_)`, `Io(ECONNRESET)`,
//! `Io(EPIPE)`), never a hang and never a cut message delivered as whole.
//!
//! The kill point is exact: the child writes raw bytes (a partial header, a
//! partial payload) with `sys::write`, tells the parent through a second
//! pipe that it is there, and waits; only then is it killed. Every wait of
//! the survivor is bounded (receive timeouts, handshake timeouts), so a
//! hang fails the test instead of stalling the suite.

#[path = "common/faults.rs"]
mod faults;
#[path = "common/fork.rs"]
mod fork;
#[path = "common/paths.rs"]
mod paths;
#[path = "common/serial.rs"]
mod serial;

use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use faults::{frame, numbered, park, write_all, Rendezvous, MIB, PATIENCE};
use fork::Forked;
use ipcwire::handshake::{Action, AuthError, AuthKey, Handshake, Role};
use ipcwire::sys::{self, Errno, ExitStatus};
use ipcwire::{pipe, Address, Client, Connection, Error, Listener};
use serial::lock;

const RESET: Error = Error::Io(Errno::CONNRESET);
const EPIPE: Error = Error::Io(Errno::PIPE);

/// Kills `child` once it arrives at the rendezvous (or after `PATIENCE`,
/// so that nothing waits forever), from another thread; the result says
/// whether it arrived.
fn kill_on_arrival<'s>(
    scope: &'s thread::Scope<'s, '_>,
    rendezvous: &'s Rendezvous,
    child: &'s Forked,
) -> thread::ScopedJoinHandle<'s, bool> {
    let pid = child.pid();
    scope.spawn(move || {
        let arrived = rendezvous.await_arrival(PATIENCE);
        let _ = sys::kill(pid, ipcwire::Signal::KILL);
        arrived
    })
}

// ---------------------------------------------------------------------------
// A writer killed at a chosen byte.

/// What the survivor must see, one receive after another.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Msg(Vec<u8>),
    Err(Error),
}

struct Case {
    what: &'static str,
    /// The bytes the child writes before it is killed.
    raw: Vec<u8>,
    then: Vec<Expect>,
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn cases() -> Vec<Case> {
    use Expect::{Err as E, Msg};
    let a = numbered(1, 10);
    let b = numbered(2, 300);
    let big = numbered(3, 3 * MIB);
    let t = Error::Truncated;
    vec![
        Case {
            what: "before anything",
            raw: vec![],
            then: vec![E(Error::Eof), E(Error::Eof)],
        },
        Case {
            what: "between messages",
            raw: cat(&[&frame(&a), &frame(&b)]),
            then: vec![Msg(a.clone()), Msg(b.clone()), E(Error::Eof)],
        },
        Case {
            what: "after 1 byte of a header",
            raw: vec![0],
            then: vec![E(t), E(t)],
        },
        Case {
            what: "after 3 bytes of a header",
            raw: vec![0, 0, 1],
            then: vec![E(t)],
        },
        Case {
            what: "after a message and 2 bytes of the next header",
            raw: cat(&[&frame(&a), &[0, 0]]),
            then: vec![Msg(a.clone()), E(t), E(t)],
        },
        Case {
            what: "after 7 bytes of an escaped header",
            raw: vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0],
            then: vec![E(t)],
        },
        Case {
            what: "after a whole header",
            raw: vec![0, 0, 0, 10],
            then: vec![E(t), E(t)],
        },
        Case {
            what: "inside a payload",
            raw: frame(&b)[..4 + 150].to_vec(),
            then: vec![E(t), E(t)],
        },
        Case {
            what: "one byte before the end of a payload",
            raw: cat(&[&frame(&a), &frame(&b)[..4 + 299]]),
            then: vec![Msg(a.clone()), E(t), E(t)],
        },
        Case {
            what: "inside a 3 MiB payload",
            raw: frame(&big)[..4 + MIB + 1].to_vec(),
            then: vec![E(t), E(t)],
        },
    ]
}

/// Whether the survivor receives before the kill (while the child is
/// still writing or parked) or only after the child is dead and reaped.
#[derive(Copy, Clone, Debug, PartialEq)]
enum When {
    AfterDeath,
    WhileKilled,
}

/// Which receive call the survivor uses.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Api {
    Vec,
    Into,
}

fn receive(conn: &mut Connection, api: Api) -> Expect {
    let got = match api {
        Api::Vec => conn.recv_bytes(),
        Api::Into => {
            let mut buf = vec![0; 4 * MIB];
            conn.recv_bytes_into(&mut buf).map(|n| {
                buf.truncate(n);
                buf
            })
        }
    };
    match got {
        Ok(msg) => Expect::Msg(msg),
        Err(e) => Expect::Err(e),
    }
}

/// Forks a writer over a pipe (`duplex = false`) or a socket pair, lets it
/// write `case.raw`, kills it, and checks what the parent receives.
fn writer_killed(case: &Case, duplex: bool, when: When, api: Api) {
    let what = format!("{} (duplex={duplex}, {when:?}, {api:?})", case.what);
    let (mine, theirs) = pipe(duplex).expect("pipe");
    let (mut mine, mut theirs) = (Some(mine), Some(theirs));
    let mut rendezvous = Rendezvous::new();
    let mut child = fork::fork(|| {
        drop(mine.take());
        let conn = theirs.take().expect("child end");
        if write_all(conn.as_fd(), &case.raw).is_err() {
            return 1;
        }
        rendezvous.arrive();
        park()
    });
    drop(theirs.take());
    rendezvous.parent_side();
    let mut conn = mine.take().expect("parent end");
    // A hang would be a timeout, which no case expects.
    conn.set_recv_timeout(Some(PATIENCE));
    let got: Vec<Expect> = match when {
        When::AfterDeath => {
            assert!(rendezvous.await_arrival(PATIENCE), "{what}: child lost");
            child.kill();
            assert_eq!(child.wait(), ExitStatus::Signaled(ipcwire::Signal::KILL));
            case.then.iter().map(|_| receive(&mut conn, api)).collect()
        }
        When::WhileKilled => thread::scope(|s| {
            let killer = kill_on_arrival(s, &rendezvous, &child);
            let got = case.then.iter().map(|_| receive(&mut conn, api)).collect();
            assert!(killer.join().expect("killer"), "{what}: child lost");
            got
        }),
    };
    if when == When::WhileKilled {
        assert_eq!(
            child.wait(),
            ExitStatus::Signaled(ipcwire::Signal::KILL),
            "{what}"
        );
    }
    if got != case.then {
        let show = |v: &[Expect]| -> Vec<String> {
            v.iter()
                .map(|e| match e {
                    Expect::Msg(m) => format!("message of {} bytes", m.len()),
                    Expect::Err(e) => format!("{e:?}"),
                })
                .collect()
        };
        panic!(
            "{what}: got {:?}, expected {:?}",
            show(&got),
            show(&case.then)
        );
    }
}

#[test]
fn pipe_writer_killed_at_any_point() {
    let _g = lock();
    for case in &cases() {
        for api in [Api::Vec, Api::Into] {
            // A child blocked writing 1 MiB into a 64 KiB pipe reaches its
            // point only while the parent reads.
            if case.raw.len() <= 64 * 1024 {
                writer_killed(case, false, When::AfterDeath, api);
            }
            writer_killed(case, false, When::WhileKilled, api);
        }
    }
}

#[test]
fn socket_writer_killed_at_any_point() {
    let _g = lock();
    for case in &cases() {
        for api in [Api::Vec, Api::Into] {
            if case.raw.len() <= 64 * 1024 {
                writer_killed(case, true, When::AfterDeath, api);
            }
            writer_killed(case, true, When::WhileKilled, api);
        }
    }
}

// ---------------------------------------------------------------------------
// A reader killed while a large send is blocked.

fn reader_killed_during_send(duplex: bool) {
    let (theirs, mine) = pipe(duplex).expect("pipe");
    let (mut mine, mut theirs) = (Some(mine), Some(theirs));
    let mut rendezvous = Rendezvous::new();
    let mut child = fork::fork(|| {
        drop(mine.take());
        let conn = theirs.take().expect("child end");
        // Take a part of the frame, so the sender is inside it, then wait.
        let mut buf = vec![0; 64 * 1024];
        let mut taken = 0;
        while taken < 300 * 1024 {
            match sys::read(conn.as_fd(), &mut buf) {
                Ok(n) if n > 0 => taken += n,
                _ => return 1,
            }
        }
        rendezvous.arrive();
        park()
    });
    drop(theirs.take());
    rendezvous.parent_side();
    let mut conn = mine.take().expect("parent end");
    let (first, second) = thread::scope(|s| {
        let killer = kill_on_arrival(s, &rendezvous, &child);
        let first = conn.send_bytes(&numbered(4, 8 * MIB));
        assert!(killer.join().expect("killer"), "child lost");
        (first, conn.send_bytes(b"and then"))
    });
    assert_eq!(child.wait(), ExitStatus::Signaled(ipcwire::Signal::KILL));
    let dead = [EPIPE, RESET];
    for got in [first, second] {
        let e = got.expect_err("a send to a dead reader succeeded");
        assert!(dead.contains(&e), "duplex={duplex}: {e:?}");
    }
    if duplex {
        // The child died with unread bytes: a reset, or a plain end.
        conn.set_recv_timeout(Some(PATIENCE));
        let got = conn.recv_bytes();
        assert!(
            got == Err(RESET) || got == Err(Error::Eof),
            "receive after the peer died: {got:?}"
        );
    }
}

#[test]
fn reader_killed_during_a_large_send_is_an_error() {
    let _g = lock();
    reader_killed_during_send(false);
    reader_killed_during_send(true);
}

// ---------------------------------------------------------------------------
// The authkey handshake.

const KEY: &[u8] = b"dead peer key";

/// Runs `role`'s side of the handshake over `conn` with `key`, up to its
/// action number `stop` (sends and receives counted from 0); if that action
/// is a send, only `partial` bytes of its frame go out. Then arrives and
/// waits to be killed.
fn handshake_until(
    conn: &mut Connection,
    role: Role,
    key: &[u8],
    stop: usize,
    partial: usize,
    rendezvous: &Rendezvous,
) -> ! {
    let mut shake = Handshake::new(role, &AuthKey::new(key), [0x5a; 40], true);
    let mut buf = [0; 256];
    for step in 0.. {
        match shake.action() {
            Action::Send(msg) => {
                let raw = frame(msg);
                let n = if step == stop { partial } else { raw.len() };
                if write_all(conn.as_fd(), &raw[..n]).is_err() {
                    sys::exit(2);
                }
            }
            Action::Receive if step == stop => {}
            Action::Receive => match conn.recv_bytes_into(&mut buf) {
                Ok(n) => shake.receive(&buf[..n]),
                Err(_) => sys::exit(3),
            },
            Action::Done(_) => {}
        }
        if step >= stop {
            break;
        }
    }
    rendezvous.arrive();
    park()
}

/// One kill point of a handshake and the outcomes the survivor may see:
/// `Ok(())` is a finished handshake (the peer died after its last word).
struct Point {
    stop: usize,
    partial: usize,
    key: &'static [u8],
    outcomes: &'static [Result<(), Error>],
}

const fn at(stop: usize, partial: usize, outcomes: &'static [Result<(), Error>]) -> Point {
    Point {
        stop,
        partial,
        key: KEY,
        outcomes,
    }
}

const EOF: Result<(), Error> = Err(Error::Eof);
const TRUNCATED: Result<(), Error> = Err(Error::Truncated);
/// The dead peer left our last message unread, or died before it went out.
const GONE: &[Result<(), Error>] = &[EOF, Err(RESET), Err(EPIPE)];

/// The client's actions: 0 receive the challenge, 1 send the response,
/// 2 receive the verdict, 3 send its challenge, 4 receive the response,
/// 5 send the verdict, 6 done.
const CLIENT_KILLED: &[Point] = &[
    at(0, 0, GONE),
    at(1, 0, &[EOF]),
    at(1, 2, &[TRUNCATED]),
    at(1, 4 + 20, &[TRUNCATED]),
    at(2, 0, GONE),
    at(3, 0, &[EOF]),
    at(3, 4 + 30, &[TRUNCATED]),
    at(4, 0, GONE),
    at(5, 0, &[EOF]),
    at(5, 4 + 6, &[TRUNCATED]),
    at(6, 0, &[Ok(())]),
    Point {
        stop: 2,
        partial: 0,
        key: b"another key",
        outcomes: &[Err(Error::Auth(AuthError::BadResponse))],
    },
];

/// The listener's actions: 0 send the challenge, 1 receive the response,
/// 2 send the verdict, 3 receive the client's challenge, 4 send the
/// response, 5 receive the verdict, 6 done.
const LISTENER_KILLED: &[Point] = &[
    at(0, 0, &[EOF]),
    at(0, 2, &[TRUNCATED]),
    at(0, 4 + 30, &[TRUNCATED]),
    at(1, 0, GONE),
    at(2, 0, &[EOF]),
    at(2, 4 + 5, &[TRUNCATED]),
    at(3, 0, GONE),
    at(4, 0, &[EOF]),
    at(4, 4 + 10, &[TRUNCATED]),
    at(5, 0, &[Ok(()), Err(RESET), Err(EPIPE)]),
    at(6, 0, &[Ok(())]),
    Point {
        stop: 3,
        partial: 0,
        key: b"another key",
        outcomes: &[Err(Error::Auth(AuthError::Rejected))],
    },
];

fn addresses() -> [Address; 2] {
    let name = paths::unique("dead-peer");
    [
        Address::abstract_name(name.as_bytes()).expect("abstract name"),
        "tcp:127.0.0.1:0".parse().expect("tcp address"),
    ]
}

/// After a handshake that "succeeded" with a peer that is now dead, the
/// connection says so, and never yields a message.
fn check_dead_after_handshake(conn: &mut Connection, what: &str) {
    conn.set_recv_timeout(Some(PATIENCE));
    let got = conn.recv_bytes();
    assert!(
        got == Err(Error::Eof) || got == Err(RESET),
        "{what}: receive from the dead peer: {got:?}"
    );
}

#[test]
fn client_killed_inside_the_handshake() {
    let _g = lock();
    for addr in addresses() {
        let mut listener = Listener::bind(&addr)
            .expect("bind")
            .authkey(KEY)
            .handshake_timeout(PATIENCE);
        let addr = *listener.local_addr();
        for point in CLIENT_KILLED {
            let what = format!(
                "{addr}: client killed at action {}+{}",
                point.stop, point.partial
            );
            let mut rendezvous = Rendezvous::new();
            let mut child = fork::fork(|| {
                let Ok(mut conn) = Client::new().connect(&addr) else {
                    return 1;
                };
                handshake_until(
                    &mut conn,
                    Role::Client,
                    point.key,
                    point.stop,
                    point.partial,
                    &rendezvous,
                )
            });
            rendezvous.parent_side();
            let start = Instant::now();
            let accepted = thread::scope(|s| {
                let killer = kill_on_arrival(s, &rendezvous, &child);
                let accepted = listener.accept();
                assert!(killer.join().expect("killer"), "{what}: child lost");
                accepted
            });
            assert_eq!(
                child.wait(),
                ExitStatus::Signaled(ipcwire::Signal::KILL),
                "{what}"
            );
            let outcome = accepted.as_ref().map(drop).map_err(|e| *e);
            assert!(
                point.outcomes.contains(&outcome),
                "{what}: accept gave {outcome:?}, expected one of {:?}",
                point.outcomes
            );
            assert!(start.elapsed() < PATIENCE, "{what}: took the whole timeout");
            if let Ok((mut conn, _)) = accepted {
                check_dead_after_handshake(&mut conn, &what);
            }
            // The listener goes on serving.
            let good = thread::spawn(move || -> Result<(), Error> {
                let mut conn = Client::new().authkey(KEY).connect(&addr)?;
                conn.send_bytes(b"still serving")
            });
            let (mut conn, _) = listener.accept().expect("the next client");
            assert_eq!(conn.recv_bytes().expect("its message"), b"still serving");
            good.join().expect("client thread").expect("good client");
        }
    }
}

#[test]
fn listener_killed_inside_the_handshake() {
    let _g = lock();
    for addr in addresses() {
        // No key here: the child runs the listener's side by hand.
        let mut listener = Listener::bind(&addr).expect("bind");
        let addr = *listener.local_addr();
        for point in LISTENER_KILLED {
            let what = format!(
                "{addr}: listener killed at action {}+{}",
                point.stop, point.partial
            );
            let mut rendezvous = Rendezvous::new();
            let mut child = fork::fork(|| {
                let Ok((mut conn, _)) = listener.accept() else {
                    return 1;
                };
                handshake_until(
                    &mut conn,
                    Role::Listener,
                    point.key,
                    point.stop,
                    point.partial,
                    &rendezvous,
                )
            });
            rendezvous.parent_side();
            let start = Instant::now();
            let connected = thread::scope(|s| {
                let killer = kill_on_arrival(s, &rendezvous, &child);
                let connected = Client::new().authkey(KEY).timeout(PATIENCE).connect(&addr);
                assert!(killer.join().expect("killer"), "{what}: child lost");
                connected
            });
            assert_eq!(
                child.wait(),
                ExitStatus::Signaled(ipcwire::Signal::KILL),
                "{what}"
            );
            let outcome = connected.as_ref().map(drop).map_err(|e| *e);
            assert!(
                point.outcomes.contains(&outcome),
                "{what}: connect gave {outcome:?}, expected one of {:?}",
                point.outcomes
            );
            assert!(start.elapsed() < PATIENCE, "{what}: took the whole timeout");
            if let Ok(mut conn) = connected {
                check_dead_after_handshake(&mut conn, &what);
            }
        }
    }
}

/// A peer that connects and then says nothing is cut off by the handshake
/// timeout, not waited on forever (the bound that the kills above never
/// needed).
#[test]
fn silent_client_is_cut_off_by_the_handshake_timeout() {
    let _g = lock();
    let mut listener = Listener::bind(&addresses()[1])
        .expect("bind")
        .authkey(KEY)
        .handshake_timeout(Duration::from_millis(300));
    let addr = *listener.local_addr();
    let silent = Client::new().connect(&addr).expect("connect");
    let start = Instant::now();
    let got = listener.accept().map(drop);
    let took = start.elapsed();
    assert_eq!(got, Err(Error::Io(Errno::TIMEDOUT)));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(10),
        "{took:?}"
    );
    drop(silent);
}

/// Every face of "the peer is gone" is a disconnect, and nothing else is.
#[test]
fn is_disconnect_names_every_face_of_a_gone_peer() {
    for gone in [
        Error::Eof,
        Error::Truncated,
        EPIPE,
        RESET,
        Error::Io(Errno::CONNABORTED),
        Error::Io(Errno::SHUTDOWN),
    ] {
        assert!(gone.is_disconnect(), "{gone:?}");
    }
    for other in [
        Error::Io(Errno::AGAIN),
        Error::Io(Errno::TIMEDOUT),
        Error::Io(Errno::CONNREFUSED),
        Error::Io(Errno::BADF),
        Error::TooLong { len: 1, max: 0 },
        Error::NegativeLength(-2),
        Error::Auth(AuthError::BadResponse),
    ] {
        assert!(!other.is_disconnect(), "{other:?}");
    }
}

/// A peer that goes away with a message of ours still unread resets a
/// socket (Unix and TCP alike): the next receive is `Io(ECONNRESET)`, not
/// `Eof`, as Python's `ConnectionResetError`. It is a disconnect.
#[test]
fn a_peer_gone_with_a_message_unread_is_a_disconnect() {
    let _g = lock();
    let (mut a, b) = pipe(true).expect("socketpair");
    a.send_bytes(b"never read").expect("send");
    drop(b);
    let got = a.recv_bytes();
    assert_eq!(got, Err(RESET), "socketpair");
    assert!(got.unwrap_err().is_disconnect());
    for addr in addresses() {
        let mut listener = Listener::bind(&addr).expect("bind");
        let addr = *listener.local_addr();
        let client = thread::spawn(move || Client::new().connect(&addr).expect("connect"));
        let (mut conn, _) = listener.accept().expect("accept");
        conn.send_bytes(b"never read").expect("send");
        drop(client.join().expect("client"));
        let got = conn.recv_bytes();
        assert_eq!(got, Err(RESET), "{addr}");
        assert!(got.unwrap_err().is_disconnect());
    }
}

/// A client that hangs up during the handshake, with the listener's
/// challenge unread, gives `accept` a disconnect.
#[test]
fn a_client_gone_during_the_handshake_is_a_disconnect() {
    let _g = lock();
    for addr in addresses() {
        let mut listener = Listener::bind(&addr).expect("bind").authkey(b"key");
        let addr = *listener.local_addr();
        let client = thread::spawn(move || {
            let conn = Client::new().connect(&addr).expect("connect");
            // Wait for the challenge, then hang up without reading it.
            conn.poll(Some(PATIENCE)).expect("poll");
        });
        let got = listener.accept().map(drop);
        client.join().expect("client");
        let e = got.expect_err("a client that hung up");
        assert!(e.is_disconnect(), "{addr}: {e:?}");
    }
}
