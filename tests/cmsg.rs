//! The control-message walker and encoder (`ipcwire::sys::cmsg`) on byte
//! fixtures, for every C library's `struct cmsghdr` layout. Pure: these
//! tests also run under Miri.

use ipcwire::sys::cmsg::{encode_rights, walk_rights, CmsgFormat, Malformed};
use ipcwire::sys::RawFd;

const ALL: [CmsgFormat; 5] = [
    CmsgFormat::LINUX_64,
    CmsgFormat::MUSL_64,
    CmsgFormat::LINUX_32,
    CmsgFormat::APPLE,
    CmsgFormat::FREEBSD_64,
];

fn walk(format: &CmsgFormat, control: &[u8]) -> (Vec<RawFd>, Result<usize, Malformed>) {
    let mut fds = Vec::new();
    let result = walk_rights(format, control, |fd| fds.push(fd));
    (fds, result)
}

/// A Linux 64-bit header: `cmsg_len`, level, type.
fn linux_header(len: u64, level: i32, kind: i32) -> Vec<u8> {
    let mut h = len.to_ne_bytes().to_vec();
    h.extend_from_slice(&level.to_ne_bytes());
    h.extend_from_slice(&kind.to_ne_bytes());
    h
}

#[test]
fn what_is_encoded_walks_back_on_every_layout() {
    for format in &ALL {
        for n in 0..=5 {
            let fds: Vec<RawFd> = (0..n).map(|i| 3 + i * 10).collect();
            let mut out = [0xaa; 64];
            let len = encode_rights(format, &fds, &mut out).unwrap();
            assert_eq!(Some(len), format.rights_space(fds.len()), "{format:?}");
            assert_eq!(walk(format, &out[..len]), (fds, Ok(n as usize)));
        }
    }
}

#[test]
fn linux_64_fixture() {
    // cmsg_len 20 = 16-byte header + one fd; SOL_SOCKET = SCM_RIGHTS = 1;
    // fd 7; 4 bytes of padding up to CMSG_SPACE(4) = 24.
    let mut control = linux_header(20, 1, 1);
    control.extend_from_slice(&7i32.to_ne_bytes());
    control.extend_from_slice(&[0; 4]);
    assert_eq!(walk(&CmsgFormat::LINUX_64, &control), (vec![7], Ok(1)));
    let mut out = [0xaa; 24];
    assert_eq!(
        encode_rights(&CmsgFormat::LINUX_64, &[7], &mut out),
        Some(24)
    );
    assert_eq!(out[..], control[..]);
}

#[test]
fn apple_fixture_packs_to_four_bytes() {
    // cmsg_len 20 = 12-byte header + two fds; SOL_SOCKET = 0xffff.
    let mut control = 20u32.to_ne_bytes().to_vec();
    control.extend_from_slice(&0xffffi32.to_ne_bytes());
    control.extend_from_slice(&1i32.to_ne_bytes());
    control.extend_from_slice(&5i32.to_ne_bytes());
    control.extend_from_slice(&6i32.to_ne_bytes());
    assert_eq!(walk(&CmsgFormat::APPLE, &control), (vec![5, 6], Ok(2)));
    // The same bytes under Linux's numbering are not SCM_RIGHTS.
    assert_eq!(walk(&CmsgFormat::LINUX_32, &control), (vec![], Ok(0)));
}

#[test]
fn lengths_that_lie_stop_the_walk() {
    let mut control = linux_header(0, 1, 1);
    control.extend_from_slice(&9i32.to_ne_bytes());
    control.extend_from_slice(&[0; 4]);
    // Shorter than a header, past the end, absurd: nothing is yielded.
    for len in [0u64, 1, 15, 25, 1 << 32, u64::MAX] {
        control[..8].copy_from_slice(&len.to_ne_bytes());
        let bad = Err(Malformed {
            yielded: 0,
            offset: 0,
        });
        assert_eq!(
            walk(&CmsgFormat::LINUX_64, &control),
            (vec![], bad),
            "{len}"
        );
    }
    // Data that is not a whole number of ints: the whole ones, then an error.
    control[..8].copy_from_slice(&22u64.to_ne_bytes());
    let bad = Err(Malformed {
        yielded: 1,
        offset: 0,
    });
    assert_eq!(walk(&CmsgFormat::LINUX_64, &control), (vec![9], bad));
}

#[test]
fn a_bad_second_message_keeps_the_first_ones_descriptors() {
    let mut control = [0; 48];
    let first = encode_rights(&CmsgFormat::LINUX_64, &[4, 5], &mut control).unwrap();
    control[first..first + 16].copy_from_slice(&linux_header(99, 1, 1));
    let bad = Err(Malformed {
        yielded: 2,
        offset: first,
    });
    assert_eq!(walk(&CmsgFormat::LINUX_64, &control), (vec![4, 5], bad));
}

#[test]
fn other_messages_and_padding_are_skipped() {
    // A 28-byte SCM_CREDENTIALS (type 2) message, padded to 32, then rights.
    let mut control = linux_header(28, 1, 2);
    control.resize(32, 0);
    let mut rights = [0; 24];
    encode_rights(&CmsgFormat::LINUX_64, &[5, 6], &mut rights).unwrap();
    control.extend_from_slice(&rights);
    assert_eq!(walk(&CmsgFormat::LINUX_64, &control), (vec![5, 6], Ok(2)));
    // Trailing bytes too few for a header are padding.
    control.extend_from_slice(&[0xff; 15]);
    assert_eq!(walk(&CmsgFormat::LINUX_64, &control), (vec![5, 6], Ok(2)));
    assert_eq!(walk(&CmsgFormat::LINUX_64, &[]), (vec![], Ok(0)));
}

#[test]
fn encoding_needs_room() {
    let mut small = [0; 23];
    assert_eq!(encode_rights(&CmsgFormat::LINUX_64, &[1], &mut small), None);
    assert_eq!(CmsgFormat::LINUX_64.rights_space(usize::MAX), None);
    assert_eq!(CmsgFormat::LINUX_64.rights_space(64), Some(16 + 256));
    assert_eq!(CmsgFormat::FREEBSD_64.rights_space(1), Some(24));
    assert_eq!(CmsgFormat::APPLE.rights_space(1), Some(16));
}
