//! The findings sink: the durable consumer `shoal-sink` on SHOAL_EVENTS,
//! writing findings, chunk results, audit records and max-deliveries
//! advisories to PostgreSQL in batches. Every write is idempotent, so a
//! batch redelivered after a crash changes nothing; a scan is closed when
//! its last chunk is accounted for, and its status mirrored to KV.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use futures::StreamExt as _;
use shoal_schemas::subjects;
use shoal_schemas::{
    AuditAction, AuditRecord, ChunkResult, Decision, Finding, FindingBatch, codec,
};
use tokio::sync::watch;

use crate::db::Db;
use crate::service::Dispatcher;

/// Events fetched and written per batch.
pub const BATCH: usize = 1000;

/// One decoded event.
#[derive(Debug)]
enum Event {
    /// A single finding (workers before batches published these).
    Finding(Finding),
    Findings(FindingBatch),
    Result(ChunkResult),
    Audit(AuditRecord),
    /// A chunk hit max deliveries: its stream sequence and delivery count.
    MaxDeliveries(u64, u64),
}

/// Why an event could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("event on {subject}: {message}")]
pub struct BadEvent {
    subject: String,
    message: String,
}

fn decode(prefix: &str, subject: &str, payload: &[u8]) -> Result<Event, BadEvent> {
    let bad = |message: String| BadEvent {
        subject: subject.to_owned(),
        message,
    };
    if subject.starts_with("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.") {
        let v: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?;
        let seq = v.get("stream_seq").and_then(|s| s.as_u64());
        let deliveries = v.get("deliveries").and_then(|s| s.as_u64()).unwrap_or(0);
        return seq
            .map(|s| Event::MaxDeliveries(s, deliveries))
            .ok_or_else(|| bad("advisory without stream_seq".into()));
    }
    let rest = subject
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(|| bad("not a shoal subject".into()))?;
    let kind = rest.split('.').next().unwrap_or("");
    let e = |x: shoal_schemas::Error| bad(x.to_string());
    match kind {
        "finding" => codec::from_msgpack(payload).map(Event::Finding).map_err(e),
        "findings" => codec::from_msgpack(payload).map(Event::Findings).map_err(e),
        "result" => codec::from_msgpack(payload).map(Event::Result).map_err(e),
        "audit" => codec::from_msgpack(payload).map(Event::Audit).map_err(e),
        _ => Err(bad("unknown event kind".into())),
    }
}

/// Runs the sink until `stop` is raised, writing through `db`, a connection
/// of its own (each batch is one transaction on it).
pub async fn run(
    d: Arc<Dispatcher>,
    mut db: Db,
    mut stop: watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let consumer: PullConsumer =
        d.js.get_consumer_from_stream(subjects::CONSUMER_SINK, subjects::STREAM_EVENTS)
            .await?;
    let chunks = d.js.get_stream(subjects::STREAM_CHUNKS).await?;
    tracing::info!("Sink started.");
    loop {
        let fetched = tokio::select! {
            // Shutdown between batches: nothing is half-written.
            _ = stop.wait_for(|s| *s) => break,
            batch = fetch(&consumer) => batch,
        };
        let messages = match fetched {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "Sink fetch failed; retrying.");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        match store(&d, &mut db, &chunks, &messages).await {
            Ok(()) => {
                for m in &messages {
                    if let Err(e) = m.ack().await {
                        tracing::warn!(error = %e, "Sink ack failed (the event will be stored again, harmlessly).");
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = messages.len(), "Sink batch not stored; retrying later.");
                for m in &messages {
                    let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await;
                }
            }
        }
    }
    Ok(())
}

/// What is pending, up to [`BATCH`]; when nothing is, waits (on the server)
/// for the next event and then takes what came with it.
async fn fetch(consumer: &PullConsumer) -> Result<Vec<jetstream::Message>, async_nats::Error> {
    let mut out = drain(consumer, BATCH).await?;
    if out.is_empty() {
        let mut one = consumer
            .batch()
            .max_messages(1)
            .expires(Duration::from_secs(5))
            .messages()
            .await?;
        if let Some(m) = one.next().await {
            out.push(m?);
            out.extend(drain(consumer, BATCH - 1).await?);
        }
    }
    Ok(out)
}

/// What is pending now, without waiting.
async fn drain(
    consumer: &PullConsumer,
    max: usize,
) -> Result<Vec<jetstream::Message>, async_nats::Error> {
    let mut batch = consumer.fetch().max_messages(max).messages().await?;
    let mut out = Vec::new();
    while let Some(m) = batch.next().await {
        out.push(m?);
    }
    Ok(out)
}

async fn store(
    d: &Dispatcher,
    db: &mut Db,
    chunks: &jetstream::stream::Stream,
    messages: &[jetstream::Message],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut findings = Vec::new();
    let mut results = Vec::new();
    let mut audits = Vec::new();
    let mut given_up = Vec::new();
    for m in messages {
        match decode(d.subjects.prefix(), &m.subject, &m.payload) {
            Ok(Event::Finding(f)) => findings.push(f),
            Ok(Event::Findings(b)) => findings.extend(b.findings),
            Ok(Event::Result(r)) => results.push(r),
            Ok(Event::Audit(a)) => audits.push(a),
            Ok(Event::MaxDeliveries(seq, n)) => given_up.push((seq, n)),
            // Retrying cannot fix a malformed event: it is recorded in the
            // audit trail and dropped.
            Err(e) => {
                tracing::error!(error = %e, "Malformed event dropped.");
                audits.push(AuditRecord {
                    v: 1,
                    at: shoal_schemas::ids::now_unix(),
                    actor: d.config.name.clone(),
                    tenant: None,
                    action: AuditAction::ChunkRefused,
                    decision: Decision::Refused,
                    reason: Some("malformed_event".into()),
                    source: None,
                    scan_id: None,
                    chunk_id: None,
                    detail: Some(e.to_string()),
                });
            }
        }
    }
    let tx = db.begin().await?;
    tx.add_findings(&findings).await?;
    tx.chunk_results(&results).await?;
    let mut touched: BTreeSet<String> = results.iter().map(|r| r.scan_id.clone()).collect();
    for a in &audits {
        tx.audit(a).await?;
    }
    for &(seq, deliveries) in &given_up {
        let reason = format!("max deliveries reached ({deliveries})");
        if let Some((scan_id, chunk_id)) = tx.fail_chunk_at(seq as i64, &reason).await? {
            tracing::warn!(
                scan_id,
                chunk_id,
                deliveries,
                "Chunk failed: max deliveries."
            );
            tx.audit(&AuditRecord {
                v: 1,
                at: shoal_schemas::ids::now_unix(),
                actor: d.config.name.clone(),
                tenant: None,
                action: AuditAction::ChunkFailed,
                decision: Decision::Refused,
                reason: Some("max_deliveries".into()),
                source: None,
                scan_id: Some(scan_id.clone()),
                chunk_id: Some(chunk_id),
                detail: Some(reason),
            })
            .await?;
            touched.insert(scan_id);
        }
    }
    let mut statuses = Vec::with_capacity(touched.len());
    for scan_id in &touched {
        statuses.extend(tx.refresh_scan(scan_id).await?);
    }
    tx.commit().await?;
    // The work queue keeps a message its consumer gave up on; drop it.
    for (seq, _) in given_up {
        if let Err(e) = chunks.delete_message(seq).await {
            tracing::debug!(seq, error = %e, "Given-up chunk not deleted.");
        }
    }
    for status in &statuses {
        d.mirror(status).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_advisory_and_refuses_junk() {
        let a = br#"{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":"SHOAL_CHUNKS","consumer":"shoal-workers","stream_seq":42,"deliveries":5}"#;
        match decode("shoal", &crate::setup::max_deliveries_advisory(), a).unwrap() {
            Event::MaxDeliveries(42, 5) => {}
            other => panic!("{other:?}"),
        }
        assert!(decode("shoal", "shoal.finding.s_1", b"\xc1junk").is_err());
        assert!(decode("shoal", "shoal.findings.s_1", b"\xc1junk").is_err());
        let batch = FindingBatch {
            v: 1,
            scan_id: "s_1".into(),
            chunk_id: "c_1".into(),
            seq: 3,
            findings: Vec::new(),
        };
        let bytes = codec::to_msgpack(&batch).unwrap();
        match decode("shoal", "shoal.findings.s_1", &bytes).unwrap() {
            Event::Findings(b) => assert_eq!(b, batch),
            other => panic!("{other:?}"),
        }
        assert!(decode("shoal", "shoal.other.s_1", b"").is_err());
        assert!(decode("shoal", "elsewhere.finding.s", b"").is_err());
    }
}
