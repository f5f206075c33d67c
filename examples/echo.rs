//! An echo server and client over any address ipcwire speaks.
//!
//! ```text
//! echo server ADDR [--authkey KEY] [--conns N]
//! echo client ADDR [--authkey KEY] SIZE...
//! ```
//!
//! The server binds ADDR (`unix:/path`, `abstract:name`, `tcp:127.0.0.1:0`,
//! `tcp:[::1]:0`), prints `READY <bound address>`, then serves N connections
//! (default 1) one after another, sending each message back reversed. A
//! connection that fails (a malformed frame, a vanished peer, a failed
//! handshake) is reported on stderr and the server goes on. With
//! `--authkey`, both sides run Python's authkey handshake, so either may be
//! a Python `multiprocessing.connection` peer with the same key.
//!
//! The client sends one message per SIZE, byte k of message i being
//! `(i + k) % 251`, checks each reply is its reverse, and prints
//! `OK <count> messages`.

use std::io::Write;
use std::process::ExitCode;

use ipcwire::{Address, Client, Connection, Error, Listener};

type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("server") => server(&args[1..]),
        Some("client") => client(&args[1..]),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {}", chain(&*e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its sources on one line, such as "the authkey handshake
/// failed: authentication failed".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn usage() -> Failure {
    "usage: echo server ADDR [--authkey KEY] [--conns N]\n       echo client ADDR [--authkey KEY] SIZE...".into()
}

/// The command line after the role: the address, options, and the rest.
struct Args {
    addr: Address,
    authkey: Option<String>,
    conns: u64,
    sizes: Vec<usize>,
}

fn parse(args: &[String], role: &str) -> Result<Args, Failure> {
    let (addr, mut rest) = args.split_first().ok_or_else(usage)?;
    let mut parsed = Args {
        addr: addr.parse()?,
        authkey: None,
        conns: 1,
        sizes: Vec::new(),
    };
    while let Some((arg, tail)) = rest.split_first() {
        rest = tail;
        match arg.as_str() {
            "--authkey" => {
                let (key, tail) = rest.split_first().ok_or_else(usage)?;
                parsed.authkey = Some(key.clone());
                rest = tail;
            }
            "--conns" if role == "server" => {
                let (n, tail) = rest.split_first().ok_or_else(usage)?;
                parsed.conns = n.parse()?;
                rest = tail;
            }
            size if role == "client" => parsed.sizes.push(size.parse()?),
            _ => return Err(usage()),
        }
    }
    Ok(parsed)
}

fn server(args: &[String]) -> Result<(), Failure> {
    let args = parse(args, "server")?;
    let mut listener = Listener::bind(&args.addr)?;
    if let Some(key) = &args.authkey {
        listener = listener.authkey(key.as_bytes());
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "READY {}", listener.local_addr())?;
    stdout.flush()?;
    for n in 1..=args.conns {
        match listener.accept() {
            Ok((mut conn, peer)) => {
                match echo_all(&mut conn) {
                    Ok(()) => {}
                    // Gone otherwise than between messages: killed, or left
                    // with a reply unread (ECONNRESET) or a message cut short.
                    Err(e) if e.is_disconnect() => {
                        eprintln!(
                            "echo: connection {n} from {peer}: client gone: {}",
                            chain(&e)
                        )
                    }
                    Err(e) => eprintln!("echo: connection {n} from {peer}: {}", chain(&e)),
                }
            }
            Err(e) => eprintln!("echo: connection {n}: {}", chain(&e)),
        }
    }
    Ok(())
}

/// Sends every message back reversed until the client closes.
fn echo_all(conn: &mut Connection) -> Result<(), Error> {
    loop {
        let mut msg = match conn.recv_bytes() {
            Err(Error::Eof) => return Ok(()),
            other => other?,
        };
        msg.reverse();
        conn.send_bytes(&msg)?;
    }
}

fn client(args: &[String]) -> Result<(), Failure> {
    let args = parse(args, "client")?;
    let mut client = Client::new();
    if let Some(key) = &args.authkey {
        client = client.authkey(key.as_bytes());
    }
    let mut conn = client.connect(&args.addr)?;
    for (i, &size) in args.sizes.iter().enumerate() {
        let msg: Vec<u8> = (0..size).map(|k| ((i + k) % 251) as u8).collect();
        conn.send_bytes(&msg)?;
        let reply = conn.recv_bytes()?;
        if !reply.iter().eq(msg.iter().rev()) {
            return Err(format!("message {i} ({size} bytes): reply is not its reverse").into());
        }
    }
    println!("OK {} messages", args.sizes.len());
    Ok(())
}
