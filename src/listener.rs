//! `Listener`: accepts connections on a Unix path, an abstract name or TCP,
//! like Python's `multiprocessing.connection.Listener`.

use core::time::Duration;

use crate::auth::{Auth, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::connection::{Access, Connection};
use crate::handshake::Role;
use crate::sys::{self, Errno, FileId, OwnedFd, SockAddr};
use crate::{Address, Error, UnixName};

/// How many connections may wait to be accepted. Python's `Listener` uses 1,
/// so a second client connecting while the first is being served can be
/// refused (`EAGAIN` on a Unix socket); 128 absorbs a burst of clients.
pub const BACKLOG: i32 = 128;

/// A listening socket that hands out a [`Connection`] per client.
///
/// A Unix socket file the listener created is removed when it is dropped,
/// unless something else has replaced it at that path by then.
///
/// ```
/// use ipcwire::{Address, Client, Listener};
/// let listener = Listener::bind(&"tcp:127.0.0.1:0".parse()?)?;
/// let addr = *listener.local_addr(); // the port the kernel picked
/// let client = std::thread::spawn(move || -> Result<_, ipcwire::Error> {
///     let mut conn = Client::new().connect(&addr)?;
///     conn.send_bytes(b"hi")?;
///     conn.recv_bytes()
/// });
/// let (mut conn, _peer) = listener.accept()?;
/// let msg = conn.recv_bytes()?;
/// conn.send_bytes(&msg)?;
/// assert_eq!(client.join().map_err(|_| "client panicked")??, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Listener {
    fd: OwnedFd,
    addr: Address,
    /// The socket file this listener created, to remove on drop.
    socket_file: Option<FileId>,
    auth: Option<Auth>,
    handshake_timeout: Duration,
}

impl Listener {
    /// Binds `addr` and listens on it, with a backlog of [`BACKLOG`].
    ///
    /// TCP listeners set `SO_REUSEADDR`, as Python's do. For a Unix path
    /// already taken by a socket file, the file is probed: if connecting to
    /// it is refused, nobody listens there (its owner was killed before it
    /// could clean up), so it is removed and the path bound again. A path
    /// held by a live listener, or by anything that is not a socket, is an
    /// error (`EADDRINUSE`) and is never removed.
    ///
    /// The probe is a real, non-blocking connection: when the path belongs
    /// to a live listener, that listener's server accepts one client that
    /// sends nothing and closes at once (it sees [`Error::Eof`]). A live
    /// listener whose backlog is full (a hung server) answers `EAGAIN`: the
    /// path is in use, and `bind` returns at once rather than wait for it.
    ///
    /// # Errors
    /// [`Error::Io`] with `EADDRINUSE`, `EACCES`, `ENOENT` (no such
    /// directory), `EINVAL` for [`Address::Unnamed`], `EAFNOSUPPORT` for
    /// [`Address::Abstract`] outside Linux.
    ///
    /// # System calls
    /// `socket`, `setsockopt` (TCP), `bind`, `listen`, `getsockname`; for a
    /// Unix path also `lstat`, and when the path is taken, `socket`,
    /// `fcntl`, `connect` and `close` to probe it and `unlink` to remove a
    /// stale file.
    pub fn bind(addr: &Address) -> Result<Listener, Error> {
        let sockaddr = SockAddr::encode(addr)?;
        let fd = sys::socket(sockaddr.family())?;
        if let Address::Tcp(_) = addr {
            sys::set_reuseaddr(fd.as_fd())?;
        }
        match (sys::bind(fd.as_fd(), &sockaddr), addr) {
            (Err(Errno::ADDRINUSE), Address::Unix(path)) => {
                remove_stale(path, &sockaddr)?;
                sys::bind(fd.as_fd(), &sockaddr)?;
            }
            (result, _) => result?,
        }
        sys::listen(fd.as_fd(), BACKLOG)?;
        let local = sys::getsockname(fd.as_fd())?.address().unwrap_or(*addr);
        let socket_file = match addr {
            Address::Unix(path) => Some(sys::lstat(path.as_c_str().ok_or(Errno::INVAL)?)?),
            _ => None,
        };
        Ok(Listener {
            fd,
            addr: local,
            socket_file,
            auth: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// Requires every client to prove it knows `key`, as Python's
    /// `Listener(address, authkey=key)` does: [`accept`](Self::accept) runs
    /// the handshake and returns only authenticated connections.
    ///
    /// Clients answering with HMAC-SHA256 (Python 3.12+, ipcwire) or
    /// HMAC-MD5 (Python 3.11 and older) are accepted; see
    /// [`require_sha256`](Self::require_sha256).
    pub fn authkey(mut self, key: &[u8]) -> Listener {
        self.auth = Some(Auth::new(key));
        self
    }

    /// Refuses clients that speak only HMAC-MD5 (Python 3.11 and older).
    /// Has an effect only with an [`authkey`](Self::authkey).
    pub fn require_sha256(mut self) -> Listener {
        if let Some(auth) = &mut self.auth {
            auth.allow_md5 = false;
        }
        self
    }

    /// Bounds how long [`accept`](Self::accept) waits for a client to finish
    /// the handshake (default [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 s). Python
    /// has no such bound: one silent client blocks its `accept` forever.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Listener {
        self.handshake_timeout = timeout;
        self
    }

    /// The address the listener is bound to, with the real port when the
    /// address asked for port 0.
    pub fn local_addr(&self) -> &Address {
        &self.addr
    }

    /// `accept()`: waits for the next client and returns its connection and
    /// address ([`Address::Unnamed`] for a typical Unix client).
    ///
    /// With an [`authkey`](Self::authkey), the handshake runs here, bounded
    /// by the [`handshake_timeout`](Self::handshake_timeout); a client that
    /// fails it is disconnected and reported as an error, and the listener
    /// stays ready for the next `accept`.
    ///
    /// The new socket is close-on-exec; TCP connections get `TCP_NODELAY`.
    ///
    /// # Errors
    /// [`Error::Auth`] when the client fails the handshake; [`Error::Io`]
    /// with `ETIMEDOUT` when it is too slow, `EMFILE` (out of descriptors),
    /// `ECONNABORTED`; [`Error::Eof`] when it hangs up during the handshake.
    ///
    /// # System calls
    /// `accept4`; `setsockopt` for TCP; with an authkey, those of the
    /// handshake: `getrandom`, `sendmsg`, `read`, `poll`, `clock_gettime`.
    pub fn accept(&self) -> Result<(Connection, Address), Error> {
        let (fd, peer) = sys::accept(self.fd.as_fd())?;
        if let Address::Tcp(_) = self.addr {
            sys::set_nodelay(fd.as_fd())?;
        }
        let peer = peer.address().unwrap_or(Address::Unnamed);
        let mut conn = Connection::new(fd, true, Access::Duplex);
        if let Some(auth) = &self.auth {
            auth.handshake(&mut conn, Role::Listener, self.handshake_timeout)?;
        }
        Ok((conn, peer))
    }

    /// Borrows the listening socket, to `poll` it for pending clients.
    pub fn as_fd(&self) -> sys::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Removes a Unix socket file nobody listens on; anything else is in use.
///
/// The probe never waits: a connect that would (a live listener's full
/// backlog, `EAGAIN`, or one in progress) means somebody listens.
fn remove_stale(path: &UnixName, sockaddr: &SockAddr) -> Result<(), Errno> {
    let path = path.as_c_str().ok_or(Errno::INVAL)?;
    if !sys::lstat(path)?.is_socket {
        return Err(Errno::ADDRINUSE);
    }
    let probe = sys::socket(sockaddr.family())?;
    sys::set_nonblocking(probe.as_fd(), true)?;
    match sys::connect(probe.as_fd(), sockaddr) {
        Err(Errno::CONNREFUSED) => sys::unlink(path),
        _ => Err(Errno::ADDRINUSE),
    }
}

impl Drop for Listener {
    /// Closes the socket and removes the socket file it created, if that
    /// file is still the one at the path.
    ///
    /// # System calls
    /// `close`; for a Unix path `lstat` and `unlink`.
    fn drop(&mut self) {
        let (Some(created), Address::Unix(path)) = (self.socket_file, &self.addr) else {
            return;
        };
        if let Some(path) = path.as_c_str() {
            if sys::lstat(path) == Ok(created) {
                let _ = sys::unlink(path);
            }
        }
    }
}

impl core::fmt::Debug for Listener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Listener")
            .field("addr", &self.addr)
            .finish()
    }
}

#[cfg(feature = "std")]
impl std::os::fd::AsRawFd for Listener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}
