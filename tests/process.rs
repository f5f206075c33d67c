//! How forked children end, as `Child::wait` and `sys::waitpid` report it.
//!
//! Every test takes `serial::lock()` first, so only one test forks at a
//! time; the harness's other threads are parked on the lock while a child
//! runs.

#[path = "common/serial.rs"]
mod serial;

use ipcwire::sys::{self, Errno, Fork, Pid};
use ipcwire::{fork_with_pipe, Child, Connection, Direction, Error, ExitStatus};
use serial::lock;

fn spawn(direction: Direction, child: impl FnOnce(Connection) -> i32) -> (Connection, Child) {
    // SAFETY: the harness's other threads hold no locks the children use
    // (they are parked on the serial lock or idle), and glibc makes malloc fork-safe.
    unsafe { fork_with_pipe(direction, child) }.expect("fork_with_pipe")
}

#[test]
fn closure_return_code_is_exit_code() {
    let _g = lock();
    for (code, direction) in [
        (0, Direction::ToChild),
        (3, Direction::FromChild),
        (255, Direction::Duplex),
        (1, Direction::ToChild),
        (101, Direction::Duplex),
    ] {
        let (conn, child) = spawn(direction, move |_| code);
        let status = child.wait();
        drop(conn);
        assert_eq!(
            status,
            Ok(ExitStatus::Exited(code)),
            "closure returned {code}"
        );
    }
}

#[test]
fn exit_status_success_only_for_zero() {
    let _g = lock();
    let (_conn, child) = spawn(Direction::Duplex, |_| 0);
    let status = child.wait().unwrap();
    assert_eq!(status, ExitStatus::Exited(0));
    assert!(status.success());

    let (_conn, child) = spawn(Direction::Duplex, |_| 3);
    let status = child.wait().unwrap();
    assert_eq!(status, ExitStatus::Exited(3));
    assert!(!status.success());
    assert!(!ExitStatus::Signaled(ipcwire::Signal::KILL).success());
}

#[test]
fn child_pid_is_the_childs_getpid() {
    let _g = lock();
    let (mut conn, child) = spawn(Direction::FromChild, |mut conn| {
        let pid = sys::getpid().raw();
        match conn.send_bytes(&pid.to_be_bytes()) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    });
    let msg = conn.recv_bytes();
    let pid = child.pid();
    let status = child.wait();
    assert_eq!(status, Ok(ExitStatus::Exited(0)));
    let msg = msg.unwrap();
    let reported = i32::from_be_bytes(msg[..].try_into().unwrap());
    assert_eq!(Pid::from_raw(reported), pid);
    assert_ne!(pid, sys::getpid());
}

#[test]
fn panicking_child_exits_101_and_parent_continues() {
    let _g = lock();
    let (mut conn, child) = spawn(Direction::FromChild, |mut conn| {
        if conn.send_bytes(b"before the panic").is_err() {
            return 1;
        }
        panic!("deliberate panic in a forked child");
    });
    let first = conn.recv_bytes();
    let end = conn.recv_bytes();
    let status = child.wait();
    assert_eq!(status, Ok(ExitStatus::Exited(101)));
    assert_eq!(first, Ok(b"before the panic".to_vec()));
    // The unwinding child dropped its end: end of stream, not a hang.
    assert_eq!(end, Err(Error::Eof));

    // The parent goes on forking and talking.
    let (mut conn, child) = spawn(Direction::Duplex, |mut conn| match conn.recv_bytes() {
        Ok(m) => match conn.send_bytes(&m) {
            Ok(()) => 0,
            Err(_) => 2,
        },
        Err(_) => 1,
    });
    conn.send_bytes(b"still here").unwrap();
    let echo = conn.recv_bytes();
    assert_eq!(child.wait(), Ok(ExitStatus::Exited(0)));
    assert_eq!(echo, Ok(b"still here".to_vec()));
}

#[test]
fn child_killing_itself_is_signaled() {
    let _g = lock();
    let (mut conn, child) = spawn(Direction::FromChild, |_| {
        let _ = sys::kill(sys::getpid(), ipcwire::Signal::KILL);
        // Not reached when the kill works.
        42
    });
    let end = conn.recv_bytes();
    assert_eq!(
        child.wait(),
        Ok(ExitStatus::Signaled(ipcwire::Signal::KILL))
    );
    assert_eq!(end, Err(Error::Eof));
}

#[test]
fn parent_kills_child_blocked_in_recv() {
    let _g = lock();
    let (mut conn, child) = spawn(Direction::Duplex, |mut conn| {
        if conn.send_bytes(b"ready").is_err() {
            return 1;
        }
        // The parent never sends: this blocks until the signal comes.
        match conn.recv_bytes() {
            Ok(_) => 2,
            Err(_) => 3,
        }
    });
    // The child is about to block in recv (or is already blocked there).
    let ready = conn.recv_bytes();
    let killed = child.kill(ipcwire::Signal::TERM);
    // The parent still holds its end, so only the signal can end the child.
    let status = child.wait();
    assert_eq!(ready, Ok(b"ready".to_vec()));
    assert_eq!(killed, Ok(()));
    assert_eq!(status, Ok(ExitStatus::Signaled(ipcwire::Signal::TERM)));
    assert_eq!(conn.recv_bytes(), Err(Error::Eof));
    assert_eq!(conn.send_bytes(b"x"), Err(Error::Io(Errno::PIPE)));
}

#[test]
fn raw_fork_waitpid_exit() {
    let _g = lock();
    // SAFETY: the child only calls _exit.
    match unsafe { sys::fork() }.expect("fork") {
        Fork::Child => sys::exit(7),
        Fork::Parent(pid) => {
            assert_ne!(pid, sys::getpid());
            assert_eq!(sys::waitpid(pid), Ok(ExitStatus::Exited(7)));
            // Reaped: it is no longer a child to wait for.
            assert_eq!(sys::waitpid(pid), Err(Errno::CHILD));
        }
    }
}

#[test]
fn waiting_for_a_non_child_is_echild() {
    let _g = lock();
    // This process is not its own child.
    assert_eq!(sys::waitpid(sys::getpid()), Err(Errno::CHILD));
    // A child already reaped through Child::wait.
    let (_conn, child) = spawn(Direction::ToChild, |_| 0);
    let pid = child.pid();
    assert_eq!(child.wait(), Ok(ExitStatus::Exited(0)));
    assert_eq!(sys::waitpid(pid), Err(Errno::CHILD));
}
