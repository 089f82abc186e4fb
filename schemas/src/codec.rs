//! Encoding and decoding of wire messages.
//!
//! The bus carries MessagePack with named fields (`rmp_serde::to_vec_named`);
//! submissions may also be JSON so that the NATS CLI can send them. Every
//! decoder checks the payload size against the type's limit *before* it parses
//! anything, then reads only the `v` field, refuses a version it does not
//! know, and only then decodes the whole message. Trailing bytes after a
//! MessagePack value are refused: one message is one value.

use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// A message that travels on the bus, with its schema version and size limit.
pub trait Message: Serialize + DeserializeOwned {
    /// Stable snake-case name of the type, used in error messages.
    const KIND: &'static str;
    /// The schema version this build reads and writes.
    const VERSION: u32;
    /// The largest encoding accepted, in bytes; checked before decoding.
    const MAX_BYTES: usize;
}

/// Reads nothing but `v`; other fields are skipped without being kept.
#[derive(Deserialize)]
struct VersionProbe {
    v: u32,
}

fn check_size<T: Message>(len: usize) -> Result<(), Error> {
    if len > T::MAX_BYTES {
        return Err(Error::TooLarge {
            kind: T::KIND,
            len,
            limit: T::MAX_BYTES,
        });
    }
    Ok(())
}

fn check_version<T: Message>(found: u32) -> Result<(), Error> {
    if found != T::VERSION {
        return Err(Error::UnsupportedVersion {
            kind: T::KIND,
            found,
            supported: T::VERSION,
        });
    }
    Ok(())
}

/// Decodes exactly one MessagePack value of type `D` from `bytes`.
fn msgpack_exact<D: DeserializeOwned>(kind: &'static str, bytes: &[u8]) -> Result<D, Error> {
    let mut cursor = std::io::Cursor::new(bytes);
    let value = {
        let mut de = rmp_serde::Deserializer::new(&mut cursor);
        D::deserialize(&mut de).map_err(|e| Error::Malformed {
            kind,
            reason: e.to_string(),
        })?
    };
    let used = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
    if used != bytes.len() {
        return Err(Error::Malformed {
            kind,
            reason: format!("{} trailing bytes after the message", bytes.len() - used),
        });
    }
    Ok(value)
}

/// Encodes a message as MessagePack with named fields.
pub fn to_msgpack<T: Message>(message: &T) -> Result<Vec<u8>, Error> {
    let bytes = rmp_serde::to_vec_named(message).map_err(|e| Error::Encode {
        kind: T::KIND,
        reason: e.to_string(),
    })?;
    check_size::<T>(bytes.len())?;
    Ok(bytes)
}

/// Decodes a MessagePack message: size, then version, then the whole value.
pub fn from_msgpack<T: Message>(bytes: &[u8]) -> Result<T, Error> {
    check_size::<T>(bytes.len())?;
    let probe: VersionProbe = msgpack_exact(T::KIND, bytes)?;
    check_version::<T>(probe.v)?;
    msgpack_exact(T::KIND, bytes)
}

/// Encodes a message as JSON (used for submissions, reports and `jsonl`).
pub fn to_json<T: Message>(message: &T) -> Result<Vec<u8>, Error> {
    let bytes = serde_json::to_vec(message).map_err(|e| Error::Encode {
        kind: T::KIND,
        reason: e.to_string(),
    })?;
    check_size::<T>(bytes.len())?;
    Ok(bytes)
}

/// Decodes a JSON message: size, then version, then the whole value.
pub fn from_json<T: Message>(bytes: &[u8]) -> Result<T, Error> {
    check_size::<T>(bytes.len())?;
    let malformed = |e: serde_json::Error| Error::Malformed {
        kind: T::KIND,
        reason: e.to_string(),
    };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(malformed)?;
    check_version::<T>(probe.v)?;
    serde_json::from_slice(bytes).map_err(malformed)
}

/// Decodes a message that may be JSON or MessagePack, as `shoal.submit` accepts.
///
/// A JSON object starts with `{` (after optional white space); a MessagePack
/// map starts with a byte in `0x80..=0x8f`, `0xde` or `0xdf`, never with `{`.
pub fn from_json_or_msgpack<T: Message>(bytes: &[u8]) -> Result<T, Error> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        from_json(bytes)
    } else {
        from_msgpack(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanRequest;

    fn request() -> ScanRequest {
        ScanRequest {
            v: 1,
            source: "local-docs".into(),
            include: vec!["**/*.csv".into()],
            exclude: vec![],
            label: None,
        }
    }

    #[test]
    fn unknown_version_is_typed() {
        let mut r = request();
        r.v = 7;
        let bytes = rmp_serde::to_vec_named(&r).unwrap();
        match from_msgpack::<ScanRequest>(&bytes) {
            Err(Error::UnsupportedVersion {
                found: 7,
                supported: 1,
                ..
            }) => {}
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
        let json = br#"{"v":2,"source":"x","brand_new_field":true}"#;
        assert!(matches!(
            from_json::<ScanRequest>(json),
            Err(Error::UnsupportedVersion { found: 2, .. })
        ));
    }

    #[test]
    fn oversized_payload_refused_before_decoding() {
        // Not even valid MessagePack: the size check must come first.
        let bytes = vec![0xc1; ScanRequest::MAX_BYTES + 1];
        assert!(matches!(
            from_msgpack::<ScanRequest>(&bytes),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            from_json::<ScanRequest>(&bytes),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn trailing_bytes_refused() {
        let mut bytes = to_msgpack(&request()).unwrap();
        bytes.push(0x00);
        assert!(matches!(
            from_msgpack::<ScanRequest>(&bytes),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn json_and_msgpack_both_accepted_for_submissions() {
        let r = request();
        let json = to_json(&r).unwrap();
        let mp = to_msgpack(&r).unwrap();
        assert_eq!(from_json_or_msgpack::<ScanRequest>(&json).unwrap(), r);
        assert_eq!(from_json_or_msgpack::<ScanRequest>(&mp).unwrap(), r);
    }

    #[test]
    fn missing_version_is_malformed() {
        let json = br#"{"source":"x"}"#;
        assert!(matches!(
            from_json::<ScanRequest>(json),
            Err(Error::Malformed { .. })
        ));
    }
}
