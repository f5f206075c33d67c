//! The authkey handshake of Python's `multiprocessing.connection`, as a pure
//! state machine: it says what to send and takes what was received; the
//! caller moves the bytes (see [`Listener::authkey`](crate::Listener::authkey)
//! and [`Client::authkey`](crate::Client::authkey) for the glue).
//!
//! Each side proves it knows the key by MACing the other's random challenge:
//!
//! - deliver: send `#CHALLENGE#{sha256}` + 40 random bytes; read the
//!   response; send `#WELCOME#` if it is the right MAC, else `#FAILURE#`.
//! - answer: read a `#CHALLENGE#` message, send its MAC, read the verdict.
//!   A challenge with under 20 random bytes is refused (CPython 3.12+
//!   refuses one under 20 bytes, counting a `{digest}` tag).
//!
//! The listener delivers then answers; the client answers then delivers.
//! Responses accepted: `{sha256}` + HMAC-SHA256 (Python 3.12+), and raw or
//! `{md5}`-prefixed HMAC-MD5 (Python 3.11 and older) unless MD5 is refused.
//! MACs are compared in constant time. No message is longer than
//! [`MAX_MESSAGE_LEN`].
//!
//! This module is pure: no system calls, no allocation, no `unsafe`.
#![forbid(unsafe_code)]

use core::fmt;

use crate::digest::{ct_eq, Hmac, Md5, Sha256};

/// The prefix of a challenge message.
pub const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// The verdict for a correct response.
pub const WELCOME: &[u8] = b"#WELCOME#";
/// The verdict for a wrong response.
pub const FAILURE: &[u8] = b"#FAILURE#";
/// The longest handshake message either side reads, as in Python.
pub const MAX_MESSAGE_LEN: usize = 256;
/// Random bytes in a challenge ipcwire delivers.
pub const NONCE_LEN: usize = 40;

const SHA256_TAG: &[u8] = b"{sha256}";
const MD5_TAG: &[u8] = b"{md5}";
/// A Python 3.11 challenge: 20 random bytes, answered with raw HMAC-MD5.
const LEGACY_NONCE_LEN: usize = 20;

/// A shared secret, held as HMAC states already keyed with it, so keys of
/// any length fit in a fixed-size value without allocation. Keys need not be
/// text.
#[derive(Clone)]
pub struct AuthKey {
    md5: Hmac<Md5>,
    sha256: Hmac<Sha256>,
}

impl AuthKey {
    /// Prepares `key` for both digests the handshake may use.
    #[must_use]
    pub fn new(key: &[u8]) -> AuthKey {
        AuthKey {
            md5: Hmac::new(key),
            sha256: Hmac::new(key),
        }
    }

    fn md5_mac(&self, data: &[u8]) -> [u8; 16] {
        let mut mac = self.md5.clone();
        mac.update(data);
        mac.finish()
    }

    fn sha256_mac(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.sha256.clone();
        mac.update(data);
        mac.finish()
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

/// Why a handshake failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthError {
    /// The peer's response to our challenge is not the right MAC: it has
    /// another key, or none. We sent `#FAILURE#`.
    BadResponse,
    /// The peer rejected our response (sent anything but `#WELCOME#`): it
    /// has another key.
    Rejected,
    /// We expected a challenge and got something else: the peer has no key,
    /// or does not speak this protocol. We sent nothing.
    NotAChallenge,
    /// The challenge names a digest this crate does not speak (Python may
    /// also offer sha384, sha3_256, ...). We sent nothing.
    UnsupportedDigest,
    /// MD5 was refused ([`require_sha256`](crate::Client::require_sha256))
    /// and the peer offered or answered only MD5 (Python 3.11 or older).
    Md5Refused,
    /// A handshake message was longer than [`MAX_MESSAGE_LEN`] bytes.
    TooLong,
    /// The challenge's random part is shorter than 20 bytes, with or
    /// without a `{digest}` tag. CPython 3.12+ refuses a challenge under 20
    /// bytes, tag included; ipcwire wants 20 bytes after the tag too (no
    /// listener sends fewer). A short nonce lets the listener choose what we
    /// MAC. We sent nothing.
    ChallengeTooShort,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthError::BadResponse => {
                "authentication failed: the peer's digest is wrong (different or no authkey)"
            }
            AuthError::Rejected => {
                "authentication failed: the peer rejected our digest (different authkey)"
            }
            AuthError::NotAChallenge => {
                "authentication failed: expected a challenge (does the peer have an authkey?)"
            }
            AuthError::UnsupportedDigest => {
                "authentication failed: the challenge asks for an unsupported digest"
            }
            AuthError::Md5Refused => {
                "authentication failed: the peer only speaks HMAC-MD5, which is refused"
            }
            AuthError::TooLong => "authentication failed: handshake message longer than 256 bytes",
            AuthError::ChallengeTooShort => {
                "authentication failed: the challenge's nonce is shorter than 20 bytes"
            }
        })
    }
}

impl core::error::Error for AuthError {}

/// Which side of the handshake this is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The listener (server): delivers a challenge, then answers one.
    Listener,
    /// The client: answers a challenge, then delivers one.
    Client,
}

/// What the caller must do next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send these bytes as one message.
    Send(&'a [u8]),
    /// Receive one message (at most [`MAX_MESSAGE_LEN`] bytes) and pass it
    /// to [`Handshake::receive`].
    Receive,
    /// The handshake is over, with this outcome.
    Done(Result<(), AuthError>),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    SendChallenge,
    AwaitResponse,
    SendVerdict(Result<(), AuthError>),
    AwaitChallenge,
    SendResponse,
    AwaitVerdict,
    Finished(Result<(), AuthError>),
}

/// One side of one handshake.
///
/// ```
/// use ipcwire::handshake::{AuthKey, Action, Handshake, Role};
/// let key = AuthKey::new(b"secret");
/// let server = Handshake::new(Role::Listener, &key, [7; 40], true);
/// let client = Handshake::new(Role::Client, &key, [9; 40], true);
/// // Carry each message to the other side until neither has more to send.
/// let mut sides = [server, client];
/// loop {
///     let mut sent = false;
///     for me in 0..2 {
///         if let Action::Send(msg) = sides[me].action() {
///             let msg = msg.to_vec();
///             sides[1 - me].receive(&msg);
///             sent = true;
///         }
///     }
///     if !sent {
///         break;
///     }
/// }
/// assert_eq!(sides[0].action(), Action::Done(Ok(())));
/// assert_eq!(sides[1].action(), Action::Done(Ok(())));
/// ```
#[derive(Clone, Debug)]
pub struct Handshake {
    role: Role,
    key: AuthKey,
    allow_md5: bool,
    /// Our challenge's MACed part: `{sha256}` + the nonce.
    challenge: [u8; SHA256_TAG.len() + NONCE_LEN],
    state: State,
    /// The message to send next.
    out: [u8; 64],
    out_len: usize,
}

impl Handshake {
    /// Starts a handshake. `nonce` must be fresh unpredictable bytes (from
    /// `getrandom`); `allow_md5 = false` refuses Python 3.11-and-older peers.
    #[must_use]
    pub fn new(role: Role, key: &AuthKey, nonce: [u8; NONCE_LEN], allow_md5: bool) -> Handshake {
        let mut challenge = [0; SHA256_TAG.len() + NONCE_LEN];
        challenge[..SHA256_TAG.len()].copy_from_slice(SHA256_TAG);
        challenge[SHA256_TAG.len()..].copy_from_slice(&nonce);
        let state = match role {
            Role::Listener => State::SendChallenge,
            Role::Client => State::AwaitChallenge,
        };
        Handshake {
            role,
            key: key.clone(),
            allow_md5,
            challenge,
            state,
            out: [0; 64],
            out_len: 0,
        }
    }

    /// What to do next. After a [`Action::Send`] the message counts as sent.
    pub fn action(&mut self) -> Action<'_> {
        match self.state {
            State::SendChallenge => {
                self.state = State::AwaitResponse;
                let n = CHALLENGE.len() + self.challenge.len();
                self.out[..CHALLENGE.len()].copy_from_slice(CHALLENGE);
                self.out[CHALLENGE.len()..n].copy_from_slice(&self.challenge);
                Action::Send(&self.out[..n])
            }
            State::SendVerdict(verdict) => {
                self.state = match (verdict, self.role) {
                    (Ok(()), Role::Listener) => State::AwaitChallenge,
                    (outcome, _) => State::Finished(outcome),
                };
                Action::Send(if verdict.is_ok() { WELCOME } else { FAILURE })
            }
            State::SendResponse => {
                self.state = State::AwaitVerdict;
                Action::Send(&self.out[..self.out_len])
            }
            State::AwaitResponse | State::AwaitChallenge | State::AwaitVerdict => Action::Receive,
            State::Finished(outcome) => Action::Done(outcome),
        }
    }

    /// Takes a message received from the peer. Ignored unless
    /// [`action`](Self::action) asked for one.
    pub fn receive(&mut self, msg: &[u8]) {
        self.state = match self.state {
            State::AwaitResponse => State::SendVerdict(self.verify(msg)),
            State::AwaitChallenge => match self.respond(msg) {
                Ok(()) => State::SendResponse,
                Err(e) => State::Finished(Err(e)),
            },
            State::AwaitVerdict if msg != WELCOME => State::Finished(Err(AuthError::Rejected)),
            State::AwaitVerdict if self.role == Role::Client => State::SendChallenge,
            State::AwaitVerdict => State::Finished(Ok(())),
            other => other,
        };
    }

    /// Checks the peer's response to our challenge. Like Python, a
    /// response of 16 or 20 bytes is a raw HMAC-MD5 whatever it starts with.
    fn verify(&self, response: &[u8]) -> Result<(), AuthError> {
        let (is_md5, mac) = if response.len() == 16 || response.len() == 20 {
            (true, response)
        } else if let Some(mac) = response.strip_prefix(SHA256_TAG) {
            (false, mac)
        } else if let Some(mac) = response.strip_prefix(MD5_TAG) {
            (true, mac)
        } else {
            return Err(AuthError::BadResponse);
        };
        if !is_md5 {
            return check(ct_eq(mac, &self.key.sha256_mac(&self.challenge)));
        }
        if !self.allow_md5 {
            return Err(AuthError::Md5Refused);
        }
        check(ct_eq(mac, &self.key.md5_mac(&self.challenge)))
    }

    /// Computes our response to the peer's challenge. Like Python, a 20-byte
    /// challenge is a legacy one, answered with a raw HMAC-MD5; any other
    /// names its digest in a tag. Either way at least 20 random bytes.
    fn respond(&mut self, msg: &[u8]) -> Result<(), AuthError> {
        let nonce = msg
            .strip_prefix(CHALLENGE)
            .ok_or(AuthError::NotAChallenge)?;
        let legacy = nonce.len() == LEGACY_NONCE_LEN;
        let tag: &[u8] = if legacy {
            &[]
        } else if nonce.starts_with(SHA256_TAG) {
            SHA256_TAG
        } else if nonce.starts_with(MD5_TAG) {
            MD5_TAG
        } else if nonce.len() < LEGACY_NONCE_LEN {
            return Err(AuthError::ChallengeTooShort);
        } else {
            return Err(AuthError::UnsupportedDigest);
        };
        if nonce.len() - tag.len() < LEGACY_NONCE_LEN {
            return Err(AuthError::ChallengeTooShort);
        }
        if tag == SHA256_TAG {
            let mac = self.key.sha256_mac(nonce);
            self.set_out(SHA256_TAG, &mac);
            return Ok(());
        }
        if !self.allow_md5 {
            return Err(AuthError::Md5Refused);
        }
        let mac = self.key.md5_mac(nonce);
        self.set_out(tag, &mac);
        Ok(())
    }

    /// Stores `tag` + `mac` as the next message to send.
    fn set_out(&mut self, tag: &[u8], mac: &[u8]) {
        self.out_len = tag.len() + mac.len();
        self.out[..tag.len()].copy_from_slice(tag);
        self.out[tag.len()..self.out_len].copy_from_slice(mac);
    }
}

fn check(equal: bool) -> Result<(), AuthError> {
    if equal {
        Ok(())
    } else {
        Err(AuthError::BadResponse)
    }
}
