//! The digests against published vectors (RFC 1321, FIPS 180-4, RFC 2104,
//! RFC 2202, RFC 4231), against MACs from real Python handshakes, and
//! streamed in random chunkings against one-shot hashing.

use ipcwire::digest::{ct_eq, hmac_md5, hmac_sha256, md5, sha256, Digest, Hmac, Md5, Sha256};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 1321 appendix A.5: the whole test suite.
#[test]
fn md5_rfc1321() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "d41d8cd98f00b204e9800998ecf8427e"),
        (b"a", "0cc175b9c0f1b6a831c399e269772661"),
        (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
        (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            b"abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "d174ab98d277d9f5a5611c2c9f419d9f",
        ),
        (
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            md5(msg).to_vec(),
            hex(want),
            "{:?}",
            std::str::from_utf8(msg)
        );
    }
}

/// FIPS 180-4 examples (one block, two blocks) and the empty message.
#[test]
fn sha256_fips180() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(
            sha256(msg).to_vec(),
            hex(want),
            "{:?}",
            std::str::from_utf8(msg)
        );
    }
}

/// The NIST long message: one million 'a', fed in uneven pieces.
#[test]
#[cfg_attr(miri, ignore = "too slow under miri")]
fn sha256_million_a() {
    let chunk = [b'a'; 1000];
    let mut h = Sha256::new();
    let mut left = 1_000_000;
    for size in [1, 63, 64, 65, 999, 1000].iter().cycle() {
        let n = (*size).min(left);
        h.update(&chunk[..n]);
        left -= n;
        if left == 0 {
            break;
        }
    }
    assert_eq!(
        h.finish().to_vec(),
        hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    );
}

/// Every length from 0 to 130 bytes, so every padding position (including
/// the two-block case at 56..=63 bytes) is checked against Python's hashlib.
/// The expected value is SHA-256 over the concatenated digests.
#[test]
fn every_length_matches_hashlib() {
    let pattern: Vec<u8> = (0..130u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut md5s = Vec::new();
    let mut sha256s = Vec::new();
    for n in 0..=pattern.len() {
        md5s.extend_from_slice(&md5(&pattern[..n]));
        sha256s.extend_from_slice(&sha256(&pattern[..n]));
    }
    assert_eq!(
        sha256(&md5s).to_vec(),
        hex("e2813098e1e532e0ded1fa934d70beae413a742876350b6de4aa85a07b66cb02")
    );
    assert_eq!(
        sha256(&sha256s).to_vec(),
        hex("b3d31aa6b4f0810cff11dc15fd1017d7ba047ad10e757b0e36ed68897e6d1851")
    );
}

/// RFC 2104 appendix: the three sample HMAC-MD5 results.
#[test]
fn hmac_md5_rfc2104() {
    let cases: [(&[u8], &[u8], &str); 3] = [
        (&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "750c783e6ab0b503eaa86e310a5db738",
        ),
        (&[0xaa; 16], &[0xdd; 50], "56be34521d144c88dbb8c733f0e8b3f6"),
    ];
    for (i, (key, data, want)) in cases.into_iter().enumerate() {
        assert_eq!(hmac_md5(key, data).to_vec(), hex(want), "case {}", i + 1);
    }
}

/// RFC 2202 section 2: HMAC-MD5 test cases 1 to 7.
#[test]
fn hmac_md5_rfc2202() {
    let key4: Vec<u8> = (0x01..=0x19).collect();
    let cases: [(&[u8], &[u8], &str); 7] = [
        (&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "750c783e6ab0b503eaa86e310a5db738",
        ),
        (&[0xaa; 16], &[0xdd; 50], "56be34521d144c88dbb8c733f0e8b3f6"),
        (&key4, &[0xcd; 50], "697eaf0aca3a3aea3a75164746ffaa79"),
        (
            &[0x0c; 16],
            b"Test With Truncation",
            "56461ef2342edc00f9bab995690efd4c",
        ),
        (
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
        ),
        (
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
            "6f630fad67cda0ee1fb1f562db3aa53e",
        ),
    ];
    for (i, (key, data, want)) in cases.into_iter().enumerate() {
        assert_eq!(hmac_md5(key, data).to_vec(), hex(want), "case {}", i + 1);
    }
}

/// RFC 4231 section 4: HMAC-SHA-256 test cases 1 to 7. Case 5's published
/// output is truncated to 128 bits.
#[test]
fn hmac_sha256_rfc4231() {
    let key4: Vec<u8> = (0x01..=0x19).collect();
    let cases: [(&[u8], &[u8], &str); 7] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            &[0xaa; 20],
            &[0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            &key4,
            &[0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            &[0x0c; 20],
            b"Test With Truncation",
            "a3b6167473100ee06e0c796c2955552b",
        ),
        (
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            &[0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than \
              block-size data. The key needs to be hashed before being used by the \
              HMAC algorithm.",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (i, (key, data, want)) in cases.into_iter().enumerate() {
        let want = hex(want);
        let got = hmac_sha256(key, data);
        assert_eq!(&got[..want.len()], &want[..], "case {}", i + 1);
    }
}

/// The MACs of the handshake examples on the protocol page: a legacy
/// (Python 3.11) challenge, and a `{sha256}` challenge under both digests.
#[test]
fn handshake_macs() {
    let legacy: Vec<u8> = (0x00..=0x13).collect();
    let mut modern = b"{sha256}".to_vec();
    modern.extend(0x00..=0x27);
    assert_eq!(
        hmac_md5(b"secret", &legacy).to_vec(),
        hex("7defa9cc46abc3583325d17ccda75190")
    );
    assert_eq!(
        hmac_sha256(b"secret", &modern).to_vec(),
        hex("fc57fbe650d6124b98215e7b5d197d5807ad69982d275a9735ea2d56f1fa6989")
    );
    assert_eq!(
        hmac_md5(b"secret", &modern).to_vec(),
        hex("8e48d2bb349b4b72b9382999ed5b62eb")
    );
}

/// Marsaglia's xorshift64: enough randomness for chunk sizes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..=max`.
    fn below(&mut self, max: usize) -> usize {
        (self.next() % (max as u64 + 1)) as usize
    }
}

/// Splits `data` into random pieces (empty ones included) and feeds them to
/// `update`, one call each.
fn feed_chunked(data: &[u8], rng: &mut XorShift, mut update: impl FnMut(&[u8])) {
    let mut rest = data;
    while !rest.is_empty() {
        // Mostly small pieces, so that boundaries land everywhere.
        let max = if rng.below(3) == 0 { 130 } else { 9 };
        let (piece, tail) = rest.split_at(rng.below(max).min(rest.len()));
        update(piece);
        rest = tail;
    }
    update(&[]);
}

fn streamed<D: Digest>(data: &[u8], rng: &mut XorShift) -> D::Output {
    let mut h = D::new();
    feed_chunked(data, rng, |piece| h.update(piece));
    h.finish()
}

fn streamed_hmac<D: Digest>(key: &[u8], data: &[u8], rng: &mut XorShift) -> D::Output {
    let mut mac = Hmac::<D>::new(key);
    feed_chunked(data, rng, |piece| mac.update(piece));
    mac.finish()
}

#[test]
fn streaming_equals_one_shot() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let data: Vec<u8> = (0..300).map(|_| rng.next() as u8).collect();
    let key = &data[..70];
    let lens = [
        0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 183, 184, 191, 192, 193, 300,
    ];
    // Miri interprets every round: one chunking per length is enough there.
    let rounds = if cfg!(miri) { 1 } else { 8 };
    for len in lens {
        let msg = &data[..len];
        for _ in 0..rounds {
            assert_eq!(streamed::<Md5>(msg, &mut rng), md5(msg), "md5 len {len}");
            assert_eq!(
                streamed::<Sha256>(msg, &mut rng),
                sha256(msg),
                "sha256 len {len}"
            );
            let klen = rng.below(key.len());
            let k = &key[..klen];
            assert_eq!(
                streamed_hmac::<Md5>(k, msg, &mut rng),
                hmac_md5(k, msg),
                "hmac-md5 len {len} key {klen}"
            );
            assert_eq!(
                streamed_hmac::<Sha256>(k, msg, &mut rng),
                hmac_sha256(k, msg),
                "hmac-sha256 len {len} key {klen}"
            );
        }
        // One byte at a time, the extreme chunking.
        let mut h = Sha256::default();
        let mut m = Md5::default();
        for byte in msg {
            h.update(std::slice::from_ref(byte));
            m.update(std::slice::from_ref(byte));
        }
        assert_eq!(h.finish(), sha256(msg), "sha256 bytewise len {len}");
        assert_eq!(m.finish(), md5(msg), "md5 bytewise len {len}");
    }
}

/// A clone taken mid-stream finishes independently of the original.
#[test]
fn clone_forks_the_state() {
    let mut a = Hmac::<Sha256>::new(b"key");
    a.update(b"common ");
    let mut b = a.clone();
    a.update(b"left");
    b.update(b"right");
    assert_eq!(a.finish(), hmac_sha256(b"key", b"common left"));
    assert_eq!(b.finish(), hmac_sha256(b"key", b"common right"));
}

#[test]
fn lengths_and_block_sizes() {
    assert_eq!(Md5::BLOCK_LEN, 64);
    assert_eq!(Md5::OUTPUT_LEN, md5(b"").len());
    assert_eq!(Sha256::BLOCK_LEN, 64);
    assert_eq!(Sha256::OUTPUT_LEN, sha256(b"").len());
}

#[test]
fn ct_eq_basics() {
    assert!(ct_eq(b"", b""));
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"xbc"));
    assert!(!ct_eq(b"abc", b"ab"));
    assert!(!ct_eq(b"", b"a"));
    let mac = hmac_sha256(b"k", b"m");
    let mut other = mac;
    assert!(ct_eq(&mac, &other));
    other[31] ^= 0x80;
    assert!(!ct_eq(&mac, &other));
}
