//! Socket addresses in their C form: `sockaddr_un`, `sockaddr_in`, `sockaddr_in6`.

use core::mem::{size_of, zeroed};
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::Errno;
use crate::address::{Address, UnixName, SUN_PATH_LEN};

/// A socket address as the kernel reads and writes it.
#[derive(Copy, Clone)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    /// Room for any address the kernel may write (`accept`, `getsockname`).
    pub(super) fn empty() -> SockAddr {
        SockAddr {
            // SAFETY: all-zero bytes are a valid sockaddr_storage.
            storage: unsafe { zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// The `AF_*` family of this address.
    #[must_use]
    pub fn family(&self) -> libc::sa_family_t {
        self.storage.ss_family
    }

    pub(super) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    pub(super) fn as_mut_ptr(&mut self) -> (*mut libc::sockaddr, &mut libc::socklen_t) {
        (
            (&mut self.storage as *mut libc::sockaddr_storage).cast(),
            &mut self.len,
        )
    }

    pub(super) fn len(&self) -> libc::socklen_t {
        self.len
    }

    /// Encodes an [`Address`]; `None` for [`Address::Unnamed`], and outside
    /// Linux for [`Address::Abstract`].
    #[must_use]
    pub fn new(addr: &Address) -> Option<SockAddr> {
        SockAddr::encode(addr).ok()
    }

    /// Encodes an [`Address`] to bind or connect to.
    ///
    /// # Errors
    /// `EINVAL` for [`Address::Unnamed`]; `EAFNOSUPPORT` for
    /// [`Address::Abstract`] outside Linux, the only system with abstract
    /// socket names.
    pub fn encode(addr: &Address) -> Result<SockAddr, Errno> {
        let mut out = SockAddr::empty();
        let len = match addr {
            Address::Unix(path) => write_unix(&mut out.storage, 0, path.as_bytes()),
            Address::Abstract(name) => write_abstract(&mut out.storage, name)?,
            Address::Tcp(SocketAddr::V4(v4)) => write_v4(&mut out.storage, v4),
            Address::Tcp(SocketAddr::V6(v6)) => write_v6(&mut out.storage, v6),
            Address::Unnamed => return Err(Errno::INVAL),
        };
        out.len = len as libc::socklen_t;
        Ok(out)
    }

    /// Decodes what the kernel wrote; `None` for a family this crate does
    /// not speak or a length that does not fit it.
    #[must_use]
    pub fn address(&self) -> Option<Address> {
        let len = self.len as usize;
        match libc::c_int::from(self.storage.ss_family) {
            libc::AF_UNIX => read_unix(&self.storage, len),
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => Some(read_v4(&self.storage)),
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                Some(read_v6(&self.storage))
            }
            _ => None,
        }
    }
}

/// Offset of `sun_path` in `sockaddr_un`.
fn sun_path_offset() -> usize {
    size_of::<libc::sockaddr_un>() - SUN_PATH_LEN
}

/// Writes a path (`skip = 0`) or an abstract name (`skip = 1`, after a NUL).
fn write_unix(storage: &mut libc::sockaddr_storage, skip: usize, name: &[u8]) -> usize {
    // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
    let un = unsafe { &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
    un.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // `Address` checked that the name fits with its NUL (or after it).
    for (dst, &src) in un.sun_path[skip..].iter_mut().zip(name) {
        *dst = src as libc::c_char;
    }
    let len = sun_path_offset() + skip + name.len();
    // A path's length counts its terminating NUL, as std and Python pass it.
    if skip == 0 {
        len + 1
    } else {
        len
    }
}

/// An abstract name is a `sun_path` that starts with a NUL (Linux only).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn write_abstract(storage: &mut libc::sockaddr_storage, name: &UnixName) -> Result<usize, Errno> {
    Ok(write_unix(storage, 1, name.as_bytes()))
}

/// Other systems read a leading NUL as an empty path: refuse, rather than
/// bind or connect to something else.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn write_abstract(_: &mut libc::sockaddr_storage, _: &UnixName) -> Result<usize, Errno> {
    Err(Errno::AFNOSUPPORT)
}

fn read_unix(storage: &libc::sockaddr_storage, len: usize) -> Option<Address> {
    // SAFETY: the family is AF_UNIX, so the kernel wrote a sockaddr_un.
    let un = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
    let n = len.checked_sub(sun_path_offset())?.min(SUN_PATH_LEN);
    let mut bytes = [0u8; SUN_PATH_LEN];
    for (dst, &src) in bytes.iter_mut().zip(&un.sun_path[..n]) {
        *dst = src as u8;
    }
    match bytes[..n] {
        [] => Some(Address::Unnamed),
        [0, ref name @ ..] => Address::abstract_name(name).ok(),
        ref path => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(n);
            Address::unix(&path[..end]).ok()
        }
    }
}

fn write_v4(storage: &mut libc::sockaddr_storage, addr: &SocketAddrV4) -> usize {
    // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
    let sin = unsafe { &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_port = addr.port().to_be();
    sin.sin_addr.s_addr = u32::from_ne_bytes(addr.ip().octets());
    size_of::<libc::sockaddr_in>()
}

fn read_v4(storage: &libc::sockaddr_storage) -> Address {
    // SAFETY: the family is AF_INET and the length covers a sockaddr_in.
    let sin = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
    let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
    Address::Tcp(SocketAddr::V4(SocketAddrV4::new(
        ip,
        u16::from_be(sin.sin_port),
    )))
}

fn write_v6(storage: &mut libc::sockaddr_storage, addr: &SocketAddrV6) -> usize {
    // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
    let sin6 =
        unsafe { &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
    sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sin6.sin6_port = addr.port().to_be();
    sin6.sin6_flowinfo = addr.flowinfo();
    sin6.sin6_addr.s6_addr = addr.ip().octets();
    sin6.sin6_scope_id = addr.scope_id();
    size_of::<libc::sockaddr_in6>()
}

fn read_v6(storage: &libc::sockaddr_storage) -> Address {
    // SAFETY: the family is AF_INET6 and the length covers a sockaddr_in6.
    let sin6 = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
    let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
    let port = u16::from_be(sin6.sin6_port);
    let v6 = SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id);
    Address::Tcp(SocketAddr::V6(v6))
}

impl core::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SockAddr")
            .field("family", &self.family())
            .field("address", &self.address())
            .finish()
    }
}
