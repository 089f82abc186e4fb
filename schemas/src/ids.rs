//! Identifiers: random ones for scans and envelopes, derived ones for chunks.

use crate::Error;

/// Fills `buf` from the operating system's random generator.
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|e| Error::Random(e.to_string()))
}

/// `n` random bytes as lower-case hex, from the operating system's generator.
pub fn random_hex(n: usize) -> Result<String, Error> {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes)?;
    Ok(hex(&bytes))
}

/// A new scan id: `s_` and 128 random bits in hex.
pub fn new_scan_id() -> Result<String, Error> {
    Ok(format!("s_{}", random_hex(16)?))
}

/// A new envelope id (`jti`): 128 random bits in hex.
pub fn new_jti() -> Result<String, Error> {
    random_hex(16)
}

/// The id of chunk number `index` of a scan: stable, so that re-planning a
/// scan publishes the same `Nats-Msg-Id`s and JetStream drops the duplicates.
pub fn chunk_id(scan_id: &str, index: u64) -> String {
    format!("{scan_id}-c{index:08}")
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::check_token;

    #[test]
    fn ids_are_subject_tokens_and_distinct() {
        let a = new_scan_id().unwrap();
        let b = new_scan_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 34);
        check_token(&a).unwrap();
        check_token(&chunk_id(&a, 7)).unwrap();
        assert_eq!(hex(&[0x00, 0xff, 0x1a]), "00ff1a");
    }
}
