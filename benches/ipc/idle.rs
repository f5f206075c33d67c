//! What idle connections cost: a forked child opens 4,000 socket pairs,
//! sends one 5-byte message over each and receives it, and reports its
//! resident memory before and after, so the difference is what a
//! connection keeps once its messages are taken (its read-ahead buffer).

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use crate::os::{self, Fork};
use crate::BoxResult;

/// How many socket pairs: a server holding a few thousand idle clients.
pub const PAIRS: usize = 4000;

/// Resident memory before and after, in KiB.
pub struct Idle {
    pub pairs: usize,
    pub before_kib: u64,
    pub after_kib: u64,
}

impl Idle {
    /// KiB kept per connection that received a message.
    pub fn per_connection(&self) -> f64 {
        (self.after_kib.saturating_sub(self.before_kib)) as f64 / self.pairs as f64
    }

    /// The paragraph for the reports.
    pub fn report(&self) -> String {
        format!(
            "{} socket pairs, one 5-byte message received on each: resident \
             memory {:.1} MB before, {:.1} MB after, {:.1} KiB per receiving \
             connection (its read-ahead buffer is 4 KiB).",
            self.pairs,
            self.before_kib as f64 / 1024.0,
            self.after_kib as f64 / 1024.0,
            self.per_connection()
        )
    }
}

/// Measures in a fresh child, so nothing the harness freed earlier is
/// reused and hides the cost.
pub fn measure() -> BoxResult<Idle> {
    let (mut reader, writer) = os::pipe(None).map(|(r, w)| (fs::File::from(r), w))?;
    // SAFETY: the benchmark is single-threaded.
    match unsafe { os::fork() }? {
        Fork::Child => {
            drop(reader);
            let code = match in_child(writer) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("idle: {e}");
                    1
                }
            };
            os::exit(code)
        }
        Fork::Parent(pid) => {
            drop(writer);
            let mut text = String::new();
            reader.read_to_string(&mut text)?;
            os::wait(pid)?;
            let mut kib = text.split_whitespace().map(str::parse::<u64>);
            match (kib.next(), kib.next()) {
                (Some(Ok(before_kib)), Some(Ok(after_kib))) => Ok(Idle {
                    pairs: PAIRS,
                    before_kib,
                    after_kib,
                }),
                _ => Err(format!("idle: the child reported {text:?}").into()),
            }
        }
    }
}

fn in_child(report: OwnedFd) -> BoxResult<()> {
    os::raise_fd_limit(2 * PAIRS + 64)?;
    let mut pairs = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        pairs.push(ipcwire::pipe(true)?);
    }
    let before = rss_kib()?;
    for (a, b) in &mut pairs {
        a.send_bytes(b"hello")?;
        if b.recv_bytes()? != b"hello" {
            return Err("a message came back different".into());
        }
    }
    let after = rss_kib()?;
    writeln!(fs::File::from(report), "{before} {after}")?;
    Ok(())
}

/// `VmRSS` from `/proc/self/status`, in KiB.
fn rss_kib() -> BoxResult<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}
