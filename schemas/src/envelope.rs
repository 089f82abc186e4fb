//! The signed job envelope.
//!
//! `Envelope { v, typ, kid, body, sig }` with `sig = Ed25519(PAE(typ, body))`,
//! where PAE is the DSSE pre-authentication encoding
//! `"DSSEv1" SP len(typ) SP typ SP len(body) SP body` (lengths in ASCII
//! decimal). The envelope itself is MessagePack with named fields.
//!
//! A worker runs [`Verifier::verify_task`], which checks, in this order and
//! with a distinct [`EnvelopeError`] for each refusal:
//!
//! 1. the encoded size, before any parsing;
//! 2. the envelope decodes, and re-encodes to exactly the same bytes (so no
//!    byte of the message can be changed without changing what it says);
//! 3. `v` and `typ`;
//! 4. `kid` is in the keyset and the key is inside its validity window;
//! 5. `verify_strict` of the signature over PAE(typ, body), on the exact body
//!    bytes, before the body is decoded;
//! 6. the body decodes as a [`ChunkTask`] of a known version;
//! 7. `aud`, `nbf`/`exp` (with a configurable clock skew), `iat` not in the
//!    future, and a non-empty `jti`.
//!
//! The jti replay guard needs the bus (KV `shoal_jti`) and lives in the worker.

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Message};
use crate::keyset::{KeyEntry, Keyset};
use crate::{ChunkTask, Error};

/// The envelope schema version.
pub const ENVELOPE_VERSION: u32 = 1;
/// The payload type of a signed [`ChunkTask`].
pub const TYP_CHUNK_TASK: &str = "application/vnd.shoal.chunk-task.v1+msgpack";
/// The audience of chunk tasks.
pub const AUD_WORKER: &str = "shoal-worker";
/// Largest encoded envelope accepted: a body at its limit plus the framing.
pub const MAX_ENVELOPE_BYTES: usize = ChunkTask::MAX_BYTES + 1024;

/// The envelope as it travels on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Envelope schema version, 1.
    pub v: u32,
    /// Payload type, e.g. [`TYP_CHUNK_TASK`].
    pub typ: String,
    /// Id of the signing key in the workers' keyset.
    pub kid: String,
    /// The signed payload bytes.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// Ed25519 signature over PAE(typ, body).
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

/// Why an envelope was refused. Each refusal has its own variant, and
/// [`EnvelopeError::code`] gives a stable name for audit records.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Larger than [`MAX_ENVELOPE_BYTES`]; nothing was parsed.
    #[error("envelope of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Size received.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// Not a MessagePack envelope.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// Decodes, but is not the canonical encoding of what it decodes to.
    #[error("envelope is not canonically encoded")]
    NonCanonical,
    /// Envelope version this build does not know.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u32),
    /// Payload type other than the one expected.
    #[error("wrong payload type {found:?}, expected {expected:?}")]
    WrongType {
        /// Expected type.
        expected: &'static str,
        /// Type found.
        found: String,
    },
    /// `kid` not in the keyset.
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The key's window has not opened yet.
    #[error("signing key {kid:?} is not valid before {not_before}")]
    KeyNotYetValid {
        /// Key id.
        kid: String,
        /// Start of its window (Unix seconds).
        not_before: i64,
    },
    /// The key's window has closed: it was retired or expired.
    #[error("signing key {kid:?} was retired at {not_after}")]
    KeyRetired {
        /// Key id.
        kid: String,
        /// End of its window (Unix seconds).
        not_after: i64,
    },
    /// The keyset entry itself is broken.
    #[error("keyset entry unusable: {0}")]
    BadKey(String),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The signed body does not decode.
    #[error("signed body: {0}")]
    Body(#[source] Error),
    /// `aud` is not ours.
    #[error("wrong audience {found:?}, expected {expected:?}")]
    WrongAudience {
        /// Expected audience.
        expected: String,
        /// Audience found.
        found: String,
    },
    /// `nbf` is still ahead, beyond the allowed skew.
    #[error("not valid before {nbf} (now {now})")]
    NotYetValid {
        /// Not-before (Unix seconds).
        nbf: i64,
        /// Now.
        now: i64,
    },
    /// `exp` has passed, beyond the allowed skew.
    #[error("expired at {exp} (now {now})")]
    Expired {
        /// Expiry (Unix seconds).
        exp: i64,
        /// Now.
        now: i64,
    },
    /// `iat` is in the future, beyond the allowed skew.
    #[error("issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// Issued-at (Unix seconds).
        iat: i64,
        /// Now.
        now: i64,
    },
    /// No `jti`: the envelope cannot be guarded against replay.
    #[error("envelope has no jti")]
    MissingJti,
}

impl EnvelopeError {
    /// A stable snake-case code for audit records and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::TooLarge { .. } => "too_large",
            EnvelopeError::Malformed(_) => "malformed",
            EnvelopeError::NonCanonical => "non_canonical",
            EnvelopeError::UnsupportedVersion(_) => "unsupported_version",
            EnvelopeError::WrongType { .. } => "wrong_type",
            EnvelopeError::UnknownKey(_) => "unknown_key",
            EnvelopeError::KeyNotYetValid { .. } => "key_not_yet_valid",
            EnvelopeError::KeyRetired { .. } => "key_retired",
            EnvelopeError::BadKey(_) => "bad_key",
            EnvelopeError::BadSignature => "bad_signature",
            EnvelopeError::Body(_) => "malformed_body",
            EnvelopeError::WrongAudience { .. } => "wrong_audience",
            EnvelopeError::NotYetValid { .. } => "not_yet_valid",
            EnvelopeError::Expired { .. } => "expired",
            EnvelopeError::IssuedInFuture { .. } => "issued_in_future",
            EnvelopeError::MissingJti => "missing_jti",
        }
    }
}

/// The DSSE pre-authentication encoding of `(typ, body)`.
pub fn pae(typ: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + typ.len() + body.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(typ.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(typ);
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// Signs chunk tasks with one Ed25519 key (the dispatcher's).
pub struct Signer {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never reaches Debug output or logs.
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for a key and its kid.
    pub fn new(kid: String, key: SigningKey) -> Signer {
        Signer { kid, key }
    }

    /// Reads a PKCS#8 PEM private key (as `shoal keys generate` writes).
    pub fn from_pkcs8_pem(kid: String, pem: &str) -> Result<Signer, Error> {
        let key = SigningKey::from_pkcs8_pem(pem).map_err(|e| {
            Error::Keyset(format!("key {kid}: not a PKCS#8 Ed25519 private key: {e}"))
        })?;
        Ok(Signer { kid, key })
    }

    /// The key id written into envelopes.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A keyset entry for this signer's public key.
    pub fn key_entry(&self, not_before: i64, not_after: i64) -> KeyEntry {
        KeyEntry::new(
            self.kid.clone(),
            &self.key.verifying_key(),
            not_before,
            not_after,
        )
    }

    /// Signs an arbitrary payload of type `typ` and returns the encoded envelope.
    pub fn seal(&self, typ: &str, body: Vec<u8>) -> Result<Vec<u8>, Error> {
        let sig = self.key.sign(&pae(typ.as_bytes(), &body));
        let envelope = Envelope {
            v: ENVELOPE_VERSION,
            typ: typ.to_owned(),
            kid: self.kid.clone(),
            body,
            sig: sig.to_bytes().to_vec(),
        };
        rmp_serde::to_vec_named(&envelope).map_err(|e| Error::Encode {
            kind: "envelope",
            reason: e.to_string(),
        })
    }

    /// Encodes and signs a chunk task; returns the encoded envelope.
    pub fn sign_task(&self, task: &ChunkTask) -> Result<Vec<u8>, Error> {
        let body = codec::to_msgpack(task)?;
        self.seal(TYP_CHUNK_TASK, body)
    }
}

/// Verifies envelopes against a keyset.
#[derive(Debug, Clone)]
pub struct Verifier {
    keyset: Keyset,
    audience: String,
    skew: i64,
}

impl Verifier {
    /// Clock skew allowed by default on `nbf`, `exp` and `iat`, in seconds.
    pub const DEFAULT_SKEW_SECS: i64 = 30;

    /// A verifier for the audience [`AUD_WORKER`] with the default skew.
    pub fn new(keyset: Keyset) -> Verifier {
        Verifier {
            keyset,
            audience: AUD_WORKER.to_owned(),
            skew: Self::DEFAULT_SKEW_SECS,
        }
    }

    /// Sets the allowed clock skew in seconds (negative values count as 0).
    pub fn with_skew(mut self, skew_secs: i64) -> Verifier {
        self.skew = skew_secs.max(0);
        self
    }

    /// Sets the expected audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Verifier {
        self.audience = audience.into();
        self
    }

    /// The keyset in use.
    pub fn keyset(&self) -> &Keyset {
        &self.keyset
    }

    /// Checks an encoded envelope of type `typ` and returns its verified body
    /// bytes. `now` is Unix seconds.
    pub fn open(
        &self,
        bytes: &[u8],
        typ: &'static str,
        now: i64,
    ) -> Result<Vec<u8>, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                len: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let envelope: Envelope =
            rmp_serde::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let canonical = rmp_serde::to_vec_named(&envelope)
            .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if canonical != bytes {
            return Err(EnvelopeError::NonCanonical);
        }
        if envelope.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(envelope.v));
        }
        if envelope.typ != typ {
            return Err(EnvelopeError::WrongType {
                expected: typ,
                found: envelope.typ,
            });
        }
        let entry = self
            .keyset
            .get(&envelope.kid)
            .ok_or_else(|| EnvelopeError::UnknownKey(envelope.kid.clone()))?;
        if now < entry.not_before {
            return Err(EnvelopeError::KeyNotYetValid {
                kid: entry.kid.clone(),
                not_before: entry.not_before,
            });
        }
        if now >= entry.not_after {
            return Err(EnvelopeError::KeyRetired {
                kid: entry.kid.clone(),
                not_after: entry.not_after,
            });
        }
        let key = entry
            .verifying_key()
            .map_err(|e| EnvelopeError::BadKey(e.to_string()))?;
        let sig = Signature::from_slice(&envelope.sig).map_err(|_| EnvelopeError::BadSignature)?;
        key.verify_strict(&pae(envelope.typ.as_bytes(), &envelope.body), &sig)
            .map_err(|_| EnvelopeError::BadSignature)?;
        Ok(envelope.body)
    }

    /// Verifies an encoded chunk-task envelope at time `now` (Unix seconds)
    /// and returns the task. See the module docs for the order of checks.
    pub fn verify_task(&self, bytes: &[u8], now: i64) -> Result<ChunkTask, EnvelopeError> {
        let body = self.open(bytes, TYP_CHUNK_TASK, now)?;
        let task: ChunkTask = codec::from_msgpack(&body).map_err(EnvelopeError::Body)?;
        if task.aud != self.audience {
            return Err(EnvelopeError::WrongAudience {
                expected: self.audience.clone(),
                found: task.aud,
            });
        }
        if now + self.skew < task.nbf {
            return Err(EnvelopeError::NotYetValid { nbf: task.nbf, now });
        }
        if now - self.skew >= task.exp {
            return Err(EnvelopeError::Expired { exp: task.exp, now });
        }
        if now + self.skew < task.iat {
            return Err(EnvelopeError::IssuedInFuture { iat: task.iat, now });
        }
        if task.jti.is_empty() {
            return Err(EnvelopeError::MissingJti);
        }
        Ok(task)
    }
}
