//! HMAC (RFC 2104) over any [`Digest`].
#![forbid(unsafe_code)]

use super::{Digest, Md5, Sha256};

/// A keyed MAC in progress: HMAC over the digest `D`.
#[derive(Clone)]
pub struct Hmac<D: Digest> {
    /// Already fed `key ^ ipad`; takes the message.
    inner: D,
    /// Already fed `key ^ opad`; takes the inner digest at the end.
    outer: D,
}

impl<D: Digest> Hmac<D> {
    /// Starts a MAC under `key`; keys longer than `D::BLOCK_LEN` are hashed
    /// first, as RFC 2104 says.
    #[must_use]
    pub fn new(key: &[u8]) -> Self {
        let hashed;
        let key = if key.len() > D::BLOCK_LEN {
            let mut d = D::new();
            d.update(key);
            hashed = d.finish();
            hashed.as_ref()
        } else {
            key
        };
        let mut inner = D::new();
        let mut outer = D::new();
        // A byte at a time, because a generic `D::BLOCK_LEN` cannot size an
        // array on stable Rust; this is one block per hasher, once per key.
        for &byte in key.iter().chain(core::iter::repeat(&0)).take(D::BLOCK_LEN) {
            inner.update(&[byte ^ 0x36]);
            outer.update(&[byte ^ 0x5c]);
        }
        Hmac { inner, outer }
    }

    /// Appends `data` to the message; any chunking gives the same MAC.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The MAC of the message. Compare it with [`ct_eq`](super::ct_eq).
    pub fn finish(self) -> D::Output {
        let inner = self.inner.finish();
        let mut outer = self.outer;
        outer.update(inner.as_ref());
        outer.finish()
    }
}

/// HMAC-MD5 of `data` under `key`: the handshake of Python 3.11 and older.
#[must_use]
pub fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    let mut mac = Hmac::<Md5>::new(key);
    mac.update(data);
    mac.finish()
}

/// HMAC-SHA256 of `data` under `key`: the handshake of Python 3.12 and newer.
#[must_use]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new(key);
    mac.update(data);
    mac.finish()
}

/// Shows no state: it is derived from the key.
impl<D: Digest> core::fmt::Debug for Hmac<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hmac").finish_non_exhaustive()
    }
}
