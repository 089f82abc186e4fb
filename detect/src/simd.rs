//! Classifying bytes 64 at a time: ASCII digits, letters or digits, and
//! capitals.
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
        // SAFETY: SSE2 is enabled for the whole build (the `cfg` above).
        unsafe { sse2::digits(bytes) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        digit_mask_portable(bytes)
    }
}

/// Two masks of `bytes`: bit `k` of the first is set when `bytes[k]` is an
/// ASCII letter or digit (where words start), of the second when it is a
/// capital (the humps of camel-case words, `userPhone`, where a word may
/// start inside a run of letters). One load serves both.
#[inline]
pub(crate) fn alnum_upper_masks(bytes: &[u8; 64]) -> (u64, u64) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: as in `digit_mask`.
        unsafe { sse2::alnum_upper(bytes) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        (alnum_mask_portable(bytes), upper_mask_portable(bytes))
    }
}

/// Bit `k` of the result is set when `bytes[k]` begins a character of more
/// than one byte in UTF-8 (`0xC0` and above): where a word in another
/// script may start.
#[inline]
pub(crate) fn lead_mask(bytes: &[u8; 64]) -> u64 {
    // Most blocks are ASCII: one look at the high bits of all 64 rules them
    // out.
    let high = bytes.chunks_exact(8).fold(0u64, |acc, word| {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        acc | u64::from_le_bytes(b)
    });
    if high & 0x8080_8080_8080_8080 == 0 {
        return 0;
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: as in `digit_mask`.
        unsafe { sse2::leads(bytes) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        lead_mask_portable(bytes)
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
        _mm_sub_epi8,
    };

    /// Bit `k` is set when byte `k` is a digit.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn digits(bytes: &[u8; 64]) -> u64 {
        let mut mask = 0u64;
        for (q, lane) in bytes.chunks_exact(16).enumerate() {
            let v = load(lane);
            // movemask sets only the low 16 bits.
            mask |= u64::from(_mm_movemask_epi8(within(v, b'0', 10)) as u16) << (q * 16);
        }
        mask
    }

    /// Bits set for letters or digits, and for capitals.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn alnum_upper(bytes: &[u8; 64]) -> (u64, u64) {
        let (mut alnum, mut upper) = (0u64, 0u64);
        for (q, lane) in bytes.chunks_exact(16).enumerate() {
            let v = load(lane);
            // Letters in lower case: setting bit 5 maps 'A'..='Z' onto
            // 'a'..='z' and no other byte onto them.
            let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let class = _mm_or_si128(within(v, b'0', 10), within(lower, b'a', 26));
            alnum |= u64::from(_mm_movemask_epi8(class) as u16) << (q * 16);
            upper |= u64::from(_mm_movemask_epi8(within(v, b'A', 26)) as u16) << (q * 16);
        }
        (alnum, upper)
    }

    /// Bits set for the lead bytes of UTF-8 sequences, `0xC0..=0xFF`.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn leads(bytes: &[u8; 64]) -> u64 {
        let mut mask = 0u64;
        for (q, lane) in bytes.chunks_exact(16).enumerate() {
            let v = load(lane);
            mask |= u64::from(_mm_movemask_epi8(within(v, 0xC0, 64)) as u16) << (q * 16);
        }
        mask
    }

    /// The 16 bytes of `lane`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(lane: &[u8]) -> __m128i {
        let word = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&lane[at..at + 8]);
            i64::from_le_bytes(b)
        };
        _mm_set_epi64x(word(8), word(0))
    }

    /// Marks the bytes of `v` in `first..first + n`: shifted down to the `n`
    /// smallest signed bytes, one signed comparison tells them apart.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn within(v: __m128i, first: u8, n: i8) -> __m128i {
        let shifted = _mm_sub_epi8(v, _mm_set1_epi8((first ^ 0x80) as i8));
        _mm_cmplt_epi8(shifted, _mm_set1_epi8(i8::MIN + n))
    }
}

/// As [`digit_mask`], in plain Rust, for any number of bytes up to 64 (the
/// end of a buffer); bits past the end are clear.
pub(crate) fn digit_mask_portable(bytes: &[u8]) -> u64 {
    portable(bytes, u8::is_ascii_digit)
}

/// As the first of [`alnum_upper_masks`], in plain Rust, for up to 64
/// bytes; bits past the end are clear.
pub(crate) fn alnum_mask_portable(bytes: &[u8]) -> u64 {
    portable(bytes, u8::is_ascii_alphanumeric)
}

/// As the second of [`alnum_upper_masks`], in plain Rust, for up to 64
/// bytes; bits past the end are clear.
pub(crate) fn upper_mask_portable(bytes: &[u8]) -> u64 {
    portable(bytes, u8::is_ascii_uppercase)
}

/// As [`lead_mask`], in plain Rust, for up to 64 bytes; bits past the end
/// are clear.
pub(crate) fn lead_mask_portable(bytes: &[u8]) -> u64 {
    portable(bytes, |&b| b >= 0xC0)
}

fn portable(bytes: &[u8], class: fn(&u8) -> bool) -> u64 {
    bytes
        .iter()
        .take(64)
        .enumerate()
        .fold(0, |m, (k, b)| m | u64::from(class(b)) << k)
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
                assert_eq!(alnum_upper_masks(&spaces).0, want, "byte {b:#x} at {pos}");
                assert_eq!(alnum_mask_portable(&spaces), want);
                assert_eq!(alnum_mask_portable(&spaces[..pos + 1]), want);
                let want = if b.is_ascii_uppercase() {
                    1u64 << pos
                } else {
                    0
                };
                assert_eq!(alnum_upper_masks(&spaces).1, want, "byte {b:#x} at {pos}");
                assert_eq!(upper_mask_portable(&spaces), want);
                assert_eq!(upper_mask_portable(&spaces[..pos + 1]), want);
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
        assert_eq!(alnum_upper_masks(&mixed).0, alnum_mask_portable(&mixed));
        let camel = *b"userPhone ipv4Address IPAddress Z@[`AZaz09 macAddress ABCDEFGHIJ";
        assert_eq!(
            alnum_upper_masks(&camel),
            (alnum_mask_portable(&camel), upper_mask_portable(&camel))
        );
    }
}
