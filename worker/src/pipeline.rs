//! The per-chunk pipeline, without any transport: read the chunk's records
//! through its [`Source`](shoal_sources::Source), detect, and hand each
//! finding to a [`FindingSink`]. The swarm worker and `shoal scan` both run
//! this code; only what feeds it and what takes its findings differ.

use std::sync::Arc;
use std::time::Instant;

use shoal_detect::privacy::{FingerprintKey, RecordContext, to_finding};
use shoal_detect::{Detection, Engine};
use shoal_schemas::{ChunkOutcome, ChunkResult, ChunkTask, Finding, Location, Skipped};
use shoal_sources::{Record, RecordVisitor, Sources};

use crate::ack::ErrorKind;

/// Where the findings of a chunk go, one at a time, as they are found.
pub trait FindingSink {
    /// One finding. `value` is the raw value only when the sink was built to
    /// reveal values (local scans with `--reveal`); the swarm's sink never is.
    /// An error stops the chunk.
    fn finding(&mut self, finding: Finding, value: Option<&[u8]>) -> Result<(), ChunkError>;
}

/// Why a chunk failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The envelope was refused.
    #[error("envelope refused: {0}")]
    Envelope(#[from] shoal_schemas::envelope::EnvelopeError),
    /// The envelope's jti was claimed by another message.
    #[error("replayed envelope: jti {jti} was claimed by message {first}, this is {this}")]
    Replay {
        /// The jti.
        jti: String,
        /// Stream sequence of the message that claimed it.
        first: u64,
        /// Stream sequence of this message.
        this: u64,
    },
    /// NATS or KV failed.
    #[error("transport: {0}")]
    Transport(String),
    /// This worker has no source with the chunk's source id.
    #[error("source `{0}` is not configured on this worker")]
    SourceUnavailable(String),
    /// The source failed as a whole.
    #[error("source: {0}")]
    Source(#[from] shoal_sources::Error),
    /// The chunk panicked.
    #[error("internal error (panic): {0}")]
    Panic(String),
    /// The worker is stopping.
    #[error("worker shutting down")]
    ShuttingDown,
}

impl ChunkError {
    /// What the error means for the message: see [`crate::ack::ack_for`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            ChunkError::Envelope(e) => ErrorKind::of_envelope(e),
            ChunkError::Replay { .. } => ErrorKind::Replay,
            ChunkError::Transport(_) => ErrorKind::Transient,
            ChunkError::SourceUnavailable(_) => ErrorKind::SourceUnavailable,
            ChunkError::Source(e) if e.is_transient() => ErrorKind::Transient,
            ChunkError::Source(_) => ErrorKind::Permanent,
            ChunkError::Panic(_) => ErrorKind::Panic,
            ChunkError::ShuttingDown => ErrorKind::ShuttingDown,
        }
    }

    /// A stable code for audit records and chunk results.
    pub fn code(&self) -> &'static str {
        match self {
            ChunkError::Envelope(e) => e.code(),
            ChunkError::Replay { .. } => "replay",
            ChunkError::Transport(_) => "transport",
            ChunkError::SourceUnavailable(_) => "source_unavailable",
            ChunkError::Source(shoal_sources::Error::Unsupported(_)) => "unsupported_source",
            ChunkError::Source(_) => "source",
            ChunkError::Panic(_) => "panic",
            ChunkError::ShuttingDown => "shutting_down",
        }
    }
}

/// How fingerprint keys are chosen.
#[derive(Debug, Clone)]
pub enum Fingerprints {
    /// One key for everything (a local scan).
    Shared(FingerprintKey),
    /// A key per tenant derived from a master key (the swarm).
    PerTenant(FingerprintKey),
}

impl Fingerprints {
    fn key(&self, tenant: &str) -> FingerprintKey {
        match self {
            Fingerprints::Shared(k) => k.clone(),
            Fingerprints::PerTenant(k) => k.for_tenant(tenant),
        }
    }
}

/// Runs chunks: the engine, the sources this process can read and the
/// fingerprint keys.
///
/// Scanners (Vectorscan scratch, one regex cache per rule, buffers) are
/// pooled, so a chunk starts with warm caches instead of building them: the
/// pool holds at most as many as ran at once. The engine lives as long as
/// the process (it is leaked once per runner, which a process makes once).
pub struct ChunkRunner {
    engine: &'static Engine,
    scanners: std::sync::Mutex<Vec<shoal_detect::Scanner<'static>>>,
    sources: Sources,
    fingerprints: Fingerprints,
    worker: String,
}

impl std::fmt::Debug for ChunkRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkRunner")
            .field("rules", &self.engine.rule_count())
            .field("sources", &self.sources)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl ChunkRunner {
    /// A runner named `worker` (the name goes into chunk results).
    pub fn new(
        engine: Arc<Engine>,
        sources: Sources,
        fingerprints: Fingerprints,
        worker: String,
    ) -> ChunkRunner {
        let engine: &'static Arc<Engine> = Box::leak(Box::new(engine));
        ChunkRunner {
            engine,
            scanners: std::sync::Mutex::new(Vec::new()),
            sources,
            fingerprints,
            worker,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    /// The worker's name.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Whether this runner can read the source `id`.
    pub fn has_source(&self, id: &str) -> bool {
        self.sources.get(id).is_some()
    }

    /// Reads and scans one verified chunk, handing findings to `sink` as
    /// they are found. Records that cannot be read are listed in the
    /// result's `skipped`; an error of the chunk as a whole is returned.
    pub fn run(
        &self,
        task: &ChunkTask,
        sink: &mut dyn FindingSink,
        reveal: bool,
    ) -> Result<ChunkResult, ChunkError> {
        let started = Instant::now();
        let source = self
            .sources
            .get(&task.source)
            .ok_or_else(|| ChunkError::SourceUnavailable(task.source.clone()))?;
        let key = self.fingerprints.key(&task.tenant);
        let mut visitor = Visitor {
            runner: self,
            task,
            key: &key,
            scanner: self
                .scanners
                .lock()
                .ok()
                .and_then(|mut pool| pool.pop())
                .unwrap_or_else(|| self.engine.scanner()),
            detections: Vec::new(),
            sink,
            reveal,
            failure: None,
            result: new_result(task, &self.worker),
        };
        let read = source.read(&task.spec, &mut visitor);
        let Visitor {
            scanner,
            failure,
            result,
            ..
        } = visitor;
        // A scanner is only pooled after a chunk that did not unwind.
        if let Ok(mut pool) = self.scanners.lock() {
            pool.push(scanner);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        read?;
        let mut result = result;
        result.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(result)
    }
}

/// A result for `task` with nothing counted yet: outcome `Done`.
pub(crate) fn new_result(task: &ChunkTask, worker: &str) -> ChunkResult {
    ChunkResult {
        v: 1,
        scan_id: task.scan_id.clone(),
        tenant: task.tenant.clone(),
        chunk_id: task.chunk_id.clone(),
        worker: worker.to_owned(),
        outcome: ChunkOutcome::Done,
        records: 0,
        bytes: 0,
        findings: 0,
        skipped: Vec::new(),
        skipped_total: 0,
        elapsed_ms: 0,
        error: None,
    }
}

struct Visitor<'a> {
    runner: &'a ChunkRunner,
    task: &'a ChunkTask,
    key: &'a FingerprintKey,
    scanner: shoal_detect::Scanner<'static>,
    detections: Vec<Detection>,
    sink: &'a mut dyn FindingSink,
    reveal: bool,
    /// A sink error, kept whole (the source only sees `Stopped`).
    failure: Option<ChunkError>,
    result: ChunkResult,
}

impl RecordVisitor for Visitor<'_> {
    fn record(&mut self, record: Record<'_>) -> Result<(), shoal_sources::Error> {
        self.detections.clear();
        let bytes = match self.scanner.scan_reader(
            record.reader,
            record.field.as_deref(),
            &mut self.detections,
        ) {
            Ok(n) => n,
            Err(e) => {
                self.skipped(Skipped {
                    location: record.path,
                    kind: "io".into(),
                    message: e.to_string(),
                });
                return Ok(());
            }
        };
        self.result.records += 1;
        self.result.bytes += bytes;
        let location = Location {
            source: self.task.source.clone(),
            path: record.path,
            member: record.member,
            row: record.row,
            field: record.field,
            ..Location::default()
        };
        let ctx = RecordContext {
            scan_id: &self.task.scan_id,
            tenant: &self.task.tenant,
            chunk_id: &self.task.chunk_id,
            location: &location,
        };
        for d in &self.detections {
            let finding = to_finding(self.runner.engine(), self.key, &ctx, d);
            let value = self.reveal.then_some(d.value.as_slice());
            if let Err(e) = self.sink.finding(finding, value) {
                let message = e.to_string();
                self.failure = Some(e);
                return Err(shoal_sources::Error::Stopped(message));
            }
            self.result.findings += 1;
        }
        Ok(())
    }

    fn skipped(&mut self, skipped: Skipped) {
        self.result.skipped_total += 1;
        if self.result.skipped.len() < ChunkResult::MAX_SKIPPED {
            self.result.skipped.push(skipped);
        }
    }
}
