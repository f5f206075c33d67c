//! `Address`: where a [`Listener`](crate::Listener) listens and a
//! [`Client`](crate::Client) connects, with a textual form for CLIs.
//!
//! This module is pure: no system calls, no allocation, no `unsafe`.
#![forbid(unsafe_code)]

use core::fmt::{self, Write};
use core::net::SocketAddr;
use core::str::FromStr;

/// Bytes in `sockaddr_un.sun_path` on this target.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const SUN_PATH_LEN: usize = 108;
/// Bytes in `sockaddr_un.sun_path` on this target.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const SUN_PATH_LEN: usize = 104;

/// A socket address, with a text form for command lines and logs.
///
/// | text | meaning |
/// |---|---|
/// | `unix:/run/app.sock` | a Unix socket file |
/// | `abstract:app` | a Linux abstract socket name (no file; gone with its last socket) |
/// | `tcp:127.0.0.1:8080` | TCP over IPv4 |
/// | `tcp:[::1]:0` | TCP over IPv6; port 0 asks the kernel for a free port |
/// | `unnamed` | shown for a Unix socket that never bound a name (most clients); not parsed, as nothing can bind or connect to it |
///
/// Host names are not resolved: this crate makes no DNS queries.
///
/// A path may hold any byte but NUL, and an abstract name any byte at all,
/// so the text escapes what is not printable UTF-8: `\\` is a backslash
/// and `\xNN` (two hex digits) is any byte. `Display` writes those escapes
/// for a backslash, for bytes that are not UTF-8, and for control and
/// invisible characters (and U+FFFD, which would look like a lost byte);
/// `FromStr` reads them back. So display then parse gives the same address
/// for every path and name the kernel accepts (and for TCP addresses but
/// an IPv6 flow label, which the text does not carry). In Rust source, write
/// such text as a raw string:
///
/// ```
/// use ipcwire::Address;
/// let addr: Address = r"abstract:app\x00\xff".parse()?;
/// assert_eq!(addr, Address::abstract_name(b"app\0\xff")?);
/// assert_eq!(addr.to_string(), r"abstract:app\x00\xff");
/// # Ok::<(), ipcwire::AddressError>(())
/// ```
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The name as a C string, as `unlink` and `lstat` want a path.
    #[must_use]
    pub fn as_c_str(&self) -> Option<&core::ffi::CStr> {
        core::ffi::CStr::from_bytes_with_nul(&self.bytes[..=self.len]).ok()
    }
}

/// Why a textual address or a path is not a usable address.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// A backslash in a path or name is not followed by `\\` or `xNN`
    /// (two hex digits).
    BadEscape,
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
            AddressError::BadEscape => {
                f.write_str("a backslash in a socket name must start \\\\ or \\xNN")
            }
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
            Unescaped::new(path)?.address(Address::unix)
        } else if let Some(name) = s.strip_prefix("abstract:") {
            Unescaped::new(name)?.address(Address::abstract_name)
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

/// Writes a name as text, escaping what [`shows_as_itself`] does not pass
/// (see the module's docs).
fn write_name(f: &mut fmt::Formatter<'_>, scheme: &str, name: &UnixName) -> fmt::Result {
    f.write_str(scheme)?;
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                f.write_str("\\\\")?;
            } else if shows_as_itself(c) {
                f.write_char(c)?;
            } else {
                write_escaped(f, c.encode_utf8(&mut [0; 4]).as_bytes())?;
            }
        }
        write_escaped(f, chunk.invalid())?;
    }
    Ok(())
}

/// Whether `c` may appear in a name's text as itself: not a control
/// character, not whitespace other than the space, not an invisible
/// formatting character (zero-width, bidirectional), and not U+FFFD, which
/// would look like a byte lost in conversion.
fn shows_as_itself(c: char) -> bool {
    let invisible = matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{fffd}');
    !(c.is_control() || (c.is_whitespace() && c != ' ') || invisible)
}

fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "\\x{b:02x}"))
}

/// A path or name read from text, escapes resolved, held inline.
struct Unescaped {
    bytes: [u8; SUN_PATH_LEN],
    /// The full length, which may exceed `bytes` (then it is too long).
    len: usize,
}

impl Unescaped {
    fn new(text: &str) -> Result<Unescaped, AddressError> {
        let mut out = Unescaped {
            bytes: [0; SUN_PATH_LEN],
            len: 0,
        };
        let mut rest = text.bytes();
        while let Some(b) = rest.next() {
            let byte = match b {
                b'\\' => match rest.next() {
                    Some(b'\\') => b'\\',
                    Some(b'x') => hex_digit(rest.next())? << 4 | hex_digit(rest.next())?,
                    _ => return Err(AddressError::BadEscape),
                },
                b => b,
            };
            if let Some(slot) = out.bytes.get_mut(out.len) {
                *slot = byte;
            }
            out.len += 1;
        }
        Ok(out)
    }

    /// The address `make` builds from these bytes, with the full length in
    /// a `TooLong` error (only as many bytes as fit were kept).
    fn address(
        &self,
        make: fn(&[u8]) -> Result<Address, AddressError>,
    ) -> Result<Address, AddressError> {
        match make(&self.bytes[..self.len.min(SUN_PATH_LEN)]) {
            Err(AddressError::TooLong { max, .. }) => {
                Err(AddressError::TooLong { len: self.len, max })
            }
            other => other,
        }
    }
}

fn hex_digit(c: Option<u8>) -> Result<u8, AddressError> {
    match c {
        Some(c @ b'0'..=b'9') => Ok(c - b'0'),
        Some(c @ b'a'..=b'f') => Ok(c - b'a' + 10),
        Some(c @ b'A'..=b'F') => Ok(c - b'A' + 10),
        _ => Err(AddressError::BadEscape),
    }
}

impl fmt::Debug for UnixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnixName").field(&self.as_bytes()).finish()
    }
}
