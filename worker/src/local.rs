//! The in-process transport `shoal scan` drives the worker with: a queue of
//! signed chunks with acks, redelivery after a Nak's delay and a delivery
//! limit, and a bus that keeps events in memory (findings de-duplicated by
//! id, as JetStream's duplicate window does).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shoal_schemas::{AuditRecord, ChunkResult, Finding};
use tokio::sync::Notify;

use crate::ack::Ack;
use crate::transport::{Bus, Claim, Confirm, Delivery, Event, Queue, TransportError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct QueueState {
    ready: VecDeque<Message>,
    /// Pushed and not yet acked, termed or given up.
    outstanding: usize,
    closed: bool,
    next_sequence: u64,
    failed: Vec<u64>,
}

#[derive(Debug, Clone)]
struct Message {
    payload: Arc<[u8]>,
    sequence: u64,
    delivered: u64,
}

/// An in-process work queue.
#[derive(Debug)]
pub struct LocalQueue {
    state: Mutex<QueueState>,
    changed: Notify,
    max_deliver: u64,
}

impl LocalQueue {
    /// A queue that gives up on a message after `max_deliver` deliveries.
    pub fn new(max_deliver: u64) -> Arc<LocalQueue> {
        Arc::new(LocalQueue {
            state: Mutex::new(QueueState::default()),
            changed: Notify::new(),
            max_deliver: max_deliver.max(1),
        })
    }

    /// Adds a message; returns its sequence.
    pub fn push(&self, payload: Vec<u8>) -> u64 {
        let mut s = lock(&self.state);
        s.next_sequence += 1;
        let sequence = s.next_sequence;
        s.outstanding += 1;
        s.ready.push_back(Message {
            payload: payload.into(),
            sequence,
            delivered: 0,
        });
        drop(s);
        self.changed.notify_waiters();
        sequence
    }

    /// No more messages will be pushed: `next` returns `None` once every
    /// message is answered for good.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.changed.notify_waiters();
    }

    /// Sequences of messages given up after `max_deliver` deliveries.
    pub fn failed(&self) -> Vec<u64> {
        lock(&self.state).failed.clone()
    }

    fn settle(&self) {
        let mut s = lock(&self.state);
        s.outstanding -= 1;
        drop(s);
        self.changed.notify_waiters();
    }
}

/// One delivery from a [`LocalQueue`].
#[derive(Debug)]
pub struct LocalDelivery {
    queue: Arc<LocalQueue>,
    message: Message,
    answered: std::sync::atomic::AtomicBool,
}

impl Delivery for LocalDelivery {
    fn payload(&self) -> &[u8] {
        &self.message.payload
    }

    fn sequence(&self) -> u64 {
        self.message.sequence
    }

    fn delivered(&self) -> u64 {
        self.message.delivered
    }

    async fn ack(&self, ack: Ack) -> Result<(), TransportError> {
        if ack == Ack::Progress {
            return Ok(());
        }
        if self
            .answered
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        match ack {
            Ack::Ack | Ack::Term | Ack::Progress => self.queue.settle(),
            Ack::Nak(_) if self.message.delivered >= self.queue.max_deliver => {
                lock(&self.queue.state).failed.push(self.message.sequence);
                self.queue.settle();
            }
            Ack::Nak(delay) => {
                let (queue, message) = (self.queue.clone(), self.message.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    lock(&queue.state).ready.push_back(message);
                    queue.changed.notify_waiters();
                });
            }
        }
        Ok(())
    }
}

impl Queue for Arc<LocalQueue> {
    type Delivery = LocalDelivery;

    async fn next(&self) -> Result<Option<LocalDelivery>, TransportError> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut s = lock(&self.state);
                if let Some(mut message) = s.ready.pop_front() {
                    message.delivered += 1;
                    return Ok(Some(LocalDelivery {
                        queue: self.clone(),
                        message,
                        answered: false.into(),
                    }));
                }
                if s.closed && s.outstanding == 0 {
                    return Ok(None);
                }
            }
            changed.await;
        }
    }
}

/// A finding kept by a [`LocalBus`], with its raw value when revealing.
#[derive(Debug, Clone)]
pub struct LocalFinding {
    /// The finding.
    pub finding: Finding,
    /// The raw value, only with `--reveal`.
    pub value: Option<Vec<u8>>,
}

type ResultHook = Box<dyn Fn(&ChunkResult) + Send + Sync>;

#[derive(Default)]
struct BusState {
    claims: HashMap<String, u64>,
    seen: HashSet<String>,
    findings: Vec<LocalFinding>,
    results: Vec<ChunkResult>,
    audits: Vec<AuditRecord>,
    cancelled: HashSet<String>,
}

/// An in-memory bus.
#[derive(Default)]
pub struct LocalBus {
    state: Mutex<BusState>,
    on_result: Option<ResultHook>,
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBus").finish_non_exhaustive()
    }
}

impl LocalBus {
    /// A bus that calls `hook` on every chunk result (a progress bar).
    pub fn with_result_hook(hook: impl Fn(&ChunkResult) + Send + Sync + 'static) -> LocalBus {
        LocalBus {
            on_result: Some(Box::new(hook)),
            ..LocalBus::default()
        }
    }

    /// Marks a scan cancelled.
    pub fn cancel(&self, scan_id: &str) {
        lock(&self.state).cancelled.insert(scan_id.to_owned());
    }

    /// Takes the findings published so far.
    pub fn take_findings(&self) -> Vec<LocalFinding> {
        std::mem::take(&mut lock(&self.state).findings)
    }

    /// The chunk results published so far.
    pub fn results(&self) -> Vec<ChunkResult> {
        lock(&self.state).results.clone()
    }

    /// The audit records published so far.
    pub fn audits(&self) -> Vec<AuditRecord> {
        lock(&self.state).audits.clone()
    }
}

impl Bus for LocalBus {
    async fn claim(
        &self,
        jti: &str,
        sequence: u64,
        _ttl: Duration,
    ) -> Result<Claim, TransportError> {
        let mut s = lock(&self.state);
        Ok(match s.claims.get(jti) {
            None => {
                s.claims.insert(jti.to_owned(), sequence);
                Claim::New
            }
            Some(&first) if first == sequence => Claim::Redelivery,
            Some(&first) => Claim::Taken(first),
        })
    }

    async fn cancelled(&self, scan_id: &str) -> Result<bool, TransportError> {
        Ok(lock(&self.state).cancelled.contains(scan_id))
    }

    async fn publish(
        &self,
        event: Event<'_>,
        values: &[Option<Vec<u8>>],
    ) -> Result<Confirm, TransportError> {
        let mut s = lock(&self.state);
        match event {
            Event::Findings(b) => {
                for (i, f) in b.findings.iter().enumerate() {
                    if s.seen.insert(f.finding_id.clone()) {
                        s.findings.push(LocalFinding {
                            finding: f.clone(),
                            value: values.get(i).cloned().flatten(),
                        });
                    }
                }
            }
            Event::Result(r) => {
                if let Some(hook) = &self.on_result {
                    hook(r);
                }
                s.results.retain(|old| old.chunk_id != r.chunk_id);
                s.results.push(r.clone());
            }
            Event::Audit(a) => s.audits.push(a.clone()),
        }
        Ok(Box::pin(std::future::ready(Ok(()))))
    }
}
