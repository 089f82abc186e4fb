//! The trusted keyset: the Ed25519 public keys workers accept envelopes from.
//!
//! A keyset file is JSON:
//!
//! ```json
//! {"keys": [{"kid": "shoal-2026-11-22-1f0c9a", "alg": "Ed25519",
//!            "public_key": "<base64 of 32 bytes>",
//!            "not_before": "2026-11-22T00:00:00Z", "not_after": "2027-02-20T00:00:00Z"}]}
//! ```
//!
//! A key is valid from `not_before` (inclusive) to `not_after` (exclusive).
//! Several keys may be valid at once, which makes rotation seamless: add the new
//! key, switch the dispatcher to it, and retire the old one (set its
//! `not_after`) once no envelope signed by it can still be in flight.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The only signature algorithm of this keyset.
pub const ALG_ED25519: &str = "Ed25519";

/// One trusted public key and its validity window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Key id, as written in envelopes.
    pub kid: String,
    /// Always `Ed25519`.
    pub alg: String,
    /// The 32-byte public key, base64 (standard alphabet, padded).
    pub public_key: String,
    /// Valid from (RFC 3339 in the file, Unix seconds here).
    #[serde(with = "rfc3339")]
    pub not_before: i64,
    /// Valid until, exclusive (RFC 3339 in the file, Unix seconds here).
    #[serde(with = "rfc3339")]
    pub not_after: i64,
}

impl KeyEntry {
    /// Builds an entry for a public key.
    pub fn new(kid: String, key: &VerifyingKey, not_before: i64, not_after: i64) -> KeyEntry {
        KeyEntry {
            kid,
            alg: ALG_ED25519.to_owned(),
            public_key: BASE64.encode(key.as_bytes()),
            not_before,
            not_after,
        }
    }

    /// Decodes the public key, refusing anything but a valid 32-byte Ed25519 point.
    pub fn verifying_key(&self) -> Result<VerifyingKey, Error> {
        if self.alg != ALG_ED25519 {
            return Err(Error::Keyset(format!(
                "key {}: unsupported alg {:?}, expected {ALG_ED25519}",
                self.kid, self.alg
            )));
        }
        let raw = BASE64.decode(self.public_key.as_bytes()).map_err(|e| {
            Error::Keyset(format!("key {}: public_key is not base64: {e}", self.kid))
        })?;
        let bytes: [u8; 32] = raw.try_into().map_err(|raw: Vec<u8>| {
            Error::Keyset(format!(
                "key {}: public_key has {} bytes, expected 32",
                self.kid,
                raw.len()
            ))
        })?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|e| Error::Keyset(format!("key {}: not an Ed25519 public key: {e}", self.kid)))
    }
}

/// A set of trusted keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyset {
    /// The keys, in the order they were added.
    pub keys: Vec<KeyEntry>,
}

impl Keyset {
    /// Parses and checks a keyset file's contents: every key must decode,
    /// no window may end before it starts and kids must be unique.
    pub fn from_json(text: &str) -> Result<Keyset, Error> {
        let keyset: Keyset =
            serde_json::from_str(text).map_err(|e| Error::Keyset(format!("not a keyset: {e}")))?;
        keyset.check()?;
        Ok(keyset)
    }

    /// Serialises the keyset as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Checks every entry; see [`Keyset::from_json`].
    pub fn check(&self) -> Result<(), Error> {
        for (i, entry) in self.keys.iter().enumerate() {
            entry.verifying_key()?;
            if entry.not_after < entry.not_before {
                return Err(Error::Keyset(format!(
                    "key {}: not_after is before not_before",
                    entry.kid
                )));
            }
            if self.keys[..i].iter().any(|other| other.kid == entry.kid) {
                return Err(Error::Keyset(format!("duplicate kid {}", entry.kid)));
            }
        }
        Ok(())
    }

    /// The entry with this kid.
    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Adds an entry, refusing a kid that is already there.
    pub fn add(&mut self, entry: KeyEntry) -> Result<(), Error> {
        if self.get(&entry.kid).is_some() {
            return Err(Error::Keyset(format!(
                "kid {} is already in the keyset",
                entry.kid
            )));
        }
        entry.verifying_key()?;
        self.keys.push(entry);
        self.check()
    }

    /// Retires a key: it stops being valid at `at` (Unix seconds). A key
    /// already retired earlier stays retired at its earlier time; a key
    /// retired before its window opens gets an empty window (never valid).
    pub fn retire(&mut self, kid: &str, at: i64) -> Result<(), Error> {
        let entry = self
            .keys
            .iter_mut()
            .find(|k| k.kid == kid)
            .ok_or_else(|| Error::Keyset(format!("kid {kid} is not in the keyset")))?;
        entry.not_after = entry.not_after.min(at.max(entry.not_before));
        Ok(())
    }
}

/// Serde for Unix seconds as RFC 3339 UTC strings (`2026-11-22T07:30:00Z`).
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Formats Unix seconds as RFC 3339; times before 1970 are clamped to it.
    pub fn format(secs: i64) -> String {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
        humantime::format_rfc3339_seconds(t).to_string()
    }

    /// Parses RFC 3339 (`Z` or no offset) into Unix seconds.
    pub fn parse(text: &str) -> Result<i64, String> {
        let t = humantime::parse_rfc3339_weak(text).map_err(|e| format!("{text:?}: {e}"))?;
        let d = t
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| format!("{text:?}: before 1970"))?;
        i64::try_from(d.as_secs()).map_err(|_| format!("{text:?}: out of range"))
    }

    /// Serde serialiser.
    pub fn serialize<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*secs))
    }

    /// Serde deserialiser.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn entry(kid: &str, seed: u8) -> KeyEntry {
        let key = SigningKey::from_bytes(&[seed; 32]);
        KeyEntry::new(kid.into(), &key.verifying_key(), 1_000, 2_000)
    }

    #[test]
    fn round_trips_through_json() {
        let mut ks = Keyset::default();
        ks.add(entry("a", 1)).unwrap();
        ks.add(entry("b", 2)).unwrap();
        let text = ks.to_json();
        assert!(
            text.contains("\"not_before\": \"1970-01-01T00:16:40Z\""),
            "{text}"
        );
        assert_eq!(Keyset::from_json(&text).unwrap(), ks);
    }

    #[test]
    fn duplicate_kid_refused() {
        let mut ks = Keyset::default();
        ks.add(entry("a", 1)).unwrap();
        assert!(ks.add(entry("a", 2)).is_err());
    }

    #[test]
    fn bad_public_key_refused() {
        let mut e = entry("a", 1);
        e.public_key = BASE64.encode([0u8; 31]);
        assert!(Keyset { keys: vec![e] }.check().is_err());
        let mut e = entry("a", 1);
        e.alg = "RS256".into();
        assert!(Keyset { keys: vec![e] }.check().is_err());
    }

    #[test]
    fn retire_only_moves_not_after_earlier() {
        let mut ks = Keyset {
            keys: vec![entry("a", 1)],
        };
        ks.retire("a", 1_500).unwrap();
        assert_eq!(ks.keys[0].not_after, 1_500);
        ks.retire("a", 1_800).unwrap();
        assert_eq!(ks.keys[0].not_after, 1_500);
        ks.retire("a", 10).unwrap();
        assert_eq!(ks.keys[0].not_after, 1_000, "empty window, never valid");
        ks.check().unwrap();
        assert!(ks.retire("nope", 1_500).is_err());
    }
}
