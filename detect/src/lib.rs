//! The detection engine of shoal: it finds PII and secrets in bytes and
//! reports them without their raw values. It knows no NATS and no I/O beyond
//! the reader it is handed.
//!
//! Data flows like this: [`rules::RuleSet`] loads the YAML rule files
//! (built-in, embedded at compile time, or the user's own); [`Engine::new`]
//! compiles them once into one prefilter (anchor literals and digit-run
//! triggers) plus one regex per rule; each thread takes a [`Scanner`], which
//! consumes a record block by block ([`engine`]), confirms candidates with the
//! rule's regex and [`validate::Validator`], and scores them ([`score`]);
//! the base64 values of Kubernetes Secrets are scanned decoded, their
//! findings placed on the encoded characters (`decode.rs`); a record that
//! starts with a table's header line gives each cell its column's name as
//! context (`table.rs`);
//! [`privacy::to_finding`] turns a [`Detection`] into a
//! [`shoal_schemas::Finding`] with a masked preview and a keyed fingerprint.

mod card;
pub mod check;
mod decode;
mod dump;
pub mod engine;
mod fixed;
mod hl7;
mod json;
mod layout;
mod literals;
pub mod privacy;
pub mod rules;
pub mod score;
mod simd;
mod table;
mod unescape;
pub mod validate;
mod words;
mod xml;

pub use engine::{Detection, Engine, EngineOptions, ScanStats, Scanner};
#[doc(hidden)]
pub use literals::LiteralSearch;
pub use rules::{Rule, RuleSet};

/// Errors of rule loading and engine set-up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule file does not parse.
    #[error("{file}: {reason}")]
    RuleFile {
        /// File name.
        file: String,
        /// Parser message.
        reason: String,
    },
    /// A rule is invalid.
    #[error("rule {id}: {reason}")]
    Rule {
        /// Rule id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A key is unusable.
    #[error("key: {0}")]
    Key(String),
}
