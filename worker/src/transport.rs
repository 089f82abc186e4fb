//! What the worker needs from a transport, as traits: a [`Queue`] of signed
//! chunks whose [`Delivery`]s are acknowledged, and a [`Bus`] that claims
//! envelope ids, tells whether a scan was cancelled and publishes events.
//! [`crate::nats`] implements them on JetStream; [`crate::local`] in
//! process, for `shoal scan`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use shoal_schemas::{AuditRecord, ChunkResult, FindingBatch};

use crate::ack::Ack;

/// A transport failure; always worth a retry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

impl TransportError {
    /// Wraps any displayable error.
    pub fn from_display(e: impl std::fmt::Display) -> TransportError {
        TransportError(e.to_string())
    }
}

/// One delivery of one message.
pub trait Delivery: Send + Sync + 'static {
    /// The envelope's bytes.
    fn payload(&self) -> &[u8];
    /// The message's sequence in its stream: the same on every redelivery.
    fn sequence(&self) -> u64;
    /// How many times the message has been delivered, this time included.
    fn delivered(&self) -> u64;
    /// Answers the delivery.
    fn ack(&self, ack: Ack) -> impl Future<Output = Result<(), TransportError>> + Send;
}

/// Where chunks come from.
pub trait Queue: Send + Sync + 'static {
    /// The deliveries.
    type Delivery: Delivery;
    /// The next delivery; `None` when the queue is finished (local queues
    /// only; a JetStream consumer waits for more).
    fn next(&self) -> impl Future<Output = Result<Option<Self::Delivery>, TransportError>> + Send;
}

/// The outcome of claiming an envelope id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First time this jti is seen.
    New,
    /// Claimed before by this same message (a redelivery): go on.
    Redelivery,
    /// Claimed by another message, whose sequence this is: a replay.
    Taken(u64),
}

/// Something published on the events stream.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A batch of a chunk's findings (`Nats-Msg-Id` = chunk id +
    /// `.findings.` + batch number).
    Findings(&'a FindingBatch),
    /// A chunk result (`Nats-Msg-Id` = chunk id + `.result`).
    Result(&'a ChunkResult),
    /// An audit record from this worker.
    Audit(&'a AuditRecord),
}

/// A publication awaiting the server's confirmation.
pub type Confirm = Pin<Box<dyn Future<Output = Result<(), TransportError>> + Send>>;

/// The rest of the world, as a worker sees it.
pub trait Bus: Send + Sync + 'static {
    /// Claims `jti` for the message with stream sequence `sequence`, for
    /// `ttl` (past the envelope's expiry).
    fn claim(
        &self,
        jti: &str,
        sequence: u64,
        ttl: Duration,
    ) -> impl Future<Output = Result<Claim, TransportError>> + Send;
    /// Whether the scan was cancelled.
    fn cancelled(&self, scan_id: &str)
    -> impl Future<Output = Result<bool, TransportError>> + Send;
    /// Publishes an event; the returned future resolves when the server has
    /// stored it. `values` are the raw values of a batch's findings, in
    /// order, and only a local bus may receive them (empty otherwise; see
    /// [`crate::pipeline::FindingSink`]).
    fn publish(
        &self,
        event: Event<'_>,
        values: &[Option<Vec<u8>>],
    ) -> impl Future<Output = Result<Confirm, TransportError>> + Send;
}
