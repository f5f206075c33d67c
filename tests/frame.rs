//! The frame codec against fixed byte fixtures (from real CPython) and
//! against a naive reference decoder, fed whole and in every chunking.

use ipcwire::frame::{Decoded, Decoder, FrameError, Header, MAX_HEADER_LEN};

// The reference decoder and the checked chunked driver the fuzz targets use.
#[path = "common/fuzz_checks.rs"]
mod fuzz_checks;
use fuzz_checks::{decode_chunked, decode_naive, Outcome};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn header_fixtures_from_the_protocol_page() {
    assert_eq!(Header::new(0).as_bytes(), hex("00000000"));
    assert_eq!(Header::new(5).as_bytes(), hex("00000005"));
    assert_eq!(Header::new(0x7fff_ffff).as_bytes(), hex("7fffffff"));
    assert_eq!(
        Header::new(1 << 31).as_bytes(),
        hex("ffffffff 0000000080000000")
    );
    assert_eq!(
        Header::new(u64::MAX).as_bytes(),
        hex("ffffffff ffffffffffffffff")
    );
    assert_eq!(Header::new(u64::MAX).as_bytes().len(), MAX_HEADER_LEN);
}

#[test]
fn decodes_hello_and_empty() {
    let wire = hex("00000005 68656c6c6f 00000000");
    let out = decode_chunked(&wire, 100, &[usize::MAX]);
    assert_eq!(
        out,
        Outcome {
            frames: vec![b"hello".to_vec(), vec![]],
            end: Ok(())
        }
    );
}

#[test]
fn escape_form_is_accepted_for_small_lengths() {
    let wire = hex("ffffffff 0000000000000005 68656c6c6f");
    let out = decode_chunked(&wire, 100, &[1]);
    assert_eq!(
        out,
        Outcome {
            frames: vec![b"hello".to_vec()],
            end: Ok(())
        }
    );
}

#[test]
fn escape_form_above_the_maximum_is_refused_before_payload() {
    let mut d = Decoder::new(1 << 20);
    let wire = hex("ffffffff 0000000080000000");
    assert_eq!(
        d.decode(&wire),
        Err(FrameError::TooLong {
            len: 1 << 31,
            max: 1 << 20
        })
    );
    // Nothing consumed, nothing changed: raising the maximum lets it through.
    d.set_max_len(1 << 31);
    assert_eq!(d.decode(&wire), Ok((12, Decoded::Header(1 << 31))));
    assert_eq!(d.payload(), Some((1 << 31, 1 << 31)));
}

#[test]
fn negative_lengths_other_than_minus_one_are_malformed() {
    for (wire, n) in [
        ("fffffffe", -2),
        ("80000000", i32::MIN),
        ("ffff0000", -65536),
    ] {
        let mut d = Decoder::new(u64::MAX);
        assert_eq!(d.decode(&hex(wire)), Err(FrameError::NegativeLength(n)));
    }
}

#[test]
fn end_of_stream_clean_or_truncated() {
    assert_eq!(decode_chunked(&[], 10, &[1]).end, Ok(()));
    for cut in [
        "00",
        "000000",
        "00000005",
        "00000005 6865",
        "ffffffff 00000000",
    ] {
        assert_eq!(
            decode_chunked(&hex(cut), 10, &[1]).end,
            Err(FrameError::Truncated),
            "{cut}"
        );
    }
}

#[test]
fn handshake_frames_from_cpython_decode() {
    // Python 3.11 <-> 3.11, key "secret" (wire-protocol.md section 2).
    let frames = [
        "0000001f 234348414c4c454e474523 000102030405060708090a0b0c0d0e0f10111213",
        "00000010 7defa9cc46abc3583325d17ccda75190",
        "00000009 2357454c434f4d4523",
        "0000001f 234348414c4c454e474523 6465666768696a6b6c6d6e6f7071727374757677",
        "00000010 5f9f891a641f27a6cbc56977af884b59",
        "00000009 2357454c434f4d4523",
    ];
    let wire: Vec<u8> = frames.iter().flat_map(|f| hex(f)).collect();
    let out = decode_chunked(&wire, 256, &[3, 1, 7]);
    assert_eq!(out.end, Ok(()));
    assert_eq!(out.frames.len(), 6);
    for (frame, fixture) in out.frames.iter().zip(frames) {
        let mut encoded = Header::new(frame.len() as u64).as_bytes().to_vec();
        encoded.extend_from_slice(frame);
        assert_eq!(
            encoded,
            hex(fixture),
            "re-encoding must give Python's bytes"
        );
    }
    assert!(out.frames[0].starts_with(b"#CHALLENGE#"));
    assert_eq!(out.frames[2], b"#WELCOME#");
}

/// A small deterministic generator, so failures can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A stream of valid frames, sometimes in the escape form, sometimes ending
/// with damage: a cut, a negative length or an oversized header.
fn random_stream(rng: &mut Rng) -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..rng.below(6) {
        let len = rng.below(40) as usize;
        if rng.below(4) == 0 {
            wire.extend_from_slice(&hex("ffffffff"));
            wire.extend_from_slice(&(len as u64).to_be_bytes());
        } else {
            wire.extend_from_slice(Header::new(len as u64).as_bytes());
        }
        wire.extend((0..len).map(|_| rng.next() as u8));
    }
    match rng.below(5) {
        0 => wire.truncate(wire.len().saturating_sub(rng.below(8) as usize)),
        1 => wire.extend_from_slice(&(-(rng.below(1000) as i32) - 2).to_be_bytes()),
        2 => wire.extend_from_slice(&hex("00000100")),
        _ => {}
    }
    wire
}

#[test]
fn matches_the_naive_decoder_in_every_chunking() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Miri interprets every step: a sample of streams is enough there.
    let streams = if cfg!(miri) { 40 } else { 3000 };
    for _ in 0..streams {
        let wire = random_stream(&mut rng);
        let max = 20 + rng.below(30);
        let expected = decode_naive(&wire, max);
        assert_eq!(
            decode_chunked(&wire, max, &[usize::MAX]),
            expected,
            "whole: {wire:02x?}"
        );
        assert_eq!(
            decode_chunked(&wire, max, &[1]),
            expected,
            "bytewise: {wire:02x?}"
        );
        let chunks: Vec<usize> = (0..4).map(|_| 1 + rng.below(13) as usize).collect();
        assert_eq!(
            decode_chunked(&wire, max, &chunks),
            expected,
            "{chunks:?}: {wire:02x?}"
        );
    }
}

#[test]
fn every_length_round_trips_through_the_header() {
    for len in [
        0,
        1,
        4,
        255,
        256,
        16384,
        16385,
        0x7fff_fffe,
        0x7fff_ffff,
        0x8000_0000,
        u64::MAX,
    ] {
        let mut d = Decoder::new(u64::MAX);
        let header = Header::new(len);
        assert_eq!(
            d.decode(header.as_bytes()),
            Ok((header.as_bytes().len(), Decoded::Header(len)))
        );
        assert_eq!(d.payload(), Some((len, len)));
        assert!(!d.is_between_frames() || len == 0);
    }
}
