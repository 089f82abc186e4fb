//! NATS subject, stream, consumer and KV bucket names.
//!
//! All subjects hang under one prefix (`shoal` by default) so that several
//! deployments can share a NATS account. Tokens placed in subjects (tenant,
//! scan id, source id) must be valid subject tokens: see [`check_token`].

use crate::Error;

/// Stream of chunk tasks (WorkQueue retention, DiscardPolicy::New).
pub const STREAM_CHUNKS: &str = "SHOAL_CHUNKS";
/// Stream of findings, chunk results and audit records.
pub const STREAM_EVENTS: &str = "SHOAL_EVENTS";
/// The one durable pull consumer on [`STREAM_CHUNKS`] shared by all workers.
pub const CONSUMER_WORKERS: &str = "shoal-workers";
/// The sink's durable consumer on [`STREAM_EVENTS`].
pub const CONSUMER_SINK: &str = "shoal-sink";
/// KV bucket of scan statuses and cancel flags.
pub const KV_SCANS: &str = "shoal_scans";
/// KV bucket of claimed envelope ids (replay guard).
pub const KV_JTI: &str = "shoal_jti";

/// Subject names under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Subjects {
            prefix: "shoal".to_owned(),
        }
    }
}

impl Subjects {
    /// Subjects under `prefix`, which may itself contain dots (`acme.shoal`).
    pub fn new(prefix: &str) -> Result<Subjects, Error> {
        for token in prefix.split('.') {
            check_token(token)?;
        }
        Ok(Subjects {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Request/reply: submit a scan.
    pub fn submit(&self) -> String {
        format!("{}.submit", self.prefix)
    }

    /// Request/reply: a scan's status.
    pub fn status(&self) -> String {
        format!("{}.status", self.prefix)
    }

    /// Request/reply: cancel a scan.
    pub fn cancel(&self) -> String {
        format!("{}.cancel", self.prefix)
    }

    /// Where a chunk of `tenant`'s scan of a `kind` source is published.
    pub fn chunk(&self, tenant: &str, kind: &str) -> Result<String, Error> {
        check_token(tenant)?;
        check_token(kind)?;
        Ok(format!("{}.chunk.{tenant}.{kind}", self.prefix))
    }

    /// All chunk subjects: the subjects of [`STREAM_CHUNKS`].
    pub fn chunks_all(&self) -> String {
        format!("{}.chunk.>", self.prefix)
    }

    /// A single finding of `scan_id` (workers publish [`Subjects::findings`]
    /// batches; the sink still reads single findings).
    pub fn finding(&self, scan_id: &str) -> Result<String, Error> {
        check_token(scan_id)?;
        Ok(format!("{}.finding.{scan_id}", self.prefix))
    }

    /// A batch of findings of `scan_id` ([`crate::FindingBatch`]).
    pub fn findings(&self, scan_id: &str) -> Result<String, Error> {
        check_token(scan_id)?;
        Ok(format!("{}.findings.{scan_id}", self.prefix))
    }

    /// The result of a chunk of `scan_id`.
    pub fn result(&self, scan_id: &str) -> Result<String, Error> {
        check_token(scan_id)?;
        Ok(format!("{}.result.{scan_id}", self.prefix))
    }

    /// An audit record emitted by `source` (`dispatcher`, `worker`, ...).
    pub fn audit(&self, source: &str) -> Result<String, Error> {
        check_token(source)?;
        Ok(format!("{}.audit.{source}", self.prefix))
    }

    /// The subjects of [`STREAM_EVENTS`].
    pub fn events_all(&self) -> Vec<String> {
        ["finding", "findings", "result", "audit"]
            .iter()
            .map(|s| format!("{}.{s}.>", self.prefix))
            .collect()
    }
}

/// Checks that `token` can stand as one subject token: 1 to 128 bytes of
/// ASCII letters, digits, `-` and `_`. (NATS allows more; this is what shoal's
/// ids, tenants and source ids may use, so that no value can add a token or a
/// wildcard to a subject.)
pub fn check_token(token: &str) -> Result<(), Error> {
    let ok = !token.is_empty()
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidToken(token.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let s = Subjects::default();
        assert_eq!(s.submit(), "shoal.submit");
        assert_eq!(s.chunk("acme", "s3").unwrap(), "shoal.chunk.acme.s3");
        assert_eq!(s.finding("s_1").unwrap(), "shoal.finding.s_1");
        assert_eq!(s.findings("s_1").unwrap(), "shoal.findings.s_1");
        let s = Subjects::new("prod.shoal").unwrap();
        assert_eq!(s.result("s_1").unwrap(), "prod.shoal.result.s_1");
    }

    #[test]
    fn wildcards_and_dots_refused_in_tokens() {
        for bad in ["", "a.b", "*", ">", "a b", "ä", &"x".repeat(129)] {
            assert!(check_token(bad).is_err(), "{bad:?}");
        }
        assert!(Subjects::new("shoal.>").is_err());
    }
}
