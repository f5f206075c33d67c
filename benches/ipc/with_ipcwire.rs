//! The crate under test, used as its documentation suggests: `send_bytes`
//! on the sender, `recv_bytes_into` a reused buffer on the receiver (no
//! allocation per message). A ping-pong runs over `pipe(true)`'s socket
//! pair or over `duplex_pipes()`'s two pipes; either way each side holds
//! one `Connection` that both sends and receives.
//!
//! A `w1b` workload sends its messages a batch at a time with
//! `send_bytes_batch` (reused buffers, only the sequence numbers change)
//! and receives each where the connection read it: `recv_bytes_borrowed`,
//! then `recv_buffered` for the messages the same read brought in.
//!
//! In a `-seccomp` workload both sides run in forked children, each
//! confined before the clock starts by a filter that kills it on any call
//! outside the inventory entries of the functions it calls (see
//! `seccomp.rs`).

use std::time::Duration;

use ipcwire::{Connection, Error};

use crate::harness::{self, Checker, Confine, Fault, Message};
use crate::workload::{Duplex, Pattern, Spec};
use crate::{seccomp, BoxResult};

/// What each side calls, as the inventory names it, for its filter.
const SEND: &str = "Connection::send_bytes";
const RECV: &str = "Connection::recv_bytes_into";
const SEND_BATCH: &str = "Connection::send_bytes_batch";
const RECV_BORROWED: &str = "Connection::recv_bytes_borrowed";
const RECV_BUFFERED: &str = "Connection::recv_buffered";
const DROP: &str = "drop(Connection)";

pub fn run(spec: &Spec) -> BoxResult<Duration> {
    match spec.pattern {
        Pattern::OneWay => {
            let (reader, writer) = match spec.pipe_size {
                Some(size) => ipcwire::pipe_with_capacity(size)?,
                None => ipcwire::pipe(false)?,
            };
            if let Some(batch) = spec.batch {
                let send = |conn| send_batches(conn, spec, batch);
                let calls: Calls = (&[SEND_BATCH, DROP], &[RECV_BORROWED, RECV_BUFFERED, DROP]);
                return measure(spec, writer, reader, send, receive_borrowed, calls);
            }
            let send = |conn| send_all(conn, spec);
            let calls: Calls = (&[SEND, DROP], &[RECV, DROP]);
            measure(spec, writer, reader, send, receive_all, calls)
        }
        Pattern::PingPong(duplex) => {
            let (parent, child) = match duplex {
                Duplex::SocketPair => ipcwire::pipe(true)?,
                Duplex::TwoPipes => ipcwire::duplex_pipes()?,
            };
            let ping = |conn| ping_all(conn, spec);
            let calls: Calls = (&[SEND, RECV, DROP], &[RECV, SEND, DROP]);
            measure(spec, parent, child, ping, echo_all, calls)
        }
    }
}

/// The functions the sender and the receiver call.
type Calls = (&'static [&'static str], &'static [&'static str]);

/// `harness::measure`, or for a `-seccomp` spec `measure_confined`, each
/// side's filter allowing its `calls`.
fn measure(
    spec: &Spec,
    sender_end: Connection,
    receiver_end: Connection,
    send: impl FnOnce(Connection) -> BoxResult<()>,
    receive: impl FnOnce(Connection, &mut Checker) -> Result<(), Fault>,
    (sender, receiver): Calls,
) -> BoxResult<Duration> {
    if !spec.seccomp {
        return harness::measure(spec, sender_end, receiver_end, send, receive);
    }
    let (sender, receiver) = (seccomp::filter(sender)?, seccomp::filter(receiver)?);
    let confine = Confine {
        sender: &|| sender.install().is_ok(),
        receiver: &|| receiver.install().is_ok(),
    };
    harness::measure_confined(spec, sender_end, receiver_end, send, receive, &confine)
}

fn send_all(mut conn: Connection, spec: &Spec) -> BoxResult<()> {
    let mut msg = Message::new(spec.size);
    for seq in 0..spec.count {
        msg.set_seq(seq);
        conn.send_bytes(msg.payload())?;
    }
    Ok(())
}

fn receive_all(mut conn: Connection, checker: &mut Checker) -> Result<(), Fault> {
    let mut buf = vec![0; checker.size()];
    loop {
        match conn.recv_bytes_into(&mut buf) {
            Ok(n) => checker.check(&buf[..n])?,
            Err(Error::Eof) => return Ok(()),
            Err(_) => return Err(Fault::Recv),
        }
    }
}

/// One message of a batch: what `send_bytes_batch` takes is its payload.
struct Outgoing(Message);

impl AsRef<[u8]> for Outgoing {
    fn as_ref(&self) -> &[u8] {
        self.0.payload()
    }
}

/// Sends the messages `batch` at a time. The batch's buffers are made
/// once; each round only writes their sequence numbers.
fn send_batches(mut conn: Connection, spec: &Spec, batch: usize) -> BoxResult<()> {
    let mut msgs: Vec<Outgoing> = (0..batch)
        .map(|_| Outgoing(Message::new(spec.size)))
        .collect();
    let mut seq = 0;
    while seq < spec.count {
        let n = usize::try_from(spec.count - seq).map_or(batch, |left| left.min(batch));
        for msg in &mut msgs[..n] {
            msg.0.set_seq(seq);
            seq += 1;
        }
        conn.send_bytes_batch(&msgs[..n])?;
    }
    Ok(())
}

/// Checks each message where the connection read it: one borrowed
/// receive, which reads when nothing waits, then every message that read
/// brought in whole.
fn receive_borrowed(mut conn: Connection, checker: &mut Checker) -> Result<(), Fault> {
    loop {
        match conn.recv_bytes_borrowed() {
            Ok(msg) => checker.check(msg)?,
            Err(Error::Eof) => return Ok(()),
            Err(_) => return Err(Fault::Recv),
        }
        while let Some(msg) = conn.recv_buffered() {
            checker.check(msg)?;
        }
    }
}

/// Sends each message and checks its echo before sending the next.
fn ping_all(mut conn: Connection, spec: &Spec) -> BoxResult<()> {
    let mut msg = Message::new(spec.size);
    let mut echoes = Checker::new(spec.size);
    let mut buf = vec![0; spec.size];
    for seq in 0..spec.count {
        msg.set_seq(seq);
        conn.send_bytes(msg.payload())?;
        let n = conn.recv_bytes_into(&mut buf)?;
        echoes
            .check(&buf[..n])
            .map_err(|f| format!("echo {seq}: {f:?}"))?;
    }
    Ok(())
}

fn echo_all(mut conn: Connection, checker: &mut Checker) -> Result<(), Fault> {
    let mut buf = vec![0; checker.size()];
    loop {
        let n = match conn.recv_bytes_into(&mut buf) {
            Ok(n) => n,
            Err(Error::Eof) => return Ok(()),
            Err(_) => return Err(Fault::Recv),
        };
        checker.check(&buf[..n])?;
        conn.send_bytes(&buf[..n]).map_err(|_| Fault::Send)?;
    }
}
