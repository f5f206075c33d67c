//! `Address`: where a [`Listener`](crate::Listener) listens and a
//! [`Client`](crate::Client) connects, with a textual form for CLIs.
//!
//! | text | meaning |
//! |---|---|
//! | `unix:/run/app.sock` | a Unix socket file |
//! | `abstract:app` | a Linux abstract socket name (no file; gone with its last socket) |
//! | `tcp:127.0.0.1:8080` | TCP over IPv4 |
//! | `tcp:[::1]:0` | TCP over IPv6; port 0 asks the kernel for a free port |
//!
//! Host names are not resolved: this crate makes no DNS queries.
//!
//! This module is pure: no system calls, no allocation, no `unsafe`.
#![forbid(unsafe_code)]

use core::fmt;
use core::net::SocketAddr;
use core::str::FromStr;

/// Bytes in `sockaddr_un.sun_path` on this target.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const SUN_PATH_LEN: usize = 108;
/// Bytes in `sockaddr_un.sun_path` on this target.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const SUN_PATH_LEN: usize = 104;

/// A socket address.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A Unix socket file (`unix:/path`).
    Unix(UnixName),
    /// A Linux abstract Unix socket name (`abstract:name`).
    ///
    /// Only Linux has abstract names. Elsewhere the variant still parses and
    /// displays, but binding or connecting to it fails with `EAFNOSUPPORT`.
    Abstract(UnixName),
    /// A TCP address, IPv4 or IPv6 (`tcp:127.0.0.1:80`, `tcp:[::1]:80`).
    Tcp(SocketAddr),
    /// The address of a Unix socket that never bound one, as a client's
    /// socket usually is. It can be shown but not bound or connected to.
    Unnamed,
}

/// The bytes of a Unix socket path or abstract name, checked to fit
/// `sun_path` and held inline, without allocation.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct UnixName {
    /// The name, then zeros; the zero after it terminates a path for C.
    bytes: [u8; SUN_PATH_LEN],
    len: usize,
}

impl UnixName {
    /// The name's bytes, without any terminating or leading NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The name as a C string, as `unlink` and `lstat` want a path.
    pub fn as_c_str(&self) -> Option<&core::ffi::CStr> {
        core::ffi::CStr::from_bytes_with_nul(&self.bytes[..=self.len]).ok()
    }
}

/// Why a textual address or a path is not a usable address.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressError {
    /// The text does not start with `unix:`, `abstract:` or `tcp:`.
    UnknownScheme,
    /// The path or name is empty.
    Empty,
    /// The path or name has `len` bytes; at most `max` fit in `sun_path`.
    TooLong {
        /// The length given.
        len: usize,
        /// The most that fits.
        max: usize,
    },
    /// A Unix path contains a NUL byte, which would cut it short.
    Nul,
    /// The part after `tcp:` is not `IPv4:port` or `[IPv6]:port`.
    BadTcp,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AddressError::UnknownScheme => {
                f.write_str("address must start with unix:, abstract: or tcp:")
            }
            AddressError::Empty => f.write_str("empty socket path or name"),
            AddressError::TooLong { len, max } => {
                write!(
                    f,
                    "socket path of {len} bytes is longer than the {max} that fit"
                )
            }
            AddressError::Nul => f.write_str("socket path contains a NUL byte"),
            AddressError::BadTcp => f.write_str("TCP address must be IPv4:port or [IPv6]:port"),
        }
    }
}

impl core::error::Error for AddressError {}

impl Address {
    /// The longest Unix socket path: `sun_path` less its terminating NUL
    /// (107 bytes on Linux).
    pub const MAX_PATH_LEN: usize = SUN_PATH_LEN - 1;

    /// The longest abstract name: `sun_path` less the NUL that marks it.
    pub const MAX_ABSTRACT_LEN: usize = SUN_PATH_LEN - 1;

    /// A Unix socket file address.
    ///
    /// # Errors
    /// [`AddressError::Empty`], [`AddressError::Nul`], or
    /// [`AddressError::TooLong`] beyond [`MAX_PATH_LEN`](Self::MAX_PATH_LEN) bytes: a path is
    /// never cut short to fit.
    pub fn unix(path: &[u8]) -> Result<Address, AddressError> {
        if path.contains(&0) {
            return Err(AddressError::Nul);
        }
        name(path, Address::MAX_PATH_LEN).map(Address::Unix)
    }

    /// A Linux abstract socket name (without the leading NUL).
    ///
    /// # Errors
    /// [`AddressError::Empty`], or [`AddressError::TooLong`] beyond
    /// [`MAX_ABSTRACT_LEN`](Self::MAX_ABSTRACT_LEN) bytes.
    pub fn abstract_name(name_bytes: &[u8]) -> Result<Address, AddressError> {
        name(name_bytes, Address::MAX_ABSTRACT_LEN).map(Address::Abstract)
    }
}

fn name(bytes: &[u8], max: usize) -> Result<UnixName, AddressError> {
    if bytes.is_empty() {
        return Err(AddressError::Empty);
    }
    if bytes.len() > max {
        return Err(AddressError::TooLong {
            len: bytes.len(),
            max,
        });
    }
    let mut name = UnixName {
        bytes: [0; SUN_PATH_LEN],
        len: bytes.len(),
    };
    name.bytes[..bytes.len()].copy_from_slice(bytes);
    Ok(name)
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Self {
        Address::Tcp(addr)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            Address::unix(path.as_bytes())
        } else if let Some(name) = s.strip_prefix("abstract:") {
            Address::abstract_name(name.as_bytes())
        } else if let Some(tcp) = s.strip_prefix("tcp:") {
            tcp.parse()
                .map(Address::Tcp)
                .map_err(|_| AddressError::BadTcp)
        } else {
            Err(AddressError::UnknownScheme)
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write_name(f, "unix:", path),
            Address::Abstract(name) => write_name(f, "abstract:", name),
            Address::Tcp(addr) => write!(f, "tcp:{addr}"),
            Address::Unnamed => f.write_str("unnamed"),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// Writes a name as text; bytes that are not UTF-8 show as U+FFFD.
fn write_name(f: &mut fmt::Formatter<'_>, scheme: &str, name: &UnixName) -> fmt::Result {
    f.write_str(scheme)?;
    for chunk in name.as_bytes().utf8_chunks() {
        f.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            f.write_str("\u{fffd}")?;
        }
    }
    Ok(())
}

impl fmt::Debug for UnixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixName").field(&self.as_bytes()).finish()
    }
}
