//! Running the authkey handshake over a freshly opened socket: one step at
//! a time and never waiting, so a listener can drive many at once (see
//! [`Listener::accept`](crate::Listener::accept)) and a client can bound
//! its wait with `poll`.

use core::time::Duration;

use crate::connection::{Receiver, SliceSink, Source};
use crate::frame::{Header, MAX_HEADER_LEN};
use crate::handshake::{Action, AuthError, AuthKey, Handshake, Role, MAX_MESSAGE_LEN, NONCE_LEN};
use crate::sys::{self, BorrowedFd, Errno, PollFd, PollFlags, Received, ReceivedFds};
use crate::Error;

/// How long a handshake may take by default, on either side: long enough
/// for a loaded machine, short enough that a silent or half-open peer, or a
/// peer without a key, cannot hold a client for long or a listener's
/// handshake slot for long.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest message we send: a challenge, `#CHALLENGE#{sha256}` and the
/// nonce, with its 4-byte header.
const MAX_OUT_LEN: usize = 4 + 64;

/// The authentication settings of a listener or client: a key or none,
/// and whether MD5 peers are accepted (each set in any order).
#[derive(Clone, Debug)]
pub(crate) struct Auth {
    pub(crate) key: Option<AuthKey>,
    pub(crate) allow_md5: bool,
}

impl Default for Auth {
    /// No key; MD5 peers accepted until refused.
    fn default() -> Auth {
        Auth {
            key: None,
            allow_md5: true,
        }
    }
}

impl Auth {
    /// Starts a handshake, or `None` without a key.
    ///
    /// # System calls
    /// `getrandom`.
    pub(crate) fn start(&self, role: Role, deadline: Duration) -> Result<Option<Shake>, Errno> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let mut nonce = [0; NONCE_LEN];
        sys::getrandom(&mut nonce)?;
        Ok(Some(Shake {
            machine: Handshake::new(role, key, nonce, self.allow_md5),
            deadline,
            out: Outbox {
                frame: [0; MAX_OUT_LEN],
                len: 0,
                sent: 0,
            },
            inbox: Inbox {
                receiver: Receiver::exact(MAX_MESSAGE_LEN as u64, [0; MAX_HEADER_LEN]),
                msg: [0; MAX_MESSAGE_LEN],
            },
        }))
    }

    /// With a key, authenticates both ways over the socket `fd`, waiting for
    /// the peer until `deadline` (on the monotonic clock), then `ETIMEDOUT`.
    ///
    /// No application message can be read before this succeeds, and on
    /// failure the caller drops the socket.
    ///
    /// # System calls
    /// `getrandom`; `sendto`, `recvfrom`; `poll`, `clock_gettime`.
    pub(crate) fn handshake(
        &self,
        fd: BorrowedFd<'_>,
        role: Role,
        deadline: Duration,
    ) -> Result<(), Error> {
        let Some(mut shake) = self.start(role, deadline)? else {
            return Ok(());
        };
        loop {
            let wanted = match shake.step(fd) {
                Step::Done(outcome) => return outcome,
                Step::Wait(wanted) => wanted,
            };
            let left = deadline.saturating_sub(sys::monotonic_now()?);
            if sys::poll(&mut [PollFd::new(fd, wanted)], Some(left))? == 0 {
                return Err(Error::Io(Errno::TIMEDOUT));
            }
        }
    }
}

/// What a handshake needs before it can go on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The socket must become ready for these events (`POLLIN` or `POLLOUT`).
    Wait(PollFlags),
    /// The handshake is over, with this outcome.
    Done(Result<(), Error>),
}

/// One side of one handshake over a socket, moved on by [`step`](Shake::step)
/// as far as the socket allows without waiting. Holds no descriptor and
/// nothing on the heap: a few hundred bytes, mostly the keyed digests.
pub(crate) struct Shake {
    machine: Handshake,
    /// When the peer's time is up, on the monotonic clock.
    pub(crate) deadline: Duration,
    out: Outbox,
    inbox: Inbox,
}

impl Shake {
    /// Sends and receives what the handshake needs until the socket would
    /// make it wait, or until it is over. Reads never take a byte past the
    /// handshake's last message: the peer may send descriptors right after
    /// it, and a read that met them would make the kernel close them.
    ///
    /// # System calls
    /// `sendto`, `recvfrom`.
    pub(crate) fn step(&mut self, fd: BorrowedFd<'_>) -> Step {
        loop {
            if let Err(e) = self.out.flush(fd) {
                if e == Error::Io(Errno::AGAIN) {
                    return Step::Wait(PollFlags::OUT);
                }
                // A failing peer may hang up before our `#FAILURE#` arrives:
                // its failure says more than the lost verdict.
                return Step::Done(Err(match self.machine.action() {
                    Action::Done(Err(auth)) => Error::Auth(auth),
                    _ => e,
                }));
            }
            match self.machine.action() {
                Action::Send(msg) => self.out.load(msg),
                Action::Receive => match self.inbox.read(fd) {
                    Ok(Some(msg)) => self.machine.receive(msg),
                    Ok(None) => return Step::Wait(PollFlags::IN),
                    Err(e) => return Step::Done(Err(e)),
                },
                Action::Done(outcome) => return Step::Done(outcome.map_err(Error::Auth)),
            }
        }
    }
}

/// The frame being sent, and how much of it is out.
struct Outbox {
    frame: [u8; MAX_OUT_LEN],
    len: usize,
    sent: usize,
}

impl Outbox {
    /// Frames `msg` (at most 64 bytes: the handshake's own messages).
    fn load(&mut self, msg: &[u8]) {
        let header = Header::new(msg.len() as u64);
        let head = header.as_bytes();
        self.len = head.len() + msg.len();
        self.frame[..head.len()].copy_from_slice(head);
        self.frame[head.len()..self.len].copy_from_slice(msg);
        self.sent = 0;
    }

    /// Sends what is left of the frame; `Io(AGAIN)` if the socket is full.
    fn flush(&mut self, fd: BorrowedFd<'_>) -> Result<(), Error> {
        while self.sent < self.len {
            match sys::send_nowait(fd, &self.frame[self.sent..self.len])? {
                0 => return Err(Error::Io(Errno::IO)),
                n => self.sent += n,
            }
        }
        Ok(())
    }
}

/// The message being received, read exactly by the receive driver: never a
/// byte past its end.
struct Inbox {
    receiver: Receiver<[u8; MAX_HEADER_LEN]>,
    msg: [u8; MAX_MESSAGE_LEN],
}

impl Inbox {
    /// Reads what is waiting of the current message; returns it once
    /// whole, `None` while more must come.
    fn read(&mut self, fd: BorrowedFd<'_>) -> Result<Option<&[u8]>, Error> {
        let sink = &mut SliceSink::new(&mut self.msg);
        match self.receiver.recv(&mut NoWait(fd), sink, None) {
            Ok(len) => Ok(Some(&self.msg[..len as usize])),
            Err(Error::Io(Errno::AGAIN)) => Ok(None),
            Err(Error::TooLong { .. }) => Err(Error::Auth(AuthError::TooLong)),
            Err(e) => Err(e),
        }
    }
}

/// A socket read without waiting, whatever its mode (`MSG_DONTWAIT`).
struct NoWait<'a>(BorrowedFd<'a>);

impl Source for NoWait<'_> {
    fn read(
        &mut self,
        first: &mut [u8],
        then: &mut [u8],
        _fds: &mut ReceivedFds,
    ) -> Result<Received, Error> {
        // Exact reads fill one of the two: a header, or a payload.
        let buf = if first.is_empty() { then } else { first };
        Ok(Received {
            len: sys::recv_nowait(self.0, buf)?,
            fds: 0,
            truncated: false,
        })
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::sys::AsFd;
    use std::boxed::Box;
    use std::vec::Vec;

    /// A handshake paused inside a message may be moved (a listener without
    /// `alloc` holds its handshakes inline) and still finishes.
    #[test]
    fn a_handshake_paused_inside_a_message_survives_being_moved() {
        let (ours, peer) = sys::socketpair().unwrap();
        let auth = Auth {
            key: Some(AuthKey::new(b"secret")),
            allow_md5: true,
        };
        let mut shake = auth.start(Role::Client, Duration::MAX).unwrap().unwrap();
        let mut challenge = Vec::from(&b"#CHALLENGE#{sha256}"[..]);
        challenge.extend_from_slice(&[7; NONCE_LEN]);
        let mut wire = Vec::from(Header::new(challenge.len() as u64).as_bytes());
        wire.extend_from_slice(&challenge);
        sys::send(peer.as_fd(), &wire[..20]).unwrap();
        assert_eq!(shake.step(ours.as_fd()), Step::Wait(PollFlags::IN));
        let mut moved = Box::new(shake);
        sys::send(peer.as_fd(), &wire[20..]).unwrap();
        // The client answers and waits for the verdict.
        assert_eq!(moved.step(ours.as_fd()), Step::Wait(PollFlags::IN));
    }
}
