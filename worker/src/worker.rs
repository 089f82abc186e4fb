//! The per-delivery sequence and the pull loop.
//!
//! For each delivery: verify the envelope → claim its jti → check the scan's
//! cancel flag → read and detect on a blocking thread while findings stream
//! back and are published (progress acks keep the message meanwhile) →
//! publish the chunk result → double ack. Any error is answered by
//! [`ack_for`] of its kind; refusals also go to the audit trail.

use std::sync::Arc;
use std::time::Duration;

use shoal_schemas::envelope::Verifier;
use shoal_schemas::{
    AuditAction, AuditRecord, ChunkOutcome, ChunkResult, ChunkTask, Decision, Finding, FindingBatch,
};
use tokio::sync::{mpsc, watch};

use crate::ack::{Ack, ErrorKind, ack_for};
use crate::pipeline::{ChunkError, ChunkRunner, FindingSink, new_result};
use crate::transport::{Bus, Claim, Confirm, Delivery, Event, Queue};

/// Tunables of a worker.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often a running chunk sends a progress ack: a third of the
    /// consumer's ack wait.
    pub progress_every: Duration,
    /// How long a claimed jti is kept past the envelope's expiry.
    pub jti_margin: Duration,
    /// Finding batches awaiting confirmation before the worker waits for
    /// them (each at most about 256 KiB).
    pub publish_window: usize,
    /// Hand raw values to the bus (local scans with `--reveal` only).
    pub reveal: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            progress_every: Duration::from_secs(10),
            jti_margin: Duration::from_secs(3600),
            publish_window: 16,
            reveal: false,
        }
    }
}

/// What became of one delivery (for logs and tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The answer given.
    pub ack: Ack,
    /// The chunk's result when it ran, was cancelled or failed for good.
    pub result: Option<ChunkResult>,
    /// The error code when it did not complete.
    pub error: Option<&'static str>,
}

struct Failure {
    task: Option<ChunkTask>,
    error: ChunkError,
}

impl<E: Into<ChunkError>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure {
            task: None,
            error: e.into(),
        }
    }
}

/// A worker: what it runs chunks with, how it verifies them and where it
/// publishes.
pub struct Worker<B> {
    runner: Arc<ChunkRunner>,
    verifier: Verifier,
    bus: Arc<B>,
    settings: Settings,
}

impl<B: Bus> Worker<B> {
    /// A worker.
    pub fn new(
        runner: Arc<ChunkRunner>,
        verifier: Verifier,
        bus: Arc<B>,
        settings: Settings,
    ) -> Worker<B> {
        Worker {
            runner,
            verifier,
            bus,
            settings,
        }
    }

    /// Handles one delivery from start to acknowledgement.
    pub async fn handle<D: Delivery>(&self, delivery: &D) -> Handled {
        let handled = match self.process(delivery).await {
            Ok(result) => Handled {
                ack: Ack::Ack,
                result: Some(result),
                error: None,
            },
            Err(failure) => self.failed(delivery, failure).await,
        };
        if let Err(e) = delivery.ack(handled.ack).await {
            // The server redelivers after the ack wait; nothing is lost.
            tracing::warn!(error = %e, ack = ?handled.ack, "Acknowledgement failed.");
        }
        handled
    }

    async fn process<D: Delivery>(&self, delivery: &D) -> Result<ChunkResult, Failure> {
        let now = shoal_schemas::ids::now_unix();
        let task = self.verifier.verify_task(delivery.payload(), now)?;
        let with_task = |error: ChunkError| Failure {
            task: Some(task.clone()),
            error,
        };
        let ttl = Duration::from_secs(u64::try_from(task.exp - now).unwrap_or(0))
            + self.settings.jti_margin;
        let claim = self
            .bus
            .claim(&task.jti, delivery.sequence(), ttl)
            .await
            .map_err(|e| with_task(ChunkError::Transport(e.0)))?;
        if let Claim::Taken(first) = claim {
            return Err(with_task(ChunkError::Replay {
                jti: task.jti.clone(),
                first,
                this: delivery.sequence(),
            }));
        }
        tracing::info!(
            chunk_id = %task.chunk_id,
            sequence = delivery.sequence(),
            delivered = delivery.delivered(),
            redelivery = claim == Claim::Redelivery,
            "Chunk claimed."
        );
        let cancelled = self
            .bus
            .cancelled(&task.scan_id)
            .await
            .map_err(|e| with_task(ChunkError::Transport(e.0)))?;
        if cancelled {
            let mut result = new_result(&task, self.runner.worker());
            result.outcome = ChunkOutcome::Cancelled;
            self.publish_result(&result).await.map_err(with_task)?;
            return Ok(result);
        }
        if !self.runner.has_source(&task.source) {
            return Err(with_task(ChunkError::SourceUnavailable(
                task.source.clone(),
            )));
        }
        if task.ruleset != self.runner.engine().digest() {
            tracing::warn!(
                chunk_id = %task.chunk_id,
                planned = %task.ruleset,
                here = %self.runner.engine().digest(),
                "Chunk planned with another rule set; scanning with this worker's."
            );
        }
        let result = self.run(delivery, &task).await.map_err(with_task)?;
        self.publish_result(&result).await.map_err(with_task)?;
        tracing::info!(
            chunk_id = %result.chunk_id,
            records = result.records,
            bytes = result.bytes,
            findings = result.findings,
            elapsed_ms = result.elapsed_ms,
            "Chunk scanned."
        );
        Ok(result)
    }

    /// Runs the chunk on a blocking thread, publishing its findings as they
    /// come and sending progress acks meanwhile.
    async fn run<D: Delivery>(
        &self,
        delivery: &D,
        task: &ChunkTask,
    ) -> Result<ChunkResult, ChunkError> {
        let (tx, mut rx) = mpsc::channel::<Closed>(4);
        let runner = self.runner.clone();
        let job_task = task.clone();
        let reveal = self.settings.reveal;
        let job = tokio::task::spawn_blocking(move || {
            let mut sink = ChannelSink {
                tx,
                batcher: Batcher::new(&job_task.scan_id, &job_task.chunk_id),
            };
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let result = runner.run(&job_task, &mut sink, reveal)?;
                sink.flush()?;
                Ok(result)
            }))
        });
        let mut progress = tokio::time::interval(self.settings.progress_every);
        progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        progress.tick().await;
        let mut pending: Vec<Confirm> = Vec::new();
        let streamed: Result<(), ChunkError> = async {
            loop {
                tokio::select! {
                    // Batches as the blocking thread closes them; `None` once it is done.
                    closed = rx.recv() => {
                        let Some(closed) = closed else { break };
                        self.publish_batch(closed, &mut pending).await?;
                    }
                    // A long chunk keeps its message: progress every ack_wait/3.
                    _ = progress.tick() => {
                        if let Err(e) = delivery.ack(Ack::Progress).await {
                            tracing::warn!(error = %e, "Progress ack failed.");
                        }
                    }
                }
            }
            confirm_all(&mut pending).await
        }
        .await;
        // Dropping the receiver stops the blocking thread at its next finding.
        drop(rx);
        let joined = job.await;
        streamed?;
        match joined {
            Err(e) => Err(ChunkError::Panic(e.to_string())),
            Ok(Err(payload)) => Err(ChunkError::Panic(panic_message(&payload))),
            Ok(Ok(result)) => result,
        }
    }

    /// Publishes a batch of findings, confirming the oldest publications
    /// once [`Settings::publish_window`] are in flight.
    async fn publish_batch(
        &self,
        (batch, values): Closed,
        pending: &mut Vec<Confirm>,
    ) -> Result<(), ChunkError> {
        let confirm = self
            .bus
            .publish(Event::Findings(&batch), &values)
            .await
            .map_err(|e| ChunkError::Transport(e.0))?;
        pending.push(confirm);
        if pending.len() >= self.settings.publish_window {
            confirm_all(pending).await?;
        }
        Ok(())
    }

    async fn publish_result(&self, result: &ChunkResult) -> Result<(), ChunkError> {
        let confirm = self
            .bus
            .publish(Event::Result(result), &[])
            .await
            .map_err(|e| ChunkError::Transport(e.0))?;
        confirm.await.map_err(|e| ChunkError::Transport(e.0))
    }

    async fn failed<D: Delivery>(&self, delivery: &D, failure: Failure) -> Handled {
        let Failure { task, error } = failure;
        let kind = error.kind();
        let ack = ack_for(kind);
        tracing::warn!(
            chunk_id = task.as_ref().map(|t| t.chunk_id.as_str()),
            sequence = delivery.sequence(),
            delivered = delivery.delivered(),
            code = error.code(),
            ?ack,
            "Chunk not completed: {error}"
        );
        if kind.is_refusal() {
            // A refused envelope's claims are only trusted when it verified
            // (a replay); a forged one is recorded without them.
            let record = AuditRecord {
                v: 1,
                at: shoal_schemas::ids::now_unix(),
                actor: self.runner.worker().to_owned(),
                tenant: task.as_ref().map(|t| t.tenant.clone()),
                action: AuditAction::ChunkRefused,
                decision: Decision::Refused,
                reason: Some(error.code().to_owned()),
                source: task.as_ref().map(|t| t.source.clone()),
                scan_id: task.as_ref().map(|t| t.scan_id.clone()),
                chunk_id: task.as_ref().map(|t| t.chunk_id.clone()),
                detail: Some(format!("stream sequence {}: {error}", delivery.sequence())),
            };
            let published = match self.bus.publish(Event::Audit(&record), &[]).await {
                Ok(confirm) => confirm.await,
                Err(e) => Err(e),
            };
            if let Err(e) = published {
                tracing::error!(error = %e, "Audit record not published.");
            }
        }
        let mut result = None;
        if ack == Ack::Term
            && kind != ErrorKind::Replay
            && let Some(task) = &task
        {
            // A verified chunk that can never run is failed now, so that its
            // scan can finish.
            let mut r = new_result(task, self.runner.worker());
            r.outcome = ChunkOutcome::Failed;
            r.error = Some(format!("{}: {error}", error.code()));
            if let Err(e) = self.publish_result(&r).await {
                tracing::error!(error = %e, "Failed chunk result not published.");
            }
            result = Some(r);
        }
        Handled {
            ack,
            result,
            error: Some(error.code()),
        }
    }
}

async fn confirm_all(pending: &mut Vec<Confirm>) -> Result<(), ChunkError> {
    for confirm in pending.drain(..) {
        confirm.await.map_err(|e| ChunkError::Transport(e.0))?;
    }
    Ok(())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// Groups a chunk's findings into [`FindingBatch`]es of at most
/// [`FindingBatch::MAX_FINDINGS`] findings and about
/// [`FindingBatch::TARGET_BYTES`]. Where a batch ends depends only on the
/// findings, so a rerun of the chunk makes the same batches.
struct Batcher {
    scan_id: String,
    chunk_id: String,
    seq: u32,
    findings: Vec<Finding>,
    values: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

impl Batcher {
    fn new(scan_id: &str, chunk_id: &str) -> Batcher {
        Batcher {
            scan_id: scan_id.to_owned(),
            chunk_id: chunk_id.to_owned(),
            seq: 0,
            findings: Vec::new(),
            values: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds a finding; returns the batch it closed, if any.
    fn push(&mut self, finding: Finding, value: Option<Vec<u8>>) -> Option<Closed> {
        let size = finding.size_hint();
        let closed = if self.bytes + size > FindingBatch::TARGET_BYTES {
            self.finish()
        } else {
            None
        };
        self.bytes += size;
        self.findings.push(finding);
        self.values.push(value);
        if self.findings.len() >= FindingBatch::MAX_FINDINGS {
            debug_assert!(closed.is_none());
            return self.finish();
        }
        closed
    }

    /// Closes the batch being filled, unless it is empty.
    fn finish(&mut self) -> Option<Closed> {
        if self.findings.is_empty() {
            return None;
        }
        let batch = FindingBatch {
            v: 1,
            scan_id: self.scan_id.clone(),
            chunk_id: self.chunk_id.clone(),
            seq: self.seq,
            findings: std::mem::take(&mut self.findings),
        };
        self.seq += 1;
        self.bytes = 0;
        Some((batch, std::mem::take(&mut self.values)))
    }
}

/// A closed batch and the raw values of its findings, in order (values are
/// `None` unless revealing).
type Closed = (FindingBatch, Vec<Option<Vec<u8>>>);

/// Hands findings from the blocking thread to the publishing task, a closed
/// [`FindingBatch`] at a time, so that the two threads do not wake each other
/// once per finding.
struct ChannelSink {
    tx: mpsc::Sender<Closed>,
    batcher: Batcher,
}

impl ChannelSink {
    fn send(&self, closed: Option<Closed>) -> Result<(), ChunkError> {
        match closed {
            Some(closed) => self
                .tx
                .blocking_send(closed)
                .map_err(|_| ChunkError::Transport("publishing stopped".into())),
            None => Ok(()),
        }
    }

    /// Sends the last, partly filled batch.
    fn flush(&mut self) -> Result<(), ChunkError> {
        let last = self.batcher.finish();
        self.send(last)
    }
}

impl FindingSink for ChannelSink {
    fn finding(&mut self, finding: Finding, value: Option<&[u8]>) -> Result<(), ChunkError> {
        let closed = self.batcher.push(finding, value.map(<[u8]>::to_vec));
        self.send(closed)
    }
}

/// Waits until the flag is raised; forever if its sender is gone.
async fn raised(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `slots` concurrent slots, each pulling one delivery at a time, until
/// the queue ends or `stop` is raised. After `stop`, running chunks go on
/// until done or until `abort` is raised, when they are given back (Nak).
pub async fn run<Q: Queue, B: Bus>(
    worker: Arc<Worker<B>>,
    queue: Arc<Q>,
    slots: usize,
    stop: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
) {
    let mut set = tokio::task::JoinSet::new();
    for slot in 0..slots.max(1) {
        let (worker, queue) = (worker.clone(), queue.clone());
        let (mut stop, mut abort) = (stop.clone(), abort.clone());
        set.spawn(async move {
            loop {
                let next = tokio::select! {
                    biased;
                    // Shutdown: pull nothing more.
                    _ = raised(&mut stop) => break,
                    next = queue.next() => next,
                };
                let delivery = match next {
                    Ok(Some(d)) => d,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(slot, error = %e, "Pull failed; retrying.");
                        tokio::select! {
                            // Shutdown while waiting to retry.
                            _ = raised(&mut stop) => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                tokio::select! {
                    _ = worker.handle(&delivery) => {}
                    // The grace period is over: give the chunk back.
                    _ = raised(&mut abort) => {
                        let _ = delivery.ack(ack_for(ErrorKind::ShuttingDown)).await;
                        break;
                    }
                }
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "Worker slot ended abnormally.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_schemas::{Category, Level, Location};

    fn finding(i: usize, path_len: usize) -> Finding {
        Finding {
            v: 1,
            finding_id: format!("f_{i}"),
            scan_id: "s_1".into(),
            tenant: "acme".into(),
            chunk_id: "c_1".into(),
            rule_id: "pii.email".into(),
            entity: "EMAIL".into(),
            category: Category::Pii,
            confidence: 0.9,
            level: Level::High,
            location: Location {
                source: "fs".into(),
                path: "p".repeat(path_len),
                member: None,
                row: None,
                start: 0,
                end: 1,
                line: 1,
                column: 1,
                field: None,
                json_path: None,
                page: None,
            },
            preview: "a***@b.c".into(),
            fingerprint: "hmac-sha256:00".into(),
        }
    }

    /// Batches the findings as a chunk run would: (seq, findings) per batch.
    fn batches(findings: &[Finding]) -> Vec<(u32, Vec<String>)> {
        let mut b = Batcher::new("s_1", "c_1");
        let mut out = Vec::new();
        let mut take = |closed: Option<Closed>| {
            if let Some((batch, values)) = closed {
                assert_eq!(values.len(), batch.findings.len());
                assert_eq!(
                    (batch.scan_id.as_str(), batch.chunk_id.as_str()),
                    ("s_1", "c_1")
                );
                let encoded = shoal_schemas::codec::to_msgpack(&batch).unwrap();
                assert!(encoded.len() <= FindingBatch::TARGET_BYTES + 16 * 1024);
                let ids = batch
                    .findings
                    .iter()
                    .map(|f| f.finding_id.clone())
                    .collect();
                out.push((batch.seq, ids));
            }
        };
        for f in findings {
            take(b.push(f.clone(), None));
        }
        take(b.finish());
        out
    }

    #[test]
    fn findings_are_batched_by_count_and_size_the_same_way_every_time() {
        assert!(batches(&[]).is_empty());
        let small: Vec<Finding> = (0..600).map(|i| finding(i, 20)).collect();
        let by_count = batches(&small);
        let sizes: Vec<(u32, usize)> = by_count.iter().map(|(s, f)| (*s, f.len())).collect();
        assert_eq!(sizes, [(0, 256), (1, 256), (2, 88)]);
        let all: Vec<String> = by_count.iter().flat_map(|(_, f)| f.clone()).collect();
        assert_eq!(
            all,
            small
                .iter()
                .map(|f| f.finding_id.clone())
                .collect::<Vec<_>>()
        );
        // Long paths close batches by size before they reach 256 findings.
        let big: Vec<Finding> = (0..100).map(|i| finding(i, 4000)).collect();
        let by_size = batches(&big);
        assert!(by_size.len() >= 2, "{}", by_size.len());
        assert!(by_size.iter().all(|(_, f)| f.len() < 256));
        assert_eq!(by_size.iter().map(|(_, f)| f.len()).sum::<usize>(), 100);
        // Boundaries depend only on the findings: a rerun batches alike.
        assert_eq!(batches(&big), by_size);
    }
}
