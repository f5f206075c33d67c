//! `wait(connections, timeout)`: Python's `multiprocessing.connection.wait`.

use alloc::vec::Vec;
use core::time::Duration;

use crate::sys::{self, AsFd, PollFd, PollFlags};
use crate::{Access, Connection, Error};

/// `wait(connections, timeout)`: waits until at least one connection can be
/// received from, or the timeout passes, and returns the indices of those
/// that can, in order (empty after a timeout). `connections` is anything
/// that iterates over connections or references to them: `[&a, &b]`,
/// `&[&a, &b]`, `&vec`, `vec.iter()`. `None` waits without limit;
/// `Some(Duration::ZERO)` only looks.
///
/// "Can be received from" is what [`Connection::poll`] means: bytes are
/// read ahead inside the connection or waiting in its pipe or socket, or the
/// peer has closed. Connections with bytes read ahead are ready at once,
/// without waiting on the others; a message paused part-way counts only
/// once more of it arrives.
///
/// ```
/// use std::time::Duration;
/// let (mut a, b) = ipcwire::pipe(true)?;
/// let (c, mut d) = ipcwire::pipe(true)?;
/// d.send_bytes(b"to c")?;
/// assert_eq!(ipcwire::wait([&b, &c], Some(Duration::from_secs(1)))?, [1]);
/// a.send_bytes(b"to b")?;
/// let readers = vec![b, c];
/// assert_eq!(ipcwire::wait(&readers, None)?, [0, 1]);
/// # Ok::<(), ipcwire::Error>(())
/// ```
///
/// # Errors
/// [`Error::NotReadable`] if a connection is write-only; [`Error::Io`].
///
/// # System calls
/// `poll` (and `clock_gettime` with a timeout, to resume after a signal).
pub fn wait<C: AsRef<Connection>>(
    connections: impl IntoIterator<Item = C>,
    timeout: Option<Duration>,
) -> Result<Vec<usize>, Error> {
    let held: Vec<C> = connections.into_iter().collect();
    let connections = || held.iter().map(AsRef::as_ref);
    if connections().any(|c| c.access() == Access::Write) {
        return Err(Error::NotReadable);
    }
    let buffered = connections().any(|c| c.has_buffered());
    let timeout = if buffered {
        Some(Duration::ZERO)
    } else {
        timeout
    };
    let mut fds: Vec<PollFd<'_>> = connections()
        .map(|c| PollFd::new(c.as_fd(), PollFlags::IN))
        .collect();
    sys::poll(&mut fds, timeout)?;
    Ok(connections()
        .zip(&fds)
        .enumerate()
        .filter(|(_, (conn, fd))| conn.has_buffered() || !fd.revents().is_empty())
        .map(|(i, _)| i)
        .collect())
}
