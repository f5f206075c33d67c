//! Listeners and clients with authkeys, over real sockets: who gets in,
//! who is refused, and that nothing waits without bound.

#[path = "common/paths.rs"]
mod paths;

use std::thread;
use std::time::{Duration, Instant};

use ipcwire::handshake::{Action, AuthError, AuthKey, Handshake, Role};
use ipcwire::sys::Errno;
use ipcwire::{Address, Client, Error, Listener};
use paths::{unique, TempPath};

fn tcp_listener() -> Listener {
    Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap()).unwrap()
}

/// Runs `client` against `addr` on a thread; joins it for the result.
fn spawn_client(
    client: Client,
    addr: Address,
    msg: &'static [u8],
) -> thread::JoinHandle<Result<Vec<u8>, Error>> {
    thread::spawn(move || {
        let mut conn = client.connect(&addr)?;
        conn.send_bytes(msg)?;
        conn.recv_bytes()
    })
}

/// Accepts one client and echoes one message.
fn serve_one(listener: &mut Listener) -> Result<(), Error> {
    let (mut conn, _) = listener.accept()?;
    let msg = conn.recv_bytes()?;
    conn.send_bytes(&msg)
}

#[test]
fn the_same_key_gets_in_on_every_family() {
    let path = TempPath::new("auth");
    for text in [
        path.address().to_string(),
        format!("abstract:{}", unique("auth")),
        "tcp:127.0.0.1:0".to_owned(),
    ] {
        let mut listener = Listener::bind(&text.parse().unwrap())
            .unwrap()
            .authkey(b"secret");
        let client = spawn_client(
            Client::new().authkey(b"secret"),
            *listener.local_addr(),
            b"hi",
        );
        serve_one(&mut listener).unwrap();
        assert_eq!(client.join().unwrap(), Ok(b"hi".to_vec()), "{text}");
    }
}

#[test]
fn a_wrong_key_fails_on_both_sides_and_the_listener_goes_on() {
    let mut listener = tcp_listener().authkey(b"secret");
    let addr = *listener.local_addr();
    let intruder = spawn_client(Client::new().authkey(b"guess"), addr, b"let me in");
    assert_eq!(
        listener.accept().err(),
        Some(Error::Auth(AuthError::BadResponse))
    );
    assert_eq!(
        intruder.join().unwrap(),
        Err(Error::Auth(AuthError::Rejected))
    );
    let friend = spawn_client(Client::new().authkey(b"secret"), addr, b"hello");
    serve_one(&mut listener).unwrap();
    assert_eq!(friend.join().unwrap(), Ok(b"hello".to_vec()));
}

#[test]
fn a_keyless_client_never_delivers_a_message() {
    let mut listener = tcp_listener().authkey(b"secret");
    let addr = *listener.local_addr();
    // Its first message is taken as a (wrong) digest; accept fails at once.
    let keyless = spawn_client(Client::new(), addr, b"application data");
    let started = Instant::now();
    assert_eq!(
        listener.accept().err(),
        Some(Error::Auth(AuthError::BadResponse))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The keyless client reads the challenge as if it were a reply.
    let reply = keyless.join().unwrap().unwrap();
    assert!(reply.starts_with(b"#CHALLENGE#"), "{reply:?}");
}

#[test]
fn a_keyed_client_against_a_keyless_listener_times_out() {
    let mut listener = tcp_listener();
    let addr = *listener.local_addr();
    let started = Instant::now();
    let client = thread::spawn(move || {
        Client::new()
            .authkey(b"secret")
            .timeout(Duration::from_millis(300))
            .connect(&addr)
    });
    let (_conn, _) = listener.accept().unwrap();
    let result = client.join().unwrap();
    assert_eq!(result.err(), Some(Error::Io(Errno::TIMEDOUT)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn a_silent_client_cannot_hold_accept_beyond_the_timeout() {
    let mut listener = tcp_listener()
        .authkey(b"secret")
        .handshake_timeout(Duration::from_millis(200));
    let addr = *listener.local_addr();
    // Connects and says nothing (a half-open or stuck peer).
    let silent = Client::new().connect(&addr).unwrap();
    let started = Instant::now();
    assert_eq!(listener.accept().err(), Some(Error::Io(Errno::TIMEDOUT)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    drop(silent);
    // The next, honest client is served.
    let friend = spawn_client(Client::new().authkey(b"secret"), addr, b"ok");
    serve_one(&mut listener).unwrap();
    assert_eq!(friend.join().unwrap(), Ok(b"ok".to_vec()));
}

#[test]
fn an_oversized_handshake_message_is_refused_without_reading_it() {
    let mut listener = tcp_listener().authkey(b"secret");
    let addr = *listener.local_addr();
    let flooder = thread::spawn(move || {
        let mut conn = Client::new().connect(&addr).unwrap();
        // 4 KiB where a handshake message may have at most 256 bytes.
        let _ = conn.send_bytes(&[0x41; 4096]);
        let _ = conn.recv_bytes();
    });
    assert_eq!(
        listener.accept().err(),
        Some(Error::Auth(AuthError::TooLong))
    );
    flooder.join().unwrap();
}

#[test]
fn require_sha256_still_admits_sha256_peers() {
    let mut listener = tcp_listener().authkey(b"secret").require_sha256();
    let client = Client::new().authkey(b"secret").require_sha256();
    let handle = spawn_client(client, *listener.local_addr(), b"modern");
    serve_one(&mut listener).unwrap();
    assert_eq!(handle.join().unwrap(), Ok(b"modern".to_vec()));
}

/// A keyed client that pauses `pause` before each of its messages, driving
/// the handshake state machine by hand over a keyless connection.
fn slow_client(addr: Address, pause: Duration) -> Result<Vec<u8>, Error> {
    let mut conn = Client::new().connect(&addr)?;
    let key = AuthKey::new(b"secret");
    let mut shake = Handshake::new(Role::Client, &key, [7; 40], true);
    loop {
        match shake.action() {
            Action::Send(msg) => {
                let msg = msg.to_vec();
                thread::sleep(pause);
                conn.send_bytes(&msg)?;
            }
            Action::Receive => shake.receive(&conn.recv_bytes()?),
            Action::Done(Ok(())) => {
                conn.send_bytes(b"late")?;
                return conn.recv_bytes();
            }
            Action::Done(Err(e)) => return Err(Error::Auth(e)),
        }
    }
}

/// A client that arrives after the listener waited longer than the
/// handshake timeout still gets the whole timeout for its handshake.
#[test]
fn a_client_after_a_long_idle_accept_gets_its_whole_timeout() {
    let mut listener = tcp_listener()
        .authkey(b"secret")
        .handshake_timeout(Duration::from_millis(400));
    let addr = *listener.local_addr();
    let late = thread::spawn(move || {
        thread::sleep(Duration::from_millis(600));
        // Three answers of 50 ms each: well within the timeout.
        slow_client(addr, Duration::from_millis(50))
    });
    serve_one(&mut listener).expect("the late client is served");
    assert_eq!(late.join().unwrap(), Ok(b"late".to_vec()));
}

/// Handshakes age only while `accept` runs: clients whose handshakes are
/// in progress while the program serves another client for longer than the
/// handshake timeout are still served by the next `accept`.
#[test]
fn handshakes_do_not_age_while_the_program_serves_a_client() {
    let mut listener = tcp_listener()
        .authkey(b"secret")
        .handshake_timeout(Duration::from_millis(300));
    let addr = *listener.local_addr();
    let clients: Vec<_> = (0..3)
        .map(|_| spawn_client(Client::new().authkey(b"secret"), addr, b"hi"))
        .collect();
    for _ in 0..3 {
        let (mut conn, _) = listener.accept().expect("accept");
        let msg = conn.recv_bytes().expect("recv");
        // Serving takes longer than the handshake timeout.
        thread::sleep(Duration::from_millis(500));
        conn.send_bytes(&msg).expect("send");
    }
    for client in clients {
        assert_eq!(client.join().unwrap(), Ok(b"hi".to_vec()));
    }
}

/// `require_sha256` holds whether it comes before or after `authkey`, on
/// both sides: against a peer that speaks only MD5, the handshake fails
/// with `Md5Refused`.
#[test]
fn require_sha256_holds_in_either_order() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let frame = |msg: &[u8]| [&(msg.len() as u32).to_be_bytes()[..], msg].concat();
    for client in [
        Client::new().require_sha256().authkey(b"secret"),
        Client::new().authkey(b"secret").require_sha256(),
    ] {
        // A listener offering a legacy challenge (Python 3.11's: 20 bytes).
        let legacy = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = Address::Tcp(legacy.local_addr().unwrap());
        let server = thread::spawn(move || {
            let (mut sock, _) = legacy.accept().unwrap();
            sock.write_all(&frame(&[&b"#CHALLENGE#"[..], &[7; 20]].concat()))
                .unwrap();
            let mut rest = Vec::new();
            let _ = sock.read_to_end(&mut rest);
            rest
        });
        let got = client.connect(&addr).map(drop);
        assert_eq!(got, Err(Error::Auth(AuthError::Md5Refused)));
        assert_eq!(server.join().unwrap(), b"", "the client answered");
    }
    for order in 0..2 {
        let listener = tcp_listener();
        let mut listener = if order == 0 {
            listener.require_sha256().authkey(b"secret")
        } else {
            listener.authkey(b"secret").require_sha256()
        };
        let addr = listener.local_addr().to_string();
        let addr = addr.strip_prefix("tcp:").unwrap().to_owned();
        // A client answering with a raw HMAC-MD5 (16 bytes), as Python 3.11.
        let client = thread::spawn(move || {
            let mut sock = TcpStream::connect(addr).unwrap();
            sock.write_all(&frame(&[0; 16])).unwrap();
            let mut rest = Vec::new();
            let _ = sock.read_to_end(&mut rest);
        });
        assert_eq!(
            listener.accept().err(),
            Some(Error::Auth(AuthError::Md5Refused)),
            "order {order}"
        );
        client.join().unwrap();
    }
}
