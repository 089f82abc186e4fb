//! Creates what the swarm runs on, if missing: the two streams, the two KV
//! buckets and the two durable consumers. Workers never create any of them.
//!
//! The events stream also captures JetStream's max-deliveries advisories for
//! the workers' consumer, so that the sink learns of a chunk given up even
//! when it was down at that moment.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};
use shoal_schemas::subjects::{self, Subjects};

use crate::config::JetStreamConfig;

/// Subject of the advisory sent when a chunk reaches max deliveries.
pub fn max_deliveries_advisory() -> String {
    format!(
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{}",
        subjects::STREAM_CHUNKS,
        subjects::CONSUMER_WORKERS
    )
}

/// A setup failure.
#[derive(Debug, thiserror::Error)]
#[error("JetStream setup, {what}: {message}")]
pub struct SetupError {
    what: String,
    message: String,
}

fn fail(what: impl Into<String>) -> impl FnOnce(async_nats::Error) -> SetupError {
    let what = what.into();
    move |e| SetupError {
        what,
        message: e.to_string(),
    }
}

/// Ensures streams, buckets and consumers exist.
pub async fn ensure(
    js: &jetstream::Context,
    subjects: &Subjects,
    config: &JetStreamConfig,
) -> Result<(), SetupError> {
    let dup = Duration::from_secs(config.duplicate_window_secs);
    let chunks = js
        .get_or_create_stream(stream::Config {
            name: subjects::STREAM_CHUNKS.into(),
            description: Some("shoal chunk tasks (signed envelopes)".into()),
            subjects: vec![subjects.chunks_all()],
            retention: stream::RetentionPolicy::WorkQueue,
            discard: stream::DiscardPolicy::New,
            max_messages: config.chunks_max_msgs(),
            duplicate_window: dup,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| fail(subjects::STREAM_CHUNKS)(e.into()))?;
    let mut event_subjects = subjects.events_all();
    event_subjects.push(max_deliveries_advisory());
    let events = js
        .get_or_create_stream(stream::Config {
            name: subjects::STREAM_EVENTS.into(),
            description: Some("shoal findings, chunk results and audit records".into()),
            subjects: event_subjects.clone(),
            retention: stream::RetentionPolicy::Limits,
            max_age: Duration::from_secs(config.events_max_age_secs),
            duplicate_window: dup,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| fail(subjects::STREAM_EVENTS)(e.into()))?;
    // A stream made by an older dispatcher may lack a subject added since
    // (finding batches): add it, keeping the rest of its configuration.
    let have = &events.cached_info().config.subjects;
    let missing: Vec<String> = event_subjects
        .into_iter()
        .filter(|s| !have.contains(s))
        .collect();
    if !missing.is_empty() {
        let mut config = events.cached_info().config.clone();
        tracing::info!(?missing, "Adding subjects to {}.", subjects::STREAM_EVENTS);
        config.subjects.extend(missing);
        js.update_stream(&config)
            .await
            .map_err(|e| fail(subjects::STREAM_EVENTS)(e.into()))?;
    }
    if js.get_key_value(subjects::KV_SCANS).await.is_err() {
        js.create_key_value(kv::Config {
            bucket: subjects::KV_SCANS.into(),
            description: "shoal scan statuses and cancel flags".into(),
            history: 1,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| fail(subjects::KV_SCANS)(e.into()))?;
    }
    if js.get_key_value(subjects::KV_JTI).await.is_err() {
        js.create_key_value(kv::Config {
            bucket: subjects::KV_JTI.into(),
            description: "shoal claimed envelope ids (replay guard)".into(),
            history: 1,
            // Each key carries its own TTL (past its envelope's expiry); this
            // is the ceiling.
            max_age: Duration::from_secs(config.task_ttl_secs * 2 + 3600),
            limit_markers: Some(Duration::from_secs(60)),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| fail(subjects::KV_JTI)(e.into()))?;
    }
    chunks
        .get_or_create_consumer(
            subjects::CONSUMER_WORKERS,
            consumer::pull::Config {
                durable_name: Some(subjects::CONSUMER_WORKERS.into()),
                description: Some("shared by all shoal workers".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(config.ack_wait_secs),
                max_deliver: config.max_deliver,
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| fail(subjects::CONSUMER_WORKERS)(e.into()))?;
    events
        .get_or_create_consumer(
            subjects::CONSUMER_SINK,
            consumer::pull::Config {
                durable_name: Some(subjects::CONSUMER_SINK.into()),
                description: Some("the shoal findings sink".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 20_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| fail(subjects::CONSUMER_SINK)(e.into()))?;
    Ok(())
}
