//! The wire types. Each carries `v`, its schema version; fields may be added
//! within a version (readers skip fields they do not know, except on
//! [`ScanRequest`], which users write by hand and where a typo must be an
//! error), and a change of meaning takes a new version.

use serde::{Deserialize, Serialize};

use crate::codec::Message;

/// A request to scan one configured source, sent to `shoal.submit`.
///
/// The tenant is not part of the request: it comes from the submitter's JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// Schema version, 1.
    pub v: u32,
    /// The id of a source configured on the dispatcher (e.g. `billing-bucket`).
    pub source: String,
    /// Glob patterns of what to scan; empty means everything.
    #[serde(default)]
    pub include: Vec<String>,
    /// Glob patterns of what to skip; applied after `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// A free-form label shown in status and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Message for ScanRequest {
    const KIND: &'static str = "scan_request";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 64 * 1024;
}

/// A byte range `start..end` within an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte, inclusive.
    pub start: u64,
    /// Last byte, exclusive.
    pub end: u64,
}

/// One file of a file-tree chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the source's root, `/`-separated.
    pub path: String,
    /// Size in bytes when planned; a file that changed since is still read whole.
    pub size: u64,
}

/// One object (or a range of one) of an S3 chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Object key.
    pub key: String,
    /// Object size in bytes when planned.
    pub size: u64,
    /// ETag when planned; a read of a changed object is refused as stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Version id on versioned buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Part of the object to read; whole object when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ByteRange>,
}

/// What one chunk covers. A closed set that travels on the wire, tagged by
/// `kind`; the behaviour lives in the `Source` implementations of `sources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChunkSpec {
    /// A batch of files below the source's root.
    Fs {
        /// The files, read whole.
        files: Vec<FileRef>,
    },
    /// A batch of objects, or a range of one large object.
    S3 {
        /// Bucket name.
        bucket: String,
        /// The objects.
        objects: Vec<ObjectRef>,
    },
    /// A range of heap blocks of one table (a TID range scan).
    Postgres {
        /// Schema name.
        schema: String,
        /// Table name.
        table: String,
        /// Text-like columns to read.
        columns: Vec<String>,
        /// Primary-key columns, reported as the row's location.
        key: Vec<String>,
        /// First heap block, inclusive.
        block_start: u64,
        /// Last heap block, exclusive.
        block_end: u64,
    },
    /// A time window of one Slack channel's history.
    Slack {
        /// Channel id.
        channel: String,
        /// Oldest message timestamp, inclusive (Slack `ts`).
        oldest: String,
        /// Latest message timestamp, exclusive (Slack `ts`).
        latest: String,
    },
    /// A UID range of one IMAP mailbox.
    Mail {
        /// Mailbox name.
        mailbox: String,
        /// The mailbox's UIDVALIDITY when planned.
        uid_validity: u32,
        /// First UID, inclusive.
        uid_start: u32,
        /// Last UID, inclusive.
        uid_end: u32,
    },
}

impl ChunkSpec {
    /// The source kind, as used in chunk subjects (`shoal.chunk.<tenant>.<kind>`).
    pub fn kind(&self) -> &'static str {
        match self {
            ChunkSpec::Fs { .. } => "fs",
            ChunkSpec::S3 { .. } => "s3",
            ChunkSpec::Postgres { .. } => "postgres",
            ChunkSpec::Slack { .. } => "slack",
            ChunkSpec::Mail { .. } => "mail",
        }
    }
}

/// One unit of work: the signed body of a job envelope.
///
/// The claims `iss`, `aud`, `jti`, `iat`, `nbf` and `exp` mean what they mean
/// in a JWT (RFC 7519); times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkTask {
    /// Schema version, 1.
    pub v: u32,
    /// Issuer: the dispatcher's name.
    pub iss: String,
    /// Audience: `shoal-worker`.
    pub aud: String,
    /// Unique id of this envelope, claimed once in KV `shoal_jti`.
    pub jti: String,
    /// Issued at.
    pub iat: i64,
    /// Not valid before.
    pub nbf: i64,
    /// Not valid at or after.
    pub exp: i64,
    /// Tenant the scan belongs to.
    pub tenant: String,
    /// Scan id.
    pub scan_id: String,
    /// Chunk id, unique within the scan; also the JetStream `Nats-Msg-Id`.
    pub chunk_id: String,
    /// Source id; the worker reads it with credentials from its own environment.
    pub source: String,
    /// What to read.
    pub spec: ChunkSpec,
    /// Digest of the rule set the dispatcher planned with (`sha256:…`).
    pub ruleset: String,
}

impl Message for ChunkTask {
    const KIND: &'static str = "chunk_task";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 64 * 1024;
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Personal data.
    Pii,
    /// Credentials, keys and tokens.
    Secret,
}

/// Confidence band of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below 0.5.
    Low,
    /// 0.5 up to 0.8.
    Medium,
    /// 0.8 and above.
    High,
}

impl Level {
    /// The band of a 0..1 confidence score.
    pub fn of(confidence: f64) -> Level {
        if confidence >= 0.8 {
            Level::High
        } else if confidence >= 0.5 {
            Level::Medium
        } else {
            Level::Low
        }
    }
}

/// Where a finding is. `start..end` are byte offsets into the scanned record:
/// the file's bytes for a plain file, otherwise the extracted text of the
/// archive member, cell or message part named here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Location {
    /// Source id.
    pub source: String,
    /// File path, object key, `schema.table`, channel or mailbox.
    pub path: String,
    /// Archive member or message part, when the record is inside one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Primary key of a database row, or a message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    /// Byte offset of the first byte of the match.
    pub start: u64,
    /// Byte offset one past the last byte of the match.
    pub end: u64,
    /// 1-based line of `start`.
    pub line: u32,
    /// 1-based column (in bytes) of `start`.
    pub column: u32,
    /// CSV header, JSON key or database column the value sits under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// JSON path of the value, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
    /// 1-based PDF page, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// A detection, without its raw value: only a masked preview and a keyed
/// fingerprint leave the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Schema version, 1.
    pub v: u32,
    /// Deterministic id from scan, location, rule and span (`f_…`).
    pub finding_id: String,
    /// Scan id.
    pub scan_id: String,
    /// Tenant.
    pub tenant: String,
    /// Chunk the finding came from.
    pub chunk_id: String,
    /// Rule id, e.g. `pii.credit_card.visa`.
    pub rule_id: String,
    /// Entity name in upper snake case, e.g. `CREDIT_CARD`.
    pub entity: String,
    /// PII or secret.
    pub category: Category,
    /// Score in 0..1, two decimals.
    pub confidence: f64,
    /// Band of `confidence`.
    pub level: Level,
    /// Where it is.
    pub location: Location,
    /// Masked preview, e.g. `4111 **** **** 1111`.
    pub preview: String,
    /// `hmac-sha256:<hex>` of the value under the tenant's key.
    pub fingerprint: String,
}

impl Message for Finding {
    const KIND: &'static str = "finding";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 16 * 1024;
}

/// Findings of one chunk published as one message: a chunk's findings go in
/// batches rather than one message each, which keeps the events stream (and
/// the sink's acks) at a few messages per chunk even on dense data.
/// `Nats-Msg-Id` = `<chunk_id>.findings.<seq>`; batch boundaries depend only
/// on the findings, so a rerun of the chunk publishes the same batches and
/// JetStream drops them as duplicates (the sink also ignores finding ids it
/// already holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingBatch {
    /// Schema version, 1.
    pub v: u32,
    /// Scan id.
    pub scan_id: String,
    /// Chunk the findings came from.
    pub chunk_id: String,
    /// Position of the batch among its chunk's batches, from 0.
    pub seq: u32,
    /// The findings, in the order they were found.
    pub findings: Vec<Finding>,
}

impl FindingBatch {
    /// Most findings in one batch.
    pub const MAX_FINDINGS: usize = 256;
    /// Size a publisher keeps a batch under, estimated with
    /// [`Finding::size_hint`]; well below [`Message::MAX_BYTES`] and NATS's
    /// default 1 MiB payload limit.
    pub const TARGET_BYTES: usize = 256 * 1024;
}

impl Message for FindingBatch {
    const KIND: &'static str = "finding_batch";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 1024 * 1024 - 4 * 1024;
}

impl Finding {
    /// An upper bound of the finding's MessagePack size: its strings plus a
    /// fixed allowance for field names, numbers and headers.
    pub fn size_hint(&self) -> usize {
        let l = &self.location;
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        512 + self.finding_id.len()
            + self.scan_id.len()
            + self.tenant.len()
            + self.chunk_id.len()
            + self.rule_id.len()
            + self.entity.len()
            + self.preview.len()
            + self.fingerprint.len()
            + l.source.len()
            + l.path.len()
            + opt(&l.member)
            + opt(&l.row)
            + opt(&l.field)
            + opt(&l.json_path)
    }
}

/// How a chunk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkOutcome {
    /// Read and scanned; some records may have been skipped (see `skipped`).
    Done,
    /// Gave up: max deliveries, or an error that retrying cannot fix.
    Failed,
    /// The scan was cancelled before the chunk ran.
    Cancelled,
}

/// A record the worker could not scan, and why; the rest of the chunk went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Path, key or row of the record.
    pub location: String,
    /// Stable error kind, e.g. `corrupt_archive`, `too_large`, `binary`.
    pub kind: String,
    /// Human-readable reason.
    pub message: String,
}

/// The result of one chunk, published once its findings are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkResult {
    /// Schema version, 1.
    pub v: u32,
    /// Scan id.
    pub scan_id: String,
    /// Tenant.
    pub tenant: String,
    /// Chunk id.
    pub chunk_id: String,
    /// Worker that ran it.
    pub worker: String,
    /// How it ended.
    pub outcome: ChunkOutcome,
    /// Records (files, objects, rows, messages) scanned.
    pub records: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Findings published.
    pub findings: u64,
    /// Records skipped, at most [`ChunkResult::MAX_SKIPPED`] listed.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Number of skipped records, including those not listed.
    #[serde(default)]
    pub skipped_total: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ChunkResult {
    /// How many skipped records a result lists by name.
    pub const MAX_SKIPPED: usize = 100;
}

impl Message for ChunkResult {
    const KIND: &'static str = "chunk_result";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 256 * 1024;
}

/// Where a scan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    /// Accepted; chunks are being planned and published.
    Planning,
    /// All chunks published; some still running.
    Running,
    /// Every chunk done or failed.
    Done,
    /// Planning failed; nothing more will run.
    Failed,
    /// Cancelled by the submitter.
    Cancelled,
}

/// The status of a scan, as kept in KV `shoal_scans` and returned by `shoal.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanStatus {
    /// Schema version, 1.
    pub v: u32,
    /// Scan id.
    pub scan_id: String,
    /// Tenant.
    pub tenant: String,
    /// Source id.
    pub source: String,
    /// State.
    pub state: ScanState,
    /// Chunks planned so far.
    pub chunks_planned: u64,
    /// Chunks done.
    pub chunks_done: u64,
    /// Chunks failed.
    pub chunks_failed: u64,
    /// Findings stored.
    pub findings: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// When it was submitted (Unix seconds).
    pub submitted_at: i64,
    /// When this status was written (Unix seconds).
    pub updated_at: i64,
    /// Set by `shoal.cancel`; workers skip the scan's remaining chunks.
    #[serde(default)]
    pub cancel_requested: bool,
    /// Why planning failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Message for ScanStatus {
    const KIND: &'static str = "scan_status";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 16 * 1024;
}

/// What an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A scan submission.
    Submit,
    /// A status request.
    Status,
    /// A cancel request.
    Cancel,
    /// A worker refused a chunk (bad envelope, replay, malformed).
    ChunkRefused,
    /// A chunk hit its maximum deliveries.
    ChunkFailed,
}

/// Whether the thing audited was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Allowed.
    Accepted,
    /// Refused.
    Refused,
}

/// Who did what, when, and whether it was allowed. Published on
/// `shoal.audit.<source>` and stored by the sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Schema version, 1.
    pub v: u32,
    /// When (Unix seconds).
    pub at: i64,
    /// Who: the JWT subject, or the worker's name.
    pub actor: String,
    /// Tenant, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// What.
    pub action: AuditAction,
    /// Allowed or refused.
    pub decision: Decision,
    /// Stable reason code when refused (e.g. `bad_signature`, `forbidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Source id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Scan id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
    /// Chunk id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_id: Option<String>,
    /// Human-readable detail; never a secret or a scanned value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Message for AuditRecord {
    const KIND: &'static str = "audit_record";
    const VERSION: u32 = 1;
    const MAX_BYTES: usize = 16 * 1024;
}
