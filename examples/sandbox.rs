//! A sandboxed worker: forked over a socket pair, it confines itself with a
//! seccomp filter to what receiving, sending and exiting need, then serves
//! requests.
//!
//! ```text
//! cargo run --example sandbox              # sandbox: 1000 round trips, worker exited 0
//! cargo run --example sandbox -- --violate # sandbox: worker killed by signal 31 (SIGSYS)
//! ```
//!
//! The parent builds the filter from the system call
//! [inventory](ipcwire::sys::inventory) entries of exactly the functions
//! the worker calls, plus
//! [`allow_runtime`](ipcwire::seccomp::Filter::allow_runtime) for the
//! allocator and exit, then forks. The worker closes the descriptors it
//! does not need, installs the filter and answers each request `request N`
//! with `N: REQUEST N`, numbering the requests itself; the parent checks
//! every reply. With `--violate` the worker, once served, makes one call
//! outside its list and the kernel kills it (and dumps core, as for any
//! `SIGSYS`: under `ulimit -c unlimited` expect a core file).
//!
//! The worker prints nothing: its exit status is its only report, which
//! the parent explains. Exit status: 0 when the run went as promised, 1
//! otherwise (the reason on stderr), 2 on a bad command line. seccomp is
//! Linux's: elsewhere the program says so and exits 0.

use std::process::ExitCode;

const USAGE: &str = "usage: sandbox [--violate]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let violate = match args.as_slice() {
        [] => false,
        [flag] if flag == "--violate" => true,
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("sandbox: unexpected arguments {args:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    #[cfg(target_os = "linux")]
    let outcome = linux::run(violate);
    #[cfg(not(target_os = "linux"))]
    let outcome: Result<String, String> = {
        let _ = violate;
        Ok("sandbox: seccomp filters are Linux-only; nothing to show here".into())
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("sandbox: {why}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use ipcwire::seccomp::{Action, Filter};
    use ipcwire::sys::{self, AsFd};
    use ipcwire::{fork_with_pipe, Connection, Direction, Error, ExitStatus, Signal};

    /// How many requests the parent sends.
    const REQUESTS: u32 = 1000;

    // The worker's exit codes besides 0 (served until end of stream) and
    // 101 (a panic): the confined worker cannot print, so these say why.
    /// It could not close its other descriptors or install its filter (a
    /// kernel without seccomp filters).
    const UNCONFINED: i32 = 3;
    /// Its connection failed.
    const BROKEN: i32 = 4;
    /// With `--violate`: the call outside its list was allowed.
    const SURVIVED: i32 = 5;

    /// Forks the worker, runs the exchange, waits: the line to print, or
    /// what went wrong.
    pub fn run(violate: bool) -> Result<String, String> {
        // Built here rather than in the worker, so that a misspelt function
        // name is reported with its reason instead of as an exit code.
        let filter = worker_filter().map_err(|e| format!("building the filter: {e}"))?;
        // SAFETY: this program has one thread, so the child may do anything.
        let forked =
            unsafe { fork_with_pipe(Direction::Duplex, |conn| worker(conn, &filter, violate)) };
        let (mut conn, child) = forked.map_err(|e| format!("fork: {e}"))?;
        let served = exchange(&mut conn);
        drop(conn); // the worker's end of stream: its cue to finish
        let status = child
            .wait()
            .map_err(|e| format!("waiting for the worker: {e}"))?;
        // A failed exchange is explained by how the worker ended.
        served.map_err(|e| format!("{e}; {}", explain(status)))?;
        match (violate, status) {
            (false, ExitStatus::Exited(0)) => {
                Ok(format!("sandbox: {REQUESTS} round trips, worker exited 0"))
            }
            (true, ExitStatus::Signaled(Signal::SYS)) => Ok(format!("sandbox: worker {status}")),
            _ => Err(explain(status)),
        }
    }

    /// What the worker may call: the system calls of exactly the ipcwire
    /// functions it calls, named as in the inventory, and the runtime's.
    fn worker_filter() -> Result<Filter, Box<dyn std::error::Error>> {
        let mut filter =
            Filter::native(Action::KillProcess).ok_or("no seccomp on this architecture")?;
        filter
            .allow_functions(&[
                "Connection::recv_bytes",
                "Connection::send_bytes",
                // When the worker returns, fork_with_pipe drops its end and
                // leaves with _exit.
                "drop(Connection)",
                "sys::exit",
            ])?
            // malloc for each request and reply; in a debug build, the
            // fcntl with which std checks a descriptor before closing it.
            .allow_runtime()?;
        Ok(filter)
    }

    /// The worker: confines itself, then answers each request until end of
    /// stream. Its exit code is its report.
    fn worker(mut conn: Connection, filter: &Filter, violate: bool) -> i32 {
        // A filter allows calls, not descriptors: the `read` and `write` that
        // receiving and sending need work on anything the worker holds. Keep
        // only the connection (and stdin, stdout and stderr, which
        // close_other_fds leaves open; a real sandbox points them at
        // /dev/null before forking).
        // SAFETY: nothing the worker goes on to use holds another descriptor.
        if unsafe { sys::close_other_fds(&[conn.as_fd()]) }.is_err() || filter.install().is_err() {
            return UNCONFINED;
        }
        // From here, any call outside the filter kills the worker.
        let mut n = 0;
        loop {
            let request = match conn.recv_bytes() {
                Ok(request) => request,
                Err(Error::Eof) => break,
                Err(_) => return BROKEN,
            };
            if conn.send_bytes(&reply(n, &request)).is_err() {
                return BROKEN;
            }
            n += 1;
        }
        if violate {
            // getpid: in the inventory (sys::getpid) but not in the filter,
            // and harmless, so were the filter not enforced nothing would
            // happen but the SURVIVED report. (glibc no longer caches it: the
            // call reaches the kernel.)
            let _ = sys::getpid();
            return SURVIVED;
        }
        0
    }

    /// Sends the requests and checks each reply.
    fn exchange(conn: &mut Connection) -> Result<(), String> {
        for i in 0..REQUESTS {
            let request = format!("request {i}");
            conn.send_bytes(request.as_bytes())
                .map_err(|e| format!("sending request {i}: {e}"))?;
            let got = conn
                .recv_bytes()
                .map_err(|e| format!("receiving reply {i}: {e}"))?;
            let want = reply(i, request.as_bytes());
            if got != want {
                return Err(format!(
                    "reply {i} is {:?}, not {:?}",
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want)
                ));
            }
        }
        Ok(())
    }

    /// The answer to the `n`th request (from 0): its number, then the
    /// request in capitals.
    fn reply(n: u32, request: &[u8]) -> Vec<u8> {
        let mut reply = format!("{n}: ").into_bytes();
        reply.extend(request.iter().map(u8::to_ascii_uppercase));
        reply
    }

    /// How the worker ended, with what its own exit codes mean.
    fn explain(status: ExitStatus) -> String {
        let why = match status {
            ExitStatus::Exited(UNCONFINED) => ": it could not install its filter",
            ExitStatus::Exited(BROKEN) => ": its connection failed",
            ExitStatus::Exited(SURVIVED) => ": the call outside its filter was allowed",
            ExitStatus::Exited(101) => ": it panicked",
            // A confined panic ends here too: its message is a refused write.
            ExitStatus::Signaled(Signal::SYS) => ": it made a system call its filter refuses",
            _ => "",
        };
        format!("worker {status}{why}")
    }
}
