//! A keyed `Listener` under a flood of clients that never finish the
//! handshake: silent ones and ones that trickle a byte at a time. A slow or
//! silent client never delays another client's handshake, the handshakes in
//! progress are bounded, and nothing leaks. (Its own file, alone, because
//! it counts this process's descriptors.)

#[path = "common/fds.rs"]
mod fds;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use ipcwire::{Client, Listener, MAX_HANDSHAKES};

const KEY: &[u8] = b"flood";
const SILENT: usize = 50;
const TRICKLING: usize = 10;

#[test]
fn silent_and_trickling_clients_never_delay_a_real_one() {
    let before = fds::count_fds();
    let mut listener = Listener::bind(&"tcp:127.0.0.1:0".parse().unwrap())
        .expect("bind")
        .authkey(KEY);
    let addr = *listener.local_addr();
    let sockaddr = match addr {
        ipcwire::Address::Tcp(a) => a,
        _ => unreachable!(),
    };
    // The server accepts until it gets a client through, then echoes one
    // message; every failed handshake it reports on the way is counted.
    let (accepted_tx, accepted_rx) = mpsc::channel();
    let server = thread::spawn(move || {
        let mut failures = 0;
        let result = loop {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    accepted_tx.send(Instant::now()).expect("report");
                    let msg = conn.recv_bytes();
                    break msg.and_then(|m| conn.send_bytes(&m));
                }
                Err(_) => failures += 1,
            }
        };
        (result, failures, listener)
    });

    // Silent clients, and clients that send a byte every 100 ms.
    let silent: Vec<TcpStream> = (0..SILENT)
        .map(|_| TcpStream::connect(sockaddr).expect("silent client"))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let stop = Arc::clone(&stop);
        let mut socks: Vec<TcpStream> = (0..TRICKLING)
            .map(|_| TcpStream::connect(sockaddr).expect("trickling client"))
            .collect();
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for sock in &mut socks {
                    let _ = sock.write_all(b"\0");
                }
                thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // More silent clients than the listener keeps handshakes for.
    let extra: Vec<TcpStream> = (0..MAX_HANDSHAKES)
        .map(|_| TcpStream::connect(sockaddr).expect("extra silent client"))
        .collect();
    thread::sleep(Duration::from_millis(300));
    // Besides the clients' own sockets and the listening socket, what the
    // listener holds: its handshakes in progress.
    let held = fds::count_fds() - before - SILENT - TRICKLING - extra.len() - 1;
    assert!(
        held <= MAX_HANDSHAKES + 4,
        "{held} descriptors held for {MAX_HANDSHAKES} handshakes in progress"
    );

    let started = Instant::now();
    let mut conn = Client::new()
        .authkey(KEY)
        .connect(&addr)
        .expect("the real client gets in");
    let connected = started.elapsed();
    let accepted = accepted_rx
        .recv_timeout(Duration::from_secs(15))
        .expect("the real client is accepted")
        - started;
    conn.send_bytes(b"real").expect("send");
    assert_eq!(conn.recv_bytes().expect("echo"), b"real");
    stop.store(true, Ordering::Relaxed);
    trickle.join().expect("trickler");
    let (result, failures, listener) = server.join().expect("server");
    result.expect("the server's exchange");
    eprintln!(
        "connect returned after {connected:?}, accepted after {accepted:?}; \
         {failures} failed handshakes reported; {held} descriptors held"
    );
    assert!(
        connected < Duration::from_secs(1),
        "connect took {connected:?}"
    );
    assert!(
        accepted < Duration::from_secs(1),
        "accept took {accepted:?}"
    );

    drop((conn, silent, extra, listener));
    assert_eq!(fds::count_fds(), before, "descriptors leaked");
}
