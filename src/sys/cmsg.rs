//! Control messages as bytes: building the `SCM_RIGHTS` message a send
//! carries, and walking the control data a receive got.
//!
//! The walker parses bytes the kernel wrote, and trusts none of their
//! lengths: each header is checked against the bytes really there before a
//! field is read, with checked arithmetic, over a plain byte slice — never
//! `CMSG_NXTHDR`'s pointer arithmetic. It yields raw descriptor numbers and
//! nothing more; only [`recv_with_fds`](super::recv_with_fds) makes owned
//! descriptors of them. That split is what lets a fuzzer feed the walker
//! arbitrary bytes without closing anything.
//!
//! Pure: no system calls, no `unsafe`.
#![forbid(unsafe_code)]

use super::RawFd;

/// Bytes of one descriptor number in `SCM_RIGHTS` data (a C `int`).
const FD_LEN: usize = core::mem::size_of::<RawFd>();

/// The layout of `struct cmsghdr` in one C library, and the numbers that
/// mark an `SCM_RIGHTS` message (`SOL_SOCKET`, `SCM_RIGHTS`).
///
/// [`CmsgFormat::HOST`] is the target's; the others let the walker be
/// tested on every layout from any machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CmsgFormat {
    /// `sizeof(struct cmsghdr)`: the bytes a header's fields occupy.
    header_len: usize,
    /// `CMSG_LEN(0)`: where the data starts, from the header's start.
    data_offset: usize,
    /// `CMSG_ALIGN`'s unit: headers start at multiples of it.
    align: usize,
    /// Where `cmsg_len` is, and its width: 4 or 8 bytes, native endian.
    len_at: usize,
    len_width: usize,
    /// Where the `int`s `cmsg_level` and `cmsg_type` are.
    level_at: usize,
    type_at: usize,
    sol_socket: i32,
    scm_rights: i32,
}

impl CmsgFormat {
    /// glibc and bionic on 64-bit Linux: `size_t cmsg_len`.
    pub const LINUX_64: CmsgFormat = CmsgFormat::known(16, 16, 8, (0, 8), 8, 12, (1, 1));
    /// musl on 64-bit little-endian Linux: `socklen_t cmsg_len` and padding.
    pub const MUSL_64: CmsgFormat = CmsgFormat::known(16, 16, 8, (0, 4), 8, 12, (1, 1));
    /// 32-bit Linux.
    pub const LINUX_32: CmsgFormat = CmsgFormat::known(12, 12, 4, (0, 4), 4, 8, (1, 1));
    /// macOS and the other Apple systems: 4-byte alignment.
    pub const APPLE: CmsgFormat = CmsgFormat::known(12, 12, 4, (0, 4), 4, 8, (0xffff, 1));
    /// FreeBSD on 64-bit targets: a 12-byte header, data at 16.
    pub const FREEBSD_64: CmsgFormat = CmsgFormat::known(12, 16, 8, (0, 4), 4, 8, (0xffff, 1));

    /// A layout, if it is one a walk can rely on: fields inside the header,
    /// data after it and aligned, alignment a power of two, `cmsg_len` 4 or
    /// 8 bytes wide.
    #[allow(clippy::too_many_arguments)]
    pub(super) const fn new(
        header_len: usize,
        data_offset: usize,
        align: usize,
        (len_at, len_width): (usize, usize),
        level_at: usize,
        type_at: usize,
        (sol_socket, scm_rights): (i32, i32),
    ) -> Option<CmsgFormat> {
        let sound = align.is_power_of_two()
            && align <= 64
            && (len_width == 4 || len_width == 8)
            && len_at + len_width <= header_len
            && level_at + 4 <= header_len
            && type_at + 4 <= header_len
            && header_len <= data_offset
            && data_offset % align == 0
            && data_offset <= 64;
        if sound {
            Some(CmsgFormat {
                header_len,
                data_offset,
                align,
                len_at,
                len_width,
                level_at,
                type_at,
                sol_socket,
                scm_rights,
            })
        } else {
            None
        }
    }

    /// A layout written down here; a mistake in it fails the build.
    const fn known(
        header_len: usize,
        data_offset: usize,
        align: usize,
        len: (usize, usize),
        level_at: usize,
        type_at: usize,
        marks: (i32, i32),
    ) -> CmsgFormat {
        match CmsgFormat::new(
            header_len,
            data_offset,
            align,
            len,
            level_at,
            type_at,
            marks,
        ) {
            Some(format) => format,
            None => panic!("unsound cmsghdr layout"),
        }
    }

    /// `CMSG_SPACE(n * sizeof(int))`: the control bytes a message of `n`
    /// descriptors takes, padding included; `None` on overflow.
    #[must_use]
    pub const fn rights_space(&self, n: usize) -> Option<usize> {
        let Some(data) = n.checked_mul(FD_LEN) else {
            return None;
        };
        match align_up(data, self.align) {
            Some(padded) => self.data_offset.checked_add(padded),
            None => None,
        }
    }

    /// `cmsg_len` of the header at the front of `header`.
    fn cmsg_len(&self, header: &[u8]) -> Option<u64> {
        let field = header.get(self.len_at..self.len_at + self.len_width)?;
        Some(match *field {
            [a, b, c, d] => u64::from(u32::from_ne_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => u64::from_ne_bytes([a, b, c, d, e, f, g, h]),
            _ => return None,
        })
    }

    /// Whether the header at the front of `header` is `SOL_SOCKET`/`SCM_RIGHTS`.
    fn is_rights(&self, header: &[u8]) -> bool {
        read_int(header, self.level_at) == Some(self.sol_socket)
            && read_int(header, self.type_at) == Some(self.scm_rights)
    }
}

/// A native-endian C `int` at `at`.
fn read_int(bytes: &[u8], at: usize) -> Option<i32> {
    match *bytes.get(at..at.checked_add(4)?)? {
        [a, b, c, d] => Some(i32::from_ne_bytes([a, b, c, d])),
        _ => None,
    }
}

/// `len` rounded up to a multiple of `align` (a power of two).
const fn align_up(len: usize, align: usize) -> Option<usize> {
    match len.checked_add(align - 1) {
        Some(sum) => Some(sum & !(align - 1)),
        None => None,
    }
}

/// Control data that could not be walked to its end: a header whose
/// `cmsg_len` is shorter than a header or runs past the bytes received, or
/// `SCM_RIGHTS` data that is not a whole number of descriptors. The kernel
/// never writes such data; a walk that meets it stops there.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Descriptors yielded before the walk stopped (the caller owns them).
    pub yielded: usize,
    /// Where the bad message starts in the control data.
    pub offset: usize,
}

/// Walks control data a receive got and calls `each` with every descriptor
/// number in its `SCM_RIGHTS` messages, in order; other messages (such as
/// credentials) are skipped. Returns how many were yielded.
///
/// Every read is bounded by `control`: a message counts only if its
/// `cmsg_len` covers its own header and ends inside `control`, so no more
/// descriptors are yielded than the bytes hold. Bytes after the last
/// message too few for a header are padding.
///
/// # Errors
/// [`Malformed`] where the data stops making sense; the descriptors yielded
/// before that point have been passed to `each` and must still be closed.
pub fn walk_rights(
    format: &CmsgFormat,
    control: &[u8],
    mut each: impl FnMut(RawFd),
) -> Result<usize, Malformed> {
    let mut at = 0;
    let mut yielded = 0;
    while let Some(rest) = control.get(at..).filter(|r| r.len() >= format.header_len) {
        let bad = Malformed {
            yielded,
            offset: at,
        };
        let len = format
            .cmsg_len(rest)
            .and_then(|len| usize::try_from(len).ok())
            .filter(|&len| len >= format.data_offset && len <= rest.len())
            .ok_or(bad)?;
        if format.is_rights(rest) {
            let mut ints = rest[format.data_offset..len].chunks_exact(FD_LEN);
            for int in &mut ints {
                let mut raw = [0; FD_LEN];
                raw.copy_from_slice(int);
                each(RawFd::from_ne_bytes(raw));
                yielded += 1;
            }
            if !ints.remainder().is_empty() {
                return Err(Malformed {
                    yielded,
                    offset: at,
                });
            }
        }
        // `len >= data_offset > 0`, so each step moves forward.
        match align_up(len, format.align).and_then(|step| at.checked_add(step)) {
            Some(next) => at = next,
            None => break,
        }
    }
    Ok(yielded)
}

/// Writes one `SCM_RIGHTS` message carrying `fds` at the front of `out`,
/// padding zeroed, and returns its length (`CMSG_SPACE`); `None` when it
/// does not fit `out` or its length does not fit `cmsg_len`.
pub fn encode_rights(format: &CmsgFormat, fds: &[RawFd], out: &mut [u8]) -> Option<usize> {
    let len = format
        .data_offset
        .checked_add(fds.len().checked_mul(FD_LEN)?)?;
    let space = format.rights_space(fds.len())?;
    let out = out.get_mut(..space)?;
    out.fill(0);
    let len_field = &mut out[format.len_at..format.len_at + format.len_width];
    if format.len_width == 4 {
        len_field.copy_from_slice(&u32::try_from(len).ok()?.to_ne_bytes());
    } else {
        len_field.copy_from_slice(&(len as u64).to_ne_bytes());
    }
    out[format.level_at..format.level_at + 4].copy_from_slice(&format.sol_socket.to_ne_bytes());
    out[format.type_at..format.type_at + 4].copy_from_slice(&format.scm_rights.to_ne_bytes());
    let data = &mut out[format.data_offset..len];
    for (slot, fd) in data.chunks_exact_mut(FD_LEN).zip(fds) {
        slot.copy_from_slice(&fd.to_ne_bytes());
    }
    Some(space)
}
