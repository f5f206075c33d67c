//! What framing code typically looks like with std alone: a 4-byte
//! big-endian length prefix, `write_all` of the header then of the payload
//! on the unbuffered descriptor, and `BufReader` + `read_exact` on the
//! receiver into a reused `Vec`. A ping-pong reads and writes a
//! `UnixStream`, or over two pipes reads one `File` and writes another.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::harness::{self, Checker, Fault, Message};
use crate::os;
use crate::workload::{Duplex, Pattern, Spec};
use crate::BoxResult;

pub fn run(spec: &Spec) -> BoxResult<Duration> {
    match spec.pattern {
        Pattern::OneWay => {
            let (reader, writer) = os::pipe(spec.pipe_size)?;
            let (reader, writer) = (File::from(reader), File::from(writer));
            let send = |file| send_all(file, spec);
            harness::measure(spec, writer, reader, send, receive_all)
        }
        Pattern::PingPong(Duplex::SocketPair) => {
            let (parent, child) = UnixStream::pair()?;
            let ping = |stream: UnixStream| ping_all(&stream, &stream, spec);
            let echo =
                |stream: UnixStream, checker: &mut Checker| echo_all(&stream, &stream, checker);
            harness::measure(spec, parent, child, ping, echo)
        }
        Pattern::PingPong(Duplex::TwoPipes) => {
            let (parent, child) = os::two_pipes()?;
            let files = |(reader, writer)| (File::from(reader), File::from(writer));
            let ping = |(reader, writer)| ping_all(reader, writer, spec);
            let echo = |(reader, writer), checker: &mut Checker| echo_all(reader, writer, checker);
            harness::measure(spec, files(parent), files(child), ping, echo)
        }
    }
}

fn send_all(mut file: File, spec: &Spec) -> BoxResult<()> {
    let mut msg = Message::new(spec.size);
    for seq in 0..spec.count {
        msg.set_seq(seq);
        write_frame(&mut file, msg.payload())?;
    }
    Ok(())
}

fn receive_all(file: File, checker: &mut Checker) -> Result<(), Fault> {
    let mut reader = BufReader::new(file);
    let mut payload = Vec::new();
    while read_frame(&mut reader, &mut payload).map_err(|_| Fault::Recv)? {
        checker.check(&payload)?;
    }
    Ok(())
}

/// Writes each frame to `writer`, then reads its echo from `reader` and
/// checks it.
fn ping_all(reader: impl Read, mut writer: impl Write, spec: &Spec) -> BoxResult<()> {
    let mut msg = Message::new(spec.size);
    let mut reader = BufReader::new(reader);
    let mut echo = Vec::new();
    let mut echoes = Checker::new(spec.size);
    for seq in 0..spec.count {
        msg.set_seq(seq);
        write_frame(&mut writer, msg.payload())?;
        if !read_frame(&mut reader, &mut echo)? {
            return Err("end of stream before an echo".into());
        }
        echoes
            .check(&echo)
            .map_err(|f| format!("echo {seq}: {f:?}"))?;
    }
    Ok(())
}

/// Echoes each frame from `reader` to `writer`.
fn echo_all(reader: impl Read, mut writer: impl Write, checker: &mut Checker) -> Result<(), Fault> {
    let mut reader = BufReader::new(reader);
    let mut payload = Vec::new();
    while read_frame(&mut reader, &mut payload).map_err(|_| Fault::Recv)? {
        checker.check(&payload)?;
        write_frame(&mut writer, &payload).map_err(|_| Fault::Send)?;
    }
    Ok(())
}

/// Two `write_all`s, as such code is usually written: header, then payload.
fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(payload)
}

/// Reads one frame's payload into `payload`; `false` at end of stream
/// before a header.
fn read_frame(input: &mut impl Read, payload: &mut Vec<u8>) -> io::Result<bool> {
    let mut header = [0; 4];
    match input.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    payload.resize(u32::from_be_bytes(header) as usize, 0);
    input.read_exact(payload)?;
    Ok(true)
}
