//! Byte strings compared with a message that says where they differ.
//!
//! Included with `#[path = "common/bytes.rs"] mod bytes;` by the tests,
//! and by the fuzz targets whose checks use it.
#![allow(dead_code)]

/// `Ok` if `got` is `want`; otherwise both lengths, the first offset where
/// they differ, and up to 8 bytes of each from there.
pub fn compare(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let near = |b: &[u8]| b[at..b.len().min(at + 8)].to_vec();
    Err(format!(
        "{what}: got {} bytes, want {}; first difference at offset {at}: got {:02x?}, want {:02x?}",
        got.len(),
        want.len(),
        near(got),
        near(want)
    ))
}
