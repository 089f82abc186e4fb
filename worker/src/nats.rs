//! The JetStream transport: the workers' shared durable pull consumer as a
//! [`Queue`], and KV plus the events stream as a [`Bus`]. Also how every
//! shoal process connects to NATS ([`NatsConfig`]).

use std::path::PathBuf;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::PullConsumer, kv};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use shoal_schemas::subjects::{self, Subjects};
use shoal_schemas::{ScanStatus, codec};

use crate::ack::Ack;
use crate::transport::{Bus, Claim, Confirm, Delivery, Event, Queue, TransportError};

/// How to reach NATS. Environment variables `NATS_URL`, `NATS_CREDS` and
/// `NATS_CA` override the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URLs, comma-separated (`nats://`, `tls://`).
    pub url: String,
    /// A `.creds` file (user JWT and NKey seed).
    pub creds: Option<PathBuf>,
    /// PEM bundle of CAs to trust for the server's certificate.
    pub tls_ca: Option<PathBuf>,
    /// Allow unencrypted connections to hosts other than loopback.
    pub allow_plaintext: bool,
    /// Subject prefix.
    pub prefix: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".into(),
            creds: None,
            tls_ca: None,
            allow_plaintext: false,
            prefix: "shoal".into(),
        }
    }
}

impl NatsConfig {
    /// Applies `NATS_URL`, `NATS_CREDS` and `NATS_CA`.
    pub fn with_env(mut self) -> NatsConfig {
        if let Ok(url) = std::env::var("NATS_URL") {
            self.url = url;
        }
        if let Ok(p) = std::env::var("NATS_CREDS") {
            self.creds = Some(p.into());
        }
        if let Ok(p) = std::env::var("NATS_CA") {
            self.tls_ca = Some(p.into());
        }
        self
    }

    /// The subject names.
    pub fn subjects(&self) -> Result<Subjects, TransportError> {
        Subjects::new(&self.prefix).map_err(TransportError::from_display)
    }

    /// Whether TLS must be required: any server that is not loopback, unless
    /// plaintext was explicitly allowed.
    pub fn tls_required(&self) -> bool {
        if self.tls_ca.is_some() {
            return true;
        }
        if self.allow_plaintext {
            return false;
        }
        self.url.split(',').any(|u| {
            let u = u.trim();
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let host = if let Some(v6) = hostport.strip_prefix('[') {
                v6.split(']').next().unwrap_or("")
            } else {
                hostport.split(':').next().unwrap_or("")
            };
            !matches!(host, "127.0.0.1" | "localhost" | "::1")
        })
    }

    /// Connects, naming the connection `name`.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, TransportError> {
        let mut options = async_nats::ConnectOptions::new()
            .name(name)
            .require_tls(self.tls_required());
        if let Some(creds) = &self.creds {
            options = options
                .credentials_file(creds)
                .await
                .map_err(|e| TransportError(format!("{}: {e}", creds.display())))?;
        }
        if let Some(ca) = &self.tls_ca {
            options = options.add_root_certificates(ca.clone());
        }
        let urls: Vec<async_nats::ServerAddr> = self
            .url
            .split(',')
            .map(|u| u.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(|e| TransportError(format!("NATS URL {:?}: {e}", self.url)))?;
        options
            .connect(urls)
            .await
            .map_err(|e| TransportError(format!("connecting to {}: {e}", self.url)))
    }
}

/// The workers' durable pull consumer.
pub struct JetStreamQueue {
    consumer: PullConsumer,
    expires: Duration,
}

impl JetStreamQueue {
    /// Binds to the existing consumer (workers never create one).
    pub async fn bind(js: &jetstream::Context) -> Result<JetStreamQueue, TransportError> {
        let consumer: PullConsumer = js
            .get_consumer_from_stream(subjects::CONSUMER_WORKERS, subjects::STREAM_CHUNKS)
            .await
            .map_err(|e| {
                TransportError(format!(
                    "consumer {} on {}: {e} (is the dispatcher running?)",
                    subjects::CONSUMER_WORKERS,
                    subjects::STREAM_CHUNKS
                ))
            })?;
        Ok(JetStreamQueue {
            consumer,
            expires: Duration::from_secs(5),
        })
    }

    /// The consumer's ack wait, from the server.
    pub async fn ack_wait(&mut self) -> Result<Duration, TransportError> {
        let info = self
            .consumer
            .info()
            .await
            .map_err(TransportError::from_display)?;
        Ok(info.config.ack_wait)
    }
}

/// One delivery of a chunk message.
pub struct JetStreamDelivery {
    message: jetstream::Message,
    sequence: u64,
    delivered: u64,
}

impl Delivery for JetStreamDelivery {
    fn payload(&self) -> &[u8] {
        &self.message.payload
    }

    fn sequence(&self) -> u64 {
        self.sequence
    }

    fn delivered(&self) -> u64 {
        self.delivered
    }

    async fn ack(&self, ack: Ack) -> Result<(), TransportError> {
        let r = match ack {
            Ack::Ack => self.message.double_ack().await,
            Ack::Nak(delay) => self.message.ack_with(AckKind::Nak(Some(delay))).await,
            Ack::Progress => self.message.ack_with(AckKind::Progress).await,
            Ack::Term => self.message.ack_with(AckKind::Term).await,
        };
        r.map_err(TransportError::from_display)
    }
}

impl Queue for JetStreamQueue {
    type Delivery = JetStreamDelivery;

    async fn next(&self) -> Result<Option<JetStreamDelivery>, TransportError> {
        loop {
            // One message per pull, so a long chunk never waits in a client
            // buffer; the pull waits on the server up to `expires` (`fetch`
            // would return at once when idle and make this loop spin).
            let mut batch = self
                .consumer
                .batch()
                .max_messages(1)
                .expires(self.expires)
                .messages()
                .await
                .map_err(TransportError::from_display)?;
            let Some(message) = batch.next().await else {
                continue;
            };
            let message = message.map_err(TransportError::from_display)?;
            let info = message.info().map_err(TransportError::from_display)?;
            let (sequence, delivered) = (info.stream_sequence, info.delivered.max(1) as u64);
            return Ok(Some(JetStreamDelivery {
                message,
                sequence,
                delivered,
            }));
        }
    }
}

/// KV buckets and the events stream.
pub struct JetStreamBus {
    js: jetstream::Context,
    subjects: Subjects,
    jti: kv::Store,
    scans: kv::Store,
}

impl JetStreamBus {
    /// Binds to the existing buckets (workers never create them).
    pub async fn bind(
        js: jetstream::Context,
        subjects: Subjects,
    ) -> Result<JetStreamBus, TransportError> {
        let bucket = |name: &'static str| {
            let js = js.clone();
            async move {
                js.get_key_value(name)
                    .await
                    .map_err(|e| TransportError(format!("KV bucket {name}: {e}")))
            }
        };
        Ok(JetStreamBus {
            jti: bucket(subjects::KV_JTI).await?,
            scans: bucket(subjects::KV_SCANS).await?,
            js,
            subjects,
        })
    }
}

fn msg_id(id: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("Nats-Msg-Id", id);
    h
}

impl Bus for JetStreamBus {
    async fn claim(
        &self,
        jti: &str,
        sequence: u64,
        ttl: Duration,
    ) -> Result<Claim, TransportError> {
        subjects::check_token(jti).map_err(TransportError::from_display)?;
        let value = sequence.to_string();
        match self
            .jti
            .create_with_ttl(jti, value.clone().into(), ttl)
            .await
        {
            Ok(_) => Ok(Claim::New),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                let held = self
                    .jti
                    .get(jti)
                    .await
                    .map_err(TransportError::from_display)?
                    .unwrap_or_default();
                match std::str::from_utf8(&held).ok().and_then(|s| s.parse().ok()) {
                    Some(first) if first == sequence => Ok(Claim::Redelivery),
                    Some(first) => Ok(Claim::Taken(first)),
                    None => Ok(Claim::Taken(0)),
                }
            }
            Err(e) => Err(TransportError(format!("claiming jti: {e}"))),
        }
    }

    async fn cancelled(&self, scan_id: &str) -> Result<bool, TransportError> {
        subjects::check_token(scan_id).map_err(TransportError::from_display)?;
        let Some(bytes) = self
            .scans
            .get(scan_id)
            .await
            .map_err(TransportError::from_display)?
        else {
            return Ok(false);
        };
        let status: ScanStatus = codec::from_json(&bytes).map_err(TransportError::from_display)?;
        Ok(status.cancel_requested)
    }

    async fn publish(
        &self,
        event: Event<'_>,
        // The swarm never carries raw values: whatever is passed is dropped here.
        _values: &[Option<Vec<u8>>],
    ) -> Result<Confirm, TransportError> {
        let e = TransportError::from_display;
        let (subject, id, body) = match event {
            Event::Findings(b) => (
                self.subjects.findings(&b.scan_id).map_err(e)?,
                format!("{}.findings.{}", b.chunk_id, b.seq),
                codec::to_msgpack(b).map_err(e)?,
            ),
            Event::Result(r) => (
                self.subjects.result(&r.scan_id).map_err(e)?,
                format!("{}.result", r.chunk_id),
                codec::to_msgpack(r).map_err(e)?,
            ),
            Event::Audit(a) => (
                self.subjects.audit("worker").map_err(e)?,
                format!("audit-{}", shoal_schemas::ids::random_hex(12).map_err(e)?),
                codec::to_msgpack(a).map_err(e)?,
            ),
        };
        let ack = self
            .js
            .publish_with_headers(subject, msg_id(&id), body.into())
            .await
            .map_err(TransportError::from_display)?;
        Ok(Box::pin(async move {
            ack.await.map(|_| ()).map_err(TransportError::from_display)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_required_off_loopback() {
        let mut c = NatsConfig::default();
        assert!(!c.tls_required());
        c.url = "nats://nats.internal:4222".into();
        assert!(c.tls_required());
        c.url = "nats://127.0.0.1:4222,nats://[::1]:4223,nats://u:p@localhost:1".into();
        assert!(!c.tls_required());
        c.url = "nats://10.0.0.1:4222".into();
        c.allow_plaintext = true;
        assert!(!c.tls_required());
    }
}
