//! MD5 (RFC 1321), kept only for the HMAC-MD5 handshake of Python 3.11 and
//! older. Do not use it for anything that needs collision resistance.
#![forbid(unsafe_code)]

use super::{load_words, store_words, Blocks, Digest, BLOCK};

/// Initial state: the words A, B, C, D of RFC 1321 section 3.3.
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// Left-rotation amount of each of the 64 steps (four per round, repeated).
#[rustfmt::skip]
const SHIFT: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// `floor(2^32 * |sin(i + 1)|)` for each step `i`, written out so nothing
/// depends on floating point at run time.
#[rustfmt::skip]
const K: [u32; 64] = [
    0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a, 0xa830_4613, 0xfd46_9501,
    0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be, 0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821,
    0xf61e_2562, 0xc040_b340, 0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
    0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8, 0x676f_02d9, 0x8d2a_4c8a,
    0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c, 0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70,
    0x289b_7ec6, 0xeaa1_27fa, 0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
    0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92, 0xffef_f47d, 0x8584_5dd1,
    0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1, 0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
];

/// An MD5 hasher.
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    blocks: Blocks,
}

impl Default for Md5 {
    fn default() -> Self {
        <Self as Digest>::new()
    }
}

impl Digest for Md5 {
    const BLOCK_LEN: usize = BLOCK;
    const OUTPUT_LEN: usize = 16;
    type Output = [u8; 16];

    fn new() -> Self {
        Md5 {
            state: INIT,
            blocks: Blocks::new(),
        }
    }

    fn update(&mut self, data: &[u8]) {
        let state = &mut self.state;
        self.blocks.update(data, |block| compress(state, block));
    }

    fn finish(self) -> [u8; 16] {
        let mut state = self.state;
        // MD5 is little-endian throughout, the length included.
        self.blocks
            .finish(u64::to_le_bytes, |block| compress(&mut state, block));
        store_words(&state, u32::to_le_bytes)
    }
}

/// The MD5 digest of `data`.
#[must_use]
pub fn md5(data: &[u8]) -> [u8; 16] {
    let mut hasher = <Md5 as Digest>::new();
    hasher.update(data);
    hasher.finish()
}

/// The four rounds of RFC 1321 section 3.4 over one block.
fn compress(state: &mut [u32; 4], block: &[u8; BLOCK]) {
    let m = load_words(block, u32::from_le_bytes);
    let [mut a, mut b, mut c, mut d] = *state;
    for (i, (&k, &shift)) in K.iter().zip(&SHIFT).enumerate() {
        // Each round has its own mixing function and order of message words.
        let (f, g) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), 5 * i + 1),
            2 => (b ^ c ^ d, 3 * i + 5),
            _ => (c ^ (b | !d), 7 * i),
        };
        let sum = a.wrapping_add(f).wrapping_add(k).wrapping_add(m[g % 16]);
        (a, b, c, d) = (d, b.wrapping_add(sum.rotate_left(shift)), b, c);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

/// Shows no state: a hasher's state is derived from secret key material
/// during the handshake.
impl core::fmt::Debug for Md5 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Md5").finish_non_exhaustive()
    }
}
