//! The floor: the same frames with nothing but `libc::write` and
//! `libc::read`, written the way a careful person would by hand.
//!
//! The sender keeps header and payload in one buffer and moves each frame
//! with exactly one `write`. The receiver reads as much as the kernel has
//! (up to 64 KiB, or a whole frame when frames are larger) and parses the
//! frames where they landed, without copying them. A ping-pong reads and
//! writes one socket, or over two pipes reads one and writes the other.
//!
//! In `-nosignal` workloads each frame goes out with one
//! `pwritev2(RWF_NOSIGNAL)` instead, the SIGPIPE-safe write ipcwire's pipe
//! sends make on Linux 6.18 and later: the floor for a sender that must not
//! die of a gone reader.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

#[cfg(target_os = "linux")]
use ipcwire::sys::{self, IoSlice};

use crate::harness::{self, Checker, Fault, Message};
use crate::os::{self, DuplexEnd};
use crate::workload::{Pattern, Spec};
use crate::BoxResult;

/// Python's frame header: the payload length, 4 bytes big-endian.
const HEADER: usize = 4;
/// The smallest receive buffer: a default pipe's capacity, so one `read`
/// can take everything a full pipe holds.
const MIN_BUFFER: usize = 64 << 10;

pub fn run(spec: &Spec) -> BoxResult<Duration> {
    let writes = Writes::of(spec)?;
    match spec.pattern {
        Pattern::OneWay => {
            let (reader, writer) = os::pipe(spec.pipe_size)?;
            let send = |fd| send_all(fd, spec, writes);
            harness::measure(spec, writer, reader, send, receive_all)
        }
        Pattern::PingPong(duplex) => {
            let (parent, child) = os::duplex(duplex)?;
            let ping = |end: DuplexEnd| ping_all(end.reader(), end.writer(), spec, writes);
            let echo = |end: DuplexEnd, checker: &mut Checker| {
                echo_all(end.reader(), end.writer(), checker, writes)
            };
            harness::measure(spec, parent, child, ping, echo)
        }
    }
}

/// The system call each frame goes out with.
#[derive(Copy, Clone)]
enum Writes {
    /// `write`: a gone reader raises `SIGPIPE`, which kills a process that
    /// keeps its default action.
    Plain,
    /// `pwritev2(fd, [frame], -1, RWF_NOSIGNAL)` through ipcwire's
    /// `sys::writev_nosignal`, the call its pipe sends make: a gone reader
    /// gives `EPIPE` and no signal. Linux 6.18 and later.
    #[cfg(target_os = "linux")]
    NoSignal,
}

impl Writes {
    /// What `spec` asks for: an error, never `write`, where pipes take no
    /// `RWF_NOSIGNAL` (other systems, Linux before 6.18).
    fn of(spec: &Spec) -> BoxResult<Writes> {
        if !spec.nosignal_writes {
            return Ok(Writes::Plain);
        }
        #[cfg(target_os = "linux")]
        if nosignal_writes_work() {
            return Ok(Writes::NoSignal);
        }
        let name = &spec.name;
        Err(format!("raw {name} needs RWF_NOSIGNAL, which pipes here lack (Linux 6.18 on)").into())
    }
}

/// Whether pipes here take `RWF_NOSIGNAL`: one byte written into a fresh one.
pub fn nosignal_writes_work() -> bool {
    #[cfg(target_os = "linux")]
    if let Ok((_reader, writer)) = os::pipe(None) {
        return write_all(writer.as_fd(), &[0], Writes::NoSignal).is_ok();
    }
    false
}

fn send_all(fd: OwnedFd, spec: &Spec, writes: Writes) -> BoxResult<()> {
    let mut frame = Message::framed(spec.size);
    for seq in 0..spec.count {
        frame.set_seq(seq);
        write_all(fd.as_fd(), frame.bytes(), writes)?;
    }
    Ok(())
}

fn receive_all(fd: OwnedFd, checker: &mut Checker) -> Result<(), Fault> {
    let mut frames = FrameReader::new(fd.as_fd(), checker.size());
    while let Some(frame) = frames.next().map_err(|_| Fault::Recv)? {
        checker.check(&frame[HEADER..])?;
    }
    Ok(())
}

/// Writes each frame to `writer`, then reads `reader` until its echo is
/// complete and checks it.
fn ping_all(
    reader: BorrowedFd<'_>,
    writer: BorrowedFd<'_>,
    spec: &Spec,
    writes: Writes,
) -> BoxResult<()> {
    let mut frame = Message::framed(spec.size);
    let mut frames = FrameReader::new(reader, spec.size);
    let mut echoes = Checker::new(spec.size);
    for seq in 0..spec.count {
        frame.set_seq(seq);
        write_all(writer, frame.bytes(), writes)?;
        let echo = frames.next()?.ok_or("end of stream before an echo")?;
        echoes
            .check(&echo[HEADER..])
            .map_err(|f| format!("echo {seq}: {f:?}"))?;
    }
    Ok(())
}

/// Echoes each frame from `reader`, header and all, with one write to
/// `writer` from where it was read.
fn echo_all(
    reader: BorrowedFd<'_>,
    writer: BorrowedFd<'_>,
    checker: &mut Checker,
    writes: Writes,
) -> Result<(), Fault> {
    let mut frames = FrameReader::new(reader, checker.size());
    while let Some(frame) = frames.next().map_err(|_| Fault::Recv)? {
        checker.check(&frame[HEADER..])?;
        write_all(writer, frame, writes).map_err(|_| Fault::Send)?;
    }
    Ok(())
}

/// Frames parsed in place out of large reads: `buf[start..end]` has
/// arrived and is not yet handed out.
struct FrameReader<'fd> {
    fd: BorrowedFd<'fd>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<'fd> FrameReader<'fd> {
    /// The buffer holds a whole number of frames of `size` bytes: when it
    /// is full it ends on a frame boundary, so starting over at its front
    /// moves no bytes. This is the baseline's one piece of foreknowledge.
    fn new(fd: BorrowedFd<'fd>, size: usize) -> Self {
        let frame = HEADER + size;
        let len = MIN_BUFFER.div_ceil(frame) * frame;
        FrameReader {
            fd,
            buf: vec![0; len],
            start: 0,
            end: 0,
        }
    }

    /// The next whole frame, header included; `None` at a clean end of stream.
    fn next(&mut self) -> io::Result<Option<&[u8]>> {
        loop {
            if let Some(len) = self.complete_frame()? {
                let frame = self.start..self.start + len;
                self.start += len;
                return Ok(Some(&self.buf[frame]));
            }
            if self.end == self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = read(self.fd, &mut self.buf[self.end..])?;
            if n == 0 && self.start == self.end {
                return Ok(None);
            }
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.end += n;
        }
    }

    /// The length of the frame at `start`, header included, once all of
    /// it has arrived.
    fn complete_frame(&self) -> io::Result<Option<usize>> {
        let waiting = &self.buf[self.start..self.end];
        let Some(header) = waiting.first_chunk::<HEADER>() else {
            return Ok(None);
        };
        let len = HEADER + u32::from_be_bytes(*header) as usize;
        if len > self.buf.len() {
            return Err(io::Error::other("frame larger than the buffer"));
        }
        Ok((waiting.len() >= len).then_some(len))
    }
}

/// Writes until all of `buf` is out (one call, unless a signal interrupts
/// it: a blocking write waits for room for every byte).
fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8], writes: Writes) -> io::Result<()> {
    while !buf.is_empty() {
        let n = match writes {
            Writes::Plain => write(fd, buf)?,
            #[cfg(target_os = "linux")]
            Writes::NoSignal => sys::writev_nosignal(fd, &[IoSlice::new(buf)])?,
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// One `write` from `buf` (repeated only when a signal interrupts it).
fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if n != -1 {
            return Ok(n.unsigned_abs());
        }
        retry_on_eintr()?;
    }
}

/// One `read` into `buf` (repeated only when a signal interrupts it).
fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n != -1 {
            return Ok(n.unsigned_abs());
        }
        retry_on_eintr()?;
    }
}

/// After a `-1`: `Ok` if the call should simply be made again.
fn retry_on_eintr() -> io::Result<()> {
    let e = io::Error::last_os_error();
    match e.kind() {
        io::ErrorKind::Interrupted => Ok(()),
        _ => Err(e),
    }
}
