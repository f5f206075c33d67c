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
//!
//! Exit status: 0 when all went well, 1 when the exchange failed, and 2
//! on a bad command line, after printing what was wrong and the usage on
//! stderr (`--help` prints the usage on stdout).

use std::io::Write;
use std::process::ExitCode;

use ipcwire::{Address, Client, Connection, Error, Listener};

type Failure = Box<dyn std::error::Error>;

const USAGE: &str = "usage: echo server ADDR [--authkey KEY] [--conns N]
       echo client ADDR [--authkey KEY] SIZE...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.first().map(String::as_str), Some("--help" | "-h")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (role, args) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("echo: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match role {
        Role::Server => server(args),
        Role::Client => client(args),
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

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Server,
    Client,
}

/// The command line after the role: the address, options, and the rest.
struct Args {
    addr: Address,
    authkey: Option<String>,
    conns: u64,
    sizes: Vec<usize>,
}

/// The role and its arguments, or what is wrong with the command line.
fn parse(args: &[String]) -> Result<(Role, Args), String> {
    let (role, args) = args
        .split_first()
        .ok_or("no role given: server or client")?;
    let role = match role.as_str() {
        "server" => Role::Server,
        "client" => Role::Client,
        other => return Err(format!("unknown role {other:?}: server or client")),
    };
    let (addr, mut rest) = args.split_first().ok_or("no ADDR given")?;
    let mut parsed = Args {
        addr: addr.parse().map_err(|e| format!("ADDR {addr:?}: {e}"))?,
        authkey: None,
        conns: 1,
        sizes: Vec::new(),
    };
    while let Some((arg, tail)) = rest.split_first() {
        rest = tail;
        match arg.as_str() {
            "--authkey" => {
                let (key, tail) = rest.split_first().ok_or("--authkey needs a KEY")?;
                parsed.authkey = Some(key.clone());
                rest = tail;
            }
            "--conns" if role == Role::Server => {
                let (n, tail) = rest.split_first().ok_or("--conns needs a number N")?;
                parsed.conns = n.parse().map_err(|e| format!("--conns {n:?}: {e}"))?;
                rest = tail;
            }
            size if role == Role::Client && !size.starts_with('-') => {
                parsed
                    .sizes
                    .push(size.parse().map_err(|e| format!("SIZE {size:?}: {e}"))?);
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok((role, parsed))
}

fn server(args: Args) -> Result<(), Failure> {
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

fn client(args: Args) -> Result<(), Failure> {
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
