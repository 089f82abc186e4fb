//! Wire types and contracts of shoal, with no I/O.
//!
//! Everything that crosses a process boundary is defined here: the messages
//! ([`ScanRequest`], [`ChunkTask`] and its [`ChunkSpec`], [`Finding`],
//! [`ChunkResult`], [`ScanStatus`], [`AuditRecord`]), their codecs
//! ([`codec`]: MessagePack with named fields on the bus, JSON for
//! submissions, a size limit checked before decoding and a schema version
//! checked before the rest), the signed job envelope ([`envelope`]) with its
//! trusted [`keyset`], and the NATS names ([`subjects`]).
//!
//! Data flows through it like this: the dispatcher builds a `ChunkTask`,
//! [`envelope::Signer::sign_task`] encodes and signs it, the bytes travel on
//! JetStream, and a worker's [`envelope::Verifier::verify_task`] checks the
//! signature over the exact bytes before it decodes the task.

pub mod codec;
pub mod envelope;
pub mod ids;
pub mod keyset;
mod messages;
pub mod subjects;

pub use codec::Message;
pub use messages::*;

/// Errors of encoding, decoding and keyset handling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The payload exceeds the type's limit; nothing was parsed.
    #[error("{kind}: payload of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Message type.
        kind: &'static str,
        /// Size received.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// The payload carries a schema version this build does not read.
    #[error("{kind}: unsupported schema version {found} (this build reads {supported})")]
    UnsupportedVersion {
        /// Message type.
        kind: &'static str,
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// The payload does not decode as the type.
    #[error("{kind}: malformed: {reason}")]
    Malformed {
        /// Message type.
        kind: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The value could not be encoded.
    #[error("{kind}: cannot encode: {reason}")]
    Encode {
        /// Message type.
        kind: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// A keyset or key is unusable.
    #[error("keyset: {0}")]
    Keyset(String),
    /// A value cannot stand as a subject token.
    #[error("{0:?} is not a valid subject token (1-128 of A-Z a-z 0-9 - _)")]
    InvalidToken(String),
    /// The operating system's random generator failed.
    #[error("random generator: {0}")]
    Random(String),
}
