//! Running the authkey handshake on a freshly opened connection.

use core::time::Duration;

use crate::handshake::{Action, AuthError, AuthKey, Handshake, Role, MAX_MESSAGE_LEN, NONCE_LEN};
use crate::sys;
use crate::{Connection, Error};

/// How long a handshake may take by default, on either side: long enough
/// for a loaded machine, short enough that a silent or half-open peer, or a
/// peer without a key, cannot hold an `accept` loop or a client for long.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The authentication settings of a listener or client.
#[derive(Clone, Debug)]
pub(crate) struct Auth {
    pub(crate) key: AuthKey,
    pub(crate) allow_md5: bool,
}

impl Auth {
    /// Settings for `key`, accepting MD5 peers until told otherwise.
    pub(crate) fn new(key: &[u8]) -> Auth {
        Auth {
            key: AuthKey::new(key),
            allow_md5: true,
        }
    }

    /// Authenticates both ways over `conn` within `timeout`.
    ///
    /// No application message can be read before this succeeds, and on
    /// failure the caller drops the connection.
    ///
    /// # System calls
    /// `getrandom`; `sendmsg`; `read`, `poll`, `clock_gettime`.
    pub(crate) fn handshake(
        &self,
        conn: &mut Connection,
        role: Role,
        timeout: Duration,
    ) -> Result<(), Error> {
        let mut nonce = [0; NONCE_LEN];
        sys::getrandom(&mut nonce)?;
        let deadline = sys::monotonic_now()?.saturating_add(timeout);
        let mut shake = Handshake::new(role, &self.key, nonce, self.allow_md5);
        let mut buf = [0; MAX_MESSAGE_LEN];
        loop {
            match shake.action() {
                Action::Send(msg) => {
                    if let Err(e) = conn.send_bytes(msg) {
                        // A failing peer may hang up before our `#FAILURE#`
                        // arrives: its failure says more than the lost verdict.
                        return Err(match shake.action() {
                            Action::Done(Err(auth)) => Error::Auth(auth),
                            _ => e,
                        });
                    }
                }
                Action::Receive => {
                    // Exactly one message, never a byte past it: the peer may
                    // send descriptors right after the handshake, and a read
                    // that met them would make the kernel close them.
                    let n = match conn.recv_exact_before(&mut buf, Some(deadline)) {
                        Err(Error::BufferTooSmall { .. }) => {
                            return Err(Error::Auth(AuthError::TooLong))
                        }
                        other => other?,
                    };
                    shake.receive(&buf[..n]);
                }
                Action::Done(outcome) => return outcome.map_err(Error::Auth),
            }
        }
    }
}
