//! Classifying bytes 64 at a time: ASCII digits, and letters or digits.
//!
//! Number rules start from runs of digits, and real text is full of them
//! (about 18,000 runs per MiB of source code), so the search for the next
//! digit runs on every byte of every record; context words around those runs
//! are looked for at word starts. On x86-64 each mask compares 16 bytes per
//! SSE2 instruction (part of the x86-64 baseline, so always present) and
//! reads the result as bits; elsewhere it is plain Rust.
#![allow(unsafe_code)]

/// Bit `k` of the result is set when `bytes[k]` is an ASCII digit.
#[inline]
pub(crate) fn digit_mask(bytes: &[u8; 64]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: the function only needs SSE2, which the `cfg` above
        // guarantees is enabled for the whole build.
        unsafe { digit_mask_sse2(bytes) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        digit_mask_portable(bytes)
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn digit_mask_sse2(bytes: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmplt_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8, _mm_sub_epi8,
    };
    let mut mask = 0u64;
    for (q, lane) in bytes.chunks_exact(16).enumerate() {
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&lane[at..at + 8]);
            i64::from_le_bytes(b)
        };
        let v = _mm_set_epi64x(word(8), word(0));
        // Shift '0'..='9' down to the 10 smallest signed bytes, so that one
        // signed comparison tells digits from everything else.
        let shifted = _mm_sub_epi8(v, _mm_set1_epi8((b'0' ^ 0x80) as i8));
        let digits = _mm_cmplt_epi8(shifted, _mm_set1_epi8(i8::MIN + 10));
        // movemask sets only the low 16 bits.
        mask |= u64::from(_mm_movemask_epi8(digits) as u16) << (q * 16);
    }
    mask
}

/// Bit `k` of the result is set when `bytes[k]` is an ASCII letter or digit.
#[inline]
pub(crate) fn alnum_mask(bytes: &[u8; 64]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: as in `digit_mask`.
        unsafe { alnum_mask_sse2(bytes) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        alnum_mask_portable(bytes)
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn alnum_mask_sse2(bytes: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
        _mm_sub_epi8,
    };
    let mut mask = 0u64;
    for (q, lane) in bytes.chunks_exact(16).enumerate() {
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&lane[at..at + 8]);
            i64::from_le_bytes(b)
        };
        let v = _mm_set_epi64x(word(8), word(0));
        // As in `digit_mask_sse2`; letters are compared in lower case
        // (setting bit 5 maps 'A'..='Z' onto 'a'..='z' and no other byte
        // onto them).
        let digits = _mm_cmplt_epi8(
            _mm_sub_epi8(v, _mm_set1_epi8((b'0' ^ 0x80) as i8)),
            _mm_set1_epi8(i8::MIN + 10),
        );
        let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let letters = _mm_cmplt_epi8(
            _mm_sub_epi8(lower, _mm_set1_epi8((b'a' ^ 0x80) as i8)),
            _mm_set1_epi8(i8::MIN + 26),
        );
        let both = _mm_or_si128(digits, letters);
        mask |= u64::from(_mm_movemask_epi8(both) as u16) << (q * 16);
    }
    mask
}

/// As [`alnum_mask`], in plain Rust, for up to 64 bytes; bits past the end
/// are clear.
pub(crate) fn alnum_mask_portable(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(64)
        .enumerate()
        .fold(0, |m, (k, b)| m | u64::from(b.is_ascii_alphanumeric()) << k)
}

/// As [`digit_mask`], in plain Rust, for any number of bytes up to 64 (the
/// end of a buffer); bits past the end are clear.
pub(crate) fn digit_mask_portable(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(64)
        .enumerate()
        .fold(0, |m, (k, b)| m | u64::from(b.is_ascii_digit()) << k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_at_every_position() {
        for b in 0..=255u8 {
            for pos in [0, 1, 15, 16, 31, 47, 62, 63] {
                let mut bytes = [b'a'; 64];
                bytes[pos] = b;
                let want = if b.is_ascii_digit() { 1u64 << pos } else { 0 };
                assert_eq!(digit_mask(&bytes), want, "byte {b:#x} at {pos}");
                assert_eq!(digit_mask_portable(&bytes), want);
                assert_eq!(digit_mask_portable(&bytes[..pos + 1]), want, "short slice");
                let mut spaces = [b' '; 64];
                spaces[pos] = b;
                let want = if b.is_ascii_alphanumeric() {
                    1u64 << pos
                } else {
                    0
                };
                assert_eq!(alnum_mask(&spaces), want, "byte {b:#x} at {pos}");
                assert_eq!(alnum_mask_portable(&spaces), want);
                assert_eq!(alnum_mask_portable(&spaces[..pos + 1]), want);
            }
        }
        let mixed: [u8; 64] = std::array::from_fn(|k| {
            if k % 3 == 0 {
                b'7'
            } else {
                b'/' + (k % 2) as u8 * 11
            }
        });
        assert_eq!(digit_mask(&mixed), digit_mask_portable(&mixed));
        assert_eq!(alnum_mask(&mixed), alnum_mask_portable(&mixed));
    }
}
