//! The request/reply API (`shoal.submit`, `shoal.status`, `shoal.cancel`)
//! and the planner.
//!
//! A submission is authenticated, checked against the tenant's policy,
//! recorded (scan row and audit record) and answered; only then is the
//! source planned, each chunk signed and published with `Nats-Msg-Id` =
//! chunk id, so that planning the same scan again queues nothing twice.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, kv};
use futures::StreamExt as _;
use serde_json::json;
use shoal_schemas::envelope::{AUD_WORKER, Signer};
use shoal_schemas::subjects::Subjects;
use shoal_schemas::{
    AuditAction, AuditRecord, ChunkSpec, ChunkTask, Decision, ScanRequest, ScanStatus, codec,
};
use shoal_sources::{Filter, Source, Sources};
use tokio::sync::{mpsc, watch};

use crate::auth::{AuthError, Authenticator, Principal, SCOPE_READ, SCOPE_SUBMIT};
use crate::config::DispatcherConfig;
use crate::db::{Db, NewScan};

/// A refusal, as replied: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `unauthenticated`, `forbidden`, `invalid`, `not_found` or `unavailable`.
    pub code: &'static str,
    /// Stable reason for the audit trail.
    pub reason: &'static str,
    /// For people.
    pub message: String,
}

impl Refusal {
    fn invalid(message: impl Into<String>) -> Refusal {
        Refusal {
            code: "invalid",
            reason: "invalid",
            message: message.into(),
        }
    }

    fn unavailable(e: impl std::fmt::Display) -> Refusal {
        tracing::error!(error = %e, "Request failed.");
        Refusal {
            code: "unavailable",
            reason: "unavailable",
            message: "the dispatcher cannot serve this now; retry later".into(),
        }
    }

    fn not_found(scan_id: &str) -> Refusal {
        Refusal {
            code: "not_found",
            reason: "not_found",
            message: format!("no scan {scan_id} for this tenant"),
        }
    }

    fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Refusal {
        Refusal {
            code: e.code(),
            reason: e.reason(),
            message: e.to_string(),
        }
    }
}

/// Everything the dispatcher's tasks share.
pub struct Dispatcher {
    pub(crate) config: DispatcherConfig,
    pub(crate) subjects: Subjects,
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) scans_kv: kv::Store,
    pub(crate) db: Db,
    auth: Authenticator,
    signer: Signer,
    sources: Sources,
    ruleset: String,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("name", &self.config.name)
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// What the dispatcher is built from.
pub struct Parts {
    /// Configuration.
    pub config: DispatcherConfig,
    /// A connected NATS client.
    pub client: async_nats::Client,
    /// A migrated database.
    pub db: Db,
    /// The submitter authenticator.
    pub auth: Authenticator,
    /// The task signer.
    pub signer: Signer,
    /// The configured sources.
    pub sources: Sources,
    /// Digest of the rule set tasks are planned with.
    pub ruleset: String,
}

impl Dispatcher {
    /// Ensures the streams, buckets and consumers, then builds the dispatcher.
    pub async fn new(
        parts: Parts,
    ) -> Result<Arc<Dispatcher>, Box<dyn std::error::Error + Send + Sync>> {
        let subjects = parts.config.nats.subjects()?;
        let js = jetstream::new(parts.client.clone());
        crate::setup::ensure(&js, &subjects, &parts.config.jetstream).await?;
        let scans_kv = js
            .get_key_value(shoal_schemas::subjects::KV_SCANS)
            .await
            .map_err(|e| format!("KV {}: {e}", shoal_schemas::subjects::KV_SCANS))?;
        Ok(Arc::new(Dispatcher {
            config: parts.config,
            subjects,
            client: parts.client,
            js,
            scans_kv,
            db: parts.db,
            auth: parts.auth,
            signer: parts.signer,
            sources: parts.sources,
            ruleset: parts.ruleset,
        }))
    }

    /// Plans again every scan whose planning a stopped dispatcher left
    /// unfinished. Chunk ids follow the source's listing order, so the chunks
    /// published before the stop get the same ids and JetStream's duplicate
    /// window drops them: nothing is queued twice.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, crate::db::DbError> {
        let scans = self.db.unplanned().await?;
        let n = scans.len();
        for scan in scans {
            let planned = self
                .sources
                .get(&scan.source)
                .cloned()
                .ok_or_else(|| format!("source {:?} is no longer configured", scan.source));
            let planned = planned.and_then(|source| {
                Filter::new(&scan.include, &scan.exclude)
                    .map(|f| (source, f))
                    .map_err(|e| e.to_string())
            });
            match planned {
                Ok((source, filter)) => {
                    tracing::info!(scan_id = %scan.scan_id, "Resuming the planning of a scan.");
                    let this = self.clone();
                    tokio::spawn(async move {
                        this.plan(scan.scan_id, scan.tenant, source, filter).await
                    });
                }
                Err(e) => {
                    self.db.planned(&scan.scan_id, 0, Some(&e)).await?;
                }
            }
        }
        Ok(n)
    }

    /// Serves submit, status and cancel until `stop` is raised. Several
    /// dispatchers share the work through the queue group `shoal-dispatcher`.
    pub async fn serve(
        self: Arc<Self>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), async_nats::Error> {
        let group = "shoal-dispatcher".to_owned();
        let mut submit = self
            .client
            .queue_subscribe(self.subjects.submit(), group.clone())
            .await?;
        let mut status = self
            .client
            .queue_subscribe(self.subjects.status(), group.clone())
            .await?;
        let mut cancel = self
            .client
            .queue_subscribe(self.subjects.cancel(), group)
            .await?;
        self.client.flush().await?;
        tracing::info!(subject = %self.subjects.submit(), "Serving requests.");
        loop {
            let (message, kind) = tokio::select! {
                // Shutdown: stop taking requests.
                _ = stop.wait_for(|s| *s) => break,
                Some(m) = submit.next() => (m, Request::Submit),
                Some(m) = status.next() => (m, Request::Status),
                Some(m) = cancel.next() => (m, Request::Cancel),
                else => break,
            };
            let this = self.clone();
            tokio::spawn(async move { this.answer(message, kind).await });
        }
        Ok(())
    }

    async fn answer(self: Arc<Self>, message: async_nats::Message, kind: Request) {
        let Some(reply) = message.reply.clone() else {
            tracing::warn!(subject = %message.subject, "Request without a reply subject ignored.");
            return;
        };
        let authorization = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Authorization"))
            .map(|v| v.as_str().to_owned());
        let body = match kind {
            Request::Submit => {
                self.submit(authorization.as_deref(), &message.payload)
                    .await
            }
            Request::Status => {
                self.status(authorization.as_deref(), &message.payload, false)
                    .await
            }
            Request::Cancel => {
                self.status(authorization.as_deref(), &message.payload, true)
                    .await
            }
        };
        let body = body.unwrap_or_else(|r| r.body());
        if let Err(e) = self
            .client
            .publish(reply, serde_json::to_vec(&body).unwrap_or_default().into())
            .await
        {
            tracing::warn!(error = %e, "Reply not sent.");
        }
    }

    /// Handles a submission; the reply body, or a refusal (audited either way).
    pub async fn submit(
        self: &Arc<Self>,
        authorization: Option<&str>,
        payload: &[u8],
    ) -> Result<serde_json::Value, Refusal> {
        let mut record = AuditRecord {
            v: 1,
            at: shoal_schemas::ids::now_unix(),
            actor: "anonymous".into(),
            tenant: None,
            action: AuditAction::Submit,
            decision: Decision::Refused,
            reason: None,
            source: None,
            scan_id: None,
            chunk_id: None,
            detail: None,
        };
        let outcome = self.accept(authorization, payload, &mut record).await;
        match &outcome {
            Ok(_) => record.decision = Decision::Accepted,
            Err(r) => {
                record.reason = Some(r.reason.to_owned());
                record.detail = Some(r.message.clone());
            }
        }
        if let Err(e) = self.db.audit(&record).await {
            // A refusal stays what it was (nothing is queued either way); an
            // acceptance that cannot be audited is withdrawn: no planning.
            tracing::error!(error = %e, decision = ?record.decision, "Submission not audited.");
            outcome.as_ref().map_err(Clone::clone)?;
            return Err(Refusal::unavailable(e));
        }
        let (request, principal, source, filter, scan_id) = outcome?;
        let status = self.db.status(&scan_id).await.ok().flatten();
        if let Some(status) = &status {
            self.mirror(status).await;
        }
        let this = self.clone();
        let tenant = principal.tenant.clone();
        let plan_scan = scan_id.clone();
        tokio::spawn(async move { this.plan(plan_scan, tenant, source, filter).await });
        tracing::info!(scan_id, tenant = %principal.tenant, source = %request.source, "Scan accepted.");
        Ok(json!({"scan_id": scan_id, "state": "planning", "source": request.source}))
    }

    #[allow(clippy::type_complexity)]
    async fn accept(
        &self,
        authorization: Option<&str>,
        payload: &[u8],
        record: &mut AuditRecord,
    ) -> Result<(ScanRequest, Principal, Arc<dyn Source>, Filter, String), Refusal> {
        let principal = self.auth.authenticate(authorization).await?;
        record.actor = principal.subject.clone();
        record.tenant = Some(principal.tenant.clone());
        principal.require(&[SCOPE_SUBMIT])?;
        let request: ScanRequest = codec::from_json_or_msgpack(payload)
            .map_err(|e| Refusal::invalid(format!("scan request: {e}")))?;
        record.source = Some(request.source.clone());
        let allowed = self
            .config
            .tenants
            .get(&principal.tenant)
            .is_some_and(|p| p.sources.contains(&request.source));
        if !allowed {
            return Err(AuthError::Forbidden {
                reason: "source_not_allowed",
                message: format!(
                    "tenant {} may not scan source {:?}",
                    principal.tenant, request.source
                ),
            }
            .into());
        }
        let source = self
            .sources
            .get(&request.source)
            .cloned()
            .ok_or_else(|| Refusal::invalid(format!("unknown source {:?}", request.source)))?;
        let filter = Filter::new(&request.include, &request.exclude)
            .map_err(|e| Refusal::invalid(e.to_string()))?;
        let scan_id = shoal_schemas::ids::new_scan_id().map_err(Refusal::unavailable)?;
        record.scan_id = Some(scan_id.clone());
        self.db
            .create_scan(&NewScan {
                scan_id: &scan_id,
                tenant: &principal.tenant,
                source: &request.source,
                label: request.label.as_deref(),
                submitted_by: &principal.subject,
                include: &request.include,
                exclude: &request.exclude,
                submitted_at: record.at,
            })
            .await
            .map_err(Refusal::unavailable)?;
        Ok((request, principal, source, filter, scan_id))
    }

    /// Status (and, with `cancel`, cancellation) of one of the caller's scans.
    pub async fn status(
        &self,
        authorization: Option<&str>,
        payload: &[u8],
        cancel: bool,
    ) -> Result<serde_json::Value, Refusal> {
        let principal = self.auth.authenticate(authorization).await?;
        if cancel {
            principal.require(&[SCOPE_SUBMIT])?;
        } else {
            principal.require(&[SCOPE_SUBMIT, SCOPE_READ])?;
        }
        let scan_id = scan_id_of(payload)?;
        let status = self
            .db
            .status(&scan_id)
            .await
            .map_err(Refusal::unavailable)?
            .filter(|s| s.tenant == principal.tenant)
            .ok_or_else(|| Refusal::not_found(&scan_id))?;
        let status = if cancel {
            self.db
                .request_cancel(&scan_id)
                .await
                .map_err(Refusal::unavailable)?;
            let s = self
                .db
                .refresh_scan(&scan_id)
                .await
                .map_err(Refusal::unavailable)?
                .unwrap_or(status);
            self.mirror(&s).await;
            let record = AuditRecord {
                v: 1,
                at: shoal_schemas::ids::now_unix(),
                actor: principal.subject.clone(),
                tenant: Some(principal.tenant.clone()),
                action: AuditAction::Cancel,
                decision: Decision::Accepted,
                reason: None,
                source: Some(s.source.clone()),
                scan_id: Some(scan_id.clone()),
                chunk_id: None,
                detail: None,
            };
            self.db.audit(&record).await.map_err(Refusal::unavailable)?;
            tracing::info!(scan_id, "Scan cancel requested.");
            s
        } else {
            status
        };
        serde_json::to_value(&status).map_err(Refusal::unavailable)
    }

    /// Writes a status to KV `shoal_scans`, where workers read the cancel flag.
    pub(crate) async fn mirror(&self, status: &ScanStatus) {
        let bytes = match codec::to_json(status) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "Status not encoded.");
                return;
            }
        };
        if let Err(e) = self.scans_kv.put(&status.scan_id, bytes.into()).await {
            tracing::warn!(scan_id = %status.scan_id, error = %e, "Status not written to KV.");
        }
    }

    async fn plan(
        self: Arc<Self>,
        scan_id: String,
        tenant: String,
        source: Arc<dyn Source>,
        filter: Filter,
    ) {
        let started = std::time::Instant::now();
        let outcome = self.plan_inner(&scan_id, &tenant, source, filter).await;
        let (chunks, error) = match outcome {
            Ok(n) => (n, None),
            Err((n, e)) => (n, Some(e)),
        };
        if let Err(e) = self
            .db
            .planned(&scan_id, chunks as i64, error.as_deref())
            .await
        {
            tracing::error!(scan_id, error = %e, "Planning result not stored.");
        }
        match self.db.refresh_scan(&scan_id).await {
            Ok(Some(status)) => self.mirror(&status).await,
            Ok(None) => {}
            Err(e) => tracing::error!(scan_id, error = %e, "Scan not refreshed."),
        }
        tracing::info!(
            scan_id,
            chunks,
            elapsed_ms = started.elapsed().as_millis() as u64,
            error = error.as_deref(),
            "Scan planned."
        );
    }

    /// Plans, signs and publishes; the number of chunks, or how far it got
    /// and why it stopped.
    async fn plan_inner(
        &self,
        scan_id: &str,
        tenant: &str,
        source: Arc<dyn Source>,
        filter: Filter,
    ) -> Result<u64, (u64, String)> {
        let subject = self
            .subjects
            .chunk(tenant, source.kind())
            .map_err(|e| (0, e.to_string()))?;
        let source_id = source.id().to_owned();
        let (tx, mut rx) = mpsc::channel::<ChunkSpec>(64);
        let limits = self.config.chunks;
        let lister = tokio::task::spawn_blocking(move || {
            source.plan(&filter, &limits, &mut |spec| {
                tx.blocking_send(spec)
                    .map_err(|_| shoal_sources::Error::Stopped("planner stopped".into()))
            })
        });
        let ttl = self.config.jetstream.task_ttl_secs as i64;
        let mut index = 0u64;
        let mut pending = Vec::new();
        while let Some(spec) = rx.recv().await {
            let now = shoal_schemas::ids::now_unix();
            let task = ChunkTask {
                v: 1,
                iss: self.config.name.clone(),
                aud: AUD_WORKER.into(),
                jti: shoal_schemas::ids::new_jti().map_err(|e| (index, e.to_string()))?,
                iat: now,
                nbf: now,
                exp: now + ttl,
                tenant: tenant.to_owned(),
                scan_id: scan_id.to_owned(),
                chunk_id: shoal_schemas::ids::chunk_id(scan_id, index),
                source: source_id.clone(),
                spec,
                ruleset: self.ruleset.clone(),
            };
            let envelope = self
                .signer
                .sign_task(&task)
                .map_err(|e| (index, e.to_string()))?;
            let ack = self
                .publish_chunk(&subject, &task.chunk_id, envelope)
                .await
                .map_err(|e| (index, e))?;
            pending.push((task.chunk_id, ack));
            index += 1;
            if pending.len() >= 256 {
                self.confirm(scan_id, &mut pending)
                    .await
                    .map_err(|e| (index, e))?;
                if self.throttle(scan_id).await.map_err(|e| (index, e))? {
                    tracing::info!(scan_id, chunks = index, "Scan cancelled while planning.");
                    break;
                }
            }
        }
        self.confirm(scan_id, &mut pending)
            .await
            .map_err(|e| (index, e))?;
        match lister.await {
            Ok(Ok(())) => Ok(index),
            Ok(Err(e)) => Err((index, e.to_string())),
            Err(e) => Err((index, format!("planner panicked: {e}"))),
        }
    }

    /// Waits while the work queue holds `max_queued_chunks` or more chunks,
    /// so that a huge scan cannot fill the stream (whose hard limit would then
    /// refuse chunks). Returns whether the scan was cancelled meanwhile.
    async fn throttle(&self, scan_id: &str) -> Result<bool, String> {
        let limit = self.config.jetstream.max_queued_chunks;
        let mut logged = false;
        loop {
            let cancelled = self
                .db
                .status(scan_id)
                .await
                .map_err(|e| e.to_string())?
                .is_some_and(|s| s.cancel_requested);
            if cancelled {
                return Ok(true);
            }
            let mut stream = self
                .js
                .get_stream(shoal_schemas::subjects::STREAM_CHUNKS)
                .await
                .map_err(|e| e.to_string())?;
            let queued = stream
                .info()
                .await
                .map_err(|e| e.to_string())?
                .state
                .messages;
            if queued < limit {
                return Ok(false);
            }
            if !logged {
                tracing::info!(
                    scan_id,
                    queued,
                    limit,
                    "Work queue full; planning waits for workers."
                );
                logged = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn publish_chunk(
        &self,
        subject: &str,
        chunk_id: &str,
        envelope: Vec<u8>,
    ) -> Result<jetstream::context::PublishAckFuture, String> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", chunk_id);
        let mut attempt = 0;
        loop {
            match self
                .js
                .publish_with_headers(subject.to_owned(), headers.clone(), envelope.clone().into())
                .await
            {
                Ok(ack) => return Ok(ack),
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(chunk_id, error = %e, "Chunk publish failed; retrying.");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(format!("publishing {chunk_id}: {e}")),
            }
        }
    }

    async fn confirm(
        &self,
        scan_id: &str,
        pending: &mut Vec<(String, jetstream::context::PublishAckFuture)>,
    ) -> Result<(), String> {
        let mut ids = Vec::with_capacity(pending.len());
        let mut sequences = Vec::with_capacity(pending.len());
        for (chunk_id, ack) in pending.drain(..) {
            let ack = ack
                .await
                .map_err(|e| format!("publishing {chunk_id}: {e}"))?;
            ids.push(chunk_id);
            sequences.push(ack.sequence as i64);
        }
        if ids.is_empty() {
            return Ok(());
        }
        self.db
            .add_chunks(scan_id, &ids, &sequences)
            .await
            .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Copy)]
enum Request {
    Submit,
    Status,
    Cancel,
}

/// The scan id of a status or cancel request: `{"scan_id": "..."}` or the
/// bare id (handy with the NATS CLI).
fn scan_id_of(payload: &[u8]) -> Result<String, Refusal> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| Refusal::invalid("request is not UTF-8"))?
        .trim();
    let id = if text.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("scan_id").and_then(|s| s.as_str()).map(str::to_owned))
            .ok_or_else(|| Refusal::invalid("expected {\"scan_id\": \"...\"}"))?
    } else {
        text.to_owned()
    };
    shoal_schemas::subjects::check_token(&id).map_err(|e| Refusal::invalid(e.to_string()))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_id_as_json_or_bare() {
        assert_eq!(scan_id_of(b"{\"scan_id\":\"s_1\"}").unwrap(), "s_1");
        assert_eq!(scan_id_of(b" s_1\n").unwrap(), "s_1");
        assert_eq!(scan_id_of(b"s.*").unwrap_err().code, "invalid");
        assert_eq!(scan_id_of(b"{\"id\":1}").unwrap_err().code, "invalid");
    }
}
