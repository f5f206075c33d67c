//! `Listener`: accepts connections on a Unix path, an abstract name or TCP,
//! like Python's `multiprocessing.connection.Listener`.

use core::time::Duration;

use crate::auth::{Auth, Shake, Step, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::connection::{Access, Connection, Kind};
use crate::handshake::{AuthKey, Role};
use crate::sys::{self, AsFd, AsRawFd, Errno, FileId, OwnedFd, PollFd, PollFlags, SockAddr};
use crate::{Address, Error, UnixName};

/// How many connections may wait to be accepted. Python's `Listener` uses 1,
/// so a second client connecting while the first is being served can be
/// refused (`EAGAIN` on a Unix socket); 128 absorbs a burst of clients.
pub const BACKLOG: i32 = 128;

/// How many authkey handshakes a [`Listener`] keeps in progress at once.
/// When a new client comes and all are taken, the oldest is dropped (its
/// connection closed), so a flood of clients that never finish costs
/// bounded memory (about 1.6 KiB each, taken by
/// [`Listener::authkey`]) and bounded descriptors.
#[cfg(feature = "alloc")]
pub const MAX_HANDSHAKES: usize = 64;
/// How many authkey handshakes a [`Listener`] keeps in progress at once
/// (fewer without `alloc`: they live inside the listener).
#[cfg(not(feature = "alloc"))]
pub const MAX_HANDSHAKES: usize = 8;

/// What [`Listener::accept`] returns.
type Accepted = Result<(Connection, Address), Error>;

/// A client whose handshake is under way.
struct Pending {
    fd: OwnedFd,
    peer: Address,
    shake: Shake,
    /// What its socket must become ready for.
    wanted: PollFlags,
}

#[cfg(feature = "alloc")]
type Slots = alloc::boxed::Box<[Option<Pending>]>;
#[cfg(not(feature = "alloc"))]
type Slots = [Option<Pending>; MAX_HANDSHAKES];

/// A listening socket that hands out a [`Connection`] per client.
///
/// A Unix socket file the listener created is removed when it is dropped,
/// unless something else has replaced it at that path by then.
///
/// ```
/// use ipcwire::{Address, Client, Listener};
/// let mut listener = Listener::bind(&"tcp:127.0.0.1:0".parse()?)?;
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
    auth: Auth,
    handshake_timeout: Duration,
    /// Handshakes in progress (with an authkey), in no order.
    handshakes: Slots,
    /// When `accept` last returned: handshakes do not age until it runs again.
    paused_at: Option<Duration>,
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
        // `accept` takes clients only when `poll` says one waits, but
        // another process sharing the socket may take it first.
        sys::set_nonblocking(fd.as_fd(), true)?;
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
        Ok(Listener::new(fd, local, socket_file))
    }

    /// Wraps a listening socket this process was handed: one a supervisor
    /// sent with [`Connection::send_handle`], or one inherited across `exec`.
    ///
    /// The socket is made non-blocking, as [`accept`](Self::accept) needs,
    /// and its address is read back for [`local_addr`](Self::local_addr). A
    /// Unix socket file stays when this listener is dropped: the listener
    /// that bound the path removes it. Chain [`authkey`](Self::authkey) as
    /// after [`bind`](Self::bind).
    ///
    /// ```
    /// use ipcwire::{Client, Listener};
    /// let (mut supervisor, mut worker) = ipcwire::pipe(true)?;
    /// let bound = Listener::bind(&"tcp:127.0.0.1:0".parse()?)?;
    /// supervisor.send_handle(&bound)?; // keep `bound`: it owns the path
    /// let mut listener = Listener::from_fd(worker.recv_handle()?)?.authkey(b"key");
    /// let addr = *listener.local_addr();
    /// let client = std::thread::spawn(move || Client::new().authkey(b"key").connect(&addr));
    /// let (_conn, _peer) = listener.accept()?;
    /// client.join().map_err(|_| "client panicked")??;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] with `EBADF`, `ENOTSOCK`, or `EAFNOSUPPORT` for a
    /// socket that is neither Unix nor TCP.
    ///
    /// # System calls
    /// `fcntl(F_GETFL)`, `fcntl(F_SETFL)`, `getsockname`.
    pub fn from_fd(fd: impl Into<OwnedFd>) -> Result<Listener, Error> {
        let fd = fd.into();
        sys::set_nonblocking(fd.as_fd(), true)?;
        let addr = sys::getsockname(fd.as_fd())?.address();
        Ok(Listener::new(fd, addr.ok_or(Errno::AFNOSUPPORT)?, None))
    }

    /// A listener on `fd` without a key, removing `socket_file` on drop.
    fn new(fd: OwnedFd, addr: Address, socket_file: Option<FileId>) -> Listener {
        Listener {
            fd,
            addr,
            socket_file,
            auth: Auth::default(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            handshakes: no_slots(),
            paused_at: None,
        }
    }

    /// Requires every client to prove it knows `key`, as Python's
    /// `Listener(address, authkey=key)` does: [`accept`](Self::accept) runs
    /// the handshake and returns only authenticated connections.
    ///
    /// Clients answering with HMAC-SHA256 (Python 3.12+, ipcwire) or
    /// HMAC-MD5 (Python 3.11 and older) are accepted; see
    /// [`require_sha256`](Self::require_sha256). A client without a key
    /// fails: its first message is taken as a wrong response (and what it
    /// receives first is this listener's `#CHALLENGE#` message, as with
    /// Python).
    #[must_use]
    pub fn authkey(mut self, key: &[u8]) -> Listener {
        self.auth.key = Some(AuthKey::new(key));
        // Taken here, once, so that `accept` never allocates.
        self.handshakes = slots();
        self
    }

    /// Refuses clients that speak only HMAC-MD5 (Python 3.11 and older).
    /// Has an effect only with an [`authkey`](Self::authkey), given before
    /// or after.
    #[must_use]
    pub fn require_sha256(mut self) -> Listener {
        self.auth.allow_md5 = false;
        self
    }

    /// Bounds how long each client has to finish the handshake (default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 s), counted from when
    /// [`accept`](Self::accept) took it, and only while `accept` runs: time
    /// the program spends between calls (serving a client) does not count.
    /// Python has no such bound, and runs one handshake at a time: one
    /// silent client blocks its `accept` forever.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Listener {
        self.handshake_timeout = timeout;
        self
    }

    /// The address the listener is bound to, with the real port when the
    /// address asked for port 0.
    #[must_use]
    pub fn local_addr(&self) -> &Address {
        &self.addr
    }

    /// `accept()`: waits for the next client and returns its connection and
    /// address ([`Address::Unnamed`] for a typical Unix client).
    ///
    /// With an [`authkey`](Self::authkey), only clients that pass the
    /// handshake are returned, and a slow or silent client never delays
    /// another's: `accept` drives up to [`MAX_HANDSHAKES`] handshakes at
    /// once over one `poll` (the listening socket and every handshake in
    /// progress, each with its own [`handshake_timeout`](Self::handshake_timeout)),
    /// returns the first to succeed, and keeps the others for the next
    /// call. When all slots are taken, a new client displaces the oldest
    /// handshake, whose connection is closed without a report.
    ///
    /// A client that fails its handshake is disconnected and reported as
    /// this call's error, one per call; the listener stays ready, so call
    /// `accept` again (see [`Error::is_disconnect`] for the clients that
    /// simply left).
    ///
    /// The listening socket is non-blocking (clients are taken when `poll`
    /// says one waits); the returned socket is blocking and close-on-exec,
    /// and TCP connections get `TCP_NODELAY`.
    ///
    /// # Errors
    /// For the client at hand: [`Error::Auth`] when it fails the handshake;
    /// [`Error::Io`] with `ETIMEDOUT` when its time is up; a disconnect
    /// ([`Error::Eof`], `Io(ECONNRESET)`, ...) when it hangs up during the
    /// handshake; `Io(ECONNABORTED)` when it left before it was taken. For
    /// the listener: [`Error::Io`] with `EMFILE` or `ENFILE` (out of
    /// descriptors), after which `accept` may succeed again once some are
    /// closed.
    ///
    /// # System calls
    /// `poll`, `clock_gettime`, `accept4`; `setsockopt` for TCP; with an
    /// authkey, those of the handshakes: `getrandom`, `sendto`, `recvfrom`,
    /// and `close` for those that end.
    pub fn accept(&mut self) -> Result<(Connection, Address), Error> {
        self.resume_clock()?;
        let next = self.next_client();
        // A clock that fails here must not cost the client just accepted.
        self.paused_at = sys::monotonic_now().ok();
        next
    }

    /// Handshakes age only while `accept` runs: the time since the last
    /// call returned (spent serving its client, say) is added to every
    /// deadline, so no client times out for the program's slowness.
    fn resume_clock(&mut self) -> Result<(), Errno> {
        let Some(paused_at) = self.paused_at.take() else {
            return Ok(());
        };
        let away = sys::monotonic_now()?.saturating_sub(paused_at);
        for pending in self.handshakes.iter_mut().flatten() {
            pending.shake.deadline = pending.shake.deadline.saturating_add(away);
        }
        Ok(())
    }

    /// The loop of [`accept`](Self::accept).
    fn next_client(&mut self) -> Result<(Connection, Address), Error> {
        loop {
            let now = sys::monotonic_now()?;
            if let Some(late) = self.take_late(now) {
                drop(late);
                return Err(Error::Io(Errno::TIMEDOUT));
            }
            let (newcomer, ready) = self.wait(now)?;
            let kind = self.kind();
            for (slot, events) in self.handshakes.iter_mut().zip(ready) {
                if events.is_empty() {
                    continue;
                }
                if let Some(done) = step(slot, kind) {
                    return done;
                }
            }
            if newcomer {
                if let Some(done) = self.take_client() {
                    return done;
                }
            }
        }
    }

    /// Waits until a client knocks, a handshake's socket is ready, or the
    /// first handshake deadline passes. Returns whether the listening socket
    /// is ready, and each slot's events.
    fn wait(&self, now: Duration) -> Result<(bool, [PollFlags; MAX_HANDSHAKES]), Errno> {
        // The listening socket first; the other entries are filled below.
        let mut fds: [PollFd<'_>; MAX_HANDSHAKES + 1] =
            core::array::from_fn(|_| PollFd::new(self.fd.as_fd(), PollFlags::IN));
        let mut n = 1;
        let mut slot_of = [usize::MAX; MAX_HANDSHAKES + 1];
        for (i, pending) in self.handshakes.iter().enumerate() {
            let Some(p) = pending else { continue };
            fds[n] = PollFd::new(p.fd.as_fd(), p.wanted);
            slot_of[n] = i;
            n += 1;
        }
        let first_deadline = self
            .handshakes
            .iter()
            .flatten()
            .map(|p| p.shake.deadline)
            .min();
        let timeout = first_deadline.map(|d| d.saturating_sub(now));
        sys::poll(&mut fds[..n], timeout)?;
        let mut ready = [PollFlags::empty(); MAX_HANDSHAKES];
        for (fd, &slot) in fds[1..n].iter().zip(&slot_of[1..n]) {
            ready[slot] = fd.revents();
        }
        Ok((!fds[0].revents().is_empty(), ready))
    }

    /// Takes out a handshake whose time is up, if any.
    fn take_late(&mut self, now: Duration) -> Option<Pending> {
        self.handshakes
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|p| p.shake.deadline <= now))
            .and_then(Option::take)
    }

    /// Accepts the client that knocked: returns it at once without an
    /// authkey, else starts its handshake in a slot (displacing the oldest
    /// when all are taken). `None` when another process took the client.
    fn take_client(&mut self) -> Option<Accepted> {
        let (fd, peer) = match sys::accept(self.fd.as_fd()) {
            Err(Errno::AGAIN) => return None,
            Err(e) => return Some(Err(e.into())),
            Ok(client) => client,
        };
        if let Address::Tcp(_) = self.addr {
            if let Err(e) = sys::set_nodelay(fd.as_fd()) {
                return Some(Err(e.into()));
            }
        }
        let peer = peer.address().unwrap_or(Address::Unnamed);
        // The clock is read now, not before the wait for this client.
        let deadline = match sys::monotonic_now() {
            Ok(now) => now.saturating_add(self.handshake_timeout),
            Err(e) => return Some(Err(e.into())),
        };
        let shake = match self.auth.start(Role::Listener, deadline) {
            Ok(Some(shake)) => shake,
            Ok(None) => return Some(Ok((Connection::new(fd, self.kind(), Access::Duplex), peer))),
            Err(e) => return Some(Err(e.into())),
        };
        // `authkey` gave the listener its slots with its key.
        let kind = self.kind();
        let slot = free_slot(&mut self.handshakes)?;
        *slot = Some(Pending {
            fd,
            peer,
            shake,
            wanted: PollFlags::OUT,
        });
        step(slot, kind)
    }

    /// What the accepted sockets are.
    fn kind(&self) -> Kind {
        Kind::of(&self.addr)
    }
}

/// Moves one handshake on; when it is over, empties its slot and returns
/// the outcome.
fn step(slot: &mut Option<Pending>, kind: Kind) -> Option<Accepted> {
    let pending = slot.as_mut()?;
    match pending.shake.step(pending.fd.as_fd()) {
        Step::Wait(wanted) => {
            pending.wanted = wanted;
            None
        }
        Step::Done(outcome) => {
            let Pending { fd, peer, .. } = slot.take()?;
            Some(outcome.map(|()| (Connection::new(fd, kind, Access::Duplex), peer)))
        }
    }
}

/// A free slot, made by dropping the oldest handshake (the one with the
/// earliest deadline: all have the same timeout) when all are taken; `None`
/// only for a listener without slots, which has no key to start one with.
fn free_slot(slots: &mut [Option<Pending>]) -> Option<&mut Option<Pending>> {
    let slot = slots
        .iter_mut()
        .min_by_key(|slot| slot.as_ref().map(|p| p.shake.deadline))?;
    *slot = None;
    Some(slot)
}

/// Room for [`MAX_HANDSHAKES`] handshakes, all free.
#[cfg(feature = "alloc")]
fn slots() -> Slots {
    (0..MAX_HANDSHAKES).map(|_| None).collect()
}

#[cfg(not(feature = "alloc"))]
fn slots() -> Slots {
    [const { None }; MAX_HANDSHAKES]
}

/// No room: a listener without an authkey keeps no handshakes.
#[cfg(feature = "alloc")]
fn no_slots() -> Slots {
    alloc::boxed::Box::new([])
}

#[cfg(not(feature = "alloc"))]
fn no_slots() -> Slots {
    slots()
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

/// Borrows the listening socket, to `poll` it for pending clients or hand
/// it to another process with [`Connection::send_handle`].
///
/// The socket is non-blocking: the receiving process wraps it with
/// [`Listener::from_fd`] (a std `UnixListener` made from it would return
/// `WouldBlock` from `accept`). Keep this listener while others serve: its
/// drop removes the Unix socket file it created, and new clients then find
/// no path.
impl AsFd for Listener {
    fn as_fd(&self) -> sys::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> sys::RawFd {
        self.fd.as_raw_fd()
    }
}
