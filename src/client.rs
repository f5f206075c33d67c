//! `Client`: connects to a [`Listener`](crate::Listener), like Python's
//! `multiprocessing.connection.Client`.

use core::time::Duration;

use crate::auth::{Auth, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::connection::{Access, Connection, Kind};
use crate::handshake::{AuthKey, Role};
use crate::sys::AsFd;
use crate::sys::{self, BorrowedFd, Errno, SockAddr};
use crate::{Address, Error};

/// Options for connecting to a listener; [`connect`](Client::connect) opens
/// the [`Connection`].
///
/// ```no_run
/// use std::time::Duration;
/// use ipcwire::Client;
/// let addr = "unix:/run/app.sock".parse()?;
/// let mut conn = Client::new().timeout(Duration::from_secs(2)).connect(&addr)?;
/// conn.send_bytes(b"hello")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Client {
    timeout: Option<Duration>,
    auth: Auth,
}

impl Client {
    /// Default options: connect without a time limit.
    #[must_use]
    pub fn new() -> Client {
        Client::default()
    }

    /// Gives up connecting after `timeout` with `ETIMEDOUT`; with an
    /// authkey, the handshake has the same bound again.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Client {
        self.timeout = Some(timeout);
        self
    }

    /// Proves to the listener that this client knows `key`, and requires the
    /// listener to prove the same, as Python's `Client(address, authkey=key)`.
    ///
    /// The handshake is bounded by the [`timeout`](Self::timeout), or by
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`] without one, so a listener that has no
    /// key (and so sends no challenge) is an error after that, not a hang.
    #[must_use]
    pub fn authkey(mut self, key: &[u8]) -> Client {
        self.auth.key = Some(AuthKey::new(key));
        self
    }

    /// Refuses listeners that speak only HMAC-MD5 (Python 3.11 and older).
    /// Has an effect only with an [`authkey`](Self::authkey), given before
    /// or after.
    #[must_use]
    pub fn require_sha256(mut self) -> Client {
        self.auth.allow_md5 = false;
        self
    }

    /// Connects to `addr`.
    ///
    /// Without a timeout the connect blocks until the kernel is done; a
    /// signal does not break it, and never makes it return a socket that is
    /// not connected (an interrupted connect to a Unix listener whose
    /// backlog is full is made again). With one, the socket connects in
    /// non-blocking mode and waits with `poll`; a Unix listener whose
    /// backlog is full is retried until the time is up. TCP connections get
    /// `TCP_NODELAY`. The socket is close-on-exec.
    ///
    /// # Errors
    /// [`Error::Io`] with `ECONNREFUSED` (nobody listens), `ENOENT` (no such
    /// socket file), `ETIMEDOUT`, `ENETUNREACH`, `EINVAL` for
    /// [`Address::Unnamed`], `EAFNOSUPPORT` for [`Address::Abstract`]
    /// outside Linux; [`Error::Auth`] when the handshake fails.
    ///
    /// # System calls
    /// `socket`, `connect`, `setsockopt` (TCP); with a timeout, or after a
    /// signal on TCP, also `fcntl`, `poll`, `clock_gettime`, `getsockopt`,
    /// `getpeername`; with an authkey, those of the
    /// handshake: `getrandom`, `sendto`, `recvfrom`, `poll`, `clock_gettime`.
    pub fn connect(&self, addr: &Address) -> Result<Connection, Error> {
        let sockaddr = SockAddr::encode(addr)?;
        let fd = sys::socket(sockaddr.family())?;
        match self.timeout {
            None => sys::connect(fd.as_fd(), &sockaddr)?,
            Some(timeout) => connect_within(fd.as_fd(), &sockaddr, timeout)?,
        }
        if let Address::Tcp(_) = addr {
            sys::set_nodelay(fd.as_fd())?;
        }
        if self.auth.key.is_some() {
            let timeout = self.timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT);
            let deadline = sys::monotonic_now()?.saturating_add(timeout);
            self.auth.handshake(fd.as_fd(), Role::Client, deadline)?;
        }
        Ok(Connection::new(fd, Kind::of(addr), Access::Duplex))
    }
}

/// Connects in non-blocking mode, so the wait is bounded by `timeout`.
fn connect_within(fd: BorrowedFd<'_>, addr: &SockAddr, timeout: Duration) -> Result<(), Errno> {
    let deadline = sys::monotonic_now()?.saturating_add(timeout);
    sys::set_nonblocking(fd, true)?;
    let result = loop {
        // A non-blocking connect never sleeps, so it is never interrupted.
        match sys::connect(fd, addr) {
            Err(Errno::INPROGRESS) => break sys::finish_connect(fd, Some(left(deadline)?)),
            // A Unix listener's backlog is full: it may drain, try again.
            Err(Errno::AGAIN) => {
                let pause = left(deadline)?.min(Duration::from_millis(5));
                if pause.is_zero() {
                    break Err(Errno::TIMEDOUT);
                }
                sys::poll(&mut [], Some(pause))?;
            }
            other => break other,
        }
    };
    sys::set_nonblocking(fd, false)?;
    result
}

/// The time left until `deadline`.
fn left(deadline: Duration) -> Result<Duration, Errno> {
    Ok(deadline.saturating_sub(sys::monotonic_now()?))
}
