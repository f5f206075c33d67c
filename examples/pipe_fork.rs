//! The classic pipe-and-fork program, as in Python:
//!
//! ```python
//! r, w = Pipe(duplex=False)
//! p = Process(target=worker, args=(r, w)); p.start()
//! r.close()
//! for i in range(1000): w.send_bytes(str(i).encode())
//! w.close(); p.join()
//! print("Main process is done")
//! ```
//!
//! The parent sends the numbers 0 to 999, one message each, to a forked
//! child, then closes its end; the child prints each number and stops at end
//! of stream; the parent waits for it.

use std::io::Write;

use ipcwire::{fork_with_pipe, Direction, Error};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: this program has one thread, so the child may do anything.
    let (mut conn, child) = unsafe { fork_with_pipe(Direction::ToChild, worker)? };
    for i in 0..1000 {
        conn.send_bytes(i.to_string().as_bytes())?;
    }
    drop(conn); // the child's end of stream
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("worker {status}").into());
    }
    println!("Main process is done");
    Ok(())
}

/// Prints each message on its own line until the parent closes the pipe.
fn worker(mut conn: ipcwire::Connection) -> i32 {
    let mut out = std::io::stdout().lock();
    let mut buf = [0; 64];
    let code = loop {
        match conn.recv_bytes_into(&mut buf) {
            Ok(n) => {
                let line = String::from_utf8_lossy(&buf[..n]);
                if writeln!(out, "{line}").is_err() {
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
