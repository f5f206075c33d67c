//! What pauses cost a receiver: a 64 MiB message arrives over a pipe in
//! 64 KiB pieces 5 ms apart, and a non-blocking receiver takes it with
//! `recv_bytes_into` (or `recv_bytes`), waiting in `poll` at each `EAGAIN`.
//! Its CPU time should follow the bytes, not the bytes times the pauses.

use std::os::fd::AsFd;
use std::time::Duration;

use ipcwire::sys::{self, PollFd, PollFlags};

use crate::BoxResult;

const LEN: usize = 64 << 20;
const PIECE: usize = 64 << 10;

/// The receiving thread's CPU seconds and the pauses it took, for
/// `recv_bytes` (`vec`) or `recv_bytes_into`.
pub fn measure(vec: bool) -> BoxResult<(f64, usize)> {
    let (mut reader, writer) = ipcwire::pipe(false)?;
    reader.set_nonblocking(true)?;
    let sender = std::thread::spawn(move || -> Result<(), ipcwire::Error> {
        let mut frame = ipcwire::frame::Header::new(LEN as u64).as_bytes().to_vec();
        frame.resize(frame.len() + LEN, 0x5A);
        for piece in frame.chunks(PIECE) {
            let mut sent = 0;
            while sent < piece.len() {
                sent += sys::write(writer.as_fd(), &piece[sent..])?;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    });
    let mut buf = vec![0; LEN];
    let start = thread_cpu();
    let mut pauses = 0;
    loop {
        let got = if vec {
            reader.recv_bytes().map(|msg| msg.len())
        } else {
            reader.recv_bytes_into(&mut buf)
        };
        match got {
            Ok(LEN) => break,
            Ok(n) => return Err(format!("a message of {n} bytes").into()),
            Err(e) if e.is_resumable() => {
                pauses += 1;
                sys::poll(&mut [PollFd::new(reader.as_fd(), PollFlags::IN)], None)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let cpu = thread_cpu() - start;
    sender.join().map_err(|_| "the sender panicked")??;
    Ok((cpu, pauses))
}

/// The line the command prints.
pub fn report() -> BoxResult<String> {
    let mut line = String::from("64 MiB in 64 KiB pieces 5 ms apart, receiver CPU:");
    for (vec, name) in [(false, "recv_bytes_into"), (true, "recv_bytes")] {
        let (cpu, pauses) = measure(vec)?;
        line += &format!(" {name} {cpu:.3} s over {pauses} pauses;");
    }
    line.pop();
    Ok(line)
}

/// This thread's user and system CPU time, in seconds.
fn thread_cpu() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage it is given.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
    // SAFETY: zeroed is a valid rusage, filled in by the call above.
    let usage = unsafe { usage.assume_init() };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
