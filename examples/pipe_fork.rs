//! The classic pipe-and-fork program, as in Python:
//!
//! ```python
//! r, w = Pipe(duplex=False)
//! p = Process(target=worker, args=(r, w)); p.start()
//! r.close()
//! for i in range(1000): w.send(i)
//! w.close(); p.join()
//! print("Main process is done")
//! ```
//!
//! The parent sends the numbers 0 to 999, one pickled `int` each as Python's
//! `send(i)` does, to a forked child, then closes its end; the child
//! receives each (`recv()`), prints it, and stops at end of stream; the
//! parent waits for it. The output is the Python program's, line for line.

use std::io::Write;

use ipcwire::{fork_with_pipe, Direction, Error};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: this program has one thread, so the child may do anything.
    let (mut conn, child) = unsafe { fork_with_pipe(Direction::ToChild, worker)? };
    for i in 0..1000 {
        conn.send(&i)?;
    }
    drop(conn); // the child's end of stream
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("worker {status}").into());
    }
    println!("Main process is done");
    Ok(())
}

/// Prints each number on its own line until the parent closes the pipe.
fn worker(mut conn: ipcwire::Connection) -> i32 {
    let mut out = std::io::stdout().lock();
    let code = loop {
        match conn.recv::<i64>() {
            Ok(i) => {
                if writeln!(out, "{i}").is_err() {
                    break 2;
                }
            }
            Err(Error::Eof) => break 0,
            Err(e) => {
                eprintln!("worker: {e}");
                break 1;
            }
        }
    };
    // The child leaves with _exit, which flushes nothing.
    if out.flush().is_err() {
        return 2;
    }
    code
}
