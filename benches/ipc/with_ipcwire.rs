//! The crate under test, used as its documentation suggests: `send_bytes`
//! on the sender, `recv_bytes_into` a reused buffer on the receiver (no
//! allocation per message).

use std::time::Duration;

use ipcwire::{Connection, Error};

use crate::harness::{self, Checker, Fault, Message};
use crate::workload::{Pattern, Spec};
use crate::BoxResult;

pub fn run(spec: &Spec) -> BoxResult<Duration> {
    match spec.pattern {
        Pattern::OneWay => {
            let (reader, writer) = match spec.pipe_size {
                Some(size) => ipcwire::pipe_with_capacity(size)?,
                None => ipcwire::pipe(false)?,
            };
            let send = |conn| send_all(conn, spec);
            harness::measure(spec, writer, reader, send, receive_all)
        }
        Pattern::PingPong => {
            let (parent, child) = ipcwire::pipe(true)?;
            let ping = |conn| ping_all(conn, spec);
            harness::measure(spec, parent, child, ping, echo_all)
        }
    }
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
